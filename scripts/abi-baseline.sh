#!/usr/bin/env bash
# Writes the public ABI of a -g build of libldnq.so to abi/libldnq.abi (the baseline
# .ci/extra-abi.sh compares against). Run it when the ABI changes on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=Debug -DLDNQ_BUILD_TESTS=OFF \
  -DLDNQ_BUILD_EXAMPLES=OFF -DLDNQ_BUILD_BENCH=OFF > /dev/null
cmake --build build-abi -j"$(nproc)" --target ldnq
mkdir -p abi
abidw --no-corpus-path --headers-dir include/ldnq --drop-private-types \
  --out-file abi/libldnq.abi build-abi/libldnq.so
echo "wrote abi/libldnq.abi"
