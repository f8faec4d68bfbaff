#!/usr/bin/env bash
# ldnq eval on a small generated CIFAR-10 (binary) test split: JSON last
# line, image count, accuracy bounds, usage and error exit codes.
. "${BASH_SOURCE%/*}/lib.sh" cli_eval
set -e
mkdir -p "$tmp/cifar"
# 20 records: label byte + 3072 pixel bytes.
for i in $(seq 0 19); do
  printf "\\x0$((i % 10))"
  head -c 3072 /dev/urandom
done >"$tmp/cifar/test_batch.bin"
test "$(stat -c %s "$tmp/cifar/test_batch.bin")" -eq $((20 * 3073))

out=$("$ldnq" eval --arch resnet20 --init-seed 3 --data "cifar10:$tmp/cifar" --batch 8 --json 2>"$tmp/err")
echo "$out"
last=$(echo "$out" | tail -n 1)
echo "$last" | grep -Eq '^\{"top1": [0-9.]+, "top5": [0-9.]+, "images": 20, "seconds": [0-9.]+\}$'
top1=$(echo "$last" | sed -E 's/.*"top1": ([0-9.]+).*/\1/')
top5=$(echo "$last" | sed -E 's/.*"top5": ([0-9.]+).*/\1/')
awk -v a="$top1" -v b="$top5" 'BEGIN { exit !(a >= 0 && a <= b && b <= 100) }'
# progress lines go to stderr when not a terminal
grep -q "eval: 3/3" "$tmp/err"

# --weights: the same network saved as a .pth gives the same accuracy.
src=$LDNQ_SOURCE_DIR
cat >"$tmp/save.c" <<'C'
#include <ldnq/ldnq.h>
int main(int argc, char **argv) {
  ldnq_network *net = NULL;
  if (argc < 2 || ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net) != LDNQ_OK) return 1;
  if (ldnq_network_reset_parameters(net, 3) != LDNQ_OK) return 1;
  int rc = ldnq_network_save(net, argv[1], LDNQ_FORMAT_PTH_ZIP) != LDNQ_OK;
  ldnq_network_free(net);
  return rc;
}
C
cc -std=c11 -I"$src/include" "$tmp/save.c" -L"$LDNQ_BINARY_DIR" -lldnq -Wl,-rpath,"$LDNQ_BINARY_DIR" -o "$tmp/save"
"$tmp/save" "$tmp/r20.pth"
last2=$("$ldnq" eval --arch resnet20 --weights "$tmp/r20.pth" --data "cifar10:$tmp/cifar" --batch 8 --json 2>/dev/null | tail -n 1)
echo "$last2"
test "$(echo "$last2" | sed -E 's/, "seconds.*//')" = "$(echo "$last" | sed -E 's/, "seconds.*//')"

# usage errors: exit 2; failures: exit 1 with a message
set +e
"$ldnq" eval --arch resnet20 --data "cifar10:$tmp/cifar" >/dev/null 2>&1; test $? -eq 2 || exit 1
"$ldnq" eval --arch resnet20 --init-seed 1 --data "cifar10:$tmp/cifar" --batch 0 >/dev/null 2>&1; test $? -eq 2 || exit 1
"$ldnq" eval --arch resnet99 --init-seed 1 --data "cifar10:$tmp/cifar" 2>"$tmp/err3"; test $? -eq 2 || exit 1
grep -q "resnet99.*valid: resnet20, resnet32" "$tmp/err3" || exit 1
"$ldnq" eval --arch resnet20 --weights "$tmp/none.pth" --data "cifar10:$tmp/cifar" 2>"$tmp/err2"; test $? -eq 1 || exit 1
grep -q "none.pth" "$tmp/err2" || exit 1
"$ldnq" eval --arch resnet20 --init-seed 1 --data "bogus:$tmp" 2>/dev/null; test $? -eq 1 || exit 1
set -e
"$ldnq" eval --help | grep -q "fashion-mnist"
echo "cli_eval: ok"
