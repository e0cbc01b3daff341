#!/usr/bin/env bash
# Speed comparison, in one run, with medians of several repetitions:
#
#   stormtrack (default backend, all cores)
#   vs (a) the I/O floor: a C program that only reads the variable
#          (benches/readonly/read_nc.c with libnetcdf, read_grib.c with ecCodes)
#   vs (b) PyStormTracker 0.5.0, serial, installed in a throw-away virtualenv
#          (skipped with a message if it cannot be installed)
#
# on the bundled ERA5 DJF 2.5-degree sample (NetCDF and GRIB) and on a
# 0.25-degree x 60-step series built from data/ by benches/tools/make_series.rs.
# Checks that stormtrack's and PyStormTracker's tracks are identical bytes and
# prints the ratios and stormtrack's peak memory.
#
#   bash benches/compare.sh                 # RUNS=5 (PyStormTracker: PST_RUNS=3)
#   SKIP_PST=1 bash benches/compare.sh      # without PyStormTracker
#
# Targets (issue "Speed"): stormtrack >= 30x faster than PyStormTracker, <= 1.2x
# the read-only program, <= 100 MB peak memory on the 0.25-degree series.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
PST_RUNS=${PST_RUNS:-3}
DIR=${DIR:-${TMPDIR:-/tmp}/stormtrack-compare}
VENV=${VENV:-$DIR/pst-venv}
mkdir -p "$DIR"

for tool in gcc pkg-config python3; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool missing" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }

cargo build --release --quiet --bin stormtrack --example make_series
BIN=$PWD/target/release/stormtrack
gcc -O2 -o "$DIR/read_nc" benches/readonly/read_nc.c $(pkg-config --cflags --libs netcdf)
gcc -O2 -o "$DIR/read_grib" benches/readonly/read_grib.c $(pkg-config --cflags --libs eccodes)

SERIES=$DIR/msl_0.25_60steps.nc
[ -s "$SERIES" ] || target/release/examples/make_series --steps 60 -o "$SERIES" >&2

PST=""
if [ -z "${SKIP_PST:-}" ]; then
    if [ -x "$VENV/bin/stormtracker" ] || {
        echo "compare.sh: installing PyStormTracker 0.5.0 into $VENV" >&2
        python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet --disable-pip-version-check "pystormtracker[all]==0.5.0"
    }; then
        PST=$VENV/bin/stormtracker
    else
        echo "compare.sh: PyStormTracker 0.5.0 could not be installed; its column is skipped" >&2
    fi
fi

# measure RUNS CMD... : prints "median_wall_s median_peak_rss_mb" of RUNS runs.
measure() {
    local runs=$1; shift
    local walls=() rss=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o "$DIR/time.txt" "$@" >/dev/null 2>"$DIR/stderr.txt" || {
            echo "compare.sh: failed: $*" >&2; cat "$DIR/stderr.txt" >&2; exit 1; }
        read -r w m <"$DIR/time.txt"
        walls+=("$w"); rss+=("$m")
    done
    python3 - "${walls[*]}" "${rss[*]}" <<'EOF'
import statistics, sys
walls = [float(x) for x in sys.argv[1].split()]
rss = [int(x) for x in sys.argv[2].split()]
print(f"{statistics.median(walls):.4f} {statistics.median(rss) / 1024:.1f}")
EOF
}

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b > 0 else 'inf')" "$1" "$2"; }

printf '%s\n' "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GB"
printf '%-28s %10s %10s %10s %9s %9s %9s %s\n' input stormtrack read-only PyStorm "st/read" "PST/st" "st MB" identical
row() { # label input var readonly-cmd...
    local label=$1 input=$2 var=$3; shift 3
    local st ro pst="" same="-"
    st=$(measure "$RUNS" "$BIN" track "$input" --var "$var" -q -o "$DIR/st.txt")
    ro=$(measure "$RUNS" "$@")
    local st_t=${st% *} st_mb=${st#* } ro_t=${ro% *}
    local pst_t="-" speedup="-"
    if [ -n "$PST" ]; then
        pst=$(measure "$PST_RUNS" "$PST" -i "$input" -v "$var" -m min -b serial -o "$DIR/pst.txt")
        pst_t=${pst% *}
        speedup=$(ratio "$pst_t" "$st_t")
        if cmp -s "$DIR/st.txt" "$DIR/pst.txt"; then same=yes; else same=NO; fi
    fi
    printf '%-28s %9ss %9ss %9ss %9s %9s %9s %s\n' "$label" "$st_t" "$ro_t" "$pst_t" "$(ratio "$st_t" "$ro_t")" "$speedup" "$st_mb" "$same"
}

row "DJF 2.5deg NetCDF (360)" data/era5_msl_2025-2026_djf_2.5x2.5.nc msl "$DIR/read_nc" data/era5_msl_2025-2026_djf_2.5x2.5.nc msl
row "DJF 2.5deg GRIB (360)" data/era5_msl_2025-2026_djf_2.5x2.5.grib msl "$DIR/read_grib" data/era5_msl_2025-2026_djf_2.5x2.5.grib
row "0.25deg NetCDF (60)" "$SERIES" msl "$DIR/read_nc" "$SERIES" msl
echo "medians of $RUNS runs (PyStormTracker: $PST_RUNS); st/read = stormtrack / read-only, PST/st = PyStormTracker / stormtrack"

# Share of linking in stormtrack's run on the 0.25-degree series, from its own
# --report, median of RUNS: the linker thread's CPU time (link_cpu: the time
# gap rule, numbering tracks, grouping them, and matching the steps that begin
# a block) over the run's wall time; the wall-clock time spent in the linker
# (link) is printed too, but with reading and detecting threads on the same
# cores it includes time the linker waits for a core. Matching each step to
# the one before is a pure function of the two steps, computed ahead on the
# detecting threads (match_ahead_cpu): printed as well, with the share that
# all linking work would take of the run were it done in the run's wall time.
link_share() {
    local shares=()
    for _ in $(seq "$RUNS"); do
        "$BIN" track "$SERIES" --var msl -q -o "$DIR/st.txt" --report "$DIR/report.json"
        shares+=("$(python3 -c "import json, sys; s = json.load(open(sys.argv[1]))['stats']; print(f\"{s['link_cpu'] / s['total']:.4f} {s['link_cpu']:.4f} {s['link']:.4f} {s['total']:.4f} {s['match_ahead_cpu']:.4f} {(s['link_cpu'] + s['match_ahead_cpu']) / s['total']:.4f}\")" "$DIR/report.json")")
    done
    printf '%s\n' "${shares[@]}" | sort -g | awk -v n="${#shares[@]}" 'NR == int((n + 1) / 2) {
        printf "linking on the 0.25deg series: linker thread %.1f%% of the run (%.3f s CPU, %.3f s wall-clock in the linker, run %.3f s; target <= 10%%)\n", $1 * 100, $2, $3, $4
        printf "  plus matching computed ahead on the detecting threads: %.3f s CPU (all linking work: %.1f%% of the run wall time)\n", $5, $6 * 100}'
}
link_share
