//! Backends: where frames are read and detected. All of them hand the steps'
//! centres to one linker in time order, so their tracks are identical.
//!
//! Frames are read in blocks of consecutive steps aligned with the file's
//! chunking in time, so memory stays bounded by a few blocks whatever the
//! length of the record; only the track store grows. Readers may hand out
//! frames decoded on use ([`crate::field::FrameSource`]); every backend drops
//! each frame as soon as it is detected, so such a block shrinks as it goes.

pub mod launcher;
pub mod memory;
#[cfg(feature = "mpi")]
pub mod mpi;
#[cfg(feature = "mpi")]
pub mod nodelay;
pub mod progress;
pub mod rayon_pool;
pub mod serial;
pub mod wire;

use std::ops::Range;
use std::time::Duration;

use serde::Serialize;

use crate::config::{BackendKind, TrackConfig};
use crate::detect::Centre;
use crate::error::{Error, Result};
use crate::io::{self, FieldMeta, FieldReader};
use crate::tracker::{Linker, Tracker};
use crate::tracks::{TrackMeta, Tracks};
use progress::Progress;

/// Target size of a block of decoded frames when the file does not dictate one.
const BLOCK_BYTES: usize = 24 << 20;
/// Largest block taken to follow the file's chunking.
const MAX_CHUNK_BLOCK_BYTES: usize = 512 << 20;

/// What a run did, for the summary and `--report`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    pub steps: usize,
    pub centres: usize,
    pub tracks: usize,
    pub points: usize,
    #[serde(serialize_with = "secs")]
    pub read: Duration,
    #[serde(serialize_with = "secs")]
    pub detect: Duration,
    #[serde(serialize_with = "secs")]
    pub link: Duration,
    /// CPU time of the linking thread while linking: `link` is wall-clock
    /// time, which includes time the thread waits for a core while reading
    /// and detecting threads run (under rayon and on MPI rank 0).
    #[serde(serialize_with = "secs")]
    pub link_cpu: Duration,
    /// CPU time spent matching steps to the steps before them ahead of the
    /// linker, on the detecting threads (of this process: rank 0 under MPI),
    /// not counted in `link_cpu`.
    #[serde(serialize_with = "secs")]
    pub match_ahead_cpu: Duration,
    #[serde(serialize_with = "secs")]
    pub write: Duration,
    #[serde(serialize_with = "secs")]
    pub total: Duration,
    pub backend: Option<BackendKind>,
    pub threads: usize,
    pub ranks: usize,
    pub block_steps: usize,
    /// Steps whose frame was entirely missing.
    pub missing_steps: Vec<usize>,
    /// Under MPI: what each rank did, and the slowest rank's phase times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpi: Option<MpiStats>,
}

/// What one MPI rank did.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct RankStats {
    pub rank: usize,
    /// First step of the rank's range and its number of steps.
    pub first_step: usize,
    pub steps: usize,
    pub centres: usize,
    /// Seconds spent reading and detecting (overlapping), and in all.
    pub read: f64,
    pub detect: f64,
    pub wall: f64,
}

/// The MPI part of a run's statistics, as rank 0 saw it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MpiStats {
    pub ranks: Vec<RankStats>,
    /// Largest read, detect and wall time over the ranks, seconds.
    pub max_read: f64,
    pub max_detect: f64,
    pub max_wall: f64,
    /// Seconds rank 0 waited for other ranks' centres after its own range.
    pub wait: f64,
}

impl MpiStats {
    pub fn new(ranks: Vec<RankStats>, wait: Duration) -> Self {
        let max = |f: fn(&RankStats) -> f64| ranks.iter().map(f).fold(0.0, f64::max);
        MpiStats {
            max_read: max(|r| r.read),
            max_detect: max(|r| r.detect),
            max_wall: max(|r| r.wall),
            wait: wait.as_secs_f64(),
            ranks,
        }
    }
}

/// The detected steps of one block: centres and whether the frame was
/// entirely missing, for steps `start..start + steps.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub start: usize,
    pub steps: Vec<Step>,
}

/// One detected time step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub centres: Vec<Centre>,
    /// Whether the frame was entirely missing.
    pub missing: bool,
    /// The step's matching to the step before, when computed ahead
    /// ([`Tracker::match_ahead`]); the linker computes it otherwise.
    pub links: Option<Vec<u32>>,
}

impl Step {
    pub fn new(centres: Vec<Centre>, missing: bool) -> Self {
        Step {
            centres,
            missing,
            links: None,
        }
    }
}

/// Time spent on one block.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockTimes {
    pub read: Duration,
    pub detect: Duration,
    /// CPU time spent matching steps ahead of the linker.
    pub match_ahead_cpu: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Steps per block for a field: a whole time chunk when the file is chunked
/// (partial reads of a compressed chunk would inflate it again and again),
/// else about `BLOCK_BYTES` (24 MiB) of frames.
pub fn block_steps(meta: &FieldMeta) -> usize {
    steps_per_block(meta.frame_bytes(), meta.chunk_steps)
}

fn steps_per_block(frame_bytes: usize, chunk_steps: Option<usize>) -> usize {
    let frame = frame_bytes.max(1);
    match chunk_steps {
        Some(c) if c >= 1 && c * frame <= MAX_CHUNK_BLOCK_BYTES => c,
        _ => (BLOCK_BYTES / frame).max(1),
    }
}

/// The blocks in which to read `range` of `reader`: cut at the boundaries of
/// its files, and within each file aligned with that file's chunks in time,
/// so no block makes two files or two partial chunks be read.
pub fn plan_blocks(reader: &dyn FieldReader, range: Range<usize>) -> Vec<Range<usize>> {
    let frame = reader.meta().frame_bytes();
    let mut plan = Vec::new();
    for seg in reader.segments() {
        let lo = range.start.max(seg.steps.start);
        let hi = range.end.min(seg.steps.end);
        if lo >= hi {
            continue;
        }
        let size = steps_per_block(frame, seg.chunk_steps);
        let mut s = lo;
        while s < hi {
            // Next chunk boundary of this file after `s`.
            let k = (s - seg.steps.start) / size + 1;
            let e = (seg.steps.start + k * size).min(hi);
            plan.push(s..e);
            s = e;
        }
    }
    plan
}

/// `plan` with every block longer than `max` steps cut into pieces of at
/// most `max` (to give every MPI rank work when a file has few chunks).
pub fn split_blocks(plan: Vec<Range<usize>>, max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    plan.into_iter().flat_map(|b| blocks(b, max)).collect()
}

/// Consecutive blocks covering `range`.
pub fn blocks(range: Range<usize>, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (range.start..range.end)
        .step_by(size)
        .map(move |s| s..(s + size).min(range.end))
}

/// Opens the input of a run: the only way backends (and every MPI rank) open
/// it. One file gives its plain reader, several a [`io::series::SeriesReader`]
/// that reads them as one time series.
pub fn open_input(cfg: &TrackConfig) -> Result<Box<dyn FieldReader>> {
    let reader = io::series::open(&cfg.inputs, &cfg.request)?;
    check_memory(reader.meta(), memory::available_bytes())?;
    let grid = &reader.meta().grid;
    // A window wider than the grid finds nothing anywhere: say so instead.
    if cfg.window > grid.rows() || cfg.window > grid.cols() {
        return Err(Error::Usage(format!(
            "--window {} is larger than the grid of '{}' ({} x {} points); give at most {}",
            cfg.window,
            reader.meta().variable,
            grid.rows(),
            grid.cols(),
            largest_odd(grid.rows().min(grid.cols()))
        )));
    }
    Ok(reader)
}

/// Frames a run holds at once at the least: the frame being decoded, the
/// one being detected and detection's working copy.
const FRAMES_AT_ONCE: u64 = 3;

/// Refuses a grid whose frames cannot fit in the memory this process may
/// use, before anything is allocated (a grid declared far larger than the
/// data written would otherwise exhaust the machine or abort).
fn check_memory(meta: &FieldMeta, available: Option<u64>) -> Result<()> {
    let frame = meta.frame_bytes() as u64;
    let Some(available) = available else {
        return Ok(());
    };
    if frame.saturating_mul(FRAMES_AT_ONCE) <= available {
        return Ok(());
    }
    let gb = |b: u64| format!("{:.1} GB", b as f64 / 1e9);
    Err(Error::input(
        &meta.path,
        format!(
            "the grid of '{}' is {} x {} points: one frame takes {} and a run needs at least {}, more than the {} this process may use (available memory, cgroup limit, ulimit -v); track a smaller region or a coarser grid (e.g. cdo sellonlatbox or remapbil)",
            meta.variable,
            meta.grid.rows(),
            meta.grid.cols(),
            gb(frame),
            gb(frame * FRAMES_AT_ONCE),
            gb(available)
        ),
    ))
}

/// The largest odd number not above `n` (at least 3).
fn largest_odd(n: usize) -> usize {
    if n % 2 == 1 { n } else { n.saturating_sub(1) }.max(3)
}

/// The track metadata of a field.
pub fn track_meta(cfg: &TrackConfig, meta: &FieldMeta) -> TrackMeta {
    TrackMeta {
        variable: meta.quantity.map_or_else(
            || cfg.request.name.clone(),
            |q| q.canonical_name().to_string(),
        ),
        units: meta.units.clone(),
        calendar: meta.calendar,
        time_known: meta.time_known,
    }
}

/// Links detected steps in order and keeps the statistics.
pub struct LinkStage {
    linker: Box<dyn Linker>,
    pub stats: RunStats,
}

impl LinkStage {
    pub fn new(tracker: &dyn Tracker, grid: &crate::grid::Grid) -> Self {
        LinkStage {
            linker: tracker.linker(grid),
            stats: RunStats::default(),
        }
    }

    /// Consumes the next step (global index `step`).
    pub fn push(&mut self, step: usize, time: i64, s: Step) {
        let t = std::time::Instant::now();
        let cpu = thread_cpu_time();
        self.stats.steps += 1;
        self.stats.centres += s.centres.len();
        if s.missing {
            self.stats.missing_steps.push(step);
        }
        self.linker.push(time, s.centres, s.links);
        self.stats.link += t.elapsed();
        self.stats.link_cpu += thread_cpu_time().saturating_sub(cpu);
    }

    /// Consumes the next block of steps, in order.
    pub fn push_block(&mut self, block: Detected, times: BlockTimes, meta: &FieldMeta) {
        self.stats.read += times.read;
        self.stats.detect += times.detect;
        self.stats.match_ahead_cpu += times.match_ahead_cpu;
        for (i, s) in block.steps.into_iter().enumerate() {
            let step = block.start + i;
            self.push(step, meta.times[step], s);
        }
    }

    pub fn finish(self, meta: TrackMeta) -> (Tracks, RunStats) {
        let t = std::time::Instant::now();
        let cpu = thread_cpu_time();
        let tracks = self.linker.finish(meta);
        let mut stats = self.stats;
        stats.link += t.elapsed();
        stats.link_cpu += thread_cpu_time().saturating_sub(cpu);
        stats.tracks = tracks.len();
        stats.points = tracks.num_points();
        (tracks, stats)
    }
}

/// What detecting one frame gave, and the time it took.
#[derive(Debug)]
pub struct FrameDetected {
    pub centres: Vec<Centre>,
    /// Whether the frame was entirely missing.
    pub missing: bool,
    /// Time spent decoding a deferred frame (reading, in the statistics).
    pub load: Duration,
    /// Time spent detecting.
    pub detect: Duration,
}

/// Loads one frame (decoding it if deferred), detects it and notes whether
/// it was entirely missing; the source is dropped (its memory given back)
/// before this returns.
pub fn detect_frame(
    tracker: &dyn Tracker,
    source: crate::field::FrameSource,
    meta: &FieldMeta,
) -> Result<FrameDetected> {
    detect_frame_then(tracker, source, meta, || {})
}

/// [`detect_frame`], running `between` once the frame is loaded, before it
/// is detected (not counted in the frame's times).
pub fn detect_frame_then(
    tracker: &dyn Tracker,
    source: crate::field::FrameSource,
    meta: &FieldMeta,
    between: impl FnOnce(),
) -> Result<FrameDetected> {
    let t = std::time::Instant::now();
    let frame = source.load()?;
    let load = t.elapsed();
    between();
    let t = std::time::Instant::now();
    let centres = tracker.detect(&frame, &meta.grid);
    let missing = centres.is_empty() && frame.all_missing();
    let detect = t.elapsed();
    Ok(FrameDetected {
        centres,
        missing,
        load,
        detect,
    })
}

/// CPU time consumed so far by the calling thread (zero where unavailable).
#[cfg(unix)]
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock id is a constant.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(unix))]
pub(crate) fn thread_cpu_time() -> Duration {
    Duration::ZERO
}

/// What a run produced, on the process that writes it.
pub struct RunOutput {
    pub tracks: Tracks,
    pub meta: FieldMeta,
    pub stats: RunStats,
    /// Under MPI, the MPI environment, finalised when dropped: the caller
    /// drops it while writing the output (on another thread), so that MPI's
    /// closing handshake with the other ranks overlaps the writing.
    pub session: Option<Box<dyn Send>>,
}

/// Runs detection and linking on the configured backend.
///
/// `preflight` runs once, on the process that will write the output, before
/// any frame is read (e.g. to check that the output can be created). Returns
/// `None` on MPI ranks other than 0: rank 0 alone writes and reports.
pub fn run(
    cfg: &TrackConfig,
    tracker: &dyn Tracker,
    preflight: &dyn Fn() -> Result<()>,
) -> Result<Option<RunOutput>> {
    memory::bound_frame_memory();
    match cfg.backend {
        #[cfg(feature = "mpi")]
        BackendKind::Mpi => mpi::run(cfg, tracker, preflight),
        _ => {
            preflight()?;
            run_local(cfg, tracker, cfg.backend).map(Some)
        }
    }
}

/// Runs in this process alone, serially or on a rayon pool.
pub fn run_local(cfg: &TrackConfig, tracker: &dyn Tracker, kind: BackendKind) -> Result<RunOutput> {
    let reader = open_input(cfg)?;
    let meta = reader.meta().clone();
    tracker.prepare(&meta)?;
    let range = cfg.selection.resolve(&meta)?;
    let steps = range.len();
    let plan = plan_blocks(reader.as_ref(), range);
    let block = plan.iter().map(|b| b.len()).max().unwrap_or(0);
    let mut stage = LinkStage::new(tracker, &meta.grid);
    let progress = Progress::new(steps, !cfg.quiet);
    let sink = |d: Detected, t: BlockTimes| {
        progress.advance(d.steps.len());
        stage.push_block(d, t, &meta);
        Ok(())
    };
    let threads = match kind {
        BackendKind::Serial => {
            serial::detect_blocks(reader, plan, tracker, sink)?;
            1
        }
        _ => {
            rayon_pool::detect_blocks(reader, plan, cfg.threads, tracker, sink)?;
            cfg.threads
        }
    };
    progress.finish();
    let (tracks, mut stats) = stage.finish(track_meta(cfg, &meta));
    stats.backend = Some(kind);
    stats.threads = threads;
    stats.ranks = 1;
    stats.block_steps = block;
    Ok(RunOutput {
        tracks,
        meta,
        stats,
        session: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_range() {
        let b: Vec<_> = blocks(3..10, 3).collect();
        assert_eq!(b, vec![3..6, 6..9, 9..10]);
        assert_eq!(blocks(0..1, 100).collect::<Vec<_>>(), vec![0..1]);
    }

    /// A reader with fixed segments, to test block planning without files.
    #[derive(Debug)]
    struct Segmented(FieldMeta, Vec<io::Segment>);

    impl FieldReader for Segmented {
        fn meta(&self) -> &FieldMeta {
            &self.0
        }
        fn read(&mut self, _: usize, _: usize) -> Result<Vec<crate::field::Frame>> {
            unreachable!("planning reads nothing")
        }
        fn segments(&self) -> Vec<io::Segment> {
            self.1.clone()
        }
    }

    fn meta(steps: usize) -> FieldMeta {
        FieldMeta {
            path: "x.nc".into(),
            format: io::FileFormat::Netcdf4,
            variable: "msl".into(),
            quantity: None,
            long_name: None,
            units: None,
            time_name: None,
            lat_name: "lat".into(),
            lon_name: "lon".into(),
            level: None,
            grid: crate::grid::Grid::new(vec![0.0; 2], vec![0.0; 2]),
            calendar: crate::time::Calendar::Standard,
            times: (0..steps as i64).collect(),
            time_known: true,
            value_type: crate::field::ValueType::F32,
            packing: None,
            chunk_steps: None,
        }
    }

    #[test]
    fn plan_cuts_at_files_and_aligns_with_chunks() {
        let seg = |steps: Range<usize>, c: usize| io::Segment {
            steps,
            chunk_steps: Some(c),
        };
        let r = Segmented(meta(10), vec![seg(0..4, 3), seg(4..10, 4)]);
        assert_eq!(plan_blocks(&r, 0..10), vec![0..3, 3..4, 4..8, 8..10]);
        // A selection starting mid-chunk first reaches the next chunk boundary.
        assert_eq!(plan_blocks(&r, 1..9), vec![1..3, 3..4, 4..8, 8..9]);
        assert_eq!(plan_blocks(&r, 5..7), vec![5..7]);
    }

    #[test]
    fn plan_of_a_single_file_is_the_plain_blocks() {
        let mut m = meta(1000);
        m.chunk_steps = Some(7);
        let r = Segmented(
            m.clone(),
            vec![io::Segment {
                steps: 0..1000,
                chunk_steps: Some(7),
            }],
        );
        assert_eq!(
            plan_blocks(&r, 0..1000),
            blocks(0..1000, 7).collect::<Vec<_>>()
        );
        assert_eq!(block_steps(&m), 7);
    }
}
