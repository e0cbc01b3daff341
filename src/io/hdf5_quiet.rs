//! Keeps HDF5's error stack printing off stderr.
//!
//! HDF5 prints a multi-line `HDF5-DIAG: Error detected ...` trace for every
//! failed call unless automatic error printing is off. libnetcdf turns it off
//! when it initialises HDF5, but in a thread-safe HDF5 (Debian's is) that
//! setting belongs to the initialising thread only, and stormtrack reads on a
//! reader thread. [`silence_this_thread`] turns it off for the calling thread,
//! once; libnetcdf still returns the error code, which the reader turns into
//! one line. The function is looked up at run time (`dlsym`), as the symbol
//! comes with libnetcdf's own HDF5 and is absent when libnetcdf has none.

use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

/// `herr_t H5Eset_auto2(hid_t estack_id, H5E_auto2_t func, void *client_data)`.
type SetAuto = unsafe extern "C" fn(i64, *const c_void, *mut c_void) -> i32;

/// `H5E_DEFAULT`: the calling thread's default error stack.
const H5E_DEFAULT: i64 = 0;

fn set_auto() -> Option<SetAuto> {
    static FUNC: OnceLock<Option<SetAuto>> = OnceLock::new();
    *FUNC.get_or_init(|| {
        let name: &CStr = c"H5Eset_auto2";
        // SAFETY: dlsym with RTLD_DEFAULT searches the loaded libraries; a
        // non-null result is HDF5's H5Eset_auto2, whose C signature is SetAuto.
        unsafe {
            let sym = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
            (!sym.is_null()).then(|| std::mem::transmute::<*mut c_void, SetAuto>(sym))
        }
    })
}

thread_local! {
    static DONE: Cell<bool> = const { Cell::new(false) };
}

/// Turns HDF5's automatic error printing off for the calling thread.
pub fn silence_this_thread() {
    if DONE.with(Cell::get) {
        return;
    }
    if let Some(f) = set_auto() {
        // SAFETY: a null function disables printing; HDF5 is thread-safe here
        // and the call only touches the calling thread's error stack settings.
        unsafe {
            f(H5E_DEFAULT, std::ptr::null(), std::ptr::null_mut());
        }
    }
    DONE.with(|d| d.set(true));
}
