//! Size check of classic NetCDF files (CDF-1, CDF-2 and CDF-5).
//!
//! libnetcdf reads past the end of a truncated classic file without error
//! (the missing bytes come back as zeros), so a cut download would be tracked
//! as if it were real data. This module parses just enough of the classic
//! header (dimensions, attributes, and each variable's type, shape and `begin`
//! offset; the layout of the "NetCDF Classic Format Specification") to compute
//! the number of bytes the data needs, and [`check_size`] compares it with the
//! file's length. Read-only; it never changes how the file is read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

const NC_DIMENSION: u32 = 0x0A;
const NC_VARIABLE: u32 = 0x0B;
const NC_ATTRIBUTE: u32 = 0x0C;
/// `numrecs` of a file still being written ("streaming").
const STREAMING: u64 = 0xFFFF_FFFF;

/// A sequential big-endian reader of the header.
struct Header<R> {
    r: R,
    /// Version byte: 1 (classic), 2 (64-bit offset) or 5 (CDF-5).
    version: u8,
}

impl<R: Read> Header<R> {
    fn bytes(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }

    fn u32(&mut self) -> std::io::Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> std::io::Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// A count or length: 4 bytes, 8 in CDF-5.
    fn non_neg(&mut self) -> std::io::Result<u64> {
        if self.version == 5 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// A file offset: 4 bytes in CDF-1, 8 otherwise.
    fn offset(&mut self) -> std::io::Result<u64> {
        if self.version == 1 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }

    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())?;
        if copied < n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Reads a list tag and its element count (0 for an absent list).
    fn list(&mut self, tag: u32) -> std::io::Result<u64> {
        let t = self.u32()?;
        let n = self.non_neg()?;
        if t != tag && !(t == 0 && n == 0) {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        Ok(n)
    }
}

fn padded(n: u64) -> u64 {
    n.saturating_add(3) / 4 * 4
}

fn type_size(nc_type: u32) -> std::io::Result<u64> {
    Ok(match nc_type {
        1 | 2 | 7 => 1,
        3 | 8 => 2,
        4 | 5 | 9 => 4,
        6 | 10 | 11 => 8,
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    })
}

/// One variable's layout.
struct VarLayout {
    begin: u64,
    /// Bytes of one record (record variables) or of the whole variable.
    bytes: u64,
    record: bool,
}

/// An inconsistency of the header, in words.
type Problem = String;

fn invalid(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

/// libnetcdf's limits (netcdf.h), beyond which it refuses or misbehaves.
const NC_MAX_NAME: u64 = 256;
const NC_MAX_VAR_DIMS: u64 = 1024;

impl<R: Read> Header<R> {
    /// A count of `what`, each element at least `min_bytes` long, that
    /// must fit in the `left` bytes of the file after it.
    fn count(&mut self, tag: u32, what: &str, min_bytes: u64, left: u64) -> std::io::Result<u64> {
        let n = self.list(tag).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                invalid(format!("the {what} list has a bad tag"))
            } else {
                e
            }
        })?;
        if n.saturating_mul(min_bytes) > left {
            return Err(invalid(format!(
                "it declares {n} {what}s, more than the file's {left} bytes can hold"
            )));
        }
        Ok(n)
    }

    /// Checks a name's length and skips it.
    fn name(&mut self, what: &str) -> std::io::Result<()> {
        let n = self.non_neg()?;
        if n == 0 || n > NC_MAX_NAME {
            return Err(invalid(format!(
                "a {what} name is {n} bytes long (1 to {NC_MAX_NAME} allowed)"
            )));
        }
        self.skip(padded(n))
    }

    fn nc_type(&mut self) -> std::io::Result<u64> {
        let t = self.u32()?;
        let max = if self.version == 5 { 11 } else { 6 };
        if t == 0 || t > max {
            return Err(invalid(format!(
                "an nc_type is {t}, not 1 to {max} of this format"
            )));
        }
        type_size(t)
    }

    fn attributes(&mut self, size: u64) -> std::io::Result<()> {
        for _ in 0..self.count(NC_ATTRIBUTE, "attribute", 12, size)? {
            self.name("attribute")?;
            let esize = self.nc_type()?;
            let n = self.non_neg()?;
            let bytes = n.saturating_mul(esize);
            if bytes > size {
                return Err(invalid(format!(
                    "an attribute has {n} values, more than the file's {size} bytes"
                )));
            }
            self.skip(padded(bytes))?;
        }
        Ok(())
    }
}

/// Bytes the header says the file must have, or None if the file is not
/// classic NetCDF. A header that does not hold together is InvalidData
/// with the reason: libnetcdf trusts such headers and may crash on them.
fn required_size(r: impl Read, size: u64) -> std::io::Result<Option<u64>> {
    let mut h = Header {
        r: CountingReader { r, pos: 0 },
        version: 0,
    };
    let magic = h.bytes(4)?;
    if &magic[..3] != b"CDF" || ![1, 2, 5].contains(&magic[3]) {
        return Ok(None);
    }
    h.version = magic[3];
    let numrecs = h.non_neg()?;
    let mut dims = Vec::new();
    let mut unlimited = None;
    for i in 0..h.count(NC_DIMENSION, "dimension", 8, size)? {
        h.name("dimension")?;
        let len = h.non_neg()?;
        if len == 0 {
            if unlimited.is_some() {
                return Err(invalid("it has more than one unlimited dimension"));
            }
            unlimited = Some(i);
        }
        dims.push(len);
    }
    h.attributes(size)?;
    let mut vars = Vec::new();
    for _ in 0..h.count(NC_VARIABLE, "variable", 24, size)? {
        h.name("variable")?;
        let rank = h.non_neg()?;
        if rank > NC_MAX_VAR_DIMS || rank.saturating_mul(4) > size {
            return Err(invalid(format!("a variable has {rank} dimensions")));
        }
        let mut ids = Vec::new();
        for _ in 0..rank {
            ids.push(h.non_neg()?);
        }
        h.attributes(size)?;
        let esize = h.nc_type()?;
        let _vsize = h.non_neg()?;
        let begin = h.offset()?;
        let mut lens = Vec::new();
        for (k, &id) in ids.iter().enumerate() {
            let len = *dims.get(id as usize).ok_or_else(|| {
                invalid(format!(
                    "a variable uses dimension id {id} of {}",
                    dims.len()
                ))
            })?;
            if len == 0 && k > 0 {
                return Err(invalid(
                    "a variable has the unlimited dimension other than first",
                ));
            }
            lens.push(len);
        }
        let record = lens.first() == Some(&0);
        let count = lens
            .iter()
            .skip(usize::from(record))
            .fold(1u64, |a, &l| a.saturating_mul(l));
        vars.push(VarLayout {
            begin,
            bytes: count.saturating_mul(esize),
            record,
        });
    }
    let header_end = h.r.pos;
    if let Some(v) = vars.iter().find(|v| v.begin < header_end) {
        return Err(invalid(format!(
            "a variable begins at byte {}, inside the {header_end}-byte header",
            v.begin
        )));
    }
    if h.version == 1 && vars.iter().any(|v| v.bytes > u64::from(u32::MAX)) {
        return Err(invalid("a variable is larger than CDF-1 allows"));
    }
    let records: Vec<&VarLayout> = vars.iter().filter(|v| v.record).collect();
    // One record variable is stored without padding; several are padded to 4.
    let recsize: u64 = match records.as_slice() {
        [one] => one.bytes,
        many => many.iter().map(|v| padded(v.bytes)).sum(),
    };
    let end = vars
        .iter()
        .map(|v| match (v.record, numrecs) {
            (false, _) => v.begin.saturating_add(v.bytes),
            (true, 0) | (true, STREAMING) => 0,
            (true, n) => v
                .begin
                .saturating_add((n - 1).saturating_mul(recsize))
                .saturating_add(v.bytes),
        })
        .max()
        .unwrap_or(0);
    Ok(Some(end))
}

/// Counts the bytes read, for the header's length.
struct CountingReader<R> {
    r: R,
    pos: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Fails if the classic file at `path` is shorter than its header requires,
/// or if its header does not hold together (counts, names, types, dimension
/// ids or offsets that the file cannot have): libnetcdf believes the header
/// and reads past its buffers, or crashes, on such files.
pub fn check_size(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::Unreadable {
        path: path.to_path_buf(),
        source: e,
    })?;
    let actual = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let truncated = |needed: String| {
        Error::input(
            path,
            format!(
                "the file is truncated: it has {actual} bytes but its NetCDF header needs {needed}; re-download or re-copy it"
            ),
        )
    };
    match required_size(BufReader::new(file), actual) {
        Ok(Some(needed)) if needed > actual => Err(truncated(needed.to_string())),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(truncated("more (it ends inside the header)".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(Error::input(
            path,
            format!("the classic NetCDF header is corrupt: {e}; re-download or re-copy the file"),
        )),
        Err(e) => Err(Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Whether `bytes` (a whole classic file) passes [`check_size`], for the
/// fuzz target: Err with the message when refused.
pub fn validate(bytes: &[u8]) -> std::result::Result<(), Problem> {
    match required_size(bytes, bytes.len() as u64) {
        Ok(Some(needed)) if needed > bytes.len() as u64 => {
            Err(format!("truncated: needs {needed}"))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(path: &str) -> u64 {
        required_size(
            File::open(path).unwrap(),
            std::fs::metadata(path).unwrap().len(),
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn complete_files_need_exactly_their_size_or_less() {
        for path in [
            "data/era5_msl_2025120100_2.5x2.5.nc",
            "data/era5_vo850_2025120100_0.25x0.25.nc",
            "tests/data/oracle/msl_packed_nc3.nc",
            "tests/data/oracle/msl_packed_nc3_f64coords.nc",
        ] {
            let size = std::fs::metadata(path).unwrap().len();
            let need = required(path);
            assert!(need <= size && need + 4 >= size, "{path}: {need} vs {size}");
            check_size(Path::new(path)).unwrap();
        }
    }

    #[test]
    fn truncated_copies_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let full = std::fs::read("tests/data/oracle/msl_packed_nc3.nc").unwrap();
        for cut in [full.len() - 1, full.len() / 2, 40] {
            let p = dir.path().join("cut.nc");
            std::fs::write(&p, &full[..cut]).unwrap();
            let err = check_size(&p).unwrap_err().to_string();
            assert!(err.contains("the file is truncated"), "{cut}: {err}");
        }
    }
}
