//! Writing to the terminal without panicking: `println!`/`eprintln!` panic
//! when a pipe's reader has gone (`stormtrack info *.nc | head -1`, or
//! stderr piped into `head`). Messages on stderr are dropped if it is
//! closed; data on stdout stops quietly when its reader has gone, as in
//! ripgrep and fd: the reader chose to stop.

use std::fmt;
use std::io::{self, Write};

/// Writes one line on stderr; a closed stderr loses it, nothing more.
pub fn note(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{args}");
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::console::note(format_args!($($arg)*))
    };
}

/// Writes `text` on stdout and flushes it. A reader that has gone away is
/// not an error (the output is cut where it stopped reading).
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    quiet_broken_pipe(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// [`print`], a failure (other than a reader gone) being an output error
/// (exit 4) that names standard output.
pub fn print_data(text: &str) -> crate::Result<()> {
    print(text).map_err(|e| stdout_error(&e))
}

/// The error of a failed write on standard output (`> /dev/full`).
pub fn stdout_error(e: &io::Error) -> crate::Error {
    crate::Error::output("-", format!("cannot write to standard output: {e}"))
}

/// `Ok` for a broken pipe, else `result`.
pub fn quiet_broken_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// `1 step`, `2 steps`, `0 tracks`: a count with its noun, plural by `s`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Whether `e` is a reader gone: by kind, or by the OS code of an error
/// that a library wrapped in its own (its kind is then `Other`).
fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
        || e.raw_os_error() == Some(libc::EPIPE)
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<io::Error>())
            .is_some_and(is_broken_pipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1, "step"), "1 step");
        assert_eq!(count(0, "track"), "0 tracks");
        assert_eq!(count(28125, "point"), "28125 points");
    }

    #[test]
    fn a_reader_gone_is_not_an_error_but_other_failures_are() {
        let gone = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(quiet_broken_pipe(Err(gone)).is_ok());
        let wrapped = io::Error::other(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(quiet_broken_pipe(Err(wrapped)).is_ok());
        let full = io::Error::other("No space left on device");
        assert!(quiet_broken_pipe(Err(full)).is_err());
    }
}
