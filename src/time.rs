//! Calendars and time coordinates.
//!
//! A time step is stored as whole seconds since `1970-01-01T00:00:00` *in the
//! calendar of its file* ([`Instant`]). Differences between instants are
//! therefore true elapsed seconds in every CF calendar, which is all the linker
//! needs, and [`Calendar::date`] turns an instant back into the calendar's own
//! date for output (a `360_day` file prints 2000-02-30 where it has one).
//!
//! Supported calendars (CF-1.11 §4.4.1): `standard`/`gregorian` (Julian before
//! 1582-10-15, Gregorian after), `proleptic_gregorian`, `julian`,
//! `noleap`/`365_day`, `all_leap`/`366_day` and `360_day`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Seconds since 1970-01-01T00:00:00 in a file's own calendar.
pub type Instant = i64;

const SECONDS_PER_DAY: i64 = 86_400;

/// A CF calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Calendar {
    /// Mixed Julian/Gregorian calendar, the CF default.
    Standard,
    ProlepticGregorian,
    Julian,
    NoLeap,
    AllLeap,
    Day360,
}

/// A calendar date and time of day, as printed in track files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Errors parsing times and time units.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimeError {
    #[error("unknown calendar '{0}' (expected standard, gregorian, proleptic_gregorian, julian, noleap, 365_day, all_leap, 366_day or 360_day)")]
    UnknownCalendar(String),
    #[error("cannot read time units '{0}': expected 'UNITS since DATE', e.g. 'hours since 1900-01-01 00:00:00'")]
    BadUnits(String),
    #[error("time unit '{0}' is not supported: use days, hours, minutes or seconds")]
    UnsupportedUnit(String),
    #[error(
        "cannot read '{0}' as a date and time: use ISO 8601, e.g. 2025-12-01 or 2025-12-01T06:00"
    )]
    BadDate(String),
    #[error("date '{0}' does not exist in the {1} calendar")]
    NoSuchDate(String, Calendar),
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Calendar::Standard => "standard",
            Calendar::ProlepticGregorian => "proleptic_gregorian",
            Calendar::Julian => "julian",
            Calendar::NoLeap => "noleap",
            Calendar::AllLeap => "all_leap",
            Calendar::Day360 => "360_day",
        })
    }
}

impl FromStr for Calendar {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" | "" => Ok(Calendar::Standard),
            "proleptic_gregorian" => Ok(Calendar::ProlepticGregorian),
            "julian" => Ok(Calendar::Julian),
            "noleap" | "365_day" => Ok(Calendar::NoLeap),
            "all_leap" | "366_day" => Ok(Calendar::AllLeap),
            "360_day" => Ok(Calendar::Day360),
            other => Err(TimeError::UnknownCalendar(other.to_string())),
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl DateTime {
    pub fn new(year: i64, month: u32, day: u32, hour: u32) -> Self {
        DateTime {
            year,
            month,
            day,
            hour,
            minute: 0,
            second: 0,
        }
    }
}

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn gregorian_days(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = floor_div(y, 400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn gregorian_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = floor_div(z, 146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days from 1970-01-01 (Gregorian) of a Julian-calendar date.
fn julian_days(y: i64, m: u32, d: u32) -> i64 {
    let (y, m) = if m <= 2 {
        (y - 1, i64::from(m) + 12)
    } else {
        (y, i64::from(m))
    };
    // Julian day number, then shift to the Unix epoch (JDN 2440588).
    let jdn = floor_div(1461 * (y + 4716), 4) + floor_div(153 * (m + 1), 5) + i64::from(d) - 1524;
    jdn - 2_440_588
}

fn julian_from_days(days: i64) -> (i64, u32, u32) {
    let jdn = days + 2_440_588;
    let c = jdn + 32_082;
    let d = floor_div(4 * c + 3, 1461);
    let e = c - floor_div(1461 * d, 4);
    let m = floor_div(5 * e + 2, 153);
    let day = (e - floor_div(153 * m + 2, 5) + 1) as u32;
    let month = (m + 3 - 12 * floor_div(m, 10)) as u32;
    let year = d - 4800 + floor_div(m, 10);
    (year, month, day)
}

/// Largest year (either sign) [`Calendar::instant`] accepts: beyond every
/// [`Instant`] (about 2.9e11 years), small enough that no day count overflows.
const MAX_YEAR: i64 = 1_000_000_000_000;

/// First day of the Gregorian reform, 1582-10-15, as days from 1970-01-01.
const REFORM_DAY: i64 = -141_427;

fn is_gregorian_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const CUM_DAYS: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

impl Calendar {
    /// Number of days in `month` of `year`.
    pub fn days_in_month(self, year: i64, month: u32) -> u32 {
        const LEN: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        if self == Calendar::Day360 {
            return 30;
        }
        let leap = match self {
            Calendar::NoLeap => false,
            Calendar::AllLeap => true,
            Calendar::Julian => year % 4 == 0,
            Calendar::Standard if year < 1582 => year % 4 == 0,
            _ => is_gregorian_leap(year),
        };
        if month == 2 && leap {
            29
        } else {
            LEN[(month - 1) as usize]
        }
    }

    /// Days from 1970-01-01 of a date in this calendar.
    fn days(self, y: i64, m: u32, d: u32) -> i64 {
        match self {
            Calendar::ProlepticGregorian => gregorian_days(y, m, d),
            Calendar::Julian => julian_days(y, m, d),
            Calendar::Standard => {
                let g = gregorian_days(y, m, d);
                if g >= REFORM_DAY {
                    g
                } else {
                    julian_days(y, m, d)
                }
            }
            Calendar::NoLeap => (y - 1970) * 365 + CUM_DAYS[(m - 1) as usize] + i64::from(d) - 1,
            Calendar::AllLeap => {
                let leap_cum = CUM_DAYS[(m - 1) as usize] + i64::from(m > 2);
                (y - 1970) * 366 + leap_cum + i64::from(d) - 1
            }
            Calendar::Day360 => (y - 1970) * 360 + (i64::from(m) - 1) * 30 + i64::from(d) - 1,
        }
    }

    fn ymd_of_days(self, days: i64) -> (i64, u32, u32) {
        match self {
            Calendar::ProlepticGregorian => gregorian_from_days(days),
            Calendar::Julian => julian_from_days(days),
            Calendar::Standard => {
                if days >= REFORM_DAY {
                    gregorian_from_days(days)
                } else {
                    julian_from_days(days)
                }
            }
            Calendar::NoLeap | Calendar::AllLeap => {
                let len = if self == Calendar::NoLeap { 365 } else { 366 };
                let y = 1970 + floor_div(days, len);
                let mut doy = days.rem_euclid(len);
                let mut m = 1;
                while doy >= i64::from(self.days_in_month(y, m)) {
                    doy -= i64::from(self.days_in_month(y, m));
                    m += 1;
                }
                (y, m, doy as u32 + 1)
            }
            Calendar::Day360 => {
                let y = 1970 + floor_div(days, 360);
                let doy = days.rem_euclid(360);
                (y, (doy / 30) as u32 + 1, (doy % 30) as u32 + 1)
            }
        }
    }

    /// The instant of a date in this calendar; fails for dates the calendar
    /// lacks (including 1582-10-05..14 in the mixed `standard` calendar, as
    /// cftime) and for dates too far from 1970 for an [`Instant`].
    pub fn instant(self, dt: &DateTime) -> Result<Instant, TimeError> {
        let in_reform_gap = self == Calendar::Standard
            && (dt.year, dt.month) == (1582, 10)
            && (5..15).contains(&dt.day);
        let valid = (1..=12).contains(&dt.month)
            && dt.day >= 1
            && dt.day <= self.days_in_month(dt.year, dt.month)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 60
            && !in_reform_gap
            && dt.year.abs() <= MAX_YEAR;
        if !valid {
            return Err(TimeError::NoSuchDate(dt.to_string(), self));
        }
        // i128: the day count of any year within MAX_YEAR fits an i64, but
        // its seconds may not.
        let days = i128::from(self.days(dt.year, dt.month, dt.day));
        let seconds = days * i128::from(SECONDS_PER_DAY)
            + i128::from(dt.hour) * 3600
            + i128::from(dt.minute) * 60
            + i128::from(dt.second);
        Instant::try_from(seconds).map_err(|_| TimeError::NoSuchDate(dt.to_string(), self))
    }

    /// The calendar date of an instant.
    pub fn date(self, t: Instant) -> DateTime {
        let days = floor_div(t, SECONDS_PER_DAY);
        let secs = t.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = self.ymd_of_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: ((secs % 3600) / 60) as u32,
            second: (secs % 60) as u32,
        }
    }
}

/// Parses an ISO 8601-like date and time: `2025-12-01`, `2025-12-01T06`,
/// `2025-12-01T06:30`, `2025-12-01 06:30:00.0`, optionally followed by `Z`,
/// `UTC` or a zero offset. Years may be negative or have fewer than 4 digits
/// (`1-1-1` as in `days since 1-1-1`).
pub fn parse_datetime(text: &str) -> Result<DateTime, TimeError> {
    parse_datetime_precision(text).map(|(dt, _)| dt)
}

/// The finest field a written date and time gives: `2025-12` is a month,
/// `2025-12-31` a day, `2025-12-31T18` an hour. The end of a period given to
/// a precision is the last instant of that period (`--end 2025-12-31` takes
/// 18Z of that day too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// A written date and time and how much of it was written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    /// Its first instant (unwritten fields are 1 or 0).
    pub start: DateTime,
    pub precision: Precision,
}

impl Period {
    /// Whether `dt` falls in this period (calendar-free: fields compared).
    pub fn contains(&self, dt: &DateTime) -> bool {
        let key = |d: &DateTime| {
            [
                d.year,
                d.month.into(),
                d.day.into(),
                d.hour.into(),
                d.minute.into(),
                d.second.into(),
            ]
        };
        let n = self.precision as usize + 1;
        key(dt)[..n] == key(&self.start)[..n]
    }

    /// The first instant after this period in `calendar`.
    pub fn end_exclusive(&self, calendar: Calendar) -> Result<Instant, TimeError> {
        let d = self.start;
        let first_of = |year: i64, month: u32| DateTime {
            year,
            month,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        };
        let seconds = match self.precision {
            Precision::Year => return calendar.instant(&first_of(d.year + 1, 1)),
            Precision::Month if d.month >= 12 => {
                return calendar.instant(&first_of(d.year + 1, 1));
            }
            Precision::Month => return calendar.instant(&first_of(d.year, d.month + 1)),
            Precision::Day => SECONDS_PER_DAY,
            Precision::Hour => 3600,
            Precision::Minute => 60,
            Precision::Second => 1,
        };
        let start = calendar.instant(&d)?;
        start
            .checked_add(seconds)
            .ok_or_else(|| TimeError::NoSuchDate(d.to_string(), calendar))
    }
}

/// [`parse_datetime`] with the precision the text was written to.
pub fn parse_datetime_precision(text: &str) -> Result<(DateTime, Precision), TimeError> {
    let bad = || TimeError::BadDate(text.to_string());
    let s = text.trim();
    let s = ["UTC", "Z", "+00:00", "+0000", "+00"]
        .iter()
        .find_map(|zone| strip_suffix_ignore_case(s, zone))
        .unwrap_or(s)
        .trim();
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let (neg, date) = match date.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date),
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let mut precision = Precision::Year;
    let mut next_field = |finer: Precision| -> Result<u32, TimeError> {
        match parts.next() {
            None => Ok(1),
            Some(p) => {
                precision = finer;
                p.parse().map_err(|_| bad())
            }
        }
    };
    let month = next_field(Precision::Month)?;
    let day = next_field(Precision::Day)?;
    if parts.next().is_some() {
        return Err(bad());
    }
    let mut hms = [0u32; 3];
    if !time.is_empty() {
        for (i, p) in time.split(':').enumerate() {
            precision = [Precision::Hour, Precision::Minute, Precision::Second]
                .get(i)
                .copied()
                .unwrap_or(Precision::Second);
            if i >= 3 {
                return Err(bad());
            }
            let p = if i == 2 {
                p.split('.').next().unwrap_or(p)
            } else {
                p
            };
            hms[i] = p.parse().map_err(|_| bad())?;
        }
    }
    let dt = DateTime {
        year: if neg { -year } else { year },
        month,
        day,
        hour: hms[0],
        minute: hms[1],
        second: hms[2],
    };
    Ok((dt, precision))
}

/// `s` without `suffix`, compared ignoring ASCII case.
fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(at) && s[at..].eq_ignore_ascii_case(suffix)).then(|| &s[..at])
}

/// Decoded CF time units, `UNITS since REFERENCE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeUnits {
    /// Seconds per unit.
    pub seconds: i64,
    /// The reference instant in the file's calendar.
    pub epoch: Instant,
}

impl TimeUnits {
    /// Parses `"hours since 1900-01-01 00:00:00.0"` in `calendar`.
    pub fn parse(units: &str, calendar: Calendar) -> Result<Self, TimeError> {
        // Only the unit is case-insensitive: the reference keeps its case
        // (`T` between date and time, a `UTC` or `Z` zone).
        let trimmed = units.trim();
        let at = trimmed
            .to_ascii_lowercase()
            .find(" since ")
            .ok_or_else(|| TimeError::BadUnits(units.to_string()))?;
        let (unit, reference) = (&trimmed[..at], &trimmed[at + " since ".len()..]);
        let seconds = match unit.trim().to_ascii_lowercase().as_str() {
            "days" | "day" | "d" => SECONDS_PER_DAY,
            "hours" | "hour" | "hr" | "hrs" | "h" => 3600,
            "minutes" | "minute" | "min" | "mins" => 60,
            "seconds" | "second" | "sec" | "secs" | "s" => 1,
            other => return Err(TimeError::UnsupportedUnit(other.to_string())),
        };
        let reference =
            parse_datetime(reference).map_err(|_| TimeError::BadUnits(units.to_string()))?;
        let epoch = calendar.instant(&reference)?;
        Ok(TimeUnits { seconds, epoch })
    }

    /// The instant of a time value, rounded to the nearest second.
    pub fn decode(&self, value: f64) -> Option<Instant> {
        if !value.is_finite() {
            return None;
        }
        let whole = value.trunc();
        let offset = if whole == value && whole.abs() < 9.0e15 {
            (whole as i64).checked_mul(self.seconds)?
        } else {
            let seconds = (value * self.seconds as f64).round();
            // `as` would saturate: a time beyond ±2.9e11 years is no time.
            if seconds.abs() >= 9.2e18 {
                return None;
            }
            seconds as i64
        };
        self.epoch.checked_add(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i64, m: u32, d: u32, h: u32) -> DateTime {
        DateTime::new(y, m, d, h)
    }

    #[test]
    fn gregorian_round_trip_and_epoch() {
        let c = Calendar::ProlepticGregorian;
        assert_eq!(c.instant(&dt(1970, 1, 1, 0)).unwrap(), 0);
        assert_eq!(c.instant(&dt(2025, 12, 1, 0)).unwrap(), 1_764_547_200);
        for t in [-5_000_000_000_i64, -86_401, 0, 951_782_400, 4_000_000_000] {
            assert_eq!(c.instant(&c.date(t)).unwrap(), t);
        }
    }

    #[test]
    fn times_beyond_the_range_of_instants_are_not_decoded() {
        let u = TimeUnits::parse("days since 2000-01-01", Calendar::Standard).unwrap();
        assert_eq!(u.decode(9.2e18), None);
        assert_eq!(u.decode(1.5e17), None, "1.5e17 days overflow the seconds");
        assert_eq!(u.decode(-1.0e300), None);
        assert!(u.decode(0.5).is_some());
    }

    #[test]
    fn references_with_zones_and_t_in_any_unit_case() {
        let c = Calendar::Standard;
        for units in [
            "seconds since 1970-01-01 00:00:00 UTC",
            "Seconds since 1970-01-01T00:00:00Z",
            "SECONDS SINCE 1970-01-01 00:00:00+00:00",
            "seconds since 1970-01-01T00:00:00.000000000",
            "seconds since 1970-01-01 00:00:00 utc",
            "seconds since 1970-01-01 00:00 +00",
        ] {
            let u = TimeUnits::parse(units, c).unwrap_or_else(|e| panic!("{units}: {e}"));
            assert_eq!(
                u,
                TimeUnits {
                    seconds: 1,
                    epoch: 0
                },
                "{units}"
            );
        }
    }

    #[test]
    fn hours_since_1900() {
        let u = TimeUnits::parse("hours since 1900-01-01 00:00:00.0", Calendar::Standard).unwrap();
        let t = u.decode(1_103_376.0).unwrap();
        assert_eq!(Calendar::Standard.date(t), dt(2025, 11, 15, 0));
    }

    #[test]
    fn standard_calendar_is_julian_before_reform() {
        let c = Calendar::Standard;
        let before = c.instant(&dt(1582, 10, 4, 0)).unwrap();
        let after = c.instant(&dt(1582, 10, 15, 0)).unwrap();
        assert_eq!(after - before, 86_400);
        // 1582-10-05..14 do not exist (cftime agrees); they used to alias 10-15..24.
        assert!(c.instant(&dt(1582, 10, 5, 0)).is_err());
        assert!(c.instant(&dt(1582, 10, 14, 23)).is_err());
        assert!(Calendar::ProlepticGregorian
            .instant(&dt(1582, 10, 10, 0))
            .is_ok());
        let u = TimeUnits::parse("days since 0001-01-01", c).unwrap();
        // 2000-01-01 is 730121 days after 0001-01-01 (Julian) in the mixed calendar.
        assert_eq!(c.date(u.decode(730_121.0).unwrap()), dt(2000, 1, 1, 0));
    }

    #[test]
    fn day360_has_february_30() {
        let c = Calendar::Day360;
        let u = TimeUnits::parse("days since 2000-01-01", c).unwrap();
        assert_eq!(c.date(u.decode(59.0).unwrap()), dt(2000, 2, 30, 0));
        assert_eq!(c.date(u.decode(360.0).unwrap()), dt(2001, 1, 1, 0));
    }

    #[test]
    fn noleap_and_all_leap() {
        let n = Calendar::NoLeap;
        let u = TimeUnits::parse("days since 2000-02-28", n).unwrap();
        assert_eq!(n.date(u.decode(1.0).unwrap()), dt(2000, 3, 1, 0));
        let a = Calendar::AllLeap;
        let u = TimeUnits::parse("days since 2001-02-28", a).unwrap();
        assert_eq!(a.date(u.decode(1.0).unwrap()), dt(2001, 2, 29, 0));
        assert!(n.instant(&dt(2000, 2, 29, 0)).is_err());
    }

    #[test]
    fn parses_cli_times() {
        assert_eq!(parse_datetime("2025-12-01").unwrap(), dt(2025, 12, 1, 0));
        assert_eq!(parse_datetime("2025-12-01T06").unwrap(), dt(2025, 12, 1, 6));
        let full = parse_datetime("2025-12-01 06:30:15.5Z").unwrap();
        assert_eq!((full.hour, full.minute, full.second), (6, 30, 15));
        assert!(parse_datetime("yesterday").is_err());
    }

    #[test]
    fn a_period_ends_with_its_last_instant() {
        let end = |text: &str, cal: Calendar| {
            let (start, precision) = parse_datetime_precision(text).unwrap();
            let period = Period { start, precision };
            cal.date(period.end_exclusive(cal).unwrap() - 1).to_string()
        };
        let std = Calendar::Standard;
        assert_eq!(end("2025-12-31", std), "2025-12-31T23:59:59");
        assert_eq!(end("2025-12-31T18", std), "2025-12-31T18:59:59");
        assert_eq!(end("2025-12-31 18:30", std), "2025-12-31T18:30:59");
        assert_eq!(end("2025-12-31T18:30:05Z", std), "2025-12-31T18:30:05");
        assert_eq!(end("2026-02", std), "2026-02-28T23:59:59");
        assert_eq!(end("2025-12", std), "2025-12-31T23:59:59");
        assert_eq!(end("2025", std), "2025-12-31T23:59:59");
        assert_eq!(end("2026-02", Calendar::Day360), "2026-02-30T23:59:59");
        let (start, precision) = parse_datetime_precision("2025-12-31").unwrap();
        let day = Period { start, precision };
        assert!(day.contains(&parse_datetime("2025-12-31T18").unwrap()));
        assert!(!day.contains(&parse_datetime("2026-01-01").unwrap()));
        assert!(parse_datetime("2025-12-01T06:00:00:00").is_err());
    }

    #[test]
    fn extreme_years_are_errors_not_overflows() {
        // Found by fuzzing: these overflowed (a panic in debug builds, a wrong
        // instant in release).
        for c in [Calendar::Standard, Calendar::NoLeap, Calendar::Day360] {
            assert!(c.instant(&dt(i64::MAX, 1, 1, 0)).is_err());
            assert!(c.instant(&dt(-MAX_YEAR - 1, 1, 1, 0)).is_err());
            assert!(c.instant(&dt(MAX_YEAR, 12, 31, 23)).is_err());
            for t in [i64::MAX, i64::MIN, i64::MIN + 1] {
                assert_eq!(c.instant(&c.date(t)), Ok(t), "{c} {t}");
            }
        }
        let big = parse_datetime("99999999999999999-01-01").unwrap();
        assert!(Calendar::Standard.instant(&big).is_err());
    }

    #[test]
    fn rejects_bad_units() {
        assert!(matches!(
            TimeUnits::parse("months since 2000-01-01", Calendar::Standard),
            Err(TimeError::UnsupportedUnit(_))
        ));
        assert!(matches!(
            TimeUnits::parse("hours", Calendar::Standard),
            Err(TimeError::BadUnits(_))
        ));
        assert!("bogus".parse::<Calendar>().is_err());
    }
}
