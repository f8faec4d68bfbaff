#!/usr/bin/env bash
# Errors say what is wrong, briefly: weights of another architecture get
# their own status, counts, a few names and a guess of the file's
# architecture (not a wall of names); a wrong input shape shows the shape;
# a file name appears once; labels outside the network's classes are their
# own error before any work (eval, train, quantize).
. "${BASH_SOURCE%/*}/lib.sh" errors_cli
need xxd
make_weights "$tmp/r20.pth" 3 resnet20 1; make_weights "$tmp/r32.pth" 3 resnet32 1
make_weights "$tmp/r18.pth" 3 resnet18 1; make_weights "$tmp/r20c3.pth" 3 resnet20 3
idx train 60 1; idx t10k 20 2
idx -d "$tmp/bad" train 60 1; idx -d "$tmp/bad" -l ff t10k 20 2   # one test label 255
data="mnist:$tmp/data"

# run NAME RC CMD...: exit RC; stderr in $tmp/NAME.err
run() {
  local name=$1 rc=$2; shift 2
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; local got=$?
  [ $got -eq "$rc" ] || { bad "$name: exit $got, want $rc"; cat "$tmp/$name.err"; }
}
has() { grep -Fq -- "$2" "$tmp/$1.err" || { bad "$1: no '$2' in:"; cat "$tmp/$1.err"; }; }
short() { local n; n=$(wc -c <"$tmp/$1.err"); [ "$n" -le "$2" ] || { bad "$1: $n bytes of message (> $2)"; cat "$tmp/$1.err"; }; }
once() { local n; n=$(grep -o -F -- "$2" "$tmp/$1.err" | wc -l); [ "$n" -eq 1 ] || { bad "$1: '$2' appears $n times"; cat "$tmp/$1.err"; }; }

# Another architecture: own status, counts, first names, a guess.
run deeper 1 "$ldnq" eval --arch resnet56 --weights "$tmp/r20.pth" --data "$data"
has deeper "architecture mismatch: weights do not fit resnet56 (network unchanged): the file looks like resnet20;"
has deeper "128 of the network's 344 tensors match, the file has 128; 216 missing (layer1.3.conv1.weight, layer1.3.bn1.weight, layer1.3.bn1.bias, ...)"
short deeper 400; once deeper "r20.pth"
run shallower 1 "$ldnq" eval --arch resnet20 --weights "$tmp/r32.pth" --data "$data"
has shallower "72 unexpected (layer1.3.conv1.weight"; has shallower "looks like resnet32"; short shallower 400
run imagenet 1 "$ldnq" quantize --arch resnet20 --weights "$tmp/r18.pth" --data "$data" --out "$tmp/q.ldnq"
has imagenet "looks like resnet18"; has imagenet "conv1.weight (file [64, 1, 7, 7], network [16, 1, 3, 3])"
short imagenet 600
[ -e "$tmp/q.ldnq" ] && bad "imagenet: output written"
# A wrong input shape shows the shape it got.
run channels 1 "$ldnq" eval --arch resnet20 --weights "$tmp/r20c3.pth" --data "$data" --batch 8
has channels "input must be [N, 3, H, W], got [8, 1, 32, 32]"   # MNIST padded to 32
# File names appear once.
run missing 1 "$ldnq" eval --arch resnet20 --weights "$tmp/none.pth" --data "$data"
once missing "none.pth"; has missing "not found"
printf 'junk' >"$tmp/junk.pth"
run junk 1 "$ldnq" info "$tmp/junk.pth"
once junk "junk.pth"
# Labels outside the classes: their own status, before any work.
run lab_eval 1 "$ldnq" eval --arch resnet20 --weights "$tmp/r20.pth" --data "mnist:$tmp/bad"
has lab_eval "label outside the classes: the evaluation data has labels up to 255"
run lab_train 1 "$ldnq" train --arch resnet20 --data "mnist:$tmp/bad" --epochs 1 --out "$tmp/t.pth"
has lab_train "the test data has labels up to 255"
grep -q "^epoch 1" "$tmp/lab_train.err" && bad "lab_train: an epoch ran before the check"
run lab_quant 1 "$ldnq" quantize --arch resnet20 --weights "$tmp/r20.pth" --data "mnist:$tmp/bad" --out "$tmp/q.ldnq"
has lab_quant "labels up to 255"
[ -e "$tmp/q.ldnq" ] && bad "lab_quant: output written"

# --loss-log: complete or absent. A directory that does not exist fails
# before training; a failed run leaves neither the log nor its temporary;
# a good run writes one line per batch.
run log_dir 1 "$ldnq" train --arch resnet20 --data "$data" --epochs 1 --out "$tmp/l.pth" \
  --loss-log "$tmp/none/l.loss"
has log_dir "ldnq train: --loss-log"
grep -q "^epoch 1" "$tmp/log_dir.err" && bad "log_dir: an epoch ran before the check"
run log_fail 1 "$ldnq" train --arch resnet20 --data "mnist:$tmp/bad" --epochs 1 --out "$tmp/l.pth" \
  --loss-log "$tmp/f.loss"
[ -e "$tmp/f.loss" ] || [ -e "$tmp/f.loss.tmp" ] && bad "log_fail: a log was left"
run log_ok 0 "$ldnq" train --arch resnet20 --data "$data" --epochs 1 --batch 32 --no-eval \
  --out "$tmp/l.pth" --loss-log "$tmp/ok.loss"
[ "$(wc -l <"$tmp/ok.loss")" -eq 2 ] || bad "log_ok: $(wc -l <"$tmp/ok.loss") lines, want 2 (60 images, batch 32)"
[ -e "$tmp/ok.loss.tmp" ] && bad "log_ok: the temporary was left"

finish
