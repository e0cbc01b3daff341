//! The Hodges tracker behind the [`Tracker`] interface, so that every
//! backend runs it unchanged: per-frame work (spectral filter, then
//! detection) is pure and runs wherever the backend puts it; the linker
//! keeps the centres of every step it is fed, in time order, and links them
//! chunk by chunk and splices the chunks when the record is complete.
//! Memory: the centres of the record (40 bytes each), never the frames.

use std::sync::OnceLock;

use crate::detect::Centre;
use crate::error::{Error, Result};
use crate::field::Frame;
use crate::filter::{Band, Geometry, SpectralFilter};
use crate::grid::Grid;
use crate::io::FieldMeta;
use crate::time::Instant;
use crate::tracker::{Linker, Tracker};
use crate::tracks::{TrackMeta, Tracks};

use super::{detect_frame, DetectParams, HodgesCentre, HodgesConfig, Step};

/// The Hodges tracker for one run.
#[derive(Debug)]
pub struct HodgesTracker {
    pub config: HodgesConfig,
    /// The detection parameters for the tracked variable.
    detect: DetectParams,
    /// Built for the grid on first use ([`Tracker::prepare`] builds it
    /// before any frame, so errors are reported there).
    filter: OnceLock<std::result::Result<SpectralFilter, String>>,
}

impl HodgesTracker {
    /// `variable` is the name requested (the reference's unfiltered
    /// threshold default depends on it).
    pub fn new(config: HodgesConfig, variable: &str) -> Self {
        let detect = config.detect_params(variable);
        HodgesTracker {
            config,
            detect,
            filter: OnceLock::new(),
        }
    }

    fn filter(&self, grid: &Grid) -> &std::result::Result<SpectralFilter, String> {
        self.filter.get_or_init(|| build_filter(&self.config, grid))
    }

    fn filtered(&self, frame: &Frame, grid: &Grid) -> Option<Frame> {
        let filter = self.filter(grid).as_ref().ok()?;
        let out = match frame {
            Frame::F32(a) => {
                let v = a.as_standard_layout();
                Frame::F32(
                    ndarray::Array2::from_shape_vec(a.dim(), filter.apply(v.as_slice()?).ok()?)
                        .ok()?,
                )
            }
            Frame::F64(a) => {
                let v = a.as_standard_layout();
                Frame::F64(
                    ndarray::Array2::from_shape_vec(a.dim(), filter.apply(v.as_slice()?).ok()?)
                        .ok()?,
                )
            }
        };
        Some(out)
    }
}

/// The band-pass filter of `grid`: equiangular with both poles, else
/// Gaussian (GRIB `regular_gg`).
fn build_filter(config: &HodgesConfig, grid: &Grid) -> std::result::Result<SpectralFilter, String> {
    if !grid.global {
        return Err("the spectral filter needs a global grid, but this one is regional; track it with --no-filter or give a global field".into());
    }
    crate::filter::check_global_longitudes(&grid.lon).map_err(|e| e.to_string())?;
    let band = Band {
        lmin: config.filter_min,
        lmax: config.filter_max,
    };
    let cc = SpectralFilter::new(&grid.lat, grid.lon.len(), band, Geometry::ClenshawCurtis);
    let filter = match cc {
        Ok(f) => f,
        Err(cc_error) => SpectralFilter::new(&grid.lat, grid.lon.len(), band, Geometry::Gaussian)
            .map_err(|_| cc_error.to_string())?,
    };
    Ok(filter.with_taper(config.taper))
}

impl Tracker for HodgesTracker {
    fn prepare(&self, meta: &FieldMeta) -> Result<()> {
        if !self.config.filter {
            return Ok(());
        }
        self.filter(&meta.grid)
            .as_ref()
            .map(|_| ())
            .map_err(|e| Error::input(&meta.path, format!("{e} (variable '{}')", meta.variable)))
    }

    fn detect(&self, frame: &Frame, grid: &Grid) -> Vec<Centre> {
        let centres = if self.config.filter {
            // A frame the filter cannot take (missing values) has no centres.
            match self.filtered(frame, grid) {
                Some(f) => detect_frame(&f, grid, &self.detect),
                None => Vec::new(),
            }
        } else {
            detect_frame(frame, grid, &self.detect)
        };
        centres
            .into_iter()
            .map(|c| Centre {
                row: c.row,
                col: c.col,
                lat: c.lat,
                lon: c.lon,
                value: c.value,
            })
            .collect()
    }

    fn linker(&self, _grid: &Grid) -> Box<dyn Linker> {
        Box::new(HodgesLinker {
            config: self.config.clone(),
            steps: Vec::new(),
        })
    }
}

/// Keeps every step's centres; links and splices at the end.
struct HodgesLinker {
    config: HodgesConfig,
    steps: Vec<Step>,
}

impl Linker for HodgesLinker {
    fn push(&mut self, time: Instant, centres: Vec<Centre>, _links: Option<Vec<u32>>) {
        let centres = centres
            .into_iter()
            .map(|c| HodgesCentre {
                lat: c.lat,
                lon: c.lon,
                value: c.value,
                row: c.row,
                col: c.col,
                refined: false,
            })
            .collect();
        self.steps.push(Step { time, centres });
    }

    fn num_tracks(&self) -> usize {
        0
    }

    fn finish(self: Box<Self>, meta: TrackMeta) -> Tracks {
        // The configuration was validated (chunks advance) before the run.
        let tracks = super::track(&self.steps, &self.config).unwrap_or_default();
        super::to_tracks(&tracks, meta)
    }
}
