//! Atomic delivery of a run's output files.
//!
//! Each file is first written completely to a temporary `.stormtrack-*.part`
//! file beside its target ([`stage`]); the files of a run (the tracks and the
//! `--report`) are renamed into place together by [`commit`] only once all of
//! them are complete, so a failure writing one leaves none of them (a report
//! that failed used to leave the tracks in place under a message saying that
//! nothing was left). A temporary file that cannot be renamed is removed; if
//! it cannot be removed either (an append-only directory), the message says
//! which file was left.
//!
//! Every temporary file is registered while it exists, for the signal
//! handler (see [`with_pending`]); the registry's lock is held while files
//! are created, renamed into place and removed, so a handler holding it sees
//! every temporary file that still needs removing and no half-delivered run.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tempfile::{NamedTempFile, TempPath};

use super::{io_error, os_error};
use crate::error::{Error, Result};

/// The temporary files that exist, for removal on a signal.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` with the temporary files that exist, while none can be created,
/// renamed into place or removed. A signal handler removes them and exits
/// the process inside `f`, so no output appears.
pub fn with_pending<R>(f: impl FnOnce(&[PathBuf]) -> R) -> R {
    let guard = pending();
    f(&guard)
}

/// Creates a temporary file in `dir` and registers it.
pub(super) fn create_pending(dir: &Path, prefix: &str, suffix: &str) -> io::Result<NamedTempFile> {
    let mut guard = pending();
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .permissions(super::new_file_permissions())
        .tempfile_in(dir)?;
    guard.push(tmp.path().to_path_buf());
    Ok(tmp)
}

/// Removes a registered temporary file and unregisters it; `Err` says
/// which file is left, and why, for the message of the failure at hand.
pub(super) fn remove(guard: &mut Vec<PathBuf>, tmp: TempPath) -> Result<(), String> {
    let path = tmp.to_path_buf();
    guard.retain(|p| *p != path);
    match tmp.close() {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            "the temporary file {} could not be removed either ({}); remove it by hand",
            path.display(),
            os_error(&e)
        )),
    }
}

/// [`remove`] taking the lock itself.
pub(super) fn remove_pending(tmp: TempPath) -> Result<(), String> {
    remove(&mut pending(), tmp)
}

/// An output written completely but not yet in place.
#[must_use = "an output is only put in place by commit"]
pub struct Staged {
    kind: Option<Kind>,
}

enum Kind {
    /// Already delivered: to standard output, or in place to a device or a
    /// named pipe (named for messages).
    Delivered(String),
    /// A complete temporary file, to be renamed to `path`.
    File { tmp: TempPath, path: PathBuf },
}

impl Staged {
    /// An output that was written where it goes (stdout, a device, a pipe).
    pub fn delivered(name: impl Into<String>) -> Self {
        Staged {
            kind: Some(Kind::Delivered(name.into())),
        }
    }
}

impl Drop for Staged {
    /// An output dropped without [`commit`] (an error came first) is removed.
    fn drop(&mut self) {
        if let Some(Kind::File { tmp, .. }) = self.kind.take() {
            let _ = remove_pending(tmp);
        }
    }
}

/// Writes the temporary file of the regular file `path` through `body`,
/// which is given the temporary file's path. On failure nothing is left
/// (or the message says what is).
pub(super) fn stage(path: &Path, body: impl FnOnce(&Path) -> io::Result<()>) -> Result<Staged> {
    super::check_dir(path)?;
    let tmp = create_pending(super::parent_dir(path), ".stormtrack-", ".part")
        .map_err(|e| io_error(path, &e))?
        .into_temp_path();
    match body(&tmp) {
        Ok(()) => Ok(Staged {
            kind: Some(Kind::File {
                tmp,
                path: path.to_path_buf(),
            }),
        }),
        Err(e) => {
            let left = remove_pending(tmp);
            Err(outcome(io_error(path, &e), left.err(), &[]))
        }
    }
}

/// `err` with the truth about what was left: a temporary file that could
/// not be removed, and outputs already delivered.
fn outcome(err: Error, left: Option<String>, delivered: &[String]) -> Error {
    let Error::Output { path, mut message } = err else {
        return err;
    };
    const NOTHING_LEFT: &str = " (no output was left behind)";
    if left.is_some() || !delivered.is_empty() {
        message = message.replace(NOTHING_LEFT, "");
    }
    if let Some(left) = left {
        message.push_str("; ");
        message.push_str(&left);
    }
    if !delivered.is_empty() {
        message.push_str(&format!(
            "; what was already written to {} could not be taken back",
            delivered.join(" and ")
        ));
    }
    Error::Output { path, message }
}

/// Abandons staged outputs after `err` (a failure preparing another output
/// of the run): their temporary files are removed, and the message says
/// what could not be removed and what had already been delivered.
pub fn abandon(staged: Vec<Staged>, err: crate::Error) -> crate::Error {
    let mut guard = pending();
    let (mut left, mut delivered) = (Vec::new(), Vec::new());
    for mut s in staged {
        match s.kind.take() {
            Some(Kind::File { tmp, .. }) => left.extend(remove(&mut guard, tmp).err()),
            Some(Kind::Delivered(name)) => delivered.push(name),
            None => {}
        }
    }
    let left = (!left.is_empty()).then(|| left.join("; "));
    outcome(err, left, &delivered)
}

/// Puts staged outputs in place, in order, then runs `then` (still holding
/// the registry's lock, so that a signal cannot come between the last
/// rename and what `then` records). If a rename fails, that file and the
/// ones after it are removed, and the message says what was delivered.
pub fn commit(staged: Vec<Staged>, then: impl FnOnce()) -> Result<()> {
    let mut guard = pending();
    let mut delivered = Vec::new();
    let mut rest = staged.into_iter();
    while let Some(mut s) = rest.next() {
        let (tmp, path) = match s.kind.take() {
            Some(Kind::File { tmp, path }) => (tmp, path),
            Some(Kind::Delivered(name)) => {
                delivered.push(name);
                continue;
            }
            None => continue,
        };
        keep_permissions(&tmp, &path);
        let tmp_path = tmp.to_path_buf();
        match tmp.persist(&path) {
            Ok(()) => {
                guard.retain(|p| *p != tmp_path);
                delivered.push(path.display().to_string());
            }
            Err(e) => {
                let mut left: Vec<String> = remove(&mut guard, e.path).err().into_iter().collect();
                for mut later in rest {
                    if let Some(Kind::File { tmp, .. }) = later.kind.take() {
                        left.extend(remove(&mut guard, tmp).err());
                    }
                }
                let err = Error::output(
                    &path,
                    format!(
                        "cannot rename the finished temporary file {} into place: {}; check the directory's permissions and attributes (lsattr -d) or choose another location (no output was left behind)",
                        tmp_path.display(),
                        os_error(&e.error)
                    ),
                );
                let left = (!left.is_empty()).then(|| left.join("; "));
                return Err(outcome(err, left, &delivered));
            }
        }
    }
    then();
    Ok(())
}

/// Gives the temporary file the permission bits of the file it replaces, so
/// that replacing a 0444 (or 0600) file keeps its mode; a new file keeps the
/// mode of any new file. Best effort: a failure leaves the default mode.
fn keep_permissions(tmp: &Path, target: &Path) {
    if let Ok(meta) = std::fs::metadata(target) {
        if meta.is_file() {
            let _ = std::fs::set_permissions(tmp, meta.permissions());
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    /// Whether a temporary file in `dir` is registered (other tests
    /// register theirs meanwhile, in other directories).
    fn registered_in(dir: &Path) -> bool {
        pending().iter().any(|p| p.starts_with(dir))
    }

    fn chattr(flag: &str, path: &Path) {
        let ok = std::process::Command::new("chattr")
            .arg(flag)
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "chattr {flag} {} failed (needs root and ext4 or similar)",
            path.display()
        );
    }

    #[test]
    fn a_failed_rename_removes_the_temporary_file_or_says_that_it_is_left() {
        // The target became a non-empty directory after the check: the
        // rename fails, the temporary file is removed.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let staged = stage(&path, |tmp| std::fs::write(tmp, "tracks")).unwrap();
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "").unwrap();
        let err = commit(vec![staged], || panic!("not committed"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot rename the finished temporary file"),
            "{err}"
        );
        assert!(err.ends_with("(no output was left behind)"), "{err}");
        assert_eq!(names(dir.path()), ["out.txt"]);
        assert!(!registered_in(dir.path()));

        // An append-only directory: neither renamed nor removed; said so.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let staged = stage(&path, |tmp| std::fs::write(tmp, "tracks")).unwrap();
        chattr("+a", dir.path());
        let result = commit(vec![staged], || panic!("not committed"));
        chattr("-a", dir.path());
        let err = result.unwrap_err().to_string();
        let left = names(dir.path());
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].starts_with(".stormtrack-"), "{left:?}");
        assert!(
            err.contains(&format!(
                "the temporary file {}",
                dir.path().join(&left[0]).display()
            )),
            "{err}"
        );
        assert!(err.contains("could not be removed either"), "{err}");
        assert!(err.contains("remove it by hand"), "{err}");
        assert!(!err.contains("no output was left behind"), "{err}");
    }

    #[test]
    fn outputs_are_put_in_place_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.json"));
        let first = stage(&a, |tmp| std::fs::write(tmp, "a")).unwrap();
        let second = stage(&b, |tmp| std::fs::write(tmp, "b")).unwrap();
        assert!(registered_in(dir.path()));
        let mut done = false;
        commit(vec![first, second], || done = true).unwrap();
        assert!(done);
        assert_eq!(names(dir.path()), ["a.txt", "b.json"]);
        assert!(!registered_in(dir.path()));

        // The second fails while being written: the first is removed too.
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.json"));
        let first = stage(&a, |tmp| std::fs::write(tmp, "a")).unwrap();
        let err = stage(&b, |_| Err(io::Error::from_raw_os_error(libc::ENOSPC)))
            .err()
            .unwrap();
        let err = abandon(vec![first], err).to_string();
        assert!(err.contains("b.json: disk full"), "{err}");
        assert!(err.ends_with("(no output was left behind)"), "{err}");
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }
}
