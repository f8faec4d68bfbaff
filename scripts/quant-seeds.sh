#!/bin/sh
# Runs `ldnq quantize` (Fashion-MNIST, 1 %) over several seeds, one at a
# time, one thread, and prints top-1 and process CPU time per seed and the
# mean. The network is ResNet20 unless ARCH is set (ARCH=resnet32 ...).
# Usage: [ARCH=A] scripts/quant-seeds.sh LDNQ_BIN WEIGHTS OUTDIR TAG "SEEDS" [quantize options...]
set -eu
bin=$1 weights=$2 out=$3 tag=$4 seeds=$5 arch=${ARCH:-resnet20}
shift 5
mkdir -p "$out"
export OPENBLAS_CORETYPE=Haswell LDNQ_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
sum=0 n=0 line=""
for s in $seeds; do
  /usr/bin/time -f "%U %S %e" -o "$out/$tag-s$s.time" nice -n 5 "$bin" quantize --arch "$arch" \
    --weights "$weights" --data fashion-mnist --ratio 0.01 --seed "$s" \
    --out "$out/$tag-s$s.ldnq" --json "$@" >"$out/$tag-s$s.json" 2>"$out/$tag-s$s.err"
  t1=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['top1'])" "$out/$tag-s$s.json")
  cpu=$(awk '{printf "%.1f", $1+$2}' "$out/$tag-s$s.time")
  wall=$(awk '{printf "%.1f", $3}' "$out/$tag-s$s.time")
  line="$line s$s $t1 (${cpu}s cpu ${wall}s wall)"
  sum=$(awk -v a="$sum" -v b="$t1" 'BEGIN{print a+b}'); n=$((n+1))
done
mean=$(awk -v a="$sum" -v n="$n" 'BEGIN{printf "%.2f", a/n}')
echo "$tag ($arch):$line mean $mean | $*" | tee -a "$out/summary.txt"
