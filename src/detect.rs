//! Detection of centres in one frame: the simple tracker's local-extremum
//! detector (Yau & Chang 2020), exactly as `shared/spec/simple-tracker.md` §1.
//!
//! Detection is a pure function of a frame, its grid and a [`DetectConfig`]:
//! it reads nothing else and keeps no state, so frames can be detected in any
//! order on any thread or rank.
//!
//! Conventions: values are in the variable's stored units (Pa, s⁻¹, …); the
//! threshold is in the same units. Arithmetic is done in the frame's own type
//! (float32 or float64) where the reference does so, because intensity ties
//! decide which of two neighbouring cells survives.
//!
//! `max` mode runs the `min` algorithm on the negated field. Negation is exact
//! in IEEE arithmetic, so every comparison, rank and intensity is bit-for-bit
//! the one the `max` formulas give.

use rustc_hash::FxHashMap;
use std::ops::{Add, Neg, Sub};

use ndarray::ArrayView2;

use crate::field::Frame;
use crate::grid::Grid;

/// Whether centres are minima (pressure) or maxima (vorticity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Local minima, e.g. mean-sea-level pressure.
    Min,
    /// Local maxima, e.g. relative vorticity.
    Max,
}

/// Parameters of the detector.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DetectConfig {
    pub mode: Mode,
    /// Side of the square search window in grid cells (odd, at least 3).
    pub window: usize,
    /// Minimum depth of an extremum below (above) the k-th ranked value of its
    /// window, in the variable's stored units.
    pub threshold: f64,
}

/// Side of the duplicate-removal window; fixed at 5 by the reference.
const DEDUP_WINDOW: usize = 5;

/// One detected centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Centre {
    /// Row and column of the grid cell.
    pub row: u32,
    pub col: u32,
    /// Latitude and longitude of the cell, degrees, as in the file.
    pub lat: f64,
    pub lon: f64,
    /// The field's value at the cell, in stored units.
    pub value: f64,
}

/// Floating-point types a frame can hold.
pub trait Sample:
    Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Neg<Output = Self> + Send + Sync
{
    const INFINITY: Self;
    const ZERO: Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
    fn abs(self) -> Self;
    fn to_f64(self) -> f64;
    /// Rounds an f64 to this type (to nearest).
    fn from_f64(v: f64) -> Self;
    /// Runs `f` with this thread's reusable buffers, so detecting frame after
    /// frame allocates (and page-faults) nothing.
    fn with_scratch<R>(f: impl FnOnce(&mut Scratch<Self>) -> R) -> R;
}

/// Per-thread working buffers of the detector.
#[derive(Debug, Default)]
pub struct Scratch<T> {
    /// The filled (and, in max mode, negated) frame, when the frame itself
    /// cannot serve (see [`detect_typed`]).
    field: Vec<T>,
    /// Minimum of each cell's row segment of the window, for the window's
    /// rows: row `r` at `r % window` (a ring).
    row_min: Vec<T>,
    /// Minimum of each cell's whole window, for one row.
    window_min: Vec<T>,
}

macro_rules! impl_sample {
    ($t:ty) => {
        impl Sample for $t {
            const INFINITY: Self = <$t>::INFINITY;
            const ZERO: Self = 0.0;
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[allow(clippy::cast_possible_truncation)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn with_scratch<R>(f: impl FnOnce(&mut Scratch<Self>) -> R) -> R {
                thread_local!(static SCRATCH: std::cell::RefCell<Scratch<$t>> = std::cell::RefCell::new(Scratch::default()));
                SCRATCH.with(|s| f(&mut s.borrow_mut()))
            }
        }
    };
}
impl_sample!(f32);
impl_sample!(f64);

/// Detects the centres of one frame; returns them in row-major order.
pub fn detect(frame: &Frame, grid: &Grid, cfg: &DetectConfig) -> Vec<Centre> {
    match frame {
        Frame::F32(a) => detect_typed(a.view(), grid, cfg),
        Frame::F64(a) => detect_typed(a.view(), grid, cfg),
    }
}

/// A candidate after the extremum and threshold tests.
struct Candidate<T> {
    row: usize,
    col: usize,
    intensity: T,
}

/// [`detect`] for one floating-point type.
pub fn detect_typed<T: Sample>(
    data: ArrayView2<T>,
    grid: &Grid,
    cfg: &DetectConfig,
) -> Vec<Centre> {
    let (rows, cols) = data.dim();
    debug_assert_eq!((rows, cols), (grid.rows(), grid.cols()));
    let shape = Shape {
        rows,
        cols,
        wrap: grid.global,
    };
    let candidates = T::with_scratch(|scratch| {
        let Scratch {
            field,
            row_min,
            window_min,
        } = scratch;
        // A contiguous frame that filling would leave as it is (min mode, no
        // missing value) is used in place: no copy, no frame-sized buffer.
        let field: &[T] = match data.as_slice() {
            Some(values)
                if cfg.mode == Mode::Min && !values.iter().fold(false, |m, v| m | v.is_nan()) =>
            {
                values
            }
            _ => {
                fill(data, cfg.mode, field);
                field
            }
        };
        extrema(field, shape, cfg, row_min, window_min)
    });
    let survivors = remove_duplicates(&candidates, shape);
    survivors
        .into_iter()
        .map(|c| Centre {
            row: c.row as u32,
            col: c.col as u32,
            lat: grid.lat[c.row],
            lon: grid.lon[c.col],
            value: data[[c.row, c.col]].to_f64(),
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Shape {
    rows: usize,
    cols: usize,
    wrap: bool,
}

impl Shape {
    /// Row-major index of `(r + dr, c + dc)`, wrapping on a global grid,
    /// `None` off the edge of a regional one.
    #[inline]
    fn offset(&self, r: usize, c: usize, dr: isize, dc: isize) -> Option<(usize, usize)> {
        let rr = r as isize + dr;
        let cc = c as isize + dc;
        if self.wrap {
            Some((
                rr.rem_euclid(self.rows as isize) as usize,
                cc.rem_euclid(self.cols as isize) as usize,
            ))
        } else if rr < 0 || cc < 0 || rr >= self.rows as isize || cc >= self.cols as isize {
            None
        } else {
            Some((rr as usize, cc as usize))
        }
    }
}

/// The field prepared for the `min` algorithm: negated in `max` mode, missing
/// values replaced by +inf so they are never extrema nor beat one.
fn fill<T: Sample>(data: ArrayView2<T>, mode: Mode, out: &mut Vec<T>) {
    out.clear();
    let prepare = |v: T| match (v.is_nan(), mode) {
        (true, _) => T::INFINITY,
        (false, Mode::Min) => v,
        (false, Mode::Max) => -v,
    };
    // A contiguous frame (the usual case) is filled from a slice, which vectorises.
    match data.as_slice() {
        Some(values) => out.extend(values.iter().map(|&v| prepare(v))),
        None => out.extend(data.iter().map(|&v| prepare(v))),
    }
}

/// The smaller of two values (no NaN here: missing values were filled).
#[inline(always)]
fn min<T: Sample>(a: T, b: T) -> T {
    if b < a {
        b
    } else {
        a
    }
}

/// `out[c] = min(row[c - h ..= c + h])`, columns wrapping on a global grid;
/// on a regional grid the `h` columns nearest each edge are left at +inf
/// (they are never candidates).
fn segment_minima<T: Sample>(row: &[T], h: usize, wrap: bool, out: &mut [T]) {
    let cols = row.len();
    out.fill(T::INFINITY);
    if cols > 2 * h {
        let inner = &mut out[h..cols - h];
        inner.copy_from_slice(&row[..cols - 2 * h]);
        for k in 1..=2 * h {
            for (o, &v) in inner.iter_mut().zip(&row[k..k + cols - 2 * h]) {
                *o = min(*o, v);
            }
        }
    }
    if wrap {
        for c in (0..h.min(cols)).chain(cols.saturating_sub(h).max(h)..cols) {
            let mut m = T::INFINITY;
            for dc in -(h as isize)..=h as isize {
                m = min(m, row[(c as isize + dc).rem_euclid(cols as isize) as usize]);
            }
            out[c] = m;
        }
    }
}

/// Steps 2–5 of the spec: local minima that pass the rank test, with their
/// intensities, in row-major order.
///
/// A finite cell is a local minimum when it is not above the minimum of its
/// window; that minimum is computed separably (row segments, then columns),
/// which vectorises and touches each value a handful of times.
fn extrema<T: Sample>(
    field: &[T],
    shape: Shape,
    cfg: &DetectConfig,
    row_min: &mut Vec<T>,
    window_min: &mut Vec<T>,
) -> Vec<Candidate<T>> {
    let Shape { rows, cols, wrap } = shape;
    let s = cfg.window;
    let h = s / 2;
    let mut out = Vec::new();
    if rows < s || (!wrap && cols < s) {
        return out;
    }
    // Row minima of rows r - h ..= r + h, each row computed once.
    row_min.resize(s * cols, T::INFINITY);
    let ring = |rr: usize| (rr % s) * cols..(rr % s + 1) * cols;
    for rr in 0..s - 1 {
        segment_minima(
            &field[rr * cols..(rr + 1) * cols],
            h,
            wrap,
            &mut row_min[ring(rr)],
        );
    }
    window_min.resize(cols, T::INFINITY);
    let mut window: Vec<T> = Vec::with_capacity(s * s);
    for r in h..rows - h {
        let next = r + h;
        segment_minima(
            &field[next * cols..(next + 1) * cols],
            h,
            wrap,
            &mut row_min[ring(next)],
        );
        window_min.copy_from_slice(&row_min[ring(r - h)]);
        for rr in r - h + 1..=r + h {
            for (m, &v) in window_min.iter_mut().zip(&row_min[ring(rr)]) {
                *m = min(*m, v);
            }
        }
        let row = &field[r * cols..(r + 1) * cols];
        // Regional grids: the columns within h of an edge are never candidates.
        let (c_lo, c_hi) = if wrap { (0, cols) } else { (h, cols - h) };
        for c in c_lo..c_hi {
            let centre = row[c];
            if centre > window_min[c] || !centre.is_finite() {
                continue;
            }
            if passes_rank_test(field, shape, r, c, cfg, &mut window) {
                let intensity = laplacian(field, shape, r, c, centre);
                out.push(Candidate {
                    row: r,
                    col: c,
                    intensity,
                });
            }
        }
    }
    out
}

/// Step 3: the `k`-th smallest value of the window (`k = s*s/3`) must exceed
/// the centre by more than the threshold; this rejects plateaus.
fn passes_rank_test<T: Sample>(
    field: &[T],
    shape: Shape,
    r: usize,
    c: usize,
    cfg: &DetectConfig,
    window: &mut Vec<T>,
) -> bool {
    let cols = shape.cols;
    let s = cfg.window;
    let h = s / 2;
    window.clear();
    for rr in r - h..=r + h {
        let base = rr * cols;
        for dc in -(h as isize)..=h as isize {
            let cc = (c as isize + dc).rem_euclid(cols as isize) as usize;
            window.push(field[base + cc]);
        }
    }
    // Partial selection yields the same element as a full sort.
    let (_, kth, _) = window.select_nth_unstable_by((s * s) / 3, |a, b| {
        a.partial_cmp(b).expect("no NaN after filling")
    });
    (*kth - field[r * cols + c]).to_f64() > cfg.threshold
}

/// Four-neighbour intensity `up + down + left + right - 4*centre`: the sum in
/// the frame's type, `4*centre` and the difference in f64, stored back in the
/// frame's type, as the reference does.
#[inline]
fn laplacian<T: Sample>(field: &[T], shape: Shape, r: usize, c: usize, centre: T) -> T {
    let at = |dr: isize, dc: isize| {
        shape
            .offset(r, c, dr, dc)
            .map_or(T::INFINITY, |(rr, cc)| field[rr * shape.cols + cc])
    };
    let sum = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1);
    T::from_f64(sum.to_f64() - 4.0 * centre.to_f64())
}

/// Step 6: a candidate survives when no other candidate in the 5x5 window
/// around it has a larger absolute intensity, or an equal one earlier in
/// row-major order. Cells with zero intensity never survive.
fn remove_duplicates<T: Sample>(candidates: &[Candidate<T>], shape: Shape) -> Vec<&Candidate<T>> {
    // Looked up 25 times per candidate: a multiplicative hash, not SipHash.
    let index: FxHashMap<usize, T> = candidates
        .iter()
        .map(|c| (c.row * shape.cols + c.col, c.intensity.abs()))
        .collect();
    let h = (DEDUP_WINDOW / 2) as isize;
    candidates
        .iter()
        .filter(|cand| {
            let own = cand.intensity.abs();
            if cand.intensity == T::ZERO || cand.intensity.is_nan() {
                return false;
            }
            let me = cand.row * shape.cols + cand.col;
            for dr in -h..=h {
                for dc in -h..=h {
                    let Some((rr, cc)) = shape.offset(cand.row, cand.col, dr, dc) else {
                        continue;
                    };
                    let other = rr * shape.cols + cc;
                    if let Some(&v) = index.get(&other) {
                        if v > own || (v == own && other < me) {
                            return false;
                        }
                    }
                }
            }
            true
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn grid(rows: usize, cols: usize, global: bool) -> Grid {
        let lat = (0..rows).map(|r| 80.0 - 2.5 * r as f64).collect();
        let step = if global { 360.0 / cols as f64 } else { 2.5 };
        let lon = (0..cols).map(|c| step * c as f64).collect();
        let g = Grid::new(lat, lon);
        assert_eq!(g.global, global);
        g
    }

    fn cfg(mode: Mode) -> DetectConfig {
        DetectConfig {
            mode,
            window: 5,
            threshold: 0.0,
        }
    }

    fn bowl(rows: usize, cols: usize, at: (usize, usize), depth: f64) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(r, c)| {
            let d2 = (r as f64 - at.0 as f64).powi(2) + (c as f64 - at.1 as f64).powi(2);
            1000.0 - depth / (1.0 + d2)
        })
    }

    #[test]
    fn finds_single_minimum_with_value_and_position() {
        let g = grid(12, 16, false);
        let f = Frame::F64(bowl(12, 16, (5, 7), 20.0));
        let c = detect(&f, &g, &cfg(Mode::Min));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].row, c[0].col), (5, 7));
        assert_eq!(c[0].value, 980.0);
        assert_eq!((c[0].lat, c[0].lon), (80.0 - 12.5, 17.5));
    }

    #[test]
    fn max_mode_finds_maxima_with_original_values() {
        let g = grid(12, 16, false);
        let f = Frame::F64(bowl(12, 16, (6, 8), 20.0).mapv(|v| -v));
        let c = detect(&f, &g, &cfg(Mode::Max));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].row, c[0].col, c[0].value), (6, 8, -980.0));
    }

    #[test]
    fn edge_rows_never_candidates_and_regional_edge_columns_neither() {
        let g = grid(12, 16, false);
        for at in [(1, 8), (6, 1), (6, 14)] {
            let c = detect(&Frame::F64(bowl(12, 16, at, 20.0)), &g, &cfg(Mode::Min));
            assert!(
                c.iter()
                    .all(|c| (c.row, c.col) != (at.0 as u32, at.1 as u32)),
                "{at:?}"
            );
        }
    }

    #[test]
    fn global_grid_wraps_columns() {
        let g = grid(12, 16, true);
        let c = detect(&Frame::F64(bowl(12, 16, (6, 0), 20.0)), &g, &cfg(Mode::Min));
        // the bowl is not periodic, so the wrapped side is higher; still one minimum at column 0
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].row, c[0].col), (6, 0));
    }

    #[test]
    fn plateau_rejected_by_rank_test() {
        let g = grid(12, 16, false);
        let mut a = Array2::from_elem((12, 16), 1000.0);
        // a flat 3x3 depression: its cells tie, and the 8th value equals the centre
        for r in 5..8 {
            for c in 6..9 {
                a[[r, c]] = 990.0;
            }
        }
        assert!(detect(&Frame::F64(a), &g, &cfg(Mode::Min)).is_empty());
    }

    #[test]
    fn threshold_is_strict() {
        let g = grid(12, 16, false);
        let a = bowl(12, 16, (5, 7), 20.0);
        // 8th-ranked value in the window minus the centre:
        let mut w: Vec<f64> = (3..8)
            .flat_map(|r| (5..10).map(move |c| (r, c)))
            .map(|(r, c)| a[[r, c]])
            .collect();
        w.sort_by(f64::total_cmp);
        let depth = w[8] - a[[5, 7]];
        let at = |thr| {
            detect(
                &Frame::F64(a.clone()),
                &g,
                &DetectConfig {
                    threshold: thr,
                    ..cfg(Mode::Min)
                },
            )
            .len()
        };
        assert_eq!(at(depth - 1e-9), 1);
        assert_eq!(at(depth), 0);
    }

    #[test]
    fn missing_values_are_never_centres_and_never_win() {
        let g = grid(12, 16, false);
        let mut a = bowl(12, 16, (5, 7), 20.0);
        a[[5, 8]] = f64::NAN;
        let c = detect(&Frame::F64(a.clone()), &g, &cfg(Mode::Min));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].row, c[0].col), (5, 7));
        a[[5, 7]] = f64::NAN;
        let c = detect(&Frame::F64(a), &g, &cfg(Mode::Min));
        assert!(c.iter().all(|c| (c.row, c.col) != (5, 7)));
        let all_nan = Array2::from_elem((12, 16), f64::NAN);
        assert!(detect(&Frame::F64(all_nan), &g, &cfg(Mode::Min)).is_empty());
    }

    #[test]
    fn duplicate_tie_keeps_earlier_cell() {
        // Two identical minima two columns apart: equal intensity, the earlier
        // (row-major) survives.
        let g = grid(12, 16, false);
        let mut a = Array2::from_elem((12, 16), 1000.0);
        a[[6, 6]] = 990.0;
        a[[6, 8]] = 990.0;
        let c = detect(&Frame::F64(a), &g, &cfg(Mode::Min));
        assert_eq!(
            c.iter().map(|c| (c.row, c.col)).collect::<Vec<_>>(),
            vec![(6, 6)]
        );
    }

    #[test]
    fn deeper_neighbour_wins_dedup() {
        let g = grid(12, 16, false);
        let mut a = Array2::from_elem((12, 16), 1000.0);
        a[[6, 6]] = 995.0;
        a[[6, 8]] = 990.0;
        let c = detect(&Frame::F64(a), &g, &cfg(Mode::Min));
        assert_eq!(
            c.iter().map(|c| (c.row, c.col)).collect::<Vec<_>>(),
            vec![(6, 8)]
        );
    }

    #[test]
    fn float32_neighbour_sum_rounds_in_float32() {
        // The neighbour sum is taken in f32: one ulp on a neighbour of (6, 8)
        // vanishes in the f32 sum (200000.0078125 rounds to 200000), so both
        // candidates tie and the earlier one wins. In f64 (6, 8) would win.
        let g = grid(12, 16, false);
        let mut a = Array2::<f32>::from_elem((12, 16), 100_000.0);
        a[[6, 6]] = 99_000.0;
        a[[6, 8]] = 99_000.0;
        a[[5, 8]] = f32::from_bits(100_000f32.to_bits() + 1); // one ulp: 100000.0078125
        let c = detect(&Frame::F32(a.clone()), &g, &cfg(Mode::Min));
        assert_eq!(
            c.iter().map(|c| (c.row, c.col)).collect::<Vec<_>>(),
            vec![(6, 6)]
        );
        let c = detect(&Frame::F64(a.mapv(f64::from)), &g, &cfg(Mode::Min));
        assert_eq!(
            c.iter().map(|c| (c.row, c.col)).collect::<Vec<_>>(),
            vec![(6, 8)]
        );
    }
}
