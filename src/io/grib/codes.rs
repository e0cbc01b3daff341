//! ecCodes calls of the GRIB reader: header keys, decoding, grid coordinates,
//! and its errors in plain words.

use std::path::Path;

use eccodes::{CodesHandle, FallibleStreamingIterator, KeyRead, KeyedMessage, ProductKind};

use super::raw::check_structure;
use super::scan::Message;
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::io::grib_log;
use crate::time::{Calendar, DateTime};

fn key_i64(msg: &KeyedMessage, key: &str) -> std::result::Result<i64, eccodes::CodesError> {
    msg.read_key_unchecked(key)
}

fn key_str(msg: &KeyedMessage, key: &str) -> std::result::Result<String, eccodes::CodesError> {
    msg.read_key_unchecked(key)
}

fn key_f64(msg: &KeyedMessage, key: &str) -> std::result::Result<f64, eccodes::CodesError> {
    msg.read_key_unchecked(key)
}

/// Integer header keys that determine a message's parameter (shortName and
/// paramId). Those two are "concepts" that ecCodes evaluates by matching
/// definition tables, about 0.3 ms per message each; messages with the same
/// signature share them, so they are looked up once per signature.
fn parameter_signature(msg: &KeyedMessage) -> Vec<i64> {
    let keys: &[&str] = match key_i64(msg, "edition").unwrap_or(0) {
        1 => &[
            "edition",
            "centre",
            "table2Version",
            "indicatorOfParameter",
            "indicatorOfTypeOfLevel",
            "level",
            "timeRangeIndicator",
            "localDefinitionNumber",
        ],
        _ => &[
            "edition",
            "centre",
            "discipline",
            "parameterCategory",
            "parameterNumber",
            "typeOfFirstFixedSurface",
            "scaledValueOfFirstFixedSurface",
            "scaleFactorOfFirstFixedSurface",
            "typeOfSecondFixedSurface",
            "productDefinitionTemplateNumber",
            "typeOfStatisticalProcessing",
            "level",
        ],
    };
    keys.iter()
        .map(|k| key_i64(msg, k).unwrap_or(i64::MIN))
        .collect()
}

/// shortName and paramId of messages, cached by [`parameter_signature`].
pub(super) type ParameterCache = std::collections::HashMap<Vec<i64>, (String, i64)>;

fn parameter(
    msg: &KeyedMessage,
    cache: &mut ParameterCache,
) -> std::result::Result<(String, i64), eccodes::CodesError> {
    let signature = parameter_signature(msg);
    if let Some(found) = cache.get(&signature) {
        return Ok(found.clone());
    }
    let found = (key_str(msg, "shortName")?, key_i64(msg, "paramId")?);
    cache.insert(signature, found.clone());
    Ok(found)
}

/// The instant of ecCodes' `validityDate` (YYYYMMDD) and `validityTime`
/// (HHMM), or `None` for a date that does not exist.
pub(super) fn validity_instant(date: i64, hhmm: i64) -> Option<i64> {
    let dt = DateTime {
        year: date / 10_000,
        month: ((date / 100) % 100) as u32,
        day: (date % 100) as u32,
        hour: (hhmm / 100) as u32,
        minute: (hhmm % 100) as u32,
        second: 0,
    };
    Calendar::ProlepticGregorian.instant(&dt).ok()
}

pub(super) fn scan_message(
    msg: &KeyedMessage,
    index: usize,
    cache: &mut ParameterCache,
) -> std::result::Result<Message, eccodes::CodesError> {
    let time = validity_instant(key_i64(msg, "validityDate")?, key_i64(msg, "validityTime")?)
        .unwrap_or(i64::MIN);
    let deg = |k: &str| key_f64(msg, k).map(|v| (v * 1e6).round() as i64);
    let (short_name, param_id) = parameter(msg, cache)?;
    Ok(Message {
        index,
        short_name,
        param_id,
        type_of_level: key_str(msg, "typeOfLevel").unwrap_or_default(),
        level: key_i64(msg, "level").unwrap_or(0),
        time,
        offset: key_i64(msg, "offset")? as u64,
        length: key_i64(msg, "totalLength")? as usize,
        grid_type: key_str(msg, "gridType").unwrap_or_default(),
        ni: key_i64(msg, "Ni").unwrap_or(0).max(0) as usize,
        nj: key_i64(msg, "Nj").unwrap_or(0).max(0) as usize,
        native: false,
        grid_key: [
            deg("latitudeOfFirstGridPointInDegrees").unwrap_or(0),
            deg("longitudeOfFirstGridPointInDegrees").unwrap_or(0),
            deg("latitudeOfLastGridPointInDegrees").unwrap_or(0),
            deg("longitudeOfLastGridPointInDegrees").unwrap_or(0),
        ],
    })
}

pub(super) fn corrupt(path: &Path, index: usize, e: impl std::fmt::Display) -> Error {
    let detail = match grib_log::last() {
        Some(logged) if !e.to_string().contains(&logged) => format!("{e}; ecCodes: {logged}"),
        _ => e.to_string(),
    };
    Error::input(
        path,
        format!(
            "GRIB message {} is corrupt or truncated ({detail}); re-download or re-copy the file",
            index + 1
        ),
    )
}

/// An ecCodes error in plain words (its code's description, not the crate's wrapper).
pub(super) fn codes_error(e: &eccodes::CodesError) -> String {
    match e {
        eccodes::CodesError::Internal(code) => code.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn open_message(
    bytes: Vec<u8>,
) -> std::result::Result<CodesHandle<eccodes::codes_handle::CodesFile<Vec<u8>>>, String> {
    check_structure(&bytes)?;
    grib_log::install();
    grib_log::clear();
    CodesHandle::new_from_memory(bytes, ProductKind::GRIB).map_err(|e| codes_error(&e))
}

/// Decoded values of one message, NaN at bitmap-missing points.
pub(super) fn decode_values(
    bytes: Vec<u8>,
    expected: usize,
) -> std::result::Result<Vec<f64>, String> {
    let mut handle = open_message(bytes)?;
    let msg = handle
        .next()
        .map_err(|e| codes_error(&e))?
        .ok_or("no message")?;
    values_of(msg, expected)
}

/// Decoded values of an open message, NaN at bitmap-missing points.
pub(super) fn values_of(
    msg: &KeyedMessage,
    expected: usize,
) -> std::result::Result<Vec<f64>, String> {
    // ecCodes sizes the value array from these; a corrupt header must not
    // turn into a huge allocation.
    let points = key_i64(msg, "numberOfDataPoints").map_err(|e| codes_error(&e))?;
    let coded = key_i64(msg, "numberOfCodedValues").map_err(|e| codes_error(&e))?;
    if points < 0 || coded < 0 || coded > points || points > expected as i64 {
        return Err(format!(
            "it declares {coded} coded values for {points} points on a grid of {expected}"
        ));
    }
    let mut values: Vec<f64> = msg
        .read_key_unchecked("values")
        .map_err(|e| codes_error(&e))?;
    if key_i64(msg, "bitmapPresent").unwrap_or(0) == 1 {
        let missing = key_f64(msg, "missingValue").unwrap_or(9999.0);
        values
            .iter_mut()
            .filter(|v| **v == missing)
            .for_each(|v| *v = f64::NAN);
    }
    Ok(values)
}

/// The grid axes (from the message's own point coordinates), whether j is
/// the fast index, units and long name.
pub(super) fn grid_of(
    path: &Path,
    m: &Message,
    bytes: Vec<u8>,
) -> Result<(Grid, bool, Option<String>, Option<String>)> {
    let fail = |e: String| corrupt(path, m.index, e);
    let mut handle = open_message(bytes).map_err(fail)?;
    let msg = handle
        .next()
        .map_err(|e| fail(codes_error(&e)))?
        .ok_or_else(|| fail("no message".into()))?;
    let lats: Vec<f64> = msg
        .read_key_unchecked("latitudes")
        .map_err(|e| fail(codes_error(&e)))?;
    let lons: Vec<f64> = msg
        .read_key_unchecked("longitudes")
        .map_err(|e| fail(codes_error(&e)))?;
    let j_consecutive = key_i64(msg, "jPointsAreConsecutive").unwrap_or(0) == 1;
    let (ni, nj) = (m.ni, m.nj);
    if ni * nj != lats.len() || lats.len() != lons.len() || ni < 3 || nj < 3 {
        return Err(fail(format!(
            "grid of {ni} x {nj} points does not match its {} coordinates",
            lats.len()
        )));
    }
    let (lat, lon): (Vec<f64>, Vec<f64>) = if j_consecutive {
        (
            (0..nj).map(|j| lats[j]).collect(),
            (0..ni).map(|i| lons[i * nj]).collect(),
        )
    } else {
        (
            (0..nj).map(|j| lats[j * ni]).collect(),
            (0..ni).map(|i| lons[i]).collect(),
        )
    };
    let units = key_str(msg, "units")
        .ok()
        .filter(|u| !u.is_empty() && u != "unknown");
    let name = key_str(msg, "name")
        .ok()
        .filter(|u| !u.is_empty() && u != "unknown");
    Ok((Grid::new(lat, lon), j_consecutive, units, name))
}
