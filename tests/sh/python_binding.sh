#!/usr/bin/env bash
# Python binding (bindings/python, ctypes): its unittest suite runs twice,
#  1. against the freshly built library (LDNQ_LIBRARY=$LDNQ_BINARY_DIR/libldnq.so.0),
#  2. against an installed copy (cmake --install into a temporary prefix, LDNQ_LIBRARY
#     unset, found by SONAME through LD_LIBRARY_PATH); the suite checks which file it loaded.
#     This run leaves out the slow whole-network modules (pipeline, example, leaks).
# Skips (77) only when numpy is missing.
set -euo pipefail
src=$LDNQ_SOURCE_DIR; bin=$LDNQ_BINARY_DIR; tmp=$LDNQ_TEST_TMP/python_binding
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
if ! "$py" -c 'import numpy' 2>/dev/null; then echo "numpy missing: skip"; exit 77; fi
rm -rf "$tmp"; mkdir -p "$tmp"
export LDNQ_SOURCE_DIR=$src PYTHONDONTWRITEBYTECODE=1
# A C program for the Python-vs-C forward comparison.
cc -std=c11 -Wall -Wextra -Werror -I"$src/include" "$src/tests/sh/io_net_helper.c" -L"$bin" \
   -lldnq -Wl,-rpath,"$bin" -o "$tmp/net_helper"
export LDNQ_NET_HELPER=$tmp/net_helper
run_suite() {
  (cd "$tmp" && "$py" -m unittest discover -s "$src/bindings/python/tests" -t "$src/bindings/python/tests" "$@")
}
run_modules() {
  (cd "$tmp" && PYTHONPATH="$src/bindings/python/tests" "$py" -m unittest "$@")
}
echo "== build tree: $bin/libldnq.so.0"
LDNQ_LIBRARY=$bin/libldnq.so.0 LDNQ_EXPECT_LIBRARY=$(readlink -f "$bin/libldnq.so.0") \
  LDNQ_TEST_TMP=$tmp/t1 run_suite
echo "== installed copy"
prefix=$tmp/prefix
cmake --install "$bin" --prefix "$prefix" > "$tmp/install.log"
libdir=$(dirname "$(ls "$prefix"/lib*/libldnq.so.0 | head -1)")
(
  unset LDNQ_LIBRARY
  export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LDNQ_EXPECT_LIBRARY=$(readlink -f "$libdir/libldnq.so.0") LDNQ_TEST_TMP=$tmp/t2
  run_modules test_loading test_tensor test_network test_data test_quant test_checks
)
echo "python binding: build tree and installed copy ok"
