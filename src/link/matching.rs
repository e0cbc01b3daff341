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

use std::collections::HashMap;

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
const TAKEN: f64 = f64::INFINITY;

/// A candidate pair as seen from one side: the other side's index, the
/// pair's index and its key (NaN exactly when the pair's distance is NaN;
/// [`TAKEN`] once the other side is matched).
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    other: u32,
    pair: u32,
    key: f64,
}

/// Makes `v` at least `n` long (new slots default).
fn at_least<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
}

/// A vector whose storage only grows: clearing keeps the slots, so filling
/// it again step after step writes each slot once.
#[derive(Debug, Default)]
struct Slots<T> {
    items: Vec<T>,
    len: usize,
}

impl<T: Copy + Default> Slots<T> {
    fn clear(&mut self) {
        self.len = 0;
    }
    fn len(&self) -> usize {
        self.len
    }
    fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
    fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
    /// The `n` slots after the end, to fill before [`Slots::grow`].
    fn spare(&mut self, n: usize) -> &mut [T] {
        if self.items.len() < self.len + n {
            self.items.resize(self.len + n, T::default());
        }
        &mut self.items[self.len..self.len + n]
    }
    /// Takes the first `n` spare slots in.
    fn grow(&mut self, n: usize) {
        self.len += n;
    }
    fn push(&mut self, item: T) {
        self.spare(1)[0] = item;
        self.grow(1);
    }
}

/// Candidate pairs of one step, by centre and by tail, and the matching's
/// state. Buffers are kept from step to step.
#[derive(Debug, Default)]
pub struct Matching {
    /// Centre `c`'s candidates are `by_centre[centre_starts[c]..centre_starts[c + 1]]`;
    /// a pair's index is its position here.
    by_centre: Slots<Entry>,
    centre_starts: Vec<u32>,
    /// The same pairs grouped by tail, each tail's in centre order (slots
    /// beyond the number of pairs are left from earlier steps).
    by_tail: Vec<Entry>,
    tail_starts: Vec<u32>,
    /// Each pair's position in `by_tail`.
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
        self.by_centre.clear();
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
        let start = self.by_centre.len();
        let slots = self.by_centre.spare(max);
        let mut n = 0;
        for (tail, key, keep) in candidates.take(max) {
            slots[n] = Entry {
                other: tail,
                pair: (start + n) as u32,
                key,
            };
            n += usize::from(keep);
        }
        self.by_centre.grow(n);
    }

    /// Adds a candidate tail to the current centre whose exact distance is
    /// known (any pair whose distance may be NaN must come this way).
    pub fn push_exact(&mut self, tail: u32, key: f64, exact: f64) {
        let n = self.by_centre.len();
        self.by_centre.push(Entry {
            other: tail,
            pair: n as u32,
            key: if exact.is_nan() { f64::NAN } else { key },
        });
        self.exact.insert(n as u32, exact);
    }

    /// Closes the current centre's candidates.
    pub fn end_centre(&mut self) {
        self.centre_starts.push(self.by_centre.len() as u32);
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
        for e in self.by_centre.as_slice() {
            starts[e.other as usize + 1] += 1;
        }
        for t in 0..tails {
            starts[t + 1] += starts[t];
        }
        // Fill with starts[t] as tail t's cursor, which leaves it at tail
        // t + 1's start; then shift back.
        // Every slot up to the number of pairs is written below.
        at_least(&mut self.by_tail, self.by_centre.len());
        at_least(&mut self.tail_slot, self.by_centre.len());
        for (ic, w) in self.centre_starts.windows(2).enumerate() {
            for e in &self.by_centre.as_slice()[w[0] as usize..w[1] as usize] {
                let cursor = &mut starts[e.other as usize];
                self.by_tail[*cursor as usize] = Entry {
                    other: ic as u32,
                    ..*e
                };
                self.tail_slot[e.pair as usize] = *cursor;
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
        for e in &self.by_tail[self.tail_starts[t] as usize..self.tail_starts[t + 1] as usize] {
            self.by_centre.as_mut_slice()[e.pair as usize].key = TAKEN;
        }
        let c = ic as usize;
        for e in &self.by_centre.as_slice()
            [self.centre_starts[c] as usize..self.centre_starts[c + 1] as usize]
        {
            self.by_tail[self.tail_slot[e.pair as usize] as usize].key = TAKEN;
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
        let c = ic as usize;
        let row = &self.by_centre.as_slice()
            [self.centre_starts[c] as usize..self.centre_starts[c + 1] as usize];
        let cache = &mut self.exact;
        let mut exact = |e: &Entry| {
            *cache
                .entry(e.pair)
                .or_insert_with(|| (geo.distance)(e.other, ic))
        };
        let nearest = argmin(row, geo.tolerance, &mut exact);
        let number = nearest.number?;
        if !below_radius(&number, geo, &mut exact) {
            return None;
        }
        let choice = Choice {
            take: nearest.nan.unwrap_or(number).other,
            nearest: number.other,
        };
        self.centre_choice[c] = Some(choice);
        Some(choice.take)
    }

    /// The centre tail `it` takes among the unmatched ones. The last answer
    /// holds while that centre stays unmatched.
    fn nearest_centre<F: Fn(u32, u32) -> f64>(
        &mut self,
        it: u32,
        geo: &Geometry<F>,
    ) -> Option<u32> {
        let free = |c: u32| self.tail_of_centre[c as usize].is_none();
        let t = it as usize;
        if let Some(take) = self.tail_choice[t].filter(|&c| free(c)) {
            return Some(take);
        }
        let row = &self.by_tail[self.tail_starts[t] as usize..self.tail_starts[t + 1] as usize];
        let cache = &mut self.exact;
        let mut exact = |e: &Entry| {
            *cache
                .entry(e.pair)
                .or_insert_with(|| (geo.distance)(it, e.other))
        };
        let nearest = argmin(row, geo.tolerance, &mut exact);
        let take = nearest.nan.or(nearest.number).map(|e| e.other);
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

/// Whether a pair's reference distance is below the radius.
fn below_radius<F: Fn(u32, u32) -> f64>(
    e: &Entry,
    geo: &Geometry<F>,
    exact: &mut impl FnMut(&Entry) -> f64,
) -> bool {
    if let Some(radius) = geo.radius.key {
        if geo.tolerance.surely_less(e.key, radius) {
            return true;
        }
        if geo.tolerance.surely_less(radius, e.key) {
            return false;
        }
    }
    exact(e) < geo.radius.km
}

/// The outcome of numpy's `argmin` over the admissible candidates of a row,
/// in two parts: the candidate with a NaN distance and the lowest index
/// (`argmin` returns the first NaN), and the nearest candidate with a number
/// for a distance (the lowest index on equal distances).
struct Nearest {
    nan: Option<Entry>,
    number: Option<Entry>,
}

/// [`Nearest`] over the entries of `row` not [`TAKEN`]. Keys rule out every
/// candidate surely farther than the smallest key's; exact distances decide
/// between the rest, if more than one.
fn argmin(row: &[Entry], tol: KeyTolerance, exact: &mut impl FnMut(&Entry) -> f64) -> Nearest {
    let Some(first) = smallest_key(row) else {
        return Nearest {
            nan: first_nan(row),
            number: None,
        };
    };
    // Then, without branches on the keys either: the first entry with that
    // key, how many keys may belong to as small a distance, any NaN.
    let upper = tol.upper(first);
    let (mut at, mut contenders, mut nan) = (usize::MAX, 0, false);
    for (i, e) in row.iter().enumerate().rev() {
        at = if e.key == first { i } else { at };
        contenders += usize::from(e.key <= upper);
        nan |= e.key.is_nan();
    }
    let number = if contenders == 1 {
        row.get(at).copied()
    } else {
        nearest_exact(row, |e| e.key <= upper, exact)
    };
    let nan = if nan { first_nan(row) } else { None };
    Nearest { nan, number }
}

/// The smallest key of a row that is a number and not [`TAKEN`]. Keys are
/// never negative (nor -0), so their bits order as they do, NaN last, and an
/// integer minimum needs no branch on the (unpredictable) keys.
fn smallest_key(row: &[Entry]) -> Option<f64> {
    let bits = row
        .iter()
        .fold(TAKEN.to_bits(), |m, e| m.min(e.key.to_bits()));
    (bits < TAKEN.to_bits()).then(|| f64::from_bits(bits))
}

/// The entry with a NaN key and the lowest index.
fn first_nan(row: &[Entry]) -> Option<Entry> {
    row.iter()
        .filter(|e| e.key.is_nan())
        .min_by_key(|e| e.other)
        .copied()
}

/// Among the entries of `row` that are `contender`s (none with a NaN key),
/// the one with the smallest exact distance, the lowest index on equal
/// distances.
fn nearest_exact(
    row: &[Entry],
    contender: impl Fn(&Entry) -> bool,
    exact: &mut impl FnMut(&Entry) -> f64,
) -> Option<Entry> {
    let mut best: Option<(f64, Entry)> = None;
    for e in row.iter().filter(|e| contender(e) && !e.key.is_nan()) {
        let d = exact(e);
        debug_assert!(!d.is_nan(), "NaN distances are known when collected");
        if best.is_none_or(|(bd, b)| d < bd || (d == bd && e.other < b.other)) {
            best = Some((d, *e));
        }
    }
    best.map(|(_, e)| e)
}

#[cfg(test)]
mod tests {
    use super::super::{chord2, distance, CoordTypes, Latitude, Pos, EARTH_RADIUS_KM};
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
            let c = Pos::centre(&Latitude::centre(lat, types), lon, types);
            let key = chord2(&t.xyz, &c.xyz);
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
