//! GRIB input (editions 1 and 2).
//!
//! Opening scans the message headers once (module `scan`: shortName, paramId,
//! level, validity time, grid, byte offset), reading most of them from the
//! raw bytes and asking ecCodes once per distinct header. The messages of the
//! requested variable are ordered by validity time; reading a block decodes
//! just those messages, each from its own byte range and in parallel on the
//! current rayon pool, so any thread or rank can read any steps. Values are
//! decoded to float64 (simple packing natively, bit-identical to ecCodes,
//! everything else by ecCodes) and rounded to float32, as cfgrib does; a
//! bitmap's missing points become NaN. Set `STORMTRACK_GRIB_ECCODES=1` to
//! scan and decode every message with ecCodes.

mod codes;
mod raw;
mod scan;
mod simple;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use ndarray::Array2;
use rayon::prelude::*;

use self::codes::{corrupt, decode_values, grid_of};
use self::scan::{scan, Message};
use super::{aliases, fmt_value, list, FieldMeta, FieldReader, FileFormat, VariableRequest};
use crate::error::{Error, Result};
use crate::field::{Frame, ValueType};
use crate::time::Calendar;

/// Reads one variable of a GRIB file.
#[derive(Debug)]
pub struct GribReader {
    file: File,
    messages: Vec<Message>,
    j_consecutive: bool,
    meta: FieldMeta,
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
            quantity: aliases::quantity_of_param_id(first.param_id)
                .or_else(|| aliases::quantity_of_name(&first.short_name))
                .or_else(|| aliases::quantity_of_name(&request.name)),
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
        let native = m
            .native
            .then(|| simple::Packing::of(&bytes))
            .flatten()
            .filter(|p| p.count == rows * cols && raw::check_structure(&bytes).is_ok());
        let values: Vec<f32> = match native {
            Some(p) => p.values_f32(&bytes),
            None => {
                let values = decode_values(bytes, rows * cols)
                    .map_err(|e| corrupt(&self.meta.path, m.index, e))?;
                if values.len() != rows * cols {
                    return Err(corrupt(
                        &self.meta.path,
                        m.index,
                        format!("{} values for a {rows} x {cols} grid", values.len()),
                    ));
                }
                values.into_iter().map(|v| v as f32).collect()
            }
        };
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

impl FieldReader for GribReader {
    fn meta(&self) -> &FieldMeta {
        &self.meta
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Frame>> {
        // Outside any rayon pool (serial and MPI backends) decode on the
        // calling thread; inside one, on that pool's threads.
        let messages = &self.messages[start..start + count];
        let decoded: Vec<Result<Array2<f32>>> = if rayon::current_thread_index().is_some() {
            messages.par_iter().map(|m| self.decode(m)).collect()
        } else {
            messages.iter().map(|m| self.decode(m)).collect()
        };
        // The first failure in step order, whichever thread saw it first.
        decoded.into_iter().map(|r| r.map(Frame::F32)).collect()
    }
}

#[cfg(test)]
mod tests;
