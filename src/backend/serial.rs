//! The serial backend: read a block, detect its frames, hand them on, repeat.
//! Each frame is dropped once detected, so a block of frames decoded on use
//! (see [`crate::field::FrameSource`]) shrinks as it is detected.

use std::ops::Range;
use std::time::{Duration, Instant};

use super::{detect_frame, BlockTimes, Detected, Step};
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
        let sources = reader.read_sources(b.start, b.len())?;
        let mut read = t.elapsed();
        let mut detect = Duration::ZERO;
        let meta = reader.meta();
        let mut steps = Vec::with_capacity(sources.len());
        for source in sources {
            let d = detect_frame(tracker, source, meta)?;
            read += d.load;
            detect += d.detect;
            steps.push(Step::new(d.centres, d.missing));
        }
        sink(
            Detected {
                start: b.start,
                steps,
            },
            BlockTimes {
                read,
                detect,
                match_ahead_cpu: Duration::ZERO,
            },
        )?;
    }
    Ok(())
}
