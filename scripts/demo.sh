#!/usr/bin/env bash
# Quick start: install what is missing, build stormtrack, track the bundled
# ERA5 sample and show where the tracks went.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
out=era5_msl_2025-2026_djf_2.5x2.5.imilast.txt
./target/release/stormtrack track data/era5_msl_2025-2026_djf_2.5x2.5.nc --var msl -o "$out"
echo
echo "First lines of $out:"
head -n 6 "$out"
