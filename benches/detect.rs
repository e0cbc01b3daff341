//! Detection on one real 0.25-degree ERA5 frame (721 x 1440): MSL minima and
//! 850 hPa vorticity maxima.

use criterion::{criterion_group, criterion_main, Criterion};
use stormtrack::detect::{detect, DetectConfig, Mode};
use stormtrack::io::{self, VariableRequest};

fn load(file: &str, var: &str) -> (stormtrack::field::Frame, stormtrack::grid::Grid) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(file);
    let mut reader = io::open(
        &path,
        &VariableRequest {
            name: var.into(),
            level: None,
        },
    )
    .expect("bundled sample");
    let grid = reader.meta().grid.clone();
    (reader.read(0, 1).expect("frame").remove(0), grid)
}

fn bench(c: &mut Criterion) {
    let (msl, grid) = load("era5_msl_2025120100_0.25x0.25.nc", "msl");
    let min = DetectConfig {
        mode: Mode::Min,
        window: 5,
        threshold: 0.0,
    };
    c.bench_function("detect msl 0.25deg frame", |b| {
        b.iter(|| detect(&msl, &grid, &min))
    });
    let (vo, grid) = load("era5_vo850_2025120100_0.25x0.25.nc", "vo");
    let max = DetectConfig {
        mode: Mode::Max,
        window: 5,
        threshold: 1e-5,
    };
    c.bench_function("detect vo850 0.25deg frame", |b| {
        b.iter(|| detect(&vo, &grid, &max))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
