//! SIGINT, SIGTERM and SIGHUP during a run that writes files.
//!
//! [`install`] starts a thread that waits for these signals (through
//! signal-hook, so the handler itself only wakes the thread). On a signal it
//! removes the temporary outputs being written, if any (see
//! [`output::with_pending`], which also stops a half-written file from being
//! renamed into place meanwhile), prints one line on stderr and ends the
//! process at once with 128 + the signal: 130 (SIGINT), 143 (SIGTERM), 129
//! (SIGHUP: the terminal or ssh session closed). It exits with `_exit`,
//! without running atexit handlers: another thread may be inside libnetcdf,
//! HDF5 or ecCodes, whose global teardown must not run under it.
//!
//! SIGHUP is left alone when it was ignored at start (`nohup stormtrack …`).
//! SIGPIPE stays ignored (as Rust sets it): a reader of standard output or of
//! a named pipe that goes away makes the write fail with EPIPE, which ends
//! that output quietly with success; the temporary files of regular outputs
//! are never written through a pipe.
//! SIGXFSZ is ignored too ([`ignore_file_size_signal`]).

use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::Error;
use crate::output;

/// Set once every output file is complete: a late signal then removes nothing.
static OUTPUT_COMPLETE: AtomicBool = AtomicBool::new(false);

/// Set on MPI worker ranks and while the job is being aborted: the launcher's
/// SIGTERM then ends the process without a message (rank 0 has reported).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Ends the process silently on a signal from now on (see `QUIET`).
pub fn set_quiet() {
    QUIET.store(true, Ordering::SeqCst);
}

/// Notes that every output file has been written.
pub fn set_output_complete() {
    OUTPUT_COMPLETE.store(true, Ordering::SeqCst);
}

/// Ignores SIGXFSZ, which a write past the file size limit (`ulimit -f`)
/// raises and which would kill the process with a core dump, leaving the
/// temporary output behind: ignored, the write fails with EFBIG instead,
/// reported as an output error after the temporary file is removed.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN, before any thread
    // is started; no handler code runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Whether `signal` was ignored when the process started (`nohup`).
fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Handles SIGINT, SIGTERM and SIGHUP from now on; call once per process.
pub fn install() -> std::io::Result<()> {
    let mut handled = vec![SIGINT, SIGTERM];
    if !ignored(SIGHUP) {
        handled.push(SIGHUP);
    }
    let mut signals = Signals::new(handled)?;
    std::thread::Builder::new()
        .name("stormtrack-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                terminate(signal);
            }
        })?;
    Ok(())
}

/// Removes the pending outputs, reports, and exits with 128 + signal.
fn terminate(signal: i32) -> ! {
    let name = match signal {
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "SIGINT",
    };
    let error = Error::Interrupted(name);
    output::with_pending(|temporaries| {
        for tmp in temporaries {
            let _ = std::fs::remove_file(tmp);
        }
        let code = error.exit_code();
        if QUIET.load(Ordering::SeqCst) {
            // An MPI worker, or a job being aborted: rank 0 reports.
        } else if OUTPUT_COMPLETE.load(Ordering::SeqCst) {
            crate::note!("stormtrack: error: interrupted by {name} after the output was written");
        } else {
            crate::cli::report(&anyhow::Error::new(error));
        }
        signal_hook::low_level::exit(code)
    })
}
