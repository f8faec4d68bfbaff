#!/usr/bin/env bash
# scripts/demo.sh end to end on a tiny MNIST-format dataset (train 1 epoch on
# 64 images, quantize with 2 Hessian batches), then again: the second run
# must reuse the cached base model. Uses the test build; no packages, no
# rebuild.
. "${BASH_SOURCE%/*}/lib.sh" demo_smoke
set -e
need xxd
idx -c train 100 1   # class-dependent brightness: learnable in one epoch
idx -c t10k 20 2
run() {
  "$src/scripts/demo.sh" --no-deps --no-build --build "$bin" --cache "$tmp/cache" \
    --data "mnist:$tmp/data" --epochs 1 --limit-train 64 --ratio 0.1 \
    --hessian-batches 2 "$@" 2>"$tmp/err.log"
}
out=$(run --no-cascade) || { cat "$tmp/err.log"; exit 1; }
echo "$out"
grep -q "base model (trained, 1 epochs)" <<<"$out"
echo "$out" | grep -Eq "full precision \(float32\) +[0-9]+\.[0-9]{2}"
echo "$out" | grep -Eq "L-DNQ 3 levels +[0-9]+\.[0-9]{2}"
# Packed 3-level model is several times smaller than float32.
f=$(echo "$out" | sed -n 's/.*model size float32 *\([0-9.]*\) KiB/\1/p')
q=$(echo "$out" | sed -n 's/.*model size packed (.ldnq) *\([0-9.]*\) KiB/\1/p')
awk -v f="$f" -v q="$q" 'BEGIN { exit !(q > 0 && f > 4 * q) }' || { echo "sizes $f vs $q"; exit 1; }
ls "$tmp/cache"/*.pth "$tmp/cache"/*.ldnq >/dev/null
ls "$tmp/cache" | grep -q '\.tmp\.' && { echo "temporary file left"; exit 1; }
# Second run: the cached base model, no training; the cascade capped at 1 epoch.
out2=$(run --cascade-epochs 1) || { cat "$tmp/err.log"; exit 1; }
grep -q "base model (cached)" <<<"$out2"
grep -q "cascade <= 1 epochs/layer$" <<<"$out2"
grep -q "ldnq train" "$tmp/err.log" && { echo "trained again"; exit 1; }
# A shipped model: its sha256 is checked, then it is quantized without training.
"$bin/tools/ldnq/ldnq" convert "$tmp/cache/resnet20-mnist_"*.pth "$tmp/ship.safetensors" 2>/dev/null
(cd "$tmp" && sha256sum ship.safetensors >ship.safetensors.sha256)
out3=$(run --shipped "$tmp/ship.safetensors" --no-cascade) || { cat "$tmp/err.log"; exit 1; }
grep -q "base model (shipped, sha256 ok)" <<<"$out3"
echo "$out3" | grep -Eq "L-DNQ 3 levels +[0-9]+\.[0-9]{2}"
# float32 size is the shipped file's own size
f3=$(echo "$out3" | sed -n 's/.*model size float32 *\([0-9.]*\) KiB/\1/p')
awk -v f="$f3" -v b="$(stat -c %s "$tmp/ship.safetensors")" 'BEGIN { exit !(f == sprintf("%.1f", b / 1024)) }' ||
  { echo "float32 size $f3 KiB is not the shipped file's"; exit 1; }
# A damaged shipped model stops the demo before any work, naming the checksum.
printf 'x' >>"$tmp/ship.safetensors"
set +e
run --shipped "$tmp/ship.safetensors" --no-cascade >/dev/null; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "sha256 .*expected .*damaged or not the shipped one" "$tmp/err.log" ||
  { echo "damaged model accepted (rc $rc)"; cat "$tmp/err.log"; exit 1; }
grep -q "L-DNQ:" "$tmp/err.log" && { echo "quantized a damaged model"; exit 1; }
# A bad option fails clearly.
set +e
"$src/scripts/demo.sh" --bogus >/dev/null 2>"$tmp/bad.log"; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "unknown option" "$tmp/bad.log"
echo "demo_smoke: ok"
