//! Positions prepared for the linker's two distance measures: the
//! reference's haversine distance, km (radians and reference cosine of the
//! latitude, radians of the longitude, in the precision of the file's
//! coordinates for centres and in float64 for tails), and the squared chord
//! between unit vectors, the key candidates are compared by.
//!
//! Centres sit on grid rows and columns, and the same rows and columns come
//! back every step: their trigonometry is computed at their first centre
//! and kept ([`GridTrig`]).

use super::numpy::{deg2rad_f32, numpy_cos_f32, svml_asin8_ha, DEGTORAD};
use super::{CoordTypes, EARTH_RADIUS_KM};
use crate::detect::Centre;

/// A position prepared for distance computations.
#[derive(Debug, Clone, Copy)]
pub struct Pos {
    /// Latitude and longitude, degrees, as given.
    pub lat: f64,
    pub lon: f64,
    /// Radians of both and the latitude's cosine, as the reference has them.
    pub lat_rad: f64,
    pub cos_lat: f64,
    pub lon_rad: f64,
    /// Unit vector.
    pub xyz: [f64; 3],
}

/// Squared chord between two unit vectors.
#[inline]
pub fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// The latitude's share of a [`Pos`], the same for all centres of a grid row.
#[derive(Debug, Clone, Copy)]
struct Latitude {
    deg: f64,
    rad: f64,
    /// Cosine as the reference computes it.
    cos: f64,
    /// Sine and cosine for the unit vector.
    unit: (f64, f64),
}

impl Latitude {
    /// A tail's latitude: always float64, as the reference stores track points.
    fn tail(deg: f64) -> Self {
        let rad = deg * DEGTORAD;
        Latitude {
            deg,
            rad,
            cos: rad.cos(),
            unit: rad.sin_cos(),
        }
    }

    /// A new centre's latitude, in the precision of the file's coordinates.
    fn centre(deg: f64, types: CoordTypes) -> Self {
        let (rad, cos) = if types.lat_f32 {
            let r = deg2rad_f32(deg as f32);
            (f64::from(r), f64::from(numpy_cos_f32(r)))
        } else {
            let r = deg * DEGTORAD;
            (r, r.cos())
        };
        Latitude {
            deg,
            rad,
            cos,
            unit: rad.sin_cos(),
        }
    }
}

/// The longitude's share of a [`Pos`], the same for all centres of a grid
/// column.
#[derive(Debug, Clone, Copy)]
struct Longitude {
    deg: f64,
    rad: f64,
    /// Sine and cosine for the unit vector.
    unit: (f64, f64),
}

impl Longitude {
    fn new(deg: f64, rad: f64) -> Self {
        Longitude {
            deg,
            rad,
            unit: rad.sin_cos(),
        }
    }

    /// A tail's longitude: always float64.
    fn tail(deg: f64) -> Self {
        Longitude::new(deg, deg * DEGTORAD)
    }

    /// A new centre's longitude, in the precision of the file's coordinates.
    fn centre(deg: f64, types: CoordTypes) -> Self {
        let rad = if types.lon_f32 {
            f64::from(deg2rad_f32(deg as f32))
        } else {
            deg * DEGTORAD
        };
        Longitude::new(deg, rad)
    }
}

impl Pos {
    fn new(lat: &Latitude, lon: &Longitude) -> Self {
        let (s_lat, c_lat) = lat.unit;
        let (s_lon, c_lon) = lon.unit;
        Pos {
            lat: lat.deg,
            lon: lon.deg,
            lat_rad: lat.rad,
            cos_lat: lat.cos,
            lon_rad: lon.rad,
            xyz: [c_lat * c_lon, c_lat * s_lon, s_lat],
        }
    }

    /// A tail's last point: always float64, as the reference stores track points.
    pub fn tail(lat: f64, lon: f64) -> Self {
        Pos::new(&Latitude::tail(lat), &Longitude::tail(lon))
    }

    /// A new centre, in the precision of the file's coordinates.
    pub fn centre(lat: f64, lon: f64, types: CoordTypes) -> Self {
        Pos::new(
            &Latitude::centre(lat, types),
            &Longitude::centre(lon, types),
        )
    }
}

/// Distance in km from a tail to a centre, as the reference's matrix entry.
#[inline]
pub fn distance(tail: &Pos, centre: &Pos) -> f64 {
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

/// Rows and columns past this are not cached (a bound on the cache's size
/// whatever the centres' row and column numbers).
const MAX_CACHED: usize = 1 << 16;

/// The trigonometry of the centres' grid rows and columns, kept from step to
/// step. An entry serves a centre whose coordinate has the same bits; any
/// other is computed afresh (and replaces it).
#[derive(Debug, Default)]
pub struct GridTrig {
    rows: Vec<Option<Latitude>>,
    cols: Vec<Option<Longitude>>,
}

/// The cached value at `slot` for coordinate `deg`, computed by `make` if
/// absent or for other bits.
fn cached<T: Copy>(
    cache: &mut Vec<Option<T>>,
    slot: u32,
    deg: f64,
    deg_of: impl Fn(&T) -> f64,
    make: impl FnOnce() -> T,
) -> T {
    let slot = slot as usize;
    if let Some(Some(hit)) = cache.get(slot) {
        if deg_of(hit).to_bits() == deg.to_bits() {
            return *hit;
        }
    }
    let value = make();
    if slot < MAX_CACHED {
        if cache.len() <= slot {
            cache.resize(slot + 1, None);
        }
        cache[slot] = Some(value);
    }
    value
}

impl GridTrig {
    /// The positions of `centres` (in the precision of the file's coordinates).
    pub fn positions(&mut self, centres: &[Centre], types: CoordTypes, out: &mut Vec<Pos>) {
        out.clear();
        for c in centres {
            let lat = cached(
                &mut self.rows,
                c.row,
                c.lat,
                |l| l.deg,
                || Latitude::centre(c.lat, types),
            );
            let lon = cached(
                &mut self.cols,
                c.col,
                c.lon,
                |l| l.deg,
                || Longitude::centre(c.lon, types),
            );
            out.push(Pos::new(&lat, &lon));
        }
    }
}
