//! `stormtrack convert`: rewrite a track file in another format.
//!
//! Reads IMILAST (any flavour), CSV, NetCDF or JSON, guessed from the content
//! or the extension (`--from` overrides), and writes any output format, from
//! `--to` or the output's extension. Values keep their meaning across formats:
//! text formats hold IMILAST units and NetCDF stored units, converted on the
//! way (see `output::input`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::error::exit;
use crate::output::input::{self, InputFormat};
use crate::output::{self, Destination, OutputFormat, WriteOptions, METHOD_CODE_HELP};
use crate::time::Calendar;

/// Arguments of `stormtrack convert`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  stormtrack convert tracks.imilast.txt tracks.nc\n  \
stormtrack convert tracks.nc tracks.csv\n  \
stormtrack convert tracks.csv - --to imilast-strict --method-code 3"
)]
pub struct ConvertArgs {
    /// Track file to read: IMILAST, CSV, NetCDF or JSON, recognised by content.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,

    /// File to write, or - for standard output.
    #[arg(value_name = "OUTPUT")]
    pub output: String,

    /// Format of INPUT. [default: from its content, else its extension]
    #[arg(long, value_enum)]
    pub from: Option<InputFormat>,

    /// Format of OUTPUT. [default: from its extension (.txt/.imilast/.dat imilast, .csv, .nc/.nc4/.netcdf netcdf, .json, .tdump; another data format's extension such as .parquet or .h5 is an error), else imilast]
    #[arg(long, short = 't', value_enum)]
    pub to: Option<OutputFormat>,

    #[arg(long, value_name = "N", default_value_t = 0, help = METHOD_CODE_HELP,
          value_parser = clap::value_parser!(u8).range(0..=89))]
    pub method_code: u8,

    /// Calendar of dates in INPUT that do not say (IMILAST; CSV times without Z), e.g. noleap or 360_day. [default: proleptic_gregorian]
    #[arg(long, value_name = "NAME", value_parser = parse_calendar)]
    pub calendar: Option<Calendar>,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_calendar(s: &str) -> Result<Calendar, String> {
    s.parse().map_err(|e: crate::time::TimeError| e.to_string())
}

/// Runs `stormtrack convert`.
pub fn run(args: ConvertArgs) -> anyhow::Result<i32> {
    // A signal while the output is written removes its temporary file.
    crate::interrupt::install().context("cannot install the signal handler")?;
    if args.output.is_empty() {
        return Err(
            crate::Error::Usage("OUTPUT needs a path; use - for standard output".into()).into(),
        );
    }
    let dest = Destination::parse(&args.output);
    let to = OutputFormat::resolve(args.to, &dest).map_err(|why| {
        crate::Error::Usage(format!(
            "OUTPUT {dest}: {why}; give one of them, or name the format with --to"
        ))
    })?;
    if let Destination::File(p) = &dest {
        if output::target::replaces(p, &args.input) {
            return Err(crate::Error::Usage(format!(
                "OUTPUT {} is INPUT; write to another file",
                p.display()
            ))
            .into());
        }
        output::check_writable(p)?;
    }
    let (tracks, from) = input::read_tracks(&args.input, args.from, args.calendar)?;
    let writer = output::writer_for(
        to,
        &WriteOptions {
            method_code: args.method_code,
        },
    );
    output::deliver(&tracks, writer.as_ref(), &dest)?;
    if !args.quiet {
        crate::note!(
            "stormtrack: {}, {} of '{}' converted from {} ({from}) to {} ({})",
            crate::console::count(tracks.len(), "track"),
            crate::console::count(tracks.num_points(), "point"),
            tracks.meta.variable,
            args.input.display(),
            dest,
            serde_json::to_value(to)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
    }
    Ok(exit::OK)
}
