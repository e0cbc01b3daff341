//! The MPI backend: every rank opens the input itself, reads and detects its
//! own contiguous range of time steps (whole blocks, so ranks never share a
//! storage chunk) on its own thread, or on a rayon pool with `--threads` above
//! 1, and sends only the centres to rank 0, which links all steps strictly in
//! time order and alone writes and prints. Workers (ranks other than 0)
//! match each step to the one before ahead of sending, all but the first of
//! their range ([`crate::tracker::Tracker::match_ahead`]), and send those
//! matches with the centres, so rank 0 mostly numbers their tracks.
//!
//! Protocol (tags below). Start-up is collective: after opening the input
//! (and rank 0's output check) all ranks agree whether anyone failed; if so,
//! rank 0 reports the first failing rank's error and every rank stops
//! cleanly. After that, a worker sends `PROGRESS` after each block while it
//! detects, keeps its encoded blocks (centres only, see [`super::wire`]) and,
//! once its range is done and rank 0 says `GO`, sends them as `BLOCK`s
//! followed by `DONE` with its statistics; or `ERROR` with its one-line
//! message as soon as it fails.
//! Rank 0 links its own range as it goes, then each worker's blocks in rank
//! order, watching all the while for `ERROR` from any rank: on one (or on an
//! error of its own) it prints the message and calls `MPI_Abort`, so no rank
//! can be left waiting. A worker's failure ends the job with exit code 5
//! ([`crate::error::exit::MPI`]); rank 0's own with the error's usual code.
//!
//! Only the main thread of each rank calls MPI (`MPI_THREAD_FUNNELED`).

use std::time::{Duration, Instant};

use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::CommunicatorCollectives;
use mpi::Threading;

use super::progress::Progress;
use super::{
    block_steps, open_input, plan_blocks, rayon_pool, run_local, serial, split_blocks, track_meta,
    wire, BlockTimes, Detected, LinkStage, MpiStats, RankStats, RunOutput,
};
use crate::config::{BackendKind, TrackConfig};
use crate::detect::Centre;
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::io::FieldReader;
use crate::tracker::Tracker;

const TAG_BLOCK: i32 = 1;
const TAG_DONE: i32 = 2;
const TAG_ERROR: i32 = 3;
const TAG_PROGRESS: i32 = 4;
const TAG_SETUP_ERROR: i32 = 5;
const TAG_GO: i32 = 6;

/// How long a rank sleeps when no message is waiting. Blocking MPI calls
/// spin on a core (Open MPI polls), which would starve the ranks still
/// detecting; waits that may be long poll with sleeps instead.
const POLL: Duration = Duration::from_millis(1);

/// Runs the job on all ranks of `MPI_COMM_WORLD`.
pub fn run(
    cfg: &TrackConfig,
    tracker: &dyn Tracker,
    preflight: &dyn Fn() -> Result<()>,
) -> Result<Option<RunOutput>> {
    let started = Instant::now();
    let (universe, _) = mpi::initialize_with_threading(Threading::Funneled)
        .ok_or_else(|| Error::Mpi("MPI was already initialised in this process".into()))?;
    // Before this process opens sockets of its own: only MPI's are there.
    super::nodelay::tcp_nodelay_all();
    let world = universe.world();
    let (size, rank) = (world.size() as usize, world.rank() as usize);
    if size == 1 {
        if !cfg.quiet {
            crate::note!(
                "stormtrack: --backend mpi with a single rank: running in this process on {} thread{} (like --backend rayon)",
                cfg.threads,
                if cfg.threads == 1 { "" } else { "s" }
            );
        }
        preflight()?;
        let mut out = run_local(cfg, tracker, BackendKind::Rayon)?;
        out.stats.backend = Some(BackendKind::Mpi);
        return Ok(Some(out));
    }
    let setup = setup(cfg, rank, preflight).and_then(|(reader, range)| {
        tracker.prepare(reader.meta())?;
        Ok((reader, range))
    });
    let reader = agree_on_setup(&world, setup)?;
    let Some((reader, range)) = reader else {
        return Ok(None);
    };
    let meta = reader.meta().clone();
    let block = rank_block_steps(&meta, range.len(), size);
    // Blocks cut at file and chunk boundaries, split further so every rank works.
    let all = split_blocks(plan_blocks(reader.as_ref(), range.clone()), block);
    let span = share(&all, size, rank);
    let mine: Vec<_> = all
        .iter()
        .filter(|b| span.contains(&b.start))
        .cloned()
        .collect();
    if rank != 0 {
        crate::interrupt::set_quiet();
        work(&world, reader, span.start, mine, cfg, tracker, started);
        return Ok(None);
    }
    let progress = Progress::new(range.len(), !cfg.quiet);
    let mut root = Root {
        world: &world,
        progress: &progress,
        stage: LinkStage::new(tracker, &meta.grid),
        ranks: Vec::with_capacity(size),
    };
    let first = span.start;
    let own = detect_range(reader, mine, cfg, tracker, |d, t| {
        root.progress.advance(d.steps.len());
        root.stage.push_block(d, t, &meta);
        root.poll_any()
    });
    if let Err(e) = own {
        root.fail(e);
    }
    let own_stats = &root.stage.stats;
    root.ranks.push(RankStats {
        rank: 0,
        first_step: first,
        steps: own_stats.steps,
        centres: own_stats.centres,
        read: own_stats.read.as_secs_f64(),
        detect: own_stats.detect.as_secs_f64(),
        wall: started.elapsed().as_secs_f64(),
    });
    let waited = Instant::now();
    let mut link_time = root.stage.stats.link;
    for r in 1..size {
        progress.message(format!("linking rank {r}"));
        root.collect(r, &meta);
    }
    link_time = root.stage.stats.link - link_time;
    let wait = waited.elapsed().saturating_sub(link_time);
    progress.finish();
    let Root { stage, ranks, .. } = root;
    let (tracks, mut stats) = stage.finish(track_meta(cfg, &meta));
    stats.read = Duration::from_secs_f64(ranks[0].read);
    stats.detect = Duration::from_secs_f64(ranks[0].detect);
    stats.backend = Some(BackendKind::Mpi);
    stats.threads = cfg.threads;
    stats.ranks = size;
    stats.block_steps = block;
    stats.mpi = Some(MpiStats::new(ranks, wait));
    Ok(Some(RunOutput {
        tracks,
        meta,
        stats,
        session: Some(Box::new(universe)),
    }))
}

/// Opens the input on this rank (and checks the output on rank 0).
fn setup(
    cfg: &TrackConfig,
    rank: usize,
    preflight: &dyn Fn() -> Result<()>,
) -> Result<(Box<dyn FieldReader>, std::ops::Range<usize>)> {
    if rank == 0 {
        preflight()?;
    }
    let reader = open_input(cfg)?;
    let range = cfg.selection.resolve(reader.meta())?;
    Ok((reader, range))
}

type Setup = (Box<dyn FieldReader>, std::ops::Range<usize>);

/// Finds out collectively whether any rank failed to start. On rank 0, a
/// failure becomes the error of the lowest failing rank; elsewhere `None`.
fn agree_on_setup(world: &SimpleCommunicator, setup: Result<Setup>) -> Result<Option<Setup>> {
    let (size, rank) = (world.size(), world.rank());
    let mine = if setup.is_err() { rank } else { size };
    let mut first_failed = size;
    world.all_reduce_into(
        &mine,
        &mut first_failed,
        mpi::collective::SystemOperation::min(),
    );
    if first_failed == size {
        return setup.map(Some);
    }
    match (rank, setup) {
        (0, Err(e)) => Err(e),
        (0, Ok(_)) => {
            let (bytes, _) = world
                .process_at_rank(first_failed)
                .receive_vec_with_tag::<u8>(TAG_SETUP_ERROR);
            Err(remote_error(first_failed as usize, &bytes))
        }
        (r, Err(e)) if r == first_failed => {
            world
                .process_at_rank(0)
                .send_with_tag(encode_error(&e).as_slice(), TAG_SETUP_ERROR);
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Steps per block under MPI. A file chunked in time is read a whole chunk
/// at a time, so no two ranks decompress the same chunk, unless there are
/// fewer chunks than ranks: then each rank reads its share of a chunk. Other
/// files get about four blocks per rank, so reading overlaps detection and
/// shares can be weighted (see [`share`]).
fn rank_block_steps(meta: &crate::io::FieldMeta, steps: usize, size: usize) -> usize {
    let block = block_steps(meta);
    match meta.chunk_steps {
        Some(_) if steps.div_ceil(block) >= size => block,
        _ => block.min(steps.div_ceil(4 * size)).max(1),
    }
}

/// Rank 0's cost of linking a step relative to reading and detecting it.
/// The ranks match their steps ahead, so rank 0 only numbers the tracks and
/// applies the time-gap rule: on ERA5-like 0.25° MSL series, 0.12 ms a step
/// against 7 ms, about 0.015-0.02. (It was 0.03 before matching moved to
/// the ranks; 480 steps on 2 ranks then split 19 blocks to 21, and rank 1
/// finished 0.19 s after rank 0.)
const LINK_COST: f64 = 0.015;

/// Relative amount of reading and detecting given to `rank`: rank 0 also
/// links every step, so it gets less (none from 68 ranks on, when it is
/// busy enough linking), and all ranks finish at about the same time.
fn weight(size: usize, rank: usize) -> f64 {
    if rank == 0 {
        (1.0 + LINK_COST - size as f64 * LINK_COST).max(0.0)
    } else {
        1.0 + LINK_COST
    }
}

/// The contiguous share of `blocks` of `rank` among `size` ranks, whole
/// blocks in rank order, in proportion to [`weight`].
fn share(blocks: &[std::ops::Range<usize>], size: usize, rank: usize) -> std::ops::Range<usize> {
    let n = blocks.len();
    let total: f64 = (0..size).map(|r| weight(size, r)).sum();
    let bound = |r: usize| -> usize {
        let before: f64 = (0..r).map(|q| weight(size, q)).sum();
        ((n as f64 * before / total).round() as usize).min(n)
    };
    let (a, b) = (
        bound(rank),
        if rank + 1 == size { n } else { bound(rank + 1) },
    );
    if a >= b {
        let at = blocks
            .get(a)
            .map_or_else(|| blocks.last().map_or(0, |l| l.end), |x| x.start);
        return at..at;
    }
    blocks[a].start..blocks[b - 1].end
}

/// A worker: detect its blocks, then send their centres, or an error.
fn work(
    world: &SimpleCommunicator,
    reader: Box<dyn FieldReader>,
    first_step: usize,
    blocks: Vec<std::ops::Range<usize>>,
    cfg: &TrackConfig,
    tracker: &dyn Tracker,
    started: Instant,
) {
    let root = world.process_at_rank(0);
    let mut out = Vec::new();
    let mut stats = RankStats {
        rank: world.rank() as usize,
        first_step,
        ..RankStats::default()
    };
    // Once rank 0 has said GO (it has linked everything before this rank's
    // range), blocks are sent as soon as they are detected, so rank 0 links
    // them while this rank is still working.
    let mut go = false;
    let grid = reader.meta().grid.clone();
    let mut ahead = MatchAhead::default();
    let res = detect_range(reader, blocks, cfg, tracker, |mut d, t| {
        ahead.fill(tracker, &grid, &mut d);
        stats.steps += d.steps.len();
        stats.centres += d.steps.iter().map(|s| s.centres.len()).sum::<usize>();
        stats.read += t.read.as_secs_f64();
        stats.detect += t.detect.as_secs_f64();
        let steps = (d.steps.len() as u64).to_le_bytes();
        root.send_with_tag(&steps[..], TAG_PROGRESS);
        out.push(wire::encode(&d));
        go = go || received(&root, TAG_GO);
        if go {
            for block in out.drain(..) {
                root.send_with_tag(block.as_slice(), TAG_BLOCK);
            }
        }
        Ok(())
    });
    if let Err(e) = res {
        root.send_with_tag(encode_error(&e).as_slice(), TAG_ERROR);
        // Rank 0 aborts the job on an error; wait for that.
        wait_for(&root, TAG_GO);
        return;
    }
    // Sends complete only as rank 0 receives, after its own range and the
    // ranks before this one: wait for its word without spinning.
    if !go {
        wait_for(&root, TAG_GO);
    }
    for block in out {
        root.send_with_tag(block.as_slice(), TAG_BLOCK);
    }
    stats.wall = started.elapsed().as_secs_f64();
    let json = serde_json::to_vec(&stats).expect("plain statistics serialise");
    root.send_with_tag(json.as_slice(), TAG_DONE);
}

/// Reads and detects `blocks` in order, giving each block's centres to
/// `sink`. With one thread a rank works like `--backend serial`, all on its
/// own thread: with a rank on every core, reader and pool threads would only
/// take turns on that core (two single-threaded 120-step runs side by side
/// on 2 cores took 0.90 s, against 0.935 s for one-thread pools).
fn detect_range(
    reader: Box<dyn FieldReader>,
    blocks: Vec<std::ops::Range<usize>>,
    cfg: &TrackConfig,
    tracker: &dyn Tracker,
    sink: impl FnMut(Detected, BlockTimes) -> Result<()>,
) -> Result<()> {
    if cfg.threads <= 1 {
        serial::detect_blocks(reader, blocks, tracker, sink)
    } else {
        rayon_pool::detect_blocks(reader, blocks, cfg.threads, tracker, sink)
    }
}

/// Matches each step of a worker's range to the step before it (across its
/// blocks too) where that was not done yet, so that rank 0, which links the
/// steps of every rank one after another, only has to number the tracks.
/// Only a range's first step is left to rank 0, which has the step before.
#[derive(Default)]
struct MatchAhead {
    /// The previous step's centres (any order: matching sorts them).
    last: Option<Vec<Centre>>,
}

impl MatchAhead {
    fn fill(&mut self, tracker: &dyn Tracker, grid: &Grid, block: &mut Detected) {
        for step in &mut block.steps {
            let mut current = step.centres.clone();
            if let (None, Some(previous)) = (&step.links, &mut self.last) {
                // The step keeps its own order: the links refer to the
                // order match_ahead puts the centres in, as the linker does.
                step.links = tracker.match_ahead(grid, previous, &mut current);
            }
            self.last = Some(current);
        }
    }
}

/// Whether a message with `tag` from `from` has arrived (and takes it).
fn received(from: &mpi::topology::Process<'_>, tag: i32) -> bool {
    match from.immediate_matched_probe_with_tag(tag) {
        Some(m) => {
            let _ = m.matched_receive_vec::<u8>();
            true
        }
        None => false,
    }
}

/// Waits, sleeping between probes, for a message with `tag` from `from`.
fn wait_for(from: &mpi::topology::Process<'_>, tag: i32) {
    loop {
        if let Some(m) = from.immediate_matched_probe_with_tag(tag) {
            let _ = m.matched_receive_vec::<u8>();
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// Rank 0's state while it links.
struct Root<'a> {
    world: &'a SimpleCommunicator,
    progress: &'a Progress,
    stage: LinkStage,
    ranks: Vec<RankStats>,
}

impl Root<'_> {
    /// Handles progress notes and errors from any rank, without waiting.
    fn poll_any(&mut self) -> Result<()> {
        let any = self.world.any_process();
        if let Some(m) = any.immediate_matched_probe_with_tag(TAG_ERROR) {
            let (bytes, status) = m.matched_receive_vec::<u8>();
            return Err(remote_error(status.source_rank() as usize, &bytes));
        }
        while let Some(m) = any.immediate_matched_probe_with_tag(TAG_PROGRESS) {
            let (bytes, _) = m.matched_receive_vec::<u8>();
            self.progress.advance(steps_of(&bytes));
        }
        Ok(())
    }

    /// Links rank `r`'s blocks, in order, until its `DONE`.
    fn collect(&mut self, r: usize, meta: &crate::io::FieldMeta) {
        let from = self.world.process_at_rank(r as i32);
        from.send_with_tag(&[0u8][..], TAG_GO);
        loop {
            if let Err(e) = self.poll_any() {
                self.fail(e);
            }
            // Any tag: messages from one rank are matched in the order sent.
            let Some(m) = from.immediate_matched_probe() else {
                std::thread::sleep(POLL);
                continue;
            };
            let (bytes, status) = m.matched_receive_vec::<u8>();
            match status.tag() {
                TAG_BLOCK => match wire::decode(&bytes) {
                    Some(d) => self.stage.push_block(d, BlockTimes::default(), meta),
                    None => self.fail(Error::Mpi(format!(
                        "rank {r} sent a malformed block of centres ({} bytes)",
                        bytes.len()
                    ))),
                },
                TAG_DONE => {
                    let stats = serde_json::from_slice(&bytes).unwrap_or_default();
                    self.ranks.push(stats);
                    return;
                }
                TAG_PROGRESS => self.progress.advance(steps_of(&bytes)),
                TAG_ERROR => self.fail(remote_error(r, &bytes)),
                tag => self.fail(Error::Mpi(format!(
                    "rank {r} sent an unknown message (tag {tag})"
                ))),
            }
        }
    }

    /// Prints the error as the job's one line and aborts every rank.
    fn fail(&self, e: Error) -> ! {
        self.progress.finish();
        let code = crate::cli::report(&anyhow::Error::from(e));
        crate::interrupt::set_quiet();
        self.world.abort(code)
    }
}

/// An error as sent to rank 0: its one-line message.
fn encode_error(e: &Error) -> Vec<u8> {
    e.to_string().into_bytes()
}

/// The error rank 0 reports for another rank's failure.
fn remote_error(rank: usize, bytes: &[u8]) -> Error {
    Error::Mpi(format!("rank {rank}: {}", String::from_utf8_lossy(bytes)))
}

/// A count of steps as sent in `PROGRESS`.
fn steps_of(bytes: &[u8]) -> usize {
    bytes
        .try_into()
        .map_or(0, |b: [u8; 8]| u64::from_le_bytes(b) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::blocks;

    fn simple_tracker() -> crate::tracker::SimpleTracker {
        use crate::detect::{DetectConfig, Mode};
        crate::tracker::SimpleTracker {
            detect: DetectConfig {
                mode: Mode::Min,
                window: 5,
                threshold: 0.0,
            },
            radius: crate::units::Distance::from_km(500.0),
        }
    }

    /// Pseudo-random steps of up to 12 centres that drift a few degrees a
    /// step, some steps empty, with a gap in time after step 20.
    fn random_steps(seed: u64, n: usize) -> Vec<(i64, Vec<Centre>)> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut next = move |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % m
        };
        (0..n)
            .map(|k| {
                let time = 6 * 3600 * k as i64 + if k > 20 { 12 * 3600 } else { 0 };
                let count = if next(5) == 0 { 0 } else { next(13) as usize };
                let centres = (0..count)
                    .map(|_| Centre {
                        row: 0,
                        col: 0,
                        lat: next(40) as f64 * 0.5 + 30.0,
                        lon: next(60) as f64 * 0.5 + 100.0,
                        value: 1.0e5,
                    })
                    .collect();
                (time, centres)
            })
            .collect()
    }

    #[test]
    fn matching_ahead_on_a_worker_gives_the_tracks_the_linker_gives() {
        let tracker = simple_tracker();
        let grid = Grid::new(vec![0.0], vec![0.0]);
        let meta = crate::tracks::TrackMeta::new("msl");
        for seed in 0..40u64 {
            let steps = random_steps(seed, 36);
            let alone = {
                let mut linker = tracker.linker(&grid);
                for (t, c) in &steps {
                    linker.push(*t, c.clone(), None);
                }
                linker.finish(meta.clone())
            };
            // A worker's range from `first`, in blocks of `size` steps; the
            // steps before it are rank 0's own (matched by its linker).
            let first = (seed % 23) as usize;
            let size = 1 + (seed % 5) as usize;
            let mut ahead = MatchAhead::default();
            let mut linker = tracker.linker(&grid);
            for (t, c) in &steps[..first] {
                linker.push(*t, c.clone(), None);
            }
            let mut matched = 0;
            for start in (first..steps.len()).step_by(size) {
                let end = (start + size).min(steps.len());
                let mut block = Detected {
                    start,
                    steps: steps[start..end]
                        .iter()
                        .map(|(_, c)| super::super::Step::new(c.clone(), c.is_empty()))
                        .collect(),
                };
                ahead.fill(&tracker, &grid, &mut block);
                for (s, step) in block.steps.into_iter().enumerate() {
                    matched += usize::from(step.links.is_some());
                    assert_eq!(
                        step.links.is_some(),
                        start + s > first,
                        "step {}",
                        start + s
                    );
                    linker.push(steps[start + s].0, step.centres, step.links);
                }
            }
            assert_eq!(matched, steps.len() - first - 1);
            assert_eq!(linker.finish(meta.clone()), alone, "seed {seed}");
        }
    }

    #[test]
    fn shares_are_contiguous_whole_blocks() {
        // 20 blocks of 5 steps. Two ranks: weights 0.985 and 1.015, 9.85 of
        // the 20 blocks round to 10.
        let b: Vec<_> = blocks(0..100, 5).collect();
        assert_eq!(share(&b, 2, 0), 0..50);
        assert_eq!(share(&b, 2, 1), 50..100);
        // Three ranks: 0.97, 1.015, 1.015.
        assert_eq!(share(&b, 3, 0), 0..30);
        assert_eq!(share(&b, 3, 1), 30..65);
        assert_eq!(share(&b, 3, 2), 65..100);
        // 40 blocks on two ranks: 19.7 round to 20 (with 0.03 it was 19).
        let forty: Vec<_> = blocks(0..480, 12).collect();
        assert_eq!(share(&forty, 2, 0), 0..240);
        // 68 ranks: rank 0 only links.
        assert_eq!(weight(68, 0), 0.0);
        assert_eq!(share(&b, 68, 0), 0..0);
        for size in [35, 68] {
            let covered: usize = (0..size).map(|r| share(&b, size, r).len()).sum();
            assert_eq!(covered, 100);
        }
        for size in 1..10 {
            let mut next = 0;
            for r in 0..size {
                let s = share(&b, size, r);
                assert!(s.is_empty() || s.start == next, "contiguous in rank order");
                next = next.max(s.end);
            }
            assert_eq!(next, 100, "{size} ranks cover every step");
        }
        let one: Vec<_> = blocks(0..2, 3).collect();
        assert_eq!(share(&one, 3, 0), 0..0);
        assert_eq!(share(&one, 3, 2).end, 2);
    }
}
