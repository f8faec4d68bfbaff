#!/usr/bin/env bash
# Builds libldnq.so with debug info in build-abi/ and writes its public ABI
# (abidw) to $1. Used by scripts/abi-baseline.sh (the committed baseline) and
# .ci/extra-abi.sh (the comparison), so both describe the library the same
# way: stable functions only (abi/libldnq.suppr drops ldnq_debug_*),
# no corpus or compilation directory, source paths relative to the tree
# (the build maps them with -ffile-prefix-map).
#
# --exported-interfaces-only: abidw builds function types from the DIEs of
# exported functions only. Without it abidw also reads the declaration DIEs
# GCC emits in every unit that calls a public function, and a function called
# from a unit whose path sorts before the defining one (lib/data/evaluate.c
# calls ldnq_network_forward) kept its ELF symbol "not referenced by debug
# info": abidiff could not see a changed signature (26 of 212 functions). The dump
# is checked below: every function of the stable nodes of cmake/ldnq.map must
# have a function-decl tied to its ELF symbol.
set -euo pipefail
out=$1
cd "$(dirname "$0")/.."
cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=Debug -DLDNQ_BUILD_TESTS=OFF \
  -DLDNQ_BUILD_EXAMPLES=OFF -DLDNQ_BUILD_BENCH=OFF -DLDNQ_BUILD_STATIC=OFF > /dev/null
cmake --build build-abi -j"$(nproc)" --target ldnq
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
abidw --no-corpus-path --no-comp-dir-path --headers-dir include/ldnq --drop-private-types \
  --exported-interfaces-only --suppressions abi/libldnq.suppr --out-file "$tmp" \
  build-abi/libldnq.so
if grep -q "$PWD" "$tmp"; then
  echo "abi-dump: the dump still names the source tree $PWD" >&2
  exit 1
fi
# Stable functions (every node of the map but LDNQ_EXPERIMENTAL) without a
# function-decl carrying their elf-symbol-id: abidiff would not compare them.
# First output line: the number of stable functions; then the untied ones.
report=$(awk '
  FNR == NR {
    if (match($0, /^(LDNQ_[A-Za-z0-9_.]+)[ \t]*\{/)) { node = $1; next }
    if ($0 ~ /^\}/) { node = ""; next }
    if (node != "" && node != "LDNQ_EXPERIMENTAL" &&
        match($0, /^[ \t]+ldnq_[A-Za-z0-9_]+;/)) {
      name = $1; sub(/;$/, "", name); want[name] = 1; nwant++
    }
    next
  }
  /<function-decl / && match($0, /elf-symbol-id=\047[^\047@]+/) {
    tied[substr($0, RSTART + 15, RLENGTH - 15)] = 1
  }
  END {
    print nwant + 0; fflush()
    for (n in want) if (!(n in tied)) print n | "sort"
    close("sort")
  }' cmake/ldnq.map "$tmp")
nstable=$(printf '%s\n' "$report" | head -n 1)
untied=$(printf '%s\n' "$report" | tail -n +2)
if [ "$nstable" -eq 0 ]; then
  echo "abi-dump: found no stable functions in cmake/ldnq.map" >&2
  exit 1
fi
if [ -n "$untied" ]; then
  echo "abi-dump: stable functions of cmake/ldnq.map without type info tied to their ELF symbol:" >&2
  printf '  %s\n' $untied >&2
  exit 1
fi
mv "$tmp" "$out"
trap - EXIT
echo "abi-dump: all $nstable stable functions tied to their type info"
