#!/usr/bin/env bash
# Network throughput, libldnq vs PyTorch (2 threads), side by side: once with
# the environment as set (CI sets OPENBLAS_CORETYPE=Haswell) and once with
# OpenBLAS's own core detection (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE);
# both libraries use the same OpenBLAS setting in each table.
# Usage: tests/bench/run_nn.sh [build_dir] [min_seconds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
secs="${2:-5}"
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1

table() { # $1 = label; remaining args = env prefix
  local label="$1"
  shift
  local ours theirs=""
  ours="$("$@" "$build/tests/bench/bench_nn" "$secs")"
  [ $have_torch = 1 ] && theirs="$("$@" /usr/bin/python3 "$here/bench_nn_torch.py" "$secs")"
  echo "== $label"
  printf '%-22s %12s %12s %8s\n' case "ldnq img/s" "torch img/s" ratio
  while read -r name v; do
    local t r
    t="$(printf '%s\n' "$theirs" | awk -v n="$name" '$1 == n {print $2}')"
    if [ -n "$t" ]; then
      r="$(awk -v a="$v" -v b="$t" 'BEGIN {printf "%.2f", a / b}')"
    else
      t="-"
      r="-"
    fi
    printf '%-22s %12s %12s %8s\n' "$name" "$v" "$t" "$r"
  done <<<"$ours"
}

table "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}" env
table "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
