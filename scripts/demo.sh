#!/usr/bin/env bash
# README command one: end-to-end L-DNQ on Fashion-MNIST, in minutes.
#   installs what is missing, builds the library and the ldnq tool (Release),
#   takes the project's shipped base ResNet20 (models/, its sha256 checked),
#   quantizes it with 1% of the training data (`ldnq quantize`) and prints
#   full precision vs quantized top-1, float32 vs packed size and the time of
#   each phase. Training from scratch happens only with --retrain (or when
#   no shipped model fits the data).
#
#   scripts/demo.sh [options]
#     --levels L          quantization levels 3|5|7|9|11 (3)
#     --ratio R           fraction of the training set for L-DNQ (0.01)
#     --cascade-epochs N  cascade epochs per layer at most (3, see below)
#     --seed-cascade      no cap: the published code's stopping rule alone
#     --hessian-batches N, --no-cascade
#                         passed to `ldnq quantize` (quick runs)
#     --base FILE         quantize this base model instead of the shipped one
#     --shipped FILE      the shipped model to check and use, with FILE.sha256
#                         (models/resnet20-fashion-mnist.safetensors; any --data)
#     --retrain           train the base model from scratch (ldnq train), cached
#     --epochs N          training epochs with --retrain (10, as the shipped model)
#     --limit-train N     train on the first N images only (quick runs)
#     --data SPEC         dataset spec (fashion-mnist); other data means training
#     --cache DIR         cache (${XDG_CACHE_HOME:-~/.cache}/ldnq)
#     --build DIR         build directory (build-demo)
#     --no-deps, --no-build   skip the package check / the build
#
#   The shipped model: models/resnet20-fashion-mnist.safetensors, checked
#   against models/resnet20-fashion-mnist.safetensors.sha256; how it was made
#   is in models/README.md. A mismatch stops the demo (the file is damaged or
#   not the shipped one).
#
#   The cascade soft update after each layer stops by the published code's
#   rule (a running mean of the loss over all batches that settles); on
#   Fashion-MNIST with 600 images that takes 100+ epochs per layer, hours
#   for ResNet20 on 2 cores. The demo caps it at 3 epochs per layer (the
#   library's default cap is 1000); --seed-cascade removes the cap.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

epochs=10 levels=3 ratio=0.01 retrain=0 limit=0 data=fashion-mnist base_opt=
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ldnq build=build-demo deps=1 dobuild=1
qextra=() cepochs=3 shipped_opt=0
shipped=$root/models/resnet20-fashion-mnist.safetensors
die() { echo "demo: $*" >&2; exit 1; }
need() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case $1 in
    --epochs) need "$@"; epochs=$2; shift ;;
    --levels) need "$@"; levels=$2; shift ;;
    --ratio) need "$@"; ratio=$2; shift ;;
    --retrain) retrain=1 ;;
    --base) need "$@"; base_opt=$2; shift ;;
    --shipped) need "$@"; shipped=$2; shipped_opt=1; shift ;;
    --limit-train) need "$@"; limit=$2; shift ;;
    --cascade-epochs) need "$@"; cepochs=$2; shift ;;
    --seed-cascade) cepochs= ;;
    --hessian-batches) need "$@"; qextra+=("$1" "$2"); shift ;;
    --no-cascade) qextra+=("$1") ;;
    --data) need "$@"; data=$2; shift ;;
    --cache) need "$@"; cache=$2; shift ;;
    --build) need "$@"; build=$2; shift ;;
    --no-deps) deps=0 ;;
    --no-build) dobuild=0 ;;
    -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ -z "$base_opt" ] || [ $retrain = 0 ] || die "--base and --retrain exclude each other"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step() { printf '\n== %s\n' "$*" >&2; }

t=$(now)
if [ $deps = 1 ]; then step "dependencies"; scripts/setup-deps.sh; fi
t_deps=$(since "$t")
t=$(now)
if [ $dobuild = 1 ]; then
  # Only what the demo runs: the library and the ldnq tool (no tests, no benchmarks).
  step "build (Release, library and ldnq) in $build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLDNQ_BUILD_TESTS=OFF -DLDNQ_BUILD_BENCH=OFF \
    >/dev/null
  cmake --build "$build" -j"$(nproc)" --target ldnq_cli >/dev/null
fi
ldnq=$build/tools/ldnq/ldnq
[ -x "$ldnq" ] || die "no $ldnq (build first, or drop --no-build)"
t_build=$(since "$t")

# The base model, in this order: --base FILE; the shipped model (Fashion-MNIST,
# sha256 checked) unless --retrain; a model trained before (cached); trained now.
# Training writes into a work folder (resumable after an interruption) and the
# finished model is moved into place, so a half-trained model is never taken
# for a cached one.
mkdir -p "$cache"
tag=resnet20-$(printf '%s' "$data" | sed 's/[^A-Za-z0-9._-]/_/g')
trained_base=$cache/$tag.pth
work=$cache/train-$tag
t=$(now)
if [ -n "$base_opt" ]; then
  [ -f "$base_opt" ] || die "--base $base_opt: no such file"
  base=$base_opt trained="given"
  step "base model: $base"
elif [ $retrain = 0 ] && { [ "$data" = fashion-mnist ] || [ $shipped_opt = 1 ]; } &&
     { [ -f "$shipped" ] || [ $shipped_opt = 1 ]; }; then
  [ -f "$shipped" ] || die "--shipped $shipped: no such file"
  sumfile=$shipped.sha256
  [ -f "$sumfile" ] || die "$sumfile is missing: cannot check the shipped model"
  want=$(awk 'NR == 1 { print $1 }' "$sumfile")
  got=$(sha256sum "$shipped" | awk '{ print $1 }')
  [ "$want" = "$got" ] || die "${shipped#$root/}: sha256 $got, expected $want ($sumfile): the file is damaged or not the shipped one (git checkout it, or run with --retrain)"
  base=$shipped trained="shipped, sha256 ok"
  step "base model: shipped ${shipped#$root/} (sha256 ${want:0:12}... ok)"
else
  if [ $retrain = 1 ]; then rm -rf "$work"; rm -f "$trained_base"; fi
  if [ -f "$trained_base" ]; then
    step "base model: cached $trained_base"
    trained="cached"
  else
    [ "$data" = fashion-mnist ] && [ $retrain = 0 ] && echo "demo: no shipped model at $shipped: training one" >&2
    step "training ResNet20 on $data for $epochs epochs (ldnq train)"
    mkdir -p "$work"
    targs=(--arch resnet20 --data "$data" --epochs "$epochs" --out "$work/model.pth" --resume --json)
    [ "$limit" = 0 ] || targs+=(--limit-train "$limit")
    "$ldnq" train "${targs[@]}" >/dev/null || die "ldnq train failed (rerun to resume; --retrain to start over)"
    cp "$work/model.pth" "$trained_base.tmp.$$" && mv "$trained_base.tmp.$$" "$trained_base"
    rm -rf "$work"
    trained="trained, $epochs epochs"
  fi
  base=$trained_base
fi
t_base=$(since "$t")

if [ -n "$cepochs" ]; then
  qextra+=(--cascade-epochs "$cepochs"); cdesc="<= $cepochs epochs/layer"
else
  cdesc="until the loss settles"
fi
step "L-DNQ: $levels levels with $ratio of the training data (ldnq quantize, cascade $cdesc)"
t=$(now)
qout_file=$cache/$tag-${levels}level.ldnq
qjson=$("$ldnq" quantize --arch resnet20 --weights "$base" --data "$data" --levels "$levels" \
        --ratio "$ratio" --out "$qout_file" ${qextra[@]+"${qextra[@]}"} --json) ||
  die "ldnq quantize failed"
t_quant=$(since "$t")

# Float32 size: the network's state dict as a .safetensors file (no pickle
# overhead; the shipped model already is one); packed: the .ldnq written by quantize.
case $base in
  *.safetensors) fsize_file=$base ;;
  *) fsize_file=$cache/$tag.safetensors
     [ -f "$fsize_file" ] && [ "$fsize_file" -nt "$base" ] || "$ldnq" convert "$base" "$fsize_file" 2>/dev/null ;;
esac
fbytes=$(stat -c %s "$fsize_file")
qbytes=$(stat -c %s "$qout_file")
qhead=${qjson%%, \"layers\"*}  # the summary fields, before the per-layer list
field() { printf '%s' "$qhead" | sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p"; }
fp=$(field fp_top1) q=$(field top1) qsec=$(field seconds)
[ -n "$fp" ] && [ -n "$q" ] || die "could not read the quantize summary: $qjson"
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

printf '\nL-DNQ demo: ResNet20 on %s, %s levels, %s of the training data, cascade %s\n' "$data" "$levels" \
  "$ratio" "$cdesc"
printf '  %-40s %12s\n' "" "top-1 (%)"
printf '  %-40s %12.2f\n' "full precision (float32)" "$fp"
printf '  %-40s %12.2f\n' "L-DNQ $levels levels" "$q"
printf '  %-40s %12s\n' "model size float32" "$(kib "$fbytes")"
printf '  %-40s %12s\n' "model size packed (.ldnq)" "$(kib "$qbytes")"
printf '  %-40s %12s\n' "dependencies" "${t_deps} s"
printf '  %-40s %12s\n' "build" "${t_build} s"
printf '  %-40s %12s\n' "base model ($trained)" "${t_base} s"
printf '  %-40s %12s\n' "quantize" "${t_quant} s"
[ -z "$qsec" ] || printf '  %-40s %12s\n' "  of which layers + final evaluation" \
  "$(awk -v s="$qsec" 'BEGIN { printf "%.1f s", s }')"
printf '  %-40s %12s\n' "total" "$(awk -v a="$t_deps" -v b="$t_build" -v c="$t_base" -v d="$t_quant" \
  'BEGIN { printf "%.1f s", a + b + c + d }')"
printf '  base model %s\n  quantized  %s\n' "$base" "$qout_file"
