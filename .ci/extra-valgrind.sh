#!/usr/bin/env bash
# CI extra: valgrind memcheck over every Check suite: zero errors, zero definite leaks.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || { echo "run scripts/test.sh first"; exit 1; }
# LDNQ_TEST_LIGHT: suites that honour it use smaller workloads (same assertions).
export CK_FORK=no OPENBLAS_NUM_THREADS=1 LDNQ_TEST_TMP=$PWD/build/tests/tmp LDNQ_TEST_LIGHT=1
fail=0
for t in build/tests/test_*; do
  [ -x "$t" ] || continue
  echo "== valgrind $t"
  if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       --show-leak-kinds=definite "$t" > "$t.valgrind.log" 2>&1; then
    tail -40 "$t.valgrind.log"; fail=1
  fi
done
exit $fail
