#!/usr/bin/env bash
# ldnq quantize end to end on a tiny MNIST-format dataset and a random
# ResNet20 (1 channel): JSON summary, packed .ldnq and .pth outputs, exit
# codes on bad usage. No PyTorch needed.
. "${BASH_SOURCE%/*}/lib.sh" quantize_cli
set -e
need xxd
make_weights "$tmp/w.pth"   # a random ResNet20 saved by libldnq itself
idx train 200 1
idx t10k 20 2

run() { "$ldnq" quantize --arch resnet20 --weights "$tmp/w.pth" --data "mnist:$tmp/data" "$@"; }

out=$(run --levels 3 --ratio 0.1 --hessian-batches 3 --no-cascade --out "$tmp/q.ldnq" --json)
last=$(echo "$out" | tail -1)
echo "$last" | cut -c1-200
case $last in '{"fp_top1": '*'"layers": [{"name": "conv1", "alpha": '*) ;;
  *) echo "bad JSON line: $last"; exit 1 ;; esac
if command -v python3 >/dev/null; then
  echo "$last" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert 0 <= j["top1"] <= 100 and 0 <= j["fp_top1"] <= 100 and j["seconds"] > 0, j
L = j["layers"]
assert len(L) == 22 and L[0]["name"] == "conv1" and L[-1]["name"] == "fc", [l["name"] for l in L]
for l in L:
    assert l["alpha"] > 0 and 0 <= l["error"] <= l["error_initial"], l
    assert l["iterations"] >= 1, l
print("quantize --json: %d layers, top1 %.1f (fp %.1f)" % (len(L), j["top1"], j["fp_top1"]))'
fi
# The packed file holds quantized entries; BN stays float.
"$ldnq" info "$tmp/q.ldnq" >"$tmp/info.txt"
head -3 "$tmp/info.txt"
grep -q "conv1.weight.*quantized" "$tmp/info.txt"
grep -q "fc.bias.*quantized" "$tmp/info.txt"
grep -q "bn1.weight.*float32" "$tmp/info.txt"

# --per-channel: every layer reports per_channel, the .ldnq holds one scale
# per output channel (kind 3), and its floats equal the .pth export.
out=$(run --levels 3 --ratio 0.1 --hessian-batches 2 --no-cascade --per-channel --out "$tmp/pc.ldnq" --json)
last=$(echo "$out" | tail -1)
case $last in *'"per_channel": false'*) echo "per-channel run reports per_channel false"; exit 1 ;; esac
case $last in *'"per_channel": true'*) ;; *) echo "no per_channel in: $last"; exit 1 ;; esac
"$ldnq" info "$tmp/pc.ldnq" >"$tmp/info_pc.txt"
grep -q "layer3.2.conv2.weight.*quantized.*per-channel alphas 64" "$tmp/info_pc.txt"
grep -q "fc.bias.*quantized.*per-channel alphas 10" "$tmp/info_pc.txt"
"$ldnq" convert "$tmp/pc.ldnq" "$tmp/pc.safetensors" >/dev/null
sums() { grep "conv.*weight" | sed 's/.*\]//; s/ *levels.*//'; } # "sum X sum|x| Y" per layer
"$ldnq" info "$tmp/pc.safetensors" | sums >"$tmp/a.txt"
sums <"$tmp/info_pc.txt" >"$tmp/b.txt"
[ "$(wc -l <"$tmp/a.txt")" -eq 19 ] && cmp "$tmp/a.txt" "$tmp/b.txt"

# .pth output (dequantized floats), 5 levels via --kbits.
run --kbits 5 --ratio 0.1 --hessian-batches 2 --no-cascade --out "$tmp/q.pth" >/dev/null
"$ldnq" info "$tmp/q.pth" >"$tmp/info2.txt"
grep -q "pth-zip" "$tmp/info2.txt"

# --keep-first/--keep-last leave conv1 and fc in float32 (alpha null in the
# JSON); --eval-per-layer adds each quantized layer's top-1; the cascade runs with the
# given learning rate.
out=$(run --levels 3 --ratio 0.1 --hessian-batches 2 --cascade-epochs 1 --cascade-lr 0.01 \
  --keep-first --keep-last --eval-per-layer --out "$tmp/keep.ldnq" --json)
last=$(echo "$out" | tail -1)
if command -v python3 >/dev/null; then
  echo "$last" | python3 -c '
import json, sys
L = json.load(sys.stdin)["layers"]
assert len(L) == 22, len(L)
assert L[0]["alpha"] is None and L[-1]["alpha"] is None, (L[0], L[-1])
assert all(l["alpha"] > 0 for l in L[1:-1]), L
assert all(0 <= l["top1"] <= 100 for l in L[1:-1]), L
assert "top1" not in L[0] and "top1" not in L[-1], L  # skipped layers: nothing to evaluate'
fi
"$ldnq" info "$tmp/keep.ldnq" >"$tmp/info_keep.txt"
grep -q "^ *conv1.weight.*float32" "$tmp/info_keep.txt"
grep -q "^ *fc.weight.*float32" "$tmp/info_keep.txt"
grep -q "layer1.0.conv1.weight.*quantized" "$tmp/info_keep.txt"

# --profile: the JSON names the profile and every setting in effect
# (explicit options over the profile's defaults), and per layer the
# cascade's epochs, batches and final loss; --set NAME=VALUE sets any
# option by its library name; --help lists both profiles.
out=$(run --levels 3 --ratio 0.1 --hessian-batches 2 --cascade-epochs 1 --cascade-batch 8 \
  --profile seed --set cascade_weight_decay=0.001 --set per_channel=0 --out "$tmp/seed.ldnq" --json)
last=$(echo "$out" | tail -1)
if command -v python3 >/dev/null; then
  echo "$last" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["profile"] == "seed", j["profile"]
S = j["settings"]
assert S["cascade_stop"] == 2 and S["trainable_rule"] == 1 and S["profile"] == 1, S
assert S["cascade_max_epochs"] == 1 and S["hessian_batches"] == 2 and S["levels"] == 3, S
assert S["cascade_weight_decay"] == 0.001 and S["per_channel"] == 0, S  # --set
L = j["layers"]
# 20 images, batch 8: 2 batches; the cap of 1 epoch comes before the 3 strikes
assert all(l["cascade_epochs"] == 1 and l["cascade_batches"] == 2 for l in L), L[0]
assert all(l["cascade_loss"] >= 0 for l in L), L[0]'
fi
"$ldnq" info "$tmp/seed.ldnq" >"$tmp/info_seed.txt"
grep -q "^ *fc.bias.*float32" "$tmp/info_seed.txt"  # trained in the last cascade (seed rule)
grep -q "^ *fc.weight.*quantized" "$tmp/info_seed.txt"
"$ldnq" quantize --help >"$tmp/help.txt" # (not piped into grep -q: no SIGPIPE race)
grep -q "cascade_stop *0 *2" "$tmp/help.txt"
out=$(run --levels 3 --ratio 0.1 --hessian-batches 2 --cascade-epochs 2 --cascade-batch 8 \
  --set cascade_first_epochs=3 --set final_epochs=1 --out "$tmp/imp.ldnq" --json)
last=$(echo "$out" | tail -1)
if command -v python3 >/dev/null; then
  echo "$last" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["profile"] == "improved" and j["settings"]["cascade_stop"] == 0, j["settings"]
assert j["settings"]["cascade_batch"] == 8, j["settings"]
L = j["layers"]
# 20 images, batch 8: 2 batches an epoch, 2 epochs per layer (the budget),
# 3 for the first layer (--set cascade_first_epochs=3 over the default 12)
assert L[0]["cascade_epochs"] == 3 and L[0]["cascade_batches"] == 6, L[0]
assert j["settings"]["cascade_first_epochs"] == 3 and j["settings"]["final_epochs"] == 1, j
assert j["settings"]["solver"] == 1 and j["settings"]["cascade_optimizer"] == 1, j
assert j["settings"]["exact_patterns"] == 2e6 and j["settings"]["final_code_lr"] == 0.001, j
assert j["settings"]["final_alpha_lr"] == 0.001, j
assert all(l["cascade_epochs"] == 2 and l["cascade_batches"] == 4 for l in L[1:]), L[1]
assert j["settings"]["per_channel"] == 1 and all(l["per_channel"] for l in L), L[0]
assert all(l["cascade_loss"] >= 0 and l["cascade_last_loss"] >= 0 for l in L), L[0]
assert L[0]["teacher_cached"] == 0 and all(l["teacher_cached"] == 4 for l in L[1:]), L
print("profiles: seed and improved JSON ok")'
fi

# Usage errors exit 2, failures 1, and leave no output file.
set +e
run --levels 3 --ratio 0.1 >/dev/null 2>&1; [ $? -eq 2 ] || { echo "missing --out: want exit 2"; exit 1; }
run --levels 3 --profile paper --out "$tmp/bad.ldnq" 2>"$tmp/err_prof.txt"; [ $? -eq 2 ] || { echo "--profile paper: want exit 2"; exit 1; }
run --levels 4 --ratio 0.1 --out "$tmp/bad.ldnq" 2>"$tmp/err.txt"; [ $? -eq 2 ] || { echo "levels 4: want exit 2"; exit 1; }
run --levels 3 --ratio 0.1 --cascade-lr 11 --out "$tmp/bad.ldnq" 2>"$tmp/err_lr.txt"; [ $? -eq 2 ] || { echo "cascade lr 11: want exit 2"; exit 1; }
run --levels 3 --ratio 0.1 --set no_such=1 --out "$tmp/bad.ldnq" 2>"$tmp/err_set.txt"; [ $? -eq 2 ] || { echo "--set no_such=1: want exit 2"; exit 1; }
run --levels 3 --ratio 0.1 --set levels=4 --out "$tmp/bad.ldnq" 2>"$tmp/err_set2.txt"; [ $? -eq 2 ] || { echo "--set levels=4: want exit 2"; exit 1; }
run --levels 3 --ratio 0.1 --set cascade_stop=0.5 --out "$tmp/bad.ldnq" 2>"$tmp/err_set3.txt"; [ $? -eq 2 ] || { echo "--set cascade_stop=0.5: want exit 2"; exit 1; }
run --levels 3 --ratio 0.1 --set final_epochs=-1 --out "$tmp/bad.ldnq" 2>"$tmp/err_set4.txt"; [ $? -eq 2 ] || { echo "--set final_epochs=-1: want exit 2"; exit 1; }
set -e
grep -q "cascade-lr" "$tmp/err_lr.txt"
grep -q "levels '4'.*valid: 3, 5, 7, 9, 11" "$tmp/err.txt"
grep -q "profile 'paper'.*valid: improved, seed" "$tmp/err_prof.txt"
grep -q "set 'no_such=1'.*NAME=NUMBER" "$tmp/err_set.txt"
grep -q "set 'levels=4'.*levels" "$tmp/err_set2.txt"
grep -q "set 'cascade_stop=0.5': not an integer" "$tmp/err_set3.txt"
grep -q "final_epochs" "$tmp/err_set4.txt"
[ ! -e "$tmp/bad.ldnq" ]
echo "quantize CLI ok"
