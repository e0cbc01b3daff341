//! Real FFT along longitude, one ring at a time (the `realfft` crate).
//!
//! Sign convention: the forward transform is `X_m = sum_k x_k e^{-2 pi i m k / n}`
//! (unnormalised) and the inverse is `x_k = sum_m X_m e^{+2 pi i m k / n}` over
//! the Hermitian-extended spectrum, also unnormalised: forward then inverse
//! multiplies by `n`. Longitude `phi_k = phi_0 + 2 pi k / n` increases with `k`;
//! the starting longitude `phi_0` does not matter to a band-pass filter
//! (it commutes with rotations about the polar axis).

use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Forward and inverse real FFT plans of one length; `Send + Sync`, so one
/// instance serves every thread.
#[derive(Clone)]
pub struct RingFft {
    n: usize,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
}

impl std::fmt::Debug for RingFft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingFft").field("n", &self.n).finish()
    }
}

/// Per-call work space for [`RingFft`] (plans are shared, buffers are not).
pub struct RingBuffers {
    pub real: Vec<f64>,
    pub spectrum: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl RingFft {
    /// Plans for rings of `n >= 1` points.
    pub fn new(n: usize) -> Self {
        let mut planner = RealFftPlanner::<f64>::new();
        RingFft {
            n,
            r2c: planner.plan_fft_forward(n),
            c2r: planner.plan_fft_inverse(n),
        }
    }

    /// Buffers sized for these plans.
    pub fn buffers(&self) -> RingBuffers {
        let scratch = self.r2c.get_scratch_len().max(self.c2r.get_scratch_len());
        RingBuffers {
            real: vec![0.0; self.n],
            spectrum: vec![Complex64::new(0.0, 0.0); self.n / 2 + 1],
            scratch: vec![Complex64::new(0.0, 0.0); scratch],
        }
    }

    /// `buf.real` (destroyed) to `buf.spectrum` (`n/2 + 1` values).
    pub fn forward(&self, buf: &mut RingBuffers) {
        // Lengths are ours and match the plan, so this cannot fail.
        self.r2c
            .process_with_scratch(&mut buf.real, &mut buf.spectrum, &mut buf.scratch)
            .expect("forward FFT buffer lengths");
    }

    /// `buf.spectrum` (destroyed) to `buf.real`. The imaginary parts of the
    /// mean (and of the Nyquist value, for even `n`) must be zero.
    pub fn inverse(&self, buf: &mut RingBuffers) {
        self.c2r
            .process_with_scratch(&mut buf.spectrum, &mut buf.real, &mut buf.scratch)
            .expect("inverse FFT buffer lengths and real mean/Nyquist");
    }
}
