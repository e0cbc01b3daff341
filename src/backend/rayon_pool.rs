//! The threaded backend: one reader thread fills a bounded queue of blocks
//! (netCDF-C is not thread-safe, so reads stay on one thread) while a rayon
//! pool detects the frames of the previous block in parallel; the calling
//! thread links each block's steps in order.

use std::ops::Range;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{detect_frame, LinkStage};
use crate::error::{Error, Result};
use crate::field::Frame;
use crate::io::FieldReader;
use crate::tracker::Tracker;

/// Blocks read ahead of detection.
const QUEUE_DEPTH: usize = 1;

pub fn run(
    mut reader: Box<dyn FieldReader>,
    plan: Vec<Range<usize>>,
    threads: usize,
    tracker: &dyn Tracker,
    stage: &mut LinkStage,
) -> Result<()> {
    let meta = reader.meta().clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("stormtrack-detect-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;
    let pool = &pool;
    let (tx, rx) = sync_channel::<(Range<usize>, Result<Vec<Frame>>, Duration)>(QUEUE_DEPTH);
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
        for (b, frames, read_time) in rx {
            stage.stats.read += read_time;
            let frames = frames?;
            let t = Instant::now();
            let detected: Vec<_> = pool.install(|| {
                frames
                    .par_iter()
                    .map(|f| detect_frame(tracker, f, &meta))
                    .collect()
            });
            stage.stats.detect += t.elapsed();
            drop(frames);
            for (i, (centres, missing)) in detected.into_iter().enumerate() {
                let step = b.start + i;
                stage.push(step, meta.times[step], centres, missing);
            }
        }
        Ok(())
    })
}
