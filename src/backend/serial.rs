//! The serial backend: read a block, detect its frames, link them, repeat.

use std::ops::Range;
use std::time::Instant;

use super::{detect_frame, LinkStage};
use crate::error::Result;
use crate::io::FieldReader;
use crate::tracker::Tracker;

pub fn run(
    mut reader: Box<dyn FieldReader>,
    plan: Vec<Range<usize>>,
    tracker: &dyn Tracker,
    stage: &mut LinkStage,
) -> Result<()> {
    for b in plan {
        let t = Instant::now();
        let frames = reader.read(b.start, b.len())?;
        stage.stats.read += t.elapsed();
        let meta = reader.meta();
        for (i, frame) in frames.iter().enumerate() {
            let t = Instant::now();
            let (centres, missing) = detect_frame(tracker, frame, meta);
            stage.stats.detect += t.elapsed();
            let step = b.start + i;
            stage.push(step, meta.times[step], centres, missing);
        }
    }
    Ok(())
}
