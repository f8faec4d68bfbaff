#!/usr/bin/env bash
# Output paths are checked before any work (ldnq quantize/train/convert, the
# example programs): a missing folder, a folder as the file, a file as the
# folder fail at once, with the path and the reason, exit 1, no file left.
# When the final write itself fails, the summary computed before it is still
# printed; when a run state cannot be written (a file size limit), the run stops.
. "${BASH_SOURCE%/*}/lib.sh" out_paths
need xxd

make_weights "$tmp/w.pth"
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

# The final write fails (its temporary name is taken by a folder once the run is in its
# layers, past the up-front check: when its first state appears): the accuracy is printed
# anyway, the exit code is 1, no partial file remains, and the run's state stays: --resume
# then only evaluates and writes. A run too quick to catch is tried again, slower.
for hb in 2 20 100; do
  rm -f "$tmp/big.ldnq" "$tmp/big.ldnq.state"
  "$ldnq" quantize --arch resnet20 --weights "$tmp/w.pth" --data "$data" --ratio 0.1 --no-cascade \
    --out "$tmp/big.ldnq" --json --hessian-batches $hb >"$tmp/big.out" 2>"$tmp/big.err" &
  pid=$! # the tool's own pid (not a subshell's): its temporary files are named with it
  for _ in $(seq 1 3000); do [ -e "$tmp/big.ldnq.state" ] && break; sleep 0.01; done
  mkdir "$tmp/big.ldnq.tmp.$pid"
  wait $pid; rc=$?
  rmdir "$tmp/big.ldnq.tmp.$pid"
  [ $rc -eq 0 ] || break
done
out=$(cat "$tmp/big.out" "$tmp/big.err")
[ $rc -eq 1 ] || bad "write failure: exit $rc, want 1"
grep -Eq "quantized \(3 levels\): top-1 [0-9.]+ top-5 [0-9.]+ \(full precision [0-9.]+\)" <<<"$out" \
  || { bad "write failure: no summary"; echo "$out"; }
grep -q '"top1": ' "$tmp/big.out" || bad "write failure: no JSON summary"
grep -q "ldnq quantize: --out: " <<<"$out" || { bad "write failure: no error message"; echo "$out"; }
grep -q "$tmp/big.ldnq.state holds the run after layer 22/22; the same command with --resume" <<<"$out" ||
  { bad "write failure: no word of the kept state"; echo "$out"; }
[ -e "$tmp/big.ldnq" ] && bad "write failure: partial output file"
ls "$tmp" | grep -q '\.tmp\.' && bad "write failure: temporary file left"
q --out "$tmp/big.ldnq" --hessian-batches $hb --resume >/dev/null 2>"$tmp/again.err" || { bad "resume after the write failure"; cat "$tmp/again.err"; }
grep -q "^resumed from $tmp/big.ldnq.state: layers 1-22 of 22 were done$" "$tmp/again.err" ||
  { bad "resume after the write failure: not resumed"; cat "$tmp/again.err"; }
grep -q '^layer [0-9]' "$tmp/again.err" && bad "resume after the write failure: layers run again"
[ -s "$tmp/big.ldnq" ] && [ ! -e "$tmp/big.ldnq.state" ] || bad "resume after the write failure: files"

# The state after the first layer cannot be written (file size limit 4 KiB; it holds the
# network, ~1 MiB): the run stops there with the reason, exit 1, no file left.
out=$( (trap '' XFSZ; ulimit -f 4; q --out "$tmp/lim.ldnq") 2>&1); rc=$?
[ $rc -eq 1 ] || bad "state write failure: exit $rc, want 1"
grep -q "ldnq quantize: quantization: input/output error: saving the run state: .*$tmp/lim.ldnq.state.*File too large" <<<"$out" ||
  { bad "state write failure: message"; echo "$out"; }
grep -q '^layer 2/22' <<<"$out" && bad "state write failure: the run went on"
ls "$tmp" | grep -q '^lim\.ldnq' && bad "state write failure: a file was left"
ls "$tmp" | grep -q '\.tmp\.' && bad "state write failure: temporary file left"

finish
