//! Builds a 0.25-degree mean-sea-level-pressure series for benchmarks from
//! the samples in `data/`, with realistic numbers of centres:
//!
//! frame t = the DJF 2.5-degree series' step t, bilinearly interpolated to
//! 0.25 degrees, plus the small-scale structure of the real 0.25-degree frame
//! (that frame minus its own 2.5-degree version, interpolated back), shifted
//! east by `--shift` cells per step so it moves a little each step.
//!
//! Written as NetCDF-4 like ERA5: float32 `msl` in Pa, `valid_time` in
//! seconds since 1970-01-01, chunks of `--chunk` steps of whole frames, zlib
//! level 1 with shuffle.
//!
//! cargo run --release --example make_series -- --steps 240 -o /tmp/series.nc

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use ndarray::{s, Array2};
use stormtrack::field::Frame;
use stormtrack::io::{self, VariableRequest};

/// Coarse cells per fine cell side (2.5 / 0.25).
const RATIO: usize = 10;

#[derive(Debug, Parser)]
struct Args {
    /// Time steps to write (the 2.5-degree series is cycled if shorter).
    #[arg(long, default_value_t = 240)]
    steps: usize,
    /// Steps per storage chunk.
    #[arg(long, default_value_t = 12)]
    chunk: usize,
    /// Eastward shift of the small-scale structure per step, in 0.25-degree cells.
    #[arg(long, default_value_t = 1)]
    shift: usize,
    /// The 2.5-degree series.
    #[arg(long, default_value = "data/era5_msl_2025-2026_djf_2.5x2.5.nc")]
    coarse: PathBuf,
    /// The real 0.25-degree frame.
    #[arg(long, default_value = "data/era5_msl_2025120100_0.25x0.25.nc")]
    fine: PathBuf,
    /// Output NetCDF-4 file.
    #[arg(long, short = 'o')]
    output: PathBuf,
}

fn f32_frame(frame: Frame) -> Array2<f32> {
    match frame {
        Frame::F32(a) => a,
        Frame::F64(a) => a.mapv(|v| v as f32),
    }
}

/// Bilinear interpolation of a global coarse grid (rows from pole to pole,
/// columns wrapping) to `RATIO` times its resolution; coarse points are kept.
fn refine(coarse: &Array2<f32>) -> Array2<f32> {
    let (rows, cols) = coarse.dim();
    let (fr, fc) = ((rows - 1) * RATIO + 1, cols * RATIO);
    Array2::from_shape_fn((fr, fc), |(i, j)| {
        let (r, c) = (i / RATIO, j / RATIO);
        let (wr, wc) = (
            (i % RATIO) as f32 / RATIO as f32,
            (j % RATIO) as f32 / RATIO as f32,
        );
        let r1 = (r + 1).min(rows - 1);
        let c1 = (c + 1) % cols;
        let top = coarse[(r, c)] * (1.0 - wc) + coarse[(r, c1)] * wc;
        let bottom = coarse[(r1, c)] * (1.0 - wc) + coarse[(r1, c1)] * wc;
        top * (1.0 - wr) + bottom * wr
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.steps == 0 || args.chunk == 0 {
        bail!("--steps and --chunk must be at least 1");
    }
    let msl = VariableRequest {
        name: "msl".into(),
        level: None,
    };
    let mut coarse = io::open(&args.coarse, &msl)?;
    let mut fine = io::open(&args.fine, &msl)?;
    let cmeta = coarse.meta().clone();
    let fmeta = fine.meta().clone();
    let fine0 = f32_frame(fine.read(0, 1)?.remove(0));
    let (rows, cols) = fine0.dim();
    if (cmeta.grid.rows() - 1) * RATIO + 1 != rows || cmeta.grid.cols() * RATIO != cols {
        bail!(
            "{} is not a 10x refinement of {}",
            args.fine.display(),
            args.coarse.display()
        );
    }
    let detail = &fine0 - &refine(&fine0.slice(s![..;RATIO, ..;RATIO]).to_owned());

    let mut file = netcdf::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    file.add_dimension("valid_time", args.steps)?;
    file.add_dimension("latitude", rows)?;
    file.add_dimension("longitude", cols)?;
    let mut lat = file.add_variable::<f64>("latitude", &["latitude"])?;
    lat.put_attribute("units", "degrees_north")?;
    lat.put_attribute("standard_name", "latitude")?;
    lat.put_values(&fmeta.grid.lat, ..)?;
    let mut lon = file.add_variable::<f64>("longitude", &["longitude"])?;
    lon.put_attribute("units", "degrees_east")?;
    lon.put_attribute("standard_name", "longitude")?;
    lon.put_values(&fmeta.grid.lon, ..)?;
    let n = cmeta.times.len();
    let step = cmeta.times[1] - cmeta.times[0];
    let times: Vec<i64> = (0..args.steps)
        .map(|t| cmeta.times[t % n] + (t / n) as i64 * n as i64 * step)
        .collect();
    let mut time = file.add_variable::<i64>("valid_time", &["valid_time"])?;
    time.put_attribute("units", "seconds since 1970-01-01")?;
    time.put_attribute("standard_name", "time")?;
    time.put_attribute("calendar", "proleptic_gregorian")?;
    time.put_values(&times, ..)?;
    let mut var = file.add_variable::<f32>("msl", &["valid_time", "latitude", "longitude"])?;
    var.set_chunking(&[args.chunk.min(args.steps), rows, cols])?;
    var.set_compression(1, true)?;
    var.put_attribute("units", "Pa")?;
    var.put_attribute("standard_name", "air_pressure_at_mean_sea_level")?;
    var.put_attribute("long_name", "Mean sea level pressure")?;
    for t0 in (0..args.steps).step_by(args.chunk) {
        let k = args.chunk.min(args.steps - t0);
        let mut block = Vec::with_capacity(k * rows * cols);
        for t in t0..t0 + k {
            let smooth = refine(&f32_frame(coarse.read(t % n, 1)?.remove(0)));
            let shift = (t * args.shift) % cols;
            for i in 0..rows {
                for j in 0..cols {
                    block.push(smooth[(i, j)] + detail[(i, (j + cols - shift) % cols)]);
                }
            }
        }
        var.put_values(&block, ([t0, 0, 0], [k, rows, cols]))?;
    }
    eprintln!(
        "make_series: wrote {} steps of {rows} x {cols} to {} (chunks of {} steps, zlib 1, shuffle)",
        args.steps,
        args.output.display(),
        args.chunk
    );
    Ok(())
}
