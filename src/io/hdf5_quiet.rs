//! Keeps HDF5's error stack off stderr in every thread that opens NetCDF-4.
//!
//! netCDF-C turns HDF5's automatic error printing off when it initialises, but
//! a thread-safe HDF5 keeps that setting per thread. Opening a NetCDF-4 file
//! in any other thread (the rayon backend's reader thread reopens the files of
//! a series) makes HDF5 print pages of `HDF5-DIAG` for lookups of attributes
//! that netCDF-C expects may be absent. Errors are still returned to netCDF-C
//! and reported by stormtrack as usual; only the printing is turned off.

use std::cell::Cell;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Turns HDF5's automatic error printing off for the calling thread (once).
pub fn quiet_hdf5_errors() {
    QUIET.with(|done| {
        if !done.replace(true) {
            use hdf5_metno_sys::h5e::{H5Eset_auto2, H5E_DEFAULT};
            // SAFETY: sets only this thread's error callback (to none), with
            // no client data; HDF5 is built thread-safe for netCDF-C's use.
            unsafe {
                H5Eset_auto2(H5E_DEFAULT, None, std::ptr::null_mut());
            }
        }
    });
}
