//! The simple tracker's linker: greedy mutual-nearest matching of each step's
//! centres to the open tracks, strictly in time order
//! (`shared/spec/simple-tracker.md` §2).
//!
//! Distances are great-circle distances on a sphere of radius 6367 km, computed
//! with the reference's exact sequence of floating-point operations so that
//! equal distances (ties) compare equal here too. Only pairs closer than the
//! link radius can ever be matched, so candidates are found through a
//! latitude-sorted index of the tails instead of a full distance matrix; the
//! result is identical.

use std::f64::consts::PI;

use crate::detect::Centre;
use crate::time::Instant;
use crate::tracks::{Point, TrackMeta, Tracks, TracksBuilder};
use crate::units::Distance;

/// Earth radius used by the reference tracker, km.
pub const EARTH_RADIUS_KM: f64 = 6367.0;
const DEG_TO_RAD: f64 = PI / 180.0;

/// Great-circle distance in km between a tail (`lat1`, `lon1`) and a centre,
/// degrees in, evaluated exactly as the reference's vectorised haversine.
#[inline]
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let phi1 = lat1 * DEG_TO_RAD;
    let phi2 = lat2 * DEG_TO_RAD;
    let dlat = phi2 - phi1;
    let dlon = lon2 * DEG_TO_RAD - lon1 * DEG_TO_RAD;
    let s_lat = (dlat / 2.0).sin();
    let s_lon = (dlon / 2.0).sin();
    let a = s_lat * s_lat + phi1.cos() * phi2.cos() * (s_lon * s_lon);
    EARTH_RADIUS_KM * (2.0 * a.sqrt().asin())
}

/// An open track: its index and the position of its last point.
#[derive(Debug, Clone, Copy)]
struct Tail {
    track: u32,
    lat: f64,
    lon: f64,
}

/// Links steps of centres into tracks. Steps must arrive in increasing time.
#[derive(Debug)]
pub struct SimpleLinker {
    radius_km: f64,
    tails: Vec<Tail>,
    previous: Option<Instant>,
    step: Option<i64>,
    builder: TracksBuilder,
}

impl SimpleLinker {
    pub fn new(radius: Distance) -> Self {
        SimpleLinker {
            radius_km: radius.km(),
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
        centres.sort_by(|a, b| {
            a.lat
                .partial_cmp(&b.lat)
                .unwrap()
                .then(a.lon.partial_cmp(&b.lon).unwrap())
        });
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
                    lat: c.lat,
                    lon: c.lon,
                })
                .collect();
            return;
        }
        self.tails.sort_by(|a, b| {
            a.lat
                .partial_cmp(&b.lat)
                .unwrap()
                .then(a.lon.partial_cmp(&b.lon).unwrap())
        });
        let matched = self.match_centres(&centres);
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
                lat: c.lat,
                lon: c.lon,
            });
        }
        self.tails = next;
    }

    /// Greedy mutual-nearest matching; returns the tail index matched to each
    /// centre. Equal distances go to the lower index (tails and centres are
    /// both sorted by latitude, then longitude).
    fn match_centres(&self, centres: &[Centre]) -> Vec<Option<usize>> {
        let pairs = self.candidate_pairs(centres);
        // Per centre and per tail: candidates within the radius, in index order.
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
                let Some(it) = nearest(&by_centre[ic], |t| centre_of_tail[t].is_none()) else {
                    continue;
                };
                if nearest(&by_tail[it], |c| tail_of_centre[c].is_none()) == Some(ic) {
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

    /// All (tail, centre, distance) with distance < radius. Tails are sorted by
    /// latitude, and a pair's distance is at least its latitude difference, so
    /// only tails in a latitude band around each centre are measured.
    fn candidate_pairs(&self, centres: &[Centre]) -> Vec<(usize, usize, f64)> {
        // Margin of 1e-6° guards the band against rounding; the exact test below decides.
        let band = self.radius_km / EARTH_RADIUS_KM / DEG_TO_RAD + 1e-6;
        let mut out = Vec::new();
        for (ic, c) in centres.iter().enumerate() {
            let lo = self.tails.partition_point(|t| t.lat < c.lat - band);
            for (it, t) in self.tails.iter().enumerate().skip(lo) {
                if t.lat > c.lat + band {
                    break;
                }
                let d = haversine_km(t.lat, t.lon, c.lat, c.lon);
                if d < self.radius_km {
                    out.push((it, ic, d));
                }
            }
        }
        out
    }

    /// The tracks linked so far.
    pub fn finish(self, meta: TrackMeta) -> Tracks {
        self.builder.finish(meta)
    }
}

/// The nearest admissible candidate; the lowest index on equal distance.
fn nearest(cands: &[(usize, f64)], admissible: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for &(i, d) in cands {
        if admissible(i) && best.is_none_or(|(_, bd)| d < bd) {
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
        let mut l = SimpleLinker::new(Distance::from_km(500.0));
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
        assert!((d - EARTH_RADIUS_KM * PI / 180.0).abs() < 1e-9);
        assert!(haversine_km(10.0, 350.0, 10.0, -10.0) < 1e-6);
        assert!((haversine_km(0.0, 0.0, 0.0, 180.0) - EARTH_RADIUS_KM * PI).abs() < 1e-6);
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
