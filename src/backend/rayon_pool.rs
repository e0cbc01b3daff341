//! The threaded backend: one reader thread fills a bounded queue of blocks
//! (netCDF-C is not thread-safe, so reads stay on one thread) while a rayon
//! pool detects the frames of the previous block in parallel; the calling
//! thread hands each block's centres on in order.
//!
//! At most `QUEUE_DEPTH + 2` blocks of frames exist at once: one being read,
//! the queued ones, and one being detected.

use std::ops::Range;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use rayon::prelude::*;

use super::{blocks, detect_frame, BlockTimes, Detected};
use crate::error::{Error, Result};
use crate::field::Frame;
use crate::io::FieldReader;
use crate::tracker::Tracker;

/// Blocks read ahead of detection.
const QUEUE_DEPTH: usize = 1;

/// Reads `range` block by block on a reader thread, detects each block on a
/// pool of `threads` threads and gives the centres to `sink` in order, on the
/// calling thread. Stops at the first error of reading or of `sink`.
pub fn detect_blocks(
    mut reader: Box<dyn FieldReader>,
    range: Range<usize>,
    block: usize,
    threads: usize,
    tracker: &dyn Tracker,
    mut sink: impl FnMut(Detected, BlockTimes) -> Result<()>,
) -> Result<()> {
    let meta = reader.meta().clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("stormtrack-detect-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;
    type Read = (Range<usize>, Result<Vec<Frame>>, std::time::Duration);
    let (tx, rx) = sync_channel::<Read>(QUEUE_DEPTH);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            for b in blocks(range, block) {
                let t = Instant::now();
                let frames = reader.read(b.start, b.len());
                let failed = frames.is_err();
                if tx.send((b, frames, t.elapsed())).is_err() || failed {
                    break;
                }
            }
        });
        for (b, frames, read) in rx {
            let frames = frames?;
            let t = Instant::now();
            let steps: Vec<_> = pool.install(|| {
                frames
                    .par_iter()
                    .map(|f| detect_frame(tracker, f, &meta))
                    .collect()
            });
            let detect = t.elapsed();
            drop(frames);
            sink(
                Detected {
                    start: b.start,
                    steps,
                },
                BlockTimes { read, detect },
            )?;
        }
        Ok(())
    })
}
