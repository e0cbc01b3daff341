//! The threaded backend, a three-stage pipeline: a reader thread fills a
//! bounded queue of blocks of frames (netCDF-C is not thread-safe, so reads
//! stay on one thread); a detector thread runs each block through a rayon
//! pool; the calling thread hands each block's centres on (to the linker) in
//! order. Reading, detecting and linking of consecutive blocks overlap.
//!
//! At most two blocks of frames exist at once (`QUEUE_DEPTH + 2` in general):
//! one being read and one being detected; finished blocks are only centres.

use std::ops::Range;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{detect_frame, BlockTimes, Detected};
use crate::error::{Error, Result};
use crate::field::Frame;
use crate::io::FieldReader;
use crate::tracker::Tracker;

/// Blocks queued between reader and detector: none, so the reader reads block
/// k + 1 while block k is detected and then waits to hand it over.
const QUEUE_DEPTH: usize = 0;
/// Blocks of centres detected ahead of the consumer.
const DETECTED_DEPTH: usize = 4;

/// Reads the blocks of `plan` on a reader thread, detects each block on a
/// pool of `threads` threads and gives the centres to `sink` in order, on the
/// calling thread. Stops at the first error of reading or of `sink`.
pub fn detect_blocks(
    mut reader: Box<dyn FieldReader>,
    plan: Vec<Range<usize>>,
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
    type Read = (Range<usize>, Result<Vec<Frame>>, Duration);
    let (tx, rx) = sync_channel::<Read>(QUEUE_DEPTH);
    let (dtx, drx) = sync_channel::<Result<(Detected, BlockTimes)>>(DETECTED_DEPTH);
    let meta = &meta;
    let pool = &pool;
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            for b in plan {
                let t = Instant::now();
                let frames = pool.install(|| reader.read(b.start, b.len()));
                let failed = frames.is_err();
                if tx.send((b, frames, t.elapsed())).is_err() || failed {
                    break;
                }
            }
        });
        scope.spawn(move || {
            for (b, frames, read) in rx {
                let detected = frames.map(|frames| {
                    let t = Instant::now();
                    let steps = pool.install(|| {
                        frames
                            .par_iter()
                            .map(|f| detect_frame(tracker, f, meta))
                            .collect()
                    });
                    let times = BlockTimes {
                        read,
                        detect: t.elapsed(),
                    };
                    (
                        Detected {
                            start: b.start,
                            steps,
                        },
                        times,
                    )
                });
                let failed = detected.is_err();
                if dtx.send(detected).is_err() || failed {
                    break;
                }
            }
        });
        for detected in drx {
            let (d, times) = detected?;
            sink(d, times)?;
        }
        Ok(())
    })
}
