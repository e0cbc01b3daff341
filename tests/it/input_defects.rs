//! Regression tests of the input defects of issue 13: names that are not
//! UTF-8, inconsistent classic headers, grids larger than the machine,
//! packing attributes of the wrong type, longitudes out of order, inputs
//! that are not regular files, and the `STORMTRACK_*` switches. Every bad
//! input must give one `stormtrack: error:` line, the input exit code, no
//! panic or crash, and no output left behind.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{self, stderr, stormtrack, track, workdir, Field};

const GRIB: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";

/// One error line with `words`, exit `code`, no chatter, only `files` left.
fn assert_failed(o: &Output, code: i32, words: &[&str], dir: &Path, files: &[&str]) {
    // "HDF5-DIAG", not "HDF5": a damaged-signature message names NetCDF-4/HDF5.
    let noise = ["ECCODES ERROR", "HDF5-DIAG", "panicked", "RUST_BACKTRACE"];
    common::assert_one_error_line(o, code, words, &noise);
    common::assert_only_files(dir, files);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- 7. environment switches ------------------------------------------

#[test]
fn a_switch_with_a_value_neither_on_nor_off_is_a_usage_error() {
    for name in [
        "STORMTRACK_GRIB_ECCODES",
        "STORMTRACK_NETCDF_DIRECT",
        "STORMTRACK_ECCODES_LOG",
    ] {
        let (dir, out) = workdir();
        let o = common::run(
            stormtrack()
                .env(name, "maybe")
                .arg("track")
                .arg(root().join(GRIB))
                .args(["--var", "msl", "-q", "-o"])
                .arg(&out),
        );
        assert_failed(&o, 2, &[name, "maybe", "0/false/no/off"], dir.path(), &[]);
    }
}

#[test]
fn eccodes_log_off_values_keep_ecodes_quiet() {
    // A huge section 1 length makes ecCodes print its own error lines,
    // which only STORMTRACK_ECCODES_LOG=on may let through.
    let mut bytes = std::fs::read(root().join(GRIB)).unwrap();
    let len = |b: &[u8], at: usize| {
        (usize::from(b[at]) << 16) | (usize::from(b[at + 1]) << 8) | usize::from(b[at + 2])
    };
    let mut start = 0;
    for _ in 0..10 {
        start += len(&bytes, start + 4);
    }
    bytes[start + 8..start + 11].copy_from_slice(&[0xff, 0xff, 0xff]);
    for off in ["0", "false", "OFF", "no", ""] {
        let (dir, out) = workdir();
        let f = write(dir.path(), "bad.grib", &bytes);
        let o = common::run(
            stormtrack()
                .env("STORMTRACK_ECCODES_LOG", off)
                .arg("track")
                .arg(&f)
                .args(["--var", "msl", "-q", "-o"])
                .arg(&out),
        );
        assert_failed(
            &o,
            3,
            &["GRIB message 11 is corrupt"],
            dir.path(),
            &["bad.grib"],
        );
    }
}

#[test]
fn off_values_of_the_reader_switches_track_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    let nc = dir.path().join("in.nc");
    Field::moving_low(vec![0.0, 6.0, 12.0]).write(&nc);
    for (name, input) in [
        ("STORMTRACK_GRIB_ECCODES", root().join(GRIB)),
        ("STORMTRACK_NETCDF_DIRECT", nc.clone()),
    ] {
        let mut outputs = Vec::new();
        for value in [None, Some("0"), Some("False"), Some("off"), Some("1")] {
            let out = dir.path().join("out.txt");
            let mut cmd = stormtrack();
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
            let o = common::run(
                cmd.arg("track")
                    .arg(&input)
                    .args(["--var", "msl", "-q", "-o"])
                    .arg(&out),
            );
            assert!(o.status.success(), "{name}={value:?}: {}", stderr(&o));
            outputs.push(std::fs::read(&out).unwrap());
        }
        assert!(outputs.iter().all(|o| *o == outputs[0]), "{name}");
    }
}

// ---- 6. inputs that are not regular files; a damaged HDF5 signature ----

/// Runs `cmd`, killing it after 20 s (a blocked open never returns).
fn run_bounded(cmd: &mut std::process::Command) -> Output {
    let mut child = common::spawn(cmd);
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("still running after 20 s: {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn named_pipes_and_devices_are_refused_at_once() {
    let (dir, out) = workdir();
    let fifo = dir.path().join("pipe.nc");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (input, what) in [
        (fifo.as_path(), "is a named pipe, not a regular file"),
        (
            Path::new("/dev/null"),
            "is a character device, not a regular file",
        ),
    ] {
        let o = run_bounded(
            stormtrack()
                .arg("track")
                .arg(input)
                .args(["--var", "msl", "-q", "-o"])
                .arg(&out),
        );
        assert_failed(&o, 3, &[what, "seekable file"], dir.path(), &["pipe.nc"]);
        let o = run_bounded(stormtrack().arg("info").arg(input));
        assert_failed(&o, 3, &[what], dir.path(), &["pipe.nc"]);
    }
}

#[test]
fn a_damaged_hdf5_signature_is_not_called_grib() {
    let (dir, out) = workdir();
    // Its header mentions GRIB (in the history attribute).
    let good = std::fs::read(root().join("data/era5_msl_2025-2026_djf_2.5x2.5.nc")).unwrap();
    for (at, byte) in [(0, 0x88), (1, b'h'), (4, b'\n'), (7, b'\r')] {
        let mut bytes = good.clone();
        bytes[at] = byte;
        let f = write(dir.path(), "bad.nc", &bytes);
        let o = track(&f, "msl", &out, &[]);
        assert_failed(
            &o,
            3,
            &["bad.nc", "NetCDF-4 with a damaged signature", "re-download"],
            dir.path(),
            &["bad.nc"],
        );
        assert!(!stderr(&o).contains("GRIB"), "{at}: {}", stderr(&o));
    }
}

// ---- 5. longitudes out of order --------------------------------------

#[test]
fn longitudes_out_of_order_are_an_input_error() {
    let (dir, out) = workdir();
    let f = dir.path().join("lon.nc");
    let mut field = Field::moving_low(vec![0.0, 6.0]);
    field.lon.swap(10, 11); // ... 45, 55, 50, 60 ...
    field.write(&f);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "lon.nc",
            "longitude 'longitude' is not strictly increasing at index 11: 50 follows 55",
            "sort it",
        ],
        dir.path(),
        &["lon.nc"],
    );
}

#[test]
fn longitudes_rolled_across_the_meridian_still_track() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, rolled) = (dir.path().join("plain.nc"), dir.path().join("rolled.nc"));
    let field = Field::moving_low(vec![0.0, 6.0, 12.0]);
    field.write(&plain);
    // The same field with its columns rolled to start at 180E.
    let mut r = Field::moving_low(vec![0.0, 6.0, 12.0]);
    let cols = r.lon.len();
    r.lon.rotate_left(cols / 2);
    for row in r.values.chunks_mut(cols) {
        row.rotate_left(cols / 2);
    }
    r.write(&rolled);
    for f in [&plain, &rolled] {
        let out = dir.path().join("out.txt");
        let o = track(f, "msl", &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let info = common::run(stormtrack().arg("info").arg(f));
        assert!(
            String::from_utf8_lossy(&info.stdout).contains("global"),
            "{}",
            String::from_utf8_lossy(&info.stdout)
        );
    }
}

// ---- 4. packing attributes of the wrong type --------------------------

/// A NetCDF-4 int16 `msl` packed as `count * 1 + 100000` (a low of -3000
/// counts), with `attrs` setting its scale_factor and add_offset.
fn packed_file(path: &Path, attrs: impl Fn(&mut netcdf::VariableMut<'_>)) {
    let field = Field::moving_low(vec![0.0, 6.0, 12.0]);
    let _guard = common::file_lock();
    let mut f = netcdf::create(path).unwrap();
    f.add_dimension("time", 3).unwrap();
    f.add_dimension("latitude", field.lat.len()).unwrap();
    f.add_dimension("longitude", field.lon.len()).unwrap();
    let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
    t.put_attribute("units", "hours since 2000-01-01").unwrap();
    t.put_values(&[0.0, 6.0, 12.0], ..).unwrap();
    let mut la = f.add_variable::<f64>("latitude", &["latitude"]).unwrap();
    la.put_attribute("units", "degrees_north").unwrap();
    la.put_values(&field.lat, ..).unwrap();
    let mut lo = f.add_variable::<f64>("longitude", &["longitude"]).unwrap();
    lo.put_attribute("units", "degrees_east").unwrap();
    lo.put_values(&field.lon, ..).unwrap();
    let mut v = f
        .add_variable::<i16>("msl", &["time", "latitude", "longitude"])
        .unwrap();
    v.put_attribute("units", "Pa").unwrap();
    attrs(&mut v);
    let counts: Vec<i16> = field
        .values
        .iter()
        .map(|x| (f64::from(*x) - 101_000.0).round() as i16)
        .collect();
    v.put_values(&counts, ..).unwrap();
}

#[test]
fn a_numeric_string_scale_factor_is_decoded_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (good, text) = (dir.path().join("good.nc"), dir.path().join("text.nc"));
    packed_file(&good, |v| {
        v.put_attribute("scale_factor", 1.0f64).unwrap();
        v.put_attribute("add_offset", 101_000.0f64).unwrap();
    });
    packed_file(&text, |v| {
        v.put_attribute("scale_factor", "1.0").unwrap();
        v.put_attribute("add_offset", " 101000 ").unwrap();
    });
    let mut outputs = Vec::new();
    for f in [&good, &text] {
        let out = dir.path().join("out.txt");
        let o = track(f, "msl", &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push(std::fs::read_to_string(&out).unwrap());
        let info = common::run(stormtrack().arg("info").arg(f).args(["--var", "msl"]));
        let text = String::from_utf8_lossy(&info.stdout).into_owned();
        assert!(!text.contains("not packed"), "{text}");
        assert!(
            text.contains("packed as int16 * 1 (float64) + 101000"),
            "{text}"
        );
    }
    assert_eq!(outputs[0], outputs[1]);
    // Pressures of about 98000 Pa, not raw counts of about -3000.
    assert!(outputs[0].contains("980"), "{}", outputs[0]);
}

#[test]
fn packing_attributes_that_are_not_one_number_are_refused() {
    type Attrs = fn(&mut netcdf::VariableMut<'_>);
    let cases: [(&str, Attrs, &str); 4] = [
        (
            "scale_factor",
            |v| {
                v.put_attribute("scale_factor", vec![0.1f32, 0.2]).unwrap();
            },
            "an array of 2 values, not one number",
        ),
        (
            "add_offset",
            |v| {
                v.put_attribute("add_offset", vec![1.0f64, 2.0, 3.0])
                    .unwrap();
            },
            "an array of 3 values",
        ),
        (
            "scale_factor",
            |v| {
                v.put_attribute("scale_factor", "ten").unwrap();
            },
            "the text \"ten\", not a number",
        ),
        (
            "_FillValue",
            |v| {
                v.put_attribute("missing_value", "n/a").unwrap();
            },
            "not a number",
        ),
    ];
    for (name, attrs, what) in cases {
        let (dir, out) = workdir();
        let f = dir.path().join("bad.nc");
        packed_file(&f, attrs);
        let o = track(&f, "msl", &out, &[]);
        let name = if name == "_FillValue" {
            "missing_value"
        } else {
            name
        };
        assert_failed(
            &o,
            3,
            &[
                "bad.nc",
                &format!("attribute '{name}' of variable 'msl'"),
                what,
                "fix the attribute",
            ],
            dir.path(),
            &["bad.nc"],
        );
    }
}

// ---- 2. inconsistent classic headers ---------------------------------

/// The CDF-2 header of the issue: nvars 0x2a000004 and a name byte 0xf8
/// made libnetcdf segfault.
#[test]
fn a_fuzzed_cdf2_header_is_refused_not_a_segfault() {
    let (dir, out) = workdir();
    let f = dir.path().join("cdf2.nc");
    Field {
        classic: true,
        ..Field::moving_low(vec![0.0, 6.0])
    }
    .write(&f);
    // Rewrite as 64-bit offset with ncks-free means: netCDF itself.
    let cdf2 = dir.path().join("bad.nc");
    {
        let _guard = common::file_lock();
        let src = netcdf::open(&f).unwrap();
        let mut dst = netcdf::create_with(&cdf2, netcdf::Options::_64BIT_OFFSET).unwrap();
        for d in src.dimensions() {
            dst.add_dimension(&d.name(), d.len()).unwrap();
        }
        for v in src.variables() {
            let dims: Vec<String> = v.dimensions().iter().map(|d| d.name()).collect();
            let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
            dst.add_variable::<f64>(&v.name(), &dims).unwrap();
        }
    }
    std::fs::remove_file(&f).unwrap();
    let mut bytes = std::fs::read(&cdf2).unwrap();
    assert_eq!(&bytes[..4], b"CDF\x02");
    // The variable list follows the dimensions: find its tag (0x0B).
    let tag = bytes.windows(4).position(|w| w == [0, 0, 0, 0x0b]).unwrap();
    bytes[tag + 4] = 0x2a; // nvars 0x2a00000N
    bytes[tag + 12] = 0xf8; // first byte of the first variable's name
    std::fs::write(&cdf2, &bytes).unwrap();
    for cmd in ["track", "info"] {
        let o = if cmd == "track" {
            track(&cdf2, "msl", &out, &[])
        } else {
            common::run(stormtrack().arg("info").arg(&cdf2))
        };
        assert_failed(
            &o,
            3,
            &[
                "bad.nc",
                "classic NetCDF header is corrupt",
                "variables",
                "re-download",
            ],
            dir.path(),
            &["bad.nc"],
        );
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutates `iterations` copies of real classic files' headers (a few bytes
/// each, favouring counts, lengths and types) and runs `stormtrack info` on
/// each: it must succeed or fail with one input error, never crash.
fn mutate_classic_headers(seed: u64, iterations: usize) {
    let sources = [
        "data/era5_msl_2025120100_2.5x2.5.nc",
        "tests/data/oracle/msl_packed_nc3.nc",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed);
    for (k, src) in sources.iter().enumerate() {
        let good = std::fs::read(root().join(src)).unwrap();
        // The header ends where the first variable's data begins; mutate
        // the first 1 KiB, which holds all of it in these files.
        let head = good.len().min(1024);
        for i in 0..iterations / sources.len() {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(head);
                bytes[at] = match rng.below(4) {
                    0 => rng.next() as u8,
                    1 => 0xff,
                    2 => 0,
                    _ => bytes[at] ^ (1 << rng.below(8)),
                };
            }
            let f = dir.path().join(format!("m{k}_{i}.nc"));
            std::fs::write(&f, &bytes).unwrap();
            let o = common::run(stormtrack().arg("info").arg(&f));
            let code = o.status.code();
            let err = stderr(&o);
            assert!(
                matches!(code, Some(0 | 3)) && !err.contains("panicked"),
                "{src} mutation {i} (seed {seed}): {:?} {err}; kept at {}",
                o.status,
                {
                    let keep =
                        std::env::temp_dir().join(format!("classic_crash_{seed}_{k}_{i}.nc"));
                    std::fs::write(&keep, &bytes).unwrap();
                    keep.display().to_string()
                }
            );
            if code == Some(3) {
                assert_eq!(err.lines().count(), 1, "{src} mutation {i}: {err}");
            }
            std::fs::remove_file(&f).unwrap();
        }
    }
}

#[test]
fn mutated_classic_headers_never_crash() {
    mutate_classic_headers(0x5eed_2026, 200);
}

/// The long run (thousands of mutations): `cargo test --release --test it
/// input_defects::long_classic_mutation -- --ignored`.
#[test]
#[ignore]
fn long_classic_mutation() {
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    mutate_classic_headers(seed, 4000);
}

/// A NetCDF-4 grid declared far larger than the data written (40000 x 80000
/// points, no chunk stored): refused before any frame is allocated, also
/// under `ulimit -v` as in batch jobs (it used to abort with "memory
/// allocation of 12800000000 bytes failed", exit 134, or take 12 GB).
#[test]
fn a_grid_larger_than_memory_is_an_input_error_naming_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.nc");
    {
        let _guard = common::file_lock();
        let mut f = common::nc::create(&path).unwrap();
        let (nlat, nlon) = (40_000usize, 80_000usize);
        f.add_dimension("time", 1).unwrap();
        f.add_dimension("latitude", nlat).unwrap();
        f.add_dimension("longitude", nlon).unwrap();
        let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 2000-01-01").unwrap();
        t.put_values(&[0.0], ..).unwrap();
        let lat: Vec<f64> = (0..nlat)
            .map(|i| 90.0 - 180.0 * i as f64 / (nlat - 1) as f64)
            .collect();
        let lon: Vec<f64> = (0..nlon).map(|i| 360.0 * i as f64 / nlon as f64).collect();
        let mut v = f.add_variable::<f64>("latitude", &["latitude"]).unwrap();
        v.put_attribute("units", "degrees_north").unwrap();
        v.put_values(&lat, ..).unwrap();
        let mut v = f.add_variable::<f64>("longitude", &["longitude"]).unwrap();
        v.put_attribute("units", "degrees_east").unwrap();
        v.put_values(&lon, ..).unwrap();
        let mut v = f
            .add_variable::<f32>("msl", &["time", "latitude", "longitude"])
            .unwrap();
        v.set_chunking(&[1, 1000, 1000]).unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() < 10 << 20);
    let out = dir.path().join("out.txt");
    let o = common::run(std::process::Command::new("sh").arg("-c").arg(format!(
        "ulimit -v 4000000; exec '{}' track '{}' --var msl -q -o '{}'",
        env!("CARGO_BIN_EXE_stormtrack"),
        path.display(),
        out.display()
    )));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the grid of 'msl' is 40000 x 80000 points: one frame takes 12.8 GB"),
        "{err}"
    );
    assert!(!out.exists());
}
