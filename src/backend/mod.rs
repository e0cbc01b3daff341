//! Backends: where frames are read and detected. All of them hand the steps'
//! centres to one linker in time order, so their tracks are identical.
//!
//! Frames are read in blocks of consecutive steps aligned with the file's
//! chunking in time, so memory stays bounded by a few blocks whatever the
//! length of the record; only the track store grows.

pub mod rayon_pool;
pub mod serial;

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::config::{BackendKind, TrackConfig};
use crate::detect::Centre;
use crate::error::Result;
use crate::io::{self, FieldMeta, FieldReader};
use crate::tracker::{Linker, Tracker};
use crate::tracks::{TrackMeta, Tracks};

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
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Steps per block for a field: a whole time chunk when the file is chunked
/// (partial reads of a compressed chunk would inflate it again and again),
/// else about [`BLOCK_BYTES`] of frames.
pub fn block_steps(meta: &FieldMeta) -> usize {
    let frame = meta.frame_bytes().max(1);
    match meta.chunk_steps {
        Some(c) if c >= 1 && c * frame <= MAX_CHUNK_BLOCK_BYTES => c,
        _ => (BLOCK_BYTES / frame).max(1),
    }
}

/// Consecutive blocks covering `range`.
pub fn blocks(range: Range<usize>, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (range.start..range.end)
        .step_by(size)
        .map(move |s| s..(s + size).min(range.end))
}

/// Opens the input of a run.
pub fn open_input(cfg: &TrackConfig) -> Result<Box<dyn FieldReader>> {
    let path: &Path = &cfg.inputs[0];
    io::open(path, &cfg.request)
}

/// The track metadata of a field.
pub fn track_meta(cfg: &TrackConfig, meta: &FieldMeta) -> TrackMeta {
    TrackMeta {
        variable: cfg.request.name.clone(),
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
    pub fn push(&mut self, step: usize, time: i64, centres: Vec<Centre>, all_missing: bool) {
        let t = std::time::Instant::now();
        self.stats.steps += 1;
        self.stats.centres += centres.len();
        if all_missing {
            self.stats.missing_steps.push(step);
        }
        self.linker.push(time, centres);
        self.stats.link += t.elapsed();
    }

    pub fn finish(self, meta: TrackMeta) -> (Tracks, RunStats) {
        let t = std::time::Instant::now();
        let tracks = self.linker.finish(meta);
        let mut stats = self.stats;
        stats.link += t.elapsed();
        stats.tracks = tracks.len();
        stats.points = tracks.num_points();
        (tracks, stats)
    }
}

/// Detects one frame and notes whether it was entirely missing.
pub fn detect_frame(
    tracker: &dyn Tracker,
    frame: &crate::field::Frame,
    meta: &FieldMeta,
) -> (Vec<Centre>, bool) {
    let centres = tracker.detect(frame, &meta.grid);
    let missing = centres.is_empty() && frame.all_missing();
    (centres, missing)
}

/// Runs detection and linking on the configured backend.
pub fn run(cfg: &TrackConfig, tracker: &dyn Tracker) -> Result<(Tracks, FieldMeta, RunStats)> {
    let reader = open_input(cfg)?;
    let meta = reader.meta().clone();
    let range = cfg.selection.resolve(&meta)?;
    let block = block_steps(&meta);
    let mut stage = LinkStage::new(tracker, &meta.grid);
    match cfg.backend {
        BackendKind::Serial => serial::run(reader, range, block, tracker, &mut stage)?,
        BackendKind::Rayon | BackendKind::Mpi => {
            rayon_pool::run(reader, range, block, cfg.threads, tracker, &mut stage)?
        }
    }
    let (tracks, mut stats) = stage.finish(track_meta(cfg, &meta));
    stats.backend = Some(cfg.backend);
    stats.threads = if cfg.backend == BackendKind::Serial {
        1
    } else {
        cfg.threads
    };
    stats.ranks = 1;
    stats.block_steps = block;
    Ok((tracks, meta, stats))
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
}
