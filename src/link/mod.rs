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
//! from a latitude-sorted index of the tails instead of a full distance matrix;
//! the result is identical. The one exception is an exactly antipodal pair,
//! whose distance the reference computes as NaN (rounding puts the haversine
//! argument above 1) and which numpy's `argmin` then prefers to any number:
//! such pairs are kept as candidates too, so the reference's behaviour holds.

pub mod index;
pub mod numpy;

use index::LatLonIndex;
use numpy::{deg2rad_f32, numpy_cos_f32, svml_asin8_ha, DEGTORAD};

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

/// A position prepared for distance computations: radians and cosine of the
/// latitude, radians of the longitude.
#[derive(Debug, Clone, Copy)]
struct Pos {
    lat: f64,
    lon: f64,
    lat_rad: f64,
    cos_lat: f64,
    lon_rad: f64,
    /// Unit vector, for the cheap chord prefilter.
    xyz: [f64; 3],
}

/// Unit vector of a latitude and longitude in radians.
fn unit_vector(lat_rad: f64, lon_rad: f64) -> [f64; 3] {
    let (s_lat, c_lat) = lat_rad.sin_cos();
    let (s_lon, c_lon) = lon_rad.sin_cos();
    [c_lat * c_lon, c_lat * s_lon, s_lat]
}

/// Squared chord between two unit vectors.
#[inline]
fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

impl Pos {
    /// A tail's last point: always float64, as the reference stores track points.
    fn tail(lat: f64, lon: f64) -> Self {
        let lat_rad = lat * DEGTORAD;
        let lon_rad = lon * DEGTORAD;
        Pos {
            lat,
            lon,
            lat_rad,
            cos_lat: lat_rad.cos(),
            lon_rad,
            xyz: unit_vector(lat_rad, lon_rad),
        }
    }

    /// A new centre, in the precision of the file's coordinates.
    fn centre(lat: f64, lon: f64, types: CoordTypes) -> Self {
        let (lat_rad, cos_lat) = if types.lat_f32 {
            let r = deg2rad_f32(lat as f32);
            (f64::from(r), f64::from(numpy_cos_f32(r)))
        } else {
            let r = lat * DEGTORAD;
            (r, r.cos())
        };
        let lon_rad = if types.lon_f32 {
            f64::from(deg2rad_f32(lon as f32))
        } else {
            lon * DEGTORAD
        };
        Pos {
            lat,
            lon,
            lat_rad,
            cos_lat,
            lon_rad,
            xyz: unit_vector(lat_rad, lon_rad),
        }
    }
}

/// Distance in km from a tail to a centre, as the reference's matrix entry.
#[inline]
fn distance(tail: &Pos, centre: &Pos) -> f64 {
    let dlat = centre.lat_rad - tail.lat_rad;
    let dlon = centre.lon_rad - tail.lon_rad;
    let s_lat = (dlat / 2.0).sin();
    let s_lon = (dlon / 2.0).sin();
    let a = s_lat * s_lat + tail.cos_lat * centre.cos_lat * (s_lon * s_lon);
    EARTH_RADIUS_KM * (2.0 * svml_asin8_ha(a.sqrt()))
}

/// Great-circle distance in km between two float64 positions in degrees,
/// exactly as the reference computes it (NaN for some exact antipodes).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    distance(
        &Pos::tail(lat1, lon1),
        &Pos::centre(lat2, lon2, CoordTypes::default()),
    )
}

/// An open track: its index and its last point.
#[derive(Debug, Clone, Copy)]
struct Tail {
    track: u32,
    pos: Pos,
}

/// Candidate links in compressed rows: for each row (centre, or tail after
/// [`Candidates::transpose`]) the other side's indices in increasing order,
/// with distances (NaN for antipodes).
#[derive(Debug, Default)]
struct Candidates {
    starts: Vec<usize>,
    items: Vec<(usize, f64)>,
}

impl Candidates {
    fn with_rows(rows: usize) -> Self {
        let mut starts = Vec::with_capacity(rows + 1);
        starts.push(0);
        Candidates {
            starts,
            items: Vec::new(),
        }
    }
    fn push(&mut self, other: usize, d: f64) {
        self.items.push((other, d));
    }
    /// Closes the current row, putting it in increasing index order.
    fn end_row(&mut self) {
        let start = *self.starts.last().expect("rows start at 0");
        self.items[start..].sort_unstable_by_key(|&(o, _)| o);
        self.starts.push(self.items.len());
    }
    fn row(&self, i: usize) -> &[(usize, f64)] {
        &self.items[self.starts[i]..self.starts[i + 1]]
    }
    /// The same pairs grouped by the other side (a stable counting sort, so
    /// each new row stays in increasing index order).
    fn transpose(&self, rows: usize) -> Candidates {
        let mut starts = vec![0usize; rows + 1];
        for &(o, _) in &self.items {
            starts[o + 1] += 1;
        }
        for i in 0..rows {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut items = vec![(0, 0.0); self.items.len()];
        for r in 0..self.starts.len() - 1 {
            for &(o, d) in self.row(r) {
                items[next[o]] = (r, d);
                next[o] += 1;
            }
        }
        Candidates { starts, items }
    }
}

/// Links steps of centres into tracks. Steps must arrive in increasing time.
#[derive(Debug)]
pub struct SimpleLinker {
    radius_km: f64,
    coords: CoordTypes,
    tails: Vec<Tail>,
    previous: Option<Instant>,
    step: Option<i64>,
    builder: TracksBuilder,
}

fn by_lat_lon(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then(a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
}

impl SimpleLinker {
    pub fn new(radius: Distance, coords: CoordTypes) -> Self {
        SimpleLinker {
            radius_km: radius.km(),
            coords,
            tails: vec![],
            previous: None,
            step: None,
            builder: TracksBuilder::default(),
        }
    }

    pub fn num_tracks(&self) -> usize {
        self.builder.num_tracks()
    }

    pub fn num_points(&self) -> usize {
        self.builder.num_points()
    }

    /// Consumes one time step.
    pub fn push(&mut self, time: Instant, mut centres: Vec<Centre>) {
        centres.sort_by(|a, b| by_lat_lon((a.lat, a.lon), (b.lat, b.lon)));
        let gap = match (self.previous, self.step) {
            (Some(prev), Some(step)) => time - step > prev,
            _ => false,
        };
        if let Some(prev) = self.previous {
            self.step.get_or_insert(time - prev);
        }
        self.previous = Some(time);

        let point = |c: &Centre| Point {
            time,
            lat: c.lat,
            lon: c.lon,
            value: c.value,
        };
        if centres.is_empty() {
            self.tails.clear();
            return;
        }
        if self.tails.is_empty() || gap {
            self.tails = centres
                .iter()
                .map(|c| Tail {
                    track: self.builder.start(point(c)),
                    pos: Pos::tail(c.lat, c.lon),
                })
                .collect();
            return;
        }
        self.tails
            .sort_by(|a, b| by_lat_lon((a.pos.lat, a.pos.lon), (b.pos.lat, b.pos.lon)));
        let positions: Vec<Pos> = centres
            .iter()
            .map(|c| Pos::centre(c.lat, c.lon, self.coords))
            .collect();
        let matched = self.match_centres(&positions);
        let mut next = Vec::with_capacity(centres.len());
        for (c, m) in centres.iter().zip(matched) {
            let track = match m {
                Some(t) => {
                    let track = self.tails[t].track;
                    self.builder.extend(track, point(c));
                    track
                }
                None => self.builder.start(point(c)),
            };
            next.push(Tail {
                track,
                pos: Pos::tail(c.lat, c.lon),
            });
        }
        self.tails = next;
    }

    /// Greedy mutual-nearest matching; returns the tail index matched to each
    /// centre. Equal distances go to the lower index (tails and centres are
    /// both sorted by latitude, then longitude), as numpy's `argmin` does.
    fn match_centres(&self, centres: &[Pos]) -> Vec<Option<usize>> {
        let by_centre = self.candidate_pairs(centres);
        let by_tail = by_centre.transpose(self.tails.len());
        let mut centre_of_tail: Vec<Option<usize>> = vec![None; self.tails.len()];
        let mut tail_of_centre: Vec<Option<usize>> = vec![None; centres.len()];
        loop {
            let mut progress = false;
            for ic in 0..centres.len() {
                if tail_of_centre[ic].is_some() {
                    continue;
                }
                let free_tail = |t: usize| centre_of_tail[t].is_none();
                let cands = by_centre.row(ic);
                // Only a tail strictly inside the radius makes the centre eligible.
                if !cands
                    .iter()
                    .any(|&(t, d)| free_tail(t) && d < self.radius_km)
                {
                    continue;
                }
                let Some(it) = argmin(cands, free_tail) else {
                    continue;
                };
                if argmin(by_tail.row(it), |c| tail_of_centre[c].is_none()) == Some(ic) {
                    tail_of_centre[ic] = Some(it);
                    centre_of_tail[it] = Some(ic);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        tail_of_centre
    }

    /// For each centre, the tails closer than the radius, plus those at a NaN
    /// distance (exact antipodes), in tail order. Tails are sorted by latitude
    /// and a pair's distance is at least its latitude difference, so only a
    /// band of tails is looked at; a chord test on unit vectors then spares
    /// the exact (expensive) distance for all but the few real candidates.
    fn candidate_pairs(&self, centres: &[Pos]) -> Candidates {
        // 1e-5 rad (64 m) of margin covers every rounding difference between the
        // prefilters and the exact distance, including float32 coordinates.
        let angle = (self.radius_km / EARTH_RADIUS_KM + 1e-5).min(std::f64::consts::PI);
        let search = angle / DEGTORAD;
        let reach2 = (2.0 * (angle / 2.0).sin()).powi(2);
        let index = LatLonIndex::build(self.tails.iter().map(|t| (t.pos.lat, t.pos.lon)), search);
        let mut out = Candidates::with_rows(centres.len());
        for c in centres {
            let mut consider = |it: usize, target: &[f64; 3], reach2: f64, nan_only: bool| {
                let t = &self.tails[it].pos;
                if chord2(&t.xyz, target) > reach2 {
                    return;
                }
                let d = distance(t, c);
                if d.is_nan() || (!nan_only && d < self.radius_km) {
                    out.push(it, d);
                }
            };
            index.for_each_near(c.lat, c.lon, search, |it| {
                consider(it, &c.xyz, reach2, false)
            });
            // Exact antipodes, which the chord test above excludes.
            let anti = [-c.xyz[0], -c.xyz[1], -c.xyz[2]];
            index.for_each_near(-c.lat, c.lon + 180.0, 1e-6, |it| {
                consider(it, &anti, 1e-12, true)
            });
            out.end_row();
        }
        out
    }

    /// The tracks linked so far.
    pub fn finish(self, meta: TrackMeta) -> Tracks {
        self.builder.finish(meta)
    }
}

/// numpy's `argmin` over the admissible candidates: the first NaN if there is
/// one, else the smallest distance, the lowest index on ties.
fn argmin(cands: &[(usize, f64)], admissible: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for &(i, d) in cands.iter().filter(|(i, _)| admissible(*i)) {
        if d.is_nan() {
            return Some(i);
        }
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
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
}
