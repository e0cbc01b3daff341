//! What each fuzz target checks, for any input bytes.
//!
//! Shared by the libFuzzer targets (`fuzz_targets/*.rs`, nightly) and by the
//! corpus replay test `tests/fuzz_corpus.rs` (stable), which includes this
//! file by path. Every function must return normally for every input: a panic
//! is a bug in the library (or a property below that does not hold).
//!
//! Inputs are text (invalid UTF-8 is replaced), so that corpus files can be
//! read and edited by hand:
//! - `imilast_read`: an IMILAST file.
//! - `time_units`: line 1 a calendar name (anything that does not parse
//!   tries all six calendars), line 2 CF time units, further lines numbers to
//!   decode.
//! - `datetime`: a date and time as given to `--start`/`--end`.
//!
//! Except `classic_header`, whose inputs are binary classic NetCDF files
//! (usually a real header, cut or mutated): the header validation that
//! stands before libnetcdf.

use stormtrack::compare::{self, Side, Tolerance};
use stormtrack::output::imilast::{self, ImilastWriter};
use stormtrack::output::TrackWriter;
use stormtrack::time::{parse_datetime, Calendar, TimeUnits};

/// Every calendar, for inputs whose calendar line does not parse.
pub const CALENDARS: [Calendar; 6] = [
    Calendar::Standard,
    Calendar::ProlepticGregorian,
    Calendar::Julian,
    Calendar::NoLeap,
    Calendar::AllLeap,
    Calendar::Day360,
];

/// `imilast::read` never panics; what it accepts can be written and read
/// back with the same tracks and points, and agrees with itself under
/// `compare`.
pub fn imilast_read(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(mut tracks) = imilast::read(&text) else {
        return;
    };
    // A variable without unit conversion, so that values print as read.
    tracks.meta.variable = "x".into();
    let mut out = Vec::new();
    ImilastWriter
        .write(&tracks, &mut out)
        .expect("writing to memory");
    let again = imilast::read(std::str::from_utf8(&out).expect("the writer prints UTF-8"))
        .expect("the writer's output reads back");
    assert_eq!(again.len(), tracks.len());
    assert_eq!(again.num_points(), tracks.num_points());
    assert_eq!(again.times(), tracks.times());

    let side = Side::numbered(tracks);
    let tol = Tolerance {
        max_distance_km: 1.0,
        value_tol: 0.0,
        count_tol: 0,
        relink_tol: 0,
    };
    let report = compare::compare(&side, &side, &tol);
    assert!(report.passed(), "a file differs from itself: {report:?}");
    assert_eq!(report.matched, side.tracks.len());
}

/// `TimeUnits::parse`, `decode` and `Calendar` parsing never panic; a decoded
/// instant names a date of the calendar that converts back to it.
pub fn time_units(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let calendars = match lines.next().map(str::parse::<Calendar>) {
        Some(Ok(c)) => vec![c],
        _ => CALENDARS.to_vec(),
    };
    let units = lines.next().unwrap_or("");
    let values: Vec<f64> = lines.filter_map(|l| l.trim().parse().ok()).collect();
    for calendar in calendars {
        let Ok(u) = TimeUnits::parse(units, calendar) else {
            continue;
        };
        round_trip(calendar, u.epoch);
        for &v in &values {
            if let Some(t) = u.decode(v) {
                round_trip(calendar, t);
            }
        }
    }
}

/// `parse_datetime` never panics; a date a calendar accepts converts to an
/// instant and back to the same date.
pub fn datetime(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(dt) = parse_datetime(&text) else {
        return;
    };
    for calendar in CALENDARS {
        if let Ok(t) = calendar.instant(&dt) {
            assert_eq!(calendar.date(t), dt, "{calendar}: {text:?} -> {t}");
        }
    }
}

/// `date` then `instant` gives back `t`.
fn round_trip(calendar: Calendar, t: i64) {
    let d = calendar.date(t);
    assert_eq!(calendar.instant(&d), Ok(t), "{calendar}: {t} -> {d}");
}

/// `io::classic::validate` never panics, and when it accepts the bytes
/// libnetcdf opens them and lists their variables without crashing (it
/// trusts the header it is given; a crash here is a check the validator
/// lacks).
pub fn classic_header(data: &[u8]) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    if stormtrack::io::classic::validate(data).is_err() || !data.starts_with(b"CDF") {
        return;
    }
    let path = std::env::temp_dir().join(format!(
        "stormtrack-fuzz-{}-{}.nc",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, data).expect("writing a temporary file");
    let outcome = stormtrack::io::netcdf::inventory(&path);
    let _ = std::fs::remove_file(&path);
    // Refusing the file is fine; crashing or panicking is not.
    let _ = outcome;
}
