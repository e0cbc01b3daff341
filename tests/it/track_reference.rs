//! End-to-end parity with PyStormTracker 0.5.0: the binary's IMILAST output
//! must be byte-identical to the reference files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stormtrack() -> Command {
    Command::cargo_bin("stormtrack").unwrap()
}

const DJF_REF: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";

/// Runs `track` writing to a temporary file and returns the file's bytes and stderr.
fn track(input: &Path, args: &[&str]) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tracks.txt");
    let assert = stormtrack()
        .arg("track")
        .arg(input)
        .args(args)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    (std::fs::read(&out).unwrap(), stderr)
}

fn assert_same(actual: &[u8], reference: &Path) {
    let expected = std::fs::read(reference).unwrap();
    if actual != expected.as_slice() {
        let a = String::from_utf8_lossy(actual);
        let e = String::from_utf8_lossy(&expected);
        let first = a.lines().zip(e.lines()).position(|(x, y)| x != y);
        panic!(
            "output differs from {} (lines {} vs {}); first differing line: {:?}",
            reference.display(),
            a.lines().count(),
            e.lines().count(),
            first.map(|i| (i + 1, a.lines().nth(i), e.lines().nth(i)))
        );
    }
}

#[test]
fn era5_djf_netcdf_matches_reference_bytes() {
    let (out, stderr) = track(
        &root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc"),
        &["--var", "msl"],
    );
    assert_same(&out, &root().join(DJF_REF));
    assert!(stderr.contains("360 steps"), "{stderr}");
    assert!(stderr.contains("10338 tracks"), "{stderr}");
}

#[test]
fn era5_djf_grib_matches_reference_bytes() {
    let (out, _) = track(
        &root().join("data/era5_msl_2025-2026_djf_2.5x2.5.grib"),
        &["--var", "msl"],
    );
    assert_same(&out, &root().join(DJF_REF));
}

#[test]
fn stdout_carries_the_same_bytes_only_when_asked() {
    let input = root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc");
    let assert = stormtrack()
        .args(["track", "--var", "msl", "-o", "-"])
        .arg(&input)
        .assert()
        .success();
    assert_same(&assert.get_output().stdout, &root().join(DJF_REF));
    // With a file output nothing at all goes to stdout.
    let dir = tempfile::tempdir().unwrap();
    let assert = stormtrack()
        .args(["track", "--var", "msl", "-o"])
        .arg(dir.path().join("t.txt"))
        .arg(&input)
        .assert()
        .success();
    assert!(assert.get_output().stdout.is_empty());
}

#[test]
fn quiet_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let assert = stormtrack()
        .args(["track", "--var", "msl", "-q", "-o"])
        .arg(dir.path().join("t.txt"))
        .arg(root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc"))
        .assert()
        .success();
    assert!(assert.get_output().stderr.is_empty());
}

/// Oracle files made by tests/data/oracle/make_oracle.py and their PyStormTracker 0.5.0 output.
fn oracle(name: &str) -> PathBuf {
    root().join("tests/data/oracle").join(name)
}

#[test]
fn vorticity_max_mode_from_4d_netcdf_matches_reference() {
    let (out, _) = track(&oracle("vo850_4d.nc"), &["--var", "vo", "--mode", "max"]);
    assert_same(&out, &oracle("vo850_4d.ref.txt"));
}

#[test]
fn vorticity_max_mode_from_grib_matches_reference() {
    let (out, _) = track(
        &oracle("vo850.grib"),
        &["--var", "vo", "--mode", "max", "--level", "850"],
    );
    assert_same(&out, &oracle("vo850_grib.ref.txt"));
}

#[test]
fn int16_packed_netcdf3_hours_since_1900_matches_reference() {
    let (out, _) = track(&oracle("msl_packed_nc3_f64coords.nc"), &["--var", "msl"]);
    assert_same(&out, &oracle("msl_packed_nc3_f64coords.ref.txt"));
}

#[test]
fn float32_packing_decodes_in_float32_and_matches_reference() {
    let (out, _) = track(&oracle("msl_packed_f32_f64coords.nc"), &["--var", "msl"]);
    assert_same(&out, &oracle("msl_packed_f32_f64coords.ref.txt"));
}

#[test]
fn alias_names_ascending_latitude_and_signed_longitude_match_reference() {
    let (out, _) = track(&oracle("slp_alias.nc"), &["--var", "msl"]);
    assert_same(&out, &oracle("slp_alias.ref.txt"));
}

#[test]
fn regional_grid_does_not_wrap_edge_columns() {
    // msl_regional.nc covers 280..357.5E and 70..20N at 2.5 degrees. The
    // reference wraps its columns; stormtrack does not, so no centre may lie in
    // the two columns or rows nearest an edge.
    let (out, _) = track(&oracle("msl_regional.nc"), &["--var", "msl"]);
    let text = String::from_utf8(out).unwrap();
    let points: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with("00 "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[8].parse().unwrap(), f[9].parse().unwrap())
        })
        .collect();
    assert!(!points.is_empty());
    for (lon, lat) in points {
        assert!(
            (-75.0..=-7.5).contains(&lon),
            "edge column centre at lon {lon}"
        );
        assert!((25.0..=65.0).contains(&lat), "edge row centre at lat {lat}");
    }
}

#[test]
fn single_frame_without_time_axis_is_one_step() {
    let (out, stderr) = track(
        &root().join("data/era5_msl_2025120100_2.5x2.5.nc"),
        &["--var", "msl"],
    );
    let text = String::from_utf8(out).unwrap();
    assert!(stderr.contains(": 1 step of 'msl'"), "{stderr}");
    // Every track has one point with an unknown time; the positions are the
    // reference's first step.
    let reference = std::fs::read_to_string(root().join(DJF_REF)).unwrap();
    let mut first_step: Vec<&str> = reference
        .lines()
        .filter(|l| l.starts_with("00 ") && l.contains(" 2025120100 "))
        .map(|l| l.splitn(9, ' ').nth(8).unwrap())
        .collect();
    let mut ours: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("00 "))
        .map(|l| l.splitn(9, ' ').nth(8).unwrap())
        .collect();
    assert!(text
        .lines()
        .filter(|l| l.starts_with("00 "))
        .all(|l| l.contains(" 0000000000 0000 00 00 00 ")));
    first_step.sort_unstable();
    ours.sort_unstable();
    assert_eq!(ours, first_step);
}

#[test]
fn start_end_and_num_select_steps() {
    let input = root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc");
    let (by_num, stderr) = track(&input, &["--var", "msl", "--num", "8"]);
    assert!(stderr.contains("8 steps"), "{stderr}");
    let (by_dates, _) = track(
        &input,
        &[
            "--var",
            "msl",
            "--start",
            "2025-12-01",
            "--end",
            "2025-12-02T18",
        ],
    );
    assert_eq!(by_num, by_dates);
    let text = String::from_utf8(by_num).unwrap();
    assert!(text
        .lines()
        .filter(|l| l.starts_with("00 "))
        .all(|l| l.contains(" 2025 12 01 ") || l.contains(" 2025 12 02 ")));
}

/// A date-only `--end` is the whole day, an hour the whole hour, a month
/// the whole month; a date-only `--start` is its first instant.
#[test]
fn an_end_date_takes_the_whole_day_month_or_hour() {
    let input = root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc");
    let args = |start: &str, end: &str| {
        let (out, stderr) = track(&input, &["--var", "msl", "--start", start, "--end", end]);
        (String::from_utf8(out).unwrap(), stderr)
    };
    let (day, stderr) = args("2025-12-31", "2025-12-31");
    assert!(stderr.contains("4 steps"), "{stderr}");
    for hour in ["00", "06", "12", "18"] {
        assert!(
            day.contains(&format!("20251231{hour} 2025 12 31 {hour}")),
            "no {hour}Z"
        );
    }
    assert_eq!(
        args("2025-12-31T06", "2025-12-31T18").0,
        args("2025-12-31T06", "2025-12-31").0
    );
    let (_, stderr) = args("2025-12-31T18", "2025-12-31");
    assert!(stderr.contains(": 1 step of"), "{stderr}");
    let (_, stderr) = args("2026-02", "2026-02");
    assert!(stderr.contains("112 steps"), "{stderr}");
}

#[test]
fn float32_coordinates_reproduce_the_reference_float32_distances() {
    // With float32 latitude/longitude the reference computes the centres'
    // radians and cosines in float32 (numpy kernels), which changes ties and
    // even links exact antipodes (NaN distances); stormtrack reproduces it.
    let (out, _) = track(&oracle("msl_packed_nc3.nc"), &["--var", "msl"]);
    assert_same(&out, &oracle("msl_packed_nc3.ref.txt"));
    let (out, _) = track(&oracle("msl_packed_f32.nc"), &["--var", "msl"]);
    assert_same(&out, &oracle("msl_packed_f32.ref.txt"));
}
