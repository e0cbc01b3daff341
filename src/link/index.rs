//! A latitude-band / longitude index of the open tracks' last points, to find
//! the tails that may lie within the link radius of a centre without looking
//! at the others.
//!
//! Rows are latitude bands of a fixed height; within a row, points are sorted
//! by longitude in `[0, 360)`. A query visits the bands that overlap the
//! centre's latitude range and, in each, the longitudes within the widest
//! longitude difference a point at that angular distance can have (the whole
//! row when the search cap contains a pole). The result is a superset; the
//! exact distance decides.

/// Points bucketed by latitude band, sorted by longitude within a band.
#[derive(Debug, Default)]
pub struct LatLonIndex {
    band: f64,
    first: i64,
    rows: Vec<Vec<(f64, u32)>>,
}

/// Longitude in `[0, 360)`.
fn lon360(lon: f64) -> f64 {
    let l = lon.rem_euclid(360.0);
    if l >= 360.0 {
        0.0
    } else {
        l
    }
}

impl LatLonIndex {
    /// Indexes `points` (latitude, longitude in degrees) in bands of
    /// `band` degrees (at least 0.25).
    pub fn build(points: impl Iterator<Item = (f64, f64)>, band: f64) -> Self {
        let band = band.max(0.25);
        let first = (-90.0 / band).floor() as i64 - 1;
        let last = (90.0 / band).floor() as i64 + 1;
        let mut rows: Vec<Vec<(f64, u32)>> = vec![Vec::new(); (last - first + 1) as usize];
        for (i, (lat, lon)) in points.enumerate() {
            let r = ((lat / band).floor() as i64).clamp(first, last) - first;
            rows[r as usize].push((lon360(lon), i as u32));
        }
        for row in &mut rows {
            row.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        }
        LatLonIndex { band, first, rows }
    }

    /// Calls `f` with every point that may be within `angle` degrees
    /// (great circle) of (`lat`, `lon`).
    pub fn for_each_near(&self, lat: f64, lon: f64, angle: f64, mut f: impl FnMut(usize)) {
        let margin = 1e-4;
        let lo_row = (((lat - angle - margin) / self.band).floor() as i64).max(self.first);
        let hi_row = (((lat + angle + margin) / self.band).floor() as i64)
            .min(self.first + self.rows.len() as i64 - 1);
        // Widest longitude difference within the spherical cap of radius `angle`.
        let dlon = if lat.abs() + angle + margin >= 90.0 {
            180.0
        } else {
            let s = angle.to_radians().sin() / lat.to_radians().cos();
            if s >= 1.0 {
                180.0
            } else {
                s.asin().to_degrees() + margin
            }
        };
        let centre = lon360(lon);
        for r in lo_row..=hi_row {
            let row = &self.rows[(r - self.first) as usize];
            if row.is_empty() {
                continue;
            }
            if dlon >= 180.0 {
                row.iter().for_each(|&(_, i)| f(i as usize));
                continue;
            }
            let mut visit = |from: f64, to: f64| {
                let start = row.partition_point(|p| p.0 < from);
                for &(l, i) in &row[start..] {
                    if l > to {
                        break;
                    }
                    f(i as usize);
                }
            };
            let (a, b) = (centre - dlon, centre + dlon);
            if a < 0.0 {
                visit(0.0, b);
                visit(a + 360.0, 360.0);
            } else if b >= 360.0 {
                visit(a, 360.0);
                visit(0.0, b - 360.0);
            } else {
                visit(a, b);
            }
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
        let search = 4.5;
        let index = LatLonIndex::build(pts.iter().copied(), search);
        for q in pts
            .iter()
            .step_by(37)
            .chain([(89.9, 10.0), (-89.5, 200.0), (0.0, 359.9), (10.0, -179.9)].iter())
        {
            let mut found = vec![false; pts.len()];
            index.for_each_near(q.0, q.1, search, |i| found[i] = true);
            for (i, p) in pts.iter().enumerate() {
                if angle(*q, *p) <= search {
                    assert!(found[i], "missed {p:?} near {q:?}");
                }
            }
        }
    }
}
