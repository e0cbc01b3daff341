//! End to end on the bundled ERA5 DJF sample (360 steps, 2.5 degrees): open,
//! read, detect, link and write IMILAST to memory, for each backend.

use criterion::{criterion_group, criterion_main, Criterion};
use stormtrack::backend;
use stormtrack::config::{BackendKind, TimeSelection, TrackConfig};
use stormtrack::detect::Mode;
use stormtrack::io::VariableRequest;
use stormtrack::output::{
    imilast::ImilastWriter, Destination, OutputFormat, TrackWriter, WriteOptions,
};
use stormtrack::tracker::{Algorithm, SimpleTracker};
use stormtrack::units::Distance;

fn config(input: &str, backend: BackendKind, threads: usize) -> TrackConfig {
    TrackConfig {
        inputs: vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(input)],
        request: VariableRequest {
            name: "msl".into(),
            level: None,
        },
        algorithm: Algorithm::Simple,
        mode: Mode::Min,
        threshold: None,
        window: 5,
        radius: Distance::from_km(500.0),
        hodges: None,
        selection: TimeSelection::All,
        output: Destination::Stdout,
        format: OutputFormat::Imilast,
        write_options: WriteOptions::default(),
        backend,
        threads,
        quiet: true,
        report: None,
        min_length: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("end to end DJF 2.5deg");
    group.sample_size(20);
    for (input, label) in [
        ("era5_msl_2025-2026_djf_2.5x2.5.nc", "netcdf"),
        ("era5_msl_2025-2026_djf_2.5x2.5.grib", "grib"),
    ] {
        for (backend, threads) in [(BackendKind::Serial, 1), (BackendKind::Rayon, 2)] {
            let cfg = config(input, backend, threads);
            let tracker = SimpleTracker {
                detect: cfg.detect_config(),
                radius: cfg.radius,
            };
            group.bench_function(format!("{label} {backend:?} x{threads}"), |b| {
                b.iter(|| {
                    let tracks = backend::run_local(&cfg, &tracker, backend)
                        .expect("sample tracks")
                        .tracks;
                    let mut out = Vec::with_capacity(2 << 20);
                    ImilastWriter.write(&tracks, &mut out).expect("in memory");
                    out.len()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
