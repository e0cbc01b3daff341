//! Many files as one time series.
//!
//! [`open`] opens every file once (one at a time) to learn its variable, grid
//! and times, checks that they fit together, orders them by their first time
//! (never by name) and returns a [`SeriesReader`] whose [`FieldMeta::times`]
//! is the concatenation of the files' times. Reads span file boundaries
//! transparently; the underlying files are reopened lazily and at most one is
//! open at a time, so a series of thousands of monthly files does not exhaust
//! file handles.
//!
//! The files must hold the same variable (resolved name), on the same grid
//! (latitudes and longitudes equal to 1e-6°), in the same calendar, decoding
//! to the same floating-point type, with the same units when both state them.
//! Their steps must not overlap or repeat; gaps between files are allowed
//! (the linker closes tracks across a gap as within one file).
//!
//! The series' [`FieldMeta::path`] and other descriptive fields are those of
//! its first file in time; error messages name the file actually concerned.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{FieldMeta, FieldReader, Segment, VariableRequest};
use crate::error::{Error, Result};
use crate::field::{Frame, FrameSource};
use crate::grid::Grid;

/// Largest difference, in degrees, between coordinates of "the same" grid:
/// GRIB stores millidegrees, NetCDF doubles; both must describe one grid.
const GRID_TOLERANCE_DEG: f64 = 1e-6;

/// Opens the inputs of a run: the plain reader for one file, else a series.
pub fn open(paths: &[PathBuf], request: &VariableRequest) -> Result<Box<dyn FieldReader>> {
    match paths {
        [] => Err(Error::Usage("no input files".into())),
        [one] => super::open(one, request),
        many => Ok(Box::new(SeriesReader::open(many, request)?)),
    }
}

/// One file of a series.
#[derive(Debug, Clone)]
struct Part {
    path: PathBuf,
    /// Indices of its steps in the series.
    steps: Range<usize>,
    chunk_steps: Option<usize>,
}

/// Reads several files as one time series.
pub struct SeriesReader {
    request: VariableRequest,
    /// In time order.
    parts: Vec<Part>,
    meta: FieldMeta,
    /// The one underlying reader currently open, with its index in `parts`.
    current: Option<(usize, Box<dyn FieldReader>)>,
}

impl std::fmt::Debug for SeriesReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesReader")
            .field("parts", &self.parts)
            .finish()
    }
}

/// What the scan keeps of each file: its path, times and chunking.
struct Scanned {
    path: PathBuf,
    meta: FieldMeta,
}

impl SeriesReader {
    /// Opens, checks and orders `paths` (at least one).
    pub fn open(paths: &[PathBuf], request: &VariableRequest) -> Result<Self> {
        let mut scanned: Vec<Scanned> = Vec::with_capacity(paths.len());
        for path in paths {
            let meta = super::open(path, request)?.meta().clone();
            if let Some(first) = scanned.first() {
                check_compatible(&first.meta, &meta)?;
            } else if paths.len() > 1 && !meta.time_known {
                return Err(no_time_axis(path));
            }
            // Only the first file keeps its grid; the others were checked against it.
            let meta = if scanned.is_empty() {
                meta
            } else {
                FieldMeta {
                    grid: Grid::new(Vec::new(), Vec::new()),
                    ..meta
                }
            };
            scanned.push(Scanned {
                path: path.clone(),
                meta,
            });
        }
        // Stable: equal first times keep their order and are refused below.
        let first_of_args = scanned[0].meta.grid.clone();
        scanned.sort_by_key(|s| s.meta.times[0]);
        check_no_overlap(&scanned)?;
        Ok(Self::assemble(request, scanned, first_of_args))
    }

    fn assemble(request: &VariableRequest, scanned: Vec<Scanned>, grid: Grid) -> Self {
        let mut parts = Vec::with_capacity(scanned.len());
        let mut times = Vec::new();
        for s in &scanned {
            let start = times.len();
            times.extend_from_slice(&s.meta.times);
            parts.push(Part {
                path: s.path.clone(),
                steps: start..times.len(),
                chunk_steps: s.meta.chunk_steps,
            });
        }
        let chunk_steps = common(scanned.iter().map(|s| s.meta.chunk_steps)).flatten();
        let packing = common(scanned.iter().map(|s| s.meta.packing.clone()))
            .unwrap_or_else(|| Some("varies by file".into()));
        let first = scanned.into_iter().next().expect("a series has files");
        let meta = FieldMeta {
            grid,
            times,
            time_known: true,
            chunk_steps,
            packing,
            ..first.meta
        };
        SeriesReader {
            request: request.clone(),
            parts,
            meta,
            current: None,
        }
    }

    /// The files of the series, in time order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().map(|p| p.path.as_path())
    }

    /// The reader of part `i`, opening it (and closing the previous one) if needed.
    fn reader(&mut self, i: usize) -> Result<&mut Box<dyn FieldReader>> {
        if self.current.as_ref().map(|(j, _)| *j) != Some(i) {
            // Close first: never two files open at once.
            self.current = None;
            let part = &self.parts[i];
            let reader = super::open(&part.path, &self.request)?;
            if reader.meta().times[..] != self.meta.times[part.steps.clone()]
                || !same_grid(&reader.meta().grid, &self.meta.grid)
            {
                return Err(Error::input(
                    &part.path,
                    "changed while stormtrack was running (its times or grid differ from when it was first opened); run again",
                ));
            }
            self.current = Some((i, reader));
        }
        Ok(&mut self.current.as_mut().expect("just opened").1)
    }
}

impl FieldReader for SeriesReader {
    fn meta(&self) -> &FieldMeta {
        &self.meta
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Frame>> {
        super::decode_all(self.read_sources(start, count)?)
    }

    fn read_sources(&mut self, start: usize, count: usize) -> Result<Vec<FrameSource>> {
        let end = start + count;
        let total = self.meta.num_steps();
        if end > total {
            return Err(Error::input(
                &self.meta.path,
                format!("steps {start}..{end} requested of a series of {total} steps"),
            ));
        }
        let mut frames = Vec::with_capacity(count);
        let mut i = self.parts.partition_point(|p| p.steps.end <= start);
        let mut pos = start;
        while pos < end {
            let steps = self.parts[i].steps.clone();
            let upto = end.min(steps.end);
            let local = pos - steps.start;
            frames.extend(self.reader(i)?.read_sources(local, upto - pos)?);
            pos = upto;
            i += 1;
        }
        Ok(frames)
    }

    fn segments(&self) -> Vec<Segment> {
        self.parts
            .iter()
            .map(|p| Segment {
                steps: p.steps.clone(),
                chunk_steps: p.chunk_steps,
            })
            .collect()
    }
}

/// The value all items share, if they do.
fn common<T: PartialEq>(mut items: impl Iterator<Item = T>) -> Option<T> {
    let first = items.next()?;
    items.all(|x| x == first).then_some(first)
}

fn no_time_axis(path: &Path) -> Error {
    Error::input(
        path,
        "has no time axis; every file of a series needs one so the files can be ordered",
    )
}

fn same_axis(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= GRID_TOLERANCE_DEG)
}

fn same_grid(a: &Grid, b: &Grid) -> bool {
    same_axis(&a.lat, &b.lat) && same_axis(&a.lon, &b.lon)
}

fn describe_grid(g: &Grid) -> String {
    let ends = |v: &[f64]| match (v.first(), v.last()) {
        (Some(a), Some(b)) => format!("{a}..{b}"),
        _ => "none".into(),
    };
    format!(
        "{} x {} (lat {}, lon {})",
        g.rows(),
        g.cols(),
        ends(&g.lat),
        ends(&g.lon)
    )
}

/// Checks that `m` can continue the series whose first file is `first`.
fn check_compatible(first: &FieldMeta, m: &FieldMeta) -> Result<()> {
    let other = first.path.display();
    let fail = |message: String| Err(Error::input(&m.path, message));
    if !m.time_known {
        return Err(no_time_axis(&m.path));
    }
    if m.variable != first.variable {
        return fail(format!(
            "holds variable '{}' but {other} holds '{}'; all files of a series must hold the same variable",
            m.variable, first.variable
        ));
    }
    if !same_grid(&m.grid, &first.grid) {
        return fail(format!(
            "its grid {} differs from the grid {} of {other}; regrid the files to one grid first (e.g. cdo remapbil)",
            describe_grid(&m.grid),
            describe_grid(&first.grid)
        ));
    }
    if m.calendar != first.calendar {
        return fail(format!(
            "uses the {} calendar but {other} uses the {} calendar; all files of a series must share one calendar",
            m.calendar, first.calendar
        ));
    }
    if m.value_type != first.value_type {
        return fail(format!(
            "'{}' decodes to {} but to {} in {other}; detection depends on the type, so convert the files to one type first",
            m.variable, m.value_type, first.value_type
        ));
    }
    if let (Some(a), Some(b)) = (&m.units, &first.units) {
        if a != b {
            return fail(format!(
                "'{}' is in {a} but in {b} in {other}; convert the files to one unit first",
                m.variable
            ));
        }
    }
    Ok(())
}

/// Refuses files (sorted by first time) whose steps overlap or repeat.
fn check_no_overlap(sorted: &[Scanned]) -> Result<()> {
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let a_last = *a.meta.times.last().expect("times are never empty");
        let b_first = b.meta.times[0];
        if b_first <= a_last {
            let cal = a.meta.calendar;
            return Err(Error::input(
                &b.path,
                format!(
                    "overlaps {} in time: it starts at {} but {} runs until {}; files of a series must not repeat time steps, so remove or trim one of them",
                    a.path.display(),
                    cal.date(b_first),
                    a.path.display(),
                    cal.date(a_last)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_values() {
        assert_eq!(common([Some(3), Some(3)].into_iter()), Some(Some(3)));
        assert_eq!(common([Some(3), None].into_iter()), None);
        assert_eq!(common(std::iter::empty::<u8>()), None);
    }

    #[test]
    fn grids_compare_within_tolerance() {
        let g = Grid::new(vec![90.0, 87.5], vec![0.0, 2.5, 5.0]);
        let h = Grid::new(vec![90.0, 87.500_000_1], vec![0.0, 2.5, 5.0]);
        let k = Grid::new(vec![90.0, 87.5], vec![0.0, 2.5]);
        assert!(same_grid(&g, &h));
        assert!(!same_grid(&g, &k));
        assert_eq!(describe_grid(&k), "2 x 2 (lat 90..87.5, lon 0..2.5)");
    }
}
