#!/usr/bin/env bash
# Per-core network throughput, libldnq vs PyTorch, for a shared machine:
# both run ONE thread and rate images per second of process CPU time, which
# other load barely disturbs (wall figures do not survive a busy machine;
# run_nn.sh is the two-thread wall comparison for a quiet one). Both OpenBLAS
# settings, the two programs alternating `reps` times, best of each shown.
# Usage: tests/bench/run_nn_cpu.sh [build_dir] [min_seconds] [reps]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
secs="${2:-3}"
reps="${3:-2}"
best() {
  awk '{ if (!($1 in m)) { o[n++] = $1; m[$1] = $2 } else if ($2 > m[$1]) m[$1] = $2 }
       END { for (i = 0; i < n; i++) print o[i], m[o[i]] }'
}
table() {
  local label="$1"
  shift
  local ours="" theirs="" r
  for ((r = 0; r < reps; r++)); do
    ours+="$("$@" OPENBLAS_NUM_THREADS=1 LDNQ_NUM_THREADS=1 "$build/tests/bench/bench_nn" "$secs" cpu)"$'\n'
    theirs+="$("$@" OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/bench_nn_torch.py" "$secs" cpu 1)"$'\n'
  done
  ours="$(printf '%s' "$ours" | best)"
  theirs="$(printf '%s' "$theirs" | best)"
  echo "== $label (1 thread each, images per CPU second, best of $reps)"
  printf '%-22s %12s %12s %8s\n' case "ldnq" "torch" ratio
  while read -r name v; do
    local t
    t="$(printf '%s\n' "$theirs" | awk -v n="$name" '$1 == n {print $2}')"
    printf '%-22s %12s %12s %8s\n' "$name" "$v" "$t" "$(awk -v a="$v" -v b="$t" 'BEGIN {printf "%.2f", a / b}')"
  done <<<"$ours"
}
table "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}" env
table "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
