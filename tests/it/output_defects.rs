//! Regressions of the output defects of issue 13: every failure to write is
//! one `stormtrack: error:` line with the documented exit code and leaves no
//! file behind; a reader that stops early is a quiet success; outputs never
//! replace inputs; what is written is what the format can hold.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{self, axis, stderr, stormtrack, Field};

/// The bundled season: about 1.8 MB of IMILAST tracks.
const SEASON: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.nc";

/// A small NetCDF input (4 steps, a few tracks) in `dir`.
fn good_input(dir: &Path) -> PathBuf {
    let f = dir.join("in.nc");
    Field::moving_low(axis(0.0, 6.0, 4)).write(&f);
    f
}

/// Asserts a failed run: exit code, exactly one `stormtrack: error:` line
/// containing every key word, no HDF5/ecCodes chatter, no panic.
fn assert_error(o: &Output, code: i32, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("stormtrack: error: "), "{err}");
    for w in words {
        assert!(err.contains(w), "missing {w:?} in: {err}");
    }
    for noise in ["HDF5", "ECCODES", "panicked", "RUST_BACKTRACE"] {
        assert!(!err.contains(noise), "{noise} in: {err}");
    }
}

/// Runs `cmd` with stdout a pipe whose reader has already gone (as after
/// `| head -1`); returns its exit code and stderr.
fn with_stdout_reader_gone(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = {
        let _guard = common::file_lock();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

#[test]
fn every_format_stops_quietly_when_the_reader_of_stdout_goes() {
    // Outputs larger than the writers' buffers, so that writing fails in
    // the middle of the tracks, not only at the final flush.
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(SEASON);
    let tracks = dir.path().join("t.txt");
    let o = common::track(input, "msl", &tracks, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for format in [
        "imilast",
        "imilast-strict",
        "csv",
        "json",
        "netcdf",
        "tdump",
    ] {
        let (code, err) = with_stdout_reader_gone(
            stormtrack()
                .arg("track")
                .arg(input)
                .args(["--var", "msl", "-q", "-o", "-", "-f", format]),
        );
        assert_eq!((code, err.as_str()), (Some(0), ""), "track -f {format}");
        let (code, err) = with_stdout_reader_gone(
            stormtrack()
                .arg("convert")
                .arg(&tracks)
                .args(["-", "-q", "--to", format]),
        );
        assert_eq!((code, err.as_str()), (Some(0), ""), "convert --to {format}");
    }
}

#[test]
fn a_failed_write_on_stdout_is_an_output_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        &["info", "--json"][..],
        &["info"][..],
        &["track", "--var", "msl", "-q", "-o", "-"][..],
        &["track", "--var", "msl", "-q", "-o", "-", "-f", "csv"][..],
    ] {
        let o = {
            let _guard = common::file_lock();
            stormtrack()
                .args(args)
                .arg(&input)
                .stdout(full())
                .stderr(Stdio::piped())
                .output()
                .unwrap()
        };
        assert_error(
            &o,
            4,
            &["cannot write to standard output", "No space left on device"],
        );
    }
}
