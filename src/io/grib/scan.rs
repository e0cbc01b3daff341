//! Scanning a GRIB file's messages: where each one is, its parameter, level,
//! grid and validity time.
//!
//! The fast path finds the messages itself (section 0 lengths, checked
//! structure) and reads their validity times from the raw headers
//! ([`super::raw`]); ecCodes reads only the first message of each header
//! signature, and that message also checks the raw reading: its validity
//! time must equal ecCodes' validityDate/validityTime, and its values as
//! decoded by [`super::simple`] must equal ecCodes' bit for bit, or the
//! signature's messages all go through ecCodes. A message whose time coding
//! the raw reader does not handle goes through ecCodes alone. Anything
//! irregular in the file (bytes between messages, a message running past the
//! end, a corrupt section length, ECMWF's large GRIB 1 messages) sends the
//! whole file to the ecCodes scan, so its errors read as they always have.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use eccodes::{CodesHandle, FallibleStreamingIterator, ProductKind};

use super::codes::{codes_error, corrupt, open_message, scan_message, values_of, ParameterCache};
use super::{raw, simple};
use crate::error::{Error, Result};
use crate::io::grib_log;

/// Header facts of one GRIB message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Message {
    pub index: usize,
    pub short_name: String,
    pub param_id: i64,
    pub type_of_level: String,
    pub level: i64,
    pub time: i64,
    pub offset: u64,
    pub length: usize,
    pub grid_type: String,
    pub ni: usize,
    pub nj: usize,
    pub grid_key: [i64; 4],
    /// Values may be decoded by [`simple`] (checked against ecCodes).
    pub native: bool,
}

/// Switch routing every message through ecCodes (for checking a file).
pub(super) const ECCODES_ONLY: &str = crate::env_switch::GRIB_ECCODES;

/// Scans every message header of the file.
pub(super) fn scan(path: &Path) -> Result<Vec<Message>> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        })?
        .len();
    grib_log::install();
    grib_log::clear();
    if !crate::env_switch::on(ECCODES_ONLY) {
        if let Some(all) = scan_raw(path, size)? {
            return Ok(all);
        }
    }
    scan_eccodes(path, size)
}

/// What the first message of a header signature told about all of them;
/// None when its raw validity time disagreed with ecCodes.
type Signatures = HashMap<Vec<u8>, Option<Message>>;

/// The fast scan; None when the file needs the ecCodes scan.
pub(super) fn scan_raw(path: &Path, size: u64) -> Result<Option<Vec<Message>>> {
    let file = File::open(path).map_err(|e| Error::Unreadable {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut out = Vec::new();
    let mut signatures = Signatures::new();
    let mut parameters = ParameterCache::new();
    let mut bytes = Vec::new();
    let mut offset = 0u64;
    while offset < size {
        let mut head = [0u8; 16];
        if file.read_exact_at(&mut head, offset).is_err() {
            return Ok(None);
        }
        let length = match raw::message_length(&head) {
            Some(l) if l >= 20 && l <= size - offset => l,
            _ => return Ok(None),
        };
        bytes.resize(length as usize, 0);
        if file.read_exact_at(&mut bytes, offset).is_err() || raw::check_structure(&bytes).is_err()
        {
            return Ok(None);
        }
        let at = Located {
            index: out.len(),
            offset,
            bytes: &bytes,
        };
        out.push(scan_one(path, &at, &mut signatures, &mut parameters)?);
        offset += length;
    }
    Ok((!out.is_empty()).then_some(out))
}

/// One message's bytes and place in the file.
struct Located<'a> {
    index: usize,
    offset: u64,
    bytes: &'a [u8],
}

fn scan_one(
    path: &Path,
    at: &Located,
    signatures: &mut Signatures,
    parameters: &mut ParameterCache,
) -> Result<Message> {
    let header = raw::header(at.bytes);
    let known = header
        .as_ref()
        .and_then(|h| Some((h.validity?, &h.signature)));
    if let Some((time, signature)) = known {
        if let Some(Some(first)) = signatures.get(signature) {
            return Ok(Message {
                index: at.index,
                time,
                offset: at.offset,
                length: at.bytes.len(),
                ..first.clone()
            });
        }
    }
    let fail = |e: String| corrupt(path, at.index, e);
    let mut handle = open_message(at.bytes.to_vec()).map_err(fail)?;
    let msg = handle
        .next()
        .map_err(|e| fail(codes_error(&e)))?
        .ok_or_else(|| fail("no message".into()))?;
    let mut m = scan_message(msg, at.index, parameters).map_err(|e| fail(codes_error(&e)))?;
    m.offset = at.offset;
    if let Some((time, signature)) = known {
        if !signatures.contains_key(signature) {
            let agrees = time == m.time;
            let expected = m.ni * m.nj;
            m.native = agrees
                && simple::Packing::of(at.bytes).is_some_and(|p| {
                    p.count == expected
                        && values_of(msg, expected)
                            .is_ok_and(|v| same_bits(&v, &p.values_f64(at.bytes)))
                });
            signatures.insert(signature.clone(), agrees.then(|| m.clone()));
        }
    }
    Ok(m)
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The ecCodes scan: a handle per message, read from the file by ecCodes.
pub(super) fn scan_eccodes(path: &Path, size: u64) -> Result<Vec<Message>> {
    let mut handle = CodesHandle::new_from_file(path, ProductKind::GRIB)
        .map_err(|e| Error::input(path, format!("cannot open as GRIB: {}", codes_error(&e))))?;
    let mut out: Vec<Message> = Vec::new();
    let mut cache = ParameterCache::new();
    loop {
        let index = out.len();
        let msg = match handle.next() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => return Err(scan_failure(path, &out, size, &e)),
        };
        let m = scan_message(msg, index, &mut cache)
            .map_err(|e| corrupt(path, index, codes_error(&e)))?;
        if m.offset + m.length as u64 > size {
            return Err(corrupt(
                path,
                index,
                format!(
                    "it needs {} bytes from offset {} but the file ends at {size}",
                    m.length, m.offset
                ),
            ));
        }
        out.push(m);
    }
    if out.is_empty() {
        return Err(Error::input(
            path,
            "contains no GRIB messages; the file may be truncated or corrupt",
        ));
    }
    Ok(out)
}

/// Why the message after `done` could not be read: a file that ends inside
/// a message is called truncated, anything else corrupt.
fn scan_failure(path: &Path, done: &[Message], size: u64, e: &eccodes::CodesError) -> Error {
    let index = done.len();
    let start = done.last().map_or(0, |m| m.offset + m.length as u64);
    use eccodes::errors::CodesInternal;
    let end_of_resource = matches!(
        e,
        eccodes::CodesError::Internal(
            CodesInternal::CodesEndOfFile | CodesInternal::CodesPrematureEndOfFile
        )
    );
    if end_of_resource {
        return Error::input(
            path,
            format!(
                "the file ends inside GRIB message {} (it starts at byte {start} of {size}); the file is truncated: re-download or re-copy it",
                index + 1
            ),
        );
    }
    corrupt(path, index, codes_error(e))
}
