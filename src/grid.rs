//! The horizontal grid of a field: latitudes and longitudes in degrees, in the
//! file's own order (rows = latitudes, columns = longitudes).
//!
//! A grid whose longitudes are evenly spaced and cover the full 360° is
//! *global*: its columns wrap (column `-1` is the last column), and, as in the
//! reference tracker, the duplicate-removal window wraps rows as well. Any other
//! grid is *regional* and nothing wraps: cells near its edges are never centres.

use serde::Serialize;

/// Latitude/longitude axes of a field, in degrees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    /// Latitude of each row, degrees north, in file order.
    pub lat: Vec<f64>,
    /// Longitude of each column, degrees east, in file order (0..360 or -180..180).
    pub lon: Vec<f64>,
    /// Whether the longitudes cover the whole circle, so columns wrap.
    pub global: bool,
    /// Whether the file stores latitudes / longitudes as float32 (the
    /// reference then computes distances partly in float32).
    pub lat_f32: bool,
    pub lon_f32: bool,
}

impl Grid {
    /// A grid from its axes; decides whether it is global.
    pub fn new(lat: Vec<f64>, lon: Vec<f64>) -> Self {
        let global = covers_circle(&lon);
        Grid {
            lat,
            lon,
            global,
            lat_f32: false,
            lon_f32: false,
        }
    }

    /// Records that the coordinates are stored as float32.
    pub fn with_float32_coords(mut self, lat_f32: bool, lon_f32: bool) -> Self {
        self.lat_f32 = lat_f32;
        self.lon_f32 = lon_f32;
        self
    }

    pub fn rows(&self) -> usize {
        self.lat.len()
    }

    pub fn cols(&self) -> usize {
        self.lon.len()
    }

    /// Mean spacing of the latitudes and longitudes, degrees (0 for a single point).
    pub fn resolution(&self) -> (f64, f64) {
        (mean_step(&self.lat), mean_step(&self.lon))
    }

    /// Whether latitudes run south to north.
    pub fn lat_ascending(&self) -> bool {
        self.lat.len() > 1 && self.lat[0] < self.lat[self.lat.len() - 1]
    }
}

fn mean_step(axis: &[f64]) -> f64 {
    if axis.len() < 2 {
        return 0.0;
    }
    ((axis[axis.len() - 1] - axis[0]) / (axis.len() - 1) as f64).abs()
}

/// Steps between neighbouring longitudes, each taken the short way round
/// the circle (in -180..180), so that a grid rolled across the meridian or
/// the dateline (180..357.5 then 0..177.5) steps evenly.
pub(crate) fn lon_steps(lon: &[f64]) -> Vec<f64> {
    lon.windows(2)
        .map(|w| (w[1] - w[0] + 180.0).rem_euclid(360.0) - 180.0)
        .collect()
}

/// Evenly spaced longitudes whose `n * step` is 360° (within 0.1% of a step).
fn covers_circle(lon: &[f64]) -> bool {
    let n = lon.len();
    if n < 3 {
        return false;
    }
    let steps = lon_steps(lon);
    let step = steps.iter().sum::<f64>() / (n - 1) as f64;
    if step == 0.0 || !step.is_finite() {
        return false;
    }
    let even = steps.iter().all(|d| (d - step).abs() <= 1e-3 * step.abs());
    even && ((n as f64) * step.abs() - 360.0).abs() <= 1e-3 * step.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(start: f64, step: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| start + step * i as f64).collect()
    }

    #[test]
    fn global_and_regional() {
        assert!(Grid::new(axis(90.0, -2.5, 73), axis(0.0, 2.5, 144)).global);
        assert!(Grid::new(axis(-90.0, 0.25, 721), axis(-180.0, 0.25, 1440)).global);
        assert!(!Grid::new(axis(70.0, -2.5, 21), axis(280.0, 2.5, 32)).global);
        assert!(!Grid::new(axis(70.0, -2.5, 21), axis(0.0, 2.5, 143)).global);
        // Rolled across the meridian: still the whole circle, in order.
        let rolled: Vec<f64> = axis(180.0, 2.5, 144).iter().map(|l| l % 360.0).collect();
        assert!(Grid::new(axis(90.0, -2.5, 73), rolled).global);
    }

    #[test]
    fn resolution_and_order() {
        let g = Grid::new(axis(-90.0, 2.5, 73), axis(0.0, 2.5, 144));
        assert_eq!(g.resolution(), (2.5, 2.5));
        assert!(g.lat_ascending());
    }
}
