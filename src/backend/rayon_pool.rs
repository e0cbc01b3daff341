//! The threaded backend, a three-stage pipeline: a reader thread fills a
//! bounded queue of blocks of frames (netCDF-C is not thread-safe, so reads
//! stay on one thread); a detector thread runs each block through a rayon
//! pool; the calling thread hands each block's centres on (to the linker) in
//! order. Reading, detecting and linking of consecutive blocks overlap.
//!
//! At most two blocks of frames exist at once (`QUEUE_DEPTH + 2` in general):
//! one being read and one being detected; finished blocks are only centres.
//! The pool's threads take a block's frames in order and drop each once
//! detected.
//!
//! Frames that a reader decodes on use (NetCDF-4 chunks holding whole frames,
//! see [`crate::field::FrameSource`]) cost nothing until detected: the
//! pool's threads decode them as they take them, and their memory goes back
//! frame by frame. Their first frame waits for most of its chunk to be
//! decoded, one thread at a time; so that no thread idles then, a pool thread
//! that finds the next block read decodes its first frame ahead
//! ([`crate::field::DecodeAhead`]) whenever the memory that the current block
//! gives back allows, and detects the current block's frames otherwise.

use std::ops::Range;
use std::sync::mpsc::sync_channel;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{detect_frame, BlockTimes, Detected, FrameDetected};
use crate::error::{Error, Result};
use crate::field::{AheadStep, DecodeAhead, FrameSource};
use crate::io::{FieldMeta, FieldReader};
use crate::tracker::Tracker;

/// Blocks queued between reader and detector: none, so the reader reads block
/// k + 1 while block k is detected and then waits to hand it over.
const QUEUE_DEPTH: usize = 0;
/// Blocks of centres detected ahead of the consumer.
const DETECTED_DEPTH: usize = 4;

/// The next block's first frame, for the pool to decode ahead.
type NextAhead = Mutex<Option<Box<dyn DecodeAhead>>>;

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
    type Read = (Range<usize>, Result<Vec<FrameSource>>, Duration);
    let (tx, rx) = sync_channel::<Read>(QUEUE_DEPTH);
    let (dtx, drx) = sync_channel::<Result<(Detected, BlockTimes)>>(DETECTED_DEPTH);
    let next_ahead: NextAhead = Mutex::new(None);
    let (meta, pool, next_ahead) = (&meta, &pool, &next_ahead);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            // Whether the last block came as frames decoded on use: reading
            // those is cheap, so the next read runs here at once rather than
            // wait for a busy pool thread (and so can be decoded ahead).
            let mut deferred = false;
            for b in plan {
                let t = Instant::now();
                let frames = if deferred {
                    reader.read_sources(b.start, b.len())
                } else {
                    pool.install(|| reader.read_sources(b.start, b.len()))
                };
                let read = t.elapsed();
                deferred = frames
                    .as_ref()
                    .is_ok_and(|f| f.iter().any(|s| matches!(s, FrameSource::Deferred(_))));
                let ahead = frames.as_ref().ok().and_then(|f| f.first()?.ahead());
                *next_ahead.lock().unwrap_or_else(PoisonError::into_inner) = ahead;
                let failed = frames.is_err();
                if tx.send((b, frames, read)).is_err() || failed {
                    break;
                }
            }
        });
        scope.spawn(move || {
            for (b, frames, read) in rx {
                let detected = frames.and_then(|frames| {
                    let t = Instant::now();
                    let (steps, ahead) = detect_in_order(pool, frames, tracker, meta, next_ahead);
                    let steps = steps?;
                    // The stage's wall time, split between decoding (reading)
                    // and detecting as their CPU times are.
                    let wall = t.elapsed();
                    let load: Duration = ahead + steps.iter().map(|d| d.load).sum::<Duration>();
                    let busy = load + steps.iter().map(|d| d.detect).sum::<Duration>();
                    let loading = if busy.is_zero() {
                        Duration::ZERO
                    } else {
                        wall.mul_f64(load.as_secs_f64() / busy.as_secs_f64())
                    };
                    let times = BlockTimes {
                        read: read + loading,
                        detect: wall.saturating_sub(loading),
                    };
                    let steps = steps.into_iter().map(|d| (d.centres, d.missing)).collect();
                    Ok((
                        Detected {
                            start: b.start,
                            steps,
                        },
                        times,
                    ))
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

/// Detects `frames` on every thread of `pool`, each taking the next frame in
/// order (so deferred frames are decoded, and their memory given back, front
/// to back), and decoding the next block ahead (`next_ahead`) in between when
/// memory allows and no other thread is. Returns the frames' results in order
/// and the time spent decoding ahead.
fn detect_in_order(
    pool: &rayon::ThreadPool,
    frames: Vec<FrameSource>,
    tracker: &dyn Tracker,
    meta: &FieldMeta,
    next_ahead: &NextAhead,
) -> (Result<Vec<FrameDetected>>, Duration) {
    let count = frames.len();
    // This block's first frame: until it is ready this block's memory grows,
    // and nothing is decoded ahead.
    let first = frames.first().and_then(FrameSource::ahead);
    let queue = Mutex::new(frames.into_iter().enumerate());
    let per_thread = pool.broadcast(|_| {
        let mut done = Vec::new();
        let mut ahead = Duration::ZERO;
        loop {
            let settled = first.as_ref().is_none_or(|f| f.ready());
            if let Some(mut slot) = next_ahead.try_lock().ok().filter(|_| settled) {
                if let Some(a) = slot.as_mut() {
                    let t = Instant::now();
                    let step = a.step();
                    ahead += t.elapsed();
                    match step {
                        AheadStep::Progressed => continue,
                        AheadStep::Done => *slot = None,
                        AheadStep::Wait => {}
                    }
                }
            }
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((i, source)) = next else {
                break;
            };
            done.push((i, detect_frame(tracker, source, meta)));
        }
        (done, ahead)
    });
    let mut results: Vec<Option<Result<FrameDetected>>> = (0..count).map(|_| None).collect();
    let mut ahead = Duration::ZERO;
    for (done, t) in per_thread {
        ahead += t;
        for (i, r) in done {
            results[i] = Some(r);
        }
    }
    let steps = results
        .into_iter()
        .map(|r| r.expect("every frame was taken"))
        .collect();
    (steps, ahead)
}
