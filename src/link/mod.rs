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

pub mod numpy;

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
}

impl Pos {
    /// A tail's last point: always float64, as the reference stores track points.
    fn tail(lat: f64, lon: f64) -> Self {
        let lat_rad = lat * DEGTORAD;
        Pos {
            lat,
            lon,
            lat_rad,
            cos_lat: lat_rad.cos(),
            lon_rad: lon * DEGTORAD,
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

/// A possible link: tail index, centre index, distance (NaN for antipodes).
type Pair = (usize, usize, f64);

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
        let pairs = self.candidate_pairs(centres);
        let mut by_centre: Vec<Vec<(usize, f64)>> = vec![vec![]; centres.len()];
        let mut by_tail: Vec<Vec<(usize, f64)>> = vec![vec![]; self.tails.len()];
        for &(t, c, d) in &pairs {
            by_centre[c].push((t, d));
            by_tail[t].push((c, d));
        }
        by_tail.iter_mut().for_each(|v| v.sort_by_key(|&(c, _)| c));
        by_centre
            .iter_mut()
            .for_each(|v| v.sort_by_key(|&(t, _)| t));

        let mut centre_of_tail: Vec<Option<usize>> = vec![None; self.tails.len()];
        let mut tail_of_centre: Vec<Option<usize>> = vec![None; centres.len()];
        loop {
            let mut progress = false;
            for ic in 0..centres.len() {
                if tail_of_centre[ic].is_some() {
                    continue;
                }
                let free_tail = |t: usize| centre_of_tail[t].is_none();
                // Only a tail strictly inside the radius makes the centre eligible.
                if !by_centre[ic]
                    .iter()
                    .any(|&(t, d)| free_tail(t) && d < self.radius_km)
                {
                    continue;
                }
                let Some(it) = argmin(&by_centre[ic], free_tail) else {
                    continue;
                };
                if argmin(&by_tail[it], |c| tail_of_centre[c].is_none()) == Some(ic) {
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

    /// All (tail, centre, distance) with distance < radius, plus the NaN
    /// (antipodal) pairs. Tails are sorted by latitude and a pair's distance is
    /// at least its latitude difference, so only a band of tails is measured.
    fn candidate_pairs(&self, centres: &[Pos]) -> Vec<Pair> {
        // 1e-6 degrees of margin guard the bands against rounding; the exact test decides.
        let band = self.radius_km / EARTH_RADIUS_KM / DEGTORAD + 1e-6;
        let mut out = Vec::new();
        let mut scan =
            |ic: usize, c: &Pos, lo_lat: f64, hi_lat: f64, keep: &dyn Fn(f64) -> bool| {
                let lo = self.tails.partition_point(|t| t.pos.lat < lo_lat);
                for (it, t) in self.tails.iter().enumerate().skip(lo) {
                    if t.pos.lat > hi_lat {
                        break;
                    }
                    let d = distance(&t.pos, c);
                    if keep(d) {
                        out.push((it, ic, d));
                    }
                }
            };
        let radius = self.radius_km;
        for (ic, c) in centres.iter().enumerate() {
            scan(ic, c, c.lat - band, c.lat + band, &|d| {
                d < radius || d.is_nan()
            });
            // Exact antipodes (NaN distance) outside the first band.
            if -c.lat - 1e-6 > c.lat + band || -c.lat + 1e-6 < c.lat - band {
                scan(ic, c, -c.lat - 1e-6, -c.lat + 1e-6, &|d| d.is_nan());
            }
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
