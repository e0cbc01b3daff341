//! A time step that is entirely missing (all NaN): the run completes, warns
//! on stderr naming the step and its time, and the tracks are split around it.

use crate::common;
use crate::common::{axis, workdir, Field};
use stormtrack::output::imilast;

#[test]
fn all_nan_step_splits_tracks_and_warns() {
    let (dir, out) = workdir();
    let input = dir.path().join("gap.nc");
    let mut field = Field::moving_low(axis(0.0, 6.0, 6));
    let frame = field.lat.len() * field.lon.len();
    field.values[2 * frame..3 * frame].fill(f32::NAN);
    field.write(&input);

    let o = common::run(
        common::stormtrack()
            .arg("track")
            .arg(&input)
            .args(["--var", "msl", "-o"])
            .arg(&out),
    );
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        vec!["stormtrack: warning: step 2 (2000-01-01T12:00:00) of 'msl' is entirely missing (all NaN); it has no centres and closes every track"],
        "{err}"
    );

    let tracks = imilast::read(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // Hours since 2000-01-01 (946684800 s after 1970-01-01).
    let hours: Vec<Vec<i64>> = tracks
        .iter()
        .map(|t| t.points().map(|p| (p.time - 946_684_800) / 3600).collect())
        .collect();
    // One low, seen at steps 0-1 and 3-5: two tracks, none crossing step 2 (12 h).
    assert_eq!(hours, vec![vec![0, 6], vec![18, 24, 30]]);
    let lons: Vec<f64> = tracks
        .iter()
        .flat_map(|t| t.points().map(|p| p.lon).collect::<Vec<_>>())
        .collect();
    assert_eq!(lons, vec![100.0, 105.0, 115.0, 120.0, 125.0]);
}
