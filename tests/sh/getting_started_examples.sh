#!/usr/bin/env bash
# The complete per-layer examples of docs/GETTING_STARTED.md (a linear layer and a
# convolution) compile warning-free against the build tree and run: each exits 0 only when
# its weights lie on alpha x codes and L-DNQ's error is at most the plain projection's.
. "${BASH_SOURCE%/*}/lib.sh" getting_started_examples
set -e
for ex in per_layer_linear per_layer_conv; do
  awk -v tag="<!-- example: $ex -->" '$0 == tag {f=1; next} f && /^```c/ {g=1; next} g && /^```/ {exit} g {print}' \
    "$src/docs/GETTING_STARTED.md" >"$tmp/$ex.c"
  [ "$(wc -l <"$tmp/$ex.c")" -gt 30 ] || { echo "$ex: not found in GETTING_STARTED.md"; exit 1; }
  cc -std=c11 -Wall -Wextra -Werror -I"$src/include" "$tmp/$ex.c" -L"$bin" -lldnq -lm \
     -Wl,-rpath,"$bin" -o "$tmp/$ex"
  out=$("$tmp/$ex") || { echo "$ex failed: $out"; exit 1; }
  echo "$out"
  grep -q "on the grid: yes" <<<"$out"
done
grep -q "^linear 4x16: alpha" <<<"$("$tmp/per_layer_linear")"
grep -Eq "^conv 8x3x3x3: alpha [0-9.]+, [0-9]+ ADMM iterations, H from 2560 positions" <<<"$("$tmp/per_layer_conv")"
echo "getting_started_examples: ok"
