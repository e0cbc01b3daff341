//! Greedy mutual-nearest matching of one step's centres to the open tracks'
//! tails (`shared/spec/simple-tracker.md` §2, step 5), on candidate pairs
//! whose exact distances are mostly never computed.
//!
//! Every candidate pair carries a cheap *key*: the squared chord between the
//! unit vectors of its two points, which grows with their great-circle
//! distance. The reference distance (glibc sines and an emulated SVML arcsine,
//! see [`super::numpy`]) is what decides, but two keys that differ by more
//! than a rounding tolerance ([`KeyTolerance`]) already tell which of two
//! reference distances is smaller, and a key clear of the radius's key tells
//! which side of the radius a pair lies. So the exact distance is computed
//! (once, then kept) only for the pairs the keys cannot decide: near-equal
//! distances, distances near the radius. Everything else follows the spec
//! literally: passes over the unmatched centres in sorted order until one
//! links nothing, numpy's `argmin` choices (the first NaN, else the smallest
//! distance, the lowest index on equal distances).
//!
//! Pairs whose reference distance may be NaN (exact antipodes, where rounding
//! pushes the haversine argument above 1) have their exact distance computed
//! when they are collected, so `argmin`'s preference for NaN is honoured.
//!
//! The passes stay cheap: once a centre and a tail are linked, their other
//! pairs get an infinite key (taken) rather than every `argmin` testing who
//! is still free; a centre's or tail's last choice is reused while what it
//! names is still free (the free sets only shrink, so it still holds); a
//! centre without a free tail in reach leaves the passes for good.

use rustc_hash::FxHashMap as HashMap;

/// Keys from this value up (a great-circle angle above π − 0.1 rad) may
/// belong to NaN reference distances: their exact distance is computed when
/// the pair is collected.
pub const KEY_NEAR_ANTIPODE: f64 = 3.99;

/// How far keys may stray from the order of the reference distances.
///
/// `rel` covers relative errors: the reference's float32 cosines of float32
/// coordinates (a few 1e-7 of the distance; a factor of ~10 more near
/// antipodes) and every float64 rounding. `abs` covers absolute ones: the
/// rounding of the coordinate differences and of the unit vectors, both at
/// most a few ulps of the largest coordinate in radians, whose square
/// (divided by `rel`, see [`KeyTolerance::for_coordinates`]) bounds their
/// effect on a key.
#[derive(Debug, Clone, Copy)]
pub struct KeyTolerance {
    rel: f64,
    abs: f64,
}

impl KeyTolerance {
    /// Relative tolerance on keys: 1e-4, i.e. 5e-5 of a distance, several
    /// hundred times the largest error seen (see the tests).
    const REL: f64 = 1e-4;

    /// The tolerance for positions whose coordinates in radians are at most
    /// `max_abs_rad` in magnitude (NaN or infinite: nothing is decided by keys).
    pub fn for_coordinates(max_abs_rad: f64) -> Self {
        // Angle error of a coordinate difference or a unit-vector difference.
        let err = 8.0 * f64::EPSILON * (max_abs_rad + 4.0);
        // An angle error e changes a key of angle θ by about 2θe, which is
        // below REL/4 θ² + 8e²/REL for every θ: the absolute part is 64e²/REL.
        KeyTolerance {
            rel: Self::REL,
            abs: 64.0 * err * err / Self::REL,
        }
    }

    /// Whether key `a` surely belongs to a smaller reference distance than key `b`.
    #[inline]
    pub fn surely_less(self, a: f64, b: f64) -> bool {
        a * (1.0 + self.rel) + self.abs < b
    }

    /// The bound above which keys surely belong to larger reference
    /// distances than that of `key`.
    pub fn upper(self, key: f64) -> f64 {
        key * (1.0 + self.rel) + self.abs
    }
}

/// The link radius, in km and as a key (`None` when the radius is so large
/// that keys near it may belong to NaN distances: then only exact distances
/// are compared with it).
#[derive(Debug, Clone, Copy)]
pub struct Radius {
    pub km: f64,
    pub key: Option<f64>,
}

/// What the matching needs to know of a step's geometry.
pub struct Geometry<F: Fn(u32, u32) -> f64> {
    pub radius: Radius,
    pub tolerance: KeyTolerance,
    /// The reference distance of (tail, centre), km.
    pub distance: F,
}

/// The key of a pair whose tail or centre is taken.
const TAKEN: f32 = f32::INFINITY;

/// A candidate pair as seen from one side: the other side's index and the
/// pair's key, stored as float32 (NaN exactly when the pair's distance is
/// NaN; [`TAKEN`] once the other side is matched). Rounding a key to float32
/// changes it by at most 6e-8 of itself, far inside [`KeyTolerance`].
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    other: u32,
    key: f32,
}

impl Entry {
    fn key(&self) -> f64 {
        f64::from(self.key)
    }
}

/// Makes `v` at least `n` long (new slots default).
fn at_least<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
}

/// Candidate pairs of one step, by centre and by tail, and the matching's
/// state. Buffers are kept from step to step; those sized by the number of
/// pairs only grow, and their slots beyond it are left from earlier steps.
#[derive(Debug, Default)]
pub struct Matching {
    /// Number of pairs.
    pairs: usize,
    /// Centre `c`'s candidates are `by_centre[centre_starts[c]..centre_starts[c + 1]]`;
    /// a pair's index is its position here.
    by_centre: Vec<Entry>,
    centre_starts: Vec<u32>,
    /// The same pairs grouped by tail, each tail's in centre order, and
    /// the index of the pair in each slot.
    by_tail: Vec<Entry>,
    tail_pairs: Vec<u32>,
    tail_starts: Vec<u32>,
    /// Each pair's slot in `by_tail`.
    tail_slot: Vec<u32>,
    /// Reference distances in km of the few pairs whose keys did not
    /// decide, and of those that may be NaN: by pair.
    exact: HashMap<u32, f64>,
    /// The matching: tail of each centre, centre of each tail.
    tail_of_centre: Vec<Option<u32>>,
    centre_of_tail: Vec<Option<u32>>,
    /// Centres that may still link, in order.
    active: Vec<u32>,
    /// Each centre's and each tail's last choice.
    centre_choice: Vec<Option<Choice>>,
    tail_choice: Vec<Option<u32>>,
}

impl Matching {
    /// Starts collecting the candidates of a new step (no centre matched).
    pub fn clear(&mut self) {
        self.pairs = 0;
        self.exact.clear();
        self.centre_starts.clear();
        self.centre_starts.push(0);
        self.tail_of_centre.clear();
    }

    /// Adds the kept ones of at most `max` (tail, key, keep) as candidates
    /// of the current centre, without branching on `keep` (it is
    /// unpredictable). Keys must not be NaN, nor may the distances be.
    #[inline]
    pub fn extend(&mut self, max: usize, candidates: impl Iterator<Item = (u32, f64, bool)>) {
        let start = self.pairs;
        at_least(&mut self.by_centre, start + max);
        let slots = &mut self.by_centre[start..start + max];
        let mut n = 0;
        for (tail, key, keep) in candidates.take(max) {
            slots[n] = Entry {
                other: tail,
                key: key as f32,
            };
            n += usize::from(keep);
        }
        self.pairs += n;
    }

    /// Adds a candidate tail to the current centre whose exact distance is
    /// known (any pair whose distance may be NaN must come this way).
    pub fn push_exact(&mut self, tail: u32, key: f64, exact: f64) {
        let pair = self.pairs;
        at_least(&mut self.by_centre, pair + 1);
        self.by_centre[pair] = Entry {
            other: tail,
            key: if exact.is_nan() { f32::NAN } else { key as f32 },
        };
        self.exact.insert(pair as u32, exact);
        self.pairs += 1;
    }

    /// Closes the current centre's candidates.
    pub fn end_centre(&mut self) {
        self.centre_starts.push(self.pairs as u32);
    }

    /// The tail matched to centre `ic`, if any.
    pub fn tail_of(&self, ic: usize) -> Option<u32> {
        self.tail_of_centre.get(ic).copied().flatten()
    }

    /// Runs the greedy matching of the centres whose candidates were
    /// collected to `tails` tails.
    pub fn run<F: Fn(u32, u32) -> f64>(&mut self, tails: usize, geo: &Geometry<F>) {
        let centres = self.centre_starts.len() - 1;
        self.group_by_tail(tails);
        self.tail_of_centre.clear();
        self.tail_of_centre.resize(centres, None);
        self.centre_of_tail.clear();
        self.centre_of_tail.resize(tails, None);
        self.active.clear();
        self.active.extend(0..centres as u32);
        self.centre_choice.clear();
        self.centre_choice.resize(centres, None);
        self.tail_choice.clear();
        self.tail_choice.resize(tails, None);
        while self.pass(geo) {}
    }

    /// Fills `by_tail` (a counting sort, so each tail's pairs stay in centre
    /// order).
    fn group_by_tail(&mut self, tails: usize) {
        let starts = &mut self.tail_starts;
        starts.clear();
        starts.resize(tails + 1, 0);
        let pairs = &self.by_centre[..self.pairs];
        for e in pairs {
            starts[e.other as usize + 1] += 1;
        }
        for t in 0..tails {
            starts[t + 1] += starts[t];
        }
        // Fill with starts[t] as tail t's cursor, which leaves it at tail
        // t + 1's start; then shift back.
        at_least(&mut self.by_tail, self.pairs);
        at_least(&mut self.tail_pairs, self.pairs);
        at_least(&mut self.tail_slot, self.pairs);
        for (ic, w) in self.centre_starts.windows(2).enumerate() {
            let row = w[0] as usize..w[1] as usize;
            for (pair, e) in row.clone().zip(&pairs[row]) {
                let cursor = &mut starts[e.other as usize];
                let slot = *cursor as usize;
                self.by_tail[slot] = Entry {
                    other: ic as u32,
                    key: e.key,
                };
                self.tail_pairs[slot] = pair as u32;
                self.tail_slot[pair] = slot as u32;
                *cursor += 1;
            }
        }
        starts.copy_within(0..tails, 1);
        starts[0] = 0;
    }

    /// One pass over the active centres; whether it linked any. Centres
    /// without a free tail inside the radius leave the active list for good:
    /// tails only ever get taken.
    fn pass<F: Fn(u32, u32) -> f64>(&mut self, geo: &Geometry<F>) -> bool {
        let mut linked = false;
        let mut keep = 0;
        for k in 0..self.active.len() {
            let ic = self.active[k];
            let Some(it) = self.nearest_tail(ic, geo) else {
                continue;
            };
            if self.nearest_centre(it, geo) == Some(ic) {
                self.link(ic, it);
                linked = true;
            } else {
                self.active[keep] = ic;
                keep += 1;
            }
        }
        self.active.truncate(keep);
        linked
    }

    /// Links centre `ic` and tail `it`: their other pairs become [`TAKEN`].
    fn link(&mut self, ic: u32, it: u32) {
        self.tail_of_centre[ic as usize] = Some(it);
        self.centre_of_tail[it as usize] = Some(ic);
        let t = it as usize;
        for &pair in
            &self.tail_pairs[self.tail_starts[t] as usize..self.tail_starts[t + 1] as usize]
        {
            self.by_centre[pair as usize].key = TAKEN;
        }
        let c = ic as usize;
        for pair in self.centre_starts[c] as usize..self.centre_starts[c + 1] as usize {
            self.by_tail[self.tail_slot[pair] as usize].key = TAKEN;
        }
    }

    /// The tail centre `ic` takes, if some free tail is closer than the
    /// radius. The last answer holds while the tails it names stay free: the
    /// free tails only ever lose members.
    fn nearest_tail<F: Fn(u32, u32) -> f64>(&mut self, ic: u32, geo: &Geometry<F>) -> Option<u32> {
        let free = |t: u32| self.centre_of_tail[t as usize].is_none();
        if let Some(choice) = self.centre_choice[ic as usize] {
            if free(choice.take) && free(choice.nearest) {
                return Some(choice.take);
            }
        }
        let (start, end) = (
            self.centre_starts[ic as usize] as usize,
            self.centre_starts[ic as usize + 1] as usize,
        );
        let row = &self.by_centre[start..end];
        let cache = &mut self.exact;
        let mut exact = |i: usize| {
            *cache
                .entry((start + i) as u32)
                .or_insert_with(|| (geo.distance)(row[i].other, ic))
        };
        let nearest = argmin(row, geo.tolerance, &mut exact);
        let number = nearest.number?;
        if !below_radius(row[number].key(), geo, || exact(number)) {
            return None;
        }
        let choice = Choice {
            take: row[nearest.nan.unwrap_or(number)].other,
            nearest: row[number].other,
        };
        self.centre_choice[ic as usize] = Some(choice);
        Some(choice.take)
    }

    /// The centre tail `it` takes among the unmatched ones. The last answer
    /// holds while that centre stays unmatched.
    fn nearest_centre<F: Fn(u32, u32) -> f64>(
        &mut self,
        it: u32,
        geo: &Geometry<F>,
    ) -> Option<u32> {
        let t = it as usize;
        let unmatched = |c: u32| self.tail_of_centre[c as usize].is_none();
        if let Some(take) = self.tail_choice[t].filter(|&c| unmatched(c)) {
            return Some(take);
        }
        let slots = self.tail_starts[t] as usize..self.tail_starts[t + 1] as usize;
        let (row, pairs) = (&self.by_tail[slots.clone()], &self.tail_pairs[slots]);
        let cache = &mut self.exact;
        let mut exact = |i: usize| {
            *cache
                .entry(pairs[i])
                .or_insert_with(|| (geo.distance)(it, row[i].other))
        };
        let nearest = argmin(row, geo.tolerance, &mut exact);
        let take = nearest.nan.or(nearest.number).map(|i| row[i].other);
        self.tail_choice[t] = take;
        take
    }
}

/// A centre's choice: the tail it takes (the first at a NaN distance, else
/// the nearest) and the nearest tail at a number distance, which made the
/// centre eligible.
#[derive(Debug, Clone, Copy)]
struct Choice {
    take: u32,
    nearest: u32,
}

/// Whether a pair of key `key` is closer than the radius; `exact` gives its
/// reference distance, if keys cannot tell.
fn below_radius<F: Fn(u32, u32) -> f64>(
    key: f64,
    geo: &Geometry<F>,
    exact: impl FnOnce() -> f64,
) -> bool {
    if let Some(radius) = geo.radius.key {
        if geo.tolerance.surely_less(key, radius) {
            return true;
        }
        if geo.tolerance.surely_less(radius, key) {
            return false;
        }
    }
    exact() < geo.radius.km
}

/// The outcome of numpy's `argmin` over the candidates of a row not
/// [`TAKEN`], as positions in the row, in two parts: the candidate with a NaN
/// distance and the lowest index (`argmin` returns the first NaN), and the
/// nearest candidate with a number for a distance (the lowest index on equal
/// distances).
struct Nearest {
    nan: Option<usize>,
    number: Option<usize>,
}

/// [`Nearest`] over a row; `exact(i)` is the reference distance of the
/// row's `i`-th pair. Keys rule out every candidate surely farther than the
/// smallest key's; exact distances decide between the rest, if more than
/// one.
fn argmin(row: &[Entry], tol: KeyTolerance, exact: &mut impl FnMut(usize) -> f64) -> Nearest {
    let keys = smallest_keys(row);
    let nan = if keys.nan { first_nan(row) } else { None };
    let number = keys.first.and_then(|first| {
        let upper = tol.upper(first);
        // (A NaN second key is no contender either.)
        if keys.second <= upper {
            nearest_exact(row, |e| e.key() <= upper, exact)
        } else {
            Some(keys.at)
        }
    });
    Nearest { nan, number }
}

/// The two smallest keys of a row (numbers, not [`TAKEN`]), where the
/// smallest is, and whether some key is NaN.
struct SmallestKeys {
    first: Option<f64>,
    second: f64,
    at: usize,
    nan: bool,
}

/// [`SmallestKeys`] in one pass without branches on the (unpredictable)
/// keys: keys are never negative (nor -0), so their bits order as they do,
/// with NaN above [`TAKEN`], and integer minima and maxima serve.
fn smallest_keys(row: &[Entry]) -> SmallestKeys {
    let (mut first, mut second, mut high) = (TAKEN.to_bits(), TAKEN.to_bits(), 0);
    let mut at = 0;
    for (i, e) in row.iter().enumerate() {
        let k = e.key.to_bits();
        let smaller = k < first;
        at = if smaller { i } else { at };
        second = second.min(if smaller { first } else { k });
        first = first.min(k);
        high = high.max(k);
    }
    SmallestKeys {
        first: (first < TAKEN.to_bits()).then(|| f64::from(f32::from_bits(first))),
        second: f64::from(f32::from_bits(second)),
        at,
        nan: high > TAKEN.to_bits(),
    }
}

/// The position of the entry with a NaN key and the lowest index.
fn first_nan(row: &[Entry]) -> Option<usize> {
    (0..row.len())
        .filter(|&i| row[i].key.is_nan())
        .min_by_key(|&i| row[i].other)
}

/// Among the entries of `row` that are `contender`s (none with a NaN key),
/// the position of the one with the smallest exact distance, the lowest
/// index on equal distances.
fn nearest_exact(
    row: &[Entry],
    contender: impl Fn(&Entry) -> bool,
    exact: &mut impl FnMut(usize) -> f64,
) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for (i, e) in row.iter().enumerate() {
        if !contender(e) || e.key.is_nan() {
            continue;
        }
        let d = exact(i);
        debug_assert!(!d.is_nan(), "NaN distances are known when collected");
        if best.is_none_or(|(bd, b)| d < bd || (d == bd && e.other < row[b].other)) {
            best = Some((d, i));
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::super::position::{chord2, distance, Pos};
    use super::super::{CoordTypes, EARTH_RADIUS_KM};
    use super::*;

    /// A point at `angle` radians from (`lat`, `lon`) degrees, towards `bearing`.
    fn destination(lat: f64, lon: f64, angle: f64, bearing: f64) -> (f64, f64) {
        let (p1, l1) = (lat.to_radians(), lon.to_radians());
        let p2 = (p1.sin() * angle.cos() + p1.cos() * angle.sin() * bearing.cos()).asin();
        let l2 =
            l1 + (bearing.sin() * angle.sin() * p1.cos()).atan2(angle.cos() - p1.sin() * p2.sin());
        (p2.to_degrees(), l2.to_degrees())
    }

    /// Keys stay within a sixteenth of the tolerance of the keys of the
    /// reference distances, at every distance up to 3 rad, with float32 or
    /// float64 coordinates, longitudes up to 720°, near the poles.
    #[test]
    fn keys_follow_the_reference_distances_well_within_the_tolerance() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut uniform = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for k in 0..200_000 {
            let types = CoordTypes {
                lat_f32: k % 2 == 0,
                lon_f32: k % 3 == 0,
            };
            let tail = (uniform() * 180.0 - 90.0, uniform() * 900.0 - 180.0);
            let angle = 3.0 * (-20.0 * uniform()).exp();
            let (mut lat, mut lon) = destination(tail.0, tail.1, angle, uniform() * 6.3);
            lat = lat.clamp(-90.0, 90.0);
            if types.lat_f32 {
                lat = f64::from(lat as f32);
            }
            if types.lon_f32 {
                lon = f64::from(lon as f32);
            }
            let t = Pos::tail(tail.0, tail.1);
            let c = Pos::centre(lat, lon, types);
            // As stored: rounded to float32.
            let key = f64::from(chord2(&t.xyz, &c.xyz) as f32);
            let reference = (2.0 * (distance(&t, &c) / EARTH_RADIUS_KM / 2.0).sin()).powi(2);
            let largest = [t.lat_rad, t.lon_rad, c.lat_rad, c.lon_rad]
                .iter()
                .fold(0.0_f64, |m, x| m.max(x.abs()));
            let tol = KeyTolerance::for_coordinates(largest);
            let slack = (tol.upper(key) - key) / 16.0;
            assert!(
                (key - reference).abs() <= slack,
                "key {key} vs {reference} at ({tail:?}) -> ({lat}, {lon}), {types:?}"
            );
        }
    }
}
