//! Zarr stores: the bundled ERA5 stores and the small stores of
//! `tests/data/oracle/make_zarr_stores.py` (Zarr v2 and v3, sharded, packed,
//! renamed and flipped, one step per chunk with a missing chunk, 4-D) must
//! give PyStormTracker 0.5.0's bytes on the same store; `info` describes a
//! store; a damaged store or a wrong request gives one line on stderr.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{run, stderr, stormtrack};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn oracle(name: &str) -> PathBuf {
    root().join("tests/data/oracle").join(name)
}

const MSL_STORE: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.zarr";
const VO_STORE: &str = "data/era5_vo850_2025-2026_djf_2.5x2.5.zarr";
const DJF_REF: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";

/// Runs `stormtrack track INPUT ARGS... -q -o -` and returns its output.
fn track(input: &Path, args: &[&str]) -> Output {
    run(stormtrack()
        .arg("track")
        .arg(input)
        .args(args)
        .args(["-q", "-o", "-"]))
}

/// The tracks written for `input`; the run must succeed.
fn tracks(input: &Path, args: &[&str]) -> Vec<u8> {
    let o = track(input, args);
    assert!(o.status.success(), "{}: {}", input.display(), stderr(&o));
    o.stdout
}

fn assert_same(actual: &[u8], reference: &Path) {
    let expected = std::fs::read(reference).unwrap();
    if actual != expected.as_slice() {
        let a = String::from_utf8_lossy(actual);
        let e = String::from_utf8_lossy(&expected);
        let first = a.lines().zip(e.lines()).position(|(x, y)| x != y);
        panic!(
            "output differs from {} (lines {} vs {}); first differing line: {:?}",
            reference.display(),
            a.lines().count(),
            e.lines().count(),
            first.map(|i| (i + 1, a.lines().nth(i), e.lines().nth(i)))
        );
    }
}

/// Asserts a failed run with one error line holding every word of `words`.
fn assert_one_line_error(o: &Output, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(3), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("stormtrack: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "missing {w:?} in: {err}");
    }
    assert!(o.stdout.is_empty());
}

/// Copies a store (a directory tree) to `to`.
fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_store(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn era5_msl_store_matches_the_simple_reference_bytes() {
    let out = tracks(&root().join(MSL_STORE), &["--var", "msl"]);
    assert_same(&out, &root().join(DJF_REF));
}

#[test]
fn era5_vo850_store_in_max_mode_matches_pystormtracker() {
    let out = tracks(&root().join(VO_STORE), &["--var", "vo", "--mode", "max"]);
    assert_same(&out, &oracle("era5_vo850_djf_zarr.ref.txt"));
    // The length-1 level is squeezed; naming it selects the same field.
    let out = tracks(
        &root().join(VO_STORE),
        &["--var", "vo", "--mode", "max", "--level", "850"],
    );
    assert_same(&out, &oracle("era5_vo850_djf_zarr.ref.txt"));
}

#[test]
fn v3_sharded_zstd_consolidated_matches_pystormtracker() {
    let out = tracks(&oracle("msl_v3_sharded_zstd.zarr"), &["--var", "msl"]);
    assert_same(&out, &oracle("msl_v3_sharded_zstd.ref.txt"));
}

#[test]
fn v3_int16_packed_unconsolidated_matches_pystormtracker() {
    let store = oracle("msl_v3_int16_packed.zarr");
    // Each array's own zarr.json is read: the root has no consolidated metadata.
    let root_doc = std::fs::read_to_string(store.join("zarr.json")).unwrap();
    assert!(!root_doc.contains("consolidated_metadata"), "{root_doc}");
    let out = tracks(&store, &["--var", "msl"]);
    assert_same(&out, &oracle("msl_v3_int16_packed.ref.txt"));
}

#[test]
fn v2_lat_lon_signed_longitudes_ascending_latitudes_hours_since_1900_match_pystormtracker() {
    let out = tracks(&oracle("msl_v2_latlon.zarr"), &["--var", "slp"]);
    assert_same(&out, &oracle("msl_v2_latlon.ref.txt"));
}

#[test]
fn v2_one_step_per_chunk_with_a_missing_chunk_matches_pystormtracker() {
    let store = oracle("msl_v2_step_chunks.zarr");
    // The all-NaN chunk of step 7 was never written: it reads as the fill value.
    assert!(!store.join("msl/7.0.0").exists());
    assert!(store.join("msl/7.0.1").exists());
    let out = tracks(&store, &["--var", "msl"]);
    assert_same(&out, &oracle("msl_v2_step_chunks.ref.txt"));
}

#[test]
fn v3_4d_level_is_squeezed_or_selected_and_matches_pystormtracker() {
    let store = oracle("msl_v3_level.zarr");
    assert_same(
        &tracks(&store, &["--var", "msl"]),
        &oracle("msl_v3_level.ref.txt"),
    );
    assert_same(
        &tracks(&store, &["--var", "msl", "--level", "850"]),
        &oracle("msl_v3_level.ref.txt"),
    );
    let o = track(&store, &["--var", "msl", "--level", "500"]);
    assert_one_line_error(&o, &["--level 500", "pressure_level = 850"]);
}

#[test]
fn level_first_two_level_store_selects_850_as_the_one_level_store() {
    // Dimensions (pressure_level, valid_time, latitude, longitude): the
    // 850 hPa slot holds msl_v3_level.zarr's values.
    let store = oracle("msl_v2_two_levels.zarr");
    assert_same(
        &tracks(&store, &["--var", "msl", "--level", "850"]),
        &oracle("msl_v3_level.ref.txt"),
    );
    let o = track(&store, &["--var", "msl"]);
    assert_one_line_error(
        &o,
        &[
            "msl_v2_two_levels.zarr",
            "2 levels",
            "pressure_level: 500, 850",
            "--level",
        ],
    );
}

#[test]
fn serial_and_rayon_give_the_same_bytes() {
    for (store, args) in [
        (root().join(MSL_STORE), vec!["--var", "msl"]),
        (oracle("msl_v3_sharded_zstd.zarr"), vec!["--var", "msl"]),
        (
            oracle("msl_v2_two_levels.zarr"),
            vec!["--var", "msl", "--level", "850"],
        ),
    ] {
        let serial = tracks(&store, &[args.as_slice(), &["-b", "serial"]].concat());
        let rayon = tracks(
            &store,
            &[args.as_slice(), &["-b", "rayon", "-j", "2"]].concat(),
        );
        assert!(
            serial == rayon,
            "{}: serial and rayon differ",
            store.display()
        );
    }
}

fn info(args: &[&str]) -> String {
    let o = run(stormtrack().arg("info").args(args));
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn has_lines(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(
            text.lines().any(|l| l == *e),
            "missing line {e:?} in:\n{text}"
        );
    }
}

#[test]
fn info_describes_a_v2_store() {
    let out = info(&[MSL_STORE]);
    has_lines(
        &out,
        &[
            "file:        data/era5_msl_2025-2026_djf_2.5x2.5.zarr",
            "format:      Zarr v2",
            "variables:   6",
            "variable:    msl (guessed through the msl aliases; choose another with --var)",
            "coordinates: time=valid_time, latitude=latitude, longitude=longitude",
            "grid:        73 x 144 (rows x cols), 2.5 x 2.5 degrees, global",
            "time:        2025-12-01T00:00:00 to 2026-02-28T18:00:00",
            "steps:       360",
            "values:      float32 (not packed)",
            "chunking:    90 steps per chunk",
        ],
    );
    assert!(
        out.contains("  msl         float32  (valid_time=360, latitude=73, longitude=144)  [Pa]  Mean sea level pressure"),
        "{out}"
    );
}

#[test]
fn info_describes_v3_stores_and_their_packing() {
    let out = info(&["tests/data/oracle/msl_v3_int16_packed.zarr"]);
    has_lines(
        &out,
        &[
            "format:      Zarr v3",
            "values:      float64 (packed as int16 * 0.15777215711408166 (float64) + 99779.9375 (float64))",
            "chunking:    12 steps per chunk",
        ],
    );
    let out = info(&["tests/data/oracle/msl_v3_sharded_zstd.zarr", "--json"]);
    assert!(out.contains("\"format\": \"zarr-v3\""), "{out}");
    assert!(out.contains("\"kind\": \"zarr\""), "{out}");
    let out = info(&["tests/data/oracle/msl_v2_two_levels.zarr", "--level", "850"]);
    has_lines(&out, &["level:       pressure_level = 850"]);
}

#[test]
fn a_directory_that_is_not_a_store_keeps_the_directory_message() {
    let dir = tempfile::tempdir().unwrap();
    let o = track(dir.path(), &["--var", "msl"]);
    assert_one_line_error(
        &o,
        &["is a directory, not a data file; name a NetCDF or GRIB file"],
    );
}

#[test]
fn a_store_without_the_variable_lists_its_arrays() {
    let o = track(&root().join(MSL_STORE), &["--var", "t2m"]);
    assert_one_line_error(
        &o,
        &[
            "era5_msl_2025-2026_djf_2.5x2.5.zarr: no variable 't2m'",
            "msl(valid_time,latitude,longitude)",
            "--var",
        ],
    );
}

#[test]
fn a_corrupt_chunk_is_a_one_line_input_error() {
    let dir = tempfile::tempdir().unwrap();
    // A blosc chunk of the bundled v2 store, garbled in the middle.
    let v2 = dir.path().join("msl.zarr");
    copy_store(&root().join(MSL_STORE), &v2);
    let chunk = v2.join("msl/1.1.1");
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[20..40].fill(0xff);
    std::fs::write(&chunk, &bytes).unwrap();
    let o = track(&v2, &["--var", "msl"]);
    assert_one_line_error(
        &o,
        &[
            "msl.zarr",
            "'msl'",
            "steps 90..180",
            "chunk 'msl/1.1.1'",
            "damaged",
        ],
    );
    // Reading is lazy: steps before the damaged time chunk read fine.
    let first = tracks(&v2, &["--var", "msl", "--num", "90"]);
    let whole = tracks(&root().join(MSL_STORE), &["--var", "msl", "--num", "90"]);
    assert!(first == whole);
    // A truncated shard of a v3 store (its index is at the end).
    let v3 = dir.path().join("sharded.zarr");
    copy_store(&oracle("msl_v3_sharded_zstd.zarr"), &v3);
    let shard = v3.join("msl/c/0/0/0");
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
    let o = track(&v3, &["--var", "msl"]);
    assert_one_line_error(&o, &["sharded.zarr", "'msl'", "damaged"]);
    // Metadata that is not JSON.
    let bad = dir.path().join("bad.zarr");
    copy_store(&oracle("msl_v2_step_chunks.zarr"), &bad);
    std::fs::write(bad.join("msl/.zarray"), b"{\"shape\": [12,").unwrap();
    let o = track(&bad, &["--var", "msl"]);
    assert_one_line_error(&o, &["bad.zarr", "msl/.zarray", "not valid JSON"]);
}
