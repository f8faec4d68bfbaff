#!/usr/bin/env bash
# Progress of ldnq quantize. Off a terminal: one line per layer (Hessian
# batches, ADMM iterations and error, cascade epochs, loss and strikes), no
# bars. On a terminal (through script(1)): a bar per phase with the phase's
# real total (the cascade's batches per epoch, not step+1), the full label
# (loss digits not cut), rate and time left, and bars for the full-precision
# and final evaluations.
set -uo pipefail
src=$LDNQ_SOURCE_DIR; bin=$LDNQ_BINARY_DIR; ldnq=$bin/tools/ldnq/ldnq
tmp=$LDNQ_TEST_TMP/progress_cli; rm -rf "$tmp"; mkdir -p "$tmp/data"
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
idx train 96 1; idx t10k 20 2
# 32 images in the limited set, cascade batches of 16: 2 batches per epoch.
args=(quantize --arch resnet20 --weights "$tmp/w.pth" --data "mnist:$tmp/data" --ratio 0.34
      --hessian-batches 3 --cascade-epochs 2 --cascade-batch 16 --keep-first --out "$tmp/q.ldnq")

"$ldnq" "${args[@]}" 2>"$tmp/plain.err" >/dev/null || { bad "plain run failed"; cat "$tmp/plain.err"; }
n=$(grep -c '^layer [0-9]*/22 ' "$tmp/plain.err")
[ "$n" -eq 22 ] || bad "off a terminal: $n layer lines, want 22"
grep -q $'\r' "$tmp/plain.err" && bad "off a terminal: bar characters in the log"
grep -q '^layer 1/22 conv1: kept in float32' "$tmp/plain.err" || bad "kept layer line"
grep -Eq '^layer 2/22 layer1\.0\.conv1: hessian 3 batches, admm [0-9]+ it \(E [0-9.e-]+\), cascade 2 epochs \(4 batches\) loss [0-9.e-]+, strikes [0-3]/3, [0-9.]+ s$' \
  "$tmp/plain.err" || { bad "layer line format"; sed -n 2,4p "$tmp/plain.err"; }
grep -Eq '^full precision: top-1 [0-9.]+ top-5 [0-9.]+ \([0-9.]+ s\)' "$tmp/plain.err" || bad "fp line"

if command -v script >/dev/null; then
  cmd=$(printf '%q ' "$ldnq" "${args[@]}")
  script -qc "$cmd 2>&1 >/dev/null" /dev/null >"$tmp/tty.raw" </dev/null
  tr '\r' '\n' <"$tmp/tty.raw" >"$tmp/tty.txt"
  grep -aq '^full-precision evaluation \[' "$tmp/tty.txt" || bad "tty: no fp evaluation bar"
  grep -aq '^final evaluation \[' "$tmp/tty.txt" || bad "tty: no final evaluation bar"
  grep -aEq '^layer 2/22 hessian \[#+\.*\] 3/3' "$tmp/tty.txt" || bad "tty: hessian bar"
  grep -aEq '^layer 2/22 admm E [0-9.e-]+ \[[#.]+\] [0-9]+/100' "$tmp/tty.txt" || bad "tty: admm bar"
  grep -aEq '^layer 2/22 cascade epoch 1/2 loss [0-9]\.[0-9]{4,}(e-[0-9]+)? strikes [0-3]/3 \[#+\.*\] 1/2' "$tmp/tty.txt" ||
    { bad "tty: cascade bar (epoch, total 2, full loss)"; grep -a cascade "$tmp/tty.txt" | head -3; }
  grep -aEq 'cascade epoch 2/2 .* 2/2 [0-9.]+/s [0-9]+:[0-9]{2} left' "$tmp/tty.txt" || bad "tty: rate and time left"
  grep -aoE '\] [0-9]+/[0-9]+' "$tmp/tty.txt" | tr -d '] ' |
    awk -F/ '$1 + 0 > $2 + 0 { print "over: " $0; bad = 1 } END { exit bad }' || bad "tty: done > total"
  grep -aEq 'layer 2/22 layer1\.0\.conv1: hessian 3 batches' "$tmp/tty.txt" || bad "tty: no layer line"
else
  echo "no script(1): terminal part skipped"
fi
# Ctrl-C (SIGINT) during the layers: a clean stop, exit 130, nothing written, no temporary file.
"$ldnq" "${args[@]/%q.ldnq/q2.ldnq}" 2>"$tmp/int.err" >/dev/null &
pid=$!
for _ in $(seq 1 200); do grep -q '^layer 2/22 ' "$tmp/int.err" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || { bad "SIGINT: exit $rc, want 130"; cat "$tmp/int.err"; }
grep -q "ldnq quantize: interrupted during the quantization; nothing was written to $tmp/q2.ldnq" "$tmp/int.err" ||
  { bad "SIGINT: message"; tail -3 "$tmp/int.err"; }
[ -e "$tmp/q2.ldnq" ] && bad "SIGINT: output written"
ls "$tmp" | grep -q '\.tmp\.' && bad "SIGINT: temporary file left"
[ $fails -eq 0 ] || { echo "progress_cli: $fails failures"; exit 1; }
echo "progress_cli: all ok"
