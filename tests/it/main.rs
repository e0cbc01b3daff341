//! The integration tests, one binary (ripgrep's layout): each module is one
//! area of behaviour, run against the built `stormtrack` binary or the
//! library. `signals` is its own binary because it loads both cores.

mod common;

mod backends;
mod compare;
mod errors;
mod formats;
mod fuzz_corpus;
mod grib_paths;
mod hodges_core;
mod info;
mod linker_props;
mod loader;
mod missing_frames;
mod multifile;
mod netcdf_direct;
mod readme;
mod track_reference;
mod variables;
