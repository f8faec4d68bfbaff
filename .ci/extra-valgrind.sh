#!/usr/bin/env bash
# CI extra: valgrind memcheck over EVERY Check suite (tests/test_*.c):
# zero errors, zero definite leaks.
#
# Settings that differ from the normal run, and why:
# - LDNQ_TEST_LIGHT=1: suites that honour it use smaller workloads with the
#   same assertions. What the light run leaves out:
#     test_nn      matches_pytorch checks resnet20 and resnet18 against the
#                  PyTorch fixtures, not resnet32/56/34/50 (same layer types,
#                  only more blocks); grad_disabled_is_lean_and_equal runs
#                  resnet20 and resnet50 (bottleneck, pointwise conv) on
#                  32x32 images, not also resnet18 on 40x40.
#     test_faults  every 7th allocation-failure point of the big sweeps.
#     test_threads smaller inputs and fewer rounds.
#   Every layer type's forward and backward, the quantizer pipeline with the
#   cascade, the trainer with checkpoint/resume and every dataset format
#   still run here. The full workloads run in the normal ctest run and
#   under ASan+UBSan (with LeakSanitizer) in .ci/extra-sanitize.sh.
# - OPENBLAS_CORETYPE=Prescott (override: LDNQ_VALGRIND_CORETYPE): valgrind
#   emulates OpenBLAS's AVX2/FMA (Haswell) kernels about 9x slower than its
#   SSE3 ones (test_train: 412 s vs 45 s CPU under memcheck); the numeric
#   suites pass with either kernel set, and OpenBLAS's own kernels are not
#   what this run checks. The normal run keeps OPENBLAS_CORETYPE=Haswell.
# - OPENBLAS_NUM_THREADS=1, CK_FORK=no: one process, one thread per suite,
#   so memcheck sees the test bodies and leak reports stay attributable.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || { echo "run scripts/test.sh first"; exit 1; }
export CK_FORK=no OPENBLAS_NUM_THREADS=1 LDNQ_TEST_TMP=$PWD/build/tests/tmp LDNQ_TEST_LIGHT=1
export OPENBLAS_CORETYPE=${LDNQ_VALGRIND_CORETYPE:-Prescott}
# Suites run two at a time (memcheck runs each process on one core); each
# suite's log is build/tests/NAME.valgrind.log.
one() {
  local t=build/tests/$1 rc=0 t0 t1
  [ -x "$t" ] || { echo "missing $t"; return 1; }
  t0=$(date +%s)
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$t" > "$t.valgrind.log" 2>&1 || rc=$?
  t1=$(date +%s)
  echo "== valgrind $t: exit $rc, $((t1 - t0)) s wall"
  [ "$rc" -eq 0 ] || { tail -40 "$t.valgrind.log"; return 1; }
}
export -f one
names=()
for src in tests/test_*.c; do names+=("$(basename "$src" .c)"); done
[ "${#names[@]}" -gt 0 ] || { echo "no tests/test_*.c found"; exit 1; }
# The slowest suites first (test_quant alone ~20 min), so the two queues end together.
order=$(printf '%s\n' "${names[@]}" |
  awk '{ r = $0 == "test_quant" ? 0 : $0 ~ /test_(comm|train|nn|faults)$/ ? 1 : 2; print r, $0 }' |
  sort -k1,1n -k2 | cut -d' ' -f2)
# Wall time per suite: the CI budget for this extra is ~25 min.
printf '%s\n' $order | xargs -P "$(nproc)" -I{} bash -c 'one {}'
