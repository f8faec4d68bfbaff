#!/usr/bin/env bash
# CI extra: ThreadSanitizer (clang -fsanitize=thread) over the suites that
# use the library from several threads: test_threads (distinct handles in
# parallel, shared read-only handles, per-thread errors), test_loader
# (loader worker threads), test_data (the datasets the workers read) and test_kernels (the compute thread pool, with two
# threads, called from two application threads at once). Any data race fails
# the run.
set -euo pipefail
cd "$(dirname "$0")/.."
b=build-tsan
cmake -S . -B "$b" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -DLDNQ_BUILD_EXAMPLES=OFF -DLDNQ_BUILD_BENCH=OFF > /dev/null
cmake --build "$b" -j2 --target test_threads test_loader test_data test_kernels
# OpenBLAS is not instrumented: keep it single-threaded so its own worker
# threads do not show up as false races. CK_FORK=no keeps TSan in one process.
export OPENBLAS_NUM_THREADS=1 CK_FORK=no LDNQ_TEST_TMP=$PWD/$b/tests/tmp
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
mkdir -p "$LDNQ_TEST_TMP"
for t in test_threads test_loader test_data; do
  echo "== tsan $t"
  "$b/tests/$t"
done
# The pool needs two threads whatever OpenBLAS has; its fork test starts
# threads in a child of a multi-threaded process, which TSan refuses unless
# told (die_after_fork=0).
echo "== tsan test_kernels"
LDNQ_NUM_THREADS=2 TSAN_OPTIONS="$TSAN_OPTIONS die_after_fork=0" "$b/tests/test_kernels"
