#!/usr/bin/env bash
# Files libldnq writes are read back by torch.load (zip checkpoints) and by
# an independent Python reader (safetensors, .ldnq per docs/FORMATS.md) to
# the same values. Needs PyTorch: exit 77 (skip) without it.
. "${BASH_SOURCE%/*}/lib.sh" torch_roundtrip
set -e
py=/usr/bin/python3
"$py" -c 'import torch' 2>/dev/null || { echo "no PyTorch: skipped"; exit 77; }
fix=$src/tests/data/io
for f in zip_basic.pth legacy_basic.pth zip_nested.pth legacy_nested.pth zip_deflate.pth basic.safetensors zip_proto4.pth legacy_proto4.pth; do
  "$ldnq" convert "$fix/$f" "$tmp/$f.out.pth" 2>/dev/null
  "$ldnq" convert "$fix/$f" "$tmp/$f.out.safetensors" 2>/dev/null
done
# A quantized .ldnq written by Python from the spec, converted by libldnq.
"$py" "$src/tests/sh/ldnq_format.py" write "$tmp/q.ldnq"
"$ldnq" convert "$tmp/q.ldnq" "$tmp/q.pth" 2>/dev/null
"$ldnq" convert "$tmp/q.ldnq" "$tmp/q2.ldnq" 2>/dev/null
cmp "$tmp/q.ldnq" "$tmp/q2.ldnq"
"$py" - "$fix" "$tmp" "$src/tests/sh" <<'PY'
import json, os, struct, sys
import torch
fix, tmp, shdir = sys.argv[1:4]
sys.path.insert(0, shdir)
import ldnq_format

def load_source(f):
    if f.endswith(".safetensors"):
        return read_safetensors(os.path.join(fix, f))
    obj = torch.load(os.path.join(fix, f))
    for k in ("state_dict", "net", "model"):
        if isinstance(obj, dict) and k in obj:
            obj = obj[k]
    return {(k[7:] if k.startswith("module.") else k): v for k, v in obj.items()
            if isinstance(v, torch.Tensor)}

def read_safetensors(path):
    codes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
             "F64": torch.float64, "I64": torch.int64, "U8": torch.uint8}
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        if e == b:
            out[k] = torch.empty(v["shape"], dtype=codes[v["dtype"]])
        else:
            t = torch.frombuffer(bytearray(data[b:e]), dtype=codes[v["dtype"]])
            out[k] = t.reshape(v["shape"]).clone()
    return out

def as_lib(t):
    return t.float() if t.dtype.is_floating_point else t.long()

checked = 0
for f in ["zip_basic.pth", "legacy_basic.pth", "zip_nested.pth", "legacy_nested.pth",
          "zip_deflate.pth", "basic.safetensors", "zip_proto4.pth", "legacy_proto4.pth"]:
    ref = load_source(f)
    for kind, got in (("pth", torch.load(os.path.join(tmp, f + ".out.pth"))),
                      ("safetensors", read_safetensors(os.path.join(tmp, f + ".out.safetensors")))):
        assert list(got) == list(ref), (f, kind, list(got), list(ref))
        for k, v in ref.items():
            w = as_lib(v)
            assert got[k].dtype == w.dtype and got[k].shape == w.shape, (f, kind, k, got[k].dtype, w.dtype)
            assert torch.equal(got[k], w), (f, kind, k)
            checked += 1
    if f == "zip_basic.pth":
        sd = torch.load(os.path.join(tmp, f + ".out.pth"))
        assert type(sd).__name__ == "OrderedDict"
        # torch's restricted unpickler accepts what libldnq writes
        safe = torch.load(os.path.join(tmp, f + ".out.pth"), weights_only=True)
        assert all(torch.equal(safe[k], sd[k]) for k in sd)
q = torch.load(os.path.join(tmp, "q.pth"))
for name, (levels, alpha, codes, shape) in ldnq_format.SAMPLE.items():
    want = (torch.tensor(codes, dtype=torch.float32) * torch.tensor(alpha, dtype=torch.float32)).reshape(shape)
    assert torch.equal(q[name], want), name
    checked += 1
for name, (levels, alphas, codes, shape) in ldnq_format.PER_CHANNEL.items():
    c = torch.tensor(codes, dtype=torch.float32).reshape(shape[0], -1)
    want = (c * torch.tensor(alphas, dtype=torch.float32)[:, None]).reshape(shape)
    assert torch.equal(q[name], want), name
    checked += 1
assert torch.equal(q["bias"], torch.tensor(ldnq_format.BIAS, dtype=torch.float32))
print("torch_roundtrip: %d tensors equal" % checked)
PY
