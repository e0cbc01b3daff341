//! Reading gridded fields: the `DataLoader`.
//!
//! [`open`] recognises a file by its first bytes (never its extension), finds
//! the requested variable through names, aliases and CF `standard_name`s,
//! resolves its time, latitude and longitude coordinates, and returns a
//! [`FieldReader`] that reads contiguous blocks of time steps as decoded
//! [`Frame`]s. Backends decide which blocks to read where; readers are cheap
//! to open, so each thread or MPI rank may open its own.

pub mod aliases;
pub mod cf;
pub mod chunk_stream;
pub mod classic;
mod granule_pool;
pub mod grib;
mod grib_log;
pub mod hdf5_chunks;
pub mod hdf5_quiet;
pub mod inputs;
pub mod inventory;
pub mod netcdf;
mod netcdf_names;
pub mod series;
pub mod zarr;

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::field::{Frame, FrameSource, ValueType};
use crate::grid::Grid;
use crate::time::{Calendar, Instant};

/// The container format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileFormat {
    #[serde(rename = "netcdf-classic")]
    NetcdfClassic,
    #[serde(rename = "netcdf-64bit-offset")]
    Netcdf64BitOffset,
    #[serde(rename = "netcdf-cdf5")]
    NetcdfCdf5,
    #[serde(rename = "netcdf4")]
    Netcdf4,
    #[serde(rename = "grib")]
    Grib,
    /// A Zarr v2 store (a directory).
    #[serde(rename = "zarr-v2")]
    ZarrV2,
    /// A Zarr v3 store (a directory).
    #[serde(rename = "zarr-v3")]
    ZarrV3,
}

impl FileFormat {
    pub fn describe(self) -> &'static str {
        match self {
            FileFormat::NetcdfClassic => "NetCDF classic (CDF-1)",
            FileFormat::Netcdf64BitOffset => "NetCDF 64-bit offset (CDF-2)",
            FileFormat::NetcdfCdf5 => "NetCDF CDF-5",
            FileFormat::Netcdf4 => "NetCDF-4/HDF5",
            FileFormat::Grib => "GRIB",
            FileFormat::ZarrV2 => "Zarr v2",
            FileFormat::ZarrV3 => "Zarr v3",
        }
    }

    pub fn is_netcdf(self) -> bool {
        !matches!(
            self,
            FileFormat::Grib | FileFormat::ZarrV2 | FileFormat::ZarrV3
        )
    }

    pub fn is_zarr(self) -> bool {
        matches!(self, FileFormat::ZarrV2 | FileFormat::ZarrV3)
    }

    /// The Zarr version of a Zarr format.
    pub(crate) fn zarr_version(self) -> Option<zarr::Version> {
        match self {
            FileFormat::ZarrV2 => Some(zarr::Version::V2),
            FileFormat::ZarrV3 => Some(zarr::Version::V3),
            _ => None,
        }
    }
}

/// What the user asked to read.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableRequest {
    /// Variable name, alias, or (GRIB) paramId.
    pub name: String,
    /// Value of the level coordinate to select, in the file's level units.
    pub level: Option<f64>,
}

/// Everything the loader resolved about a field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldMeta {
    pub path: PathBuf,
    pub format: FileFormat,
    /// Variable name in the file (or GRIB shortName).
    pub variable: String,
    /// The physical quantity it is, when known: it decides output names and units.
    #[serde(skip)]
    pub quantity: Option<aliases::Quantity>,
    pub long_name: Option<String>,
    pub units: Option<String>,
    /// Names of the coordinates used (time, latitude, longitude).
    pub time_name: Option<String>,
    pub lat_name: String,
    pub lon_name: String,
    /// Selected or squeezed level, as `name = value`.
    pub level: Option<String>,
    pub grid: Grid,
    pub calendar: Calendar,
    /// Time of every step; empty-free: a file without a time axis has one step at 0.
    pub times: Vec<Instant>,
    /// False when the file has no time axis.
    pub time_known: bool,
    /// Floating-point type after CF decoding.
    pub value_type: ValueType,
    /// How values are packed on disk, if at all (e.g. "int16 * scale_factor + add_offset").
    pub packing: Option<String>,
    /// Time steps per storage chunk, when the file is chunked in time.
    pub chunk_steps: Option<usize>,
}

impl FieldMeta {
    pub fn num_steps(&self) -> usize {
        self.times.len()
    }

    /// Bytes of one decoded frame.
    pub fn frame_bytes(&self) -> usize {
        let per = match self.value_type {
            ValueType::F32 => 4,
            ValueType::F64 => 8,
        };
        self.grid.rows() * self.grid.cols() * per
    }
}

/// Reads decoded frames of one variable.
pub trait FieldReader: Send + std::fmt::Debug {
    fn meta(&self) -> &FieldMeta;
    /// Reads steps `start..start + count` (indices into [`FieldMeta::times`]).
    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Frame>>;
    /// As [`FieldReader::read`], as sources that may decode each frame only
    /// when it is used ([`FrameSource`]); backends read through this, and
    /// drop each source once detected.
    fn read_sources(&mut self, start: usize, count: usize) -> Result<Vec<FrameSource>> {
        Ok(self
            .read(start, count)?
            .into_iter()
            .map(FrameSource::Ready)
            .collect())
    }
    /// The runs of steps stored in one file each, in order, with that file's
    /// chunking in time; backends cut blocks at their boundaries. A single
    /// file is one segment.
    fn segments(&self) -> Vec<Segment> {
        vec![Segment {
            steps: 0..self.meta().num_steps(),
            chunk_steps: self.meta().chunk_steps,
        }]
    }
}

/// Decodes every source now: [`FieldReader::read`] of readers whose
/// [`FieldReader::read_sources`] may defer decoding.
pub(crate) fn decode_all(sources: Vec<FrameSource>) -> Result<Vec<Frame>> {
    sources.into_iter().map(FrameSource::into_frame).collect()
}

/// Steps of a reader that come from one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Indices into [`FieldMeta::times`].
    pub steps: Range<usize>,
    /// Time steps per storage chunk of that file, when chunked in time.
    pub chunk_steps: Option<usize>,
}

/// Opens `path` and resolves `request` in it.
pub fn open(path: &Path, request: &VariableRequest) -> Result<Box<dyn FieldReader>> {
    match sniff(path)? {
        FileFormat::Grib => Ok(Box::new(grib::GribReader::open(path, request)?)),
        FileFormat::ZarrV2 => Ok(Box::new(zarr::ZarrReader::open(
            path,
            zarr::Version::V2,
            request,
        )?)),
        FileFormat::ZarrV3 => Ok(Box::new(zarr::ZarrReader::open(
            path,
            zarr::Version::V3,
            request,
        )?)),
        format => {
            hdf5_quiet::quiet_hdf5_errors();
            Ok(Box::new(netcdf::NetcdfReader::open(path, format, request)?))
        }
    }
}

/// Recognises the container format from the first bytes of the file, or a
/// directory as a Zarr store from the metadata files at its root.
pub fn sniff(path: &Path) -> Result<FileFormat> {
    // Before opening: opening a named pipe blocks until a writer comes.
    let kind = std::fs::metadata(path).map_err(|e| open_error(path, e))?;
    if kind.is_dir() {
        if let Some(version) = zarr::detect(path) {
            return Ok(version.format());
        }
    }
    check_regular(path, &kind.file_type())?;
    let mut file = File::open(path).map_err(|e| open_error(path, e))?;
    let mut head = vec![0u8; 4096];
    let mut n = 0;
    loop {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if n == head.len() {
                    break;
                }
            }
            Err(e) => {
                return Err(Error::Unreadable {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        }
    }
    let head = &head[..n];
    if head.is_empty() {
        return Err(Error::EmptyFile(path.to_path_buf()));
    }
    let format = match head {
        [b'C', b'D', b'F', 1, ..] => Some(FileFormat::NetcdfClassic),
        [b'C', b'D', b'F', 2, ..] => Some(FileFormat::Netcdf64BitOffset),
        [b'C', b'D', b'F', 5, ..] => Some(FileFormat::NetcdfCdf5),
        _ if head.starts_with(HDF5_SIGNATURE) => Some(FileFormat::Netcdf4),
        // Before GRIB: a NetCDF file may well say "GRIB" in an attribute.
        _ if damaged_signature(head) => {
            return Err(Error::input(
                path,
                format!(
                    "the file starts with {} where a NetCDF-4/HDF5 file has 89 48 44 46 0d 0a 1a 0a: it looks like NetCDF-4 with a damaged signature (a corrupt or text-mode copy?); re-download or re-copy it",
                    describe_magic(head)
                ),
            ))
        }
        [b'C', b'D', b'F', v, ..] => {
            return Err(Error::input(
                path,
                format!(
                    "the file starts like classic NetCDF ('CDF') but its version byte is {v}, not 1, 2 or 5; it is damaged or not NetCDF: re-download or re-copy it"
                ),
            ))
        }
        _ if head.windows(4).any(|w| w == b"GRIB") => Some(FileFormat::Grib),
        _ => None,
    };
    format.ok_or_else(|| Error::UnknownFormat {
        path: path.to_path_buf(),
        magic: describe_magic(head),
    })
}

/// The first 8 bytes of every HDF5 file (so of NetCDF-4).
const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Whether `head` starts with the HDF5 signature with one or two bytes
/// changed, or with its "HDF" core: a damaged NetCDF-4 file rather than
/// GRIB or an unknown format.
fn damaged_signature(head: &[u8]) -> bool {
    let Some(first) = head.get(..8) else {
        return false;
    };
    let changed = first
        .iter()
        .zip(HDF5_SIGNATURE)
        .filter(|(a, b)| a != b)
        .count();
    changed <= 2 || first[1..4] == *b"HDF"
}

/// Refuses anything but a regular file (or a link to one): directories,
/// named pipes, devices and sockets cannot be read more than once or at
/// offsets, which every reader does.
pub fn check_regular(path: &Path, kind: &std::fs::FileType) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        return Err(Error::input(
            path,
            "is a directory, not a data file; name a NetCDF or GRIB file",
        ));
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(Error::input(
        path,
        format!("is {what}, not a regular file; stormtrack needs a seekable file: copy the data to a file first"),
    ))
}

/// Reads a whole (small) file, with the loader's errors for a missing or
/// unreadable one.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| open_error(path, e))
}

fn open_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound(path.to_path_buf())
    } else {
        Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

fn describe_magic(head: &[u8]) -> String {
    let bytes = &head[..head.len().min(8)];
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(bytes))
    } else {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Formats a list of names for an error message.
pub(crate) fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(", ")
    }
}

/// A `--level` value: a finite number in the file's level units.
pub fn parse_level(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!(
            "'{s}' is not a level; give a number in the file's level units, e.g. 850"
        )),
    }
}

/// Formats a coordinate value without noise (`850`, `0.5`).
pub(crate) fn fmt_value(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Checks that a latitude or longitude coordinate has only finite values;
/// names the first one that is not.
pub(crate) fn check_coordinate(path: &Path, name: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::input(
            path,
            format!(
                "coordinate '{name}' has a missing or non-finite value ({}) at index {i}; stormtrack needs a value for every latitude and longitude (fix or drop that row or column, e.g. with cdo or xarray)",
                values[i]
            ),
        )),
    }
}

/// Checks that latitudes lie within -90..90 and run one way, strictly:
/// detection takes neighbouring rows for neighbouring latitudes.
pub(crate) fn check_latitudes(path: &Path, name: &str, lat: &[f64]) -> Result<()> {
    // Float32 coordinates of a pole may round just past it.
    const POLE: f64 = 90.0 + 1e-4;
    if let Some(i) = lat.iter().position(|v| v.abs() > POLE) {
        return Err(Error::input(
            path,
            format!(
                "latitude '{name}' is {} at index {i}, outside -90..90; check the coordinate's units or fix the file",
                lat[i]
            ),
        ));
    }
    let increasing = lat.len() < 2 || lat[1] > lat[0];
    let ordered = |w: &[f64]| if increasing { w[1] > w[0] } else { w[1] < w[0] };
    if let Some(i) = lat.windows(2).position(|w| !ordered(w)) {
        return Err(Error::input(
            path,
            format!(
                "latitude '{name}' is not strictly {} at index {}: {} follows {}; stormtrack needs a regular latitude axis (sort it, e.g. with cdo or xarray)",
                if increasing { "increasing" } else { "decreasing" },
                i + 1,
                lat[i + 1],
                lat[i]
            ),
        ));
    }
    Ok(())
}

/// Checks that longitudes are plausible degrees (within ±720), which
/// also catches coordinates in other units, and that they run one way
/// round the circle, strictly, at most once: detection takes neighbouring
/// columns for neighbouring longitudes. Each step is taken the short way
/// round, so a grid that crosses the dateline (170..180 then -175..) or is
/// rolled across the meridian (180..357.5 then 0..177.5) is in order.
pub(crate) fn check_longitudes(path: &Path, name: &str, lon: &[f64]) -> Result<()> {
    if let Some(i) = lon.iter().position(|v| v.abs() > 720.0) {
        return Err(Error::input(
            path,
            format!(
                "longitude '{name}' is {} at index {i}, not degrees east; check the coordinate's units or fix the file",
                lon[i]
            ),
        ));
    }
    let steps = crate::grid::lon_steps(lon);
    let increasing = steps.first().is_none_or(|d| *d > 0.0);
    let ordered = |d: f64| if increasing { d > 0.0 } else { d < 0.0 };
    if let Some(i) = steps.iter().position(|&d| !ordered(d)) {
        return Err(Error::input(
            path,
            format!(
                "longitude '{name}' is not strictly {} at index {}: {} follows {}; stormtrack needs a regular longitude axis (sort it, e.g. with cdo or xarray)",
                if increasing { "increasing" } else { "decreasing" },
                i + 1,
                lon[i + 1],
                lon[i]
            ),
        ));
    }
    // Within a step of 360 degrees (float32 coordinates round a little).
    let span: f64 = steps.iter().map(|d| d.abs()).sum();
    let mean = span / steps.len().max(1) as f64;
    if span > 360.0 + 1e-3 * mean {
        return Err(Error::input(
            path,
            format!(
                "longitude '{name}' goes round the circle more than once ({} to {} over {span} degrees); stormtrack needs each longitude once (drop the repeated columns, e.g. with cdo or xarray)",
                lon[0],
                lon[lon.len() - 1]
            ),
        ));
    }
    Ok(())
}

/// Checks that times strictly increase; names the first offending index.
pub(crate) fn check_times(path: &Path, times: &[Instant], calendar: Calendar) -> Result<()> {
    for i in 1..times.len() {
        if times[i] <= times[i - 1] {
            let what = if times[i] == times[i - 1] {
                "duplicate"
            } else {
                "decreasing"
            };
            return Err(Error::input(
                path,
                format!(
                    "{what} time at step {i}: {} follows {} at step {}; steps must be in increasing time order without repeats",
                    calendar.date(times[i]),
                    calendar.date(times[i - 1]),
                    i - 1
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn coordinates_must_be_plausible_degrees() {
        let p = Path::new("f.nc");
        let err = |r: Result<()>| r.unwrap_err().to_string();
        assert!(check_latitudes(p, "lat", &[90.0, 87.5, -90.0]).is_ok());
        assert!(check_latitudes(p, "lat", &[-90.0, 0.0, 90.000_01]).is_ok());
        assert!(check_latitudes(p, "lat", &[45.0]).is_ok());
        let beyond = err(check_latitudes(p, "lat", &[60.0, 120.0]));
        assert!(
            beyond.contains("'lat' is 120 at index 1, outside -90..90"),
            "{beyond}"
        );
        let unsorted = err(check_latitudes(p, "lat", &[60.0, 57.5, 57.5, 50.0]));
        assert!(
            unsorted.contains("not strictly decreasing at index 2: 57.5 follows 57.5"),
            "{unsorted}"
        );
        let back = err(check_latitudes(p, "lat", &[0.0, 2.5, 1.0]));
        assert!(
            back.contains("not strictly increasing at index 2"),
            "{back}"
        );
        // Across the dateline in -180..180 is a real regional grid.
        assert!(check_longitudes(p, "lon", &[170.0, 175.0, 180.0, -175.0]).is_ok());
        assert!(check_longitudes(p, "lon", &[-180.0, -90.0, 0.0, 90.0]).is_ok());
        assert!(check_longitudes(p, "lon", &[357.5, 0.0, 2.5]).is_ok());
        assert!(check_longitudes(p, "lon", &[10.0, 5.0, 0.0, 355.0]).is_ok());
        let back = err(check_longitudes(p, "lon", &[0.0, 2.5, 5.0, 3.0]));
        assert!(
            back.contains("longitude 'lon' is not strictly increasing at index 3: 3 follows 5"),
            "{back}"
        );
        let twice = err(check_longitudes(
            p,
            "lon",
            &[0.0, 90.0, 180.0, 270.0, 0.0, 90.0],
        ));
        assert!(twice.contains("more than once"), "{twice}");
        let far = err(check_longitudes(p, "lon", &[0.0, 1.0e6]));
        assert!(
            far.contains("'lon' is 1000000 at index 1, not degrees east"),
            "{far}"
        );
    }

    fn write_tmp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn sniffs_formats_by_content() {
        assert_eq!(
            sniff(write_tmp(b"CDF\x01rest").path()).unwrap(),
            FileFormat::NetcdfClassic
        );
        assert_eq!(
            sniff(write_tmp(b"CDF\x02rest").path()).unwrap(),
            FileFormat::Netcdf64BitOffset
        );
        assert_eq!(
            sniff(write_tmp(b"CDF\x05rest").path()).unwrap(),
            FileFormat::NetcdfCdf5
        );
        assert_eq!(
            sniff(write_tmp(b"\x89HDF\r\n\x1a\nxx").path()).unwrap(),
            FileFormat::Netcdf4
        );
        assert_eq!(
            sniff(write_tmp(b"GRIB\x00\x00\x01").path()).unwrap(),
            FileFormat::Grib
        );
        assert!(matches!(
            sniff(write_tmp(b"").path()),
            Err(Error::EmptyFile(_))
        ));
        let err = sniff(write_tmp(b"hello world").path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("neither NetCDF nor GRIB") && err.contains("\"hello wo\""),
            "{err}"
        );
        assert!(matches!(
            sniff(Path::new("/no/such/file.nc")),
            Err(Error::NotFound(_))
        ));
    }
}
