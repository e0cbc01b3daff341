//! `stormtrack compare` end to end: the two PyStormTracker references agree,
//! doctored copies do not, and bad input exits 2 with a one-line message.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

const V050: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";
const V002: &str =
    "tests/data/pystormtracker-0.0.2_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";

fn compare(a: impl AsRef<Path>, b: impl AsRef<Path>) -> Command {
    let mut cmd = Command::cargo_bin("stormtrack").unwrap();
    cmd.arg("compare").arg(a.as_ref()).arg(b.as_ref());
    cmd
}

fn reference() -> String {
    std::fs::read_to_string(V050).unwrap()
}

/// Writes `text` to a file in `dir`.
fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The reference without the tracks numbered in `numbers`.
fn without_tracks(numbers: &[&str]) -> String {
    let mut skip = false;
    let mut out = String::new();
    for line in reference().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[0] == "90" {
            skip = numbers.contains(&f[1]);
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The reference with point `step` of track `track` passed through `edit`
/// (which gets and returns the whitespace-separated fields).
fn with_point(track: &str, step: &str, edit: impl Fn(&mut Vec<String>)) -> String {
    let mut hit = false;
    let text: String = reference()
        .lines()
        .map(|line| {
            let mut f: Vec<String> = line.split_whitespace().map(String::from).collect();
            if f[0] == "00" && f[1] == track && f[2] == step {
                edit(&mut f);
                hit = true;
                return f.join(" ") + "\n";
            }
            format!("{line}\n")
        })
        .collect();
    assert!(hit, "no point {step} in track {track}");
    text
}

#[test]
fn the_two_pystormtracker_references_agree() {
    compare(V050, V002)
        .assert()
        .code(0)
        .stdout(contains("10338 tracks, 28125 points\n"))
        .stdout(contains(
            "10338 tracks, 28125 points (msl in Pa, converted to hPa",
        ))
        .stdout(contains("matched: 10336 tracks"))
        // v0.0.2 breaks one equal-distance tie at 2025-12-07 12:00 the other way.
        .stdout(contains("re-linked: 2 in A, 2 in B (allowed 11, --relink-tol)"))
        .stdout(contains(
            "A track 806 (3 points from 2025-12-07 00:00): re-linked: the same centres are in B tracks 784, 848",
        ))
        .stdout(contains("without counterpart: 0 in A, 0 in B"))
        .stdout(contains("position difference: max 0.000 km"))
        .stdout(contains("value difference: max 0.000000"))
        .stdout(contains("result: PASS"))
        .stderr("");
}

#[test]
fn relinking_beyond_its_tolerance_fails() {
    compare(V002, V050)
        .arg("--relink-tol=1")
        .assert()
        .code(1)
        .stdout(contains(
            "result: FAIL, 2 tracks of A are re-linked (allowed 1, --relink-tol); 2 tracks of B are re-linked",
        ));
}

#[test]
fn a_file_agrees_with_itself() {
    compare(V050, V050)
        .assert()
        .code(0)
        .stdout(contains("matched: 10338 tracks"))
        .stdout(contains("re-linked: 0 in A, 0 in B"))
        .stdout(contains("differences").not())
        .stdout(contains("result: PASS"));
}

#[test]
fn removed_tracks_fail_with_their_count() {
    let dir = TempDir::new().unwrap();
    let cut = write(&dir, "cut.txt", &without_tracks(&["3", "806", "10338"]));
    compare(V050, &cut)
        .assert()
        .code(1)
        .stdout(contains("A: tests/data/"))
        .stdout(contains("10335 tracks"))
        .stdout(contains("without counterpart: 3 in A, 0 in B (allowed 0, --count-tol)"))
        .stdout(contains(
            "A track 3 (1 point from 2025-12-01 00:00): no counterpart in B (starts at lat -82.50 lon 155.00)",
        ))
        .stdout(contains(
            "result: FAIL, 3 tracks of A have no counterpart in B (allowed 0, --count-tol)",
        ));
    // Removed from A instead: B has the extra tracks.
    compare(&cut, V050)
        .assert()
        .code(1)
        .stdout(contains("3 tracks of B have no counterpart in A"));
}

#[test]
fn count_tol_allows_that_many_missing_tracks() {
    let dir = TempDir::new().unwrap();
    let cut = write(&dir, "cut.txt", &without_tracks(&["3", "806", "10338"]));
    compare(V050, &cut)
        .arg("--count-tol")
        .arg("3")
        .assert()
        .code(0)
        .stdout(contains(
            "without counterpart: 3 in A, 0 in B (allowed 3, --count-tol)",
        ))
        .stdout(contains("result: PASS"));
    compare(V050, &cut).arg("--count-tol=2").assert().code(1);
}

#[test]
fn a_point_moved_by_two_and_a_half_degrees_fails() {
    let dir = TempDir::new().unwrap();
    // Track 4, point 2: latitude -77.50 -> -75.00 (277.8 km).
    let moved = with_point("4", "2", |f| {
        let lat: f64 = f[9].parse().unwrap();
        f[9] = format!("{:.2}", lat + 2.5);
    });
    let moved = write(&dir, "moved.txt", &moved);
    compare(V050, &moved)
        .assert()
        .code(1)
        .stdout(contains("without counterpart: 1 in A, 1 in B"))
        .stdout(contains("position difference: max 277.8"))
        .stdout(contains("A track 4 (").and(contains(
            "differs from B track 4 at 2025-12-01 06:00: points are 277.8 km apart",
        )))
        .stdout(contains(
            "result: FAIL, 1 track of A has no counterpart in B",
        ));
    // A wide enough distance tolerance accepts it.
    compare(V050, &moved)
        .arg("--max-distance")
        .arg("300km")
        .assert()
        .code(0);
}

#[test]
fn a_value_changed_beyond_tolerance_fails() {
    let dir = TempDir::new().unwrap();
    let bump = |by: f64| {
        with_point("806", "2", move |f| {
            let v: f64 = f[10].parse().unwrap();
            f[10] = format!("{:.6}", v + by);
        })
    };
    let changed = write(&dir, "changed.txt", &bump(0.5));
    compare(V050, &changed)
        .assert()
        .code(1)
        .stdout(contains("value difference: max 0.500000"))
        .stdout(contains(
            "at 2025-12-07 06:00: value differs by 0.500000 (999.138125 vs 999.638125)",
        ))
        .stdout(contains("result: FAIL"));
    compare(V050, &changed)
        .arg("--value-tol=0.6")
        .assert()
        .code(0);
    let rounded = write(&dir, "rounded.txt", &bump(0.004));
    compare(V050, &rounded)
        .assert()
        .code(0)
        .stdout(contains("value difference: max 0.004000"));
}

#[test]
fn malformed_file_exits_2_naming_file_and_line() {
    let dir = TempDir::new().unwrap();
    let mut lines: Vec<String> = reference().lines().map(String::from).collect();
    lines[56] = "00 16 1 2025120100 2025 12 01 00 -2.50 north 1000.1".into();
    let bad = write(&dir, "bad.txt", &(lines.join("\n") + "\n"));
    compare(V050, &bad)
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains(format!(
            "stormtrack: error: {}: line 57: bad latitude 'north'",
            bad.display()
        )))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
    let binary = dir.path().join("binary.txt");
    std::fs::write(&binary, b"99 00,CycloneNo\n90 1 1\n\xff\xfe\n").unwrap();
    compare(&binary, V050)
        .assert()
        .code(2)
        .stderr(contains(format!("{}: line 3: not UTF-8", binary.display())));
}

#[test]
fn missing_file_exits_2() {
    compare(V050, "no/such/tracks.txt")
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("no/such/tracks.txt: no such file; check the path"));
}

#[test]
fn different_variables_exit_2() {
    let dir = TempDir::new().unwrap();
    let vo = write(
        &dir,
        "vo.txt",
        &reference().replacen("LatN,MSL", "LatN,VO", 1),
    );
    compare(V050, &vo)
        .assert()
        .code(2)
        .stderr(contains("holds MSL but").and(contains("holds VO")));
}

#[test]
fn bad_options_exit_2() {
    compare(V050, V050)
        .arg("--value-tol=-1")
        .assert()
        .code(2)
        .stderr(contains("--value-tol"));
    compare(V050, V050)
        .arg("--max-distance=far")
        .assert()
        .code(2)
        .stderr(contains("not a distance"));
}
