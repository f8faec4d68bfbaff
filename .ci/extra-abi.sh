#!/usr/bin/env bash
# CI extra: the public ABI must match the committed baseline abi/libldnq.abi
# (docs/ABI.md). Additions are reported but allowed; changes and removals fail.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=Debug -DLDNQ_BUILD_TESTS=OFF \
  -DLDNQ_BUILD_EXAMPLES=OFF -DLDNQ_BUILD_BENCH=OFF > /dev/null
cmake --build build-abi -j"$(nproc)" --target ldnq
abidw --no-corpus-path --headers-dir include/ldnq --drop-private-types \
  --out-file build-abi/current.abi build-abi/libldnq.so
set +e
abidiff --no-added-syms abi/libldnq.abi build-abi/current.abi
rc=$?
set -e
# abidiff: bit 2 (4) = ABI change, bit 3 (8) = incompatible change; 1/2 = usage errors.
if [ $rc -ne 0 ]; then
  echo "abidiff exit status $rc: the public ABI differs from abi/libldnq.abi" >&2
  exit 1
fi
echo "ABI matches the baseline"
