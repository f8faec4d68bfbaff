# Shared set-up of the shell tests, sourced first: . "${BASH_SOURCE%/*}/lib.sh" NAME
# (ctest runs each test with LDNQ_SOURCE_DIR, LDNQ_BINARY_DIR and LDNQ_TEST_TMP set;
# tests/CMakeLists.txt leaves this file out of the test list).
# Sets src, bin, ldnq (the CLI), ex (the example programs), tmp (a fresh
# $LDNQ_TEST_TMP/NAME with an empty data/ folder), py (a python3), fails and:
#   bad MSG...          records a failure (the test goes on)
#   need CMD...         skips the test (exit 77) unless every CMD exists
#   make_weights FILE [SEED]  a random ResNet20 for 1-channel, 10-class data (.pth)
#   idx PREFIX COUNT SEED     random 28x28 IDX images, labels i % 10, in $tmp/data
#   finish              exits 1 with the failure count, or prints "NAME: all ok"
set -uo pipefail
test_name=$1
src=$LDNQ_SOURCE_DIR; bin=$LDNQ_BINARY_DIR; ldnq=$bin/tools/ldnq/ldnq; ex=$bin/examples
tmp=$LDNQ_TEST_TMP/$test_name; rm -rf "$tmp"; mkdir -p "$tmp/data"
py=/usr/bin/python3; [ -x $py ] || py=python3
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
need() {
  local c
  for c; do command -v "$c" >/dev/null || { echo "no $c: skipped"; exit 77; }; done
}
finish() {
  [ $fails -eq 0 ] || { echo "$test_name: $fails failures"; exit 1; }
  echo "$test_name: all ok"
}

make_weights() { # FILE [SEED]
  if [ ! -x "$tmp/.mk" ]; then
    cat >"$tmp/.mk.c" <<'C'
#include <stdlib.h>
#include <ldnq/ldnq.h>
int main(int argc, char **argv) {
  ldnq_network *net = NULL;
  ldnq_status st = ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net);
  if (!st) st = ldnq_network_reset_parameters(net, argc > 2 ? strtoull(argv[2], NULL, 10) : 3);
  if (!st) st = ldnq_network_save(net, argv[1], LDNQ_FORMAT_PTH_ZIP);
  ldnq_network_free(net);
  return st != LDNQ_OK;
}
C
    cc -std=c11 -I"$src/include" "$tmp/.mk.c" -L"$bin" -lldnq -Wl,-rpath,"$bin" -o "$tmp/.mk" ||
      { echo "cannot build the weights maker"; exit 1; }
  fi
  "$tmp/.mk" "$1" "${2:-3}" || { echo "cannot write $1"; exit 1; }
}

idx() { # PREFIX COUNT SEED
  need xxd
  local n=$2
  { printf '\x00\x00\x08\x03'; printf "%08x" "$n" | xxd -r -p; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'
    LC_ALL=C awk -v n=$((n * 784)) -v s="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'; } >"$tmp/data/$1-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01'; printf "%08x" "$n" | xxd -r -p
    for ((i = 0; i < n; i++)); do printf "\\x0$((i % 10))"; done; } >"$tmp/data/$1-labels-idx1-ubyte"
}
