#!/usr/bin/env bash
# ldnq quantize --resume: Ctrl-C (SIGINT) stops a run cleanly after its last
# finished layer (exit 130, no --out file, FILE.state kept, how to resume
# printed); the same command with --resume continues there and writes a .ldnq
# byte-identical to an uninterrupted run's, with the same JSON report (wall
# times aside), and removes the state. A state of other options or weights is
# refused with its status, a damaged one too, and neither is used.
. "${BASH_SOURCE%/*}/lib.sh" quantize_resume
need xxd
make_weights "$tmp/w.pth"
make_weights "$tmp/w2.pth" 4
idx train 96 1; idx t10k 20 2
# 32 images in the limited set; per-channel scales, cascades (teacher cache),
# per-layer evaluation and a final fine-tune: every kind of state is carried.
args=(quantize --arch resnet20 --weights "$tmp/w.pth" --data "mnist:$tmp/data" --ratio 0.34
      --hessian-batches 3 --cascade-epochs 2 --cascade-batch 16 --per-channel --eval-per-layer
      --set final_epochs=2 --json)
untimed() { sed -E 's/"seconds": [0-9.e+-]+/"seconds": T/g' "$1"; }

"$ldnq" "${args[@]}" --out "$tmp/ref.ldnq" >"$tmp/ref.json" 2>"$tmp/ref.err" ||
  { bad "reference run failed"; cat "$tmp/ref.err"; }
[ -e "$tmp/ref.ldnq.state" ] && bad "a finished run left its state"

# Ctrl-C after a few layers.
"$ldnq" "${args[@]}" --out "$tmp/q.ldnq" >/dev/null 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 600); do grep -q '^layer 6/22 ' "$tmp/int.err" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid 2>/dev/null || bad "the run ended before the interrupt"
wait $pid; rc=$?
[ $rc -eq 130 ] || { bad "SIGINT: exit $rc, want 130"; tail -3 "$tmp/int.err"; }
grep -q "ldnq quantize: interrupted during the quantization; nothing was written to $tmp/q.ldnq" \
  "$tmp/int.err" || { bad "SIGINT: message"; tail -3 "$tmp/int.err"; }
k=$(grep -c '^layer [0-9]*/22 ' "$tmp/int.err")
grep -q "ldnq quantize: $tmp/q.ldnq.state holds the run after layer $k/22; the same command with --resume continues from there" \
  "$tmp/int.err" || { bad "SIGINT: how to resume (after $k layers)"; tail -2 "$tmp/int.err"; }
[ "$k" -ge 6 ] && [ "$k" -lt 22 ] || bad "interrupted after $k layers"
[ -e "$tmp/q.ldnq" ] && bad "SIGINT: output written"
[ -s "$tmp/q.ldnq.state" ] || bad "SIGINT: no state kept"
ls "$tmp" | grep -q '\.tmp\.' && bad "SIGINT: temporary file left"
cp "$tmp/q.ldnq.state" "$tmp/good.state"; cp "$tmp/good.state" "$tmp/saved.state"

# A state of other options, of other weights, a damaged one: refused, kept, nothing written.
refused() { # LABEL WORD CMD-ARGS...
  local label=$1 word=$2; shift 2
  "$ldnq" "$@" >/dev/null 2>"$tmp/$label.err"; local rc=$?
  [ $rc -eq 1 ] || { bad "$label: exit $rc, want 1"; tail -3 "$tmp/$label.err"; }
  grep -q "$word" "$tmp/$label.err" || { bad "$label: no '$word'"; tail -3 "$tmp/$label.err"; }
  grep -q '^layer [0-9]' "$tmp/$label.err" && bad "$label: layers were run"
  [ -e "$tmp/q.ldnq" ] && bad "$label: output written"
  cmp -s "$tmp/q.ldnq.state" "$tmp/saved.state" || bad "$label: the state changed"
}
refused options "ldnq quantize: --resume: saved state of another run: .*cascade_lr=0.01" \
  "${args[@]}" --cascade-lr 0.01 --out "$tmp/q.ldnq" --resume
refused weights "ldnq quantize: --resume: saved state of another run: .*other base weights" \
  "${args[@]/%w.pth/w2.pth}" --out "$tmp/q.ldnq" --resume
head -c 3000 "$tmp/good.state" >"$tmp/q.ldnq.state"; cp "$tmp/q.ldnq.state" "$tmp/saved.state"
refused truncated "ldnq quantize: --resume: malformed or unrecognised data: .*not a readable quantizer state" \
  "${args[@]}" --out "$tmp/q.ldnq" --resume

# A run without --resume says that it replaces an existing state.
cp "$tmp/good.state" "$tmp/x.ldnq.state"
"$ldnq" "${args[@]/%w.pth/none.pth}" --out "$tmp/x.ldnq" >/dev/null 2>"$tmp/note.err"
grep -q "note: $tmp/x.ldnq.state of an earlier stopped run is replaced after the first layer (--resume continues it instead)" \
  "$tmp/note.err" || { bad "no note about the old state"; cat "$tmp/note.err"; }

# The same command with --resume: continues after layer k, the uninterrupted result.
cp "$tmp/good.state" "$tmp/q.ldnq.state"
"$ldnq" "${args[@]}" --out "$tmp/q.ldnq" --resume >"$tmp/res.json" 2>"$tmp/res.err" ||
  { bad "resumed run failed"; tail -3 "$tmp/res.err"; }
grep -q "^resumed from $tmp/q.ldnq.state: layers 1-$k of 22 were done$" "$tmp/res.err" ||
  { bad "resume line"; head -3 "$tmp/res.err"; }
r=$(grep -c '^layer [0-9]*/22 ' "$tmp/res.err")
[ "$r" -eq $((22 - k)) ] || bad "resumed run: $r layer lines, want $((22 - k))"
grep -q "^layer $((k + 1))/22 " "$tmp/res.err" || bad "resumed run: does not start at layer $((k + 1))"
cmp "$tmp/q.ldnq" "$tmp/ref.ldnq" || bad "resumed .ldnq differs from the uninterrupted run's"
cmp <(untimed "$tmp/res.json") <(untimed "$tmp/ref.json") ||
  { bad "resumed JSON report differs"; diff <(untimed "$tmp/res.json" | tr ',' '\n') <(untimed "$tmp/ref.json" | tr ',' '\n') | head; }
[ -e "$tmp/q.ldnq.state" ] && bad "the state outlived the finished run"
ls "$tmp" | grep -q '\.tmp\.' && bad "temporary file left"
"$ldnq" quantize --help >"$tmp/help.txt" # (not piped into grep -q: no SIGPIPE race)
grep -q -- '--resume' "$tmp/help.txt" || bad "--help has no --resume"
finish
