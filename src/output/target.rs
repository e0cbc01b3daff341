//! Where an output path leads, decided before anything is written.
//!
//! Outputs are written to a temporary file beside the target and renamed
//! over it, so that no half-written file ever appears. That suits regular
//! files only: renaming over `/dev/null` or a named pipe would replace the
//! device or pipe with a file (and as root, it can). Such paths are written
//! in place instead; a symbolic link is followed to the file it names, so
//! the link stays a link. And no output may replace an input or another
//! output of the same run.

use std::path::{Path, PathBuf};

/// What writing to a path means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A regular file, existing or not: written beside it, then renamed.
    File(PathBuf),
    /// An existing device, named pipe or socket (`/dev/null`, `/dev/stdout`,
    /// a FIFO): written to in place.
    InPlace(PathBuf),
}

/// Where writing to `path` goes, symbolic links followed.
pub fn resolve(path: &Path) -> Target {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Target::File(path.to_path_buf());
    };
    if meta.file_type().is_symlink() {
        // A dangling link is replaced like a missing file.
        return match std::fs::canonicalize(path) {
            Ok(real) if real != path => resolve(&real),
            _ => Target::File(path.to_path_buf()),
        };
    }
    if is_special(&meta) {
        Target::InPlace(path.to_path_buf())
    } else {
        Target::File(path.to_path_buf())
    }
}

#[cfg(unix)]
fn is_special(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
}

#[cfg(not(unix))]
fn is_special(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Whether writing `output` would replace the file at `other` (an input, or
/// another output): the same file if both exist, else the same path once
/// the directories are resolved. Devices and pipes are never replaced.
pub fn replaces(output: &Path, other: &Path) -> bool {
    if let Target::InPlace(_) = resolve(output) {
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
        assert_eq!(resolve(&to_null), Target::InPlace(null.to_path_buf()));
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
