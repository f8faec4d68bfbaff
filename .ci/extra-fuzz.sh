#!/usr/bin/env bash
# CI extra: builds the libFuzzer targets (tests/fuzz/build, clang + ASan +
# UBSan) and runs each for 30 s on its seed corpus; any crash, leak,
# sanitizer report or broken invariant fails the run (the input is left in
# build-fuzz/fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/fuzz/build build-fuzz
# A fresh corpus each time: CI measures the seeds, not an old local corpus.
rm -rf build-fuzz/fuzz/work
LDNQ_FUZZ_BUILD=$PWD/build-fuzz LDNQ_FUZZ_JOBS=${LDNQ_FUZZ_JOBS:-2} tests/fuzz/run "${LDNQ_FUZZ_SECONDS:-30}"
