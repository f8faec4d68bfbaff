#!/usr/bin/env bash
# README command one: end-to-end L-DNQ on Fashion-MNIST.
#   installs what is missing, builds (Release), gets a base ResNet20 (trains
#   it with `ldnq train` unless a cached one exists), quantizes it with 1% of
#   the training data (`ldnq quantize`) and prints full precision vs
#   quantized top-1, float32 vs packed size and the time of each phase.
#
#   scripts/demo.sh [options]
#     --epochs N          training epochs when no cached model exists (15)
#     --levels L          quantization levels 3|5|7|9|11 (3)
#     --ratio R           fraction of the training set for L-DNQ (0.01)
#     --retrain           ignore the cached base model and train again
#     --limit-train N     train on the first N images only (quick runs)
#     --cascade-epochs N  cascade epochs per layer at most (5, see below)
#     --seed-cascade      no cap: the published code's stopping rule alone
#     --hessian-batches N, --no-cascade
#                         passed to `ldnq quantize` (quick runs)
#     --data SPEC         dataset spec (fashion-mnist)
#     --cache DIR         cache (${XDG_CACHE_HOME:-~/.cache}/ldnq)
#     --build DIR         build directory (build-demo)
#     --no-deps, --no-build   skip the package check / the build
#
#   The cascade soft update after each layer stops by the published code's
#   rule (a running mean of the loss over all batches that settles); on
#   Fashion-MNIST with 600 images that takes 100+ epochs per layer, hours
#   for ResNet20 on 2 cores. The demo caps it at 5 epochs per layer (the
#   library's default cap is 1000); --seed-cascade removes the cap.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

epochs=15 levels=3 ratio=0.01 retrain=0 limit=0 data=fashion-mnist
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ldnq build=build-demo deps=1 dobuild=1
qextra=() cepochs=5
die() { echo "demo: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --epochs) epochs=$2; shift ;;
    --levels) levels=$2; shift ;;
    --ratio) ratio=$2; shift ;;
    --retrain) retrain=1 ;;
    --limit-train) limit=$2; shift ;;
    --cascade-epochs) cepochs=$2; shift ;;
    --seed-cascade) cepochs= ;;
    --hessian-batches) qextra+=("$1" "$2"); shift ;;
    --no-cascade) qextra+=("$1") ;;
    --data) data=$2; shift ;;
    --cache) cache=$2; shift ;;
    --build) build=$2; shift ;;
    --no-deps) deps=0 ;;
    --no-build) dobuild=0 ;;
    -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step() { printf '\n== %s\n' "$*" >&2; }

t=$(now)
if [ $deps = 1 ]; then step "dependencies"; scripts/setup-deps.sh; fi
if [ $dobuild = 1 ]; then
  step "build (Release) in $build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
fi
ldnq=$build/tools/ldnq/ldnq
[ -x "$ldnq" ] || die "no $ldnq (build first, or drop --no-build)"
t_setup=$(since "$t")

# Base model: a cached one, or trained now. Training writes into a work
# folder (resumable after an interruption) and the finished model is moved
# into place, so a half-trained model is never taken for a cached one.
mkdir -p "$cache"
tag=resnet20-$(printf '%s' "$data" | sed 's/[^A-Za-z0-9._-]/_/g')
base=$cache/$tag.pth
work=$cache/train-$tag
t=$(now)
if [ $retrain = 1 ]; then rm -rf "$work"; rm -f "$base"; fi
if [ -f "$base" ]; then
  step "base model: cached $base"
  trained="cached"
else
  step "training ResNet20 on $data for $epochs epochs (ldnq train)"
  mkdir -p "$work"
  targs=(--arch resnet20 --data "$data" --epochs "$epochs" --out "$work/model.pth" --resume --json)
  [ "$limit" = 0 ] || targs+=(--limit-train "$limit")
  tout=$("$ldnq" train "${targs[@]}") || die "ldnq train failed (rerun to resume; --retrain to start over)"
  cp "$work/model.pth" "$base.tmp.$$" && mv "$base.tmp.$$" "$base"
  rm -rf "$work"
  trained="trained, $epochs epochs"
fi
t_train=$(since "$t")

if [ -n "$cepochs" ]; then
  qextra+=(--cascade-epochs "$cepochs"); cdesc="<= $cepochs epochs/layer"
else
  cdesc="until the loss settles"
fi
step "L-DNQ: $levels levels with $ratio of the training data (ldnq quantize, cascade $cdesc)"
t=$(now)
qout_file=$cache/$tag-${levels}level.ldnq
"$ldnq" quantize --help >/dev/null 2>&1 || die "ldnq quantize is not available in this build"
qjson=$("$ldnq" quantize --arch resnet20 --weights "$base" --data "$data" --levels "$levels" \
        --ratio "$ratio" --out "$qout_file" ${qextra[@]+"${qextra[@]}"} --json | tail -1) ||
  die "ldnq quantize failed"
t_quant=$(since "$t")

# Float32 size: the network's state dict as a .safetensors file (no pickle
# overhead); packed: the .ldnq written by quantize.
fsize_file=$cache/$tag.safetensors
[ -f "$fsize_file" ] && [ "$fsize_file" -nt "$base" ] || "$ldnq" convert "$base" "$fsize_file" >/dev/null
fbytes=$(stat -c %s "$fsize_file")
qbytes=$(stat -c %s "$qout_file")
field() { printf '%s' "$qjson" | sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p"; }
fp=$(field fp_top1) q=$(field top1)
[ -n "$fp" ] && [ -n "$q" ] || die "could not read the quantize summary: $qjson"

printf '\nL-DNQ demo: ResNet20 on %s, %s levels, %s of the training data, cascade %s\n' "$data" "$levels" \
  "$ratio" "$cdesc"
printf '  %-34s %12s\n' "" "top-1 (%)"
printf '  %-34s %12.2f\n' "full precision (float32)" "$fp"
printf '  %-34s %12.2f\n' "L-DNQ $levels levels" "$q"
printf '  %-34s %12s\n' "model size float32" "$(awk -v b="$fbytes" 'BEGIN{printf "%.1f KiB", b/1024}')"
printf '  %-34s %12s\n' "model size packed (.ldnq)" "$(awk -v b="$qbytes" 'BEGIN{printf "%.1f KiB", b/1024}')"
printf '  %-34s %12s\n' "setup + build" "${t_setup} s"
printf '  %-34s %12s\n' "base model ($trained)" "${t_train} s"
printf '  %-34s %12s\n' "quantize" "${t_quant} s"
printf '  base model %s\n  quantized  %s\n' "$base" "$qout_file"
