#!/usr/bin/env bash
# Interoperability check of stormtrack's output formats with pandas, xarray
# and huracanpy: tracks the DJF ERA5 sample, writes IMILAST, CSV, NetCDF,
# TRACK (tdump) and JSON, and runs tests/interop/check.py on them.
#
# Usage: tests/interop/run.sh [INPUT.nc]
# Environment: STORMTRACK_BIN (default target/release/stormtrack, built if
# missing), STORMTRACK_INTEROP_VENV (default target/interop-venv; created with
# python3 -m venv and pip install pandas xarray netCDF4 huracanpy when it
# lacks them). Exits non-zero on any mismatch; one PASS/FAIL line per check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${STORMTRACK_BIN:-$root/target/release/stormtrack}
venv=${STORMTRACK_INTEROP_VENV:-$root/target/interop-venv}
input=${1:-$root/data/era5_msl_2025-2026_djf_2.5x2.5.nc}

if [ ! -x "$bin" ]; then
    cargo build --release --manifest-path "$root/Cargo.toml"
fi
if ! "$venv/bin/python" -c "import pandas, xarray, netCDF4, huracanpy" 2>/dev/null; then
    echo "interop: creating $venv (pip install pandas xarray netCDF4 huracanpy)"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        pandas xarray netCDF4 huracanpy
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ext in txt csv nc tdump json; do
    # The format comes from the extension.
    "$bin" track "$input" --var msl -o "$work/tracks.$ext" -q
done
"$venv/bin/python" "$here/check.py" "$work"
