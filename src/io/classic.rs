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

    /// Skips a name (length, then characters padded to 4 bytes).
    fn skip_name(&mut self) -> std::io::Result<()> {
        let n = self.non_neg()?;
        self.skip(padded(n))
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

    fn skip_attributes(&mut self) -> std::io::Result<()> {
        for _ in 0..self.list(NC_ATTRIBUTE)? {
            self.skip_name()?;
            let size = type_size(self.u32()?)?;
            let n = self.non_neg()?;
            self.skip(padded(n.saturating_mul(size)))?;
        }
        Ok(())
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

/// Bytes the header says the file must have, or None if the header cannot
/// be parsed here (libnetcdf then has the last word).
fn required_size(r: impl Read) -> std::io::Result<Option<u64>> {
    let mut h = Header { r, version: 0 };
    let magic = h.bytes(4)?;
    if &magic[..3] != b"CDF" || ![1, 2, 5].contains(&magic[3]) {
        return Ok(None);
    }
    h.version = magic[3];
    let numrecs = h.non_neg()?;
    let mut dims = Vec::new();
    for _ in 0..h.list(NC_DIMENSION)? {
        h.skip_name()?;
        dims.push(h.non_neg()?);
    }
    h.skip_attributes()?;
    let mut vars = Vec::new();
    for _ in 0..h.list(NC_VARIABLE)? {
        h.skip_name()?;
        let rank = h.non_neg()?;
        let mut ids = Vec::new();
        for _ in 0..rank {
            ids.push(h.non_neg()?);
        }
        h.skip_attributes()?;
        let size = type_size(h.u32()?)?;
        let _vsize = h.non_neg()?;
        let begin = h.offset()?;
        let lens: Vec<u64> = ids
            .iter()
            .map(|&i| dims.get(i as usize).copied())
            .collect::<Option<_>>()
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let record = lens.first() == Some(&0);
        let count = lens
            .iter()
            .skip(usize::from(record))
            .fold(1u64, |a, &l| a.saturating_mul(l));
        vars.push(VarLayout {
            begin,
            bytes: count.saturating_mul(size),
            record,
        });
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

/// Fails if the classic file at `path` is shorter than its header requires.
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
    match required_size(BufReader::new(file)) {
        Ok(Some(needed)) if needed > actual => Err(truncated(needed.to_string())),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(truncated("more (it ends inside the header)".into()))
        }
        // A header this parser does not follow: leave the verdict to libnetcdf.
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(path: &str) -> u64 {
        required_size(File::open(path).unwrap()).unwrap().unwrap()
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
