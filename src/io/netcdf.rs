//! NetCDF input (classic, 64-bit offset, CDF-5 and NetCDF-4/HDF5) through
//! libnetcdf.
//!
//! The variable's dimensions are classified as time, latitude, longitude or
//! other. Other dimensions of length 1 are squeezed; one longer than 1 must be
//! selected with `--level`. Blocks of time steps are read with one hyperslab
//! call each and rearranged to `(time, lat, lon)` whatever the file's order.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ndarray::{Array2, ArrayD, Axis as NdAxis, IxDyn};
use netcdf::{AttributeValue, Variable};

use super::aliases::{self, Axis};
use super::cf::{Decoding, PackAttr, Stored};
use super::chunk_stream::ChunkFrame;
use super::hdf5_chunks::{self, ChunkedVar};
use super::netcdf_names;
use super::{check_times, fmt_value, list, FieldMeta, FieldReader, FileFormat, VariableRequest};
use crate::error::{Error, Result};
use crate::field::{DecodeAhead, DeferredFrame, Frame, FrameSource, ValueType};
use crate::grid::Grid;
use crate::time::{Calendar, TimeUnits};

/// What each dimension of the variable is, in the variable's dimension order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Time,
    Lat,
    Lon,
    /// A dimension fixed at one index (a squeezed or selected level).
    Fixed(usize),
}

/// Reads one variable of a NetCDF file.
pub struct NetcdfReader {
    file: NcFile,
    var_name: String,
    roles: Vec<Role>,
    decoding: Decoding,
    meta: FieldMeta,
    /// Direct chunk reads of a NetCDF-4 variable, when its storage allows.
    direct: Option<ChunkedVar>,
    /// What frames decoded later need (shared by them).
    deferred: Arc<DeferredContext>,
}

/// What a frame of a chunk needs to decode itself on any thread: the CF
/// decoding, and a netCDF reader of the same variable for frames the chunk
/// stream cannot give (opened on first need, direct reads off), so that
/// they read exactly as netCDF reads them, errors included.
#[derive(Debug)]
struct DeferredContext {
    decoding: Decoding,
    shape: (usize, usize),
    path: PathBuf,
    format: FileFormat,
    request: VariableRequest,
    fallback: Mutex<Option<NetcdfReader>>,
    /// Frames read through `fallback` (for tests and troubleshooting).
    fallbacks: AtomicUsize,
}

impl DeferredContext {
    fn read_through_netcdf(&self, step: usize) -> Result<Frame> {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        let mut reader = self.fallback.lock().unwrap_or_else(PoisonError::into_inner);
        if reader.is_none() {
            *reader = Some(NetcdfReader::open_with(
                &self.path,
                self.format,
                &self.request,
                false,
            )?);
        }
        let reader = reader.as_mut().expect("opened above");
        reader
            .read(step, 1)?
            .pop()
            .ok_or_else(|| Error::input(&self.path, format!("step {step} could not be read")))
    }
}

/// One step of a variable whose chunks hold whole frames: a slot of a chunk
/// decoded when first read (see [`super::chunk_stream`]).
#[derive(Debug)]
struct ChunkSlot {
    frame: ChunkFrame,
    /// Step in the file.
    step: usize,
    cx: Arc<DeferredContext>,
}

impl DeferredFrame for ChunkSlot {
    fn shape(&self) -> (usize, usize) {
        self.cx.shape
    }

    fn value_type(&self) -> ValueType {
        self.cx.decoding.target
    }

    fn fill(&self, out: &mut Frame) -> Result<()> {
        thread_local! {
            /// Stored values as f64, before CF decoding into float32.
            static RAW: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let d = &self.cx.decoding;
        let as_f32 = d.is_identity() && d.stored == Stored::Float32;
        let done = match out {
            Frame::F32(a) => {
                let out = a.as_slice_mut().expect("standard layout");
                if as_f32 {
                    self.frame.convert::<f32>(out)
                } else {
                    RAW.with(|raw| {
                        let mut raw = raw.borrow_mut();
                        raw.resize(out.len(), 0.0);
                        let ok = self.frame.convert::<f64>(&mut raw);
                        if ok {
                            d.decode_f32_into(&raw, out);
                        }
                        ok
                    })
                }
            }
            Frame::F64(a) => {
                let out = a.as_slice_mut().expect("standard layout");
                let ok = self.frame.convert::<f64>(out);
                if ok && !d.is_identity() {
                    d.decode_f64_in_place(out);
                }
                ok
            }
        };
        if !done {
            *out = self.cx.read_through_netcdf(self.step)?;
        }
        Ok(())
    }

    fn ahead(&self) -> Option<Box<dyn DecodeAhead>> {
        Some(Box::new(self.frame.ahead()))
    }
}

impl std::fmt::Debug for NetcdfReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetcdfReader")
            .field("var", &self.var_name)
            .finish()
    }
}

fn attr_f64(value: &AttributeValue) -> Option<(f64, bool)> {
    Some(match value {
        AttributeValue::Float(v) => (f64::from(*v), true),
        AttributeValue::Floats(v) if v.len() == 1 => (f64::from(v[0]), true),
        AttributeValue::Double(v) => (*v, false),
        AttributeValue::Doubles(v) if v.len() == 1 => (v[0], false),
        AttributeValue::Schar(v) => (f64::from(*v), false),
        AttributeValue::Uchar(v) => (f64::from(*v), false),
        AttributeValue::Short(v) => (f64::from(*v), false),
        AttributeValue::Ushort(v) => (f64::from(*v), false),
        AttributeValue::Int(v) => (f64::from(*v), false),
        AttributeValue::Uint(v) => (f64::from(*v), false),
        AttributeValue::Longlong(v) => (*v as f64, false),
        AttributeValue::Ulonglong(v) => (*v as f64, false),
        _ => return None,
    })
}

fn attr_f64s(value: &AttributeValue) -> Vec<f64> {
    match value {
        AttributeValue::Floats(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Doubles(v) => v.clone(),
        AttributeValue::Shorts(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Ints(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Schars(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Uchars(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Ushorts(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Uints(v) => v.iter().map(|x| f64::from(*x)).collect(),
        AttributeValue::Longlongs(v) => v.iter().map(|x| *x as f64).collect(),
        AttributeValue::Ulonglongs(v) => v.iter().map(|x| *x as f64).collect(),
        other => attr_f64(other).map(|(v, _)| vec![v]).unwrap_or_default(),
    }
}

/// A string attribute of a variable.
pub(crate) fn attr_str(var: &Variable<'_>, name: &str) -> Option<String> {
    match var.attribute_value(name)? {
        Ok(AttributeValue::Str(s)) => Some(s),
        Ok(AttributeValue::Strs(v)) => Some(v.join(" ")),
        _ => None,
    }
}

fn stored_type(var: &Variable<'_>) -> Option<Stored> {
    use netcdf::types::{FloatType, IntType, NcVariableType};
    Some(match var.vartype() {
        NcVariableType::Float(FloatType::F32) => Stored::Float32,
        NcVariableType::Float(FloatType::F64) => Stored::Float64,
        NcVariableType::Int(IntType::I8 | IntType::U8) => Stored::Int(1),
        NcVariableType::Int(IntType::I16 | IntType::U16) => Stored::Int(2),
        NcVariableType::Int(IntType::I32 | IntType::U32) => Stored::Int(4),
        NcVariableType::Int(IntType::I64 | IntType::U64) => Stored::Int(8),
        _ => return None,
    })
}

/// The CF decoding of `var`, from its packing and missing-value attributes.
/// An attribute that cannot be used is refused, naming it, rather than
/// ignored (which tracked raw packed counts as physical values): a numeric
/// string ("0.1", written by some tools although CF wants a number) is read
/// as its number; anything else that is not one number is an error.
fn decoding_of(path: &Path, var: &Variable<'_>, stored: Stored) -> Result<Decoding> {
    let var_name = var.name();
    let bad = |name: &str, what: String, fix: &str| {
        Error::input(
            path,
            format!("attribute '{name}' of variable '{var_name}' is {what}; {fix}"),
        )
    };
    let value_of = |name: &str| -> Result<Option<AttributeValue>> {
        match var.attribute_value(name) {
            None => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(e)) => Err(bad(
                name,
                format!("unreadable ({e})"),
                "fix or delete the attribute (e.g. ncatted -a NAME,VAR,d,,)",
            )),
        }
    };
    let numeric_string = |name: &str, s: &str| -> Result<f64> {
        s.trim().parse::<f64>().map_err(|_| {
            bad(
                name,
                format!("the text {s:?}, not a number"),
                "CF needs a number: fix the attribute (e.g. ncatted -a NAME,VAR,o,f,VALUE)",
            )
        })
    };
    let pack = |name: &str| -> Result<Option<PackAttr>> {
        let Some(v) = value_of(name)? else {
            return Ok(None);
        };
        if let AttributeValue::Str(s) = &v {
            let value = numeric_string(name, s)?;
            return Ok(Some(PackAttr {
                value,
                is_f32: false,
            }));
        }
        if let Some((value, is_f32)) = attr_f64(&v) {
            return Ok(Some(PackAttr { value, is_f32 }));
        }
        let n = attr_f64s(&v).len();
        Err(bad(
            name,
            if n > 1 {
                format!("an array of {n} values, not one number")
            } else {
                "not a number".to_string()
            },
            "CF packing needs a single number: fix the attribute (e.g. ncatted -a NAME,VAR,o,f,VALUE)",
        ))
    };
    let mut missing = Vec::new();
    for name in ["_FillValue", "missing_value"] {
        let Some(v) = value_of(name)? else {
            continue;
        };
        match &v {
            AttributeValue::Str(s) => missing.push(numeric_string(name, s)?),
            _ => {
                let values = attr_f64s(&v);
                if values.is_empty() {
                    return Err(bad(
                        name,
                        "not a number".to_string(),
                        "fix the attribute to a number of the variable's type (e.g. ncatted)",
                    ));
                }
                missing.extend(values);
            }
        }
    }
    Ok(Decoding::new(
        stored,
        pack("scale_factor")?,
        pack("add_offset")?,
        missing,
    ))
}

/// The value that means "no time" in a time variable: netCDF's default
/// fill for its type, what a step never written holds. (A `_FillValue`
/// attribute is not trusted: some files set it to a real time, such as 0.)
fn time_fill_value(var: &Variable<'_>) -> Option<f64> {
    match stored_type(var)? {
        Stored::Float32 => Some(f64::from(9.969_21e36_f32)),
        Stored::Float64 => Some(9.969_209_968_386_869e36),
        Stored::Int(2) => Some(-32_767.0),
        Stored::Int(4) => Some(-2_147_483_647.0),
        Stored::Int(8) => Some(-9_223_372_036_854_775_806.0),
        Stored::Int(_) => None,
    }
}

/// Names of the file's data variables (not coordinates) with their
/// dimensions; names that are not UTF-8 are shown lossily.
fn data_variables(file: &NcFile) -> Vec<String> {
    file.names
        .iter()
        .filter(|v| !v.dims.is_empty())
        .filter(|v| !(v.dims.len() == 1 && v.dims[0].0 == v.name))
        .map(|v| {
            let dims: Vec<String> = v.dims.iter().map(|(d, _)| d.lossy()).collect();
            format!("{}({})", v.name.lossy(), dims.join(","))
        })
        .collect()
}

fn find_variable<'f>(file: &'f NcFile, path: &Path, requested: &str) -> Result<Variable<'f>> {
    let names = aliases::variable_names(requested);
    for name in &names {
        if let Some(v) = file.variable(name) {
            return Ok(v);
        }
    }
    for name in &names {
        if let Some(v) = file
            .variables()
            .find(|v| v.name().eq_ignore_ascii_case(name))
        {
            return Ok(v);
        }
    }
    let has_standard_name = |v: &Variable<'_>, wanted: &str| {
        attr_str(v, "standard_name").is_some_and(|s| s.trim().eq_ignore_ascii_case(wanted.trim()))
    };
    if let Some(v) = file.variables().find(|v| has_standard_name(v, requested)) {
        return Ok(v);
    }
    let std_names = aliases::standard_names(requested);
    if let Some(v) = file
        .variables()
        .find(|v| std_names.iter().any(|s| has_standard_name(v, s)))
    {
        return Ok(v);
    }
    if let Some(message) = names.iter().find_map(|n| file.undecodable_dimension(n)) {
        return Err(Error::input(path, message));
    }
    let mut tried: Vec<String> = names[1..].to_vec();
    tried.extend(std_names.iter().map(|s| format!("standard_name={s}")));
    Err(Error::NoVariable {
        path: path.to_path_buf(),
        requested: requested.to_string(),
        tried: if tried.is_empty() {
            "none known".to_string()
        } else {
            tried.join(", ")
        },
        available: list(&data_variables(file)),
    })
}

/// Every variable of the file, in file order (for `stormtrack info`);
/// names that are not UTF-8 are shown lossily.
pub fn inventory(path: &Path) -> Result<Vec<super::inventory::NetcdfVariable>> {
    let file = open_file(path)?;
    let vars = file
        .names
        .iter()
        .map(|n| {
            let dims: Vec<(String, usize)> =
                n.dims.iter().map(|(d, len)| (d.lossy(), *len)).collect();
            let var = file.variable(&n.name.lossy());
            super::inventory::NetcdfVariable {
                coordinate: n.dims.len() == 1 && n.dims[0].0 == n.name,
                name: n.name.lossy(),
                dims,
                dtype: netcdf_names::dtype_name(n.nc_type).to_string(),
                units: var.as_ref().and_then(|v| attr_str(v, "units")),
                long_name: var.as_ref().and_then(|v| attr_str(v, "long_name")),
            }
        })
        .collect();
    Ok(vars)
}

/// An open netCDF file and the names of its variables as stored. Only
/// variables whose own and dimensions' names are UTF-8 are handed out as
/// [`Variable`]s: the netcdf crate panics on other names.
struct NcFile {
    file: netcdf::File,
    names: Vec<netcdf_names::VariableNames>,
}

impl std::fmt::Debug for NcFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NcFile")
            .field("variables", &self.names.len())
            .finish()
    }
}

impl NcFile {
    /// The variables the netcdf crate can handle, in file order.
    fn variables(&self) -> impl Iterator<Item = Variable<'_>> {
        self.names
            .iter()
            .filter(|n| n.is_utf8())
            .filter_map(|n| self.file.variable(n.name.as_str()?))
    }

    /// The variable called `name`, if the netcdf crate can handle it.
    fn variable(&self, name: &str) -> Option<Variable<'_>> {
        self.names
            .iter()
            .any(|n| n.name.as_str() == Some(name) && n.is_utf8())
            .then(|| self.file.variable(name))
            .flatten()
    }

    /// A variable whose own name is UTF-8 but some of whose dimensions' are
    /// not: named so the error can say which.
    fn undecodable_dimension(&self, name: &str) -> Option<String> {
        let n = self.names.iter().find(|n| {
            n.name
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(name))
        })?;
        let (bad, _) = n.dims.iter().find(|(d, _)| d.as_str().is_none())?;
        Some(format!(
            "variable '{}' has a dimension whose name is not UTF-8 ('{}', perhaps Latin-1 from an old writer); rename it, e.g. ncrename -d OLD,NEW",
            n.name.lossy(),
            bad.lossy()
        ))
    }
}

/// Opens a NetCDF file with a one-line error.
fn open_file(path: &Path) -> Result<NcFile> {
    super::classic::check_size(path)?;
    super::hdf5_quiet::quiet_hdf5_errors();
    let cannot_open = |e: String| {
        Error::input(
            path,
            format!("cannot open as NetCDF: {e}; the file may be truncated or corrupt, or locked by a program still writing it"),
        )
    };
    let file = netcdf::open(path).map_err(|e| cannot_open(e.to_string()))?;
    let names = netcdf_names::read(path).map_err(cannot_open)?;
    Ok(NcFile { file, names })
}

/// The direct chunk reader of `var`, if its type and storage allow one.
fn direct_var(path: &Path, var: &Variable<'_>, roles: &[Role]) -> Option<ChunkedVar> {
    use netcdf::types::{FloatType, IntType, NcVariableType};
    let kind = match var.vartype() {
        NcVariableType::Float(FloatType::F32) => hdf5_chunks::Kind::F32,
        NcVariableType::Float(FloatType::F64) => hdf5_chunks::Kind::F64,
        NcVariableType::Int(IntType::I16) => hdf5_chunks::Kind::I16,
        _ => return None,
    };
    let dims: Vec<usize> = var.dimensions().iter().map(|d| d.len()).collect();
    let time_axis = roles.iter().position(|r| *r == Role::Time);
    ChunkedVar::open(path, &var.name(), &dims, kind, time_axis)
}

/// A dimension of the variable and what we know of its coordinate.
struct DimInfo {
    name: String,
    len: usize,
    axis: Axis,
}

fn coordinate<'f>(file: &'f NcFile, dim: &str) -> Option<Variable<'f>> {
    file.variable(dim)
        .filter(|v| v.dimensions().len() == 1 && v.dimensions()[0].name() == dim)
}

fn read_axis(path: &Path, var: &Variable<'_>) -> Result<Vec<f64>> {
    if stored_type(var).is_none() {
        return Err(Error::input(
            path,
            format!(
                "coordinate '{}' is not numeric (type {:?}); stormtrack needs numbers in its coordinates",
                var.name(),
                var.vartype()
            ),
        ));
    }
    var.get_values::<f64, _>(..).map_err(|e| {
        Error::input(
            path,
            format!(
                "cannot read coordinate '{}': {e}; the file may be truncated or corrupt",
                var.name()
            ),
        )
    })
}

/// Standard names of 1-D axes that are not true latitude or longitude.
const PROJECTED_AXES: &[&str] = &[
    "grid_latitude",
    "grid_longitude",
    "projection_x_coordinate",
    "projection_y_coordinate",
];

/// Why `var` is on a rotated or projected grid (1-D axes that are not
/// latitude and longitude), if it is.
fn projected_grid(file: &NcFile, var: &Variable<'_>, dims: &[DimInfo]) -> Option<String> {
    let name = var.name();
    let mapping = attr_str(var, "grid_mapping").and_then(|gm| {
        let kind = file
            .variable(gm.trim())
            .and_then(|m| attr_str(&m, "grid_mapping_name"))?;
        (kind.trim() != "latitude_longitude")
            .then(|| format!("'{}' (grid_mapping '{gm}')", kind.trim()))
    });
    let axis = dims.iter().find_map(|d| {
        let sn = coordinate(file, &d.name).and_then(|c| attr_str(&c, "standard_name"))?;
        PROJECTED_AXES
            .contains(&sn.trim())
            .then(|| format!("'{}' (axis '{}' is a {})", sn.trim(), d.name, sn.trim()))
    });
    let what = mapping.or(axis)?;
    Some(format!("variable '{name}' is on a rotated or projected grid {what}; stormtrack reads regular latitude-longitude grids only: regrid first (e.g. cdo remapbil,r1440x721)"))
}

/// Why `var` is on a curvilinear grid (2-D latitude and longitude over its
/// dimensions), if it is.
fn curvilinear_grid(file: &NcFile, var: &Variable<'_>, dims: &[DimInfo]) -> Option<String> {
    let over_var = |v: &Variable<'_>| {
        v.dimensions().len() == 2
            && v.dimensions()
                .iter()
                .all(|d| dims.iter().any(|x| x.name == d.name()))
    };
    let find = |axis: Axis| {
        file.variables()
            .filter(|v| over_var(v))
            .find(|v| {
                aliases::classify(
                    &v.name(),
                    attr_str(v, "units").as_deref(),
                    attr_str(v, "standard_name").as_deref(),
                    None,
                ) == axis
            })
            .map(|v| {
                let d: Vec<String> = v.dimensions().iter().map(|d| d.name()).collect();
                format!("{}({})", v.name(), d.join(","))
            })
    };
    let (lat, lon) = (find(Axis::Lat)?, find(Axis::Lon)?);
    Some(format!(
        "variable '{}' is on a curvilinear grid (2-D coordinates {lat} and {lon}); stormtrack needs 1-D latitude and longitude coordinates: regrid first (e.g. cdo remapbil,r1440x721)",
        var.name()
    ))
}

impl NetcdfReader {
    /// Opens `path` (already recognised as `format`) and resolves `request`.
    pub fn open(path: &Path, format: FileFormat, request: &VariableRequest) -> Result<Self> {
        Self::open_with(path, format, request, hdf5_chunks::enabled_by_env())
    }

    /// As [`NetcdfReader::open`], choosing whether NetCDF-4 chunks may be
    /// read directly (see [`hdf5_chunks`]) or everything goes through netCDF.
    pub fn open_with(
        path: &Path,
        format: FileFormat,
        request: &VariableRequest,
        direct: bool,
    ) -> Result<Self> {
        let file = open_file(path)?;
        let (var_name, roles, decoding, meta, direct) = {
            let var = find_variable(&file, path, &request.name)?;
            let (var_name, roles, decoding, meta) =
                Self::resolve(&file, path, format, &var, request)?;
            let direct = (direct && format == FileFormat::Netcdf4)
                .then(|| direct_var(path, &var, &roles))
                .flatten();
            (var_name, roles, decoding, meta, direct)
        };
        let deferred = Arc::new(DeferredContext {
            decoding: decoding.clone(),
            shape: (meta.grid.rows(), meta.grid.cols()),
            path: path.to_path_buf(),
            format,
            request: VariableRequest {
                name: var_name.clone(),
                level: request.level,
            },
            fallback: Mutex::new(None),
            fallbacks: AtomicUsize::new(0),
        });
        Ok(NetcdfReader {
            file,
            var_name,
            roles,
            decoding,
            meta,
            direct,
            deferred,
        })
    }

    /// Blocks read by direct chunk reads so far, and chunks they decoded
    /// (zeros when that path is off).
    pub fn direct_stats(&self) -> (usize, usize) {
        self.direct.as_ref().map_or((0, 0), ChunkedVar::stats)
    }

    /// Frames that the direct path handed out but could not decode, read
    /// through netCDF instead (zero unless a chunk is damaged).
    pub fn direct_fallbacks(&self) -> usize {
        self.deferred.fallbacks.load(Ordering::Relaxed)
    }

    #[allow(clippy::type_complexity)]
    fn resolve(
        file: &NcFile,
        path: &Path,
        format: FileFormat,
        var: &Variable<'_>,
        request: &VariableRequest,
    ) -> Result<(String, Vec<Role>, Decoding, FieldMeta)> {
        let var_name = var.name();
        let dims: Vec<DimInfo> = var
            .dimensions()
            .iter()
            .map(|d| {
                let name = d.name();
                let coord = coordinate(file, &name);
                let get = |a: &str| coord.as_ref().and_then(|c| attr_str(c, a));
                let axis = aliases::classify(
                    &name,
                    get("units").as_deref(),
                    get("standard_name").as_deref(),
                    get("axis").as_deref(),
                );
                DimInfo {
                    name,
                    len: d.len(),
                    axis,
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
        if let Some(problem) = projected_grid(file, var, &dims) {
            return Err(Error::input(path, problem));
        }
        // A grid problem explains a missing 1-D coordinate better than the coordinate itself.
        let grid_or = |fallback: String| {
            Error::input(path, curvilinear_grid(file, var, &dims).unwrap_or(fallback))
        };
        let lat_i = find(Axis::Lat, "latitude")?.ok_or_else(|| {
            grid_or(format!("variable '{var_name}' has no latitude dimension (dims: {}); name it latitude/lat or give its coordinate units 'degrees_north'", dim_list()))
        })?;
        let lon_i = find(Axis::Lon, "longitude")?.ok_or_else(|| {
            grid_or(format!("variable '{var_name}' has no longitude dimension (dims: {}); name it longitude/lon or give its coordinate units 'degrees_east'", dim_list()))
        })?;
        let time_i = find(Axis::Time, "time")?;

        let mut roles: Vec<Role> = vec![Role::Fixed(0); dims.len()];
        roles[lat_i] = Role::Lat;
        roles[lon_i] = Role::Lon;
        if let Some(t) = time_i {
            roles[t] = Role::Time;
        }
        let level = Self::select_level(file, path, &var_name, &dims, &mut roles, request.level)?;

        let coord_of = |i: usize| -> Result<Vec<f64>> {
            let c = coordinate(file, &dims[i].name).ok_or_else(|| {
                grid_or(format!("dimension '{}' of '{var_name}' has no coordinate variable; stormtrack needs 1-D latitude and longitude coordinates", dims[i].name))
            })?;
            let values = read_axis(path, &c)?;
            super::check_coordinate(path, &dims[i].name, &values)?;
            Ok(values)
        };
        let is_f32 = |i: usize| {
            coordinate(file, &dims[i].name)
                .is_some_and(|c| stored_type(&c) == Some(Stored::Float32))
        };
        let (lat, lon) = (coord_of(lat_i)?, coord_of(lon_i)?);
        super::check_latitudes(path, &dims[lat_i].name, &lat)?;
        super::check_longitudes(path, &dims[lon_i].name, &lon)?;
        let grid = Grid::new(lat, lon).with_float32_coords(is_f32(lat_i), is_f32(lon_i));
        if grid.rows() < 3 || grid.cols() < 3 {
            return Err(Error::input(path, format!("the grid of '{var_name}' is only {} x {} points; stormtrack needs at least 3 x 3", grid.rows(), grid.cols())));
        }

        let (times, calendar, time_known, time_name) = match time_i {
            Some(t) => {
                let (times, cal) = Self::read_times(file, path, &dims[t].name)?;
                (times, cal, true, Some(dims[t].name.clone()))
            }
            None => (vec![0], Calendar::Standard, false, None),
        };
        if times.is_empty() {
            return Err(Error::input(path, format!("variable '{var_name}' has no time steps (dimension '{}' is empty); nothing to track", time_name.unwrap_or_default())));
        }

        let stored = stored_type(var).ok_or_else(|| {
            Error::input(
                path,
                format!(
                    "variable '{var_name}' has type {:?}; stormtrack reads numeric variables only",
                    var.vartype()
                ),
            )
        })?;
        let decoding = decoding_of(path, var, stored)?;
        let chunk_steps = match (time_i, var.chunking()) {
            (Some(t), Ok(Some(chunks))) => chunks.get(t).copied(),
            _ => None,
        };
        let meta = FieldMeta {
            path: path.to_path_buf(),
            format,
            variable: var_name.clone(),
            quantity: attr_str(var, "standard_name")
                .and_then(|s| aliases::quantity_of_name(&s))
                .or_else(|| aliases::quantity_of_name(&var_name))
                .or_else(|| aliases::quantity_of_name(&request.name)),
            long_name: attr_str(var, "long_name"),
            units: attr_str(var, "units"),
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
            chunk_steps,
        };
        Ok((var_name, roles, decoding, meta))
    }

    /// Squeezes length-1 extra dimensions and selects `--level` on a longer one.
    fn select_level(
        file: &NcFile,
        path: &Path,
        var_name: &str,
        dims: &[DimInfo],
        roles: &mut [Role],
        level: Option<f64>,
    ) -> Result<Option<String>> {
        let extra: Vec<usize> = (0..dims.len())
            .filter(|&i| dims[i].axis == Axis::Other)
            .collect();
        let long: Vec<usize> = extra.iter().copied().filter(|&i| dims[i].len > 1).collect();
        if long.len() > 1 {
            let names: Vec<String> = long
                .iter()
                .map(|&i| format!("{}={}", dims[i].name, dims[i].len))
                .collect();
            return Err(Error::input(path, format!("variable '{var_name}' has more than one extra dimension ({}); stormtrack tracks a 2-D field per time step: subset the file first (e.g. cdo or ncks)", names.join(", "))));
        }
        let values_of = |i: usize| -> Result<Option<Vec<f64>>> {
            coordinate(file, &dims[i].name)
                .map(|c| read_axis(path, &c))
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
                    path: path.to_path_buf(),
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
                        "--level {}: '{var_name}' has that level more than once in {} ({}); fix the file's level coordinate",
                        fmt_value(want),
                        dims[i].name,
                        shown.join(", ")
                    ),
                ));
            }
            let k = match &vals {
                Some(v) => v.iter().position(matches),
                None => None,
            }
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

    fn read_times(file: &NcFile, path: &Path, dim: &str) -> Result<(Vec<i64>, Calendar)> {
        let var = coordinate(file, dim).ok_or_else(|| {
            Error::input(path, format!("time dimension '{dim}' has no coordinate variable; add one with units 'hours since ...'"))
        })?;
        let units = attr_str(&var, "units").ok_or_else(|| {
            Error::input(path, format!("time variable '{dim}' has no units attribute; expected e.g. 'hours since 1900-01-01'"))
        })?;
        let calendar: Calendar = attr_str(&var, "calendar")
            .unwrap_or_default()
            .parse()
            .map_err(|e| Error::input(path, format!("time variable '{dim}': {e}")))?;
        let tu = TimeUnits::parse(&units, calendar)
            .map_err(|e| Error::input(path, format!("time variable '{dim}': {e}")))?;
        let raw = read_axis(path, &var)?;
        let fill = time_fill_value(&var);
        if let Some(i) = raw.iter().position(|&v| Some(v) == fill) {
            return Err(Error::input(
                path,
                format!(
                    "time variable '{dim}' has no value at step {i} (its fill value {}); every step needs a time",
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
                        format!("time variable '{dim}' has an invalid value {v} at step {i}"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        check_times(path, &times, calendar)?;
        Ok((times, calendar))
    }

    fn extents(&self, start: usize, count: usize) -> Vec<Range<usize>> {
        let var = self
            .file
            .variable(&self.var_name)
            .expect("variable resolved at open");
        var.dimensions()
            .iter()
            .zip(&self.roles)
            .map(|(d, r)| match r {
                Role::Time => start..start + count,
                Role::Lat | Role::Lon => 0..d.len(),
                Role::Fixed(k) => *k..*k + 1,
            })
            .collect()
    }

    /// Reads raw values of the block as `T` in the variable's dimension order.
    fn read_raw<T: netcdf::NcTypeDescriptor + hdf5_chunks::Sample>(
        &mut self,
        ext: &[Range<usize>],
        start: usize,
        count: usize,
    ) -> Result<Vec<T>> {
        if let Some(values) = self.direct.as_mut().and_then(|d| d.read::<T>(ext)) {
            return Ok(values);
        }
        let var = self
            .file
            .variable(&self.var_name)
            .expect("variable resolved at open");
        var.get_values::<T, _>(ext).map_err(|e| {
            Error::input(
                &self.meta.path,
                format!(
                    "cannot read '{}' steps {}..{}: {e}; the file may be truncated or corrupt",
                    self.var_name,
                    start,
                    start + count
                ),
            )
        })
    }

    /// Frames decoded when used, straight from the chunks, when they hold
    /// whole frames and the variable's last two dimensions are (lat, lon).
    fn read_deferred(
        &mut self,
        ext: &[Range<usize>],
        start: usize,
        count: usize,
    ) -> Option<Vec<FrameSource>> {
        let direct = self.direct.as_mut()?;
        if !self.roles.ends_with(&[Role::Lat, Role::Lon]) {
            return None;
        }
        let frames = direct.frames(ext)?;
        if frames.len() != count {
            return None;
        }
        Some(
            frames
                .into_iter()
                .enumerate()
                .map(|(i, frame)| {
                    FrameSource::Deferred(Box::new(ChunkSlot {
                        frame,
                        step: start + i,
                        cx: Arc::clone(&self.deferred),
                    }))
                })
                .collect(),
        )
    }

    /// Frames straight from the direct chunk reader, without an intermediate
    /// block, when the variable's dimensions are in (time, ..., lat, lon)
    /// order (other dimensions are of length 1 here).
    fn read_direct_frames(&mut self, ext: &[Range<usize>], count: usize) -> Option<Vec<Frame>> {
        let direct = self.direct.as_mut()?;
        let order: Vec<Role> = self
            .roles
            .iter()
            .copied()
            .filter(|r| !matches!(r, Role::Fixed(_)))
            .collect();
        if order != [Role::Time, Role::Lat, Role::Lon] && order != [Role::Lat, Role::Lon] {
            return None;
        }
        let shape = (self.meta.grid.rows(), self.meta.grid.cols());
        fn framed<T>(shape: (usize, usize), v: Vec<T>) -> Array2<T> {
            Array2::from_shape_vec(shape, v).expect("frame shape")
        }
        let decoding = &self.decoding;
        if decoding.is_identity() && decoding.stored == Stored::Float32 {
            let parts = direct.read_parts::<f32>(ext, count)?;
            return Some(
                parts
                    .into_iter()
                    .map(|v| Frame::F32(framed(shape, v)))
                    .collect(),
            );
        }
        let parts = direct.read_parts::<f64>(ext, count)?;
        Some(
            parts
                .into_iter()
                .map(|raw| match decoding.target {
                    ValueType::F32 => Frame::F32(framed(shape, decoding.decode_f32(&raw))),
                    ValueType::F64 if decoding.is_identity() => Frame::F64(framed(shape, raw)),
                    ValueType::F64 => Frame::F64(framed(shape, decoding.decode_f64(&raw))),
                })
                .collect(),
        )
    }

    /// Rearranges a block read in file order into `count` frames of `(lat, lon)`.
    fn to_frames<T: Clone>(
        &self,
        data: Vec<T>,
        ext: &[Range<usize>],
        count: usize,
        wrap: impl Fn(Array2<T>) -> Frame,
    ) -> Vec<Frame> {
        let shape: Vec<usize> = ext.iter().map(|r| r.len()).collect();
        let mut arr = ArrayD::from_shape_vec(IxDyn(&shape), data)
            .expect("netCDF returned the requested shape");
        // Drop fixed axes (all of length 1), highest index first.
        for (i, r) in self.roles.iter().enumerate().rev() {
            if matches!(r, Role::Fixed(_)) {
                arr = arr.index_axis_move(NdAxis(i), 0);
            }
        }
        let kept: Vec<Role> = self
            .roles
            .iter()
            .copied()
            .filter(|r| !matches!(r, Role::Fixed(_)))
            .collect();
        if !kept.contains(&Role::Time) {
            arr = arr.insert_axis(NdAxis(0));
        }
        let kept: Vec<Role> = if kept.contains(&Role::Time) {
            kept
        } else {
            [vec![Role::Time], kept].concat()
        };
        let pos = |role: Role| kept.iter().position(|r| *r == role).expect("role present");
        let arr = arr.permuted_axes(IxDyn(&[pos(Role::Time), pos(Role::Lat), pos(Role::Lon)]));
        let (rows, cols) = (self.meta.grid.rows(), self.meta.grid.cols());
        (0..count)
            .map(|i| {
                let frame = arr.index_axis(NdAxis(0), i);
                // Row-major whatever the file's dimension order (a transposed
                // view cannot be reshaped in place).
                let frame = frame
                    .as_standard_layout()
                    .into_owned()
                    .into_shape_with_order((rows, cols))
                    .expect("frame shape");
                wrap(frame)
            })
            .collect()
    }
}

impl FieldReader for NetcdfReader {
    fn meta(&self) -> &FieldMeta {
        &self.meta
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Frame>> {
        super::decode_all(self.read_sources(start, count)?)
    }

    fn read_sources(&mut self, start: usize, count: usize) -> Result<Vec<FrameSource>> {
        super::hdf5_quiet::quiet_hdf5_errors();
        let ext = self.extents(start, count);
        if let Some(frames) = self.read_deferred(&ext, start, count) {
            return Ok(frames);
        }
        let ready = |frames: Vec<Frame>| frames.into_iter().map(FrameSource::Ready).collect();
        if let Some(frames) = self.read_direct_frames(&ext, count) {
            return Ok(ready(frames));
        }
        if self.decoding.is_identity() && self.decoding.stored == Stored::Float32 {
            let raw = self.read_raw::<f32>(&ext, start, count)?;
            return Ok(ready(self.to_frames(raw, &ext, count, Frame::F32)));
        }
        let raw = self.read_raw::<f64>(&ext, start, count)?;
        Ok(ready(match self.decoding.target {
            ValueType::F32 => {
                let vals = self.decoding.decode_f32(&raw);
                self.to_frames(vals, &ext, count, Frame::F32)
            }
            ValueType::F64 => {
                let vals = if self.decoding.is_identity() {
                    raw
                } else {
                    self.decoding.decode_f64(&raw)
                };
                self.to_frames(vals, &ext, count, Frame::F64)
            }
        }))
    }
}
