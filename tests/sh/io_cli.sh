#!/usr/bin/env bash
# ldnq info / ldnq convert on the io fixtures: output, conversions between
# every format, and exit codes on bad input (1 = failure, 2 = usage).
. "${BASH_SOURCE%/*}/lib.sh" io_cli
set -e
fix=$src/tests/data/io

# info: human lines (on stderr with --json) and the JSON alone on stdout
out=$("$ldnq" info "$fix/zip_basic.pth" --json 2>"$tmp/info.err")
head -3 "$tmp/info.err"
grep -q "pth-zip, 14 tensors" "$tmp/info.err"
[ "$(wc -l <<<"$out")" -eq 1 ] || { echo "info --json: more than the JSON on stdout"; exit 1; }
last=$out
case $last in '{"format":"pth-zip","tensors":[{"name":"conv1.weight","dtype":"float32","shape":[4,3,3,3]'*) ;;
  *) echo "bad JSON line: $last"; exit 1 ;; esac
if command -v python3 >/dev/null; then
  echo "$last" | python3 -c '
import json, sys
j = json.load(sys.stdin)
exp = json.load(open(sys.argv[1]))["zip_basic.pth"]["tensors"]
assert [t["name"] for t in j["tensors"]] == list(exp), "names/order"
for t in j["tensors"]:
    e = exp[t["name"]]
    assert t["shape"] == e["shape"] and t["dtype"] == e["dtype"], t
    assert abs(t["sum"] - e["sum"]) <= 1e-6 * (1 + abs(e["sum"])), t
    assert abs(t["sum_abs"] - e["sum_abs"]) <= 1e-6 * (1 + abs(e["sum_abs"])), t
print("info --json matches expected.json")' "$fix/expected.json"
fi
"$ldnq" info "$fix/legacy_nested.pth" | grep -q "pth-legacy, 1 tensors"
"$ldnq" info "$fix/basic.safetensors" | grep -q "safetensors, 7 tensors"
"$ldnq" info "$fix/basic.safetensors" --json | tail -1 | grep -qF '"metadata":{"format":"pt","note":"q\"uote"}}'

# convert through every writer and back: same sums (JSON lines compared)
ref=$("$ldnq" info "$fix/zip_basic.pth" --json | tail -1 | sed 's/"dtype":"[a-z0-9]*",//g; s/"format":"[a-z-]*",//')
for ext in pth safetensors ldnq; do
  "$ldnq" convert "$fix/zip_basic.pth" "$tmp/a.$ext"
  "$ldnq" convert "$tmp/a.$ext" "$tmp/b.$ext"
  got=$("$ldnq" info "$tmp/b.$ext" --json | tail -1 | sed 's/"dtype":"[a-z0-9]*",//g; s/"format":"[a-z-]*",//; s/,"packed_bytes".*}$/}/')
  [ "$got" = "$ref" ] || { echo "convert via .$ext changed values"; echo "$got"; echo "$ref"; exit 1; }
  cmp -s "$tmp/a.$ext" "$tmp/b.$ext" || { echo "writer for .$ext is not deterministic"; exit 1; }
done
"$ldnq" info "$tmp/a.ldnq" --json | tail -1 | grep -q '"packed_bytes":'

# a quantized .ldnq written from the spec (docs/FORMATS.md) by an independent writer
if command -v python3 >/dev/null; then
  python3 "$src/tests/sh/ldnq_format.py" write "$tmp/q.ldnq"
  j=$("$ldnq" info "$tmp/q.ldnq" --json | tail -1)
  echo "$j"
  grep -q '{"name":"conv.weight","dtype":"quantized","shape":\[2,2,3\],"sum":0.25,"sum_abs":1,"levels":3,"alpha":0.125,"alpha_count":1}' <<<"$j"
  # kind 3: 3 scales, values alpha_o x code, the scalar is their mean
  grep -q '{"name":"pc.weight","dtype":"quantized","shape":\[3,2\],"sum":-2.5,"sum_abs":3.5,"levels":5,"alpha":0.833333313,"alpha_count":3}' <<<"$j"
  # codes 3+6+3+3 bytes + 3 scales 12 bytes + bias 12 bytes; 39 weights as float32
  grep -q '"packed_bytes":39,"float32_bytes":156,"metadata":{"source":"python"}}$' <<<"$j"
  "$ldnq" convert "$tmp/q.ldnq" "$tmp/q.safetensors"
  "$ldnq" info "$tmp/q.safetensors" --json | tail -1 | grep -q '"name":"fc.weight","dtype":"float32","shape":\[11\],"sum":0,"sum_abs":2.32500009'
fi

# failures: exit 1 with a message, no output file; usage errors: exit 2
set +e
"$ldnq" info "$fix/evil_os_system.pth" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "not allowed" "$tmp/err" || { echo "evil pickle: rc $rc"; cat "$tmp/err"; exit 1; }
"$ldnq" info "$tmp/missing.pth" 2>/dev/null; [ $? -eq 1 ] || exit 1
head -c 100 "$fix/zip_basic.pth" > "$tmp/trunc.pth"
"$ldnq" convert "$tmp/trunc.pth" "$tmp/t.safetensors" 2>/dev/null; [ $? -eq 1 ] || exit 1
[ ! -e "$tmp/t.safetensors" ] || { echo "partial output left"; exit 1; }
"$ldnq" convert "$fix/zip_basic.pth" "$tmp/x.unknown" 2>/dev/null; [ $? -eq 1 ] || exit 1
"$ldnq" convert "$fix/zip_basic.pth" "$tmp/nodir/x.pth" 2>/dev/null; [ $? -eq 1 ] || exit 1
"$ldnq" convert "$fix/zip_basic.pth" 2>/dev/null; [ $? -eq 2 ] || exit 1
"$ldnq" info 2>/dev/null; [ $? -eq 2 ] || exit 1
"$ldnq" info --bogus "$fix/zip_basic.pth" 2>/dev/null; [ $? -eq 2 ] || exit 1
set -e
ls "$tmp" | grep -q '\.tmp\.' && { echo "temporary file left"; exit 1; }
echo "io_cli: ok"
