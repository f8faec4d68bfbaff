#!/usr/bin/env bash
# Image-folder loading, libldnq vs Pillow/torchvision on the same generated
# JPEGs (decode + resize 256 + centre crop 224 + normalise): 200 of 500x375
# (ImageNet-like) and 40 of 1600x1200 (where DCT scaling applies).
#   tests/bench/run_imagefolder.sh [build-dir] [repeats]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
reps=${2:-3}
bench=$build/tests/bench/bench_imagefolder
[ -x "$bench" ] || { echo "build first: $bench missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for set in "200 500 375" "40 1600 1200"; do
  read -r count w h <<<"$set"
  dir=$tmp/img_${w}x$h
  "$bench" "$dir" "$count" "$reps" "$w" "$h" >"$tmp/c"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" "$dir" "$count" "$reps" "$w" "$h" |
    sed 's/^/noenv_/' >>"$tmp/c"
  /usr/bin/python3 "$src/tests/bench/bench_imagefolder_pil.py" "$dir" "$reps" >"$tmp/py" || true
  echo "== $count JPEGs of ${w}x$h"
  printf '%-34s %12s\n' config images_per_s
  cat "$tmp/py" "$tmp/c" | awk '{ printf "%-34s %12s\n", $1, $2 }'
done
