"""Check that stormtrack's CSV, NetCDF, TRACK and JSON outputs read in the
Python tools climate scientists use, and agree with its IMILAST output.

Usage: check.py DIR, where DIR holds tracks.txt (IMILAST), tracks.csv,
tracks.nc, tracks.tdump and tracks.json written by stormtrack from the same
input. For each reader the number of tracks and points, and the time,
position and value of the first and last point, must equal the IMILAST file's
(parsed here independently). Prints one PASS or FAIL line per check; exits 1
on any failure.
"""

import json
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import huracanpy
import numpy as np
import pandas as pd
import xarray as xr

# Our CSV times end in "Z" (UTC, on purpose); numpy's datetime64 has no time
# zones, so xarray warns once when huracanpy converts them. The times are
# checked below, so the warning says nothing about the output.
warnings.filterwarnings(
    "ignore",
    message="no explicit representation of timezones available for np.datetime64",
    category=UserWarning,
)

# Values in IMILAST units (hPa for msl) print with 6 decimals.
VALUE_TOL = 5e-7
# NetCDF keeps stored units: msl in Pa.
PA_PER_HPA = 100.0


def parse_imilast(path):
    """Tracks of an IMILAST file as lists of (DateI10, lon, lat, value)."""
    tracks = []
    with open(path) as f:
        header = f.readline()
        assert header.startswith("99"), header
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "90":
                tracks.append([])
            else:
                tracks[-1].append(
                    (fields[3], float(fields[8]), float(fields[9]), float(fields[10]))
                )
    return tracks


class Reference:
    def __init__(self, tracks):
        self.tracks = len(tracks)
        self.points = sum(len(t) for t in tracks)
        self.first = tracks[0][0]
        self.last = tracks[-1][-1]


def date10(t):
    return pd.Timestamp(t).strftime("%Y%m%d%H")


def same_lon(a, b):
    return abs(((a - b) + 180.0) % 360.0 - 180.0) < 1e-6


def compare(name, ref, tracks, points, first, last, value_scale=1.0):
    """first/last: (time as anything pandas reads, lon, lat, value)."""
    problems = []
    if tracks != ref.tracks:
        problems.append(f"{tracks} tracks, IMILAST has {ref.tracks}")
    if points != ref.points:
        problems.append(f"{points} points, IMILAST has {ref.points}")
    for which, got, want in (("first", first, ref.first), ("last", last, ref.last)):
        t, lon, lat, value = got
        if date10(t) != want[0]:
            problems.append(f"{which} point at {date10(t)}, IMILAST {want[0]}")
        if not same_lon(float(lon), want[1]) or abs(float(lat) - want[2]) > 1e-6:
            problems.append(f"{which} point at ({lat}, {lon}), IMILAST ({want[2]}, {want[1]})")
        if abs(float(value) / value_scale - want[3]) > VALUE_TOL:
            problems.append(f"{which} value {float(value) / value_scale}, IMILAST {want[3]}")
    if problems:
        print(f"FAIL {name}: " + "; ".join(problems))
        return False
    print(f"PASS {name}: {tracks} tracks, {points} points, first and last points agree")
    return True


def row(ds, i, value_var):
    return (ds.time.values[i], ds.lon.values[i], ds.lat.values[i], ds[value_var].values[i])


def check_pandas_csv(ref, path):
    df = pd.read_csv(path)
    first, last = df.iloc[0], df.iloc[-1]
    return compare(
        "pandas csv",
        ref,
        df.track_id.nunique(),
        len(df),
        (first.time, first.lon, first.lat, first.msl),
        (last.time, last.lon, last.lat, last.msl),
    )


def check_xarray_netcdf(ref, path):
    ds = xr.open_dataset(path)
    assert ds.attrs["featureType"] == "trajectory", ds.attrs
    assert ds.track_id.attrs["cf_role"] == "trajectory_id"
    assert int(ds.rowSize.sum()) == ds.sizes["obs"]
    ok = compare(
        "xarray netcdf",
        ref,
        ds.sizes["trajectory"],
        ds.sizes["obs"],
        row(ds, 0, "msl"),
        row(ds, -1, "msl"),
        PA_PER_HPA,
    )
    ds.close()
    return ok


def check_huracanpy(name, ref, ds, value_var, value_scale=1.0):
    return compare(
        name,
        ref,
        len(np.unique(ds.track_id.values)),
        ds.sizes["record"] if "record" in ds.sizes else ds.track_id.size,
        row(ds, 0, value_var),
        row(ds, -1, value_var),
        value_scale,
    )


def check_json(ref, path):
    doc = json.loads(Path(path).read_text())
    assert doc["format"] == "stormtrack-tracks" and doc["version"] == 1, doc.keys()
    tracks = doc["tracks"]
    p0, p1 = tracks[0]["points"][0], tracks[-1]["points"][-1]
    point = lambda p: (p["time"], p["lon"], p["lat"], p["value"])  # noqa: E731
    return compare(
        "json",
        ref,
        len(tracks),
        sum(len(t["points"]) for t in tracks),
        point(p0),
        point(p1),
    )


def main(directory):
    d = Path(directory)
    ref = Reference(parse_imilast(d / "tracks.txt"))
    print(
        f"versions: pandas {pd.__version__}, xarray {xr.__version__}, "
        f"huracanpy {version('huracanpy')}, numpy {np.__version__}"
    )
    checks = [
        ("pandas csv", lambda: check_pandas_csv(ref, d / "tracks.csv")),
        ("xarray netcdf", lambda: check_xarray_netcdf(ref, d / "tracks.nc")),
        (
            "huracanpy netcdf",
            lambda: check_huracanpy(
                "huracanpy netcdf", ref, huracanpy.load(str(d / "tracks.nc")), "msl", PA_PER_HPA
            ),
        ),
        (
            "huracanpy csv",
            lambda: check_huracanpy("huracanpy csv", ref, huracanpy.load(str(d / "tracks.csv")), "msl"),
        ),
        # huracanpy names TRACK's value column "vorticity", whatever it holds.
        (
            "huracanpy tdump",
            lambda: check_huracanpy(
                "huracanpy tdump",
                ref,
                huracanpy.load(str(d / "tracks.tdump"), source="TRACK"),
                "vorticity",
            ),
        ),
        ("json", lambda: check_json(ref, d / "tracks.json")),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(check())
        except Exception as e:  # a reader that fails is a failed check
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            results.append(False)
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
