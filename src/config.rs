//! The validated configuration of a tracking run, built once from the
//! command line, and the selection of time steps.

use std::ops::Range;
use std::path::PathBuf;

use crate::detect::{DetectConfig, Mode};
use crate::error::{Error, Result};
use crate::io::{FieldMeta, VariableRequest};
use crate::output::{Destination, OutputFormat, WriteOptions};
use crate::time::{parse_datetime_precision, DateTime, Period};
use crate::tracker::Algorithm;
use crate::units::Distance;

/// Which time steps to track.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TimeSelection {
    #[default]
    All,
    /// The first N steps.
    First(usize),
    /// Steps from a date to the end of a period (`--end 2025-12-31` is the
    /// whole day), both inclusive; either may be open.
    Between(Option<DateTime>, Option<Period>),
}

impl TimeSelection {
    /// From `--num`, `--start` and `--end` (already checked not to mix).
    pub fn from_flags(num: Option<usize>, start: Option<&str>, end: Option<&str>) -> Result<Self> {
        let parse = |flag: &str, s: Option<&str>| -> Result<Option<Period>> {
            s.map(|s| {
                parse_datetime_precision(s)
                    .map(|(start, precision)| Period { start, precision })
                    .map_err(|e| Error::Usage(format!("invalid {flag} '{s}': {e}")))
            })
            .transpose()
        };
        match (num, start, end) {
            (Some(0), ..) => Err(Error::Usage("--num must be at least 1".into())),
            (Some(n), None, None) => Ok(TimeSelection::First(n)),
            (Some(_), ..) => Err(Error::Usage(
                "--num cannot be combined with --start/--end".into(),
            )),
            (None, None, None) => Ok(TimeSelection::All),
            (None, s, e) => {
                let (s, e) = (parse("--start", s)?.map(|p| p.start), parse("--end", e)?);
                if let (Some(a), Some(b)) = (s, e) {
                    if a > b.start && !b.contains(&a) {
                        return Err(Error::Usage(format!(
                            "--start {a} is after --end {}",
                            b.start
                        )));
                    }
                }
                Ok(TimeSelection::Between(s, e))
            }
        }
    }

    /// The range of step indices selected in `meta`'s time axis.
    pub fn resolve(&self, meta: &FieldMeta) -> Result<Range<usize>> {
        let n = meta.times.len();
        let range = match self {
            TimeSelection::All => 0..n,
            TimeSelection::First(k) => 0..(*k).min(n),
            TimeSelection::Between(start, end) => {
                if !meta.time_known {
                    return Err(Error::Usage(format!(
                        "{} has no time axis; --start/--end cannot apply",
                        meta.path.display()
                    )));
                }
                let instant = |flag: &str, d: &DateTime| {
                    meta.calendar.instant(d).map_err(|e| {
                        Error::Usage(format!(
                            "{flag}: {e} (the file uses the {} calendar)",
                            meta.calendar
                        ))
                    })
                };
                let lo = match start {
                    Some(d) => {
                        let t = instant("--start", d)?;
                        meta.times.partition_point(|&x| x < t)
                    }
                    None => 0,
                };
                let hi = match end {
                    Some(period) => {
                        instant("--end", &period.start)?;
                        let after = period.end_exclusive(meta.calendar).map_err(|e| {
                            Error::Usage(format!(
                                "--end: {e} (the file uses the {} calendar)",
                                meta.calendar
                            ))
                        })?;
                        meta.times.partition_point(|&x| x < after)
                    }
                    None => n,
                };
                lo..hi.max(lo)
            }
        };
        if range.is_empty() {
            let first = meta.calendar.date(meta.times[0]);
            let last = meta.calendar.date(meta.times[n - 1]);
            return Err(Error::Usage(format!(
                "no time steps selected: {} covers {first} to {last} ({}); adjust --start/--end",
                meta.path.display(),
                crate::console::count(n, "step")
            )));
        }
        Ok(range)
    }
}

/// How detection is spread over the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// One thread: read, detect, link in turn.
    Serial,
    /// Threads of one process (rayon); reading overlaps detection.
    Rayon,
    /// MPI ranks, each reading its own range of time steps.
    Mpi,
}

/// Everything a tracking run needs, validated.
#[derive(Debug, Clone)]
pub struct TrackConfig {
    pub inputs: Vec<PathBuf>,
    pub request: VariableRequest,
    pub algorithm: Algorithm,
    pub mode: Mode,
    /// `None`: the variable's default (1e-5 for `vo`, else 0).
    pub threshold: Option<f64>,
    pub window: usize,
    pub radius: Distance,
    /// The Hodges tracker's configuration, when it is the algorithm.
    pub hodges: Option<crate::hodges::HodgesConfig>,
    pub selection: TimeSelection,
    pub output: Destination,
    pub format: OutputFormat,
    /// Settings of the writer (IMILAST method code).
    pub write_options: WriteOptions,
    pub backend: BackendKind,
    pub threads: usize,
    pub quiet: bool,
    pub report: Option<PathBuf>,
    pub min_length: Option<usize>,
}

impl TrackConfig {
    /// The detector's parameters, with the variable's default threshold.
    pub fn detect_config(&self) -> DetectConfig {
        DetectConfig {
            mode: self.mode,
            window: self.window,
            threshold: self
                .threshold
                .unwrap_or_else(|| default_threshold(&self.request.name)),
        }
    }
}

/// The spec's default threshold: 1e-5 when the requested variable is `vo`.
pub fn default_threshold(requested: &str) -> f64 {
    if requested == "vo" {
        1e-5
    } else {
        0.0
    }
}
