//! `stormtrack track`: detect, link and write tracks.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::hodges_args::HodgesArgs;
use crate::backend::{self, launcher, RunOutput, RunStats};
use crate::config::{BackendKind, TimeSelection, TrackConfig};
use crate::console::count;
use crate::detect::Mode;
use crate::error::{exit, Error};
use crate::hodges::tracker::HodgesTracker;
use crate::interrupt;
use crate::io::{self, FieldMeta, VariableRequest};
use crate::output::{self, Destination, OutputFormat, WriteOptions, METHOD_CODE_HELP};
use crate::tracker::{Algorithm, SimpleTracker, Tracker};
use crate::units::Distance;

/// Arguments of `stormtrack track`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  stormtrack track era5_msl.nc --var msl -o tracks.txt\n  \
stormtrack track era5_vo.grib --var vo --mode max --level 850 -o -\n  \
stormtrack track era5_msl.nc --var msl --start 2025-12-01 --end 2025-12-31T18\n  \
stormtrack track 'era5/msl_*.nc' --var msl --min-length 8 -o tracks.txt\n  \
stormtrack track --input-list months.txt --var msl -o tracks.txt"
)]
pub struct TrackArgs {
    /// Input files: NetCDF (classic, 64-bit offset, CDF-5, NetCDF-4) or GRIB 1/2, recognised by content. Several files, or a quoted pattern ('era5/*.nc', expanded by stormtrack), are tracked as one series ordered by time.
    #[arg(value_name = "INPUT", required_unless_present = "input_list")]
    pub input: Vec<PathBuf>,

    /// A text file naming input files, one per line (blank lines and lines starting with # ignored; relative paths are relative to the list file's directory). Combines with INPUT.
    #[arg(long, value_name = "LIST.txt")]
    pub input_list: Option<PathBuf>,

    /// Variable to track: a name in the file or an alias (msl = slp, psl, prmsl, var151; vo = rv, var138), a CF standard_name match, or a GRIB paramId.
    #[arg(long, short = 'v', value_name = "NAME")]
    pub var: String,

    /// Track minima (pressure) or maxima (vorticity).
    #[arg(long, short = 'm', value_enum, default_value_t = Mode::Min)]
    pub mode: Mode,

    /// Minimum depth of a centre below (min) or above (max) the 8th-ranked value of its window, in the variable's stored units (Pa, s^-1). [default: 1e-5 for vo, 0 otherwise]
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub threshold: Option<f64>,

    /// Side of the square search window, in grid cells (odd, >= 3).
    #[arg(long, value_name = "CELLS", default_value_t = 5)]
    pub window: usize,

    /// Largest distance a centre may move between steps (simple tracker); a unit is optional (km, m, nmi, mi; default km). [default: 500km]
    #[arg(long, value_name = "DISTANCE")]
    pub radius: Option<Distance>,

    /// Track only the first N time steps.
    #[arg(long, short = 'n', value_name = "N", conflicts_with_all = ["start", "end"])]
    pub num: Option<usize>,

    /// First time step to track, ISO 8601 (2025-12-01, 2025-12-01T06), inclusive.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// Last time step to track, ISO 8601, inclusive.
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,

    /// Level to select when the variable has a level dimension, in the file's level units (e.g. 850 for hPa).
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true, value_parser = crate::io::parse_level)]
    pub level: Option<f64>,

    /// Output file, or - for standard output. [default: <INPUT stem>.imilast.txt in the current directory; with --format, the format's own name: .imilast-strict.txt, .tracks.csv, .tracks.nc, .tracks.json, .tdump]
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<String>,

    /// Output format. [default: from the output file's extension (.txt/.imilast/.dat imilast, .csv, .nc/.nc4/.netcdf netcdf, .json, .tdump; another data format's extension such as .parquet or .h5 is an error), else imilast]
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<OutputFormat>,

    #[arg(long, value_name = "N", default_value_t = 0, help = METHOD_CODE_HELP,
          value_parser = clap::value_parser!(u8).range(0..=89))]
    pub method_code: u8,

    /// Tracking algorithm.
    #[arg(long, short = 'a', value_enum, default_value_t = Algorithm::Simple)]
    pub algorithm: Algorithm,

    /// Where detection runs. [default: mpi when started by mpirun/mpiexec/srun with more than one rank, else rayon]
    #[arg(long, short = 'b', value_enum)]
    pub backend: Option<BackendKind>,

    /// Detection threads (per rank under MPI). [default: all cores; under MPI with several ranks 1, or Slurm's SLURM_CPUS_PER_TASK]
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Write a JSON report (time per phase, counts, backend) to this file ('-': standard output, unless the tracks go there).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,

    /// Keep only tracks of at least N points (applied after linking; kept tracks are renumbered from 1). [default: keep all]
    #[arg(long, value_name = "N")]
    pub min_length: Option<usize>,

    #[command(flatten)]
    pub hodges: HodgesArgs,
}

impl TrackArgs {
    /// Validates the arguments into a [`TrackConfig`].
    pub fn into_config(self) -> Result<TrackConfig, Error> {
        if self.window < 3 || self.window.is_multiple_of(2) {
            return Err(Error::Usage(format!(
                "--window {} must be an odd number of cells, at least 3 (e.g. 5)",
                self.window
            )));
        }
        if let Some(t) = self.threshold {
            if !t.is_finite() {
                return Err(Error::Usage(format!(
                    "--threshold {t} must be a finite number"
                )));
            }
        }
        if self.output.as_deref() == Some("-") && self.report.as_deref().is_some_and(is_stdout) {
            return Err(Error::Usage(
                "-o - and --report - would both write to standard output; give the report a file name".into(),
            ));
        }
        if self.threads == Some(0) {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        if let Some(n) = self.threads.filter(|&n| n > MAX_THREADS) {
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            return Err(Error::Usage(format!(
                "--threads {n} is more than {MAX_THREADS}; give at most the cores of the node (this one has {cores})"
            )));
        }
        if self.min_length == Some(0) {
            return Err(Error::Usage(
                "--min-length must be at least 1 (points per track)".into(),
            ));
        }
        // An empty path would otherwise fail late, as a directory error.
        if self.output.as_deref() == Some("") {
            return Err(Error::Usage(
                "-o needs a path; use - for standard output".into(),
            ));
        }
        let hodges = match self.algorithm {
            Algorithm::Simple => {
                if let Some(flag) = self.hodges.first_given() {
                    return Err(Error::Usage(format!(
                        "{flag} is an option of the Hodges tracker; add --algorithm hodges or drop it"
                    )));
                }
                None
            }
            Algorithm::Hodges => {
                if self.radius.is_some() {
                    return Err(Error::Usage(
                        "--radius is an option of the simple tracker; the Hodges tracker limits moves with --dmax and --zones".into(),
                    ));
                }
                Some(
                    self.hodges
                        .clone()
                        .into_config(self.mode, self.threshold, self.window)?,
                )
            }
        };
        let selection =
            TimeSelection::from_flags(self.num, self.start.as_deref(), self.end.as_deref())?;
        let inputs = io::inputs::resolve(&self.input, self.input_list.as_deref())?;
        let output = match &self.output {
            Some(o) => Destination::parse(o),
            None => Destination::File(default_output(
                &inputs[0],
                self.format.unwrap_or(OutputFormat::Imilast),
            )),
        };
        if let Some(list) = &self.input_list {
            refuse_replacing_the_list(&output, self.report.as_deref(), list)?;
        }
        let format = OutputFormat::resolve(self.format, &output).map_err(|why| {
            Error::Usage(format!(
                "-o {output}: {why}; give one of them, or name the format with --format"
            ))
        })?;
        let launch = launcher::detect().filter(|l| l.size > 1);
        let backend = choose_backend(self.backend, launch)?;
        let threads = self.threads.unwrap_or_else(|| match (backend, launch) {
            (BackendKind::Mpi, Some(_)) => launcher::default_threads_per_rank(),
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
        });
        Ok(TrackConfig {
            inputs,
            request: VariableRequest {
                name: self.var,
                level: self.level,
            },
            algorithm: self.algorithm,
            mode: self.mode,
            threshold: self.threshold,
            window: self.window,
            radius: self.radius.unwrap_or(DEFAULT_RADIUS),
            hodges,
            selection,
            output,
            format,
            write_options: WriteOptions {
                method_code: self.method_code,
            },
            backend,
            threads,
            quiet: self.quiet,
            report: self.report,
            min_length: self.min_length,
        })
    }
}

/// The backend asked for, or the default: MPI when a launcher started
/// several ranks (and this build has MPI), else rayon.
fn choose_backend(
    asked: Option<BackendKind>,
    launch: Option<launcher::Launch>,
) -> Result<BackendKind, Error> {
    const NO_MPI: &str = "this build of stormtrack has no MPI support; rebuild it with the cargo feature `mpi` (cargo build --release --features mpi, needs an MPI library such as Open MPI)";
    match (asked, launch) {
        (Some(BackendKind::Mpi), _) if !cfg!(feature = "mpi") => Err(Error::Usage(format!(
            "--backend mpi: {NO_MPI}, or use --backend rayon"
        ))),
        (Some(b), _) => Ok(b),
        (None, Some(l)) if !cfg!(feature = "mpi") => Err(Error::Usage(format!(
            "started by an MPI launcher as one of {} ranks, but {NO_MPI}; run one process, or pass --backend rayon to let every rank do the whole job",
            l.size
        ))),
        (None, Some(_)) => Ok(BackendKind::Mpi),
        (None, None) => Ok(BackendKind::Rayon),
    }
}

/// `<stem>.imilast.txt` (or the format's suffix) in the current directory,
/// from the first input named (for a series).
fn default_output(input: &Path, format: OutputFormat) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "tracks".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}{}", format.default_suffix()))
}

/// The simple tracker's largest move between steps (PyStormTracker's).
const DEFAULT_RADIUS: Distance = Distance::from_km(500.0);

/// Most threads a run may start: beyond the largest nodes' cores, where
/// thousands of threads taking turns on a few cores only slow a run down
/// (8 steps took 20 s with 2000 threads on 2 cores).
const MAX_THREADS: usize = 1024;

/// Runs `stormtrack track`.
pub fn run(args: TrackArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    interrupt::install().context("cannot install the SIGINT/SIGTERM handler")?;
    let cfg = args.into_config()?;
    let tracker: Box<dyn Tracker> = match &cfg.hodges {
        None => Box::new(SimpleTracker {
            detect: cfg.detect_config(),
            radius: cfg.radius,
        }),
        Some(h) => Box::new(HodgesTracker::new(h.clone(), &cfg.request.name)),
    };
    let preflight = || preflight(&cfg);
    let Some(out) = backend::run(&cfg, tracker.as_ref(), &preflight)? else {
        // Another MPI rank: rank 0 writes and reports.
        return Ok(exit::OK);
    };
    let RunOutput {
        tracks,
        meta,
        mut stats,
        session,
    } = out;
    let tracks = match cfg.min_length {
        Some(n) => {
            let kept = tracks.retain_min_length(n);
            stats.tracks = kept.len();
            stats.points = kept.num_points();
            kept
        }
        None => tracks,
    };
    // The tracks and the report are written to temporary files first and
    // put in place together, so that a failure of either leaves neither.
    let write = || -> anyhow::Result<(std::time::Duration, output::Staged)> {
        let t = Instant::now();
        let writer = output::writer_for(cfg.format, &cfg.write_options);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(writing_threads(&stats))
            .thread_name(|i| format!("stormtrack-write-{i}"))
            .build()
            .context("cannot start the threads that format the output")?;
        let staged = pool.install(|| output::prepare(&tracks, writer.as_ref(), &cfg.output))?;
        Ok((t.elapsed(), staged))
    };
    let (write_time, staged) = match session {
        // MPI is finalised (on this thread, as MPI requires) while the
        // output is written.
        Some(session) => std::thread::scope(|s| {
            let writing = s.spawn(write);
            drop(session);
            writing
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?,
        None => write()?,
    };
    stats.write = write_time;
    stats.total = started.elapsed();
    let mut staged = vec![staged];
    if let Some(path) = &cfg.report {
        match prepare_report(path, &cfg, &meta, &stats).map_err(|e| output::for_flag(e, "--report"))
        {
            Ok(report) => staged.push(report),
            Err(e) => {
                return Err(anyhow::Error::new(output::atomic::abandon(staged, e))
                    .context(format!("writing report {}", path.display())))
            }
        }
    }
    output::atomic::commit(staged, interrupt::set_output_complete)?;
    if !cfg.quiet {
        warn_missing(&meta, &stats);
        crate::note!("{}", summary(&cfg, &meta, &stats));
    }
    Ok(exit::OK)
}

/// Threads that format the output (for writers that do so in parallel): as
/// many as detected frames; under MPI, every core this rank may run on, as
/// the other ranks are done by then and rank 0 alone is working.
fn writing_threads(stats: &RunStats) -> usize {
    let mine = if stats.ranks > 1 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    stats.threads.max(mine).max(1)
}

/// Checks, before any reading, that the outputs can be created.
fn preflight(cfg: &TrackConfig) -> crate::Result<()> {
    refuse_overwriting_inputs(cfg)?;
    if let Destination::File(p) = &cfg.output {
        output::check_writable(p)?;
    }
    if let Some(r) = cfg.report.as_ref().filter(|r| !is_stdout(r)) {
        output::check_writable(r).map_err(|e| output::for_flag(e, "--report"))?;
    }
    Ok(())
}

/// Whether a path given on the command line means standard output.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Refuses outputs that would replace an input, or each other.
fn refuse_overwriting_inputs(cfg: &TrackConfig) -> crate::Result<()> {
    use output::target::replaces;
    let output = match &cfg.output {
        Destination::File(p) => Some(p),
        Destination::Stdout => None,
    };
    let report = cfg.report.as_ref().filter(|r| !is_stdout(r));
    let outputs = [(output, "-o"), (report, "--report")];
    for (path, flag) in outputs.iter().filter_map(|(p, f)| Some((p.as_ref()?, f))) {
        if let Some(input) = cfg.inputs.iter().find(|i| replaces(path, i)) {
            return Err(crate::Error::Usage(format!(
                "{flag} {} would replace the input {}; choose another path",
                path.display(),
                input.display()
            )));
        }
    }
    if let (Some(out), Some(report)) = (output, report) {
        if replaces(report, out) {
            return Err(crate::Error::Usage(format!(
                "--report {} is the same file as -o {}; give the report another name",
                report.display(),
                out.display()
            )));
        }
    }
    Ok(())
}

/// Refuses an output that would replace the `--input-list` file: it is an
/// input like the files it names (found before the run, as it is only
/// read while the arguments are checked).
fn refuse_replacing_the_list(
    output: &Destination,
    report: Option<&Path>,
    list: &Path,
) -> Result<(), Error> {
    use output::target::replaces;
    let output = match output {
        Destination::File(p) => Some(p.as_path()),
        Destination::Stdout => None,
    };
    let report = report.filter(|r| !is_stdout(r));
    for (path, flag) in [(output, "-o"), (report, "--report")] {
        if let Some(path) = path.filter(|p| replaces(p, list)) {
            return Err(Error::Usage(format!(
                "{flag} {} would replace the input list {}; choose another path",
                path.display(),
                list.display()
            )));
        }
    }
    Ok(())
}

fn warn_missing(meta: &FieldMeta, stats: &RunStats) {
    const SHOWN: usize = 5;
    for &i in stats.missing_steps.iter().take(SHOWN) {
        crate::note!(
            "stormtrack: warning: step {i} ({}) of '{}' is entirely missing (all NaN); it has no centres and closes every track",
            meta.calendar.date(meta.times[i]),
            meta.variable
        );
    }
    if stats.missing_steps.len() > SHOWN {
        crate::note!(
            "stormtrack: warning: {} more steps are entirely missing",
            stats.missing_steps.len() - SHOWN
        );
    }
}

/// ` and N more files` after the first file of a series.
fn more_files(inputs: usize) -> String {
    match inputs {
        0 | 1 => String::new(),
        2 => " and 1 more file".into(),
        n => format!(" and {} more files", n - 1),
    }
}

/// The one-paragraph summary printed on stderr.
pub fn summary(cfg: &TrackConfig, meta: &FieldMeta, s: &RunStats) -> String {
    format!(
        "stormtrack: {} of '{}' from {}{}: {}, {}, {}\n\
         stormtrack: read {:.3} s, detect {:.3} s, link {:.3} s, write {:.3} s, total {:.3} s ({})\n\
         stormtrack: tracks written to {}",
        count(s.steps, "step"),
        meta.variable,
        meta.path.display(),
        more_files(cfg.inputs.len()),
        count(s.centres, "centre"),
        count(s.tracks, "track"),
        count(s.points, "point"),
        s.read.as_secs_f64(),
        s.detect.as_secs_f64(),
        s.link.as_secs_f64(),
        s.write.as_secs_f64(),
        s.total.as_secs_f64(),
        describe_backend(cfg.backend, s),
        cfg.output
    )
}

/// "rayon, 4 threads" or "mpi, 3 ranks x 1 thread".
fn describe_backend(kind: BackendKind, s: &RunStats) -> String {
    let name = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let threads = count(s.threads, "thread");
    if s.ranks > 1 {
        format!("{name}, {} x {threads}", count(s.ranks, "rank"))
    } else {
        format!("{name}, {threads}")
    }
}

/// Writes the report: printed at once on standard output, else to a
/// temporary file put in place with the tracks.
fn prepare_report(
    path: &Path,
    cfg: &TrackConfig,
    meta: &FieldMeta,
    stats: &RunStats,
) -> crate::Result<output::Staged> {
    let report = serde_json::json!({
        "stormtrack_version": env!("CARGO_PKG_VERSION"),
        "input": meta.path,
        "inputs": cfg.inputs,
        "variable": meta.variable,
        "requested_variable": cfg.request.name,
        "output": cfg.output.to_string(),
        "format": cfg.format,
        "detect": cfg.detect_config(),
        "radius_km": cfg.radius.km(),
        "stats": stats,
    });
    if is_stdout(path) {
        let text = serde_json::to_string_pretty(&report).expect("plain JSON values");
        crate::console::print_data(&(text + "\n"))?;
        return Ok(output::Staged::delivered("standard output"));
    }
    output::prepare_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, &report)?;
        w.write_all(b"\n")
    })
}
