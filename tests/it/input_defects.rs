//! Regression tests of the input defects of issue 13: names that are not
//! UTF-8, inconsistent classic headers, grids larger than the machine,
//! packing attributes of the wrong type, longitudes out of order, inputs
//! that are not regular files, and the `STORMTRACK_*` switches. Every bad
//! input must give one `stormtrack: error:` line, the input exit code, no
//! panic or crash, and no output left behind.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{self, listing, stderr, stormtrack, track, workdir, Field};

const GRIB: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";

/// One error line with `words`, exit `code`, no chatter, only `files` left.
fn assert_failed(o: &Output, code: i32, words: &[&str], dir: &Path, files: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("stormtrack: error: "), "{err}");
    for w in words {
        assert!(err.contains(w), "missing {w:?} in: {err}");
    }
    for noise in ["ECCODES ERROR", "HDF5-DIAG", "panicked", "RUST_BACKTRACE"] {
        assert!(!err.contains(noise), "{noise} in: {err}");
    }
    let mut expected: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(listing(dir), expected, "files left in {}", dir.display());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- 7. environment switches ------------------------------------------

#[test]
fn a_switch_with_a_value_neither_on_nor_off_is_a_usage_error() {
    for name in [
        "STORMTRACK_GRIB_ECCODES",
        "STORMTRACK_NETCDF_DIRECT",
        "STORMTRACK_ECCODES_LOG",
    ] {
        let (dir, out) = workdir();
        let o = common::run(
            stormtrack()
                .env(name, "maybe")
                .arg("track")
                .arg(root().join(GRIB))
                .args(["--var", "msl", "-q", "-o"])
                .arg(&out),
        );
        assert_failed(&o, 2, &[name, "maybe", "0/false/no/off"], dir.path(), &[]);
    }
}

#[test]
fn eccodes_log_off_values_keep_ecodes_quiet() {
    // A huge section 1 length makes ecCodes print its own error lines,
    // which only STORMTRACK_ECCODES_LOG=on may let through.
    let mut bytes = std::fs::read(root().join(GRIB)).unwrap();
    let len = |b: &[u8], at: usize| {
        (usize::from(b[at]) << 16) | (usize::from(b[at + 1]) << 8) | usize::from(b[at + 2])
    };
    let mut start = 0;
    for _ in 0..10 {
        start += len(&bytes, start + 4);
    }
    bytes[start + 8..start + 11].copy_from_slice(&[0xff, 0xff, 0xff]);
    for off in ["0", "false", "OFF", "no", ""] {
        let (dir, out) = workdir();
        let f = write(dir.path(), "bad.grib", &bytes);
        let o = common::run(
            stormtrack()
                .env("STORMTRACK_ECCODES_LOG", off)
                .arg("track")
                .arg(&f)
                .args(["--var", "msl", "-q", "-o"])
                .arg(&out),
        );
        assert_failed(
            &o,
            3,
            &["GRIB message 11 is corrupt"],
            dir.path(),
            &["bad.grib"],
        );
    }
}

#[test]
fn off_values_of_the_reader_switches_track_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    let nc = dir.path().join("in.nc");
    Field::moving_low(vec![0.0, 6.0, 12.0]).write(&nc);
    for (name, input) in [
        ("STORMTRACK_GRIB_ECCODES", root().join(GRIB)),
        ("STORMTRACK_NETCDF_DIRECT", nc.clone()),
    ] {
        let mut outputs = Vec::new();
        for value in [None, Some("0"), Some("False"), Some("off"), Some("1")] {
            let out = dir.path().join("out.txt");
            let mut cmd = stormtrack();
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
            let o = common::run(
                cmd.arg("track")
                    .arg(&input)
                    .args(["--var", "msl", "-q", "-o"])
                    .arg(&out),
            );
            assert!(o.status.success(), "{name}={value:?}: {}", stderr(&o));
            outputs.push(std::fs::read(&out).unwrap());
        }
        assert!(outputs.iter().all(|o| *o == outputs[0]), "{name}");
    }
}
