//! Shared helpers of the integration tests: NetCDF inputs built with the
//! netcdf crate, running the binary, and checking what a run left behind.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Serialises writing NetCDF files with starting child processes. HDF5 opens
/// files without close-on-exec and locks them: a child started while a test
/// thread has a file open inherits the descriptor and its lock, and a later
/// run reading that file fails to open it.
static FILES_AND_CHILDREN: Mutex<()> = Mutex::new(());

/// Holds off child processes while a NetCDF file is being written.
pub fn file_lock() -> MutexGuard<'static, ()> {
    FILES_AND_CHILDREN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Starts `cmd` with piped stdout and stderr, never while a file is open.
pub fn spawn(cmd: &mut Command) -> Child {
    let _guard = file_lock();
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `cmd` to completion (see [`spawn`]).
pub fn run(cmd: &mut Command) -> Output {
    spawn(cmd).wait_with_output().unwrap()
}

/// A (time, [level,] lat, lon) field to write as NetCDF.
pub struct Field {
    /// Hours since 2000-01-01; `None` writes no time axis.
    pub times: Option<Vec<f64>>,
    pub unlimited_time: bool,
    pub levels: Option<Vec<f64>>,
    pub lat: Vec<f64>,
    pub lon: Vec<f64>,
    /// Values in (time, level, lat, lon) order.
    pub values: Vec<f32>,
    /// Classic (CDF-1) instead of NetCDF-4.
    pub classic: bool,
    /// NetCDF-4 only: deflate the data, one chunk per time step.
    pub compress: bool,
}

/// `n` evenly spaced values from `start` by `step`.
pub fn axis(start: f64, step: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| start + step * i as f64).collect()
}

impl Field {
    /// A 5-degree global grid with a low that drifts east by 5 degrees a step.
    pub fn moving_low(times: Vec<f64>) -> Self {
        let lat = axis(90.0, -5.0, 37);
        let lon = axis(0.0, 5.0, 72);
        let mut values = Vec::new();
        for s in 0..times.len() {
            let centre = 100.0 + 5.0 * s as f64;
            for &la in &lat {
                for &lo in &lon {
                    let d2 = ((la - 45.0) / 10.0).powi(2) + ((lo - centre) / 10.0).powi(2);
                    values.push((101_000.0 - 3_000.0 * (-d2).exp()) as f32);
                }
            }
        }
        Field {
            times: Some(times),
            unlimited_time: false,
            levels: None,
            lat,
            lon,
            values,
            classic: false,
            compress: false,
        }
    }

    fn steps(&self) -> usize {
        self.times.as_ref().map_or(1, Vec::len)
    }

    /// Writes the field; all definitions come before any data, as classic
    /// files require.
    pub fn write(&self, path: &Path) {
        let _guard = file_lock();
        let options = if self.classic {
            netcdf::Options::empty()
        } else {
            netcdf::Options::NETCDF4
        };
        let mut f = nc::create_with(path, options).unwrap();
        let mut dims: Vec<&str> = Vec::new();
        if let Some(times) = &self.times {
            if self.unlimited_time {
                f.add_unlimited_dimension("time").unwrap();
            } else {
                f.add_dimension("time", times.len()).unwrap();
            }
            dims.push("time");
            let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
            t.put_attribute("units", "hours since 2000-01-01 00:00:00")
                .unwrap();
            t.put_attribute("calendar", "standard").unwrap();
        }
        if let Some(levels) = &self.levels {
            f.add_dimension("level", levels.len()).unwrap();
            let mut v = f.add_variable::<f64>("level", &["level"]).unwrap();
            v.put_attribute("units", "hPa").unwrap();
            dims.push("level");
        }
        f.add_dimension("latitude", self.lat.len()).unwrap();
        f.add_dimension("longitude", self.lon.len()).unwrap();
        dims.extend(["latitude", "longitude"]);
        let mut la = f.add_variable::<f64>("latitude", &["latitude"]).unwrap();
        la.put_attribute("units", "degrees_north").unwrap();
        let mut lo = f.add_variable::<f64>("longitude", &["longitude"]).unwrap();
        lo.put_attribute("units", "degrees_east").unwrap();
        let mut v = f.add_variable::<f32>("msl", &dims).unwrap();
        v.put_attribute("units", "Pa").unwrap();
        if self.compress {
            let mut chunk = vec![1; dims.len() - 2];
            chunk.extend([self.lat.len(), self.lon.len()]);
            v.set_chunking(&chunk).unwrap();
            v.set_compression(6, true).unwrap();
        }
        if self.classic {
            f.enddef().unwrap();
        }

        let mut put = |name: &str, values: &[f64]| {
            f.variable_mut(name)
                .unwrap()
                .put_values(values, ..)
                .unwrap();
        };
        put("latitude", &self.lat);
        put("longitude", &self.lon);
        if let Some(l) = &self.levels {
            put("level", l);
        }
        if let Some(t) = self.times.as_ref().filter(|t| !t.is_empty()) {
            put("time", t);
        }
        if self.steps() > 0 && !self.values.is_empty() {
            let mut extents: Vec<std::ops::Range<usize>> = Vec::new();
            if self.times.is_some() {
                extents.push(0..self.steps());
            }
            if let Some(l) = &self.levels {
                extents.push(0..l.len());
            }
            extents.push(0..self.lat.len());
            extents.push(0..self.lon.len());
            f.variable_mut("msl")
                .unwrap()
                .put_values(&self.values, extents.as_slice())
                .unwrap();
        }
    }
}

/// The `stormtrack` binary.
pub fn stormtrack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stormtrack"))
}

/// Runs `stormtrack track INPUT --var VAR -o DIR/out.txt ARGS...`.
pub fn track(input: &Path, var: &str, out: &Path, args: &[&str]) -> Output {
    run(stormtrack()
        .arg("track")
        .arg(input)
        .args(["--var", var, "-q", "-o"])
        .arg(out)
        .args(args))
}

/// File names in `dir`, sorted (hidden ones included).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A temporary directory with `out.txt` as the output path.
pub fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    (dir, out)
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The netcdf crate's constructors, with HDF5's error printing off on the
/// calling test thread first: netCDF-C probes attributes that may be absent
/// (`_QuantizeBitGroomNumberOfSignificantDigits`), and HDF5 prints a
/// diagnostic for each on threads that did not turn printing off.
pub mod nc {
    use std::path::Path;

    use stormtrack::io::hdf5_quiet::quiet_hdf5_errors;

    pub fn open(path: impl AsRef<Path>) -> netcdf::Result<netcdf::File> {
        quiet_hdf5_errors();
        netcdf::open(path)
    }

    pub fn create(path: impl AsRef<Path>) -> netcdf::Result<netcdf::FileMut> {
        quiet_hdf5_errors();
        netcdf::create(path)
    }

    pub fn create_with(
        path: impl AsRef<Path>,
        options: netcdf::Options,
    ) -> netcdf::Result<netcdf::FileMut> {
        quiet_hdf5_errors();
        netcdf::create_with(path, options)
    }
}

/// Asserts a failed run: exit `code`, exactly one `stormtrack: error:` line
/// on stderr holding every one of `words`, and none of `noise` (library
/// chatter, panics).
pub fn assert_one_error_line(o: &Output, code: i32, words: &[&str], noise: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("stormtrack: error: "), "{err}");
    for w in words {
        assert!(err.contains(w), "missing {w:?} in: {err}");
    }
    for n in noise {
        assert!(!err.contains(n), "{n} in: {err}");
    }
}

/// Asserts that `dir` holds exactly `files` (no output, no temporary).
pub fn assert_only_files(dir: &Path, files: &[&str]) {
    let mut expected: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(listing(dir), expected, "files left in {}", dir.display());
}
