//! stormtrack: fast, deterministic cyclone tracking for gridded climate data.
//!
//! The pipeline: [`io`] opens NetCDF or GRIB and reads decoded frames;
//! [`detect`] finds centres in each frame (a pure function, run in parallel by
//! a [`backend`]); [`link`] joins them into [`tracks`] strictly in time order;
//! [`output`] writes the tracks. [`cli`] is the command-line front end.

pub mod backend;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod console;
pub mod detect;
pub mod env_switch;
pub mod error;
pub mod field;
pub mod filter;
pub mod grid;
pub mod hodges;
pub mod interrupt;
pub mod io;
pub mod link;
pub mod output;
pub mod time;
pub mod tracker;
pub mod tracks;
pub mod units;

pub use error::{Error, Result};
