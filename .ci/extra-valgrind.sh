#!/usr/bin/env bash
# CI extra: valgrind memcheck: zero errors, zero definite leaks.
# Runs the suites that exercise parsers, handles, files and threads. The
# numeric suites (test_nn, test_quant, test_train, test_data) take 20-35 min
# each under valgrind on a 2-core machine, which does not fit CI's budget;
# they run under ASan+UBSan (with LeakSanitizer) in .ci/extra-sanitize.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || { echo "run scripts/test.sh first"; exit 1; }
# LDNQ_TEST_LIGHT: suites that honour it use smaller workloads (same assertions).
export CK_FORK=no OPENBLAS_NUM_THREADS=1 LDNQ_TEST_TMP=$PWD/build/tests/tmp LDNQ_TEST_LIGHT=1
fail=0
for name in test_core test_ops test_io test_io_net test_robust test_threads test_faults \
            test_fuzz_replay; do
  t=build/tests/$name
  [ -x "$t" ] || { echo "missing $t"; fail=1; continue; }
  echo "== valgrind $t"
  if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       --show-leak-kinds=definite "$t" > "$t.valgrind.log" 2>&1; then
    tail -40 "$t.valgrind.log"; fail=1
  fi
done
exit $fail
