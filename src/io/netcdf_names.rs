//! The names in a netCDF file's root group as the bytes they are.
//!
//! netCDF allows any bytes in a name, and old NetCDF-3 writers stored
//! Latin-1 (`temp\xe9`); the netcdf crate's `name()` panics on those. This
//! module asks libnetcdf directly, so that names that are not UTF-8 can be
//! listed (lossily) and skipped, and every other variable still works.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CString};
use std::path::Path;

use netcdf_sys::{
    libnetcdf_lock, nc_close, nc_inq_dimlen, nc_inq_dimname, nc_inq_vardimid, nc_inq_varids,
    nc_inq_varname, nc_inq_varndims, nc_inq_vartype, nc_open, nc_strerror, nc_type, NC_MAX_NAME,
    NC_MAX_VAR_DIMS, NC_NOERR, NC_NOWRITE,
};

/// A name as stored: usually UTF-8, but not always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(Vec<u8>);

impl Name {
    /// The name, when it is UTF-8 (only then can the netcdf crate handle it).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The name for messages and listings; bytes that are not UTF-8 are
    /// shown as U+FFFD.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// A variable of the root group: its name, type code and dimensions.
#[derive(Debug, Clone)]
pub struct VariableNames {
    pub name: Name,
    /// netCDF type code (`NC_FLOAT` = 5, ...).
    pub nc_type: nc_type,
    pub dims: Vec<(Name, usize)>,
}

impl VariableNames {
    /// Whether the netcdf crate can handle this variable: its own name and
    /// all its dimensions' names are UTF-8.
    pub fn is_utf8(&self) -> bool {
        self.name.as_str().is_some() && self.dims.iter().all(|(d, _)| d.as_str().is_some())
    }
}

/// Every variable of the file's root group, in file order.
pub fn read(path: &Path) -> Result<Vec<VariableNames>, String> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| "the path holds a NUL byte".to_string())?;
    let _guard = libnetcdf_lock.lock();
    let mut ncid: c_int = 0;
    // SAFETY: a NUL-terminated path and a valid out-pointer; libnetcdf's
    // global state is guarded by the lock the netcdf crate also takes.
    check(unsafe { nc_open(c_path.as_ptr(), NC_NOWRITE, &mut ncid) })?;
    let result = variables(ncid);
    // SAFETY: closes the id opened above, once.
    unsafe { nc_close(ncid) };
    result
}

fn variables(ncid: c_int) -> Result<Vec<VariableNames>, String> {
    let mut nvars: c_int = 0;
    // SAFETY: a null id array asks only for the count.
    check(unsafe { nc_inq_varids(ncid, &mut nvars, std::ptr::null_mut()) })?;
    let mut ids = vec![0 as c_int; usize::try_from(nvars).unwrap_or(0)];
    // SAFETY: `ids` has room for the `nvars` ids just counted.
    check(unsafe { nc_inq_varids(ncid, &mut nvars, ids.as_mut_ptr()) })?;
    ids.iter().map(|&varid| variable(ncid, varid)).collect()
}

fn variable(ncid: c_int, varid: c_int) -> Result<VariableNames, String> {
    // SAFETY: the buffer holds NC_MAX_NAME bytes plus the terminating NUL.
    let name = read_name(|buf| unsafe { nc_inq_varname(ncid, varid, buf) })?;
    let mut nc_type: nc_type = 0;
    // SAFETY: valid out-pointer for an id from nc_inq_varids.
    check(unsafe { nc_inq_vartype(ncid, varid, &mut nc_type) })?;
    let mut ndims: c_int = 0;
    // SAFETY: as above.
    check(unsafe { nc_inq_varndims(ncid, varid, &mut ndims) })?;
    if !(0..=NC_MAX_VAR_DIMS).contains(&ndims) {
        return Err(format!("a variable has {ndims} dimensions"));
    }
    let mut dimids = vec![0 as c_int; ndims as usize];
    // SAFETY: `dimids` has room for the variable's `ndims` dimension ids.
    check(unsafe { nc_inq_vardimid(ncid, varid, dimids.as_mut_ptr()) })?;
    let dims = dimids
        .iter()
        .map(|&dimid| {
            // SAFETY: as for the variable's name.
            let name = read_name(|buf| unsafe { nc_inq_dimname(ncid, dimid, buf) })?;
            let mut len = 0usize;
            // SAFETY: valid out-pointer for a dimension id of this file.
            check(unsafe { nc_inq_dimlen(ncid, dimid, &mut len) })?;
            Ok((name, len))
        })
        .collect::<Result<_, String>>()?;
    Ok(VariableNames {
        name,
        nc_type,
        dims,
    })
}

/// Calls `inquire` with a buffer for a name and returns the name's bytes.
fn read_name(inquire: impl FnOnce(*mut c_char) -> c_int) -> Result<Name, String> {
    let mut buf = vec![0u8; NC_MAX_NAME as usize + 1];
    check(inquire(buf.as_mut_ptr().cast()))?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    Ok(Name(buf))
}

fn check(status: c_int) -> Result<(), String> {
    if status == NC_NOERR {
        return Ok(());
    }
    // SAFETY: nc_strerror returns a pointer to a static NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(nc_strerror(status)) };
    Err(format!(
        "netcdf error({status}): {}",
        text.to_string_lossy()
    ))
}

/// numpy-style name of a netCDF type code (`float32`, `int16`, `char`).
pub fn dtype_name(nc_type: nc_type) -> &'static str {
    match nc_type {
        1 => "int8",
        2 => "char",
        3 => "int16",
        4 => "int32",
        5 => "float32",
        6 => "float64",
        7 => "uint8",
        8 => "uint16",
        9 => "uint32",
        10 => "int64",
        11 => "uint64",
        12 => "string",
        _ => "user-defined",
    }
}
