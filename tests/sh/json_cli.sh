#!/usr/bin/env bash
# --json: stdout holds exactly one JSON document (eval, info, quantize,
# train); the text and the progress go to stderr. Parsed with python3's json
# module (no PyTorch).
. "${BASH_SOURCE%/*}/lib.sh" json_cli
need xxd
command -v $py >/dev/null || { echo "no python3: skipped"; exit 77; }

make_weights "$tmp/w.pth"
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

finish
