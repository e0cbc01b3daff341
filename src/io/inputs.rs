//! Turning the command line's inputs into a list of files.
//!
//! An input argument is a path, or a glob pattern (`*`, `?`, `[...]`) that
//! stormtrack expands itself, so a quoted `'era5/msl_*.nc'` works in any shell
//! and past the shell's limit on the length of a command line. A path that
//! exists is always taken literally, even if its name contains `[` or `*`.
//! As in a shell, `*` and `?` match neither `/` nor a leading `.`.
//!
//! A list file (`--input-list`) holds one path per line. Leading and trailing
//! blanks are trimmed; blank lines and lines whose first non-blank character
//! is `#` are ignored; a relative path is relative to the directory of the
//! list file, not to the current directory; patterns are not expanded.
//!
//! The order of the result does not matter to tracking: a series is ordered
//! by the first time of each file (see [`super::series`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use glob::MatchOptions;

use crate::error::{Error, Result};

/// The files named by `args` (paths or patterns), then by the list file.
pub fn resolve(args: &[PathBuf], list: Option<&Path>) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for arg in args {
        files.extend(expand(arg)?);
    }
    if let Some(list) = list {
        files.extend(read_list(list)?);
    }
    if files.is_empty() {
        return Err(Error::Usage(
            "no input: name a file, a quoted pattern ('era5/*.nc') or --input-list LIST.txt".into(),
        ));
    }
    refuse_repeats(&files)?;
    Ok(files)
}

/// Whether an argument contains glob metacharacters.
fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// One argument: itself when it exists or is no pattern, else its matches.
pub fn expand(arg: &Path) -> Result<Vec<PathBuf>> {
    let pattern = match arg.to_str() {
        Some(s) if is_pattern(s) && arg.symlink_metadata().is_err() => s,
        _ => return Ok(vec![arg.to_path_buf()]),
    };
    let options = MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(pattern, options)
        .map_err(|e| Error::Usage(format!("invalid pattern '{pattern}': {e}")))?;
    let mut files = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| {
            Error::input(
                e.path(),
                format!("cannot read while expanding '{pattern}': {}", e.error()),
            )
        })?;
        // Directories matched by a pattern are not inputs (e.g. 'era5/*').
        if !path.is_dir() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(Error::input(
            pattern,
            "no file matches this pattern; check the directory and the spelling",
        ));
    }
    files.sort();
    Ok(files)
}

/// The paths listed in a list file, relative ones joined to its directory.
pub fn read_list(list: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(list).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(list, "no such input list; check the path"),
        std::io::ErrorKind::InvalidData => Error::input(
            list,
            "the input list is not UTF-8 text; write one path per line",
        ),
        _ => Error::Unreadable {
            path: list.to_path_buf(),
            source: e,
        },
    })?;
    let base = list.parent().unwrap_or(Path::new(""));
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let path = base.join(entry);
        if !path.exists() {
            return Err(Error::input(
                list,
                format!(
                    "line {}: {}: no such file; fix or remove the line (relative paths are relative to the list's directory)",
                    i + 1,
                    path.display()
                ),
            ));
        }
        files.push(path);
    }
    if files.is_empty() {
        return Err(Error::input(
            list,
            "the input list names no files; write one path per line",
        ));
    }
    Ok(files)
}

/// Refuses a file named twice (by path or through a pattern), which would
/// otherwise surface later as an overlap of a file with itself.
fn refuse_repeats(files: &[PathBuf]) -> Result<()> {
    let mut seen = HashSet::new();
    for f in files {
        let key = f.canonicalize().unwrap_or_else(|_| f.clone());
        if !seen.insert(key) {
            return Err(Error::input(
                f,
                "is named more than once among the inputs; name each file once",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"x").unwrap();
        p
    }

    #[test]
    fn expands_patterns_sorted_and_skips_hidden_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let b = touch(dir.path(), "b.nc");
        let a = touch(dir.path(), "a.nc");
        touch(dir.path(), ".hidden.nc");
        std::fs::create_dir(dir.path().join("sub.nc")).unwrap();
        let got = expand(&dir.path().join("*.nc")).unwrap();
        assert_eq!(got, vec![a, b]);
    }

    #[test]
    fn existing_path_with_brackets_is_literal() {
        let dir = tempfile::tempdir().unwrap();
        let odd = touch(dir.path(), "msl[1].nc");
        assert_eq!(expand(&odd).unwrap(), vec![odd]);
    }

    #[test]
    fn empty_pattern_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("*.grib");
        let err = expand(&pattern).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::INPUT);
        let msg = err.to_string();
        assert!(msg.contains(&*pattern.to_string_lossy()), "{msg}");
        assert!(msg.contains("no file matches"), "{msg}");
    }

    #[test]
    fn list_is_relative_to_its_directory_and_skips_comments() {
        let dir = tempfile::tempdir().unwrap();
        let a = touch(dir.path(), "a.nc");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let b = touch(&sub, "b.nc");
        let list = dir.path().join("inputs.txt");
        std::fs::write(
            &list,
            format!("# DJF\n\n  a.nc  \nsub/b.nc\n   # done\n{}\n", a.display()),
        )
        .unwrap();
        let got = read_list(&list).unwrap();
        assert_eq!(
            got,
            vec![
                dir.path().join("a.nc"),
                dir.path().join("sub/b.nc"),
                a.clone()
            ]
        );
        assert!(got[1] == b);
        // The same file twice is refused.
        let err = resolve(&[], Some(&list)).unwrap_err().to_string();
        assert!(err.contains("more than once"), "{err}");
    }

    #[test]
    fn missing_list_entry_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("inputs.txt");
        std::fs::write(&list, "# header\nmissing.nc\n").unwrap();
        let err = read_list(&list).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("missing.nc"),
            "{err}"
        );
        assert!(err.contains("inputs.txt"), "{err}");
    }

    #[test]
    fn nothing_at_all_is_a_usage_error() {
        let err = resolve(&[], None).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    }
}
