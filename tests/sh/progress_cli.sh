#!/usr/bin/env bash
# Progress of ldnq quantize. Off a terminal: one line per layer (Hessian
# batches, ADMM iterations and error, cascade epochs, loss and strikes), no
# bars. On a terminal (through script(1)): a bar per phase with the phase's
# real total (the cascade's batches per epoch, not step+1), the full label
# (loss digits not cut), rate and time left, and bars for the full-precision
# and final evaluations.
. "${BASH_SOURCE%/*}/lib.sh" progress_cli
need xxd
make_weights "$tmp/w.pth"
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
finish
