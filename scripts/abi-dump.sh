#!/usr/bin/env bash
# Builds libldnq.so with debug info in build-abi/ and writes its public ABI
# (abidw) to $1. Used by scripts/abi-baseline.sh (the committed baseline) and
# .ci/extra-abi.sh (the comparison), so both describe the library the same
# way: stable functions only (abi/libldnq.suppr drops ldnq_debug_*),
# no corpus or compilation directory, source paths relative to the tree
# (the build maps them with -ffile-prefix-map).
set -euo pipefail
out=$1
cd "$(dirname "$0")/.."
cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=Debug -DLDNQ_BUILD_TESTS=OFF \
  -DLDNQ_BUILD_EXAMPLES=OFF -DLDNQ_BUILD_BENCH=OFF -DLDNQ_BUILD_STATIC=OFF > /dev/null
cmake --build build-abi -j"$(nproc)" --target ldnq
abidw --no-corpus-path --no-comp-dir-path --headers-dir include/ldnq --drop-private-types \
  --suppressions abi/libldnq.suppr --out-file "$out" build-abi/libldnq.so
if grep -q "$PWD" "$out"; then
  echo "abi-dump: $out still names the source tree $PWD" >&2
  exit 1
fi
