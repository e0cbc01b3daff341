//! The compact byte form in which a block of detected steps travels between
//! MPI ranks: only centres, never fields.
//!
//! Layout, little-endian: `start: u64`, `steps: u32`; then per step
//! `centres: u32`, `flags: u8` (bit 0: all missing; bit 1: matched ahead);
//! then per centre of every step in order `row: u32`, `col: u32`, `lat: f64`,
//! `lon: f64`, `value: f64` (32 bytes); then, for every step matched ahead,
//! its links (`u32` per centre, see [`crate::tracker::Tracker::match_ahead`]).
//! Floats travel as their exact bits, so linking on rank 0 sees the very
//! values the detecting rank computed.

use super::{Detected, Step};
use crate::detect::Centre;

const CENTRE_BYTES: usize = 32;

/// Encodes a block of detected steps.
pub fn encode(block: &Detected) -> Vec<u8> {
    let centres: usize = block.steps.iter().map(|s| s.centres.len()).sum();
    let mut out = Vec::with_capacity(12 + 5 * block.steps.len() + (CENTRE_BYTES + 4) * centres);
    out.extend_from_slice(&(block.start as u64).to_le_bytes());
    out.extend_from_slice(&(block.steps.len() as u32).to_le_bytes());
    for s in &block.steps {
        out.extend_from_slice(&(s.centres.len() as u32).to_le_bytes());
        out.push(u8::from(s.missing) | u8::from(links(s).is_some()) << 1);
    }
    for c in block.steps.iter().flat_map(|s| &s.centres) {
        out.extend_from_slice(&c.row.to_le_bytes());
        out.extend_from_slice(&c.col.to_le_bytes());
        out.extend_from_slice(&c.lat.to_le_bytes());
        out.extend_from_slice(&c.lon.to_le_bytes());
        out.extend_from_slice(&c.value.to_le_bytes());
    }
    for link in block.steps.iter().filter_map(links).flatten() {
        out.extend_from_slice(&link.to_le_bytes());
    }
    out
}

/// A step's links, if it has one per centre (others travel without).
fn links(s: &Step) -> Option<&Vec<u32>> {
    s.links.as_ref().filter(|l| l.len() == s.centres.len())
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
        let [flags] = cur.take::<1>()?;
        heads.push((count, flags));
    }
    let mut steps: Vec<Step> = Vec::with_capacity(heads.len());
    for &(count, flags) in &heads {
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
        steps.push(Step::new(centres, flags & 1 != 0));
    }
    for (s, &(count, flags)) in steps.iter_mut().zip(&heads) {
        if flags & 2 != 0 {
            s.links = Some((0..count).map(|_| cur.u32()).collect::<Option<_>>()?);
        }
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
                Step::new(vec![c(1, 101_325.5), c(2, f64::from(96_000.1f32))], false),
                Step::new(vec![], true),
                Step {
                    links: Some(vec![crate::link::UNMATCHED]),
                    ..Step::new(vec![c(3, -1e-5)], false)
                },
                Step {
                    links: Some(vec![1, 0]),
                    ..Step::new(vec![c(4, 1.0), c(5, 2.0)], false)
                },
            ],
        };
        let bytes = encode(&block);
        assert_eq!(bytes.len(), 12 + 4 * 5 + 5 * CENTRE_BYTES + 3 * 4);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.start, 1234);
        assert_eq!(back.steps, block.steps);
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode(&[bytes.as_slice(), &[0]].concat()).is_none());
    }
}
