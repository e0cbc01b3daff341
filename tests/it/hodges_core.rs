//! The Hodges tracker's core (`stormtrack::hodges`) against PyStormTracker
//! 0.5.0 itself: detection, linking and splicing over a whole season, and
//! detection and linking on golden files made by
//! `tests/data/hodges/make_oracle.py` from PyStormTracker's own functions.
//!
//! The season is tracked unfiltered (the spectral filter is not part of the
//! core), with a threshold: the reference's default of 0 Pa would find
//! nothing in unfiltered pressure.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use stormtrack::hodges::{self, detect_frame, HodgesConfig, Step};
use stormtrack::io::{self, VariableRequest};
use stormtrack::output::imilast::ImilastWriter;
use stormtrack::output::TrackWriter;
use stormtrack::tracks::TrackMeta;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gunzip(path: &Path) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// Detects every step of `var` in `path` and tracks them with `config`;
/// returns the IMILAST text and the time taken by linking and splicing.
fn track_file(path: &Path, var: &str, config: &HodgesConfig) -> (String, std::time::Duration) {
    let request = VariableRequest {
        name: var.to_string(),
        level: None,
    };
    let mut reader = io::open(path, &request).unwrap();
    let meta = reader.meta().clone();
    let frames = reader.read(0, meta.num_steps()).unwrap();
    let params = config.detect_params(&meta.variable);
    let steps: Vec<Step> = frames
        .iter()
        .zip(&meta.times)
        .map(|(f, &time)| Step {
            time,
            centres: detect_frame(f, &meta.grid, &params),
        })
        .collect();
    let t0 = Instant::now();
    let tracks = hodges::track(&steps, config).unwrap();
    let linking = t0.elapsed();
    let mut tm = TrackMeta::new(var);
    tm.calendar = meta.calendar;
    let store = hodges::to_tracks(&tracks, tm);
    let mut out = vec![];
    ImilastWriter.write(&store, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), linking)
}

/// Line-by-line equality, reporting the first difference.
fn assert_same_text(got: &str, want: &str) {
    if got == want {
        return;
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let first = g.iter().zip(&w).position(|(a, b)| a != b);
    panic!(
        "{} lines vs {} in the reference; first difference at line {:?}: {:?} vs {:?}",
        g.len(),
        w.len(),
        first.map(|i| i + 1),
        first.map(|i| g[i]),
        first.map(|i| w[i]),
    );
}

/// `stormtracker -i era5_msl_2025-2026_djf_2.5x2.5.nc -v msl -m min -a hodges
/// --no-filter -t 101000 -b serial`: 360 steps in 7 chunks, 3,715 tracks.
#[test]
fn unfiltered_season_matches_pystormtracker_bytes() {
    let config = HodgesConfig {
        filter: false,
        threshold: Some(101000.0),
        ..HodgesConfig::default()
    };
    let (got, linking) = track_file(
        &root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc"),
        "msl",
        &config,
    );
    eprintln!("hodges linking + splicing of the season: {linking:?}");
    let want = gunzip(
        &root()
            .join("tests/data/hodges/pst050_hodges_nofilter_t101000_era5_msl_djf.imilast.txt.gz"),
    );
    assert_same_text(&got, &want);
}
