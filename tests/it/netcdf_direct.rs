//! Direct chunk reads of NetCDF-4 variables (src/io/hdf5_chunks.rs) return
//! exactly the frames that reading through netCDF returns: bundled files and
//! files written here (float32, int16-packed, float64, big-endian, chunked in
//! time and in space, shuffle on and off, deflate levels 1 and 4, fletcher32,
//! unlimited time, a 4-D variable with a length-1 level, unallocated chunks,
//! a user block), read in aligned, single-step and misaligned blocks, on one
//! thread and in a two-thread pool; frames of chunks that hold whole frames,
//! decoded on use, also when used out of order on several threads. Storage
//! the direct path does not handle (szip, contiguous, blocks beyond a
//! variable's own extent) falls back to netCDF, and so do damaged chunks.

use crate::common;
use std::ffi::CString;
use std::ops::Range;
use std::path::Path;

use stormtrack::backend::{blocks, plan_blocks};
use stormtrack::field::{Frame, FrameSource};
use stormtrack::io::netcdf::NetcdfReader;
use stormtrack::io::{FieldReader, FileFormat, VariableRequest};

fn request(var: &str) -> VariableRequest {
    VariableRequest {
        name: var.into(),
        level: None,
    }
}

/// Every value of every frame as bits (f32 tagged apart from f64).
fn bits(frames: &[Frame]) -> Vec<u64> {
    let mut out = Vec::new();
    for f in frames {
        match f {
            Frame::F32(a) => out.extend(a.iter().map(|v| (1 << 40) | u64::from(v.to_bits()))),
            Frame::F64(a) => out.extend(a.iter().map(|v| v.to_bits())),
        }
    }
    out
}

/// Reads `schedule` with the direct path on or off, on this thread or in a
/// pool; returns the values and the number of blocks the direct path served.
fn read(
    path: &Path,
    var: &str,
    direct: bool,
    schedule: &[Range<usize>],
    pool: Option<&rayon::ThreadPool>,
) -> (Vec<u64>, usize) {
    let mut r = NetcdfReader::open_with(path, FileFormat::Netcdf4, &request(var), direct).unwrap();
    let mut values = Vec::new();
    for b in schedule {
        let frames = match pool {
            Some(p) => p.install(|| r.read(b.start, b.len())),
            None => r.read(b.start, b.len()),
        }
        .unwrap();
        assert_eq!(frames.len(), b.len());
        values.extend(bits(&frames));
    }
    assert_eq!(
        r.direct_fallbacks(),
        0,
        "{}: direct reads failed",
        path.display()
    );
    (values, r.direct_stats().0)
}

/// How many blocks the direct path is expected to serve.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    All,
    None,
    /// Blocks ending at or before this step.
    UpTo(usize),
}

/// Asserts that the direct path gives netCDF's values for several block
/// schedules, and serves the expected blocks.
fn check(path: &Path, var: &str, expect: Expect) {
    let probe = NetcdfReader::open_with(path, FileFormat::Netcdf4, &request(var), false).unwrap();
    let n = probe.meta().num_steps();
    let schedules: Vec<Vec<Range<usize>>> = vec![
        plan_blocks(&probe, 0..n),
        blocks(0..n, 1).collect(),
        blocks(1..n, 3).collect(),
        vec![0..n],
    ];
    drop(probe);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for schedule in &schedules {
        let (want, none) = read(path, var, false, schedule, None);
        assert_eq!(none, 0);
        for p in [None, Some(&pool)] {
            let (got, served) = read(path, var, true, schedule, p);
            assert!(
                got == want,
                "{}: direct values differ from netCDF's for blocks {schedule:?} (pool: {})",
                path.display(),
                p.is_some()
            );
            let expected = match expect {
                Expect::All => schedule.len(),
                Expect::None => 0,
                Expect::UpTo(s) => schedule.iter().filter(|b| b.end <= s).count(),
            };
            assert_eq!(
                served,
                expected,
                "{}: blocks served directly for {schedule:?}",
                path.display()
            );
        }
    }
}

#[test]
fn bundled_netcdf4_files_read_identically() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, var) in [
        ("data/era5_msl_2025-2026_djf_2.5x2.5.nc", "msl"),
        ("tests/data/oracle/msl_packed_f32.nc", "msl"),
        ("tests/data/oracle/msl_packed_f32_f64coords.nc", "msl"),
        ("tests/data/oracle/msl_regional.nc", "msl"),
        ("tests/data/oracle/slp_alias.nc", "slp"),
        ("tests/data/oracle/vo850_4d.nc", "vo"),
    ] {
        check(&root.join(file), var, Expect::All);
    }
}

/// How the test variable is stored.
#[derive(Debug, Clone)]
struct Spec {
    packed: bool,
    double: bool,
    chunks: Vec<usize>,
    shuffle: bool,
    deflate: Option<i32>,
    unlimited: bool,
    level: bool,
    big_endian: bool,
    /// Store (time, longitude, latitude) instead of (time, latitude, longitude).
    lon_first: bool,
    /// `(step, lat range, lon range)` written; everything when empty.
    writes: Vec<(usize, Range<usize>, Range<usize>)>,
}

const STEPS: usize = 10;
const NLAT: usize = 19;
const NLON: usize = 36;

impl Spec {
    fn new(chunks: &[usize]) -> Self {
        Spec {
            packed: false,
            double: false,
            chunks: chunks.to_vec(),
            shuffle: true,
            deflate: Some(1),
            unlimited: false,
            level: false,
            big_endian: false,
            lon_first: false,
            writes: Vec::new(),
        }
    }
}

/// A field with structure and noise in every byte, and a few missing points.
fn value(t: usize, i: usize, j: usize) -> f64 {
    if (t * 7 + i * 3 + j).is_multiple_of(97) {
        return f64::NAN;
    }
    let lat = (90.0 - 10.0 * i as f64).to_radians();
    let lon = (10.0 * j as f64).to_radians() + 0.3 * t as f64;
    let noise = ((t * 7919 + i * 104_729 + j * 1_299_709) % 1000) as f64 / 7.0;
    100_000.0 + 2_000.0 * lat.sin() * lon.cos() + noise
}

fn write_spec(path: &Path, spec: &Spec) {
    let _guard = common::file_lock();
    let mut f = crate::common::nc::create_with(path, netcdf::Options::NETCDF4).unwrap();
    if spec.unlimited {
        f.add_unlimited_dimension("time").unwrap();
    } else {
        f.add_dimension("time", STEPS).unwrap();
    }
    let mut dims = vec!["time"];
    if spec.level {
        f.add_dimension("level", 1).unwrap();
        let mut v = f.add_variable::<f64>("level", &["level"]).unwrap();
        v.put_attribute("units", "hPa").unwrap();
        dims.push("level");
    }
    f.add_dimension("latitude", NLAT).unwrap();
    f.add_dimension("longitude", NLON).unwrap();
    if spec.lon_first {
        dims.extend(["longitude", "latitude"]);
    } else {
        dims.extend(["latitude", "longitude"]);
    }
    let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
    t.put_attribute("units", "hours since 2000-01-01 00:00:00")
        .unwrap();
    let mut la = f.add_variable::<f64>("latitude", &["latitude"]).unwrap();
    la.put_attribute("units", "degrees_north").unwrap();
    let mut lo = f.add_variable::<f64>("longitude", &["longitude"]).unwrap();
    lo.put_attribute("units", "degrees_east").unwrap();
    {
        let mut v = if spec.packed {
            f.add_variable::<i16>("msl", &dims).unwrap()
        } else if spec.double {
            f.add_variable::<f64>("msl", &dims).unwrap()
        } else {
            f.add_variable::<f32>("msl", &dims).unwrap()
        };
        v.set_chunking(&spec.chunks).unwrap();
        if let Some(level) = spec.deflate {
            v.set_compression(level, spec.shuffle).unwrap();
        }
        if spec.big_endian {
            v.set_endianness(netcdf::Endianness::Big).unwrap();
        }
        if spec.packed {
            v.set_fill_value(-32767i16).unwrap();
            v.put_attribute("scale_factor", 0.25f32).unwrap();
            v.put_attribute("add_offset", 100_000f32).unwrap();
        } else if spec.double {
            v.set_fill_value(-9999.0f64).unwrap();
        } else {
            v.set_fill_value(-9999.0f32).unwrap();
        }
        v.put_attribute("units", "Pa").unwrap();
    }
    f.variable_mut("latitude")
        .unwrap()
        .put_values(
            &(0..NLAT)
                .map(|i| 90.0 - 10.0 * i as f64)
                .collect::<Vec<_>>(),
            ..,
        )
        .unwrap();
    f.variable_mut("longitude")
        .unwrap()
        .put_values(&(0..NLON).map(|j| 10.0 * j as f64).collect::<Vec<_>>(), ..)
        .unwrap();
    f.variable_mut("time")
        .unwrap()
        .put_values(
            &(0..STEPS).map(|t| 6.0 * t as f64).collect::<Vec<_>>(),
            0..STEPS,
        )
        .unwrap();
    if spec.level {
        f.variable_mut("level")
            .unwrap()
            .put_values(&[850.0], ..)
            .unwrap();
    }
    let writes = if spec.writes.is_empty() {
        (0..STEPS).map(|t| (t, 0..NLAT, 0..NLON)).collect()
    } else {
        spec.writes.clone()
    };
    let mut v = f.variable_mut("msl").unwrap();
    for (t, lat, lon) in writes {
        let vals: Vec<f64> = if spec.lon_first {
            lon.clone()
                .flat_map(|j| lat.clone().map(move |i| value(t, i, j)))
                .collect()
        } else {
            lat.clone()
                .flat_map(|i| lon.clone().map(move |j| value(t, i, j)))
                .collect()
        };
        let mut ext = Vec::with_capacity(4);
        ext.push(t..t + 1);
        if spec.level {
            ext.push(0..1);
        }
        if spec.lon_first {
            ext.extend([lon, lat]);
        } else {
            ext.extend([lat, lon]);
        }
        if spec.packed {
            let raw: Vec<i16> = vals
                .iter()
                .map(|&x| {
                    if x.is_nan() {
                        -32767
                    } else {
                        ((x - 100_000.0) / 0.25).round() as i16
                    }
                })
                .collect();
            v.put_values(&raw, ext.as_slice()).unwrap();
        } else if spec.double {
            let raw: Vec<f64> = vals
                .iter()
                .map(|&x| if x.is_nan() { -9999.0 } else { x })
                .collect();
            v.put_values(&raw, ext.as_slice()).unwrap();
        } else {
            let raw: Vec<f32> = vals
                .iter()
                .map(|&x| if x.is_nan() { -9999.0 } else { x as f32 })
                .collect();
            v.put_values(&raw, ext.as_slice()).unwrap();
        }
    }
}

fn check_spec(name: &str, spec: &Spec, expect: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.nc"));
    write_spec(&path, spec);
    check(&path, "msl", expect);
}

#[test]
fn float32_chunked_in_time_and_in_space() {
    for shuffle in [true, false] {
        for level in [1, 4] {
            let mut s = Spec::new(&[3, NLAT, NLON]);
            s.shuffle = shuffle;
            s.deflate = Some(level);
            check_spec("time", &s, Expect::All);
            let mut s = Spec::new(&[2, 7, 10]);
            s.shuffle = shuffle;
            s.deflate = Some(level);
            check_spec("space", &s, Expect::All);
        }
    }
    // Chunked but not compressed, and one chunk for the whole variable.
    let mut s = Spec::new(&[4, 5, 36]);
    s.deflate = None;
    check_spec("plain", &s, Expect::All);
    check_spec("whole", &Spec::new(&[STEPS, NLAT, NLON]), Expect::All);
}

#[test]
fn packed_int16_float64_and_big_endian() {
    for chunks in [[3, NLAT, NLON], [4, 10, 12]] {
        let mut s = Spec::new(&chunks);
        s.packed = true;
        check_spec("packed", &s, Expect::All);
        s.big_endian = true;
        check_spec("packed_be", &s, Expect::All);
        let mut s = Spec::new(&chunks);
        s.double = true;
        s.deflate = Some(4);
        check_spec("double", &s, Expect::All);
        s.big_endian = true;
        check_spec("double_be", &s, Expect::All);
        let mut s = Spec::new(&chunks);
        s.big_endian = true;
        check_spec("float_be", &s, Expect::All);
    }
}

#[test]
fn each_chunk_is_decoded_once_when_blocks_are_shorter_than_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long_chunks.nc");
    // 4 time chunks (3, 3, 3, 1 steps) of 2 x 3 tiles.
    write_spec(&path, &Spec::new(&[3, 10, 12]));
    for (schedule, pool) in [
        (blocks(0..STEPS, 1).collect::<Vec<_>>(), false),
        (blocks(0..STEPS, 2).collect(), true),
    ] {
        let mut r =
            NetcdfReader::open_with(&path, FileFormat::Netcdf4, &request("msl"), true).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(if pool { 2 } else { 1 })
            .build()
            .unwrap();
        for b in &schedule {
            pool.install(|| r.read(b.start, b.len())).unwrap();
        }
        assert_eq!(r.direct_stats(), (schedule.len(), 4 * 2 * 3));
    }
}

#[test]
fn longitude_before_latitude() {
    // Values are rearranged after the read: the direct path serves a block.
    let mut s = Spec::new(&[3, 12, 7]);
    s.lon_first = true;
    check_spec("lon_lat", &s, Expect::All);
    s.packed = true;
    check_spec("lon_lat_packed", &s, Expect::All);
    // And the frames are those of the same field stored latitude first.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.nc"), dir.path().join("b.nc"));
    write_spec(&a, &s);
    s.lon_first = false;
    s.chunks = vec![3, 7, 12];
    write_spec(&b, &s);
    let all = vec![0..STEPS / 2, STEPS / 2..STEPS];
    assert!(read(&a, "msl", true, &all, None).0 == read(&b, "msl", true, &all, None).0);
}

#[test]
fn unlimited_time_and_a_length_one_level() {
    let mut s = Spec::new(&[4, NLAT, NLON]);
    s.unlimited = true;
    check_spec("unlimited", &s, Expect::All);
    let mut s = Spec::new(&[2, 1, 10, 10]);
    s.level = true;
    check_spec("level", &s, Expect::All);
    s.unlimited = true;
    s.packed = true;
    check_spec("level_unlimited_packed", &s, Expect::All);
}

#[test]
fn unallocated_chunks_read_as_fill_values() {
    // Steps 4 and 5 form a time chunk never written; step 6 shares its chunk
    // with the written step 7.
    let mut s = Spec::new(&[2, NLAT, NLON]);
    s.writes = [0, 1, 2, 3, 7, 8, 9]
        .iter()
        .map(|&t| (t, 0..NLAT, 0..NLON))
        .collect();
    check_spec("gaps_time", &s, Expect::All);
    s.packed = true;
    check_spec("gaps_time_packed", &s, Expect::All);
    // Only some spatial tiles written at some steps.
    let mut s = Spec::new(&[1, 10, 12]);
    s.writes = (0..STEPS)
        .map(|t| (t, 0..10, 12 * (t % 3)..12 * (t % 3) + 12))
        .collect();
    check_spec("gaps_space", &s, Expect::All);
}

#[test]
fn steps_beyond_a_shorter_variable_fall_back() {
    // `msl` has 6 records of an unlimited time axis that `time` fills to 10:
    // netCDF pads the missing records with fill values; the direct path
    // serves only blocks inside msl's own extent.
    let mut s = Spec::new(&[2, NLAT, NLON]);
    s.unlimited = true;
    s.writes = (0..6).map(|t| (t, 0..NLAT, 0..NLON)).collect();
    check_spec("short", &s, Expect::UpTo(6));
}

/// Writes a (time, latitude, longitude) float32 `msl` with the raw C API, for
/// storage options the netcdf crate does not offer; `setup` defines them.
fn write_raw(path: &Path, setup: impl Fn(i32, i32) -> i32) {
    use netcdf_sys::*;
    let _guard = common::file_lock();
    let _lock = libnetcdf_lock.lock();
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let name = |s: &str| CString::new(s).unwrap();
    let check = |rc: i32| assert_eq!(rc, 0, "netCDF error {rc}");
    // SAFETY: plain netCDF-C calls on a file created here, with valid buffers.
    unsafe {
        let mut nc = 0;
        check(nc_create(cpath.as_ptr(), NC_NETCDF4 | NC_CLOBBER, &mut nc));
        let mut d = [0i32; 3];
        for (k, (n, len)) in [("time", STEPS), ("latitude", NLAT), ("longitude", NLON)]
            .iter()
            .enumerate()
        {
            check(nc_def_dim(nc, name(n).as_ptr(), *len, &mut d[k]));
        }
        let mut coord = [0i32; 3];
        for (k, (n, units)) in [
            ("time", "hours since 2000-01-01 00:00:00"),
            ("latitude", "degrees_north"),
            ("longitude", "degrees_east"),
        ]
        .iter()
        .enumerate()
        {
            check(nc_def_var(
                nc,
                name(n).as_ptr(),
                NC_DOUBLE,
                1,
                &d[k],
                &mut coord[k],
            ));
            check(nc_put_att_text(
                nc,
                coord[k],
                name("units").as_ptr(),
                units.len(),
                units.as_ptr().cast(),
            ));
        }
        let mut v = 0;
        check(nc_def_var(
            nc,
            name("msl").as_ptr(),
            NC_FLOAT,
            3,
            d.as_ptr(),
            &mut v,
        ));
        check(setup(nc, v));
        check(nc_enddef(nc));
        let times: Vec<f64> = (0..STEPS).map(|t| 6.0 * t as f64).collect();
        let lats: Vec<f64> = (0..NLAT).map(|i| 90.0 - 10.0 * i as f64).collect();
        let lons: Vec<f64> = (0..NLON).map(|j| 10.0 * j as f64).collect();
        for (k, vals) in [times, lats, lons].iter().enumerate() {
            check(nc_put_var_double(nc, coord[k], vals.as_ptr()));
        }
        let data: Vec<f32> = (0..STEPS)
            .flat_map(|t| {
                (0..NLAT).flat_map(move |i| (0..NLON).map(move |j| value(t, i, j) as f32))
            })
            .collect();
        check(nc_put_var_float(nc, v, data.as_ptr()));
        check(nc_close(nc));
    }
}

#[test]
fn fletcher32_checksums_are_verified() {
    let dir = tempfile::tempdir().unwrap();
    for (k, chunks) in [[3usize, NLAT, NLON], [2, 7, 10]].iter().enumerate() {
        let path = dir.path().join(format!("fletcher{k}.nc"));
        write_raw(&path, |nc, v| unsafe {
            let rc =
                netcdf_sys::nc_def_var_chunking(nc, v, netcdf_sys::NC_CHUNKED, chunks.as_ptr());
            let rc = rc | netcdf_sys::nc_def_var_deflate(nc, v, 1, 1, 1);
            rc | netcdf_sys::nc_def_var_fletcher32(nc, v, 1)
        });
        check(&path, "msl", Expect::All);
    }
}

#[test]
fn unsupported_storage_falls_back_to_netcdf() {
    let dir = tempfile::tempdir().unwrap();
    let szip = dir.path().join("szip.nc");
    write_raw(&szip, |nc, v| unsafe {
        let chunks = [2usize, NLAT, NLON];
        let rc = netcdf_sys::nc_def_var_chunking(nc, v, netcdf_sys::NC_CHUNKED, chunks.as_ptr());
        rc | netcdf_sys::nc_def_var_szip(nc, v, 32, 16)
    });
    check(&szip, "msl", Expect::None);
    let contiguous = dir.path().join("contiguous.nc");
    write_raw(&contiguous, |nc, v| unsafe {
        netcdf_sys::nc_def_var_chunking(nc, v, netcdf_sys::NC_CONTIGUOUS, std::ptr::null())
    });
    check(&contiguous, "msl", Expect::None);
}

#[test]
fn tracks_are_identical_with_the_switch_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spec::new(&[2, 10, 12]);
    s.packed = true;
    let path = dir.path().join("packed.nc");
    write_spec(&path, &s);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let djf = root.join("data/era5_msl_2025-2026_djf_2.5x2.5.nc");
    for input in [path.as_path(), djf.as_path()] {
        let mut outputs = Vec::new();
        for (switch, backend) in [("0", "serial"), ("1", "serial"), ("1", "rayon")] {
            let out = dir.path().join(format!("out_{switch}_{backend}.txt"));
            let run = common::run(
                std::process::Command::new(env!("CARGO_BIN_EXE_stormtrack"))
                    .env("STORMTRACK_NETCDF_DIRECT", switch)
                    .args(["track", input.to_str().unwrap(), "--var", "msl", "-q"])
                    .args(["--backend", backend, "-j", "2", "-o"])
                    .arg(&out),
            );
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            outputs.push(std::fs::read(&out).unwrap());
        }
        assert!(!outputs[0].is_empty());
        assert!(
            outputs.iter().all(|o| *o == outputs[0]),
            "{}",
            input.display()
        );
    }
}

#[test]
fn chunks_of_whole_frames_are_decoded_once_whatever_the_blocks() {
    let dir = tempfile::tempdir().unwrap();
    for shuffle in [true, false] {
        let path = dir.path().join(format!("frames_{shuffle}.nc"));
        // 4 time chunks (3, 3, 3, 1 steps) of whole frames.
        let mut s = Spec::new(&[3, NLAT, NLON]);
        s.shuffle = shuffle;
        write_spec(&path, &s);
        for (schedule, threads) in [
            (blocks(0..STEPS, 1).collect::<Vec<_>>(), 1),
            (blocks(0..STEPS, 2).collect(), 2),
            (blocks(0..STEPS, 3).collect(), 2),
        ] {
            let mut r =
                NetcdfReader::open_with(&path, FileFormat::Netcdf4, &request("msl"), true).unwrap();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for b in &schedule {
                pool.install(|| r.read(b.start, b.len())).unwrap();
            }
            assert_eq!(r.direct_stats(), (schedule.len(), 4), "{schedule:?}");
        }
    }
}

#[test]
fn frames_decoded_on_use_read_alike_in_any_order_on_any_thread() {
    let dir = tempfile::tempdir().unwrap();
    let mut specs = vec![Spec::new(&[4, NLAT, NLON]), Spec::new(&[STEPS, NLAT, NLON])];
    specs[1].packed = true;
    let mut level = Spec::new(&[3, 1, NLAT, NLON]);
    level.level = true;
    level.double = true;
    specs.push(level);
    for (k, spec) in specs.iter().enumerate() {
        let path = dir.path().join(format!("order{k}.nc"));
        write_spec(&path, spec);
        let whole = blocks(0..STEPS, STEPS).collect::<Vec<_>>();
        let (want, _) = read(&path, "msl", false, &whole, None);
        let mut r =
            NetcdfReader::open_with(&path, FileFormat::Netcdf4, &request("msl"), true).unwrap();
        let mut sources: Vec<(usize, FrameSource)> = Vec::new();
        for b in blocks(0..STEPS, 3) {
            let got = r.read_sources(b.start, b.len()).unwrap();
            assert!(got.iter().all(|s| matches!(s, FrameSource::Deferred(_))));
            sources.extend(b.zip(got));
        }
        // Scrambled, two at a time: frames sharing memory pages with frames
        // already used and given back still read whole.
        sources.sort_by_key(|(t, _)| (t * 7) % STEPS);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        use rayon::prelude::*;
        let mut got: Vec<(usize, Vec<u64>)> = pool.install(|| {
            sources
                .into_par_iter()
                .with_max_len(1)
                .map(|(t, s)| {
                    let frame = s.load().unwrap();
                    (t, bits(std::slice::from_ref(&*frame)))
                })
                .collect()
        });
        got.sort_by_key(|(t, _)| *t);
        let got: Vec<u64> = got.into_iter().flat_map(|(_, v)| v).collect();
        assert!(got == want, "spec {k}: values differ from netCDF's");
        assert_eq!(r.direct_fallbacks(), 0);
    }
}

#[test]
fn a_user_block_is_read_through_hdf5() {
    // HDF5 data after a 512-byte user block: chunk addresses are not file
    // offsets, so stored chunks are fetched by HDF5.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.nc");
    write_spec(&plain, &Spec::new(&[3, NLAT, NLON]));
    let mut bytes = vec![0u8; 512];
    bytes.extend(std::fs::read(&plain).unwrap());
    let shifted = dir.path().join("user_block.nc");
    std::fs::write(&shifted, bytes).unwrap();
    check(&shifted, "msl", Expect::All);
}

#[test]
fn damaged_chunks_read_as_netcdf_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.nc");
    write_spec(&good, &Spec::new(&[STEPS, NLAT, NLON]));
    let mut bytes = std::fs::read(&good).unwrap();
    // The one chunk (noisy data does not deflate to nothing) fills most of
    // the file: a damaged run in its last quarter breaks the stream there.
    let at = bytes.len() * 3 / 4;
    bytes[at..at + 64].fill(0x5a);
    let bad = dir.path().join("bad.nc");
    std::fs::write(&bad, &bytes).unwrap();
    let per_step = |path: &Path, direct: bool| {
        let mut r =
            NetcdfReader::open_with(path, FileFormat::Netcdf4, &request("msl"), direct).unwrap();
        let out: Vec<Result<Vec<u64>, String>> = blocks(0..STEPS, 1)
            .map(|b| {
                r.read(b.start, b.len())
                    .map(|f| bits(&f))
                    .map_err(|e| e.to_string())
            })
            .collect();
        (out, r.direct_fallbacks())
    };
    let (via_netcdf, _) = per_step(&bad, false);
    let (direct, fallbacks) = per_step(&bad, true);
    // netCDF refuses the whole chunk, and so does the direct path: a block's
    // last frame of a chunk waits for the chunk's checksum.
    assert!(via_netcdf.iter().all(Result::is_err));
    assert!(fallbacks > 0);
    assert_eq!(direct, via_netcdf);
    // Intact, the same blocks read alike.
    assert_eq!(per_step(&good, true).0, per_step(&good, false).0);
}
