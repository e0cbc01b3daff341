#!/usr/bin/env bash
# Makes the Zarr test stores and their PyStormTracker 0.5.0 references.
#
#   bash tests/data/oracle/make_zarr_oracle.sh [VENV]
#
# VENV (default /work/venv-pst) holds pystormtracker[all]==0.5.0 and zarr 3
# (zarr 3.1.6, numcodecs 0.16.6, xarray 2026.9.0, numpy 2.4.6). Writes the
# stores of make_zarr_stores.py into this directory, then runs
# PyStormTracker's `stormtracker` on each, and on the repository's
# data/era5_vo850_2025-2026_djf_2.5x2.5.zarr, keeping its output unedited as
# the `.ref.txt` files (see README.md). msl_v2_two_levels.zarr has two levels,
# which PyStormTracker cannot select between: it has no reference of its own.
set -euo pipefail
venv=${1:-/work/venv-pst}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
"$venv/bin/python" make_zarr_stores.py . --data ../../../data

track() { # INPUT VAR MODE REF
    "$venv/bin/stormtracker" -i "$1" -v "$2" -m "$3" -o "$4" -b serial >/dev/null
}
track msl_v3_sharded_zstd.zarr msl min msl_v3_sharded_zstd.ref.txt
track msl_v3_int16_packed.zarr msl min msl_v3_int16_packed.ref.txt
track msl_v2_latlon.zarr msl min msl_v2_latlon.ref.txt
track msl_v2_step_chunks.zarr msl min msl_v2_step_chunks.ref.txt
track msl_v3_level.zarr msl min msl_v3_level.ref.txt
track ../../../data/era5_vo850_2025-2026_djf_2.5x2.5.zarr vo max era5_vo850_djf_zarr.ref.txt
