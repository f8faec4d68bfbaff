#!/usr/bin/env bash
# --json: stdout holds exactly one JSON document (eval, info, quantize,
# train); the text and the progress go to stderr. Parsed with python3's json
# module (no PyTorch).
set -uo pipefail
src=$LDNQ_SOURCE_DIR; bin=$LDNQ_BINARY_DIR; ldnq=$bin/tools/ldnq/ldnq
tmp=$LDNQ_TEST_TMP/json_cli; rm -rf "$tmp"; mkdir -p "$tmp/data"
command -v xxd >/dev/null || { echo "no xxd: skipped"; exit 77; }
py=/usr/bin/python3; [ -x $py ] || py=python3
command -v $py >/dev/null || { echo "no python3: skipped"; exit 77; }
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

# json NAME KEYS CMD...: exit 0, stdout is one JSON object with KEYS, stderr has text.
json() {
  local name=$1 keys=$2; shift 2
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || { bad "$name: exit $?"; cat "$tmp/$name.err"; return; }
  $py - "$tmp/$name.out" "$keys" <<'PY' || { bad "$name: stdout is not one JSON object with $keys:"; cat "$tmp/$name.out"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, dict), d
for k in sys.argv[2].split(","):
    assert k in d, k
PY
  [ -s "$tmp/$name.err" ] || bad "$name: nothing on stderr (text should be there)"
}
json eval "top1,top5,images,seconds" "$ldnq" eval --arch resnet20 --weights "$tmp/w.pth" --data "$data" --batch 8 --json
grep -q "top-1" "$tmp/eval.err" || bad "eval: the text line is not on stderr"
grep -q "eval: 3/3" "$tmp/eval.err" || bad "eval: no progress on stderr"
json info "format,tensors" "$ldnq" info "$tmp/w.pth" --json
grep -q "conv1.weight" "$tmp/info.err" || bad "info: the tensor table is not on stderr"
json quantize "fp_top1,top1,top5,layers" "$ldnq" quantize --arch resnet20 --weights "$tmp/w.pth" \
  --data "$data" --ratio 0.1 --hessian-batches 2 --no-cascade --out "$tmp/q.ldnq" --json
grep -q "full precision" "$tmp/quantize.err" || bad "quantize: text not on stderr"
json train "top1,epochs,seconds" "$ldnq" train --arch resnet20 --data "$data" --epochs 1 --limit-train 32 \
  --batch 16 --out "$tmp/t.pth" --json
grep -q "best test top-1" "$tmp/train.err" || bad "train: text not on stderr"
# Without --json the text stays on stdout.
out=$("$ldnq" eval --arch resnet20 --weights "$tmp/w.pth" --data "$data" 2>/dev/null)
grep -q "top-1" <<<"$out" || bad "eval without --json: no text on stdout"
out=$("$ldnq" info "$tmp/w.pth" 2>/dev/null)
grep -q "conv1.weight" <<<"$out" || bad "info without --json: no text on stdout"

[ $fails -eq 0 ] || { echo "json_cli: $fails failures"; exit 1; }
echo "json_cli: all ok"
