//! GRIB input (editions 1 and 2) through ecCodes.
//!
//! Opening scans the message headers once (shortName, paramId, level,
//! validity time, grid, byte offset). The messages of the requested variable
//! are ordered by validity time; reading a block decodes just those messages,
//! each from its own byte range, so any thread or rank can read any steps.
//! Values are decoded to float64 by ecCodes and rounded to float32, as cfgrib
//! does; a bitmap's missing points become NaN.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use eccodes::{CodesHandle, FallibleStreamingIterator, KeyRead, KeyedMessage, ProductKind};
use ndarray::Array2;

use super::{
    aliases, fmt_value, grib_log, list, FieldMeta, FieldReader, FileFormat, VariableRequest,
};
use crate::error::{Error, Result};
use crate::field::{Frame, ValueType};
use crate::grid::Grid;
use crate::time::{Calendar, DateTime};

/// Header facts of one GRIB message.
#[derive(Debug, Clone)]
struct Message {
    index: usize,
    short_name: String,
    param_id: i64,
    type_of_level: String,
    level: i64,
    time: i64,
    offset: u64,
    length: usize,
    grid_type: String,
    ni: usize,
    nj: usize,
    grid_key: [i64; 4],
}

/// Reads one variable of a GRIB file.
#[derive(Debug)]
pub struct GribReader {
    file: File,
    messages: Vec<Message>,
    j_consecutive: bool,
    meta: FieldMeta,
}

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
type ParameterCache = std::collections::HashMap<Vec<i64>, (String, i64)>;

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

fn scan_message(
    msg: &KeyedMessage,
    index: usize,
    cache: &mut ParameterCache,
) -> std::result::Result<Message, eccodes::CodesError> {
    let date = key_i64(msg, "validityDate")?;
    let hhmm = key_i64(msg, "validityTime")?;
    let dt = DateTime {
        year: date / 10_000,
        month: ((date / 100) % 100) as u32,
        day: (date % 100) as u32,
        hour: (hhmm / 100) as u32,
        minute: (hhmm % 100) as u32,
        second: 0,
    };
    let time = Calendar::ProlepticGregorian
        .instant(&dt)
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
        grid_key: [
            deg("latitudeOfFirstGridPointInDegrees").unwrap_or(0),
            deg("longitudeOfFirstGridPointInDegrees").unwrap_or(0),
            deg("latitudeOfLastGridPointInDegrees").unwrap_or(0),
            deg("longitudeOfLastGridPointInDegrees").unwrap_or(0),
        ],
    })
}

fn corrupt(path: &Path, index: usize, e: impl std::fmt::Display) -> Error {
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
fn codes_error(e: &eccodes::CodesError) -> String {
    match e {
        eccodes::CodesError::Internal(code) => code.to_string(),
        other => other.to_string(),
    }
}

/// Scans every message header of the file.
fn scan(path: &Path) -> Result<Vec<Message>> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        })?
        .len();
    grib_log::install();
    grib_log::clear();
    let mut handle = CodesHandle::new_from_file(path, ProductKind::GRIB)
        .map_err(|e| Error::input(path, format!("cannot open as GRIB: {}", codes_error(&e))))?;
    let mut out: Vec<Message> = Vec::new();
    let mut cache = ParameterCache::new();
    loop {
        let index = out.len();
        let msg = match handle.next() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => return Err(scan_failure(path, &out, size, &e)),
        };
        let m = scan_message(msg, index, &mut cache)
            .map_err(|e| corrupt(path, index, codes_error(&e)))?;
        if m.offset + m.length as u64 > size {
            return Err(corrupt(
                path,
                index,
                format!(
                    "it needs {} bytes from offset {} but the file ends at {size}",
                    m.length, m.offset
                ),
            ));
        }
        out.push(m);
    }
    if out.is_empty() {
        return Err(Error::input(
            path,
            "contains no GRIB messages; the file may be truncated or corrupt",
        ));
    }
    Ok(out)
}

/// Why the message after `done` could not be read: a file that ends inside
/// a message is called truncated, anything else corrupt.
fn scan_failure(path: &Path, done: &[Message], size: u64, e: &eccodes::CodesError) -> Error {
    let index = done.len();
    let start = done.last().map_or(0, |m| m.offset + m.length as u64);
    use eccodes::errors::CodesInternal;
    let end_of_resource = matches!(
        e,
        eccodes::CodesError::Internal(
            CodesInternal::CodesEndOfFile | CodesInternal::CodesPrematureEndOfFile
        )
    );
    if end_of_resource {
        return Error::input(
            path,
            format!(
                "the file ends inside GRIB message {} (it starts at byte {start} of {size}); the file is truncated: re-download or re-copy it",
                index + 1
            ),
        );
    }
    corrupt(path, index, codes_error(e))
}

fn u24(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 3)?;
    Some((usize::from(s[0]) << 16) | (usize::from(s[1]) << 8) | usize::from(s[2]))
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// Walks the sections of one message and checks that they end exactly at
/// its `7777`, so that corrupt section lengths never reach the decoder
/// (ecCodes would size arrays from them).
fn check_structure(b: &[u8]) -> std::result::Result<(), String> {
    if b.len() < 16 || &b[..4] != b"GRIB" {
        return Err("it does not start with 'GRIB'".into());
    }
    let end = match b[7] {
        1 => walk_grib1(b)?,
        2 => walk_grib2(b)?,
        e => return Err(format!("unknown GRIB edition {e}")),
    };
    match end {
        Some(pos) if b.get(pos..pos + 4) == Some(b"7777") && pos + 4 == b.len() => Ok(()),
        Some(pos) => Err(format!(
            "its sections end at byte {pos} of {} where '7777' should be",
            b.len()
        )),
        None => Ok(()),
    }
}

/// End of the last section of a GRIB 1 message (None for the large-message
/// encoding whose lengths are scaled, which ecCodes checks itself).
fn walk_grib1(b: &[u8]) -> std::result::Result<Option<usize>, String> {
    let total = u24(b, 4).ok_or("short header")?;
    if total & 0x80_0000 != 0 {
        return Ok(None);
    }
    let bad = |what: &str| format!("its {what} length runs past the end of the message");
    let s1 = u24(b, 8).ok_or_else(|| bad("section 1"))?;
    let flags = *b.get(8 + 7).ok_or_else(|| bad("section 1"))?;
    let mut pos = 8 + s1;
    for (present, name) in [
        (flags & 0x80 != 0, "section 2"),
        (flags & 0x40 != 0, "section 3"),
        (true, "section 4"),
    ] {
        if present {
            let len = u24(b, pos).filter(|l| *l >= 3).ok_or_else(|| bad(name))?;
            pos += len;
            if pos > b.len() {
                return Err(bad(name));
            }
        }
    }
    Ok(Some(pos))
}

/// End of the last section of a GRIB 2 message.
fn walk_grib2(b: &[u8]) -> std::result::Result<Option<usize>, String> {
    let mut pos = 16;
    while b.get(pos..pos + 4) != Some(b"7777") {
        let len = u32_at(b, pos).ok_or("a section runs past the end of the message")?;
        let number = b.get(pos + 4).copied().unwrap_or(0);
        if len < 5 || !(1..=7).contains(&number) || pos + len > b.len() {
            return Err(format!(
                "section at byte {pos} has an invalid length {len} or number {number}"
            ));
        }
        pos += len;
    }
    Ok(Some(pos))
}

/// Message count and the distinct parameters (shortName, paramId, level) of
/// the file, in order of first appearance (for `stormtrack info`).
pub fn inventory(path: &Path) -> Result<(usize, Vec<super::inventory::GribParameter>)> {
    let all = scan(path)?;
    let mut params: Vec<super::inventory::GribParameter> = Vec::new();
    for m in &all {
        let same = |p: &&mut super::inventory::GribParameter| {
            p.param_id == m.param_id
                && p.short_name == m.short_name
                && p.type_of_level == m.type_of_level
                && p.level == m.level
        };
        match params.iter_mut().find(same) {
            Some(p) => p.messages += 1,
            None => params.push(super::inventory::GribParameter {
                short_name: m.short_name.clone(),
                param_id: m.param_id,
                type_of_level: m.type_of_level.clone(),
                level: m.level,
                grid_type: m.grid_type.clone(),
                messages: 1,
            }),
        }
    }
    Ok((all.len(), params))
}

fn describe(m: &Message) -> String {
    format!(
        "{} (paramId {}, {} {})",
        m.short_name, m.param_id, m.type_of_level, m.level
    )
}

impl GribReader {
    pub fn open(path: &Path, request: &VariableRequest) -> Result<Self> {
        let all = scan(path)?;
        let names = aliases::variable_names(&request.name);
        let ids = aliases::grib_param_ids(&request.name);
        let mut selected: Vec<Message> = all
            .iter()
            .filter(|m| {
                names.iter().any(|n| n.eq_ignore_ascii_case(&m.short_name))
                    || ids.contains(&m.param_id)
            })
            .cloned()
            .collect();
        if selected.is_empty() {
            let mut present: Vec<String> = all.iter().map(describe).collect();
            present.dedup();
            present.sort();
            present.dedup();
            let mut tried: Vec<String> = names[1..].to_vec();
            tried.extend(ids.iter().map(|i| format!("paramId {i}")));
            return Err(Error::NoVariable {
                path: path.to_path_buf(),
                requested: request.name.clone(),
                tried: if tried.is_empty() {
                    "none known".into()
                } else {
                    tried.join(", ")
                },
                available: list(&present),
            });
        }
        let level = Self::select_level(path, &request.name, &mut selected, request.level)?;
        selected.sort_by_key(|m| m.time);
        Self::check_times(path, &selected)?;
        let first = selected[0].clone();
        if first.grid_type != "regular_ll" && first.grid_type != "regular_gg" {
            return Err(Error::input(path, format!("'{}' is on a grid of type '{}'; stormtrack reads regular_ll and regular_gg grids: regrid first (e.g. cdo remapbil)", first.short_name, first.grid_type)));
        }
        if let Some(other) = selected
            .iter()
            .find(|m| (m.ni, m.nj, m.grid_key) != (first.ni, first.nj, first.grid_key))
        {
            return Err(Error::input(path, format!("GRIB messages {} and {} of '{}' are on different grids; split the file by grid first", first.index + 1, other.index + 1, first.short_name)));
        }
        let file = File::open(path).map_err(|e| Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        })?;
        let bytes = read_bytes(&file, path, &first)?;
        let (grid, j_consecutive, units, long_name) = grid_of(path, &first, bytes)?;
        let meta = FieldMeta {
            path: path.to_path_buf(),
            format: FileFormat::Grib,
            variable: first.short_name.clone(),
            long_name,
            units,
            time_name: Some("validity time".into()),
            lat_name: "latitude".into(),
            lon_name: "longitude".into(),
            level,
            grid,
            calendar: Calendar::ProlepticGregorian,
            times: selected.iter().map(|m| m.time).collect(),
            time_known: true,
            value_type: ValueType::F32,
            packing: None,
            chunk_steps: None,
        };
        Ok(GribReader {
            file,
            messages: selected,
            j_consecutive,
            meta,
        })
    }

    fn select_level(
        path: &Path,
        name: &str,
        selected: &mut Vec<Message>,
        level: Option<f64>,
    ) -> Result<Option<String>> {
        let mut levels: Vec<(String, i64)> = selected
            .iter()
            .map(|m| (m.type_of_level.clone(), m.level))
            .collect();
        levels.sort();
        levels.dedup();
        let show = |ls: &[(String, i64)]| {
            ls.iter()
                .map(|(t, l)| format!("{t} {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(want) = level {
            let all = show(&levels);
            selected.retain(|m| (m.level as f64 - want).abs() < 1e-9);
            levels.retain(|(_, l)| (*l as f64 - want).abs() < 1e-9);
            if selected.is_empty() {
                return Err(Error::input(
                    path,
                    format!(
                        "--level {}: no such level of '{name}'; the file has {all}",
                        fmt_value(want)
                    ),
                ));
            }
        }
        match levels.len() {
            1 => Ok(Some(format!("{} = {}", levels[0].0, levels[0].1))),
            n => Err(Error::LevelRequired {
                path: path.to_path_buf(),
                variable: name.to_string(),
                count: n,
                levels: show(&levels),
            }),
        }
    }

    fn check_times(path: &Path, sorted: &[Message]) -> Result<()> {
        if let Some(m) = sorted.iter().find(|m| m.time == i64::MIN) {
            return Err(Error::input(
                path,
                format!("GRIB message {} has an invalid validity date", m.index + 1),
            ));
        }
        for w in sorted.windows(2) {
            if w[0].time == w[1].time {
                return Err(Error::input(
                    path,
                    format!(
                        "GRIB messages {} and {} of '{}' have the same validity time {}; several ensemble members, steps or levels? select one (e.g. grib_copy -w) before tracking",
                        w[0].index.min(w[1].index) + 1,
                        w[0].index.max(w[1].index) + 1,
                        w[0].short_name,
                        Calendar::ProlepticGregorian.date(w[0].time)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn decode(&self, m: &Message) -> Result<Array2<f32>> {
        let bytes = read_bytes(&self.file, &self.meta.path, m)?;
        let (rows, cols) = (self.meta.grid.rows(), self.meta.grid.cols());
        let values =
            decode_values(bytes, rows * cols).map_err(|e| corrupt(&self.meta.path, m.index, e))?;
        if values.len() != rows * cols {
            return Err(corrupt(
                &self.meta.path,
                m.index,
                format!("{} values for a {rows} x {cols} grid", values.len()),
            ));
        }
        let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
        Ok(if self.j_consecutive {
            Array2::from_shape_vec((cols, rows), values)
                .expect("shape checked")
                .reversed_axes()
                .as_standard_layout()
                .into_owned()
        } else {
            Array2::from_shape_vec((rows, cols), values).expect("shape checked")
        })
    }
}

fn read_bytes(file: &File, path: &Path, m: &Message) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; m.length];
    file.read_exact_at(&mut buf, m.offset)
        .map_err(|e| corrupt(path, m.index, e))?;
    Ok(buf)
}

fn open_message(
    bytes: Vec<u8>,
) -> std::result::Result<CodesHandle<eccodes::codes_handle::CodesFile<Vec<u8>>>, String> {
    check_structure(&bytes)?;
    grib_log::install();
    grib_log::clear();
    CodesHandle::new_from_memory(bytes, ProductKind::GRIB).map_err(|e| codes_error(&e))
}

/// Decoded values of one message, NaN at bitmap-missing points.
fn decode_values(bytes: Vec<u8>, expected: usize) -> std::result::Result<Vec<f64>, String> {
    let mut handle = open_message(bytes)?;
    let msg = handle
        .next()
        .map_err(|e| codes_error(&e))?
        .ok_or("no message")?;
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
fn grid_of(
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

impl FieldReader for GribReader {
    fn meta(&self) -> &FieldMeta {
        &self.meta
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Frame>> {
        self.messages[start..start + count]
            .iter()
            .map(|m| self.decode(m).map(Frame::F32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRIB 2 skeleton: indicator, sections of the given (number, length), 7777.
    fn grib2(sections: &[(u8, u32)]) -> Vec<u8> {
        let mut body = Vec::new();
        for &(number, len) in sections {
            body.extend(len.to_be_bytes());
            body.push(number);
            body.extend(vec![0u8; len.saturating_sub(5) as usize]);
        }
        let total = (16 + body.len() + 4) as u64;
        let mut b = b"GRIB\0\0\0\x02".to_vec();
        b.extend(total.to_be_bytes());
        b.extend(body);
        b.extend(b"7777");
        b
    }

    #[test]
    fn grib2_structure() {
        let good = grib2(&[(1, 21), (3, 72), (4, 34), (5, 21), (6, 6), (7, 100)]);
        assert_eq!(check_structure(&good), Ok(()));
        let mut bad = good.clone();
        // Section 4 claims 3 more bytes than it has: the walk misses 7777.
        bad[16 + 21 + 72 + 3] = 37;
        assert!(check_structure(&bad).is_err());
        let mut huge = good.clone();
        huge[16 + 21..16 + 21 + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let err = check_structure(&huge).unwrap_err();
        assert!(err.contains("invalid length"), "{err}");
        assert!(check_structure(b"GRIB\0\0\0\x03xxxxxxxx7777").is_err());
        assert!(check_structure(b"GRIX").is_err());
    }

    #[test]
    fn grib1_structure_of_the_sample() {
        let bytes = std::fs::read("data/era5_msl_2025-2026_djf_2.5x2.5.grib").unwrap();
        let len = u24(&bytes, 4).unwrap();
        let msg = &bytes[..len];
        assert_eq!(check_structure(msg), Ok(()));
        let mut cut = msg.to_vec();
        cut.truncate(len - 10);
        assert!(check_structure(&cut).is_err());
    }
}
