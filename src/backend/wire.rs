//! The compact byte form in which a block of detected steps travels between
//! MPI ranks: only centres, never fields.
//!
//! Layout, little-endian: `start: u64`, `steps: u32`; then per step
//! `centres: u32`, `all_missing: u8`; then per centre of every step in order
//! `row: u32`, `col: u32`, `lat: f64`, `lon: f64`, `value: f64` (32 bytes).
//! Floats travel as their exact bits, so linking on rank 0 sees the very
//! values the detecting rank computed.

use super::Detected;
use crate::detect::Centre;

const CENTRE_BYTES: usize = 32;

/// Encodes a block of detected steps.
pub fn encode(block: &Detected) -> Vec<u8> {
    let centres: usize = block.steps.iter().map(|(c, _)| c.len()).sum();
    let mut out = Vec::with_capacity(12 + 5 * block.steps.len() + CENTRE_BYTES * centres);
    out.extend_from_slice(&(block.start as u64).to_le_bytes());
    out.extend_from_slice(&(block.steps.len() as u32).to_le_bytes());
    for (c, missing) in &block.steps {
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.push(u8::from(*missing));
    }
    for c in block.steps.iter().flat_map(|(c, _)| c) {
        out.extend_from_slice(&c.row.to_le_bytes());
        out.extend_from_slice(&c.col.to_le_bytes());
        out.extend_from_slice(&c.lat.to_le_bytes());
        out.extend_from_slice(&c.lon.to_le_bytes());
        out.extend_from_slice(&c.value.to_le_bytes());
    }
    out
}

/// Reads fixed-size fields off the front of a byte slice.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
}

/// Decodes a block; `None` if the bytes are not a whole block.
pub fn decode(bytes: &[u8]) -> Option<Detected> {
    let mut cur = Cursor(bytes);
    let start = u64::from_le_bytes(cur.take()?) as usize;
    let n = cur.u32()? as usize;
    let mut heads = Vec::with_capacity(n.min(bytes.len()));
    for _ in 0..n {
        let count = cur.u32()? as usize;
        let [missing] = cur.take::<1>()?;
        heads.push((count, missing != 0));
    }
    let mut steps = Vec::with_capacity(heads.len());
    for (count, missing) in heads {
        let mut centres = Vec::with_capacity(count.min(cur.0.len() / CENTRE_BYTES));
        for _ in 0..count {
            centres.push(Centre {
                row: cur.u32()?,
                col: cur.u32()?,
                lat: cur.f64()?,
                lon: cur.f64()?,
                value: cur.f64()?,
            });
        }
        steps.push((centres, missing));
    }
    cur.0.is_empty().then_some(Detected { start, steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exact_bits() {
        let c = |row, v: f64| Centre {
            row,
            col: row + 7,
            lat: -89.75 + f64::from(row),
            lon: 359.75,
            value: v,
        };
        let block = Detected {
            start: 1234,
            steps: vec![
                (vec![c(1, 101_325.5), c(2, f64::from(96_000.1f32))], false),
                (vec![], true),
                (vec![c(3, -1e-5)], false),
            ],
        };
        let bytes = encode(&block);
        assert_eq!(bytes.len(), 12 + 3 * 5 + 3 * CENTRE_BYTES);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.start, 1234);
        assert_eq!(back.steps, block.steps);
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode(&[bytes.as_slice(), &[0]].concat()).is_none());
    }
}
