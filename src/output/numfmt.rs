//! Fast, exact fixed-point formatting of floats for the text writers.
//!
//! `push_fixed(out, x, d)` appends exactly what `format!("{x:.d$}")` (and
//! Python's `f"{x:.{d}f}"`) prints: the exact binary value rounded to `d`
//! decimals, ties to even, the sign of negative values kept (`-0.000000`). It
//! works in 128-bit integers instead of the general big-number path, which
//! the standard library falls back to for most 6-decimal values.

use std::io::Write;

/// Largest number of decimals supported on the fast path.
const MAX_DECIMALS: u32 = 9;

/// Appends `x` with `decimals` digits after the point.
pub fn push_fixed(out: &mut Vec<u8>, x: f64, decimals: u32) {
    match fixed_parts(x, decimals) {
        Some((negative, q)) => {
            if negative {
                out.push(b'-');
            }
            // Splitting in 64 bits where it fits (any coordinate or value
            // below 1.8e13): a 128-bit division costs more than the rest.
            match u64::try_from(q) {
                Ok(q) => push_split(out, q, 10u64.pow(decimals), decimals),
                Err(_) => push_split(out, q, 10u128.pow(decimals), decimals),
            }
        }
        None => {
            let _ = write!(out, "{x:.prec$}", prec = decimals as usize);
        }
    }
}

/// Writes `q / scale`, and `q % scale` as `decimals` digits after a point.
fn push_split<T>(out: &mut Vec<u8>, q: T, scale: T, decimals: u32)
where
    T: itoa::Integer + Copy + std::ops::Div<Output = T> + std::ops::Rem<Output = T>,
{
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(q / scale).as_bytes());
    if decimals > 0 {
        out.push(b'.');
        let digits = buf.format(q % scale).as_bytes();
        out.extend(std::iter::repeat_n(b'0', decimals as usize - digits.len()));
        out.extend_from_slice(digits);
    }
}

/// Sign and `|x| * 10^decimals` rounded to an integer (half to even), or
/// `None` when the fast path does not apply (non-finite or huge values).
fn fixed_parts(x: f64, decimals: u32) -> Option<(bool, u128)> {
    if !x.is_finite() || decimals > MAX_DECIMALS {
        return None;
    }
    let bits = x.abs().to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mantissa, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    let scale = 10u128.pow(decimals);
    // x * 10^d = mantissa * scale * 2^e, with mantissa * scale < 2^83.
    let n = u128::from(mantissa) * scale;
    let q = if e >= 0 {
        if e > 40 {
            return None;
        }
        n << e
    } else {
        let s = (-e) as u32;
        if s > 100 {
            0 // below 2^-17 of the last decimal: rounds to zero
        } else {
            let q = n >> s;
            let rem = n & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            if rem > half || (rem == half && q % 2 == 1) {
                q + 1
            } else {
                q
            }
        }
    };
    Some((x.is_sign_negative(), q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(x: f64, d: u32) -> String {
        let mut v = Vec::new();
        push_fixed(&mut v, x, d);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn matches_std_formatting_on_edge_cases() {
        let cases = [
            0.0,
            -0.0,
            0.0078125,
            0.125,
            -0.125,
            0.375,
            2.5,
            995.871_250_000_000_1,
            1e-30,
            -1e-30,
            5e-7,
            4.999_999_999_999_999e-7,
            1.5e-6,
            2.5e-6,
            123_456_789.123_456_78,
            1e15,
            -180.0,
            357.5,
            179.999_999_5,
            f64::MIN_POSITIVE,
            5e-324,
            1e300,
            f64::NAN,
            f64::INFINITY,
        ];
        for x in cases {
            for d in [0, 2, 6, 9] {
                assert_eq!(
                    fixed(x, d),
                    format!("{x:.prec$}", prec = d as usize),
                    "{x:e} with {d}"
                );
            }
        }
    }

    #[test]
    fn matches_std_formatting_on_random_values() {
        // xorshift: deterministic and dependency-free
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let r = next();
            // magnitudes from 1e-8 to 1e9, both signs, and values on 1/2^k grids (ties)
            let x = match r % 3 {
                0 => f64::from_bits(next()).clamp(-1e9, 1e9),
                1 => ((next() % 2_000_000_000) as f64 - 1e9) / 2f64.powi((next() % 30) as i32),
                _ => (next() as f64 / u64::MAX as f64 - 0.5) * 10f64.powi((next() % 18) as i32 - 8),
            };
            if !x.is_finite() {
                continue;
            }
            for d in [2, 6] {
                assert_eq!(
                    fixed(x, d),
                    format!("{x:.prec$}", prec = d as usize),
                    "{x:e} with {d}"
                );
            }
        }
    }
}
