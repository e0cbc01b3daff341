//! The array-backed track store.
//!
//! All points of all tracks live in contiguous columns (track id, time,
//! latitude, longitude, value), grouped by track and in time order within a
//! track. A [`Track`] is a view into those columns: no point is copied to
//! iterate, write or compare tracks.
//!
//! Units: times are [`Instant`]s in [`TrackMeta::calendar`]; latitudes and
//! longitudes in degrees as in the input file; values in the variable's stored
//! units (writers convert, e.g. Pa to hPa for IMILAST).

use crate::time::{Calendar, Instant};

/// What the tracks are of: needed by writers for headers and units.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackMeta {
    /// The variable name as the user asked for it (`msl`, `vo`, …).
    pub variable: String,
    /// Units of the stored values, if the file said (`Pa`, `s**-1`).
    pub units: Option<String>,
    /// Calendar of the times.
    pub calendar: Calendar,
    /// False when the input had no time axis (a single frame).
    pub time_known: bool,
}

impl TrackMeta {
    pub fn new(variable: &str) -> Self {
        TrackMeta {
            variable: variable.to_string(),
            units: None,
            calendar: Calendar::Standard,
            time_known: true,
        }
    }
}

/// Tracks as contiguous columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracks {
    pub meta: TrackMeta,
    track_id: Vec<u32>,
    time: Vec<Instant>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    value: Vec<f64>,
    /// Track `k` occupies `offsets[k]..offsets[k + 1]`.
    offsets: Vec<usize>,
}

/// One point of a track, as handed to a [`TracksBuilder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub time: Instant,
    pub lat: f64,
    pub lon: f64,
    pub value: f64,
}

/// A read-only view of one track.
#[derive(Debug, Clone, Copy)]
pub struct Track<'a> {
    tracks: &'a Tracks,
    /// Zero-based index of the track; tracks are numbered from 1 in output.
    pub index: usize,
    start: usize,
    end: usize,
}

impl<'a> Track<'a> {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    pub fn times(&self) -> &'a [Instant] {
        &self.tracks.time[self.start..self.end]
    }
    pub fn lats(&self) -> &'a [f64] {
        &self.tracks.lat[self.start..self.end]
    }
    pub fn lons(&self) -> &'a [f64] {
        &self.tracks.lon[self.start..self.end]
    }
    pub fn values(&self) -> &'a [f64] {
        &self.tracks.value[self.start..self.end]
    }
    /// The `i`-th point.
    pub fn point(&self, i: usize) -> Point {
        let j = self.start + i;
        Point {
            time: self.tracks.time[j],
            lat: self.tracks.lat[j],
            lon: self.tracks.lon[j],
            value: self.tracks.value[j],
        }
    }
    pub fn points(&self) -> impl ExactSizeIterator<Item = Point> + 'a {
        let t = *self;
        (0..t.len()).map(move |i| t.point(i))
    }
}

impl Tracks {
    /// An empty store.
    pub fn empty(meta: TrackMeta) -> Self {
        Tracks {
            meta,
            track_id: vec![],
            time: vec![],
            lat: vec![],
            lon: vec![],
            value: vec![],
            offsets: vec![0],
        }
    }

    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of points in all tracks.
    pub fn num_points(&self) -> usize {
        self.time.len()
    }
    pub fn get(&self, index: usize) -> Option<Track<'_>> {
        (index < self.len()).then(|| Track {
            tracks: self,
            index,
            start: self.offsets[index],
            end: self.offsets[index + 1],
        })
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Track<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i).expect("index in range"))
    }
    /// Zero-based track index of every point, in storage order.
    pub fn track_ids(&self) -> &[u32] {
        &self.track_id
    }
    pub fn times(&self) -> &[Instant] {
        &self.time
    }
    pub fn lats(&self) -> &[f64] {
        &self.lat
    }
    pub fn lons(&self) -> &[f64] {
        &self.lon
    }
    pub fn values(&self) -> &[f64] {
        &self.value
    }

    /// Builds a store from whole tracks, in order.
    pub fn from_tracks<I, T>(meta: TrackMeta, tracks: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: IntoIterator<Item = Point>,
    {
        let mut out = Tracks::empty(meta);
        for track in tracks {
            let id = out.len() as u32;
            for p in track {
                out.track_id.push(id);
                out.time.push(p.time);
                out.lat.push(p.lat);
                out.lon.push(p.lon);
                out.value.push(p.value);
            }
            out.offsets.push(out.time.len());
        }
        out
    }

    /// Keeps only tracks with at least `min_len` points, renumbering them.
    pub fn retain_min_length(&self, min_len: usize) -> Tracks {
        Tracks::from_tracks(
            self.meta.clone(),
            self.iter()
                .filter(|t| t.len() >= min_len)
                .map(|t| t.points()),
        )
    }
}

/// Collects points as a linker produces them (interleaved across tracks, in
/// time order) and groups them into contiguous tracks at the end.
///
/// The points are kept in the store's own columns from the start and grouped
/// in place, so that the store is the only copy of the points at any time: at
/// the end, besides the columns, only a permutation (4 bytes a point) and a
/// bitmap exist. This is the one structure that grows with the record.
#[derive(Debug, Default)]
pub struct TracksBuilder {
    track: Vec<u32>,
    time: Vec<Instant>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    value: Vec<f64>,
    num_tracks: u32,
}

impl TracksBuilder {
    /// Starts a new track with its first point; returns its zero-based index.
    pub fn start(&mut self, p: Point) -> u32 {
        let id = self.num_tracks;
        self.num_tracks += 1;
        self.extend(id, p);
        id
    }
    /// Appends a point to an existing track.
    pub fn extend(&mut self, track: u32, p: Point) {
        self.track.push(track);
        self.time.push(p.time);
        self.lat.push(p.lat);
        self.lon.push(p.lon);
        self.value.push(p.value);
    }
    pub fn num_tracks(&self) -> usize {
        self.num_tracks as usize
    }
    pub fn num_points(&self) -> usize {
        self.time.len()
    }

    /// Groups the points by track, each track keeping its time order.
    pub fn finish(mut self, meta: TrackMeta) -> Tracks {
        let offsets = self.offsets();
        let order = self.grouping_order(&offsets);
        permute_in_place(
            &order,
            (
                &mut self.time,
                &mut self.lat,
                &mut self.lon,
                &mut self.value,
            ),
        );
        drop(order);
        // The grouped track column is just the offsets spelled out.
        for (k, w) in offsets.windows(2).enumerate() {
            self.track[w[0]..w[1]].fill(k as u32);
        }
        Tracks {
            meta,
            track_id: self.track,
            time: self.time,
            lat: self.lat,
            lon: self.lon,
            value: self.value,
            offsets,
        }
    }

    /// Start of each track in the grouped columns, plus the total.
    fn offsets(&self) -> Vec<usize> {
        let n = self.num_tracks as usize;
        let mut offsets = vec![0usize; n + 1];
        for &t in &self.track {
            offsets[t as usize + 1] += 1;
        }
        for k in 0..n {
            offsets[k + 1] += offsets[k];
        }
        offsets
    }

    /// For each grouped position, the builder index of its point (a stable
    /// counting sort by track).
    fn grouping_order(&self, offsets: &[usize]) -> Vec<u32> {
        let mut next = offsets.to_vec();
        let mut order = vec![0u32; self.track.len()];
        for (i, &t) in self.track.iter().enumerate() {
            order[next[t as usize]] = i as u32;
            next[t as usize] += 1;
        }
        order
    }
}

/// Rearranges the columns so that position `j` holds what was at `order[j]`,
/// following the permutation's cycles (no second copy of any column).
fn permute_in_place(
    order: &[u32],
    (time, lat, lon, value): (&mut [Instant], &mut [f64], &mut [f64], &mut [f64]),
) {
    let mut done = vec![0u64; order.len().div_ceil(64)];
    for start in 0..order.len() {
        if done[start / 64] & (1 << (start % 64)) != 0 {
            continue;
        }
        let held = (time[start], lat[start], lon[start], value[start]);
        let mut j = start;
        loop {
            done[j / 64] |= 1 << (j % 64);
            let k = order[j] as usize;
            if k == start {
                (time[j], lat[j], lon[j], value[j]) = held;
                break;
            }
            (time[j], lat[j], lon[j], value[j]) = (time[k], lat[k], lon[k], value[k]);
            j = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(time: i64, lat: f64) -> Point {
        Point {
            time,
            lat,
            lon: 0.0,
            value: lat * 10.0,
        }
    }

    #[test]
    fn builder_groups_interleaved_points_into_views() {
        let mut b = TracksBuilder::default();
        let a = b.start(p(0, 1.0));
        let c = b.start(p(0, 2.0));
        b.extend(c, p(6, 2.5));
        b.extend(a, p(6, 1.5));
        b.start(p(12, 9.0));
        b.extend(a, p(12, 1.75));
        let t = b.finish(TrackMeta::new("msl"));
        assert_eq!(t.len(), 3);
        assert_eq!(t.num_points(), 6);
        let first = t.get(0).unwrap();
        assert_eq!(first.times(), &[0, 6, 12]);
        assert_eq!(first.lats(), &[1.0, 1.5, 1.75]);
        assert_eq!(t.get(1).unwrap().lats(), &[2.0, 2.5]);
        assert_eq!(t.get(2).unwrap().values(), &[90.0]);
        assert_eq!(t.track_ids(), &[0, 0, 0, 1, 1, 2]);
        assert!(t.get(3).is_none());
    }

    #[test]
    fn grouping_in_place_matches_a_stable_sort() {
        // Pseudo-random interleaving of many tracks, so the permutation has
        // long and short cycles.
        let mut b = TracksBuilder::default();
        let mut expected: Vec<Vec<Point>> = vec![];
        let mut x: u64 = 12345;
        for step in 0..200i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let open = expected.len();
            let q = Point {
                time: step,
                lat: (x >> 40) as f64,
                lon: step as f64,
                value: -(step as f64),
            };
            if open == 0 || x.is_multiple_of(3) {
                b.start(q);
                expected.push(vec![q]);
            } else {
                let k = (x >> 20) as usize % open;
                b.extend(k as u32, q);
                expected[k].push(q);
            }
        }
        let t = b.finish(TrackMeta::new("msl"));
        assert_eq!(t.len(), expected.len());
        for (k, want) in expected.iter().enumerate() {
            let got: Vec<Point> = t.get(k).unwrap().points().collect();
            assert_eq!(&got, want, "track {k}");
        }
        let ids: Vec<u32> = (0..t.len() as u32)
            .flat_map(|k| std::iter::repeat_n(k, expected[k as usize].len()))
            .collect();
        assert_eq!(t.track_ids(), &ids[..]);
    }

    #[test]
    fn min_length_filter_renumbers() {
        let t = Tracks::from_tracks(
            TrackMeta::new("msl"),
            vec![vec![p(0, 1.0)], vec![p(0, 2.0), p(6, 3.0)]],
        );
        let kept = t.retain_min_length(2);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.get(0).unwrap().lats(), &[2.0, 3.0]);
        assert_eq!(kept.track_ids(), &[0, 0]);
    }
}
