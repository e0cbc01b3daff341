//! Where an output path leads, decided before anything is written.
//!
//! Outputs are written to a temporary file beside the target and renamed
//! over it, so that no half-written file ever appears. That suits regular
//! files only: renaming over `/dev/null` or a named pipe would replace the
//! device or pipe with a file (and as root, it can). Such paths are written
//! in place instead, appending (`/dev/stdout` may be a log the shell opened
//! with `>>`); a disk or a socket is refused; a symbolic link to a file is
//! followed to it, so the link stays a link (a dangling or looping link is
//! replaced like a missing file). And no output may replace an input or
//! another output of the same run.

use std::path::{Path, PathBuf};

/// What writing to a path means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A regular file, existing or not: written beside it, then renamed.
    File(PathBuf),
    /// An existing character device, named pipe or open descriptor
    /// (`/dev/null`, a FIFO, `/dev/stdout`): written to in place, appending.
    InPlace(PathBuf),
    /// Something no track file should go to (a disk, a socket): why.
    Refused(&'static str),
}

/// Where writing to `path` goes, symbolic links followed.
pub fn resolve(path: &Path) -> Target {
    if names_a_descriptor(path) {
        return Target::InPlace(path.to_path_buf());
    }
    // A missing file, or a dangling or looping link: replaced like a
    // missing file.
    let Ok(meta) = std::fs::metadata(path) else {
        return Target::File(path.to_path_buf());
    };
    match kind(&meta) {
        Kind::File => {
            let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            match std::fs::canonicalize(path) {
                Ok(real) if is_link => Target::File(real),
                _ => Target::File(path.to_path_buf()),
            }
        }
        Kind::Stream => Target::InPlace(path.to_path_buf()),
        Kind::Disk => Target::Refused("is a block device (a disk); give a file path"),
        Kind::Socket => Target::Refused("is a socket; give a file path"),
    }
}

/// Whether `path`, or a link on the way from it, names an open file
/// descriptor (`/dev/stdout`, `/dev/fd/N`, `/proc/PID/fd/N`): what it leads
/// to may be a file the shell opened (`>> log`), which renaming would lose.
fn names_a_descriptor(path: &Path) -> bool {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let text = p.to_string_lossy();
        if matches!(text.as_ref(), "/dev/stdout" | "/dev/stderr")
            || text.starts_with("/dev/fd/")
            || (text.starts_with("/proc/") && text.contains("/fd/"))
        {
            return true;
        }
        let Ok(next) = std::fs::read_link(&p) else {
            return false;
        };
        p = match p.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    false
}

enum Kind {
    File,
    /// Character devices and named pipes.
    Stream,
    Disk,
    Socket,
}

#[cfg(unix)]
fn kind(meta: &std::fs::Metadata) -> Kind {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_char_device() || t.is_fifo() {
        Kind::Stream
    } else if t.is_block_device() {
        Kind::Disk
    } else if t.is_socket() {
        Kind::Socket
    } else {
        Kind::File
    }
}

#[cfg(not(unix))]
fn kind(_meta: &std::fs::Metadata) -> Kind {
    Kind::File
}

/// Whether writing `output` would replace the file at `other` (an input, or
/// another output): the same file if both exist, else the same path once
/// the directories are resolved. Devices and pipes are never replaced.
pub fn replaces(output: &Path, other: &Path) -> bool {
    if !matches!(resolve(output), Target::File(_)) {
        return false;
    }
    match (std::fs::metadata(output), std::fs::metadata(other)) {
        (Ok(a), Ok(b)) => same_inode(&a, &b),
        (Err(_), Err(_)) => normalized(output).is_some() && normalized(output) == normalized(other),
        _ => false,
    }
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_inode(_a: &std::fs::Metadata, _b: &std::fs::Metadata) -> bool {
    false
}

/// A path that does not exist, as its resolved directory and its name.
fn normalized(path: &Path) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn devices_and_pipes_are_written_in_place_links_followed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tracks.txt");
        assert_eq!(resolve(&file), Target::File(file.clone()), "missing");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(resolve(&file), Target::File(file.clone()), "regular");
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let real = std::fs::canonicalize(&file).unwrap();
        assert_eq!(resolve(&link), Target::File(real));
        let null = Path::new("/dev/null");
        assert_eq!(resolve(null), Target::InPlace(null.to_path_buf()));
        let to_null = dir.path().join("null");
        std::os::unix::fs::symlink(null, &to_null).unwrap();
        assert_eq!(resolve(&to_null), Target::InPlace(to_null.clone()));
        // Descriptors, whatever they lead to (here a regular file).
        let fd = std::fs::File::open(&file).unwrap();
        use std::os::fd::AsRawFd;
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        assert_eq!(resolve(&by_fd), Target::InPlace(by_fd.clone()));
        let to_fd = dir.path().join("stdout");
        std::os::unix::fs::symlink(&by_fd, &to_fd).unwrap();
        assert_eq!(resolve(&to_fd), Target::InPlace(to_fd.clone()));
        // A dangling link and a loop are replaced like missing files.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert_eq!(resolve(&dangling), Target::File(dangling.clone()));
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert_eq!(resolve(&a), Target::File(a.clone()));
    }

    #[test]
    fn an_output_may_not_replace_an_input_or_another_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("era5.nc");
        std::fs::write(&input, "data").unwrap();
        let via_link = dir.path().join("alias.nc");
        std::os::unix::fs::symlink(&input, &via_link).unwrap();
        assert!(replaces(&input, &input));
        assert!(replaces(&via_link, &input));
        assert!(replaces(&dir.path().join(".").join("era5.nc"), &input));
        // Two outputs that do not exist yet, spelled differently.
        let out = dir.path().join("tracks.txt");
        assert!(replaces(&out, &dir.path().join("./tracks.txt")));
        assert!(!replaces(&out, &dir.path().join("report.json")));
        assert!(!replaces(&out, &input));
        assert!(!replaces(Path::new("/dev/null"), Path::new("/dev/null")));
    }
}
