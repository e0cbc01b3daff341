//! Library errors. Every message names the file, variable or flag concerned
//! and says what to do; [`Error::exit_code`] maps them to the documented exit
//! codes of the command-line tool.

use std::path::PathBuf;

use thiserror::Error;

/// Exit codes of `stormtrack` (also listed in the README).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// An unexpected internal failure.
    pub const FAILURE: i32 = 1;
    /// A command-line usage error (unknown flag, bad value).
    pub const USAGE: i32 = 2;
    /// The input could not be used: missing, unreadable, corrupt, wrong variable…
    pub const INPUT: i32 = 3;
    /// The output could not be written: missing directory, no permission, disk full.
    pub const OUTPUT: i32 = 4;
    /// An MPI rank failed and the job was aborted.
    pub const MPI: i32 = 5;
    /// Hung up: SIGHUP (128 + 1), the terminal or session closed.
    pub const SIGHUP: i32 = 129;
    /// Interrupted by SIGINT (128 + 2).
    pub const SIGINT: i32 = 130;
    /// Terminated by SIGTERM (128 + 15).
    pub const SIGTERM: i32 = 143;
}

/// Everything that can go wrong in the library.
#[derive(Debug, Error)]
pub enum Error {
    #[error("{}: no such file; check the path", .0.display())]
    NotFound(PathBuf),

    #[error("{}: cannot read: {source}; check the file's permissions", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: the file is empty (0 bytes); was the download or copy interrupted?", .0.display())]
    EmptyFile(PathBuf),

    #[error("{}: neither NetCDF nor GRIB (the file starts with {magic}); stormtrack reads NetCDF-3, NetCDF-4 and GRIB 1/2", .path.display())]
    UnknownFormat { path: PathBuf, magic: String },

    #[error("{}: no variable '{requested}' (aliases tried: {tried}); the file has: {available}; pass one of them with --var", .path.display())]
    NoVariable {
        path: PathBuf,
        requested: String,
        tried: String,
        available: String,
    },

    #[error("{}: variable '{variable}' has {count} levels ({levels}); choose one with --level VALUE", .path.display())]
    LevelRequired {
        path: PathBuf,
        variable: String,
        count: usize,
        levels: String,
    },

    /// Any other problem with an input file.
    #[error("{}: {message}", .path.display())]
    Input { path: PathBuf, message: String },

    /// A problem writing an output file.
    #[error("{}: {message}", .path.display())]
    Output { path: PathBuf, message: String },

    /// A bad combination of options, found after parsing.
    #[error("{0}")]
    Usage(String),

    /// A failure reported by another MPI rank.
    #[error("{0}")]
    Mpi(String),

    #[error("interrupted by {0}; no output was written")]
    Interrupted(&'static str),
}

impl Error {
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn output(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Output {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Output { .. } => exit::OUTPUT,
            Error::Mpi(_) => exit::MPI,
            Error::Interrupted("SIGTERM") => exit::SIGTERM,
            Error::Interrupted("SIGHUP") => exit::SIGHUP,
            Error::Interrupted(_) => exit::SIGINT,
            _ => exit::INPUT,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
