#!/usr/bin/env bash
# Extracts the C example from README.md, compiles it against the build tree and runs it.
. "${BASH_SOURCE%/*}/lib.sh" readme_example
set -e
awk '/readme-example/{f=1;next} f&&/^```c/{g=1;next} g&&/^```/{exit} g{print}' \
  "$src/README.md" > "$tmp/example.c"
test -s "$tmp/example.c"
cc -std=c11 -Wall -Wextra -Werror -I"$src/include" "$tmp/example.c" -L"$bin" -lldnq \
   -Wl,-rpath,"$bin" -o "$tmp/example"
out=$("$tmp/example")
echo "$out"
grep -q "6 elements" <<<"$out"
