//! The raw header reader and the native decoder against ecCodes' own keys
//! and values, message by message, on the GRIB 1 samples and on GRIB 2 files
//! written here with several parameters, levels, steps and templates.

use std::path::{Path, PathBuf};

use eccodes::{
    CodesHandle, FallibleStreamingIterator, KeyRead, KeyWrite, KeyedMessage, ProductKind,
};

use super::codes::{decode_values, values_of};
use super::raw::{self, grib2_sections, u24, Grib1Keys, Grib2Keys};
use super::scan::{scan_eccodes, scan_raw, Message};
use super::simple::Packing;
use super::GribReader;
use crate::field::Frame;
use crate::io::{FieldReader, VariableRequest};

const ERA5: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";
const VO850: &str = "tests/data/oracle/vo850.grib";

/// The messages of a file, cut at their section 0 lengths.
fn messages(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = raw::message_length(&bytes[pos..]).unwrap() as usize;
        out.push(&bytes[pos..pos + len]);
        pos += len;
    }
    out
}

fn with_eccodes<T>(bytes: &[u8], f: impl FnOnce(&KeyedMessage) -> T) -> T {
    let mut handle = CodesHandle::new_from_memory(bytes.to_vec(), ProductKind::GRIB).unwrap();
    let msg = handle.next().unwrap().unwrap();
    f(msg)
}

fn long(m: &KeyedMessage, key: &str) -> i64 {
    m.read_key_unchecked(key)
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn string(m: &KeyedMessage, key: &str) -> String {
    m.read_key_unchecked(key)
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// ecCodes' validityDate and validityTime as an instant.
fn eccodes_validity(m: &KeyedMessage) -> i64 {
    super::codes::validity_instant(long(m, "validityDate"), long(m, "validityTime")).unwrap()
}

/// What ecCodes says about parameter, level and grid: equal for equal signatures.
fn identity(m: &KeyedMessage) -> String {
    let keys = ["shortName", "typeOfLevel", "gridType"];
    let longs = [
        "paramId",
        "level",
        "Ni",
        "Nj",
        "iScansNegatively",
        "jScansPositively",
    ];
    let mut s: Vec<String> = keys.iter().map(|k| string(m, k)).collect();
    s.extend(longs.iter().map(|k| long(m, k).to_string()));
    s.join(" ")
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Checks everything the scan relies on for every message of `path`;
/// returns how many messages had a raw validity time and how many were
/// decoded natively.
fn check_file(path: &Path) -> (usize, usize) {
    let bytes = std::fs::read(path).unwrap();
    let mut timed = 0;
    let mut native = 0;
    let mut by_signature = std::collections::HashMap::new();
    for (i, msg) in messages(&bytes).into_iter().enumerate() {
        raw::check_structure(msg).unwrap();
        let header = raw::header(msg);
        with_eccodes(msg, |m| {
            match long(m, "edition") {
                1 => check_grib1_keys(msg, m),
                _ => check_grib2_keys(msg, m),
            }
            let Some(h) = &header else { return };
            if let Some(t) = h.validity {
                assert_eq!(t, eccodes_validity(m), "validity of message {}", i + 1);
                timed += 1;
            }
            let id = identity(m);
            let first = by_signature
                .entry(h.signature.clone())
                .or_insert(id.clone());
            assert_eq!(*first, id, "message {} shares a signature", i + 1);
            let points = long(m, "numberOfDataPoints") as usize;
            let ours = Packing::of(msg).map(|p| p.values_f64(msg));
            let theirs = values_of(m, points).unwrap();
            if let Some(ours) = ours {
                assert!(same_bits(&ours, &theirs), "values of message {}", i + 1);
                native += 1;
            } else {
                assert!(
                    long(m, "bitmapPresent") == 1 || string(m, "packingType") != "grid_simple",
                    "message {} is simply packed without bitmap",
                    i + 1
                );
            }
        });
    }
    let size = bytes.len() as u64;
    let plain = |v: Vec<Message>| -> Vec<Message> {
        v.into_iter()
            .map(|m| Message { native: false, ..m })
            .collect()
    };
    let fast = scan_raw(path, size)
        .unwrap()
        .expect("the raw scan handles it");
    assert_eq!(plain(fast), plain(scan_eccodes(path, size).unwrap()));
    (timed, native)
}

fn check_grib1_keys(msg: &[u8], m: &KeyedMessage) {
    let k = Grib1Keys::of(&msg[8..8 + u24(msg, 8).unwrap()]).unwrap();
    let got = [
        i64::from(k.table2_version),
        k.centre.into(),
        k.indicator_of_parameter.into(),
        k.indicator_of_type_of_level.into(),
        k.level.into(),
        k.year * 10_000 + i64::from(k.month) * 100 + i64::from(k.day),
        i64::from(k.hour) * 100 + i64::from(k.minute),
        k.unit_of_time_range.into(),
        k.p1.into(),
        k.p2.into(),
        k.time_range_indicator.into(),
    ];
    let keys = [
        "table2Version",
        "centre",
        "indicatorOfParameter",
        "indicatorOfTypeOfLevel",
        "level",
        "dataDate",
        "dataTime",
        "unitOfTimeRange",
        "P1",
        "P2",
        "timeRangeIndicator",
    ];
    let want: Vec<i64> = keys.iter().map(|key| long(m, key)).collect();
    assert_eq!(got.to_vec(), want, "{keys:?}");
}

fn check_grib2_keys(msg: &[u8], m: &KeyedMessage) {
    let s = grib2_sections(msg).unwrap();
    let k = Grib2Keys::of(s[1].unwrap(), s[4].unwrap()).unwrap();
    let mut got = k.reference.to_vec();
    got.extend([
        k.product_definition_template_number.into(),
        k.parameter_category.into(),
        k.parameter_number.into(),
        k.indicator_of_unit_of_time_range.into(),
        k.forecast_time,
        k.type_of_first_fixed_surface.into(),
    ]);
    let mut keys = vec![
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "productDefinitionTemplateNumber",
        "parameterCategory",
        "parameterNumber",
        "indicatorOfUnitOfTimeRange",
        "forecastTime",
        "typeOfFirstFixedSurface",
    ];
    if k.scale_factor_of_first_fixed_surface != 255 {
        got.push(k.scale_factor_of_first_fixed_surface.into());
        got.push(k.scaled_value_of_first_fixed_surface.into());
        keys.extend([
            "scaleFactorOfFirstFixedSurface",
            "scaledValueOfFirstFixedSurface",
        ]);
    }
    if let Some(i) = &k.interval {
        got.extend(i.end);
        got.extend::<[i64; 3]>([
            i.number_of_time_range.into(),
            i.indicator_of_unit_for_time_range.into(),
            i.length_of_time_range.into(),
        ]);
        keys.extend([
            "yearOfEndOfOverallTimeInterval",
            "monthOfEndOfOverallTimeInterval",
            "dayOfEndOfOverallTimeInterval",
            "hourOfEndOfOverallTimeInterval",
            "minuteOfEndOfOverallTimeInterval",
            "secondOfEndOfOverallTimeInterval",
            "numberOfTimeRange",
            "indicatorOfUnitForTimeRange",
            "lengthOfTimeRange",
        ]);
    }
    let want: Vec<i64> = keys.iter().map(|key| long(m, key)).collect();
    assert_eq!(got, want, "{keys:?}");
}

#[test]
fn era5_grib1_raw_keys_match_eccodes() {
    assert_eq!(check_file(Path::new(ERA5)), (360, 360));
    assert_eq!(
        check_file(Path::new(VO850)).0,
        check_file(Path::new(VO850)).1
    );
}

/// One GRIB 2 message to write: keys set in order on ecCodes' GRIB2 sample.
type Edit = Vec<(&'static str, Value)>;

#[derive(Clone)]
enum Value {
    Long(i64),
    Str(&'static str),
    Values(f64),
}

/// A GRIB 2 file of several parameters, levels, steps and product
/// templates, written by ecCodes from its GRIB2 sample (16 x 31 regular_ll,
/// simple packing). Returns how many messages precede the two special
/// ones at the end: a step in minutes (time left to ecCodes) and a bitmap
/// (values left to ecCodes).
fn grib2_file(path: &Path) -> usize {
    use Value::*;
    let sample = Path::new("/usr/share/eccodes/samples/GRIB2.tmpl");
    let mut handle = CodesHandle::new_from_file(sample, ProductKind::GRIB).unwrap();
    let sample = handle.next().unwrap().unwrap().try_clone().unwrap();
    let mut edits: Vec<Edit> = Vec::new();
    for (category, number) in [(0, 0), (3, 0), (2, 2)] {
        for level in [850, 500] {
            for (unit, step) in [(1, 0), (1, 6), (11, 2), (2, 1)] {
                edits.push(vec![
                    ("parameterCategory", Long(category)),
                    ("parameterNumber", Long(number)),
                    ("typeOfLevel", Str("isobaricInhPa")),
                    ("level", Long(level)),
                    ("dataDate", Long(20251231)),
                    ("dataTime", Long(1800)),
                    ("indicatorOfUnitOfTimeRange", Long(unit)),
                    ("forecastTime", Long(step)),
                    ("values", Values(level as f64 + step as f64)),
                ]);
            }
        }
    }
    // Surface, an ensemble member, decimal scaling.
    edits.push(vec![
        ("typeOfLevel", Str("surface")),
        ("productDefinitionTemplateNumber", Long(1)),
        ("perturbationNumber", Long(3)),
        ("dataDate", Long(20240229)),
        ("dataTime", Long(600)),
        ("forecastTime", Long(12)),
        ("decimalScaleFactor", Long(2)),
        ("values", Values(0.25)),
    ]);
    // Accumulations over a step range, alone and per ensemble member.
    for template in [8, 11] {
        edits.push(vec![
            ("productDefinitionTemplateNumber", Long(template)),
            ("parameterCategory", Long(1)),
            ("parameterNumber", Long(8)),
            ("typeOfStatisticalProcessing", Long(1)),
            ("dataDate", Long(20260131)),
            ("dataTime", Long(1200)),
            ("stepRange", Str("6-18")),
            ("values", Values(1e-3)),
        ]);
    }
    let handled = edits.len();
    edits.push(vec![
        ("indicatorOfUnitOfTimeRange", Long(0)),
        ("forecastTime", Long(90)),
        ("values", Values(7.0)),
    ]);
    edits.push(vec![
        ("bitmapPresent", Long(1)),
        ("values", Values(f64::NAN)),
    ]);
    let _ = std::fs::remove_file(path);
    for edit in edits {
        let mut m = sample.try_clone().unwrap();
        m.write_key("bitsPerValue", 16i64).unwrap();
        for (key, value) in edit {
            match value {
                Long(v) => m.write_key(key, v),
                Str(v) => m.write_key(key, v),
                Values(base) => m.write_key(key, &field(base)),
            }
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        }
        m.write_to_file(path, true).unwrap();
    }
    handled
}

/// A smooth field of 16 x 31 values around `base`; NaN base: with missing points.
fn field(base: f64) -> Vec<f64> {
    (0..496)
        .map(|i| match base.is_nan() {
            true if i % 7 == 0 => 9999.0,
            true => i as f64,
            false => base * (1.0 + (i as f64 * 0.37).sin() * 0.01) + i as f64 * 1e-3,
        })
        .collect()
}

#[test]
fn grib2_raw_keys_match_eccodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.grib2");
    let handled = grib2_file(&path);
    let (timed, native) = check_file(&path);
    assert_eq!(timed, handled + 1, "all but the step in minutes");
    assert_eq!(native, handled + 1, "all but the bitmap message");
}

/// ERA5 messages with some headers rewritten: forecast steps, unhandled
/// time range indicators (113), and a large-message flag.
fn edited_grib1(path: &Path, edit: impl Fn(usize, &mut Vec<u8>)) {
    let bytes = std::fs::read(ERA5).unwrap();
    let mut out = Vec::new();
    for (i, msg) in messages(&bytes).into_iter().take(12).enumerate() {
        let mut msg = msg.to_vec();
        edit(i, &mut msg);
        out.extend(msg);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn grib1_steps_and_unhandled_time_ranges_match_eccodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.grib");
    // Octet 19 of section 1 is P1, octet 21 the time range indicator.
    edited_grib1(&path, |i, m| match i {
        2 => m[8 + 18] = 6,
        5 | 6 => m[8 + 20] = 113,
        _ => {}
    });
    let (timed, native) = check_file(&path);
    assert_eq!((timed, native), (10, 12));
}

#[test]
fn parallel_eccodes_decoding_is_deterministic() {
    // ecCodes is built thread-safe; decode every message on 4 threads at
    // once, several times, and compare bit for bit with one thread.
    use rayon::prelude::*;
    let bytes = std::fs::read(ERA5).unwrap();
    let msgs = messages(&bytes);
    let serial: Vec<Vec<f64>> = msgs
        .iter()
        .map(|m| decode_values(m.to_vec(), 73 * 144).unwrap())
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for _ in 0..3 {
        let parallel: Vec<Vec<f64>> = pool.install(|| {
            msgs.par_iter()
                .map(|m| decode_values(m.to_vec(), 73 * 144).unwrap())
                .collect()
        });
        assert!(serial.iter().zip(&parallel).all(|(a, b)| same_bits(a, b)));
    }
}

fn read_all(path: &Path, var: &str) -> Vec<Frame> {
    let request = VariableRequest {
        name: var.into(),
        level: None,
    };
    let mut r = GribReader::open(path, &request).unwrap();
    let n = r.meta().num_steps();
    r.read(0, n).unwrap()
}

#[test]
fn blocks_read_the_same_in_a_pool_and_on_the_calling_thread() {
    let path = PathBuf::from(ERA5);
    let serial = read_all(&path, "msl");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    assert_eq!(pool.install(|| read_all(&path, "msl")), serial);
}
