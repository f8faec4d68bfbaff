# Shared set-up of the shell tests, sourced first: . "${BASH_SOURCE%/*}/lib.sh" NAME
# (ctest runs each test with LDNQ_SOURCE_DIR, LDNQ_BINARY_DIR and LDNQ_TEST_TMP set;
# tests/CMakeLists.txt leaves this file out of the test list).
# Sets src, bin, ldnq (the CLI), ex (the example programs' folder), tmp (a fresh
# $LDNQ_TEST_TMP/NAME with an empty data/ folder), py (a python3), fails, and:
#   bad MSG...       records a failure (the test goes on)
#   need CMD...      skips the test (exit 77) unless every CMD exists
#   finish           exits 1 with the failure count, or prints "NAME: all ok"
#   make_weights FILE [SEED [ARCH [CHANNELS [CLASSES]]]]
#                    a network from reset_parameters(SEED), saved as .pth; defaults
#                    3, resnet20, 1 channel, 10 classes
#   idx [-d DIR] [-c] [-l HEX] PREFIX COUNT SEED
#                    COUNT 28x28 IDX images and labels (i % 10) in DIR (default
#                    $tmp/data): random pixels from SEED, or with -c a brightness that
#                    follows the class (learnable); -l sets the last label's byte
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

make_weights() { # FILE [SEED [ARCH [CHANNELS [CLASSES]]]]
  if [ ! -x "$tmp/.make_weights" ]; then
    cat >"$tmp/.make_weights.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <ldnq/ldnq.h>
int main(int argc, char **argv) {
  ldnq_network *net = NULL;
  ldnq_arch a = LDNQ_ARCH_RESNET20;
  ldnq_status st = argc > 3 ? ldnq_arch_from_name(argv[3], &a) : LDNQ_OK;
  if (!st)
    st = ldnq_network_create(a, argc > 4 ? atoi(argv[4]) : 1, argc > 5 ? atoi(argv[5]) : 10, &net);
  if (!st) st = ldnq_network_reset_parameters(net, argc > 2 ? strtoull(argv[2], NULL, 10) : 3);
  if (!st) st = ldnq_network_save(net, argv[1], LDNQ_FORMAT_PTH_ZIP);
  if (st) fprintf(stderr, "make_weights: %s\n", ldnq_last_error());
  ldnq_network_free(net);
  return st != LDNQ_OK;
}
C
    cc -std=c11 -I"$src/include" "$tmp/.make_weights.c" -L"$bin" -lldnq -Wl,-rpath,"$bin" \
      -o "$tmp/.make_weights" || { echo "cannot build make_weights"; exit 1; }
  fi
  "$tmp/.make_weights" "$@" || { echo "make_weights $*: failed"; exit 1; }
}

idx() { # [-d DIR] [-c] [-l HEX] PREFIX COUNT SEED
  local dir=$tmp/data classes=0 last= o OPTIND=1
  while getopts d:cl: o; do
    case $o in d) dir=$OPTARG ;; c) classes=1 ;; l) last=$OPTARG ;; *) return 1 ;; esac
  done
  shift $((OPTIND - 1))
  need xxd
  local n=$2 i
  mkdir -p "$dir"
  { printf '\x00\x00\x08\x03'; printf "%08x" "$n" | xxd -r -p; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'
    if [ $classes = 1 ]; then
      LC_ALL=C awk -v n="$n" -v s="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) for (p = 0; p < 784; p++)
        printf "%c", int(rand() * 64 + (i % 10) * 19) }'
    else
      LC_ALL=C awk -v n=$((n * 784)) -v s="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'
    fi; } >"$dir/$1-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01'; printf "%08x" "$n" | xxd -r -p
    for ((i = 0; i < n; i++)); do
      if [ -n "$last" ] && [ $i -eq $((n - 1)) ]; then printf "\\x$last"; else printf "\\x0$((i % 10))"; fi
    done; } >"$dir/$1-labels-idx1-ubyte"
}
