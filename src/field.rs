//! One time step of a variable as a 2-D array (`rows x cols`, the grid's
//! order), in the floating-point type that CF decoding gives it.
//!
//! The type matters: the reference tracker computes intensities and breaks
//! ties in that type, so a float32 field must not be widened before detection.
//!
//! Readers hand backends [`FrameSource`]s: a frame already decoded, or one
//! decoded only when used ([`DeferredFrame`]), into a buffer of the using
//! thread that the next frame reuses. A deferred frame holds no values of its
//! own (e.g. a slot of a NetCDF-4 chunk being decoded), so a block of them
//! costs no more than its stored form, and each is given back as soon as it
//! is dropped: backends drop each source right after detecting it.

use std::cell::RefCell;

use ndarray::Array2;

use crate::error::Result;

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
    /// A frame of zeros of `shape` and type `ty`.
    pub fn zeros(ty: ValueType, shape: (usize, usize)) -> Frame {
        match ty {
            ValueType::F32 => Frame::F32(Array2::zeros(shape)),
            ValueType::F64 => Frame::F64(Array2::zeros(shape)),
        }
    }

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

/// A frame whose values are produced when it is used.
pub trait DeferredFrame: Send + std::fmt::Debug {
    /// `(rows, cols)`.
    fn shape(&self) -> (usize, usize);
    fn value_type(&self) -> ValueType;
    /// Writes the values into `out`, a frame of this shape and type.
    fn fill(&self, out: &mut Frame) -> Result<()>;
    /// A handle that decodes this frame ahead of its use on another thread
    /// (within a memory budget), where that helps.
    fn ahead(&self) -> Option<Box<dyn DecodeAhead>> {
        None
    }
}

/// Decodes a deferred frame ahead of its use, a step at a time, so that a
/// thread can do so in between other work.
pub trait DecodeAhead: Send + Sync {
    /// Decodes a little further if memory allows.
    fn step(&mut self) -> AheadStep;
    /// Whether the frame is decoded as far as it needs (its memory will
    /// only shrink from now on).
    fn ready(&self) -> bool;
}

/// What one [`DecodeAhead::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AheadStep {
    /// Decoded a little further.
    Progressed,
    /// Over the memory budget: try again once memory is given back.
    Wait,
    /// The frame is ready (or will not be: reading it reports why).
    Done,
}

/// One step of a block as a reader gives it.
#[derive(Debug)]
pub enum FrameSource {
    Ready(Frame),
    Deferred(Box<dyn DeferredFrame>),
}

thread_local! {
    /// The buffer that deferred frames are decoded into on this thread.
    static SCRATCH: RefCell<Option<Frame>> = const { RefCell::new(None) };
}

impl FrameSource {
    /// The frame's values, decoding a deferred frame into this thread's
    /// buffer (returned to it when the [`Loaded`] drops). The source is
    /// dropped as soon as decoded, so its memory goes back before the frame
    /// is used.
    pub fn load(self) -> Result<Loaded> {
        match self {
            FrameSource::Ready(frame) => Ok(Loaded {
                frame: Some(frame),
                scratch: false,
            }),
            FrameSource::Deferred(d) => {
                let (shape, ty) = (d.shape(), d.value_type());
                let kept = SCRATCH.with(|s| s.borrow_mut().take());
                let frame = match kept {
                    Some(f) if f.shape() == shape && f.value_type() == ty => f,
                    _ => Frame::zeros(ty, shape),
                };
                let mut loaded = Loaded {
                    frame: Some(frame),
                    scratch: true,
                };
                d.fill(loaded.frame.as_mut().expect("just set"))?;
                Ok(loaded)
            }
        }
    }

    /// A handle that decodes the frame ahead of its use, if deferred and
    /// worth it (see [`DeferredFrame::ahead`]).
    pub fn ahead(&self) -> Option<Box<dyn DecodeAhead>> {
        match self {
            FrameSource::Ready(_) => None,
            FrameSource::Deferred(d) => d.ahead(),
        }
    }

    /// The frame as an array of its own.
    pub fn into_frame(self) -> Result<Frame> {
        match self {
            FrameSource::Ready(frame) => Ok(frame),
            FrameSource::Deferred(d) => {
                let mut frame = Frame::zeros(d.value_type(), d.shape());
                d.fill(&mut frame)?;
                Ok(frame)
            }
        }
    }
}

/// A frame's values while in use; see [`FrameSource::load`].
#[derive(Debug)]
pub struct Loaded {
    frame: Option<Frame>,
    /// Whether `frame` is this thread's buffer, to give back on drop.
    scratch: bool,
}

impl std::ops::Deref for Loaded {
    type Target = Frame;
    fn deref(&self) -> &Frame {
        self.frame.as_ref().expect("present until dropped")
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        if self.scratch {
            if let Some(frame) = self.frame.take() {
                SCRATCH.with(|s| *s.borrow_mut() = Some(frame));
            }
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
