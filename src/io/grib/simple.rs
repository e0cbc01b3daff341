//! Values of simply packed GRIB messages, decoded without ecCodes.
//!
//! Simple packing (GRIB 1 grid point data without bitmap or extra flags,
//! GRIB 2 data representation template 5.0 without bitmap) stores each value
//! as an unsigned integer X of `bits` bits: value = (R + X * 2^E) * 10^-D.
//! The arithmetic below is ecCodes' own (`grib_decode_array` with
//! `codes_power`), operation for operation in float64, so the values are
//! bit-identical; the scan still checks that against ecCodes on the first
//! message of every header signature before trusting it for the rest.
//! Every other packing, bitmaps and odd bit widths go to ecCodes.

use super::raw::{grib2_sections, sign_magnitude16, u16_at, u24, u32_at};

/// Where and how a message's values are packed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Packing {
    reference: f64,
    binary_scale: i64,
    decimal_scale: i64,
    bits: usize,
    /// Number of packed values.
    pub count: usize,
    /// Byte range of the packed values within the message.
    data: std::ops::Range<usize>,
}

/// ecCodes' `codes_power`: n^s by repeated multiplication or division, so
/// that 10^-D rounds exactly as it does there.
fn power(s: i64, n: f64) -> f64 {
    match s {
        0 => 1.0,
        1 => n,
        _ => {
            let mut d = 1.0;
            for _ in s..0 {
                d /= n;
            }
            for _ in 0..s.max(0) {
                d *= n;
            }
            d
        }
    }
}

/// An IBM System/360 single-precision float, as ecCodes converts it.
fn ibm(b: &[u8]) -> f64 {
    let sign = b[0] & 0x80 != 0;
    let exponent = i32::from(b[0] & 0x7f);
    let mantissa = (u32::from(b[1]) << 16) | (u32::from(b[2]) << 8) | u32::from(b[3]);
    if exponent == 0 && mantissa <= 1 {
        return 0.0;
    }
    // 0.mantissa * 16^(exponent - 64), exact in float64.
    let v = f64::from(mantissa) * 2f64.powi(4 * (exponent - 64) - 24);
    if sign {
        -v
    } else {
        v
    }
}

impl Packing {
    /// The packing of a structurally checked message, if it is one decoded here.
    pub fn of(b: &[u8]) -> Option<Packing> {
        let p = match *b.get(7)? {
            1 => grib1(b)?,
            2 => grib2(b)?,
            _ => return None,
        };
        let fits = p.count.checked_mul(p.bits)?.div_ceil(8) <= p.data.len();
        (fits && (1..=32).contains(&p.bits)).then_some(p)
    }

    /// The values in float64, as ecCodes returns them.
    pub fn values_f64(&self, b: &[u8]) -> Vec<f64> {
        self.map(b, |v| v)
    }

    /// The values in float64 rounded to float32.
    pub fn values_f32(&self, b: &[u8]) -> Vec<f32> {
        self.map(b, |v| v as f32)
    }

    fn map<T>(&self, b: &[u8], f: impl Fn(f64) -> T) -> Vec<T> {
        let (s, d, r) = (
            power(self.binary_scale, 2.0),
            power(-self.decimal_scale, 10.0),
            self.reference,
        );
        let mut out = Vec::with_capacity(self.count);
        let data = &b[self.data.clone()];
        let scale = |x: u64| f(((x as f64 * s) + r) * d);
        match self.bits {
            8 => out.extend(data[..self.count].iter().map(|&x| scale(x.into()))),
            16 => out.extend(
                data.chunks_exact(2)
                    .take(self.count)
                    .map(|c| scale(u64::from(u16::from_be_bytes([c[0], c[1]])))),
            ),
            bits => out.extend((0..self.count).map(|i| scale(bits_at(data, i * bits, bits)))),
        }
        out
    }
}

/// The `width`-bit big-endian unsigned integer at bit `bit` of `data`
/// (width at most 32, so it spans at most 5 bytes).
fn bits_at(data: &[u8], bit: usize, width: usize) -> u64 {
    let at = bit / 8;
    let mut word = [0u8; 8];
    let n = data.len().saturating_sub(at).min(8);
    word[..n].copy_from_slice(&data[at..at + n]);
    (u64::from_be_bytes(word) << (bit % 8)) >> (64 - width)
}

fn grib1(b: &[u8]) -> Option<Packing> {
    let s1_len = u24(b, 8)?;
    let s1 = b.get(8..8 + s1_len)?;
    let flags = *s1.get(7)?;
    if flags & 0x40 != 0 {
        return None; // bitmap
    }
    let decimal_scale = sign_magnitude16(s1, 26)?;
    let mut pos = 8 + s1_len;
    if flags & 0x80 != 0 {
        pos += u24(b, pos)?;
    }
    let s4 = b.get(pos..pos + u24(b, pos)?)?;
    // Octet 4: high nibble 0 = grid point, simple packing, float values,
    // no additional flags; low nibble = unused bits at the end.
    let data_flag = *s4.get(3)?;
    if data_flag & 0xf0 != 0 || s4.len() < 11 {
        return None;
    }
    let bits = usize::from(s4[10]);
    let available = ((s4.len() - 11) * 8).checked_sub(usize::from(data_flag & 0x0f))?;
    Some(Packing {
        reference: ibm(&s4[6..10]),
        binary_scale: sign_magnitude16(s4, 4)?,
        decimal_scale,
        bits,
        count: available.checked_div(bits)?,
        data: pos + 11..pos + s4.len(),
    })
}

fn grib2(b: &[u8]) -> Option<Packing> {
    let [_, _, _, _, _, s5, s6, s7] = grib2_sections(b)?;
    let (s5, s6, s7) = (s5?, s6?, s7?);
    if u16_at(s5, 9)? != 0 || *s6.get(5)? != 255 || s5.len() < 21 {
        return None; // not template 5.0, or a bitmap
    }
    let r = u32::from_be_bytes(s5[11..15].try_into().ok()?);
    let start = s7.as_ptr() as usize - b.as_ptr() as usize + 5;
    Some(Packing {
        reference: f64::from(f32::from_bits(r)),
        binary_scale: sign_magnitude16(s5, 15)?,
        decimal_scale: sign_magnitude16(s5, 17)?,
        bits: usize::from(s5[19]),
        count: u32_at(s5, 5)?,
        data: start..start + s7.len() - 5,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_round_like_eccodes() {
        assert_eq!(power(0, 10.0), 1.0);
        assert_eq!(power(-2, 2.0), 0.25);
        assert_eq!(power(3, 10.0), 1000.0);
        assert_eq!(power(-1, 10.0), 0.1);
        // Repeated division, not the nearest float to 1e-6: the last bit differs.
        assert_eq!(power(-6, 10.0), 0.1 / 10.0 / 10.0 / 10.0 / 10.0 / 10.0);
        assert_ne!(power(-6, 10.0), 1e-6);
    }

    #[test]
    fn ibm_floats() {
        assert_eq!(ibm(&[0x41, 0x10, 0, 0]), 1.0);
        assert_eq!(ibm(&[0xc1, 0x10, 0, 0]), -1.0);
        assert_eq!(ibm(&[0x42, 0x64, 0, 0]), 100.0);
        assert_eq!(ibm(&[0x40, 0x80, 0, 0]), 0.5);
        assert_eq!(ibm(&[0, 0, 0, 1]), 0.0);
    }

    #[test]
    fn odd_bit_widths() {
        // 5-bit values 1, 2, 31, 0: 00001 00010 11111 00000 (+4 pad bits)
        let data = [0b0000_1000, 0b1011_1110, 0b0000_0000];
        let got: Vec<u64> = (0..4).map(|i| bits_at(&data, i * 5, 5)).collect();
        assert_eq!(got, [1, 2, 31, 0]);
        assert_eq!(bits_at(&[0xff; 4], 0, 32), u64::from(u32::MAX));
    }
}
