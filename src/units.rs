//! Physical quantities parsed at the command-line boundary.
//!
//! `--radius` takes a distance with a unit (`500km`, `500 km`, `500000m`,
//! `270nmi`, `310mi`); a bare number is read as kilometres.

use std::fmt;
use std::str::FromStr;

/// A distance along the Earth's surface.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
pub struct Distance {
    km: f64,
}

impl Distance {
    pub const fn from_km(km: f64) -> Self {
        Distance { km }
    }
    pub fn km(self) -> f64 {
        self.km
    }
}

impl fmt::Display for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} km", self.km)
    }
}

impl FromStr for Distance {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        // The number is the longest prefix that reads as one, so that an
        // exponent (`1e3km`) is not taken for the unit.
        let split = (0..=t.len())
            .rev()
            .find(|&i| t.is_char_boundary(i) && t[..i].trim().parse::<f64>().is_ok())
            .unwrap_or(0);
        let (num, unit) = t.split_at(split);
        let value: f64 = num.trim().parse().map_err(|_| {
            format!("'{s}' is not a distance: give a number and a unit, e.g. 500km")
        })?;
        let factor = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "km" => 1.0,
            "m" => 1e-3,
            "nmi" | "nm" => 1.852,
            "mi" => 1.609_344,
            other => {
                return Err(format!(
                    "unknown distance unit '{other}' in '{s}': use km, m, nmi or mi"
                ))
            }
        };
        if value.is_nan() {
            return Err(format!(
                "'{s}' is not a distance: give a number and a unit, e.g. 500km"
            ));
        }
        let km = value * factor;
        if km.is_infinite() {
            return Err(format!(
                "distance '{s}' is too large: give it in km, e.g. 500km"
            ));
        }
        if km.is_nan() || km <= 0.0 {
            return Err(format!("distance '{s}' must be positive"));
        }
        Ok(Distance { km })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!("500km".parse::<Distance>().unwrap().km(), 500.0);
        assert_eq!("500 km".parse::<Distance>().unwrap().km(), 500.0);
        assert_eq!("500000m".parse::<Distance>().unwrap().km(), 500.0);
        assert_eq!("500".parse::<Distance>().unwrap().km(), 500.0);
        assert!(("270nmi".parse::<Distance>().unwrap().km() - 500.04).abs() < 1e-9);
        assert!("500 furlongs"
            .parse::<Distance>()
            .unwrap_err()
            .contains("unknown distance unit"));
        assert_eq!("5e2km".parse::<Distance>().unwrap().km(), 500.0);
        assert_eq!("5E5 m".parse::<Distance>().unwrap().km(), 500.0);
        assert!("1e400 km"
            .parse::<Distance>()
            .unwrap_err()
            .contains("too large"));
        assert!("1e-400km"
            .parse::<Distance>()
            .unwrap_err()
            .contains("positive"));
        assert!("NaN km"
            .parse::<Distance>()
            .unwrap_err()
            .contains("not a distance"));
        assert!("-5km".parse::<Distance>().is_err());
        assert!("far".parse::<Distance>().is_err());
    }
}
