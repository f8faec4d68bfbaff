#!/usr/bin/env bash
# Smoke test of the example programs (examples/*.c) on tiny inputs.
set -euo pipefail
bin=$LDNQ_BINARY_DIR/examples; tmp=$LDNQ_TEST_TMP/examples_smoke
mkdir -p "$tmp"

# custom_layer: L-DNQ must beat the plain projection on the solver's own
# error and on held-out outputs, and use at most `levels` distinct values.
for lv in 3 5; do
  out=$("$bin/custom_layer" --levels $lv --cin 4 --cout 8 --batches 10 --seed 3)
  echo "$out"
  echo "$out" | awk -v lv=$lv '
    /^layer error/ { p=$3; q=$5; gsub(",", "", p); if (!(q+0 <= p+0)) { print "layer error not reduced"; bad=1 } ; seen++ }
    /^held-out/    { p=$6; q=$8; gsub(",", "", p); if (!(q+0 < p+0)) { print "held-out error not reduced"; bad=1 } ; seen++ }
    /distinct values/ { if ($NF+0 > lv || $NF+0 < 2) { print "wrong value count"; bad=1 } ; seen++ }
    END { exit (bad || seen != 3) }'
done
# Bad arguments are a usage error (exit 2), not a crash.
set +e
"$bin/custom_layer" --levels 3 --cin 0 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "custom_layer --cin 0 exited $rc"; exit 1; }
"$bin/custom_layer" --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "custom_layer --bogus exited $rc"; exit 1; }
"$bin/custom_layer" --levels 4 >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || { echo "custom_layer --levels 4 exited $rc"; exit 1; }
set -e
echo "examples_smoke: ok"
