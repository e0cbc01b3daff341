//! What a file holds, as the loader sees it: the variables of a NetCDF file
//! or the arrays of a Zarr store (dimensions, stored type, units) or the
//! distinct parameters of a GRIB file (shortName, paramId, level, message
//! count), and a compact summary of a
//! resolved field's grid and time axis. Read-only: nothing here changes how
//! the readers resolve or decode a variable. Used by `stormtrack info`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{grib, netcdf, sniff, zarr, FieldMeta, FileFormat};
use crate::error::Result;
use crate::time::{Calendar, Instant};

/// One variable of a NetCDF file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetcdfVariable {
    pub name: String,
    /// Dimension names and lengths, in the variable's order.
    pub dims: Vec<(String, usize)>,
    /// Stored type, numpy-style (`float32`, `int16`, ...).
    pub dtype: String,
    pub units: Option<String>,
    pub long_name: Option<String>,
    /// Whether it is a coordinate variable (1-D, named after its dimension).
    pub coordinate: bool,
}

/// The messages of one parameter on one level of a GRIB file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GribParameter {
    pub short_name: String,
    pub param_id: i64,
    pub type_of_level: String,
    pub level: i64,
    /// Grid type of the parameter's first message (`regular_ll`, ...).
    pub grid_type: String,
    pub messages: usize,
}

/// The contents of a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Contents {
    Netcdf {
        variables: Vec<NetcdfVariable>,
    },
    Grib {
        messages: usize,
        parameters: Vec<GribParameter>,
    },
    /// The root-level arrays of a Zarr store, as variables.
    Zarr {
        variables: Vec<NetcdfVariable>,
    },
}

impl Contents {
    /// Candidates for a variable when none is named: data variables of a
    /// NetCDF file (not coordinates, at least 2-D), or GRIB shortNames, in
    /// file order.
    pub fn data_variables(&self) -> Vec<String> {
        match self {
            Contents::Netcdf { variables } | Contents::Zarr { variables } => variables
                .iter()
                .filter(|v| !v.coordinate && v.dims.len() >= 2)
                .map(|v| v.name.clone())
                .collect(),
            Contents::Grib { parameters, .. } => {
                let mut names: Vec<String> = Vec::new();
                for p in parameters {
                    if !names.contains(&p.short_name) {
                        names.push(p.short_name.clone());
                    }
                }
                names
            }
        }
    }
}

/// A file's format and contents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    pub path: PathBuf,
    pub format: FileFormat,
    pub contents: Contents,
}

/// Lists what `path` holds.
pub fn inventory(path: &Path) -> Result<Inventory> {
    let format = sniff(path)?;
    let contents = match format {
        FileFormat::Grib => {
            let (messages, parameters) = grib::inventory(path)?;
            Contents::Grib {
                messages,
                parameters,
            }
        }
        FileFormat::ZarrV2 | FileFormat::ZarrV3 => Contents::Zarr {
            variables: zarr::inventory(path, format.zarr_version().expect("a Zarr format"))?,
        },
        _ => Contents::Netcdf {
            variables: netcdf::inventory(path)?,
        },
    };
    Ok(Inventory {
        path: path.to_path_buf(),
        format,
        contents,
    })
}

/// Spacing of consecutive time steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TimeStep {
    /// A single step: no spacing.
    None,
    /// Every step `seconds` after the previous one.
    Regular { seconds: i64 },
    /// Spacing varies between `min` and `max` seconds.
    Irregular { min: i64, max: i64 },
}

impl TimeStep {
    /// The spacing of increasing `times`.
    pub fn of(times: &[Instant]) -> Self {
        let diffs = times.windows(2).map(|w| w[1] - w[0]);
        let (min, max) = diffs.fold((i64::MAX, i64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
        match times.len() {
            0 | 1 => TimeStep::None,
            _ if min == max => TimeStep::Regular { seconds: min },
            _ => TimeStep::Irregular { min, max },
        }
    }
}

impl std::fmt::Display for TimeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TimeStep::None => f.write_str("none (one step)"),
            TimeStep::Regular { seconds } => f.write_str(&duration(seconds)),
            TimeStep::Irregular { min, max } => {
                write!(f, "irregular ({} to {})", duration(min), duration(max))
            }
        }
    }
}

/// `6 h`, `1 d`, `30 min`, `90 s`: the largest unit that divides exactly.
pub fn duration(seconds: i64) -> String {
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("min", 60)] {
        if seconds != 0 && seconds % len == 0 {
            return format!("{} {unit}", seconds / len);
        }
    }
    format!("{seconds} s")
}

/// The resolved field in brief: names, grid, time axis, level, values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSummary {
    pub variable: String,
    pub long_name: Option<String>,
    pub units: Option<String>,
    pub time_name: Option<String>,
    pub lat_name: String,
    pub lon_name: String,
    pub rows: usize,
    pub cols: usize,
    /// Mean spacing in degrees: (latitude, longitude).
    pub resolution: (f64, f64),
    pub global: bool,
    /// `N->S` or `S->N`.
    pub lat_order: &'static str,
    pub lat_range: (f64, f64),
    pub lon_range: (f64, f64),
    pub calendar: Calendar,
    pub time_known: bool,
    /// First and last time, ISO 8601 in the file's calendar (None without a time axis).
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub step: TimeStep,
    pub steps: usize,
    pub level: Option<String>,
    /// Floating-point type after decoding.
    pub value_type: String,
    /// Packing on disk, if any.
    pub packing: Option<String>,
    pub chunk_steps: Option<usize>,
}

impl From<&FieldMeta> for FieldSummary {
    fn from(m: &FieldMeta) -> Self {
        let g = &m.grid;
        let ends = |a: &[f64]| (a[0], a[a.len() - 1]);
        let date = |t: Option<&Instant>| {
            t.filter(|_| m.time_known)
                .map(|&t| m.calendar.date(t).to_string())
        };
        FieldSummary {
            variable: m.variable.clone(),
            long_name: m.long_name.clone(),
            units: m.units.clone(),
            time_name: m.time_name.clone(),
            lat_name: m.lat_name.clone(),
            lon_name: m.lon_name.clone(),
            rows: g.rows(),
            cols: g.cols(),
            resolution: g.resolution(),
            global: g.global,
            lat_order: if g.lat_ascending() { "S->N" } else { "N->S" },
            lat_range: ends(&g.lat),
            lon_range: ends(&g.lon),
            calendar: m.calendar,
            time_known: m.time_known,
            first_time: date(m.times.first()),
            last_time: date(m.times.last()),
            step: TimeStep::of(&m.times),
            steps: m.num_steps(),
            level: m.level.clone(),
            value_type: m.value_type.to_string(),
            packing: m.packing.clone(),
            chunk_steps: m.chunk_steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_steps() {
        assert_eq!(TimeStep::of(&[0]), TimeStep::None);
        assert_eq!(
            TimeStep::of(&[0, 21_600, 43_200]),
            TimeStep::Regular { seconds: 21_600 }
        );
        assert_eq!(
            TimeStep::of(&[0, 3_600, 86_400]),
            TimeStep::Irregular {
                min: 3_600,
                max: 82_800
            }
        );
        assert_eq!(TimeStep::Regular { seconds: 21_600 }.to_string(), "6 h");
        assert_eq!(duration(86_400), "1 d");
        assert_eq!(duration(1_800), "30 min");
        assert_eq!(duration(45), "45 s");
    }

    #[test]
    fn lists_bundled_netcdf() {
        let inv = inventory(Path::new("data/era5_msl_2025-2026_djf_2.5x2.5.nc")).unwrap();
        assert_eq!(inv.format, FileFormat::Netcdf4);
        let Contents::Netcdf { variables } = &inv.contents else {
            panic!("not NetCDF");
        };
        let msl = variables.iter().find(|v| v.name == "msl").unwrap();
        assert_eq!(msl.dtype, "float32");
        assert_eq!(msl.units.as_deref(), Some("Pa"));
        assert_eq!(
            msl.dims,
            vec![
                ("valid_time".to_string(), 360),
                ("latitude".to_string(), 73),
                ("longitude".to_string(), 144)
            ]
        );
        assert_eq!(inv.contents.data_variables(), vec!["msl".to_string()]);
    }
}
