//! Fully normalised associated Legendre functions, evaluated ring by ring.
//!
//! Convention: `lambda(l, m, theta)` is the theta part of the orthonormal
//! spherical harmonic `Y_lm = lambda_lm(theta) e^{i m phi}`, so that
//! `int |Y_lm|^2 dOmega = 1` over the unit sphere, i.e.
//! `lambda_lm = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!) P_l^m(cos theta)`.
//! There is no Condon-Shortley phase `(-1)^m`: a band-pass filter only needs
//! the projector onto each degree, which does not depend on the sign.
//! `theta` is the colatitude (0 at the north pole).
//!
//! The recurrence is the standard stable one, in f64:
//! `lambda_mm = sqrt(1/(4 pi)) prod_{i=1..m} sqrt((2i+1)/(2i)) sin^m theta`,
//! `lambda_{m+1,m} = sqrt(2m+3) cos theta lambda_mm`, then the three-term
//! recurrence in `l`. Near the poles `sin^m theta` underflows for large `m`
//! (about `m > 160` at 0.25 degrees from the pole); there `lambda_mm` is carried
//! as a logarithm and the recurrence runs on a rescaled value, so the values
//! that are representable come out right instead of as zero.
//!
//! Storage order of a ring (`LmLayout`): `m`-major, `l` contiguous:
//! `(0,0), (1,0), .., (lmax,0), (1,1), .., (lmax,1), .., (lmax,mmax)`.

/// Index of the coefficients `(l, m)`, `0 <= m <= mmax`, `m <= l <= lmax`, in
/// m-major order (`l` contiguous for each `m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmLayout {
    lmax: usize,
    mmax: usize,
    offsets: Vec<usize>,
}

impl LmLayout {
    /// A layout for degrees up to `lmax` and orders up to `mmax <= lmax`.
    pub fn new(lmax: usize, mmax: usize) -> Self {
        assert!(mmax <= lmax, "mmax {mmax} > lmax {lmax}");
        let mut offsets = Vec::with_capacity(mmax + 2);
        let mut o = 0;
        for m in 0..=mmax {
            offsets.push(o);
            o += lmax + 1 - m;
        }
        offsets.push(o);
        LmLayout {
            lmax,
            mmax,
            offsets,
        }
    }

    /// Highest degree.
    pub fn lmax(&self) -> usize {
        self.lmax
    }

    /// Highest order.
    pub fn mmax(&self) -> usize {
        self.mmax
    }

    /// Number of `(l, m)` pairs.
    pub fn len(&self) -> usize {
        self.offsets[self.mmax + 1]
    }

    /// Never true (`(0, 0)` is always there); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position of `(l = m, m)`; `(l, m)` is at `start(m) + l - m`.
    pub fn start(&self, m: usize) -> usize {
        self.offsets[m]
    }

    /// Position of `(l, m)`, or `None` outside the layout.
    pub fn index(&self, l: usize, m: usize) -> Option<usize> {
        (m <= self.mmax && m <= l && l <= self.lmax).then(|| self.offsets[m] + l - m)
    }
}

/// Precomputed recurrence coefficients for one layout, shared by all rings.
#[derive(Debug, Clone)]
pub struct Legendre {
    layout: LmLayout,
    /// `ln lambda_mm` without the `m ln sin theta` part, per `m`.
    ln_prefactor: Vec<f64>,
    /// `a_lm = sqrt((4l^2-1)/(l^2-m^2))`, at each `(l, m)` with `l >= m+1`.
    a: Vec<f64>,
    /// `a_lm / a_{l-1,m}`, at each `(l, m)` with `l >= m+2`.
    c: Vec<f64>,
}

/// Below this `ln lambda_mm` the start value would be subnormal or zero.
const LN_SAFE_MIN: f64 = -700.0;
/// Rescaling step of the scaled recurrence: 2^600.
const RESCALE: f64 = 4.149_515_568_880_993e180;

impl Legendre {
    /// Coefficients for `0 <= m <= mmax <= lmax`.
    pub fn new(lmax: usize, mmax: usize) -> Self {
        let layout = LmLayout::new(lmax, mmax);
        let mut ln_prefactor = Vec::with_capacity(mmax + 1);
        let mut lp = -0.5 * (4.0 * std::f64::consts::PI).ln();
        for m in 0..=mmax {
            if m > 0 {
                let i = m as f64;
                lp += 0.5 * ((2.0 * i + 1.0) / (2.0 * i)).ln();
            }
            ln_prefactor.push(lp);
        }
        let n = layout.len();
        let mut a = vec![0.0; n];
        let mut c = vec![0.0; n];
        for m in 0..=mmax {
            let s = layout.start(m);
            let mf = m as f64;
            for l in (m + 1)..=lmax {
                let lf = l as f64;
                a[s + l - m] = ((4.0 * lf * lf - 1.0) / (lf * lf - mf * mf)).sqrt();
                if l >= m + 2 {
                    c[s + l - m] = a[s + l - m] / a[s + l - m - 1];
                }
            }
        }
        Legendre {
            layout,
            ln_prefactor,
            a,
            c,
        }
    }

    /// The layout of [`Legendre::ring`]'s output.
    pub fn layout(&self) -> &LmLayout {
        &self.layout
    }

    /// All `lambda_lm(theta)` of one ring into `out` (length `layout().len()`),
    /// given `cos theta` and `sin theta >= 0` (pass them exactly at the poles:
    /// `(+-1, 0)`).
    pub fn ring(&self, cos_t: f64, sin_t: f64, out: &mut [f64]) {
        let lay = &self.layout;
        assert_eq!(out.len(), lay.len(), "ring buffer length");
        let ln_sin = sin_t.ln(); // -inf at a pole: lambda_mm = 0 for m > 0
        for m in 0..=lay.mmax {
            let s = lay.start(m);
            let row = &mut out[s..s + lay.lmax + 1 - m];
            let ln_mm = if m == 0 {
                self.ln_prefactor[0]
            } else {
                self.ln_prefactor[m] + m as f64 * ln_sin
            };
            if ln_mm >= LN_SAFE_MIN {
                self.recur(m, cos_t, ln_mm.exp(), row);
            } else if ln_mm == f64::NEG_INFINITY {
                row.fill(0.0);
            } else {
                self.recur_scaled(m, cos_t, ln_mm, row);
            }
        }
    }

    /// Three-term recurrence in `l` from `lambda_mm = start`.
    fn recur(&self, m: usize, x: f64, start: f64, row: &mut [f64]) {
        let s = self.layout.start(m);
        row[0] = start;
        if row.len() > 1 {
            row[1] = self.a[s + 1] * x * start;
        }
        for k in 2..row.len() {
            row[k] = self.a[s + k] * x * row[k - 1] - self.c[s + k] * row[k - 2];
        }
    }

    /// The same recurrence on `lambda_lm / exp(ln_scale)`, rescaled whenever it
    /// grows, so that nothing underflows before it becomes representable.
    fn recur_scaled(&self, m: usize, x: f64, ln_mm: f64, row: &mut [f64]) {
        let s = self.layout.start(m);
        let ln_rescale = RESCALE.ln();
        let mut ln_scale = ln_mm;
        let (mut p2, mut p1) = (0.0f64, 1.0f64);
        let put = |v: f64, ln_scale: f64| -> f64 {
            if ln_scale >= LN_SAFE_MIN {
                v * ln_scale.exp()
            } else if v == 0.0 {
                0.0
            } else {
                v.signum() * (v.abs().ln() + ln_scale).exp()
            }
        };
        row[0] = put(p1, ln_scale);
        for (k, out) in row.iter_mut().enumerate().skip(1) {
            let v = if k == 1 {
                self.a[s + 1] * x * p1
            } else {
                self.a[s + k] * x * p1 - self.c[s + k] * p2
            };
            p2 = p1;
            p1 = v;
            if p1.abs() > RESCALE {
                p1 /= RESCALE;
                p2 /= RESCALE;
                ln_scale += ln_rescale;
            }
            *out = put(p1, ln_scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn ring(lmax: usize, mmax: usize, theta: f64) -> (LmLayout, Vec<f64>) {
        let leg = Legendre::new(lmax, mmax);
        let mut out = vec![0.0; leg.layout().len()];
        leg.ring(theta.cos(), theta.sin(), &mut out);
        (leg.layout().clone(), out)
    }

    #[test]
    fn filter_legendre_closed_forms() {
        for &t in &[0.0, 0.3, 1.0, PI / 2.0, 2.5, 3.0] {
            let (lay, v) = ring(4, 4, t);
            let (c, s) = (t.cos(), t.sin());
            let k = |l, m| v[lay.index(l, m).unwrap()];
            let n = 1.0 / (4.0 * PI);
            let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-14, "{a} vs {b} at {t}");
            close(k(0, 0), n.sqrt());
            close(k(1, 0), (3.0 * n).sqrt() * c);
            close(k(1, 1), (3.0 * n / 2.0).sqrt() * s);
            close(k(2, 0), (5.0 * n).sqrt() * 0.5 * (3.0 * c * c - 1.0));
            close(k(2, 1), (15.0 * n / 2.0).sqrt() * s * c);
            close(k(2, 2), (15.0 * n / 8.0).sqrt() * s * s);
            close(k(3, 3), (35.0 * n / 16.0).sqrt() * s * s * s);
            close(
                k(4, 0),
                (9.0 * n).sqrt() * (35.0 * c.powi(4) - 30.0 * c * c + 3.0) / 8.0,
            );
        }
    }

    #[test]
    fn filter_legendre_orthonormal_to_high_degree() {
        // Gauss-Legendre with 200 nodes integrates degree <= 399 exactly:
        // 2 pi int lambda_lm lambda_l'm dx = delta_ll'.
        let (x, w) = crate::filter::quadrature::gauss_legendre(200);
        let (lmax, mmax) = (180, 180);
        let leg = Legendre::new(lmax, mmax);
        let lay = leg.layout().clone();
        let mut vals = vec![0.0; lay.len()];
        let mut gram = std::collections::HashMap::new();
        let probes: Vec<(usize, usize, usize)> = vec![
            (0, 0, 0),
            (5, 5, 0),
            (180, 180, 0),
            (180, 178, 0),
            (100, 100, 40),
            (100, 102, 40),
            (180, 180, 179),
            (180, 180, 180),
            (150, 151, 150),
        ];
        for (xi, wi) in x.iter().zip(&w) {
            leg.ring(*xi, (1.0 - xi * xi).sqrt(), &mut vals);
            for &(l1, l2, m) in &probes {
                let p = vals[lay.index(l1, m).unwrap()] * vals[lay.index(l2, m).unwrap()];
                *gram.entry((l1, l2, m)).or_insert(0.0) += 2.0 * PI * wi * p;
            }
        }
        for (&(l1, l2, m), g) in &gram {
            let want = if l1 == l2 { 1.0 } else { 0.0 };
            assert!((g - want).abs() < 1e-12, "<{l1},{m}|{l2},{m}> = {g}");
        }
    }

    #[test]
    fn filter_legendre_no_underflow_near_pole() {
        // sin^m theta underflows: m = 1500 at 0.1 degree from the pole. The
        // scaled recurrence must match the plain one where both are valid and
        // give finite values where the plain one would give zero.
        let t = 0.1f64.to_radians();
        let (lay, v) = ring(2000, 1500, t);
        assert!(v.iter().all(|x| x.is_finite()));
        // lambda_{1500,1500} ~ 1e-2700: below f64, must be 0, not NaN.
        assert_eq!(v[lay.index(1500, 1500).unwrap()], 0.0);
        // The scaled recurrence is the plain one up to rounding: run both from
        // a start that is representable but small.
        let leg = Legendre::new(3000, 10);
        let n = 3000 + 1 - 3;
        let (mut plain, mut scaled) = (vec![0.0; n], vec![0.0; n]);
        let x = 0.3f64.cos();
        leg.recur(3, x, (-650.0f64).exp(), &mut plain);
        leg.recur_scaled(3, x, -650.0, &mut scaled);
        let big = plain.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for k in 0..n {
            let tol = 1e-12 * big;
            assert!(
                (plain[k] - scaled[k]).abs() <= tol,
                "k {k}: {} {}",
                plain[k],
                scaled[k]
            );
        }
    }
}
