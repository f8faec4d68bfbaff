#!/usr/bin/env bash
# Per-layer solver, libldnq vs the numpy reference loop, on the golden cases.
#   tests/bench/run_admm.sh [build-dir] [repeats]
# Prints a table with both times and the speed-up, under the current
# environment (OPENBLAS_CORETYPE as set) and with it unset.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
reps=${2:-5}
data=$src/tests/data/admm
bench=$build/tests/bench/bench_admm
[ -x "$bench" ] || { echo "build first: $bench missing" >&2; exit 1; }
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" "$src/tests/bench/admm_numpy.py" "$data" "$reps" >"$tmp/np"
"$bench" "$data" "$reps" >"$tmp/c"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" "$data" "$reps" >"$tmp/c2"
printf '%-16s %12s %12s %12s %9s %6s\n' case numpy_s ldnq_s ldnq_noenv_s speedup iters
for f in np c c2; do sort "$tmp/$f" >"$tmp/$f.s"; done
join "$tmp/np.s" "$tmp/c.s" | join - "$tmp/c2.s" |
  awk '{ printf "%-16s %12.5f %12.5f %12.5f %8.1fx %6s\n", $1, $2, $5, $8, $2 / $5, $7 }'
