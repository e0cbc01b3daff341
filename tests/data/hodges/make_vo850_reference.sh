#!/usr/bin/env bash
# Regenerates PyStormTracker 0.5.0's Hodges tracks of the ERA5 DJF 850 hPa
# vorticity store (max mode, serial), gzipped beside this script. Needs a
# venv with `pip install "pystormtracker[all]==0.5.0"` (VENV, default
# /work/venv-pst); takes about 30 minutes (pure-Python splicing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv=${VENV:-/work/venv-pst}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/stormtracker" -i "$root/data/era5_vo850_2025-2026_djf_2.5x2.5.zarr" \
    -v vo -m max -a hodges -b serial -o "$work/vo850.txt"
gzip -9 -n -c "$work/vo850.txt" \
    > "$here/pystormtracker-0.5.0_hodges_era5_vo850_2025-2026_djf_2.5x2.5.imilast.txt.gz"
