//! Names that are not UTF-8 (Latin-1 from old NetCDF-3 writers): listed
//! lossily, skipped when not asked for, and never a panic; the requested
//! variable works when its own names are valid.

use std::path::Path;

use crate::common::{axis, nc, run, stderr, stormtrack};

/// Adds a float dataset named `name` (any bytes) to a NetCDF-4 file with
/// HDF5 itself: netCDF-C refuses to create names that are not UTF-8, but
/// reads them (as a variable over phony dimensions).
fn add_hdf5_dataset(path: &Path, name: &[u8]) {
    use hdf5_metno_sys::{h5, h5d, h5f, h5p, h5s, h5t};
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let c_name = std::ffi::CString::new(name).unwrap();
    let _guard = crate::common::file_lock();
    // SAFETY: plain HDF5 calls on valid NUL-terminated strings, each id
    // closed once; HDF5's global lock is held as the netcdf crate does.
    unsafe {
        let _lock = hdf5_metno_sys::LOCK.lock();
        assert!(h5::H5open() >= 0);
        let file = h5f::H5Fopen(c_path.as_ptr(), h5f::H5F_ACC_RDWR, h5p::H5P_DEFAULT);
        assert!(file >= 0, "H5Fopen");
        let dims = [4u64];
        let space = h5s::H5Screate_simple(1, dims.as_ptr(), std::ptr::null());
        let set = h5d::H5Dcreate2(
            file,
            c_name.as_ptr(),
            *h5t::H5T_IEEE_F32LE,
            space,
            h5p::H5P_DEFAULT,
            h5p::H5P_DEFAULT,
            h5p::H5P_DEFAULT,
        );
        assert!(set >= 0, "H5Dcreate2");
        h5d::H5Dclose(set);
        h5s::H5Sclose(space);
        h5f::H5Fclose(file);
    }
}

/// Writes msl(time, lat, lon) plus `tempX(lat, lon)` and `other(yyyX)`, as
/// classic or NetCDF-4, then turns each `X` of those names into Latin-1
/// `é` (0xe9): same length, so the file stays consistent. HDF5 files cannot
/// be patched like that: NetCDF-4 gets a dataset `temp\xe9` added by HDF5.
fn latin1_file(path: &Path, netcdf4: bool) {
    {
        let _guard = crate::common::file_lock();
        let options = if netcdf4 {
            netcdf::Options::NETCDF4
        } else {
            netcdf::Options::CLASSIC
        };
        let mut f = nc::create_with(path, options).unwrap();
        let (lat, lon, times) = (axis(90.0, -5.0, 37), axis(0.0, 5.0, 72), axis(0.0, 6.0, 3));
        f.add_dimension("time", times.len()).unwrap();
        f.add_dimension("lat", lat.len()).unwrap();
        f.add_dimension("lon", lon.len()).unwrap();
        f.add_dimension("yyyX", 4).unwrap();
        let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "hours since 2000-01-01").unwrap();
        let mut v = f.add_variable::<f64>("lat", &["lat"]).unwrap();
        v.put_attribute("units", "degrees_north").unwrap();
        let mut v = f.add_variable::<f64>("lon", &["lon"]).unwrap();
        v.put_attribute("units", "degrees_east").unwrap();
        f.add_variable::<f32>("msl", &["time", "lat", "lon"])
            .unwrap();
        if !netcdf4 {
            f.add_variable::<f32>("tempX", &["lat", "lon"]).unwrap();
            f.add_variable::<f32>("other", &["yyyX"]).unwrap();
        }
        if !netcdf4 {
            f.enddef().unwrap();
        }
        let put = |f: &mut netcdf::FileMut, name: &str, values: &[f64]| {
            f.variable_mut(name)
                .unwrap()
                .put_values(values, ..)
                .unwrap();
        };
        put(&mut f, "time", &times);
        put(&mut f, "lat", &lat);
        put(&mut f, "lon", &lon);
        let mut values = Vec::new();
        for s in 0..times.len() {
            for &la in &lat {
                for &lo in &lon {
                    let d2 = ((la - 45.0) / 10.0).powi(2)
                        + ((lo - 100.0 - 5.0 * s as f64) / 10.0).powi(2);
                    values.push((101_000.0 - 3_000.0 * (-d2).exp()) as f32);
                }
            }
        }
        f.variable_mut("msl")
            .unwrap()
            .put_values(&values, ..)
            .unwrap();
    }
    if netcdf4 {
        add_hdf5_dataset(path, b"temp\xe9");
        return;
    }
    let mut bytes = std::fs::read(path).unwrap();
    for name in [&b"tempX"[..], &b"yyyX"[..]] {
        let mut found = 0;
        let mut i = 0;
        while let Some(at) = bytes[i..].windows(name.len()).position(|w| w == name) {
            bytes[i + at + name.len() - 1] = 0xe9;
            i += at + name.len();
            found += 1;
        }
        assert!(
            found > 0,
            "{} not in the file",
            String::from_utf8_lossy(name)
        );
    }
    std::fs::write(path, bytes).unwrap();
}

/// `--var vo` lists the Latin-1 dataset among the variables.
fn continue_with_netcdf4(path: &Path, what: &str) {
    let o = run(stormtrack()
        .args(["track", "-q", "--var", "vo", "-o", "-"])
        .arg(path));
    assert_no_panic(&o, what);
    assert_eq!(o.status.code(), Some(3), "{what}: {}", stderr(&o));
    assert!(
        stderr(&o).contains("temp\u{FFFD}("),
        "{what}: {}",
        stderr(&o)
    );
}

fn assert_no_panic(o: &std::process::Output, what: &str) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_ne!(o.status.code(), Some(101), "{what}: {err}");
}

#[test]
fn latin1_names_are_listed_lossily_and_the_rest_works() {
    for netcdf4 in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.nc");
        latin1_file(&path, netcdf4);
        let what = if netcdf4 { "NetCDF-4" } else { "classic" };

        let o = run(stormtrack()
            .args(["track", "-q", "--var", "msl", "-o", "-"])
            .arg(&path));
        assert_no_panic(&o, what);
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.lines().filter(|l| l.starts_with("00 ")).count() >= 3,
            "{what}: {text}"
        );

        let o = run(stormtrack().arg("info").arg(&path));
        assert_no_panic(&o, what);
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        let info = String::from_utf8(o.stdout).unwrap();
        assert!(info.contains("temp\u{FFFD}"), "{what}: {info}");
        if netcdf4 {
            continue_with_netcdf4(&path, what);
            continue;
        }
        assert!(info.contains("yyy\u{FFFD}=4"), "{what}: {info}");

        let o = run(stormtrack()
            .args(["track", "-q", "--var", "vo", "-o", "-"])
            .arg(&path));
        assert_no_panic(&o, what);
        assert_eq!(o.status.code(), Some(3), "{what}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("temp\u{FFFD}(lat,lon)"),
            "{what}: {}",
            stderr(&o)
        );

        let o = run(stormtrack()
            .args(["track", "-q", "--var", "other", "-o", "-"])
            .arg(&path));
        assert_no_panic(&o, what);
        assert_eq!(o.status.code(), Some(3), "{what}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(
            err.contains("'other' has a dimension whose name is not UTF-8 ('yyy\u{FFFD}'"),
            "{what}: {err}"
        );
    }
}
