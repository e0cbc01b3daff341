//! JSON tracks: one document, one track per line.
//!
//! ```text
//! {"format":"stormtrack-tracks","version":1,"variable":"msl","units":"hPa","calendar":"standard","tracks":[
//! {"id":1,"points":[{"time":"2025-12-01T00:00:00Z","lat":-85.0,"lon":175.0,"value":995.87125},...]},
//! {"id":2,"points":[...]}
//! ]}
//! ```
//!
//! Schema (version 1): `format` is always `"stormtrack-tracks"`; `variable`
//! the tracked variable; `units` the units of `value` (IMILAST units: `hPa`
//! for msl, `1e-5 s-1` for vo, else the stored units, or null if unknown);
//! `calendar` the CF calendar of the times; `tracks` a list of
//! `{"id": n, "points": [...]}` with ids from 1, and each point
//! `{"time", "lat", "lon", "value"}`. `time` is ISO 8601 as in the CSV format
//! (`Z` for standard/proleptic_gregorian, the calendar's own date otherwise;
//! null without a time axis); `lon` is in -180..180.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::imilast::{
    from_imilast_units, imilast_units, longitude_east, stored_units, to_imilast_units, ParseError,
};
use super::{iso_time, TrackWriter};
use crate::time::Calendar;
use crate::tracks::{Point, TrackMeta, Tracks};

/// The `format` member of every document.
pub const FORMAT: &str = "stormtrack-tracks";
/// The schema version written.
pub const VERSION: u32 = 1;

/// The JSON writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonWriter;

/// The document without its tracks (written first, then one track a line).
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    variable: String,
    units: Option<String>,
    calendar: String,
}

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(flatten)]
    header: Header,
    tracks: Vec<TrackDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TrackDoc {
    id: u64,
    points: Vec<PointDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PointDoc {
    time: Option<String>,
    lat: f64,
    lon: f64,
    value: f64,
}

impl TrackWriter for JsonWriter {
    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let meta = &tracks.meta;
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            variable: meta.variable.clone(),
            units: imilast_units(&meta.variable, meta.units.as_deref()),
            calendar: meta.calendar.to_string(),
        };
        let head = serde_json::to_string(&header)?;
        // Reopen the object to append the tracks member.
        write!(out, "{},\"tracks\":[", head.trim_end_matches('}'))?;
        for track in tracks.iter() {
            let doc = TrackDoc {
                id: track.index as u64 + 1,
                points: track
                    .points()
                    .map(|p| PointDoc {
                        time: meta.time_known.then(|| iso_time(meta, p.time)),
                        lat: p.lat,
                        lon: longitude_east(p.lon),
                        value: to_imilast_units(&meta.variable, p.value),
                    })
                    .collect(),
            };
            out.write_all(if track.index == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, &doc)?;
        }
        out.write_all(b"\n]}\n")
    }
}

/// Parses a document written by [`JsonWriter`]; values come back in stored
/// units. `calendar` overrides the document's.
pub fn read(text: &str, calendar: Option<Calendar>) -> Result<Tracks, ParseError> {
    let doc: Document = serde_json::from_str(text).map_err(|e| ParseError {
        line: e.line(),
        message: format!("not a stormtrack JSON document: {e}"),
    })?;
    let err = |message: String| ParseError { line: 1, message };
    let h = &doc.header;
    if h.format != FORMAT || h.version != VERSION {
        return Err(err(format!(
            "expected format '{FORMAT}' version {VERSION}, found '{}' version {}",
            h.format, h.version
        )));
    }
    let file_calendar: Calendar = h.calendar.parse().map_err(|e| err(format!("{e}")))?;
    let cal = calendar.unwrap_or(file_calendar);
    let mut meta = TrackMeta::new(&h.variable);
    meta.units = stored_units(&h.variable).or_else(|| h.units.clone());
    meta.calendar = cal;
    let mut tracks = Vec::with_capacity(doc.tracks.len());
    for t in &doc.tracks {
        let mut points = Vec::with_capacity(t.points.len());
        for p in &t.points {
            let time = match &p.time {
                Some(s) => super::csv::parse_time(s, Some(cal), &mut meta)
                    .map_err(|m| err(format!("track {}: {m}", t.id)))?,
                None => {
                    meta.time_known = false;
                    0
                }
            };
            points.push(Point {
                time,
                lat: p.lat,
                lon: p.lon,
                value: from_imilast_units(&h.variable, p.value),
            });
        }
        tracks.push(points);
    }
    Ok(Tracks::from_tracks(meta, tracks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::DateTime;

    fn sample() -> Tracks {
        let t0 = Calendar::Standard
            .instant(&DateTime::new(2025, 12, 1, 0))
            .unwrap();
        let mut meta = TrackMeta::new("msl");
        meta.units = Some("Pa".into());
        let p = |h: i64, lon: f64, value: f64| Point {
            time: t0 + h * 3600,
            lat: -85.0,
            lon,
            value,
        };
        Tracks::from_tracks(
            meta,
            vec![
                vec![p(0, 175.0, 99_587.125), p(6, 187.5, 99_595.062_5)],
                vec![p(0, 0.0, 1e5)],
            ],
        )
    }

    #[test]
    fn writes_the_documented_schema() {
        let mut out = Vec::new();
        JsonWriter.write(&sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"format\":\"stormtrack-tracks\",\"version\":1,\"variable\":\"msl\",\"units\":\"hPa\",\"calendar\":\"standard\",\"tracks\":[\n\
             {\"id\":1,\"points\":[{\"time\":\"2025-12-01T00:00:00Z\",\"lat\":-85.0,\"lon\":175.0,\"value\":995.87125},{\"time\":\"2025-12-01T06:00:00Z\",\"lat\":-85.0,\"lon\":-172.5,\"value\":995.950625}]},\n\
             {\"id\":2,\"points\":[{\"time\":\"2025-12-01T00:00:00Z\",\"lat\":-85.0,\"lon\":0.0,\"value\":1000.0}]}\n\
             ]}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["tracks"][1]["points"][0]["value"], 1000.0);
        let back = read(&text, None).unwrap();
        assert_eq!(back.times(), sample().times());
        assert_eq!(back.values(), sample().values());
    }

    #[test]
    fn empty_and_malformed_documents() {
        let mut out = Vec::new();
        JsonWriter
            .write(&Tracks::empty(TrackMeta::new("vo")), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(read(&text, None).unwrap().len(), 0);
        assert!(read("{}", None).is_err());
        assert!(read("[1,2]", None).is_err());
        let wrong = text.replace("stormtrack-tracks", "other");
        assert!(read(&wrong, None)
            .unwrap_err()
            .message
            .contains("expected format"));
    }
}
