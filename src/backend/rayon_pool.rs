//! The threaded backend, a three-stage pipeline: a reader thread reads
//! blocks of frames (netCDF-C is not thread-safe, so reads stay on one
//! thread; readers that decode in parallel do so on the pool); the threads
//! of a rayon pool detect the blocks' frames as one stream, in order, and
//! match each step to the one before as soon as both are detected
//! ([`Tracker::match_ahead`], the bulk of linking); the calling thread hands
//! each block's centres on (to the linker) in order.
//! Reading, detecting and linking of consecutive blocks overlap.
//!
//! At most two blocks of frames exist at once (`QUEUE_DEPTH + 2` in general):
//! one being read and one being detected; finished blocks are only centres.
//! The pool's threads take the frames in order, the next block's once the
//! current one's are all taken (so no thread waits for a block's last frame
//! before starting on the next), and drop each once detected.
//!
//! Frames that a reader decodes on use (NetCDF-4 chunks holding whole frames,
//! see [`crate::field::FrameSource`]) cost nothing until detected: the
//! pool's threads decode them as they take them, and their memory goes back
//! frame by frame. Their first frame waits for most of its chunk to be
//! decoded, one thread at a time; so that no thread idles then, a pool thread
//! that finds the next block read decodes its first frame ahead
//! ([`crate::field::DecodeAhead`]) whenever the memory that the current block
//! gives back allows, and detects the current block's frames otherwise. It
//! also does so between loading a frame and detecting it: decoding a chunk is
//! one thread's work and the bottleneck of a run on few cores, so it should
//! not pause while every thread detects.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{detect_frame_then, thread_cpu_time, BlockTimes, Detected, FrameDetected, Step};
use crate::detect::Centre;
use crate::error::{Error, Result};
use crate::field::{AheadStep, DecodeAhead, FrameSource};
use crate::io::{FieldMeta, FieldReader};
use crate::tracker::Tracker;

/// Blocks queued between reader and detector: none, so the reader reads block
/// k + 1 while block k is detected and then waits to hand it over.
const QUEUE_DEPTH: usize = 0;
/// Blocks of centres detected ahead of the consumer.
const DETECTED_DEPTH: usize = 4;
/// Longest wait for the next block before a pool thread looks for other
/// pool work (the reader's).
const WAIT_FOR_BLOCK: Duration = Duration::from_micros(200);

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
    let (tx, rx) = sync_channel::<Read>(QUEUE_DEPTH);
    let (dtx, drx) = sync_channel::<Result<(Detected, BlockTimes)>>(DETECTED_DEPTH);
    let next_ahead: NextAhead = Mutex::new(None);
    let (meta, pool, next_ahead) = (&meta, &pool, &next_ahead);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            // Reads run on the pool (readers that decode in parallel do so
            // there) unless the first block came as frames decoded on use:
            // reading those is cheap, and the pool then detects all blocks as
            // one stream, which pool work waiting for it could deadlock.
            let mut on_pool = true;
            for (k, b) in plan.into_iter().enumerate() {
                let t = Instant::now();
                let frames = if on_pool {
                    pool.install(|| reader.read_sources(b.start, b.len()))
                } else {
                    reader.read_sources(b.start, b.len())
                };
                let read = t.elapsed();
                if k == 0 {
                    on_pool = !frames.as_ref().is_ok_and(|f| deferred(f));
                }
                let ahead = frames.as_ref().ok().and_then(|f| f.first()?.ahead());
                *next_ahead.lock().unwrap_or_else(PoisonError::into_inner) = ahead;
                let failed = frames.is_err();
                if tx.send((b, frames, read)).is_err() || failed {
                    break;
                }
            }
        });
        scope.spawn(move || {
            let Ok(first) = rx.recv() else {
                return;
            };
            if first.1.as_ref().is_ok_and(|f| deferred(f)) {
                // One stream: threads start on the next block as soon as
                // the current one's frames are all taken.
                let stream = Stream::new(Some(rx), &dtx, next_ahead);
                stream.open(&mut lock(&stream.feed), first);
                pool.broadcast(|_| stream.work(tracker, meta));
            } else {
                for block in std::iter::once(first).chain(rx.iter()) {
                    let stream = Stream::new(None, &dtx, next_ahead);
                    stream.open(&mut lock(&stream.feed), block);
                    pool.broadcast(|_| stream.work(tracker, meta));
                    if stream.stop.load(Ordering::Relaxed) {
                        break;
                    }
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

/// Matches claimed pairs of steps `(j, step j - 1, step j)`: step `j`'s
/// links and the CPU time they took.
fn match_pairs(
    tracker: &dyn Tracker,
    meta: &FieldMeta,
    pairs: Vec<(usize, Vec<Centre>, Vec<Centre>)>,
) -> Vec<(usize, Option<Vec<u32>>, Duration)> {
    pairs
        .into_iter()
        .map(|(j, mut previous, mut current)| {
            let cpu = thread_cpu_time();
            let links = tracker.match_ahead(&meta.grid, &mut previous, &mut current);
            // The step keeps its own order: links refer to the order that
            // match_ahead put the centres in, which the linker puts them in too.
            (j, links, thread_cpu_time().saturating_sub(cpu))
        })
        .collect()
}

type Read = (Range<usize>, Result<Vec<FrameSource>>, Duration);

/// Whether a block came as frames decoded on use.
fn deferred(frames: &[FrameSource]) -> bool {
    frames.iter().any(|s| matches!(s, FrameSource::Deferred(_)))
}

/// The blocks coming from the reader, as one stream of frames in order.
struct Feed {
    /// `None`: the one block opened is all.
    rx: Option<Receiver<Read>>,
    /// The block whose frames are being taken: its number and frames.
    current: Option<(usize, std::iter::Enumerate<std::vec::IntoIter<FrameSource>>)>,
    next_id: usize,
}

/// A block whose frames are being detected.
struct Open {
    start: usize,
    read: Duration,
    begun: Instant,
    results: Vec<Option<Result<FrameDetected>>>,
    left: usize,
    /// Each step's matching to the step before in the block (index 0
    /// unused), and the pairs of steps not yet matched (or given up).
    links: Vec<Option<Vec<u32>>>,
    pairs_left: usize,
    match_cpu: Duration,
}

impl Open {
    /// Records frame `i`, and returns the pairs of consecutive steps with
    /// both detected that it completes (claimed for the caller to match);
    /// a pair with a failed step is given up.
    fn record(
        &mut self,
        i: usize,
        detected: Result<FrameDetected>,
    ) -> Vec<(usize, Vec<Centre>, Vec<Centre>)> {
        self.results[i] = Some(detected);
        self.left -= 1;
        let mut claimed = Vec::new();
        for j in [i, i + 1] {
            if j == 0 || j >= self.results.len() {
                continue;
            }
            let (Some(a), Some(b)) = (&self.results[j - 1], &self.results[j]) else {
                continue;
            };
            match (a, b) {
                (Ok(a), Ok(b)) => claimed.push((j, a.centres.clone(), b.centres.clone())),
                _ => self.pairs_left -= 1,
            }
        }
        claimed
    }

    fn complete(&self) -> bool {
        self.left == 0 && self.pairs_left == 0
    }
}

/// Blocks being detected, handed on in order as they complete.
struct Out {
    /// By block number; `Err` for a block that could not be read.
    open: BTreeMap<usize, Result<Open>>,
    next: usize,
    /// Time spent decoding ahead since the last block handed on.
    ahead: Duration,
}

/// What the pool's threads share to detect the blocks as one stream.
struct Stream<'a> {
    feed: Mutex<Feed>,
    /// The current block's first frame: until it is ready that block's
    /// memory grows, and nothing is decoded ahead.
    first: Mutex<Option<Box<dyn DecodeAhead>>>,
    out: Mutex<Out>,
    dtx: &'a SyncSender<Result<(Detected, BlockTimes)>>,
    stop: AtomicBool,
    next_ahead: &'a NextAhead,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'a> Stream<'a> {
    fn new(
        rx: Option<Receiver<Read>>,
        dtx: &'a SyncSender<Result<(Detected, BlockTimes)>>,
        next_ahead: &'a NextAhead,
    ) -> Self {
        Stream {
            feed: Mutex::new(Feed {
                rx,
                current: None,
                next_id: 0,
            }),
            first: Mutex::new(None),
            out: Mutex::new(Out {
                open: BTreeMap::new(),
                next: 0,
                ahead: Duration::ZERO,
            }),
            dtx,
            stop: AtomicBool::new(false),
            next_ahead,
        }
    }

    /// One pool thread's work: decode the next block ahead while memory
    /// allows and no other thread is, else detect the next frame; until the
    /// reader is done or the run stops.
    fn work(&self, tracker: &dyn Tracker, meta: &FieldMeta) {
        while !self.stop.load(Ordering::Relaxed) {
            if self.decode_ahead() {
                continue;
            }
            let Some((id, i, source)) = self.take() else {
                break;
            };
            // Decoding a chunk is one thread's work and, with few threads,
            // the run's bottleneck: a thread with a frame loaded goes on
            // decoding ahead, if it may, before detecting it (another thread
            // detects meanwhile), so that decoding does not pause while
            // every thread detects.
            let detected =
                detect_frame_then(tracker, source, meta, || while self.decode_ahead() {});
            let mut out = lock(&self.out);
            let claimed = match out.open.get_mut(&id) {
                Some(Ok(open)) => open.record(i, detected),
                _ => Vec::new(),
            };
            if !claimed.is_empty() {
                // Matched outside the lock: other threads go on meanwhile.
                drop(out);
                let matched = match_pairs(tracker, meta, claimed);
                out = lock(&self.out);
                if let Some(Ok(open)) = out.open.get_mut(&id) {
                    for (j, links, cpu) in matched {
                        open.links[j] = links;
                        open.pairs_left -= 1;
                        open.match_cpu += cpu;
                    }
                }
            }
            self.hand_on(&mut out);
        }
    }

    /// One step of decoding the next block ahead, if this thread may take
    /// it (no other thread is, the current block's first frame is ready and
    /// memory allows): whether it did.
    fn decode_ahead(&self) -> bool {
        let settled = lock(&self.first).as_ref().is_none_or(|f| f.ready());
        let Some(mut slot) = self.next_ahead.try_lock().ok().filter(|_| settled) else {
            return false;
        };
        let Some(a) = slot.as_mut() else {
            return false;
        };
        let t = Instant::now();
        let step = a.step();
        lock(&self.out).ahead += t.elapsed();
        match step {
            AheadStep::Progressed => true,
            AheadStep::Done => {
                *slot = None;
                false
            }
            AheadStep::Wait => false,
        }
    }

    /// The next frame of the stream: block number, index in the block and
    /// source; `None` when there are no more.
    fn take(&self) -> Option<(usize, usize, FrameSource)> {
        let mut feed = lock(&self.feed);
        loop {
            if let Some((id, frames)) = &mut feed.current {
                if let Some((i, source)) = frames.next() {
                    return Some((*id, i, source));
                }
                feed.current = None;
            }
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            let next = feed.rx.as_ref()?.recv_timeout(WAIT_FOR_BLOCK);
            match next {
                Ok(block) => self.open(&mut feed, block),
                Err(RecvTimeoutError::Timeout) => {
                    // Let this thread run other pool work while it waits.
                    drop(feed);
                    rayon::yield_now();
                    feed = lock(&self.feed);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    feed.rx = None;
                    return None;
                }
            }
        }
    }

    /// Makes `block` the one whose frames are taken next.
    fn open(&self, feed: &mut Feed, (b, frames, read): Read) {
        let id = feed.next_id;
        feed.next_id += 1;
        let mut out = lock(&self.out);
        match frames {
            Ok(frames) => {
                *lock(&self.first) = frames.first().and_then(FrameSource::ahead);
                out.open.insert(
                    id,
                    Ok(Open {
                        start: b.start,
                        read,
                        begun: Instant::now(),
                        results: (0..frames.len()).map(|_| None).collect(),
                        left: frames.len(),
                        links: (0..frames.len()).map(|_| None).collect(),
                        pairs_left: frames.len().saturating_sub(1),
                        match_cpu: Duration::ZERO,
                    }),
                );
                feed.current = Some((id, frames.into_iter().enumerate()));
            }
            Err(e) => {
                out.open.insert(id, Err(e));
                feed.rx = None;
            }
        }
        self.hand_on(&mut out);
    }

    /// Hands on the complete blocks that are next in order.
    fn hand_on(&self, out: &mut Out) {
        loop {
            let next = out.next;
            match out.open.get(&next) {
                Some(Ok(open)) if open.complete() => {}
                Some(Err(_)) => {}
                _ => return,
            }
            let block = out.open.remove(&next).expect("present");
            out.next += 1;
            let ahead = std::mem::take(&mut out.ahead);
            let result = block.and_then(|open| finish(open, ahead));
            let failed = result.is_err();
            if self.dtx.send(result).is_err() || failed {
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// A complete block's centres, and its times: the stage's wall time, split
/// between decoding (reading, with `ahead`) and detecting as their CPU
/// times are.
fn finish(open: Open, ahead: Duration) -> Result<(Detected, BlockTimes)> {
    let wall = open.begun.elapsed();
    let steps = open
        .results
        .into_iter()
        .map(|r| r.expect("every frame was detected"))
        .collect::<Result<Vec<_>>>()?;
    let load: Duration = ahead + steps.iter().map(|d| d.load).sum::<Duration>();
    let busy = load + steps.iter().map(|d| d.detect).sum::<Duration>();
    let loading = if busy.is_zero() {
        Duration::ZERO
    } else {
        wall.mul_f64(load.as_secs_f64() / busy.as_secs_f64())
    };
    let times = BlockTimes {
        read: open.read + loading,
        detect: wall.saturating_sub(loading),
        match_ahead_cpu: open.match_cpu,
    };
    let steps = steps
        .into_iter()
        .zip(open.links)
        .map(|(d, links)| Step {
            centres: d.centres,
            missing: d.missing,
            links,
        })
        .collect();
    Ok((
        Detected {
            start: open.start,
            steps,
        },
        times,
    ))
}
