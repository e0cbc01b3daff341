//! The error catalogue: every bad input or output gives one clear line on
//! stderr naming the file, variable or flag, the documented exit code
//! (3 input, 4 output), no panic, and no output or temporary file left behind.
//! Each test writes its own bad input into a temporary directory.

use crate::common;
use std::path::{Path, PathBuf};

use crate::common::{axis, stderr, track, workdir, Field};

const GRIB: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";

/// Asserts a failed run: exit code, one `stormtrack: error:` line containing
/// every key word, no ecCodes/HDF5 chatter, no panic, and that the
/// directory holds exactly `expected_files` (so no out.txt and no temporary).
fn assert_failed(
    o: &std::process::Output,
    code: i32,
    words: &[&str],
    dir: &Path,
    expected_files: &[&str],
) {
    let noise = ["ECCODES", "HDF5", "panicked", "RUST_BACKTRACE"];
    crate::common::assert_one_error_line(o, code, words, &noise);
    assert!(o.stdout.is_empty(), "stdout: {:?}", o.stdout);
    crate::common::assert_only_files(dir, expected_files);
}

/// Writes `bytes` to `dir/name`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Byte ranges of the messages of a GRIB 1 file (the bundled sample).
fn grib1_messages(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= b.len() && &b[pos..pos + 4] == b"GRIB" {
        let len = (usize::from(b[pos + 4]) << 16)
            | (usize::from(b[pos + 5]) << 8)
            | usize::from(b[pos + 6]);
        out.push((pos, len));
        pos += len;
    }
    out
}

fn u24(b: &[u8], at: usize) -> usize {
    (usize::from(b[at]) << 16) | (usize::from(b[at + 1]) << 8) | usize::from(b[at + 2])
}

#[test]
fn missing_file() {
    let (dir, out) = workdir();
    let o = track(&dir.path().join("nope.nc"), "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["nope.nc: no such file", "check the path"],
        dir.path(),
        &[],
    );
}

/// A newline in a file name is escaped: the message stays one line.
#[test]
fn a_path_with_a_newline_gives_a_one_line_error() {
    let (dir, out) = workdir();
    let input = write(dir.path(), "two\nlines.nc", b"not a climate file");
    let o = track(&input, "msl", &out, &[]);
    assert_failed(&o, 3, &["two\\nlines.nc"], dir.path(), &["two\nlines.nc"]);
    let o = track(&dir.path().join("gone\n.nc"), "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["gone\\n.nc: no such file"],
        dir.path(),
        &["two\nlines.nc"],
    );
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, out) = workdir();
    // A directory given as input: unreadable as a data file for everyone, root included.
    std::fs::create_dir(dir.path().join("input.nc")).unwrap();
    let o = track(&dir.path().join("input.nc"), "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["input.nc: is a directory", "name a NetCDF or GRIB file"],
        dir.path(),
        &["input.nc"],
    );

    // A file without read permission; root reads it anyway, so only check
    // the message where the permission really stops reading.
    let f = write(
        dir.path(),
        "locked.nc",
        &std::fs::read("data/era5_msl_2025120100_2.5x2.5.nc").unwrap(),
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&f).is_ok() {
        println!("skipped the chmod 000 sub-case: running with privileges that ignore file permissions (root); the directory sub-case above covers unreadable input");
        return;
    }
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["locked.nc: cannot read", "Permission denied", "permissions"],
        dir.path(),
        &["input.nc", "locked.nc"],
    );
}

#[test]
fn empty_file() {
    let (dir, out) = workdir();
    let f = write(dir.path(), "empty.nc", b"");
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["empty.nc: the file is empty (0 bytes)"],
        dir.path(),
        &["empty.nc"],
    );
}

#[test]
fn neither_netcdf_nor_grib() {
    let (dir, out) = workdir();
    let f = write(dir.path(), "notes.nc", b"<html>Not Found</html>\n");
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "notes.nc: neither NetCDF nor GRIB",
            "\"<html>No\"",
            "NetCDF-3, NetCDF-4 and GRIB",
        ],
        dir.path(),
        &["notes.nc"],
    );
}

#[test]
fn truncated_netcdf4() {
    let (dir, out) = workdir();
    let full = dir.path().join("full.nc");
    Field::moving_low(axis(0.0, 6.0, 40)).write(&full);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::remove_file(&full).unwrap();
    let f = write(dir.path(), "half.nc", &bytes[..bytes.len() / 2]);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["half.nc: cannot open as NetCDF", "truncated or corrupt"],
        dir.path(),
        &["half.nc"],
    );
}

#[test]
fn truncated_classic_netcdf() {
    let (dir, out) = workdir();
    let full = dir.path().join("full.nc");
    let mut field = Field::moving_low(axis(0.0, 6.0, 40));
    field.classic = true;
    field.write(&full);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::remove_file(&full).unwrap();
    // libnetcdf alone would read the missing half as zeros and track it.
    let f = write(dir.path(), "half.nc", &bytes[..bytes.len() / 2]);
    let o = track(&f, "msl", &out, &[]);
    let need = format!("needs {}", bytes.len());
    assert_failed(
        &o,
        3,
        &[
            "half.nc: the file is truncated",
            &format!("it has {} bytes", bytes.len() / 2),
            &need,
        ],
        dir.path(),
        &["half.nc"],
    );
}

#[test]
fn corrupt_netcdf4_data_keeps_hdf5_quiet() {
    let (dir, out) = workdir();
    let full = dir.path().join("full.nc");
    let mut field = Field::moving_low(axis(0.0, 6.0, 40));
    field.compress = true;
    // Noise does not deflate to almost nothing, so the chunks fill the file.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for v in &mut field.values {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *v = 100_000.0 + (state >> 44) as f32;
    }
    field.write(&full);
    let mut bytes = std::fs::read(&full).unwrap();
    std::fs::remove_file(&full).unwrap();
    // HDF5 would print a multi-line HDF5-DIAG trace for the failed read.
    let mid = bytes.len() / 2;
    bytes[mid..mid + 256].fill(0x5a);
    let f = write(dir.path(), "bad.nc", &bytes);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "bad.nc: cannot read 'msl' steps",
            "HDF error",
            "truncated or corrupt",
        ],
        dir.path(),
        &["bad.nc"],
    );
}

#[test]
fn truncated_grib() {
    let (dir, out) = workdir();
    let bytes = std::fs::read(GRIB).unwrap();
    let msgs = grib1_messages(&bytes);
    let (start, len) = msgs[100];
    let f = write(dir.path(), "cut.grib", &bytes[..start + len / 2]);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "cut.grib: the file ends inside GRIB message 101",
            &format!("starts at byte {start}"),
            "truncated",
        ],
        dir.path(),
        &["cut.grib"],
    );
}

#[test]
fn corrupt_grib_data_section_length() {
    let (dir, out) = workdir();
    let mut bytes = std::fs::read(GRIB).unwrap();
    let (start, _) = grib1_messages(&bytes)[10];
    // Section 4 (binary data) follows sections 1 and 2; its length is a 3-byte field.
    let s2 = start + 8 + u24(&bytes, start + 8);
    let s4 = s2 + u24(&bytes, s2);
    bytes[s4..s4 + 3].copy_from_slice(&[0, 0, 5]);
    let f = write(dir.path(), "bad.grib", &bytes);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "bad.grib: GRIB message 11 is corrupt",
            "where '7777' should be",
            "re-download",
        ],
        dir.path(),
        &["bad.grib"],
    );
}

#[test]
fn corrupt_grib_header_length_silences_eccodes() {
    let (dir, out) = workdir();
    let mut bytes = std::fs::read(GRIB).unwrap();
    let (start, _) = grib1_messages(&bytes)[10];
    // A huge section 1 length makes ecCodes itself print "ECCODES ERROR" lines.
    bytes[start + 8..start + 11].copy_from_slice(&[0xff, 0xff, 0xff]);
    let f = write(dir.path(), "bad.grib", &bytes);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["bad.grib: GRIB message 11 is corrupt", "7777"],
        dir.path(),
        &["bad.grib"],
    );
}

#[test]
fn corrupt_grib_bits_per_value() {
    let (dir, out) = workdir();
    let mut bytes = std::fs::read(GRIB).unwrap();
    let (start, _) = grib1_messages(&bytes)[10];
    let s2 = start + 8 + u24(&bytes, start + 8);
    let s4 = s2 + u24(&bytes, s2);
    bytes[s4 + 10] = 0xff; // bits per value, inside the data section
    let f = write(dir.path(), "bad.grib", &bytes);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &["bad.grib: GRIB message 11 is corrupt", "bits per value"],
        dir.path(),
        &["bad.grib"],
    );
}

#[test]
fn no_such_variable() {
    let (dir, out) = workdir();
    let f = dir.path().join("in.nc");
    Field::moving_low(axis(0.0, 6.0, 3)).write(&f);
    let o = track(&f, "t2m", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "in.nc: no variable 't2m'",
            "aliases tried: none known",
            "msl(time,latitude,longitude)",
            "--var",
        ],
        dir.path(),
        &["in.nc"],
    );
    let o = track(&f, "vo", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "no variable 'vo'",
            "rv, var138",
            "standard_name=atmosphere_relative_vorticity",
            "the file has: msl(",
        ],
        dir.path(),
        &["in.nc"],
    );
}

#[test]
fn ambiguous_level() {
    let (dir, out) = workdir();
    let f = dir.path().join("levels.nc");
    let mut field = Field::moving_low(axis(0.0, 6.0, 2));
    let per_level = field.values.clone();
    field.values = per_level
        .chunks(37 * 72)
        .flat_map(|frame| {
            frame
                .iter()
                .chain(frame)
                .chain(frame)
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    field.levels = Some(vec![850.0, 500.0, 250.0]);
    field.write(&f);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "levels.nc: variable 'msl' has 3 levels",
            "level: 850, 500, 250",
            "--level",
        ],
        dir.path(),
        &["levels.nc"],
    );
    let o = track(&f, "msl", &out, &["--level", "700"]);
    assert_failed(
        &o,
        3,
        &["--level 700: no such level", "850, 500, 250"],
        dir.path(),
        &["levels.nc"],
    );
    let o = track(&f, "msl", &out, &["--level", "inf"]);
    assert_failed(&o, 2, &["'inf' is not a level"], dir.path(), &["levels.nc"]);
    field.levels = Some(vec![850.0, 850.0, 250.0]);
    field.write(&f);
    let o = track(&f, "msl", &out, &["--level", "850"]);
    assert_failed(
        &o,
        3,
        &[
            "--level 850: 'msl' has that level more than once",
            "850, 850, 250",
        ],
        dir.path(),
        &["levels.nc"],
    );
}

#[test]
fn no_time_steps() {
    let (dir, out) = workdir();
    let f = dir.path().join("empty_time.nc");
    let mut field = Field::moving_low(vec![]);
    field.unlimited_time = true;
    field.write(&f);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "empty_time.nc: variable 'msl' has no time steps",
            "dimension 'time' is empty",
        ],
        dir.path(),
        &["empty_time.nc"],
    );
}

#[test]
fn duplicate_times() {
    let (dir, out) = workdir();
    let f = dir.path().join("dup.nc");
    Field::moving_low(vec![0.0, 6.0, 6.0, 12.0]).write(&f);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "dup.nc: duplicate time at step 2",
            "2000-01-01T06:00:00 follows 2000-01-01T06:00:00 at step 1",
        ],
        dir.path(),
        &["dup.nc"],
    );
}

#[test]
fn a_time_never_written_is_missing_not_decreasing() {
    let (dir, out) = workdir();
    let f = dir.path().join("gap.nc");
    // netCDF's default fill for doubles: what an unwritten step holds.
    Field::moving_low(vec![0.0, 6.0, 9.969_209_968_386_869e36, 18.0]).write(&f);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "gap.nc: time variable 'time' has no value at step 2 (its fill value",
            "every step needs a time",
        ],
        dir.path(),
        &["gap.nc"],
    );
}

#[test]
fn decreasing_times() {
    let (dir, out) = workdir();
    let f = dir.path().join("dec.nc");
    Field::moving_low(vec![0.0, 6.0, 18.0, 12.0]).write(&f);
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "dec.nc: decreasing time at step 3",
            "2000-01-01T12:00:00 follows 2000-01-01T18:00:00 at step 2",
            "increasing time order",
        ],
        dir.path(),
        &["dec.nc"],
    );
}

/// The first three messages of the sample with `gridType` rewritten by ecCodes.
fn regridded_grib(path: &Path, grid_type: &str) {
    use eccodes::{CodesHandle, FallibleStreamingIterator, KeyWrite, ProductKind};
    let mut handle = CodesHandle::new_from_file(GRIB, ProductKind::GRIB).unwrap();
    for _ in 0..3 {
        let msg = handle.next().unwrap().unwrap();
        let mut msg = msg.try_clone().unwrap();
        msg.write_key("gridType", grid_type).unwrap();
        msg.write_to_file(path, true).unwrap();
    }
}

#[test]
fn unsupported_grib_grid() {
    let (dir, out) = workdir();
    for grid in ["rotated_ll", "reduced_gg"] {
        let name = format!("{grid}.grib");
        let f = dir.path().join(&name);
        regridded_grib(&f, grid);
        let o = track(&f, "msl", &out, &[]);
        let what = format!("{name}: 'msl' is on a grid of type '{grid}'");
        assert_failed(
            &o,
            3,
            &[&what, "regular_ll and regular_gg", "regrid first"],
            dir.path(),
            &[&name],
        );
        std::fs::remove_file(&f).unwrap();
    }
}

#[test]
fn curvilinear_netcdf_grid() {
    let (dir, out) = workdir();
    let f = dir.path().join("curvilinear.nc");
    {
        let _guard = common::file_lock();
        let mut nc = crate::common::nc::create(&f).unwrap();
        nc.add_dimension("time", 2).unwrap();
        nc.add_dimension("y", 10).unwrap();
        nc.add_dimension("x", 12).unwrap();
        let mut t = nc.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 2000-01-01").unwrap();
        t.put_values(&[0.0, 6.0], ..).unwrap();
        for (name, units, std) in [
            ("lat", "degrees_north", "latitude"),
            ("lon", "degrees_east", "longitude"),
        ] {
            let mut v = nc.add_variable::<f64>(name, &["y", "x"]).unwrap();
            v.put_attribute("units", units).unwrap();
            v.put_attribute("standard_name", std).unwrap();
            v.put_values(&(0..120).map(f64::from).collect::<Vec<_>>(), ..)
                .unwrap();
        }
        let mut v = nc.add_variable::<f32>("msl", &["time", "y", "x"]).unwrap();
        v.put_attribute("coordinates", "lat lon").unwrap();
        v.put_values(&vec![101_000.0f32; 240], ..).unwrap();
    }
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "curvilinear.nc: variable 'msl' is on a curvilinear grid",
            "lat(y,x) and lon(y,x)",
            "regrid first",
        ],
        dir.path(),
        &["curvilinear.nc"],
    );
}

#[test]
fn rotated_pole_netcdf_grid() {
    let (dir, out) = workdir();
    let f = dir.path().join("rotated.nc");
    {
        let _guard = common::file_lock();
        let mut nc = crate::common::nc::create(&f).unwrap();
        nc.add_dimension("time", 2).unwrap();
        nc.add_dimension("rlat", 10).unwrap();
        nc.add_dimension("rlon", 12).unwrap();
        let mut t = nc.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 2000-01-01").unwrap();
        t.put_values(&[0.0, 6.0], ..).unwrap();
        for (name, std, n) in [
            ("rlat", "grid_latitude", 10),
            ("rlon", "grid_longitude", 12),
        ] {
            let mut v = nc.add_variable::<f64>(name, &[name]).unwrap();
            v.put_attribute("units", "degrees").unwrap();
            v.put_attribute("standard_name", std).unwrap();
            v.put_values(&axis(-10.0, 0.5, n), ..).unwrap();
        }
        let mut v = nc
            .add_variable::<f32>("msl", &["time", "rlat", "rlon"])
            .unwrap();
        v.put_values(&vec![101_000.0f32; 240], ..).unwrap();
    }
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "rotated.nc: variable 'msl' is on a rotated or projected grid",
            "grid_latitude",
            "regrid first",
        ],
        dir.path(),
        &["rotated.nc"],
    );
}

#[test]
fn missing_latitude_value_is_an_input_error_not_a_panic() {
    let (dir, out) = workdir();
    let f = dir.path().join("nanlat.nc");
    {
        let _guard = common::file_lock();
        let mut nc = crate::common::nc::create(&f).unwrap();
        nc.add_dimension("time", 3).unwrap();
        nc.add_dimension("latitude", 10).unwrap();
        nc.add_dimension("longitude", 12).unwrap();
        let mut t = nc.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 2000-01-01").unwrap();
        t.put_values(&[0.0, 6.0, 12.0], ..).unwrap();
        let mut lat = axis(60.0, -2.5, 10);
        lat[4] = f64::NAN;
        for (name, units, values) in [
            ("latitude", "degrees_north", lat),
            ("longitude", "degrees_east", axis(0.0, 2.5, 12)),
        ] {
            let mut v = nc.add_variable::<f64>(name, &[name]).unwrap();
            v.put_attribute("units", units).unwrap();
            v.put_values(&values, ..).unwrap();
        }
        // Lows in every frame, so linking would sort centres at NaN latitudes.
        let field: Vec<f32> = (0..360)
            .map(|i| 101_000.0 - 50.0 * ((i % 120) as f32 % 7.0))
            .collect();
        let mut v = nc
            .add_variable::<f32>("msl", &["time", "latitude", "longitude"])
            .unwrap();
        v.put_values(&field, ..).unwrap();
    }
    for backend in ["serial", "rayon"] {
        let o = track(&f, "msl", &out, &["--backend", backend]);
        assert_failed(
            &o,
            3,
            &[
                "nanlat.nc: coordinate 'latitude' has a missing or non-finite value (NaN) at index 4",
                "fix or drop that row or column",
            ],
            dir.path(),
            &["nanlat.nc"],
        );
    }
}

#[test]
fn text_coordinates_are_named_not_called_corrupt() {
    let (dir, out) = workdir();
    let f = dir.path().join("textlat.nc");
    {
        let _guard = common::file_lock();
        let mut nc = crate::common::nc::create(&f).unwrap();
        nc.add_dimension("time", 2).unwrap();
        nc.add_dimension("latitude", 5).unwrap();
        nc.add_dimension("longitude", 6).unwrap();
        let mut t = nc.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 2000-01-01").unwrap();
        t.put_values(&[0.0, 6.0], ..).unwrap();
        let mut lat = nc.add_string_variable("latitude", &["latitude"]).unwrap();
        for (k, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            lat.put_string(name, [k]).unwrap();
        }
        let mut lon = nc.add_variable::<f64>("longitude", &["longitude"]).unwrap();
        lon.put_attribute("units", "degrees_east").unwrap();
        lon.put_values(&axis(0.0, 2.5, 6), ..).unwrap();
        let mut v = nc
            .add_variable::<f32>("msl", &["time", "latitude", "longitude"])
            .unwrap();
        v.put_values(&vec![101_000.0f32; 60], ..).unwrap();
    }
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        3,
        &[
            "textlat.nc: coordinate 'latitude' is not numeric",
            "needs numbers",
        ],
        dir.path(),
        &["textlat.nc"],
    );
}

fn good_input(dir: &Path) -> PathBuf {
    let f = dir.join("in.nc");
    Field::moving_low(axis(0.0, 6.0, 4)).write(&f);
    f
}

#[test]
fn output_directory_missing() {
    let (dir, _) = workdir();
    let f = good_input(dir.path());
    let out = dir.path().join("no/such/dir/out.txt");
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        4,
        &["out.txt: directory", "no/such/dir' does not exist", "-o"],
        dir.path(),
        &["in.nc"],
    );
}

#[test]
fn output_directory_not_writable() {
    let (dir, _) = workdir();
    let f = good_input(dir.path());
    // A file where a directory is expected: refused for root too.
    write(dir.path(), "plain", b"x");
    let out = dir.path().join("plain/out.txt");
    let o = track(&f, "msl", &out, &[]);
    assert_failed(
        &o,
        4,
        &["plain/out.txt", "plain' is not a directory", "-o"],
        dir.path(),
        &["in.nc", "plain"],
    );

    // A directory where nothing can be created, for root too (procfs).
    let o = track(&f, "msl", Path::new("/proc/out.txt"), &[]);
    assert_failed(
        &o,
        4,
        &[
            "/proc/out.txt: cannot create files in directory '/proc'",
            "choose a writable location with -o",
        ],
        dir.path(),
        &["in.nc", "plain"],
    );

    // The output path is itself a directory.
    let o = track(&f, "msl", dir.path(), &[]);
    assert_failed(
        &o,
        4,
        &["is a directory; give a file name with -o"],
        dir.path(),
        &["in.nc", "plain"],
    );
}

/// A 64 KiB tmpfs mounted on a directory, unmounted on drop.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(at: &Path) -> Result<Self, String> {
        std::fs::create_dir(at).map_err(|e| e.to_string())?;
        let o = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "stormtrack-test"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(TinyFs(at.to_path_buf()))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_full() {
    let (dir, _) = workdir();
    let small = dir.path().join("small");
    // Fails rather than skips where mount is not allowed: the suite runs
    // as root (CI too), and a skipped disk-full check would hide a failure.
    let fs = TinyFs::mount(&small).unwrap_or_else(|e| {
        panic!(
            "cannot mount a small tmpfs ({e}); run the suite as root to check disk-full handling"
        )
    });
    // The reference season gives about 1.8 MB of tracks: far more than 64 KiB.
    let out = small.join("out.txt");
    let o = track(
        Path::new("data/era5_msl_2025-2026_djf_2.5x2.5.nc"),
        "msl",
        &out,
        &[],
    );
    assert_failed(
        &o,
        4,
        &[
            "out.txt: disk full while writing",
            "no output was left behind",
        ],
        &small,
        &[],
    );
    drop(fs);
}

/// Runs `args` with stdout or stderr a pipe whose reader is already gone;
/// returns the exit code.
fn with_reader_gone(args: &[&str], stream: &str) -> Option<i32> {
    use std::process::Stdio;
    let mut cmd = common::stormtrack();
    cmd.args(args).stdin(Stdio::null());
    let mut child = if stream == "stdout" {
        cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn()
    }
    .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap().code()
}

#[test]
fn a_closed_pipe_neither_panics_nor_changes_the_exit_code() {
    let (dir, out) = workdir();
    let input = good_input(dir.path());
    let (input, out) = (input.to_str().unwrap(), out.to_str().unwrap());
    // Data on stdout whose reader stopped early: the run still succeeds.
    assert_eq!(with_reader_gone(&["info", input], "stdout"), Some(0));
    assert_eq!(
        with_reader_gone(&["info", "--json", input], "stdout"),
        Some(0)
    );
    let to_stdout = ["track", input, "--var", "msl", "-o", "-"];
    assert_eq!(with_reader_gone(&to_stdout, "stdout"), Some(0));
    // Messages on a closed stderr are lost, not fatal: the exit code is
    // the run's own.
    let run = ["track", input, "--var", "msl", "-o", out];
    assert_eq!(with_reader_gone(&run, "stderr"), Some(0));
    assert!(std::path::Path::new(out).is_file());
    let missing = ["track", "no-such-file.nc", "--var", "msl", "-o", out];
    assert_eq!(with_reader_gone(&missing, "stderr"), Some(3));
    let bad_flag = ["track", input, "--var", "msl", "--threads", "0", "-o", out];
    assert_eq!(with_reader_gone(&bad_flag, "stderr"), Some(2));
}

#[test]
fn an_output_never_replaces_an_input_or_the_other_output() {
    let (dir, _) = workdir();
    let input = good_input(dir.path());
    let before = std::fs::read(&input).unwrap();
    let same = dir.path().join(".").join("in.nc");
    let tracks = dir.path().join("t.txt");
    let cases: [(&[&str], &str); 4] = [
        (&["-o", input.to_str().unwrap()], "would replace the input"),
        (
            &["-o", same.to_str().unwrap(), "--format", "netcdf"],
            "would replace the input",
        ),
        (
            &[
                "-o",
                tracks.to_str().unwrap(),
                "--report",
                input.to_str().unwrap(),
            ],
            "--report",
        ),
        (
            &[
                "-o",
                tracks.to_str().unwrap(),
                "--report",
                tracks.to_str().unwrap(),
            ],
            "is the same file as -o",
        ),
    ];
    for (args, words) in cases {
        let o = common::run(
            common::stormtrack()
                .arg("track")
                .arg(&input)
                .args(["--var", "msl", "-q"])
                .args(args),
        );
        assert_failed(&o, 2, &[words, "another"], dir.path(), &["in.nc"]);
        assert_eq!(std::fs::read(&input).unwrap(), before, "{args:?}");
    }
}

#[test]
fn named_pipes_and_links_are_written_through_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let (dir, out) = workdir();
    let input = good_input(dir.path());
    let o = track(&input, "msl", &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = std::fs::read(&out).unwrap();
    // A link to a file: the file gets the tracks, the link stays a link.
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = track(&input, "msl", &link, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), expected);
    // A named pipe (as /dev/null would be): written through, still a pipe.
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = track(&input, "msl", &fifo, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Checked before joining: a pipe renamed over would leave the reader
    // waiting for ever.
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(reader.join().unwrap(), expected);
    // A link to a descriptor, as /dev/stdout is: the tracks reach the pipe
    // that is the process's stdout, and the link stays.
    let stdout_link = dir.path().join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &stdout_link).unwrap();
    let o = track(&input, "msl", &stdout_link, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout, expected);
    assert!(std::fs::symlink_metadata(&stdout_link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn too_many_threads_is_a_usage_error_not_a_stall() {
    let (dir, out) = workdir();
    let input = good_input(dir.path());
    let o = track(&input, "msl", &out, &["--threads", "100000"]);
    assert_failed(
        &o,
        2,
        &["--threads 100000 is more than 1024", "cores of the node"],
        dir.path(),
        &["in.nc"],
    );
}

#[test]
fn bad_flags_are_one_line_usage_errors() {
    let (dir, out) = workdir();
    let input = good_input(dir.path());
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--format", "xml"],
            &["'xml' for '--format", "possible values: imilast"],
        ),
        (
            &["--radius", "0"],
            &["'0' for '--radius", "must be positive"],
        ),
        (&["--mode", "median"], &["'median' for '--mode", "min, max"]),
        (&["--threads", "abc"], &["'abc' for '--threads"]),
        (
            &["--num", "-1"],
            &["unexpected argument '-1'", "tip: to pass '-1' as a value"],
        ),
        (
            &["--no-such-flag"],
            &["unexpected argument '--no-such-flag'"],
        ),
    ];
    for (args, words) in cases {
        let o = track(&input, "msl", &out, args);
        assert_failed(&o, 2, words, dir.path(), &["in.nc"]);
        assert!(stderr(&o).trim_end().ends_with("(see --help)"), "{args:?}");
    }
    let o = common::run(common::stormtrack().arg("trak"));
    assert_failed(
        &o,
        2,
        &["unrecognized subcommand 'trak'", "'track'"],
        dir.path(),
        &["in.nc"],
    );
}

#[test]
fn report_paths_are_checked_before_any_output_and_dash_is_stdout() {
    let (dir, out) = workdir();
    let input = good_input(dir.path());
    let long = dir.path().join(format!("{}.json", "x".repeat(300)));
    let o = track(&input, "msl", &out, &["--report", long.to_str().unwrap()]);
    assert_failed(&o, 4, &["longer than 255 bytes"], dir.path(), &["in.nc"]);
    let o = track(&input, "msl", Path::new("-"), &["--report", "-"]);
    assert_failed(
        &o,
        2,
        &["would both write to standard output"],
        dir.path(),
        &["in.nc"],
    );
    // The report on stdout, the tracks in their file.
    let o = track(&input, "msl", &out, &["--report", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["variable"], "msl");
    assert!(report["stats"]["tracks"].as_u64().unwrap() > 0);
    assert!(out.is_file());
}

#[test]
fn a_window_wider_than_the_grid_is_a_usage_error_not_zero_centres() {
    let (dir, out) = workdir();
    let input = good_input(dir.path());
    let o = track(&input, "msl", &out, &["--window", "99"]);
    assert_failed(
        &o,
        2,
        &["--window 99 is larger than the grid of 'msl' (37 x 72 points); give at most 37"],
        dir.path(),
        &["in.nc"],
    );
}
