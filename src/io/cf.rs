//! CF decoding of stored values: `_FillValue`/`missing_value` become NaN and
//! `scale_factor`/`add_offset` are applied, in the floating-point type that
//! xarray's CF decoder chooses (the reference tracker's precision):
//!
//! * packed (`scale_factor` and/or `add_offset`): both present and of the same
//!   float type T → T, except 32-bit integers → float64; only `add_offset`, or
//!   mixed types → float64; only `scale_factor` → its type;
//! * unpacked: float32 and integers of up to 16 bits → float32, else float64.
//!
//! Arithmetic happens in the chosen type, one rounding per operation, as
//! `data *= scale_factor; data += add_offset` does in numpy.

use crate::field::ValueType;

/// Storage type of a variable, as far as decoding cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Float32,
    Float64,
    /// Integer of the given size in bytes.
    Int(usize),
}

/// A packing attribute: its value and whether it was stored as float32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackAttr {
    pub value: f64,
    pub is_f32: bool,
}

/// How to turn stored numbers into physical values.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoding {
    pub stored: Stored,
    pub scale: Option<PackAttr>,
    pub offset: Option<PackAttr>,
    /// Stored values that mean "missing" (`_FillValue`, `missing_value`), as f64.
    pub missing: Vec<f64>,
    /// Result type.
    pub target: ValueType,
}

impl Decoding {
    pub fn new(
        stored: Stored,
        scale: Option<PackAttr>,
        offset: Option<PackAttr>,
        missing: Vec<f64>,
    ) -> Self {
        let target = choose_type(stored, scale, offset);
        Decoding {
            stored,
            scale,
            offset,
            missing,
            target,
        }
    }

    pub fn is_packed(&self) -> bool {
        self.scale.is_some() || self.offset.is_some()
    }

    /// Whether values can be used as read, without masking or scaling.
    pub fn is_identity(&self) -> bool {
        !self.is_packed() && self.missing.iter().all(|m| m.is_nan())
    }

    /// Decodes stored values (exactly representable as f64) into float32.
    pub fn decode_f32(&self, raw: &[f64]) -> Vec<f32> {
        let mut out = vec![0.0; raw.len()];
        self.decode_f32_into(raw, &mut out);
        out
    }

    /// [`Decoding::decode_f32`] into `out` (as long as `raw`).
    pub fn decode_f32_into(&self, raw: &[f64], out: &mut [f32]) {
        let scale = self.scale.map(|s| s.value as f32);
        let offset = self.offset.map(|o| o.value as f32);
        for (o, &v) in out.iter_mut().zip(raw) {
            *o = if self.is_missing(v) {
                f32::NAN
            } else {
                let mut x = v as f32;
                if let Some(s) = scale {
                    x *= s;
                }
                if let Some(o) = offset {
                    x += o;
                }
                x
            };
        }
    }

    /// Decodes stored values into float64.
    pub fn decode_f64(&self, raw: &[f64]) -> Vec<f64> {
        let mut out = raw.to_vec();
        self.decode_f64_in_place(&mut out);
        out
    }

    /// [`Decoding::decode_f64`] in place.
    pub fn decode_f64_in_place(&self, values: &mut [f64]) {
        let scale = self.scale.map(|s| s.value);
        let offset = self.offset.map(|o| o.value);
        for v in values {
            *v = if self.is_missing(*v) {
                f64::NAN
            } else {
                let mut x = *v;
                if let Some(s) = scale {
                    x *= s;
                }
                if let Some(o) = offset {
                    x += o;
                }
                x
            };
        }
    }

    #[inline]
    fn is_missing(&self, v: f64) -> bool {
        self.missing.contains(&v)
    }

    /// A short description for `info`.
    pub fn describe(&self) -> Option<String> {
        if !self.is_packed() {
            return None;
        }
        let stored = match self.stored {
            Stored::Float32 => "float32".to_string(),
            Stored::Float64 => "float64".to_string(),
            Stored::Int(n) => format!("int{}", n * 8),
        };
        let mut s = stored;
        if let Some(sc) = self.scale {
            s += &format!(
                " * {} ({})",
                sc.value,
                if sc.is_f32 { "float32" } else { "float64" }
            );
        }
        if let Some(o) = self.offset {
            s += &format!(
                " + {} ({})",
                o.value,
                if o.is_f32 { "float32" } else { "float64" }
            );
        }
        Some(s)
    }
}

fn choose_type(stored: Stored, scale: Option<PackAttr>, offset: Option<PackAttr>) -> ValueType {
    let ty = |a: PackAttr| {
        if a.is_f32 {
            ValueType::F32
        } else {
            ValueType::F64
        }
    };
    match (scale, offset) {
        (Some(s), Some(o)) if s.is_f32 == o.is_f32 => {
            if stored == Stored::Int(4) {
                ValueType::F64
            } else {
                ty(s)
            }
        }
        (_, Some(_)) => ValueType::F64,
        (Some(s), None) => ty(s),
        (None, None) => match stored {
            Stored::Float32 => ValueType::F32,
            Stored::Int(n) if n <= 2 => ValueType::F32,
            _ => ValueType::F64,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64a(v: f64) -> Option<PackAttr> {
        Some(PackAttr {
            value: v,
            is_f32: false,
        })
    }
    fn f32a(v: f32) -> Option<PackAttr> {
        Some(PackAttr {
            value: f64::from(v),
            is_f32: true,
        })
    }

    #[test]
    fn chooses_xarray_types() {
        assert_eq!(
            Decoding::new(Stored::Int(2), f64a(0.1), f64a(1.0), vec![]).target,
            ValueType::F64
        );
        assert_eq!(
            Decoding::new(Stored::Int(2), f32a(0.1), f32a(1.0), vec![]).target,
            ValueType::F32
        );
        assert_eq!(
            Decoding::new(Stored::Int(4), f32a(0.1), f32a(1.0), vec![]).target,
            ValueType::F64
        );
        assert_eq!(
            Decoding::new(Stored::Int(2), f32a(0.1), f64a(1.0), vec![]).target,
            ValueType::F64
        );
        assert_eq!(
            Decoding::new(Stored::Int(2), f32a(0.1), None, vec![]).target,
            ValueType::F32
        );
        assert_eq!(
            Decoding::new(Stored::Int(2), None, f32a(1.0), vec![]).target,
            ValueType::F64
        );
        assert_eq!(
            Decoding::new(Stored::Float32, None, None, vec![]).target,
            ValueType::F32
        );
        assert_eq!(
            Decoding::new(Stored::Int(2), None, None, vec![]).target,
            ValueType::F32
        );
        assert_eq!(
            Decoding::new(Stored::Int(4), None, None, vec![]).target,
            ValueType::F64
        );
        assert_eq!(
            Decoding::new(Stored::Float64, None, None, vec![]).target,
            ValueType::F64
        );
    }

    #[test]
    fn unpacks_with_one_rounding_per_operation() {
        let d = Decoding::new(
            Stored::Int(2),
            f64a(0.0625),
            f64a(100_000.0),
            vec![-32767.0],
        );
        assert_eq!(d.decode_f64(&[16.0, -32767.0, -16.0])[0], 100_001.0);
        assert!(d.decode_f64(&[-32767.0])[0].is_nan());
        // float32 path: (v * s) rounded to f32, then + o rounded to f32
        let s = 0.1f32;
        let o = 98_765.43f32;
        let d = Decoding::new(Stored::Int(2), f32a(s), f32a(o), vec![]);
        let got = d.decode_f32(&[12345.0])[0];
        assert_eq!(got, (12345.0f32 * s) + o);
    }
}
