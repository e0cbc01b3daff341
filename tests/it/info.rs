//! `stormtrack info` on the bundled ERA5 samples: the key lines a user reads
//! (format, variables, grid, time axis, level, value type) and the JSON form.

use assert_cmd::Command;
use predicates::prelude::*;

fn info(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("stormtrack")
        .unwrap()
        .arg("info")
        .args(args)
        .assert()
}

fn stdout_of(args: &[&str]) -> String {
    let out = info(args).success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// Asserts every line of `expected` appears as a whole line of `text`.
fn has_lines(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(
            text.lines().any(|l| l == *e),
            "missing line {e:?} in:\n{text}"
        );
    }
}

#[test]
fn netcdf4_series_key_lines() {
    let out = stdout_of(&["data/era5_msl_2025-2026_djf_2.5x2.5.nc"]);
    has_lines(
        &out,
        &[
            "file:        data/era5_msl_2025-2026_djf_2.5x2.5.nc",
            "format:      NetCDF-4/HDF5",
            "variables:   5",
            "variable:    msl (guessed through the msl aliases; choose another with --var)",
            "units:       Pa",
            "coordinates: time=valid_time, latitude=latitude, longitude=longitude",
            "grid:        73 x 144 (rows x cols), 2.5 x 2.5 degrees, global",
            "latitude:    90 to -90 (N->S)",
            "longitude:   0 to 357.5",
            "time:        2025-12-01T00:00:00 to 2026-02-28T18:00:00",
            "calendar:    proleptic_gregorian",
            "step:        6 h",
            "steps:       360",
            "level:       none",
            "values:      float32 (not packed)",
        ],
    );
    assert!(
        out.contains("  msl         float32  (valid_time=360, latitude=73, longitude=144)  [Pa]  Mean sea level pressure"),
        "{out}"
    );
}

#[test]
fn grib_lists_parameters_and_messages() {
    let out = stdout_of(&["data/era5_msl_2025-2026_djf_2.5x2.5.grib"]);
    has_lines(
        &out,
        &[
            "format:      GRIB",
            "messages:    360",
            "parameters:  1",
            "  msl  paramId 151  surface 0  regular_ll  360 messages",
            "grid:        73 x 144 (rows x cols), 2.5 x 2.5 degrees, global",
            "time:        2025-12-01T00:00:00 to 2026-02-28T18:00:00",
            "steps:       360",
            "level:       surface = 0",
            "values:      float32 (not packed)",
        ],
    );
}

#[test]
fn single_step_files_without_time_axis_and_vo_guess() {
    let out = stdout_of(&[
        "data/era5_vo850_2025120100_0.25x0.25.nc",
        "data/era5_msl_2025120100_2.5x2.5.nc",
    ]);
    has_lines(
        &out,
        &[
            "format:      NetCDF classic (CDF-1)",
            "variable:    vo (guessed through the vo aliases; choose another with --var)",
            "grid:        721 x 1440 (rows x cols), 0.25 x 0.25 degrees, global",
            "units:       s**-1",
            "time:        none (no time axis: one step)",
            "step:        none (one step)",
            "steps:       1",
            "variable:    msl (guessed through the msl aliases; choose another with --var)",
        ],
    );
    // Two files: two descriptions separated by a blank line.
    assert_eq!(out.matches("file:        ").count(), 2);
    assert!(out.contains("\n\nfile:        data/era5_msl_2025120100_2.5x2.5.nc\n"));
}

#[test]
fn packed_classic_file_shows_decoding() {
    let out = stdout_of(&["tests/data/oracle/msl_packed_nc3.nc", "--var", "slp"]);
    has_lines(
        &out,
        &[
            "variable:    msl (requested as 'slp')",
            "calendar:    standard",
            "steps:       40",
            "values:      float64 (packed as int16 * 0.1622403940059818 (float64) + 99926.34375 (float64))",
        ],
    );
}

#[test]
fn level_is_reported_and_required_when_ambiguous() {
    let out = stdout_of(&[
        "tests/data/oracle/vo850_4d.nc",
        "--var",
        "vo",
        "--level",
        "850",
    ]);
    has_lines(&out, &["level:       pressure_level = 850"]);
    // A level that is not there: the listing still prints, the error is one line, exit 3.
    info(&["tests/data/oracle/vo850_4d.nc", "--level", "500"])
        .code(3)
        .stdout(predicate::str::contains("format:      NetCDF-4/HDF5"))
        .stderr(predicate::str::contains(
            "--level 500: 'vo' has only pressure_level = 850",
        ))
        .stderr(predicate::function(|e: &str| e.lines().count() == 1));
}

#[test]
fn json_output() {
    let out = stdout_of(&["data/era5_msl_2025-2026_djf_2.5x2.5.grib", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = &v[0];
    assert_eq!(f["format"], "grib");
    assert_eq!(f["contents"]["messages"], 360);
    assert_eq!(f["contents"]["parameters"][0]["param_id"], 151);
    assert_eq!(f["choice"], "alias");
    let field = &f["field"];
    assert_eq!(field["variable"], "msl");
    assert_eq!(
        (field["rows"].clone(), field["cols"].clone()),
        (73.into(), 144.into())
    );
    assert_eq!(field["global"], true);
    assert_eq!(field["lat_order"], "N->S");
    assert_eq!(field["steps"], 360);
    assert_eq!(field["step"]["seconds"], 21600);
    assert_eq!(field["first_time"], "2025-12-01T00:00:00");
    assert_eq!(field["last_time"], "2026-02-28T18:00:00");
    assert_eq!(field["value_type"], "float32");
    assert!(f["error"].is_null());
}

#[test]
fn errors_are_one_line_with_input_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.nc");
    std::fs::write(&junk, b"not a data file").unwrap();
    let assert = info(&[
        "data/era5_msl_2025120100_2.5x2.5.nc",
        junk.to_str().unwrap(),
        "--json",
    ])
    .code(3)
    .stderr(predicate::str::contains("neither NetCDF nor GRIB"))
    .stderr(predicate::function(|e: &str| e.lines().count() == 1));
    // The good file is still described.
    let v: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(v[0]["field"]["variable"], "msl");
    assert!(v[1]["error"]
        .as_str()
        .unwrap()
        .contains("neither NetCDF nor GRIB"));

    info(&["data/era5_msl_2025120100_2.5x2.5.nc", "--var", "t2m"])
        .code(3)
        .stderr(predicate::str::contains("no variable 't2m'"))
        .stderr(predicate::str::contains("msl(latitude,longitude)"));
}
