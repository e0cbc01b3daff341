//! The serial backend: read a block, detect its frames, hand them on, repeat.

use std::ops::Range;
use std::time::Instant;

use super::{detect_frame, BlockTimes, Detected};
use crate::error::Result;
use crate::io::FieldReader;
use crate::tracker::Tracker;

/// Reads and detects the blocks of `plan` in order on this thread, giving
/// each block's centres to `sink`.
pub fn detect_blocks(
    mut reader: Box<dyn FieldReader>,
    plan: Vec<Range<usize>>,
    tracker: &dyn Tracker,
    mut sink: impl FnMut(Detected, BlockTimes) -> Result<()>,
) -> Result<()> {
    for b in plan {
        let t = Instant::now();
        let frames = reader.read(b.start, b.len())?;
        let read = t.elapsed();
        let t = Instant::now();
        let meta = reader.meta();
        let steps = frames
            .iter()
            .map(|f| detect_frame(tracker, f, meta))
            .collect();
        drop(frames);
        let times = BlockTimes {
            read,
            detect: t.elapsed(),
        };
        sink(
            Detected {
                start: b.start,
                steps,
            },
            times,
        )?;
    }
    Ok(())
}
