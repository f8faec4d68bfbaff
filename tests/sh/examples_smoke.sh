#!/usr/bin/env bash
# Smoke test of the example programs (examples/*.c) on tiny inputs.
. "${BASH_SOURCE%/*}/lib.sh" examples_smoke   # a fresh folder: leftovers would make training resume
set -e

# custom_layer: L-DNQ must beat the plain projection on the solver's own
# error and on held-out outputs, and use at most `levels` distinct values.
for lv in 3 5; do
  out=$("$ex/custom_layer" --levels $lv --cin 4 --cout 8 --batches 10 --seed 3)
  echo "$out"
  echo "$out" | awk -v lv=$lv '
    /^layer error/ { p=$3; q=$5; gsub(",", "", p); if (!(q+0 <= p+0)) { print "layer error not reduced"; bad=1 } ; seen++ }
    /^held-out/    { p=$6; q=$8; gsub(",", "", p); if (!(q+0 < p+0)) { print "held-out error not reduced"; bad=1 } ; seen++ }
    /distinct values/ { if ($NF+0 > lv || $NF+0 < 2) { print "wrong value count"; bad=1 } ; seen++ }
    END { exit (bad || seen != 3) }'
done
# Bad arguments are a usage error (exit 2), not a crash.
set +e
"$ex/custom_layer" --levels 3 --cin 0 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "custom_layer --cin 0 exited $rc"; exit 1; }
"$ex/custom_layer" --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "custom_layer --bogus exited $rc"; exit 1; }
"$ex/custom_layer" --levels 4 >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || { echo "custom_layer --levels 4 exited $rc"; exit 1; }
set -e
echo "custom_layer: ok"

# ---- cifar10_resnet on a tiny MNIST-format set (IDX files) ----
command -v xxd >/dev/null || { echo "no xxd: skipped the dataset examples"; exit 0; }
idx -d "$tmp/idx" -c train 80 1
idx -d "$tmp/idx" -c t10k 20 2
cd "$tmp"
c10() { "$ex/cifar10_resnet" "$@" --depth 20 --data "mnist:$tmp/idx"; }
out=$(c10 train --epochs 1 --limit-train 48 --out r20.pth)
echo "$out"
grep -q "^epoch 1: loss" <<<"$out"
test -s r20.pth && test -s r20.pth.state
out=$(c10 eval --weights r20.pth)
echo "$out" | grep -Eq "top-1 [0-9.]+% top-5 [0-9.]+%"
out=$(c10 quantize --weights r20.pth --ratio 0.1 --hessian-batches 2 --no-cascade --out q.ldnq)
echo "$out"
grep -q "limited set 8 images" <<<"$out"
echo "$out" | grep -Eq "^L-DNQ 3 levels: top-1 [0-9.]+%"
test -s q.ldnq && test -s q.ldnq.subset
test ! -e q.ldnq.state || { echo "cifar10_resnet left its run state"; exit 1; }
# --resume without a state: the same run; with a damaged one: refused.
c10 quantize --weights r20.pth --ratio 0.1 --hessian-batches 2 --no-cascade --out qr.ldnq --resume >/dev/null
cmp q.ldnq qr.ldnq || { echo "cifar10_resnet --resume without a state differs"; exit 1; }
echo junk >qr.ldnq.state
set +e
c10 quantize --weights r20.pth --ratio 0.1 --hessian-batches 2 --no-cascade --out qr.ldnq --resume \
  >/dev/null 2>qr.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "not a readable quantizer state" qr.err ||
  { echo "cifar10_resnet --resume with a damaged state: exit $rc"; cat qr.err; exit 1; }
rm -f qr.ldnq.state
sub1=$(md5sum < q.ldnq.subset)
c10 quantize --weights r20.pth --ratio 0.1 --hessian-batches 2 --no-cascade --out q.ldnq >/dev/null
[ "$(md5sum < q.ldnq.subset)" = "$sub1" ] || { echo "subset not reused"; exit 1; }
c10 quantize --weights r20.pth --ratio 0.1 --hessian-batches 2 --no-cascade --per-channel \
  --out qpc.ldnq >/dev/null
info=$("$ldnq" info qpc.ldnq)
grep -q "^  conv1.weight .*per-channel alphas 16" <<<"$info"
set +e
c10 quantize --weights missing.pth >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || { echo "cifar10_resnet missing weights exited $rc"; exit 1; }
"$ex/cifar10_resnet" train --depth 21 --data x >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "cifar10_resnet --depth 21 exited $rc"; exit 1; }
set -e

# ---- imagenet_resnet: tiny image folder (PNG via python3's zlib), random
# ResNet18 weights saved by libldnq; eval, then a quantization cut short
# (one Hessian batch, 2 ADMM iterations, no cascade: a full ResNet18 run is
# minutes of work, see docs/GETTING_STARTED.md). ----
if command -v python3 >/dev/null; then
  python3 "$src/tests/sh/png_folder.py" "$tmp/imnet" train=2 val=1
  make_weights "$tmp/r18.pth" 5 resnet18 3 3
  out=$("$ex/imagenet_resnet" eval --depth 18 --weights "$tmp/r18.pth" --data "$tmp/imnet" 2>/dev/null)
  echo "$out"
  echo "$out" | grep -Eq "^resnet18 full precision: top-1 [0-9.]+% top-5 100.00%"
  out=$("$ex/imagenet_resnet" quantize --depth 18 --weights "$tmp/r18.pth" --data "$tmp/imnet" \
        --count 3 --hessian-batches 1 --max-iter 2 --no-cascade --out "$tmp/q18.ldnq" 2>"$tmp/q18.err")
  echo "$out"
  grep -q "^limited set: 3 images" <<<"$out"
  echo "$out" | grep -Eq "^resnet18 L-DNQ 3 levels: top-1 [0-9.]+% top-5 100.00% -> "
  # 21 weight layers (20 convolutions incl. 3 downsamples, fc) reported done.
  [ "$(grep -c 'layer [0-9]*/21 quantized' "$tmp/q18.err")" = 21 ] || { cat "$tmp/q18.err"; exit 1; }
  # The packed file loads back into a ResNet18 with the same evaluation.
  out2=$("$ex/imagenet_resnet" eval --depth 18 --weights "$tmp/q18.ldnq" --data "$tmp/imnet" 2>/dev/null)
  q1=$(echo "$out" | sed -n 's/^resnet18 L-DNQ 3 levels: top-1 \([0-9.]*\)%.*/\1/p')
  e1=$(echo "$out2" | sed -n 's/^resnet18 full precision: top-1 \([0-9.]*\)%.*/\1/p')
  [ -n "$q1" ] && [ "$q1" = "$e1" ] || { echo "reloaded .ldnq: top-1 $e1, expected $q1"; exit 1; }
  set +e
  "$ex/imagenet_resnet" eval --depth 34 --weights "$tmp/r18.pth" --data "$tmp/imnet" >/dev/null 2>&1; rc=$?
  [ $rc -eq 1 ] || { echo "imagenet_resnet with wrong depth exited $rc"; exit 1; }
  "$ex/imagenet_resnet" quantize --depth 18 >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] || { echo "imagenet_resnet usage exited $rc"; exit 1; }
  set -e
fi
echo "examples_smoke: all ok"
