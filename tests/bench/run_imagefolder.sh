#!/usr/bin/env bash
# Image-folder loading, libldnq vs Pillow/torchvision on the same generated
# JPEGs (decode + resize 256 + centre crop 224 + normalise): 200 of 500x375
# (ImageNet-like) and 40 of 1600x1200 (where DCT scaling applies).
#   tests/bench/run_imagefolder.sh [build-dir] [rounds]
# Each round runs every configuration once, libldnq and Python alternating,
# and the best round is kept: on a shared machine this evens out load swings.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
rounds=${2:-3}
bench=$build/tests/bench/bench_imagefolder
[ -x "$bench" ] || { echo "build first: $bench missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for set in "200 500 375" "40 1600 1200"; do
  read -r count w h <<<"$set"
  dir=$tmp/img_${w}x$h
  : >"$tmp/all"
  for _ in $(seq "$rounds"); do
    "$bench" "$dir" "$count" 1 "$w" "$h" >>"$tmp/all"
    /usr/bin/python3 "$src/tests/bench/bench_imagefolder_pil.py" "$dir" 1 >>"$tmp/all" || true
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" "$dir" "$count" 1 "$w" "$h" |
      sed 's/^/noenv_/' >>"$tmp/all"
  done
  echo "== $count JPEGs of ${w}x$h (best of $rounds rounds)"
  printf '%-34s %12s\n' config images_per_s
  awk '{ if (!($1 in b) || $2 > b[$1]) b[$1] = $2; if (!($1 in o)) o[$1] = n++ }
       END { for (k in b) printf "%d %-34s %12.1f\n", o[k], k, b[k] }' "$tmp/all" | sort -n | cut -d' ' -f2-
done
