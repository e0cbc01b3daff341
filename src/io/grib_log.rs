//! ecCodes' own diagnostics, kept off stderr.
//!
//! By default ecCodes prints lines such as `ECCODES ERROR : ... No final 7777
//! in message!` straight to stderr, which would break stormtrack's one-line
//! error rule. [`install`] replaces the default context's logging procedure
//! (`grib_context_set_logging_proc`) with one that records the messages of the
//! calling thread; the GRIB reader then folds the last of them into its own
//! one-line error. Set `STORMTRACK_ECCODES_LOG=1` to let ecCodes print as usual
//! (for debugging a file).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::sync::Once;

/// Messages kept per thread; older ones are dropped.
const KEPT: usize = 8;

thread_local! {
    static MESSAGES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records one ecCodes log message. Must never unwind into C.
unsafe extern "C" fn record(
    _ctx: *const eccodes_sys::grib_context,
    _level: c_int,
    msg: *const c_char,
) {
    if msg.is_null() {
        return;
    }
    // SAFETY: ecCodes passes a NUL-terminated string valid for this call.
    let text = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .trim()
        .to_string();
    let _ = MESSAGES.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if m.len() == KEPT {
                m.remove(0);
            }
            m.push(text);
        }
    });
}

/// Routes ecCodes' log messages to the per-thread buffer (once per process).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if crate::env_switch::on(crate::env_switch::ECCODES_LOG) {
            return;
        }
        // SAFETY: the default context is a process-wide singleton that lives
        // for the whole process; `record` has the signature ecCodes expects.
        unsafe {
            let ctx = eccodes_sys::grib_context_get_default();
            if !ctx.is_null() {
                eccodes_sys::grib_context_set_logging_proc(ctx, Some(record));
            }
        }
    });
}

/// Forgets this thread's recorded messages.
pub fn clear() {
    let _ = MESSAGES.try_with(|m| m.borrow_mut().clear());
}

/// The last message ecCodes logged on this thread since [`clear`], if any.
pub fn last() -> Option<String> {
    MESSAGES
        .try_with(|m| m.borrow().last().cloned())
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
}
