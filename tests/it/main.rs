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
mod hodges;
mod hodges_core;
mod info;
mod input_defects;
mod linker_props;
mod loader;
mod missing_frames;
mod multifile;
mod names;
mod netcdf_direct;
mod output_defects;
mod readme;
mod spectral;
mod track_reference;
mod variables;
mod zarr;
