//! Quadrature rules in colatitude, and trigonometric resampling in colatitude.
//!
//! All rules here are for `int_{-1}^{1} f(x) dx` with `x = cos theta`; nodes are
//! ordered north to south (`x` decreasing, `theta` increasing from 0).
//!
//! - [`clenshaw_curtis`]: equiangular rings `theta_j = j pi / (n - 1)`, both
//!   poles included (ducc0's geometry `"CC"`; its `get_gridweights("CC", n)` are
//!   these weights times `2 pi`).
//! - [`gauss_legendre`]: Gaussian latitudes (GRIB `regular_gg`).
//! - [`theta_resampler`]: the matrix that evaluates the trigonometric
//!   interpolant of one order `m`'s ring values on a finer equiangular grid (the
//!   values continued across the poles to a periodic function of `theta` on
//!   `[0, 2 pi)`, with the parity `(-1)^m` of `e^{i m phi}` at `phi + pi`).

use std::f64::consts::PI;

/// Clenshaw-Curtis weights for `n >= 2` equiangular rings including both
/// poles; they sum to 2.
pub fn clenshaw_curtis(n: usize) -> Vec<f64> {
    assert!(n >= 2, "Clenshaw-Curtis needs both poles");
    let nn = n - 1; // intervals
    let half = nn / 2;
    let mut w = vec![0.0; n];
    // Symmetric about the equator: compute the northern half and mirror, so
    // the two hemispheres get bit-identical weights.
    for j in 0..=(nn / 2) {
        let theta = j as f64 * PI / nn as f64;
        let mut sum = 0.0;
        for k in 1..=half {
            let b = if 2 * k == nn { 1.0 } else { 2.0 };
            let kf = k as f64;
            sum += b / (4.0 * kf * kf - 1.0) * (2.0 * kf * theta).cos();
        }
        let c = if j == 0 { 1.0 } else { 2.0 };
        w[j] = c / nn as f64 * (1.0 - sum);
        w[nn - j] = w[j];
    }
    w
}

/// Gauss-Legendre nodes `x_i` (decreasing, north to south) and weights for
/// `n >= 1` points, by Newton's method on `P_n` (converged to rounding).
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(n >= 1);
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        // Tricomi's initial guess; then Newton.
        let mut z = (PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (p, d) = legendre_p(n, z);
            dp = d;
            let dz = p / d;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        let (_, d) = legendre_p(n, z);
        if d != 0.0 {
            dp = d;
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    if n % 2 == 1 {
        x[n / 2] = 0.0;
    }
    (x, w)
}

/// `(P_n(z), P_n'(z))` by the three-term recurrence.
fn legendre_p(n: usize, z: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, z);
    if n == 0 {
        return (1.0, 0.0);
    }
    for k in 2..=n {
        let kf = k as f64;
        let p2 = ((2.0 * kf - 1.0) * z * p1 - (kf - 1.0) * p0) / kf;
        p0 = p1;
        p1 = p2;
    }
    let d = n as f64 * (z * p1 - p0) / (z * z - 1.0);
    (p1, d)
}

/// The smallest `k >= n` whose prime factors are all in {2, 3, 5, 7, 11}
/// (ducc0's `good_size_complex`, which fixes its oversampled grid size).
pub fn good_size(n: usize) -> usize {
    let mut k = n.max(1);
    loop {
        let mut r = k;
        for p in [2, 3, 5, 7, 11] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return k;
        }
        k += 1;
    }
}

/// Row-major `n_out x n_in` matrix `R` with `g(theta_q) = sum_j R[q][j] g_j`:
/// the trigonometric interpolant of values `g_j` on `n_in` equiangular rings
/// with poles (`theta_j = j pi/(n_in-1)`), evaluated on `n_out` such rings.
///
/// The ring values are continued to `theta in (pi, 2 pi)` by
/// `g(2 pi - theta) = parity * g(theta)` (`parity = (-1)^m` for order `m`),
/// giving `2 (n_in - 1)` periodic samples; the Nyquist mode is split evenly
/// between `+-(n_in - 1)` so the interpolant is real-symmetric. This is what
/// an FFT, zero-padding and inverse FFT would do, as one small matrix.
pub fn theta_resampler(n_in: usize, n_out: usize, parity: f64) -> Vec<f64> {
    assert!(n_in >= 2 && n_out >= 2);
    let nn = n_in - 1; // half period, in samples
    let period = 2 * nn;
    // Dirichlet kernel with split Nyquist, over the period, normalised:
    // D(x) = (1 + 2 sum_{k=1}^{nn-1} cos kx + cos(nn x)) / period.
    let kernel = |x: f64| -> f64 {
        // Chebyshev recurrence for cos(kx): accurate to ~nn ulp, enough here.
        let c1 = x.cos();
        let (mut ckm1, mut ck) = (1.0, c1);
        let mut s = 1.0;
        for _k in 1..nn {
            s += 2.0 * ck;
            let next = 2.0 * c1 * ck - ckm1;
            ckm1 = ck;
            ck = next;
        }
        s += ck; // cos(nn x)
        s / period as f64
    };
    let mut r = vec![0.0; n_out * n_in];
    for q in 0..n_out {
        let tq = q as f64 * PI / (n_out - 1) as f64;
        for j in 0..n_in {
            let tj = j as f64 * PI / nn as f64;
            // Sample j and its mirror 2nn - j (the same sample at the poles).
            let v = if j == 0 || j == nn {
                kernel(tq - tj)
            } else {
                kernel(tq - tj) + parity * kernel(tq + tj)
            };
            r[q * n_in + j] = v;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_quadrature_cc_matches_ducc0_and_integrates_polynomials() {
        // ducc0.sht.get_gridweights("CC", 73)[:3] / (2 pi).
        let w = clenshaw_curtis(73);
        let ducc = [0.001_212_27, 0.011_675_07, 0.023_993_74];
        for (a, b) in w.iter().zip(ducc) {
            assert!((a * 2.0 * PI - b).abs() < 1e-8, "{a} {b}");
        }
        for n in [2usize, 3, 5, 37, 73, 721] {
            let w = clenshaw_curtis(n);
            let nn = n - 1;
            for p in 0..=nn {
                let s: f64 = (0..n)
                    .map(|j| w[j] * (j as f64 * PI / nn as f64).cos().powi(p as i32))
                    .sum();
                let want = if p % 2 == 0 {
                    2.0 / (p as f64 + 1.0)
                } else {
                    0.0
                };
                assert!((s - want).abs() < 1e-13, "n {n} p {p}: {s} vs {want}");
            }
        }
    }

    #[test]
    fn filter_quadrature_gauss_legendre() {
        for n in [1usize, 2, 5, 32, 160, 640] {
            let (x, w) = gauss_legendre(n);
            assert!(x.windows(2).all(|p| p[0] > p[1]));
            for p in 0..(2 * n).min(40) {
                let s: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(p as i32)).sum();
                let want = if p % 2 == 0 {
                    2.0 / (p as f64 + 1.0)
                } else {
                    0.0
                };
                assert!((s - want).abs() < 1e-13, "n {n} p {p}: {s}");
            }
        }
        // N32 Gaussian grid (64 latitudes), first latitude in ECMWF tables: 87.864.
        let (x, _) = gauss_legendre(64);
        assert!((x[0].asin().to_degrees() - 87.863_798_8).abs() < 1e-6);
    }

    #[test]
    fn filter_quadrature_good_size_as_ducc0() {
        // ducc0.fft.good_size(n, False)
        for (n, k) in [
            (43, 44),
            (13, 14),
            (17, 18),
            (26, 27),
            (101, 105),
            (257, 264),
            (1001, 1008),
        ] {
            assert_eq!(good_size(n), k);
        }
    }

    #[test]
    fn filter_quadrature_resampler_is_exact_for_band_limited() {
        // cos(k theta) (parity +1) and sin(k theta) (parity -1) with k < n_in-1
        // are reproduced exactly on the finer grid.
        let (n_in, n_out) = (9, 23);
        for (parity, k) in [(1.0, 0usize), (1.0, 3), (1.0, 7), (-1.0, 1), (-1.0, 7)] {
            let f = |t: f64| {
                if parity > 0.0 {
                    (k as f64 * t).cos()
                } else {
                    (k as f64 * t).sin()
                }
            };
            let r = theta_resampler(n_in, n_out, parity);
            for q in 0..n_out {
                let tq = q as f64 * PI / (n_out - 1) as f64;
                let v: f64 = (0..n_in)
                    .map(|j| r[q * n_in + j] * f(j as f64 * PI / (n_in - 1) as f64))
                    .sum();
                assert!((v - f(tq)).abs() < 1e-13, "k {k} q {q}: {v} vs {}", f(tq));
            }
        }
    }
}
