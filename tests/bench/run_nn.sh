#!/usr/bin/env bash
# Network throughput, libldnq vs PyTorch (2 threads), side by side: once with
# the environment as set (CI sets OPENBLAS_CORETYPE=Haswell) and once with
# OpenBLAS's own core detection (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE);
# both libraries use the same OpenBLAS setting in each table. The two
# programs alternate `reps` times; the best images/s of each is shown (the
# machine is shared, so the best run is the least disturbed one).
# Usage: tests/bench/run_nn.sh [build_dir] [min_seconds] [reps]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
secs="${2:-5}"
reps="${3:-3}"
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1

best() { # merges "<case> <value>" lines keeping the maximum per case, in first-seen order
  awk '{ if (!($1 in m)) { o[n++] = $1; m[$1] = $2 } else if ($2 > m[$1]) m[$1] = $2 }
       END { for (i = 0; i < n; i++) print o[i], m[o[i]] }'
}

table() { # $1 = label; remaining args = env prefix
  local label="$1"
  shift
  local ours="" theirs="" r
  for ((r = 0; r < reps; r++)); do
    ours+="$("$@" "$build/tests/bench/bench_nn" "$secs")"$'\n'
    if [ $have_torch = 1 ]; then
      theirs+="$("$@" /usr/bin/python3 "$here/bench_nn_torch.py" "$secs")"$'\n'
    fi
  done
  ours="$(printf '%s' "$ours" | best)"
  theirs="$(printf '%s' "$theirs" | best)"
  echo "== $label (best of $reps)"
  printf '%-22s %12s %12s %8s\n' case "ldnq img/s" "torch img/s" ratio
  while read -r name v; do
    local t q
    t="$(printf '%s\n' "$theirs" | awk -v n="$name" '$1 == n {print $2}')"
    if [ -n "$t" ]; then
      q="$(awk -v a="$v" -v b="$t" 'BEGIN {printf "%.2f", a / b}')"
    else
      t="-"
      q="-"
    fi
    printf '%-22s %12s %12s %8s\n' "$name" "$v" "$t" "$q"
  done <<<"$ours"
}

table "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}" env
table "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
