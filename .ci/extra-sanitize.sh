#!/usr/bin/env bash
# CI extra: the whole Check suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# (Shell tests link external programs against the library and are covered by the
# normal run.)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLDNQ_SANITIZE=ON \
  -DLDNQ_BUILD_BENCH=OFF > /dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -E '^sh_'
