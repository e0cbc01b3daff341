//! The spectral filter (T5-42) on one real ERA5 MSL frame per resolution:
//! 2.5 degrees (73 x 144) and 0.25 degrees (721 x 1440), and building the
//! 0.25-degree filter (Legendre tables, FFT plans).

use criterion::{criterion_group, criterion_main, Criterion};
use stormtrack::filter::{Band, Geometry, SpectralFilter};

/// (latitudes, number of longitudes, values) of a bundled frame.
fn load(file: &str) -> (Vec<f64>, usize, Vec<f32>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(file);
    stormtrack::io::hdf5_quiet::quiet_hdf5_errors();
    let f = netcdf::open(&path).expect("bundled sample");
    let lat: Vec<f64> = f.variable("latitude").unwrap().get_values(..).unwrap();
    let nlon = f.variable("longitude").unwrap().len();
    let v: Vec<f32> = f.variable("msl").unwrap().get_values(..).unwrap();
    (lat, nlon, v)
}

fn bench(c: &mut Criterion) {
    for (name, file) in [
        ("2.5deg", "era5_msl_2025120100_2.5x2.5.nc"),
        ("0.25deg", "era5_msl_2025120100_0.25x0.25.nc"),
    ] {
        let (lat, nlon, v) = load(file);
        let f = SpectralFilter::new(&lat, nlon, Band::T5_42, Geometry::ClenshawCurtis).unwrap();
        c.bench_function(&format!("filter T5-42 msl {name} frame"), |b| {
            b.iter(|| f.apply(&v).unwrap())
        });
        if name == "0.25deg" {
            c.bench_function("filter T5-42 build 0.25deg", |b| {
                b.iter(|| {
                    SpectralFilter::new(&lat, nlon, Band::T5_42, Geometry::ClenshawCurtis).unwrap()
                })
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
