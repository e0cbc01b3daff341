//! A latitude-band / longitude-cell index of points on the sphere, to find
//! the points that may lie within a fixed great-circle angle of a query
//! point without looking at the others.
//!
//! Rows are latitude bands as high as the search angle (at least 0.25°);
//! each row is cut into longitude cells over `[0, 360)`, a quarter of a band
//! wide (wider if there would be more than 65536 cells in all). Points are stored
//! cell by cell, rows one after the other (a counting sort: no comparisons),
//! so the cells of a longitude range are one contiguous slice. A query visits
//! the bands that overlap the query's latitude range and, in each, the cells
//! within the widest longitude difference a point at the search angle can
//! have (the whole row when the search cap contains a pole). The result is a
//! superset; the caller decides.

/// Largest number of cells (the index's fixed cost per build).
const MAX_CELLS: usize = 1 << 16;

/// Points bucketed by latitude band and longitude cell, each with a payload.
/// Buffers are kept from one build to the next.
#[derive(Debug, Default)]
pub struct LatLonIndex<T> {
    /// Search angle, degrees, and its sine.
    angle: f64,
    sin_angle: f64,
    /// Height of a band and width of a cell, degrees.
    band: f64,
    width: f64,
    /// Band of the first row, number of rows and of cells per row.
    first: i64,
    rows: usize,
    cols: usize,
    /// Cell `k` (row-major) holds `points[starts[k]..starts[k + 1]]`.
    starts: Vec<u32>,
    points: Vec<T>,
    /// Cell of each point, while building.
    cells: Vec<u32>,
}

/// The rows and longitude reach of searches at one latitude.
#[derive(Debug, Clone, Copy)]
pub struct Band {
    /// The latitude, degrees.
    pub lat: f64,
    /// First and last row.
    rows: (usize, usize),
    /// Widest longitude difference, degrees.
    dlon: f64,
}

/// Longitude in `[0, 360)`.
fn lon360(lon: f64) -> f64 {
    // Most longitudes need no division.
    if (0.0..360.0).contains(&lon) {
        return lon;
    }
    let l = if (-360.0..0.0).contains(&lon) {
        lon + 360.0
    } else {
        lon.rem_euclid(360.0)
    };
    if l >= 360.0 {
        0.0
    } else {
        l
    }
}

impl<T: Copy + Default> LatLonIndex<T> {
    /// An index of `points` (latitude, longitude in degrees, payload) for
    /// searches within `angle` degrees.
    pub fn build(points: impl Iterator<Item = (f64, f64, T)> + Clone, angle: f64) -> Self {
        let mut index = LatLonIndex::default();
        index.rebuild(points, angle);
        index
    }

    /// Replaces the points and the search angle, keeping the buffers.
    pub fn rebuild(&mut self, points: impl Iterator<Item = (f64, f64, T)> + Clone, angle: f64) {
        self.angle = angle;
        self.sin_angle = angle.to_radians().sin();
        self.band = angle.max(0.25);
        self.first = (-90.0 / self.band).floor() as i64 - 1;
        let last = (90.0 / self.band).floor() as i64 + 1;
        self.rows = (last - self.first + 1) as usize;
        // Cells a quarter of a band wide, as far as the cap on their number allows.
        self.cols = ((360.0 / (0.25 * self.band)).ceil() as usize)
            .min(MAX_CELLS / self.rows)
            .max(1);
        self.width = 360.0 / self.cols as f64;
        self.cells.clear();
        for (lat, lon, _) in points.clone() {
            let cell = self.row_of(lat) * self.cols + self.col_of(lon360(lon));
            self.cells.push(cell as u32);
        }
        self.fill(points.map(|(_, _, t)| t));
    }

    /// Stores the payloads cell by cell (a counting sort).
    fn fill(&mut self, payloads: impl Iterator<Item = T>) {
        let starts = &mut self.starts;
        starts.clear();
        starts.resize(self.rows * self.cols + 1, 0);
        for &c in &self.cells {
            starts[c as usize + 1] += 1;
        }
        for k in 0..starts.len() - 1 {
            starts[k + 1] += starts[k];
        }
        // starts[c] serves as cell c's cursor, which leaves it at cell
        // c + 1's start; then shift back.
        self.points.clear();
        self.points.resize(self.cells.len(), T::default());
        for (t, &c) in payloads.zip(&self.cells) {
            let cursor = &mut starts[c as usize];
            self.points[*cursor as usize] = t;
            *cursor += 1;
        }
        let cells = starts.len() - 1;
        starts.copy_within(0..cells, 1);
        starts[0] = 0;
    }

    /// The row of a latitude (NaN: the row of 0°).
    fn row_of(&self, lat: f64) -> usize {
        let last = self.first + self.rows as i64 - 1;
        (((lat / self.band).floor() as i64).clamp(self.first, last) - self.first) as usize
    }

    /// The column of a longitude in `[0, 360)` (NaN: column 0).
    fn col_of(&self, lon360: f64) -> usize {
        ((lon360 / self.width) as usize).min(self.cols - 1)
    }

    /// Calls `f` with slices that hold every point that may be within the
    /// search angle (great circle) of (`lat`, `lon`), each point once.
    pub fn for_each_near(&self, lat: f64, lon: f64, f: impl FnMut(&[T])) {
        self.for_each_in(&self.band(lat), lon, f);
    }

    /// The part of a search that depends on the latitude only (worth
    /// keeping for queries at the same latitude).
    pub fn band(&self, lat: f64) -> Band {
        let margin = 1e-4;
        Band {
            lat,
            rows: (
                self.row_of(lat - self.angle - margin),
                self.row_of(lat + self.angle + margin),
            ),
            dlon: self.max_dlon(lat) + margin,
        }
    }

    /// [`LatLonIndex::for_each_near`] at the latitude of `band`.
    pub fn for_each_in(&self, band: &Band, lon: f64, mut f: impl FnMut(&[T])) {
        let centre = lon360(lon);
        let (a, b) = (centre - band.dlon, centre + band.dlon);
        let last = self.cols - 1;
        // One range of columns, or two across 0°; the whole row if those
        // would share a column.
        let whole = ((0, last), None);
        let (first, second) = if band.dlon >= 180.0 || !(a.is_finite() && b.is_finite()) {
            whole
        } else if a < 0.0 || b >= 360.0 {
            let (from, to) = (self.col_of(lon360(a)), self.col_of(lon360(b)));
            if to >= from {
                whole
            } else {
                ((0, to), Some((from, last)))
            }
        } else {
            ((self.col_of(a), self.col_of(b)), None)
        };
        for row in band.rows.0..=band.rows.1 {
            for (from, to) in std::iter::once(first).chain(second) {
                let cells = row * self.cols;
                let (from, to) = (self.starts[cells + from], self.starts[cells + to + 1]);
                f(&self.points[from as usize..to as usize]);
            }
        }
    }

    /// Widest longitude difference, degrees, within the spherical cap of
    /// the search angle around latitude `lat` (180 if the cap holds a pole).
    /// Bounds asin(s) by s / sqrt(1 - s²), its tangent.
    fn max_dlon(&self, lat: f64) -> f64 {
        if lat.abs() + self.angle + 1e-4 >= 90.0 {
            return 180.0;
        }
        let s = self.sin_angle / lat.to_radians().cos();
        if s >= 1.0 {
            180.0
        } else {
            (s / (1.0 - s * s).sqrt()).to_degrees()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn angle(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
        let dl = (b.1 - a.1).to_radians();
        (p1.sin() * p2.sin() + p1.cos() * p2.cos() * dl.cos())
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees()
    }

    #[test]
    fn finds_every_point_within_the_angle() {
        let mut pts = Vec::new();
        for la in (-180..=180).map(|k| f64::from(k) * 0.5) {
            for lo in (0..120).map(|k| f64::from(k) * 3.0 - 180.0) {
                pts.push((la, lo));
            }
        }
        for search in [0.1, 4.5, 30.0] {
            let index =
                LatLonIndex::build(pts.iter().enumerate().map(|(i, p)| (p.0, p.1, i)), search);
            let queries = pts.iter().step_by(37).chain(
                [
                    (89.9, 10.0),
                    (-89.5, 200.0),
                    (0.0, 359.9),
                    (10.0, -179.9),
                    (0.0, 720.5),
                ]
                .iter(),
            );
            for q in queries {
                let mut found = vec![0; pts.len()];
                index.for_each_near(q.0, q.1, |s| s.iter().for_each(|&i| found[i] += 1));
                for (i, p) in pts.iter().enumerate() {
                    assert!(found[i] <= 1, "{p:?} visited twice near {q:?}");
                    if angle(*q, *p) <= search {
                        assert!(found[i] == 1, "missed {p:?} near {q:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn odd_coordinates_do_not_panic() {
        let pts = [
            (f64::NAN, 0.0, 0),
            (0.0, f64::INFINITY, 1),
            (1e300, -1e300, 2),
        ];
        let index = LatLonIndex::build(pts.iter().copied(), 4.5);
        let mut n = 0;
        for (lat, lon) in [(f64::NAN, 0.0), (0.0, f64::NAN), (1e300, 1e300), (0.0, 0.0)] {
            index.for_each_near(lat, lon, |s| n += s.len());
        }
        assert!(n <= 12);
    }
}
