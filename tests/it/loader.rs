//! The DataLoader on small files written by the tests themselves: what it
//! resolves (names, coordinates, levels, calendars, types) and the values it
//! reads.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use eccodes::{CodesHandle, FallibleStreamingIterator, KeyRead, KeyWrite, ProductKind};
use stormtrack::field::{Frame, ValueType};
use stormtrack::io::{self, FieldReader, VariableRequest};
use stormtrack::time::{Calendar, DateTime};
use stormtrack::Error;

const NLAT: usize = 9;
const NLON: usize = 12;

fn request(name: &str) -> VariableRequest {
    VariableRequest {
        name: name.to_string(),
        level: None,
    }
}

fn open(path: &Path, name: &str) -> Box<dyn FieldReader> {
    io::open(path, &request(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn lats(ascending: bool) -> Vec<f64> {
    let v: Vec<f64> = (0..NLAT).map(|i| 40.0 - 5.0 * i as f64).collect();
    if ascending {
        v.into_iter().rev().collect()
    } else {
        v
    }
}

/// A recognisable value for (step, row, col).
fn value(t: usize, r: usize, c: usize) -> f64 {
    100_000.0 + 100.0 * t as f64 + 10.0 * r as f64 + c as f64
}

/// Options for a test file.
struct Spec<'a> {
    var: &'a str,
    lat_name: &'a str,
    lon_name: &'a str,
    lat: Vec<f64>,
    lon: Vec<f64>,
    steps: usize,
    time_units: &'a str,
    calendar: Option<&'a str>,
    standard_name: Option<&'a str>,
    levels: Option<Vec<f64>>,
    classic: bool,
    /// Add a depression at row 4, column 5 + step, so there is a centre to track.
    bowl: bool,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Spec {
            var: "msl",
            lat_name: "latitude",
            lon_name: "longitude",
            lat: lats(false),
            lon: (0..NLON).map(|i| 30.0 * i as f64).collect(),
            steps: 3,
            time_units: "hours since 2025-12-01 00:00:00",
            calendar: None,
            standard_name: None,
            levels: None,
            classic: false,
            bowl: false,
        }
    }
}

/// Writes a float32 NetCDF file following `spec`; level k adds 1000*k to the values.
fn write_nc(path: &Path, spec: &Spec) {
    let _turn = crate::common::file_lock();
    let mut f = if spec.classic {
        crate::common::nc::create_with(path, netcdf::Options::CLASSIC).unwrap()
    } else {
        crate::common::nc::create(path).unwrap()
    };
    f.add_dimension("time", spec.steps).unwrap();
    f.add_dimension(spec.lat_name, spec.lat.len()).unwrap();
    f.add_dimension(spec.lon_name, spec.lon.len()).unwrap();
    let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
    t.put_attribute("units", spec.time_units).unwrap();
    if let Some(c) = spec.calendar {
        t.put_attribute("calendar", c).unwrap();
    }
    let times: Vec<f64> = (0..spec.steps).map(|i| 6.0 * i as f64).collect();
    t.put_values(&times, ..).unwrap();
    let mut la = f
        .add_variable::<f64>(spec.lat_name, &[spec.lat_name])
        .unwrap();
    la.put_attribute("units", "degrees_north").unwrap();
    la.put_values(&spec.lat, ..).unwrap();
    let mut lo = f
        .add_variable::<f64>(spec.lon_name, &[spec.lon_name])
        .unwrap();
    lo.put_attribute("units", "degrees_east").unwrap();
    lo.put_values(&spec.lon, ..).unwrap();
    let nlev = spec.levels.as_ref().map_or(0, Vec::len);
    let mut dims = vec!["time"];
    if let Some(levels) = &spec.levels {
        f.add_dimension("pressure_level", levels.len()).unwrap();
        let mut l = f
            .add_variable::<f64>("pressure_level", &["pressure_level"])
            .unwrap();
        l.put_attribute("units", "hPa").unwrap();
        l.put_values(levels, ..).unwrap();
        dims.push("pressure_level");
    }
    dims.push(spec.lat_name);
    dims.push(spec.lon_name);
    let mut v = f.add_variable::<f32>(spec.var, &dims).unwrap();
    v.put_attribute("units", "Pa").unwrap();
    if let Some(s) = spec.standard_name {
        v.put_attribute("standard_name", s).unwrap();
    }
    let (nlat, nlon) = (spec.lat.len(), spec.lon.len());
    let mut data = Vec::new();
    for t in 0..spec.steps {
        for k in 0..nlev.max(1) {
            for r in 0..nlat {
                for c in 0..nlon {
                    let d2 = (r as f64 - 4.0).powi(2) + (c as f64 - 5.0 - t as f64).powi(2);
                    let dip = if spec.bowl { 500.0 / (1.0 + d2) } else { 0.0 };
                    data.push((value(t, r, c) + 1000.0 * k as f64 - dip) as f32);
                }
            }
        }
    }
    v.put_values(&data, ..).unwrap();
}

fn frame_f32(frame: &Frame) -> &ndarray::Array2<f32> {
    match frame {
        Frame::F32(a) => a,
        Frame::F64(_) => panic!("expected float32"),
    }
}

#[test]
fn int16_packed_with_double_scale_decodes_to_float64_with_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packed.nc");
    {
        let _turn = crate::common::file_lock();
        let mut f = crate::common::nc::create_with(&path, netcdf::Options::CLASSIC).unwrap();
        f.add_dimension("time", 2).unwrap();
        f.add_dimension("latitude", NLAT).unwrap();
        f.add_dimension("longitude", NLON).unwrap();
        // Classic files: define everything before writing any data.
        let mut v = f
            .add_variable::<i16>("msl", &["time", "latitude", "longitude"])
            .unwrap();
        v.put_attribute("scale_factor", 0.1f64).unwrap();
        v.put_attribute("add_offset", 100_000.0f64).unwrap();
        v.put_attribute("_FillValue", -32767i16).unwrap();
        let mut t = f.add_variable::<i32>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 1900-01-01 00:00:00.0")
            .unwrap();
        t.put_attribute("calendar", "gregorian").unwrap();
        f.add_variable::<f32>("latitude", &["latitude"]).unwrap();
        f.add_variable::<f32>("longitude", &["longitude"]).unwrap();
        f.enddef().unwrap();
        let put = |f: &mut netcdf::FileMut, name: &str, vals: &[f32]| {
            f.variable_mut(name).unwrap().put_values(vals, ..).unwrap()
        };
        put(
            &mut f,
            "latitude",
            &lats(false).iter().map(|&x| x as f32).collect::<Vec<_>>(),
        );
        put(
            &mut f,
            "longitude",
            &(0..NLON).map(|i| 30.0 * i as f32).collect::<Vec<_>>(),
        );
        f.variable_mut("time")
            .unwrap()
            .put_values(&[1_103_376i32, 1_103_382], ..)
            .unwrap();
        let mut v = f.variable_mut("msl").unwrap();
        let raw: Vec<i16> = (0..2 * NLAT * NLON)
            .map(|i| if i == 5 { -32767 } else { (i as i16) * 3 - 100 })
            .collect();
        v.put_values(&raw, ..).unwrap();
    }
    let mut r = open(&path, "msl");
    let meta = r.meta().clone();
    assert_eq!(meta.value_type, ValueType::F64);
    assert!(meta.packing.as_deref().unwrap().starts_with("int16"));
    assert_eq!(
        meta.calendar.date(meta.times[0]),
        DateTime::new(2025, 11, 15, 0)
    );
    assert_eq!(meta.times[1] - meta.times[0], 6 * 3600);
    let frames = r.read(0, 2).unwrap();
    let Frame::F64(a) = &frames[1] else {
        panic!("expected float64")
    };
    let raw = (NLAT * NLON + 7) as f64 * 3.0 - 100.0;
    assert_eq!(a[[0, 7]], raw * 0.1 + 100_000.0);
    let Frame::F64(a0) = &frames[0] else { panic!() };
    assert!(a0[[0, 5]].is_nan());
}

#[test]
fn ascending_latitude_and_signed_longitude_are_taken_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("asc.nc");
    let spec = Spec {
        lat: lats(true),
        lon: (0..NLON).map(|i| -180.0 + 30.0 * i as f64).collect(),
        ..Spec::default()
    };
    write_nc(&path, &spec);
    let mut r = open(&path, "msl");
    let meta = r.meta().clone();
    assert!(meta.grid.global, "12 x 30 degrees cover the circle");
    assert!(meta.grid.lat_ascending());
    assert_eq!(meta.grid.lon[0], -180.0);
    assert_eq!(meta.value_type, ValueType::F32);
    let f = r.read(2, 1).unwrap();
    assert_eq!(frame_f32(&f[0])[[3, 4]], value(2, 3, 4) as f32);
}

#[test]
fn regional_box_is_not_global() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.nc");
    write_nc(
        &path,
        &Spec {
            lon: (0..NLON).map(|i| 280.0 + 2.5 * i as f64).collect(),
            ..Spec::default()
        },
    );
    let r = open(&path, "msl");
    assert!(!r.meta().grid.global);
    assert_eq!(r.meta().grid.resolution(), (5.0, 2.5));
}

#[test]
fn aliases_and_coordinate_names_resolve() {
    let dir = tempfile::tempdir().unwrap();
    for (var, lat, lon) in [
        ("psl", "lat", "lon"),
        ("var151", "y", "x"),
        ("slp", "latitude", "longitude"),
        ("prmsl", "lat", "lon"),
    ] {
        let path = dir.path().join(format!("{var}.nc"));
        write_nc(
            &path,
            &Spec {
                var,
                lat_name: lat,
                lon_name: lon,
                ..Spec::default()
            },
        );
        let r = open(&path, "msl");
        assert_eq!(r.meta().variable, var);
        assert_eq!(
            (r.meta().lat_name.as_str(), r.meta().lon_name.as_str()),
            (lat, lon)
        );
        assert_eq!(r.meta().num_steps(), 3);
    }
}

#[test]
fn standard_name_alone_identifies_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cf.nc");
    write_nc(
        &path,
        &Spec {
            var: "pressure",
            standard_name: Some("air_pressure_at_mean_sea_level"),
            ..Spec::default()
        },
    );
    assert_eq!(open(&path, "msl").meta().variable, "pressure");
}

#[test]
fn missing_variable_lists_what_is_there_and_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.nc");
    write_nc(
        &path,
        &Spec {
            var: "t2m",
            ..Spec::default()
        },
    );
    let err = io::open(&path, &request("msl")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::NoVariable { .. }));
    assert!(
        msg.contains("no variable 'msl'")
            && msg.contains("slp")
            && msg.contains("t2m(time,latitude,longitude)"),
        "{msg}"
    );
}

#[test]
fn day360_calendar_prints_its_own_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cmip.nc");
    // Steps at 0, 6 and 12 hours after 2000-02-29 12:00: the last is 2000-02-30 00:00.
    write_nc(
        &path,
        &Spec {
            time_units: "hours since 2000-02-29 12:00:00",
            calendar: Some("360_day"),
            bowl: true,
            ..Spec::default()
        },
    );
    let r = open(&path, "msl");
    assert_eq!(r.meta().calendar, Calendar::Day360);
    assert_eq!(
        r.meta().calendar.date(r.meta().times[2]),
        DateTime::new(2000, 2, 30, 0)
    );
    let out = dir.path().join("tracks.txt");
    {
        let _turn = crate::common::file_lock();
        Command::cargo_bin("stormtrack")
            .unwrap()
            .args(["track", "--var", "msl", "-q", "-o"])
            .arg(&out)
            .arg(&path)
            .assert()
            .success();
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let mut dates: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("00 "))
        .map(|l| &l[l.find(" 20").unwrap() + 1..][..24])
        .collect();
    dates.sort_unstable();
    dates.dedup();
    assert_eq!(
        dates,
        vec![
            "2000022912 2000 02 29 12",
            "2000022918 2000 02 29 18",
            "2000023000 2000 02 30 00"
        ],
        "{text}"
    );
}

#[test]
fn length_one_level_is_squeezed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("4d.nc");
    write_nc(
        &path,
        &Spec {
            levels: Some(vec![850.0]),
            ..Spec::default()
        },
    );
    let mut r = open(&path, "msl");
    assert_eq!(r.meta().level.as_deref(), Some("pressure_level = 850"));
    let f = r.read(1, 1).unwrap();
    assert_eq!(frame_f32(&f[0])[[2, 3]], value(1, 2, 3) as f32);
}

#[test]
fn level_dimension_needs_level_and_selects_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("levels.nc");
    write_nc(
        &path,
        &Spec {
            levels: Some(vec![850.0, 500.0, 250.0]),
            ..Spec::default()
        },
    );
    let err = io::open(&path, &request("msl")).unwrap_err();
    assert!(matches!(err, Error::LevelRequired { count: 3, .. }));
    assert!(
        err.to_string().contains("pressure_level: 850, 500, 250")
            && err.to_string().contains("--level"),
        "{err}"
    );
    let mut r = io::open(
        &path,
        &VariableRequest {
            name: "msl".into(),
            level: Some(500.0),
        },
    )
    .unwrap();
    assert_eq!(r.meta().level.as_deref(), Some("pressure_level = 500"));
    let f = r.read(0, 1).unwrap();
    assert_eq!(frame_f32(&f[0])[[1, 1]], (value(0, 1, 1) + 1000.0) as f32);
    let err = io::open(
        &path,
        &VariableRequest {
            name: "msl".into(),
            level: Some(700.0),
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("--level 700: no such level"),
        "{err}"
    );
}

#[test]
fn classic_netcdf_without_time_dimension_is_one_step() {
    let r = open(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/era5_vo850_2025120100_2.5x2.5.nc"),
        "vo",
    );
    assert!(!r.meta().time_known);
    assert_eq!(r.meta().num_steps(), 1);
    assert_eq!((r.meta().grid.rows(), r.meta().grid.cols()), (73, 144));
}

/// Copies GRIB messages `order` (0-based) of the DJF sample into `path`,
/// applying `edit` to each.
fn write_grib(path: &Path, order: &[usize], edit: impl Fn(&mut eccodes::KeyedMessage)) {
    let sample =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/era5_msl_2025-2026_djf_2.5x2.5.grib");
    let mut handle = CodesHandle::new_from_file(&sample, ProductKind::GRIB).unwrap();
    let mut messages = Vec::new();
    while let Some(m) = handle.next().unwrap() {
        if messages.len() > *order.iter().max().unwrap() {
            break;
        }
        messages.push(m.try_clone().unwrap());
    }
    let _ = std::fs::remove_file(path);
    for &i in order {
        let mut m = messages[i].try_clone().unwrap();
        edit(&mut m);
        m.write_to_file(path, true).unwrap();
    }
}

#[test]
fn grib_messages_are_ordered_by_validity_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shuffled.grib");
    write_grib(&path, &[2, 0, 1], |_| {});
    let mut g = open(&path, "msl");
    let meta = g.meta().clone();
    assert_eq!(meta.format, io::FileFormat::Grib);
    assert_eq!(meta.variable, "msl");
    assert_eq!(meta.units.as_deref(), Some("Pa"));
    assert_eq!(meta.times.len(), 3);
    assert_eq!(
        meta.calendar.date(meta.times[2]),
        DateTime::new(2025, 12, 1, 12)
    );
    assert_eq!((meta.grid.lat[0], meta.grid.lon[1]), (90.0, 2.5));
    let nc =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/era5_msl_2025-2026_djf_2.5x2.5.nc");
    let mut n = open(&nc, "msl");
    assert_eq!(
        g.read(0, 3).unwrap(),
        n.read(0, 3).unwrap(),
        "same values as the NetCDF sample"
    );
}

#[test]
fn grib_south_to_north_scanning_and_param_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s2n.grib");
    write_grib(&path, &[0], |m| {
        let values: Vec<f64> = m.read_key("values").unwrap();
        let flipped: Vec<f64> = values.chunks(144).rev().flatten().copied().collect();
        m.write_key("jScansPositively", 1i64).unwrap();
        m.write_key("latitudeOfFirstGridPointInDegrees", -90.0f64)
            .unwrap();
        m.write_key("latitudeOfLastGridPointInDegrees", 90.0f64)
            .unwrap();
        m.write_key("values", &flipped).unwrap();
    });
    let mut g = open(&path, "151");
    assert!(g.meta().grid.lat_ascending());
    let nc =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/era5_msl_2025-2026_djf_2.5x2.5.nc");
    let mut n = open(&nc, "msl");
    let a = g.read(0, 1).unwrap();
    let b = n.read(0, 1).unwrap();
    let (a, b) = (frame_f32(&a[0]), frame_f32(&b[0]));
    assert_eq!(a[[0, 10]], b[[72, 10]], "row 0 is now the south pole");
    assert_eq!(a[[40, 3]], b[[32, 3]]);
}
