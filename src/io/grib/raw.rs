//! GRIB message headers read straight from the bytes, without ecCodes.
//!
//! ecCodes builds a handle of about a thousand accessors for every message it
//! reads, which costs more than decoding the values. The scan therefore reads
//! only what varies between the messages of one field from the raw octets:
//! the message length (section 0) and the validity time (GRIB 1 section 1;
//! GRIB 2 sections 1 and 4). Everything else (parameter, level, grid) is
//! identified by a *signature*: the header sections with the time octets
//! masked out. Messages with equal signatures share what ecCodes says about
//! parameter, level and grid, so ecCodes reads just one message per signature.
//!
//! Only time codings that are reproduced exactly are handled (steps in
//! hours, days, or 3, 6, 12 hours; GRIB 1 time range indicators 0, 1, 10,
//! 2 to 5; GRIB 2 product templates 4.0, 4.1, 4.8 and 4.11 with one time
//! range); anything else yields no validity time and the caller asks ecCodes.
//! Times are seconds since 1970-01-01 00:00 in the proleptic Gregorian
//! calendar, like ecCodes' validityDate and validityTime. Octet numbers in
//! comments are 1-based as in the WMO manual; indices are 0-based.

use crate::time::{Calendar, DateTime};

pub(super) fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 2)?;
    Some((usize::from(s[0]) << 8) | usize::from(s[1]))
}

pub(super) fn u24(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 3)?;
    Some((usize::from(s[0]) << 16) | (usize::from(s[1]) << 8) | usize::from(s[2]))
}

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// A GRIB "signed" integer of two octets: sign bit, then magnitude.
pub(super) fn sign_magnitude16(b: &[u8], at: usize) -> Option<i64> {
    let v = u16_at(b, at)? as i64;
    Some(if v & 0x8000 != 0 { -(v & 0x7fff) } else { v })
}

/// Total length of the message whose first 16 bytes are `head`; None when
/// they are not a GRIB indicator section this scanner handles (unknown
/// edition, or a GRIB 1 message in ECMWF's large-message encoding, whose
/// length field is scaled).
pub(super) fn message_length(head: &[u8]) -> Option<u64> {
    if head.len() < 16 || &head[..4] != b"GRIB" {
        return None;
    }
    match head[7] {
        1 => {
            let total = u24(head, 4)?;
            (total & 0x80_0000 == 0).then_some(total as u64)
        }
        2 => Some(u64::from_be_bytes(head[8..16].try_into().ok()?)),
        _ => None,
    }
}

/// Walks the sections of one message and checks that they end exactly at
/// its `7777`, so that corrupt section lengths never reach the decoder
/// (ecCodes would size arrays from them).
pub(super) fn check_structure(b: &[u8]) -> std::result::Result<(), String> {
    if b.len() < 16 || &b[..4] != b"GRIB" {
        return Err("it does not start with 'GRIB'".into());
    }
    let end = match b[7] {
        1 => walk_grib1(b)?,
        2 => walk_grib2(b)?,
        e => return Err(format!("unknown GRIB edition {e}")),
    };
    match end {
        Some(pos) if b.get(pos..pos + 4) == Some(b"7777") && pos + 4 == b.len() => Ok(()),
        Some(pos) => Err(format!(
            "its sections end at byte {pos} of {} where '7777' should be",
            b.len()
        )),
        None => Ok(()),
    }
}

/// End of the last section of a GRIB 1 message (None for the large-message
/// encoding whose lengths are scaled, which ecCodes checks itself).
fn walk_grib1(b: &[u8]) -> std::result::Result<Option<usize>, String> {
    let total = u24(b, 4).ok_or("short header")?;
    if total & 0x80_0000 != 0 {
        return Ok(None);
    }
    let bad = |what: &str| format!("its {what} length runs past the end of the message");
    let s1 = u24(b, 8).ok_or_else(|| bad("section 1"))?;
    let flags = *b.get(8 + 7).ok_or_else(|| bad("section 1"))?;
    let mut pos = 8 + s1;
    for (present, name) in [
        (flags & 0x80 != 0, "section 2"),
        (flags & 0x40 != 0, "section 3"),
        (true, "section 4"),
    ] {
        if present {
            let len = u24(b, pos).filter(|l| *l >= 3).ok_or_else(|| bad(name))?;
            pos += len;
            if pos > b.len() {
                return Err(bad(name));
            }
        }
    }
    Ok(Some(pos))
}

/// End of the last section of a GRIB 2 message.
fn walk_grib2(b: &[u8]) -> std::result::Result<Option<usize>, String> {
    let mut pos = 16;
    while b.get(pos..pos + 4) != Some(b"7777") {
        let len = u32_at(b, pos).ok_or("a section runs past the end of the message")?;
        let number = b.get(pos + 4).copied().unwrap_or(0);
        if len < 5 || !(1..=7).contains(&number) || pos + len > b.len() {
            return Err(format!(
                "section at byte {pos} has an invalid length {len} or number {number}"
            ));
        }
        pos += len;
    }
    Ok(Some(pos))
}

/// The sections of a GRIB 2 message, indexed by section number (1 to 7);
/// None for a message with a repeated section (several fields in one
/// message, which ecCodes reads differently) or a broken layout.
pub(super) fn grib2_sections(b: &[u8]) -> Option<[Option<&[u8]>; 8]> {
    let mut sections: [Option<&[u8]>; 8] = [None; 8];
    let mut pos = 16;
    while b.get(pos..pos + 4) != Some(b"7777") {
        let len = u32_at(b, pos)?;
        let number = usize::from(*b.get(pos + 4)?);
        if len < 5 || !(1..=7).contains(&number) || sections[number].is_some() {
            return None;
        }
        sections[number] = Some(b.get(pos..pos + len)?);
        pos += len;
    }
    Some(sections)
}

/// What the scan takes from a message's raw header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// Header bytes that identify parameter, level and grid (time masked out).
    pub signature: Vec<u8>,
    /// Validity time, when the message's time coding is one handled here.
    pub validity: Option<i64>,
}

/// The raw header of a structurally checked message; None for a layout not
/// handled here (the caller then asks ecCodes).
pub(super) fn header(b: &[u8]) -> Option<Header> {
    match *b.get(7)? {
        1 => grib1(b),
        2 => grib2(b),
        _ => None,
    }
}

/// `bytes` with the octets in the (start, end) ranges `masked` set to zero.
fn masked(bytes: &[u8], masked: &[(usize, usize)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(start, end) in masked {
        if let Some(s) = out.get_mut(start..end) {
            s.fill(0);
        }
    }
    out
}

fn instant(year: i64, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<i64> {
    Calendar::ProlepticGregorian
        .instant(&DateTime {
            year,
            month: month.into(),
            day: day.into(),
            hour: hour.into(),
            minute: minute.into(),
            second: second.into(),
        })
        .ok()
}

/// Seconds per unit of a time-unit code (GRIB 1 table 4 and GRIB 2 code
/// table 4.4 agree on these); None for units not handled here.
fn unit_seconds(code: u8) -> Option<i64> {
    match code {
        1 => Some(3_600),
        2 => Some(86_400),
        10 => Some(3 * 3_600),
        11 => Some(6 * 3_600),
        12 => Some(12 * 3_600),
        _ => None,
    }
}

/// ecCodes reports validity to the minute (validityTime is hhmm).
fn whole_minute(t: i64) -> Option<i64> {
    (t % 60 == 0).then_some(t)
}

/// The GRIB 1 section 1 keys the scan reads (ecCodes key names in comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Grib1Keys {
    pub table2_version: u8,             // table2Version (octet 4)
    pub centre: u8,                     // centre (5)
    pub indicator_of_parameter: u8,     // indicatorOfParameter (9)
    pub indicator_of_type_of_level: u8, // indicatorOfTypeOfLevel (10)
    pub level: u16,                     // octets 11-12 (level, or top and bottom of a layer)
    pub year: i64,                      // dataDate, from yearOfCentury (13) and century (25)
    pub month: u8,                      // 14
    pub day: u8,                        // 15
    pub hour: u8,                       // 16
    pub minute: u8,                     // 17
    pub unit_of_time_range: u8,         // unitOfTimeRange (18)
    pub p1: u8,                         // P1 (19)
    pub p2: u8,                         // P2 (20)
    pub time_range_indicator: u8,       // timeRangeIndicator (21)
}

impl Grib1Keys {
    pub fn of(s1: &[u8]) -> Option<Grib1Keys> {
        if s1.len() < 28 {
            return None;
        }
        Some(Grib1Keys {
            table2_version: s1[3],
            centre: s1[4],
            indicator_of_parameter: s1[8],
            indicator_of_type_of_level: s1[9],
            level: u16_at(s1, 10)? as u16,
            // Year 2000 is year 100 of the 20th century.
            year: (i64::from(s1[24]) - 1) * 100 + i64::from(s1[12]),
            month: s1[13],
            day: s1[14],
            hour: s1[15],
            minute: s1[16],
            unit_of_time_range: s1[17],
            p1: s1[18],
            p2: s1[19],
            time_range_indicator: s1[20],
        })
    }

    /// Validity time, when the time range indicator is one handled here.
    pub fn validity(&self) -> Option<i64> {
        let reference = instant(self.year, self.month, self.day, self.hour, self.minute, 0)?;
        let (p1, p2) = (i64::from(self.p1), i64::from(self.p2));
        let step = match self.time_range_indicator {
            0 => p1,
            1 if p1 == 0 => 0,
            10 => (p1 << 8) | p2,
            2..=5 => p2,
            _ => return None,
        };
        whole_minute(reference + step * unit_seconds(self.unit_of_time_range)?)
    }
}

fn grib1(b: &[u8]) -> Option<Header> {
    let s1 = b.get(8..8 + u24(b, 8)?)?;
    let keys = Grib1Keys::of(s1)?;
    let gds: &[u8] = if s1[7] & 0x80 != 0 {
        let at = 8 + s1.len();
        b.get(at..at + u24(b, at)?)?
    } else {
        &[]
    };
    // Octets 13-17: reference date and time; 19-20: P1, P2; 25: century.
    let mut signature = vec![1];
    signature.extend(masked(s1, &[(12, 17), (18, 20), (24, 25)]));
    signature.extend(gds);
    Some(Header {
        signature,
        validity: keys.validity(),
    })
}

/// The GRIB 2 section 1 and 4 keys the scan reads (ecCodes key names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Grib2Keys {
    /// year, month, day, hour, minute, second (section 1 octets 13-19).
    pub reference: [i64; 6],
    pub product_definition_template_number: u16,
    pub parameter_category: u8,
    pub parameter_number: u8,
    pub indicator_of_unit_of_time_range: u8,
    /// forecastTime (octets 19-22; sign and magnitude).
    pub forecast_time: i64,
    pub type_of_first_fixed_surface: u8,
    pub scale_factor_of_first_fixed_surface: u8,
    pub scaled_value_of_first_fixed_surface: u32,
    /// Templates 4.8 and 4.11 only.
    pub interval: Option<Interval>,
}

/// The statistical time range of product templates 4.8 and 4.11.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Interval {
    /// yearOfEndOfOverallTimeInterval ... secondOfEndOfOverallTimeInterval.
    pub end: [i64; 6],
    pub number_of_time_range: u8,
    pub indicator_of_unit_for_time_range: u8,
    pub length_of_time_range: u32,
}

impl Grib2Keys {
    pub fn of(s1: &[u8], s4: &[u8]) -> Option<Grib2Keys> {
        if s1.len() < 21 || s4.len() < 34 {
            return None;
        }
        let template = u16_at(s4, 7)? as u16;
        let forecast = u32_at(s4, 18)? as i64;
        let interval = match interval_end_at(template) {
            Some(e) if s4.len() >= e + 19 => Some(Interval {
                end: date_at(s4, e)?,
                number_of_time_range: s4[e + 7],
                indicator_of_unit_for_time_range: s4[e + 14],
                length_of_time_range: u32_at(s4, e + 15)? as u32,
            }),
            Some(_) => return None,
            None => None,
        };
        Some(Grib2Keys {
            reference: date_at(s1, 12)?,
            product_definition_template_number: template,
            parameter_category: s4[9],
            parameter_number: s4[10],
            indicator_of_unit_of_time_range: s4[17],
            forecast_time: if forecast & 0x8000_0000 != 0 {
                -(forecast & 0x7fff_ffff)
            } else {
                forecast
            },
            type_of_first_fixed_surface: s4[22],
            scale_factor_of_first_fixed_surface: s4[23],
            scaled_value_of_first_fixed_surface: u32_at(s4, 24)? as u32,
            interval,
        })
    }

    /// Validity time, when the product template is one handled here.
    pub fn validity(&self) -> Option<i64> {
        if self.forecast_time < 0 {
            return None;
        }
        let start = at(&self.reference)?
            + self.forecast_time * unit_seconds(self.indicator_of_unit_of_time_range)?;
        match (self.product_definition_template_number, &self.interval) {
            (0 | 1, _) => whole_minute(start),
            (_, Some(i)) if i.number_of_time_range == 1 => {
                // One time range that ends where the template says it does.
                let length = i64::from(i.length_of_time_range);
                let end = start + length * unit_seconds(i.indicator_of_unit_for_time_range)?;
                (Some(end) == at(&i.end))
                    .then_some(end)
                    .and_then(whole_minute)
            }
            _ => None,
        }
    }
}

/// A date of 7 octets: year (2), month, day, hour, minute, second.
fn date_at(b: &[u8], i: usize) -> Option<[i64; 6]> {
    let d = b.get(i..i + 7)?;
    Some([
        u16_at(d, 0)? as i64,
        d[2].into(),
        d[3].into(),
        d[4].into(),
        d[5].into(),
        d[6].into(),
    ])
}

fn at(d: &[i64; 6]) -> Option<i64> {
    let small = |v: i64| u8::try_from(v).ok();
    instant(
        d[0],
        small(d[1])?,
        small(d[2])?,
        small(d[3])?,
        small(d[4])?,
        small(d[5])?,
    )
}

fn grib2(b: &[u8]) -> Option<Header> {
    let sections = grib2_sections(b)?;
    let (s1, s4) = (sections[1]?, sections[4]?);
    let keys = Grib2Keys::of(s1, s4)?;
    // Section 1 octets 13-19: reference time; section 4 octets 19-22:
    // forecast time; templates 4.8 and 4.11: end of the overall interval.
    let mut s4_mask = vec![(18, 22)];
    if let Some(end) = interval_end_at(keys.product_definition_template_number) {
        s4_mask.push((end, end + 7));
    }
    let mut signature = vec![2, b[6]];
    signature.extend(masked(s1, &[(12, 19)]));
    for s in [sections[2], sections[3]].into_iter().flatten() {
        signature.extend(s);
    }
    signature.extend(masked(s4, &s4_mask));
    Some(Header {
        signature,
        validity: keys.validity(),
    })
}

/// Where the end of the overall time interval starts in section 4 of the
/// statistical product templates handled here.
fn interval_end_at(template: u16) -> Option<usize> {
    match template {
        8 => Some(34),
        11 => Some(37),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRIB 2 skeleton: indicator, sections of the given (number, length), 7777.
    fn grib2(sections: &[(u8, u32)]) -> Vec<u8> {
        let mut body = Vec::new();
        for &(number, len) in sections {
            body.extend(len.to_be_bytes());
            body.push(number);
            body.extend(vec![0u8; len.saturating_sub(5) as usize]);
        }
        let total = (16 + body.len() + 4) as u64;
        let mut b = b"GRIB\0\0\0\x02".to_vec();
        b.extend(total.to_be_bytes());
        b.extend(body);
        b.extend(b"7777");
        b
    }

    #[test]
    fn grib2_structure() {
        let good = grib2(&[(1, 21), (3, 72), (4, 34), (5, 21), (6, 6), (7, 100)]);
        assert_eq!(check_structure(&good), Ok(()));
        assert_eq!(message_length(&good), Some(good.len() as u64));
        let mut bad = good.clone();
        // Section 4 claims 3 more bytes than it has: the walk misses 7777.
        bad[16 + 21 + 72 + 3] = 37;
        assert!(check_structure(&bad).is_err());
        let mut huge = good.clone();
        huge[16 + 21..16 + 21 + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let err = check_structure(&huge).unwrap_err();
        assert!(err.contains("invalid length"), "{err}");
        assert!(check_structure(b"GRIB\0\0\0\x03xxxxxxxx7777").is_err());
        assert!(check_structure(b"GRIX").is_err());
    }

    #[test]
    fn grib2_repeated_sections_are_left_to_eccodes() {
        let single = grib2(&[(1, 21), (3, 72), (4, 34), (5, 21), (6, 6), (7, 100)]);
        assert!(grib2_sections(&single).is_some());
        let multi = grib2(&[
            (1, 21),
            (3, 72),
            (4, 34),
            (5, 21),
            (6, 6),
            (7, 100),
            (4, 34),
            (5, 21),
            (6, 6),
            (7, 100),
        ]);
        assert_eq!(check_structure(&multi), Ok(()));
        assert!(grib2_sections(&multi).is_none());
        assert!(header(&multi).is_none());
    }

    #[test]
    fn grib1_structure_of_the_sample() {
        let bytes = std::fs::read("data/era5_msl_2025-2026_djf_2.5x2.5.grib").unwrap();
        let len = message_length(&bytes).unwrap() as usize;
        let msg = &bytes[..len];
        assert_eq!(check_structure(msg), Ok(()));
        let mut cut = msg.to_vec();
        cut.truncate(len - 10);
        assert!(check_structure(&cut).is_err());
        let mut large = msg.to_vec();
        large[4] |= 0x80;
        assert_eq!(message_length(&large), None);
    }

    /// Section 1 of a GRIB 1 message with the given time octets.
    fn grib1_s1(century: u8, yy: u8, mmddhh: [u8; 3], unit: u8, p: [u8; 2], tri: u8) -> Vec<u8> {
        let mut s1 = vec![0u8; 28];
        s1[2] = 28;
        s1[12] = yy;
        s1[13..16].copy_from_slice(&mmddhh);
        s1[17] = unit;
        s1[18..20].copy_from_slice(&p);
        s1[20] = tri;
        s1[24] = century;
        s1
    }

    fn at(y: i64, mo: u8, d: u8, h: u8) -> i64 {
        instant(y, mo, d, h, 0, 0).unwrap()
    }

    #[test]
    fn grib1_time_range_indicators() {
        let t =
            |unit, p, tri| Grib1Keys::of(&grib1_s1(21, 25, [12, 31, 18], unit, p, tri))?.validity();
        assert_eq!(t(1, [0, 0], 0), Some(at(2025, 12, 31, 18)));
        assert_eq!(t(1, [6, 0], 0), Some(at(2026, 1, 1, 0)));
        assert_eq!(t(2, [1, 0], 0), Some(at(2026, 1, 1, 18)));
        assert_eq!(t(11, [2, 0], 0), Some(at(2026, 1, 1, 6)));
        assert_eq!(t(1, [0, 0], 1), Some(at(2025, 12, 31, 18)));
        assert_eq!(t(1, [3, 0], 1), None, "analysis with a step");
        assert_eq!(t(1, [1, 2], 10), Some(at(2025, 12, 31, 18) + 258 * 3600));
        assert_eq!(t(1, [0, 12], 4), Some(at(2026, 1, 1, 6)));
        assert_eq!(t(1, [6, 12], 3), Some(at(2026, 1, 1, 6)));
        assert_eq!(t(1, [0, 12], 113), None, "unhandled indicator");
        assert_eq!(t(0, [30, 0], 0), None, "minutes are left to ecCodes");
        // Year 2000 is year 100 of the 20th century.
        let y2k = Grib1Keys::of(&grib1_s1(20, 100, [1, 1, 0], 1, [0, 0], 0))
            .unwrap()
            .validity();
        assert_eq!(y2k, Some(at(2000, 1, 1, 0)));
        let bad_date = Grib1Keys::of(&grib1_s1(21, 25, [2, 30, 0], 1, [0, 0], 0))
            .unwrap()
            .validity();
        assert_eq!(bad_date, None);
    }

    #[test]
    fn grib1_signature_ignores_time_only() {
        let a = grib1_s1(21, 25, [12, 1, 0], 1, [0, 0], 0);
        let b = grib1_s1(21, 26, [2, 28, 18], 1, [6, 0], 0);
        let c = grib1_s1(21, 25, [12, 1, 0], 1, [0, 0], 4);
        let msg = |s1: &[u8]| {
            let mut m = b"GRIB\0\0\0\x01".to_vec();
            m.extend(s1);
            m
        };
        let (ha, hb, hc) = (
            header(&msg(&a)).unwrap(),
            header(&msg(&b)).unwrap(),
            header(&msg(&c)).unwrap(),
        );
        assert_eq!(ha.signature, hb.signature);
        assert_ne!(ha.signature, hc.signature);
        assert_ne!(ha.validity, hb.validity);
    }
}
