#!/usr/bin/env bash
# Output paths are checked before any work (ldnq quantize/train/convert, the
# example programs): a missing folder, a folder as the file, a file as the
# folder fail at once, with the path and the reason, exit 1, no file left.
# When the final write itself fails (a file size limit), the summary computed
# before it is still printed.
set -uo pipefail
src=$LDNQ_SOURCE_DIR; bin=$LDNQ_BINARY_DIR; ldnq=$bin/tools/ldnq/ldnq; ex=$bin/examples
tmp=$LDNQ_TEST_TMP/out_paths; rm -rf "$tmp"; mkdir -p "$tmp/data"
command -v xxd >/dev/null || { echo "no xxd: skipped"; exit 77; }
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat >"$tmp/mk.c" <<'C'
#include <ldnq/ldnq.h>
int main(int argc, char **argv) {
  ldnq_network *net = NULL;
  ldnq_status st = ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net);
  if (!st) st = ldnq_network_reset_parameters(net, 3);
  if (!st) st = ldnq_network_save(net, argv[argc - 1], LDNQ_FORMAT_PTH_ZIP);
  ldnq_network_free(net);
  return st != LDNQ_OK;
}
C
cc -std=c11 -I"$src/include" "$tmp/mk.c" -L"$bin" -lldnq -Wl,-rpath,"$bin" -o "$tmp/mk" && "$tmp/mk" "$tmp/w.pth" || exit 1
idx() { # prefix count seed
  local n=$2
  { printf '\x00\x00\x08\x03'; printf "%08x" "$n" | xxd -r -p; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'
    LC_ALL=C awk -v n=$((n * 784)) -v s="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'; } >"$tmp/data/$1-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01'; printf "%08x" "$n" | xxd -r -p
    for ((i = 0; i < n; i++)); do printf "\\x0$((i % 10))"; done; } >"$tmp/data/$1-labels-idx1-ubyte"
}
idx train 100 1
idx t10k 20 2
data="mnist:$tmp/data"
touch "$tmp/afile"; mkdir -p "$tmp/adir.ldnq"

# check PROG-LABEL PATH-PATTERN REASON CMD...: exit 1 at once, the message names the path
# and the reason, no work was reported (no "full precision"/"epoch" line), no file left.
check() {
  local label=$1 pat=$2; shift 2
  local t0=$SECONDS
  "$@" >"$tmp/out" 2>&1; local rc=$?
  [ $rc -eq 1 ] || { bad "$label: exit $rc, want 1"; cat "$tmp/out"; return; }
  grep -Eq -- "$pat" "$tmp/out" || { bad "$label: no '$pat' in:"; cat "$tmp/out"; }
  grep -Eq "full precision|^epoch|evaluated" "$tmp/out" && bad "$label: work was done before the check"
  [ $((SECONDS - t0)) -le 5 ] || bad "$label: took $((SECONDS - t0)) s"
  ls "$tmp" | grep -q '\.tmp\.' && bad "$label: a temporary file was left"
}
q() { "$ldnq" quantize --arch resnet20 --weights "$tmp/w.pth" --data "$data" --ratio 0.1 \
        --hessian-batches 2 --no-cascade "$@"; }
check "quantize missing folder" "--out '/nonexistent/dir/q.ldnq': folder '/nonexistent/dir' does not exist" \
  q --out /nonexistent/dir/q.ldnq
check "quantize folder as file" "--out '$tmp/adir.ldnq': is a folder" q --out "$tmp/adir.ldnq"
check "quantize file as folder" "'$tmp/afile' is not a folder" q --out "$tmp/afile/q.ldnq"
check "train missing folder" "ldnq train: --out '$tmp/no/r.pth': folder '$tmp/no' does not exist" \
  "$ldnq" train --arch resnet20 --data "$data" --epochs 1 --out "$tmp/no/r.pth"
check "convert missing folder" "ldnq convert: OUT '$tmp/no/x.safetensors': folder" \
  "$ldnq" convert "$tmp/w.pth" "$tmp/no/x.safetensors"
check "cifar10_resnet train" "cifar10_resnet: --out '$tmp/no/r.pth': folder '$tmp/no' does not exist" \
  "$ex/cifar10_resnet" train --data "$data" --epochs 1 --out "$tmp/no/r.pth"
check "cifar10_resnet quantize" "cifar10_resnet: --out '$tmp/adir.ldnq': is a folder" \
  "$ex/cifar10_resnet" quantize --data "$data" --weights "$tmp/w.pth" --out "$tmp/adir.ldnq"
check "imagenet_resnet quantize" "imagenet_resnet: --out '$tmp/no/q.ldnq': folder" \
  "$ex/imagenet_resnet" quantize --data "$tmp/nodata" --weights "$tmp/w.pth" --out "$tmp/no/q.ldnq"
[ -e "$tmp/no" ] && bad "a folder was created"

# The final write fails (file size limit 4 KiB; the model is ~70 KiB): the
# accuracy is printed anyway, the exit code is 1, no partial file remains.
out=$( (trap '' XFSZ; ulimit -f 4; q --out "$tmp/big.ldnq" --json) 2>&1); rc=$?
[ $rc -eq 1 ] || bad "write failure: exit $rc, want 1"
grep -Eq "quantized \(3 levels\): top-1 [0-9.]+ top-5 [0-9.]+ \(full precision [0-9.]+\)" <<<"$out" \
  || { bad "write failure: no summary"; echo "$out"; }
grep -q '"top1": ' <<<"$out" || bad "write failure: no JSON summary"
grep -q "ldnq quantize: --out: " <<<"$out" || { bad "write failure: no error message"; echo "$out"; }
[ -e "$tmp/big.ldnq" ] && bad "write failure: partial output file"
ls "$tmp" | grep -q '\.tmp\.' && bad "write failure: temporary file left"

[ $fails -eq 0 ] || { echo "out_paths: $fails failures"; exit 1; }
echo "out_paths: all ok"
