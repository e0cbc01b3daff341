//! Linking: 24 steps of about 1900 centres each (the vorticity maxima of a
//! real 0.25-degree frame, drifting east by one cell per step).

use criterion::{criterion_group, criterion_main, Criterion};
use stormtrack::detect::{detect, Centre, DetectConfig, Mode};
use stormtrack::io::{self, VariableRequest};
use stormtrack::link::{CoordTypes, SimpleLinker};
use stormtrack::tracks::TrackMeta;
use stormtrack::units::Distance;

fn steps() -> Vec<Vec<Centre>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/era5_vo850_2025120100_0.25x0.25.nc");
    let mut reader = io::open(
        &path,
        &VariableRequest {
            name: "vo".into(),
            level: None,
        },
    )
    .expect("bundled sample");
    let grid = reader.meta().grid.clone();
    let frame = reader.read(0, 1).expect("frame").remove(0);
    // Threshold chosen to give about 1900 centres.
    let cfg = DetectConfig {
        mode: Mode::Max,
        window: 5,
        threshold: 4e-5,
    };
    let centres = detect(&frame, &grid, &cfg);
    (0..24)
        .map(|k| {
            centres
                .iter()
                .map(|c| Centre {
                    lon: (c.lon + 0.25 * k as f64) % 360.0,
                    ..*c
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let steps = steps();
    eprintln!("{} centres per step", steps[0].len());
    c.bench_function("link 24 steps of ~1900 centres", |b| {
        b.iter(|| {
            let mut linker = SimpleLinker::new(Distance::from_km(500.0), CoordTypes::default());
            for (i, s) in steps.iter().enumerate() {
                linker.push(i as i64 * 3600, s.clone());
            }
            linker.finish(TrackMeta::new("vo")).len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
