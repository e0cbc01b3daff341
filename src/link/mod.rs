//! The simple tracker's linker: greedy mutual-nearest matching of each step's
//! centres to the open tracks, strictly in time order
//! (`shared/spec/simple-tracker.md` §2).
//!
//! Distances are great-circle distances on a sphere of radius 6367 km. They are
//! evaluated with the reference's exact sequence of floating-point operations
//! *and* its numpy kernels ([`numpy`]): equal distances (ties) and distances at
//! the radius must compare here exactly as they did there. Where the file's
//! coordinates are float32, the reference computes the centres' radians and
//! cosines in float32, and so does this linker.
//!
//! Only pairs closer than the link radius can be matched, so candidates come
//! from a latitude/longitude index of the tails ([`index`]) instead of a full
//! distance matrix; the result is identical. The one exception is an exactly
//! antipodal pair, whose distance the reference computes as NaN (rounding puts
//! the haversine argument above 1) and which numpy's `argmin` then prefers to
//! any number: such pairs are kept as candidates too, so the reference's
//! behaviour holds.
//!
//! Candidates are compared by the squared chord between unit vectors, which
//! orders them as their great-circle distances do; the exact reference
//! distance, costly, is computed only for the few comparisons the chords
//! cannot decide within their rounding tolerance (module `matching`).
//!
//! Per step the work is linear but for the index queries: centres arrive row
//! by row and are sorted by reversing the rows where possible; the
//! trigonometry of their grid rows and columns is kept from step to step
//! (module `position`); buffers are kept from step to step.
//!
//! The tails are always the previous step's centres (a track not continued
//! ends), so which centre continues which is a pure function of two
//! consecutive steps: [`StepMatcher`] computes it, on any thread and in any
//! order ([`crate::tracker::Tracker::match_ahead`]: the detecting threads do
//! it as soon as both steps are detected). [`SimpleLinker`] then only applies
//! the time-gap rule and numbers the tracks, strictly in time order, matching
//! itself the steps that come without (the first of each block). Results are
//! the same either way.

pub mod index;
mod matching;
pub mod numpy;
mod position;

use index::LatLonIndex;
use matching::{Geometry, KeyTolerance, Matching, Radius, KEY_NEAR_ANTIPODE};
use numpy::DEGTORAD;
pub use position::haversine_km;
use position::{chord2, distance, GridTrig, Pos};

use std::cmp::Ordering;

use crate::detect::Centre;
use crate::grid::Grid;
use crate::time::Instant;
use crate::tracks::{Point, TrackMeta, Tracks, TracksBuilder};
use crate::units::Distance;

/// Earth radius used by the reference tracker, km.
pub const EARTH_RADIUS_KM: f64 = 6367.0;

/// Storage types of the grid's coordinates, which set the precision of the
/// centres' side of the distance computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoordTypes {
    pub lat_f32: bool,
    pub lon_f32: bool,
}

impl CoordTypes {
    pub fn of(grid: &Grid) -> Self {
        CoordTypes {
            lat_f32: grid.lat_f32,
            lon_f32: grid.lon_f32,
        }
    }
}

/// Marks a centre of [`StepMatcher::link`]'s result that continues no
/// centre of the previous step.
pub const UNMATCHED: u32 = u32::MAX;

/// Matches one step's centres to the previous step's: the part of linking
/// that depends on nothing but the two steps (and so may run on any thread,
/// ahead of the linker), which is most of its work.
#[derive(Debug)]
pub struct StepMatcher {
    radius_km: f64,
    coords: CoordTypes,
    /// Buffers kept from call to call: the positions of the tails (the
    /// previous step's centres) and of the centres, the index, the matching.
    tail_pos: Vec<Pos>,
    positions: Vec<Pos>,
    trig: GridTrig,
    tail_trig: GridTrig,
    index: LatLonIndex<Indexed>,
    matching: Matching,
}

impl StepMatcher {
    pub fn new(radius: Distance, coords: CoordTypes) -> Self {
        StepMatcher {
            radius_km: radius.km(),
            coords,
            tail_pos: Vec::new(),
            positions: Vec::new(),
            trig: GridTrig::default(),
            tail_trig: GridTrig::default(),
            index: LatLonIndex::default(),
            matching: Matching::default(),
        }
    }

    /// Whether this matcher links with `radius` on coordinates of `coords`.
    pub fn fits(&self, radius: Distance, coords: CoordTypes) -> bool {
        self.radius_km == radius.km() && self.coords == coords
    }

    /// For each centre of `current`, the index in `previous` of the centre
    /// it continues, or [`UNMATCHED`]. Both steps must be in the order
    /// [`sort_centres`] gives.
    pub fn link(&mut self, previous: &[Centre], current: &[Centre]) -> Vec<u32> {
        self.matching.clear();
        if !previous.is_empty() && !current.is_empty() {
            self.trig
                .positions(current, self.coords, &mut self.positions);
            // Tails are float64 (as centres of float64 coordinates are).
            self.tail_trig
                .positions(previous, CoordTypes::default(), &mut self.tail_pos);
            self.match_centres();
        }
        (0..current.len())
            .map(|ic| self.matching.tail_of(ic).unwrap_or(UNMATCHED))
            .collect()
    }

    /// Greedy mutual-nearest matching of the centres to the tails. Tails
    /// are the previous step's centres, so they are sorted by latitude, then
    /// longitude, as the centres are; equal distances go to the lower index,
    /// as numpy's `argmin` does.
    fn match_centres(&mut self) {
        let geo = Geometry {
            radius: Radius {
                km: self.radius_km,
                key: radius_key(self.radius_km),
            },
            tolerance: KeyTolerance::for_coordinates(largest_radians(
                &self.tail_pos,
                &self.positions,
            )),
            distance: |t: u32, c: u32| {
                distance(&self.tail_pos[t as usize], &self.positions[c as usize])
            },
        };
        index_tails(&self.tail_pos, self.radius_km, &mut self.index);
        collect_candidates(
            &self.tail_pos,
            &self.positions,
            &geo,
            &self.index,
            &mut self.matching,
        );
        self.matching.run(self.tail_pos.len(), &geo);
    }
}

/// Links steps of centres into tracks. Steps must arrive in increasing time.
/// Each step's matching to the previous one may come computed ahead (by
/// [`StepMatcher`] on another thread); what is left here, in time order, is
/// the time-gap rule and numbering the tracks.
#[derive(Debug)]
pub struct SimpleLinker {
    matcher: StepMatcher,
    /// The open tracks ("tails"): the previous step's centres, sorted, and
    /// their tracks.
    tails: Vec<u32>,
    tail_centres: Vec<Centre>,
    previous: Option<Instant>,
    step: Option<i64>,
    builder: TracksBuilder,
    tracks: Vec<u32>,
}

/// Sorts one step's centres by latitude, then longitude, as the linker
/// orders them (stable; cheap on centres already in that order).
pub fn sort_centres(centres: &mut [Centre]) {
    sort_by_lat_lon(centres);
}

/// Orders centres by latitude, then longitude. A total order, as sorting
/// needs: NaN after every number (as numpy sorts), -0 equal to 0. (Inputs
/// refuse NaN coordinates; this keeps a library caller's NaN from panicking.)
fn by_lat_lon(a: &Centre, b: &Centre) -> Ordering {
    coordinate_order(a.lat, b.lat).then(coordinate_order(a.lon, b.lon))
}

fn coordinate_order(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// Sorts centres by latitude, then longitude, exactly as a stable sort
/// does. Detection yields centres row by row, so when the rows run north to
/// south (as in most files) the sorted order is the rows' in reverse, which
/// takes linear time to find.
fn sort_by_lat_lon(centres: &mut [Centre]) {
    let finite = centres.iter().all(|c| !(c.lat.is_nan() || c.lon.is_nan()));
    if !(finite && runs_descend(centres)) {
        centres.sort_by(by_lat_lon);
        return;
    }
    let mut start = 0;
    for i in 1..=centres.len() {
        if i == centres.len() || by_lat_lon(&centres[i - 1], &centres[i]) == Ordering::Greater {
            centres[start..i].reverse();
            start = i;
        }
    }
    centres.reverse();
}

/// Whether each run (maximal non-descending stretch) of `centres` lies
/// wholly below the run before: then reversing the order of the runs sorts
/// them, and (no two runs sharing a key) as a stable sort would.
fn runs_descend(centres: &[Centre]) -> bool {
    let (mut previous, mut start) = (None, 0);
    for i in 1..=centres.len() {
        if i < centres.len() && by_lat_lon(&centres[i - 1], &centres[i]) != Ordering::Greater {
            continue;
        }
        if previous
            .is_some_and(|p: usize| by_lat_lon(&centres[i - 1], &centres[p]) != Ordering::Less)
        {
            return false;
        }
        (previous, start) = (Some(start), i);
    }
    true
}

impl SimpleLinker {
    pub fn new(radius: Distance, coords: CoordTypes) -> Self {
        SimpleLinker {
            matcher: StepMatcher::new(radius, coords),
            tails: Vec::new(),
            tail_centres: Vec::new(),
            previous: None,
            step: None,
            builder: TracksBuilder::default(),
            tracks: Vec::new(),
        }
    }

    pub fn num_tracks(&self) -> usize {
        self.builder.num_tracks()
    }

    pub fn num_points(&self) -> usize {
        self.builder.num_points()
    }

    /// Consumes one time step.
    pub fn push(&mut self, time: Instant, centres: Vec<Centre>) {
        self.push_matched(time, centres, None);
    }

    /// Consumes one time step whose matching to the previous step may have
    /// been computed ahead: `links` as [`StepMatcher::link`] gives them for
    /// the step's centres in [`sort_centres`] order (ignored unless there is
    /// one per centre).
    pub fn push_matched(
        &mut self,
        time: Instant,
        mut centres: Vec<Centre>,
        links: Option<Vec<u32>>,
    ) {
        sort_by_lat_lon(&mut centres);
        let gap = match (self.previous, self.step) {
            (Some(prev), Some(step)) => time - step > prev,
            _ => false,
        };
        if let Some(prev) = self.previous {
            self.step.get_or_insert(time - prev);
        }
        self.previous = Some(time);
        if gap {
            self.tails.clear();
            self.tail_centres.clear();
        }
        let links = if self.tails.is_empty() {
            None
        } else {
            Some(
                links
                    .filter(|l| l.len() == centres.len())
                    .unwrap_or_else(|| self.matcher.link(&self.tail_centres, &centres)),
            )
        };
        self.extend_tracks(time, &centres, links.as_deref());
        self.tail_centres = centres;
    }

    /// Extends the matched tracks with their centres and starts a track at
    /// every other centre; the centres become the tails, still sorted.
    fn extend_tracks(&mut self, time: Instant, centres: &[Centre], links: Option<&[u32]>) {
        self.tracks.clear();
        for (ic, c) in centres.iter().enumerate() {
            let point = Point {
                time,
                lat: c.lat,
                lon: c.lon,
                value: c.value,
            };
            let tail = links.map_or(UNMATCHED, |l| l[ic]);
            self.tracks.push(match self.tails.get(tail as usize) {
                Some(&track) => {
                    self.builder.extend(track, point);
                    track
                }
                None => self.builder.start(point),
            });
        }
        std::mem::swap(&mut self.tails, &mut self.tracks);
    }

    /// The tracks linked so far.
    pub fn finish(self, meta: TrackMeta) -> Tracks {
        self.builder.finish(meta)
    }
}

/// The key (squared chord) of the radius, unless the radius reaches so
/// close to the antipode (beyond 3 rad) that only exact distances may be
/// compared with it.
fn radius_key(radius_km: f64) -> Option<f64> {
    let angle = radius_km / EARTH_RADIUS_KM;
    (angle <= 3.0).then(|| (2.0 * (angle / 2.0).sin()).powi(2))
}

/// The largest coordinate magnitude in radians, which bounds the rounding
/// of the reference's coordinate differences. (NaN coordinates are passed
/// over: they make NaN keys, which are never compared.)
fn largest_radians(tails: &[Pos], centres: &[Pos]) -> f64 {
    tails
        .iter()
        .chain(centres)
        .map(|p| p.lat_rad.abs().max(p.lon_rad.abs()))
        .fold(0.0, f64::max)
}

/// Indexes the tails for searches within the radius.
fn index_tails(tails: &[Pos], radius_km: f64, index: &mut LatLonIndex<Indexed>) {
    // 1e-5 rad (64 m) of margin covers every rounding difference between the
    // index's search and the exact distance, including float32 coordinates.
    let angle = (radius_km / EARTH_RADIUS_KM + 1e-5).min(std::f64::consts::PI);
    let points = tails.iter().enumerate().map(|(i, t)| {
        let p = Indexed {
            xyz: t.xyz,
            tail: i as u32,
        };
        (t.lat, t.lon, p)
    });
    index.rebuild(points, angle / DEGTORAD);
}

/// Collects, for each centre, the tails that may be closer than the radius,
/// plus those at a NaN distance (exact antipodes): the index yields the
/// tails near the centre, and keys drop those surely too far.
fn collect_candidates<F: Fn(u32, u32) -> f64>(
    tails: &[Pos],
    centres: &[Pos],
    geo: &Geometry<F>,
    index: &LatLonIndex<Indexed>,
    out: &mut Matching,
) {
    let reach = geo
        .radius
        .key
        .map_or(f64::INFINITY, |k| geo.tolerance.upper(k));
    let mut antipodes = OppositeLatitudes::new(tails);
    let mut band = index.band(f64::NAN);
    for c in centres {
        // Centres are sorted by latitude: many share one.
        if band.lat != c.lat {
            band = index.band(c.lat);
        }
        index.for_each_in(&band, c.lon, |points| {
            let key = |p: &Indexed| chord2(&p.xyz, &c.xyz);
            let mut odd = false;
            out.extend(
                points.len(),
                points.iter().map(|p| {
                    let key = key(p);
                    let usual = key < KEY_NEAR_ANTIPODE;
                    odd |= !(usual || key > reach);
                    (p.tail, key, usual && key <= reach)
                }),
            );
            // Keys that may come with a NaN distance (near antipodes, NaN
            // coordinates): compute it now.
            for p in points
                .iter()
                .filter(|p| odd && !(key(p) < KEY_NEAR_ANTIPODE || key(p) > reach))
            {
                let d = distance(&tails[p.tail as usize], c);
                if d.is_nan() || d < geo.radius.km {
                    out.push_exact(p.tail, key(p), d);
                }
            }
        });
        for it in antipodes.next(c.lat) {
            let t = &tails[it];
            if chord2(&t.xyz, &[-c.xyz[0], -c.xyz[1], -c.xyz[2]]) <= 1e-12 {
                let d = distance(t, c);
                if d.is_nan() {
                    out.push_exact(it as u32, chord2(&t.xyz, &c.xyz), d);
                }
            }
        }
        out.end_centre();
    }
}

/// A tail in the index: its unit vector and index.
#[derive(Debug, Clone, Copy, Default)]
struct Indexed {
    xyz: [f64; 3],
    tail: u32,
}

/// For centres in increasing latitude, the tails whose latitude is (within
/// 1e-4°) the opposite of each centre's: a window sliding down the
/// latitude-sorted tails. Exact antipodes (chord below 1e-6) are among them.
struct OppositeLatitudes<'a> {
    tails: &'a [Pos],
    lo: usize,
    hi: usize,
}

impl<'a> OppositeLatitudes<'a> {
    const WINDOW: f64 = 1e-4;

    fn new(tails: &'a [Pos]) -> Self {
        OppositeLatitudes {
            tails,
            lo: tails.len(),
            hi: tails.len(),
        }
    }

    /// Indices of the tails within the window of `-lat`, which must not
    /// be below that of the previous call.
    fn next(&mut self, lat: f64) -> std::ops::Range<usize> {
        let target = -lat;
        if !target.is_finite() {
            return 0..0;
        }
        let lat_of = |i: usize| self.tails[i].lat;
        // (Past NaN latitudes too, which the sort left anywhere.)
        let above = |lat: f64| lat > target + Self::WINDOW || lat.is_nan();
        while self.hi > 0 && above(lat_of(self.hi - 1)) {
            self.hi -= 1;
        }
        while self.lo > 0 && lat_of(self.lo - 1) >= target - Self::WINDOW {
            self.lo -= 1;
        }
        self.lo.min(self.hi)..self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 6 * 3600;

    fn c(lat: f64, lon: f64) -> Centre {
        Centre {
            row: 0,
            col: 0,
            lat,
            lon,
            value: lat + lon,
        }
    }

    fn link(steps: Vec<(i64, Vec<Centre>)>) -> Tracks {
        let mut l = SimpleLinker::new(Distance::from_km(500.0), CoordTypes::default());
        for (t, cs) in steps {
            l.push(t, cs);
        }
        l.finish(TrackMeta::new("msl"))
    }

    fn shape(t: &Tracks) -> Vec<Vec<(f64, f64)>> {
        t.iter()
            .map(|tr| {
                tr.lats()
                    .iter()
                    .copied()
                    .zip(tr.lons().iter().copied())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn haversine_matches_known_distances() {
        let d = haversine_km(0.0, 0.0, 0.0, 1.0);
        assert!((d - EARTH_RADIUS_KM * std::f64::consts::PI / 180.0).abs() < 1e-9);
        assert!(haversine_km(10.0, 350.0, 10.0, -10.0) < 1e-6);
        assert!(
            (haversine_km(0.0, 0.0, 0.0, 180.0) - EARTH_RADIUS_KM * std::f64::consts::PI).abs()
                < 1e-6
        );
    }

    #[test]
    fn first_step_starts_tracks_in_sorted_order() {
        let t = link(vec![(0, vec![c(10.0, 5.0), c(-10.0, 5.0), c(10.0, 1.0)])]);
        assert_eq!(
            shape(&t),
            vec![vec![(-10.0, 5.0)], vec![(10.0, 1.0)], vec![(10.0, 5.0)]]
        );
    }

    #[test]
    fn links_nearest_within_radius() {
        let t = link(vec![
            (0, vec![c(40.0, 0.0), c(60.0, 0.0)]),
            (H, vec![c(60.0, 2.5), c(40.0, 2.5)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![
                vec![(40.0, 0.0), (40.0, 2.5)],
                vec![(60.0, 0.0), (60.0, 2.5)]
            ]
        );
    }

    #[test]
    fn radius_is_strict() {
        // Bisect for the last longitude on the equator still closer than 500 km.
        let (mut inside, mut outside) = (4.0_f64, 5.0_f64);
        while outside.next_down() > inside {
            let mid = 0.5 * (inside + outside);
            if haversine_km(0.0, 0.0, 0.0, mid) < 500.0 {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        let linked =
            |lon: f64| link(vec![(0, vec![c(0.0, 0.0)]), (H, vec![c(0.0, lon)])]).len() == 1;
        assert!(linked(inside));
        assert!(
            !linked(outside),
            "a centre at 500 km or more starts a new track"
        );
    }

    #[test]
    fn tie_goes_to_first_tail() {
        // One centre exactly between two tails: equal distances, the first
        // (southern) tail wins, the other ends.
        let t = link(vec![
            (0, vec![c(-1.0, 0.0), c(1.0, 0.0)]),
            (H, vec![c(0.0, 0.0)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![vec![(-1.0, 0.0), (0.0, 0.0)], vec![(1.0, 0.0)]]
        );
    }

    #[test]
    fn mutual_nearest_over_passes() {
        // Tail A at 0°, tail B at 3°; centres at 1° and 2.5° (longitudes, equator).
        // Centre 1° -> A (nearest), A's nearest is 1° -> link.
        // Centre 2.5° -> B, B's nearest is 2.5° -> link.
        let t = link(vec![
            (0, vec![c(0.0, 0.0), c(0.0, 3.0)]),
            (H, vec![c(0.0, 1.0), c(0.0, 2.5)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![vec![(0.0, 0.0), (0.0, 1.0)], vec![(0.0, 3.0), (0.0, 2.5)]]
        );
        // Tails at 0° and 1.5°, centres at 1° and 3.5°: centre 1° takes tail 1.5°
        // (mutually nearest); centre 3.5° (389 km from tail 0°) then takes tail 0°.
        let t = link(vec![
            (0, vec![c(0.0, 0.0), c(0.0, 1.5)]),
            (H, vec![c(0.0, 1.0), c(0.0, 3.5)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![vec![(0.0, 0.0), (0.0, 3.5)], vec![(0.0, 1.5), (0.0, 1.0)]]
        );
    }

    #[test]
    fn unmatched_centres_start_tracks_and_unmatched_tails_close() {
        let t = link(vec![
            (0, vec![c(0.0, 0.0)]),
            (H, vec![c(0.0, 1.0), c(50.0, 50.0)]),
            (2 * H, vec![c(50.0, 51.0)]),
            (3 * H, vec![c(0.0, 1.0)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![
                vec![(0.0, 0.0), (0.0, 1.0)],
                vec![(50.0, 50.0), (50.0, 51.0)],
                vec![(0.0, 1.0)]
            ]
        );
    }

    #[test]
    fn empty_step_closes_all_tracks() {
        let t = link(vec![
            (0, vec![c(0.0, 0.0)]),
            (H, vec![]),
            (2 * H, vec![c(0.0, 0.5)]),
            (3 * H, vec![c(0.0, 1.0)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![vec![(0.0, 0.0)], vec![(0.0, 0.5), (0.0, 1.0)]]
        );
    }

    #[test]
    fn time_gap_closes_all_tracks() {
        let t = link(vec![
            (0, vec![c(0.0, 0.0)]),
            (H, vec![c(0.0, 0.5)]),
            (3 * H, vec![c(0.0, 1.0)]),
            (4 * H, vec![c(0.0, 1.5)]),
        ]);
        assert_eq!(
            shape(&t),
            vec![vec![(0.0, 0.0), (0.0, 0.5)], vec![(0.0, 1.0), (0.0, 1.5)]]
        );
    }

    #[test]
    fn links_across_the_dateline() {
        let t = link(vec![(0, vec![c(45.0, 359.0)]), (H, vec![c(45.0, 1.0)])]);
        assert_eq!(t.len(), 1);
        let t = link(vec![(0, vec![c(45.0, 179.0)]), (H, vec![c(45.0, -179.0)])]);
        assert_eq!(t.len(), 1);
    }

    /// Centres as detection yields them: rows in file order, columns in
    /// order, several centres on some rows, equal coordinates on some.
    fn row_major(lats: &[f64], lons: &[f64]) -> Vec<Centre> {
        let mut out = Vec::new();
        for (r, &lat) in lats.iter().enumerate() {
            for (k, &lon) in lons.iter().enumerate().filter(|(k, _)| (r + k) % 3 != 0) {
                out.push(Centre {
                    row: r as u32,
                    col: k as u32,
                    lat,
                    lon,
                    value: out.len() as f64,
                });
            }
        }
        out
    }

    #[test]
    fn sorting_centres_equals_the_stable_sort() {
        let lons = [-180.0, -0.0, 0.0, 10.0, 10.0, 359.75];
        let cases = [
            row_major(&[90.0, 45.0, 0.25, -0.0, -90.0], &lons),
            row_major(&[90.0, 45.0, 0.25, 0.0, -0.0, -90.0], &lons),
            row_major(&[-90.0, -1.0, 0.0, 60.0], &lons),
            row_major(&[10.0, 20.0, 10.0, 5.0], &lons),
            row_major(&[10.0, f64::NAN, 5.0], &lons),
            row_major(&[3.0, 2.0, 1.0], &[5.0, f64::NAN, 1.0]),
            row_major(
                &[f64::NAN, 2.0, f64::NAN, 1.0, f64::NAN],
                &[f64::NAN, 3.0, 1.0],
            ),
        ];
        for centres in cases {
            let mut fast = centres.clone();
            sort_by_lat_lon(&mut fast);
            let mut stable = centres.clone();
            stable.sort_by(by_lat_lon);
            let values = |v: &[Centre]| v.iter().map(|c| c.value).collect::<Vec<_>>();
            assert_eq!(values(&fast), values(&stable), "{centres:?}");
        }
    }

    #[test]
    fn nan_coordinates_sort_last_without_panicking() {
        // Enough centres for the standard library's sort to check its order.
        let lats: Vec<f64> = (0..40)
            .map(|i| {
                if i % 3 == 0 {
                    f64::NAN
                } else {
                    f64::from(i % 7)
                }
            })
            .collect();
        let mut centres = row_major(&lats, &[f64::NAN, 1.0, 0.0]);
        sort_centres(&mut centres);
        let first_nan = centres.iter().position(|c| c.lat.is_nan()).unwrap();
        assert!(centres[first_nan..].iter().all(|c| c.lat.is_nan()));
        assert!(centres[..first_nan]
            .windows(2)
            .all(|w| by_lat_lon(&w[0], &w[1]) != Ordering::Greater));
    }

    #[test]
    fn kept_trigonometry_serves_only_the_same_coordinates() {
        let types = CoordTypes {
            lat_f32: true,
            lon_f32: false,
        };
        let mut trig = GridTrig::default();
        let mut got = Vec::new();
        let steps = [
            row_major(&[50.0, 40.0], &[0.0, 10.0, 20.0]),
            row_major(&[50.0, 40.0], &[0.0, 10.0, 20.0]),
            // Same rows and columns, other coordinates.
            row_major(&[-5.5, 7.25], &[359.0, -10.0, 1e-9]),
        ];
        for centres in steps {
            trig.positions(&centres, types, &mut got);
            for (p, c) in got.iter().zip(&centres) {
                let want = Pos::centre(c.lat, c.lon, types);
                assert_eq!(format!("{p:?}"), format!("{want:?}"));
            }
        }
    }
}
