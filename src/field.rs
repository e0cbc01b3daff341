//! One time step of a variable as a 2-D array (`rows x cols`, the grid's
//! order), in the floating-point type that CF decoding gives it.
//!
//! The type matters: the reference tracker computes intensities and breaks
//! ties in that type, so a float32 field must not be widened before detection.

use ndarray::Array2;

/// A decoded frame: float32 or float64 values, NaN where missing.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    F32(Array2<f32>),
    F64(Array2<f64>),
}

/// The floating-point type a variable decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    F32,
    F64,
}

impl Frame {
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Frame::F32(a) => a.dim(),
            Frame::F64(a) => a.dim(),
        }
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Frame::F32(_) => ValueType::F32,
            Frame::F64(_) => ValueType::F64,
        }
    }

    /// Whether every value is missing (NaN).
    pub fn all_missing(&self) -> bool {
        match self {
            Frame::F32(a) => a.iter().all(|v| v.is_nan()),
            Frame::F64(a) => a.iter().all(|v| v.is_nan()),
        }
    }

    /// Bytes held by the values.
    pub fn nbytes(&self) -> usize {
        match self {
            Frame::F32(a) => a.len() * 4,
            Frame::F64(a) => a.len() * 8,
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValueType::F32 => "float32",
            ValueType::F64 => "float64",
        })
    }
}
