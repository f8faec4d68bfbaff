#!/usr/bin/env python3
"""Writes the model-file fixtures of tests/test_io.c into tests/data/io/.

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tests/gen_io_fixtures.py
Deterministic (fixed seed); the committed files are what it produced.
expected.json lists, per fixture, the format and per tensor its dtype,
shape, sum, sum_abs and wsum = sum(i * v[i]) over the row-major float32
(or int64) values, so element order is checked too.
"""
import collections
import io
import json
import os
import pickle
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "io")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)

DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
               torch.float64: "float64", torch.int64: "int64", torch.int32: "int32",
               torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool"}


def describe(t):
    """Expected figures of a tensor as libldnq holds it (floats as float32)."""
    if t.dtype.is_floating_point:
        v = t.detach().float().double().reshape(-1)
    else:
        v = t.detach().long().double().reshape(-1)
    idx = torch.arange(v.numel(), dtype=torch.float64)
    return {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "sum": float(v.sum()),
            "sum_abs": float(v.abs().sum()), "wsum": float((idx * v).sum())}


def state_dict():
    sd = collections.OrderedDict()
    sd["conv1.weight"] = torch.randn(4, 3, 3, 3)
    sd["conv1.bias"] = torch.randn(4)
    sd["half"] = torch.randn(5).half()
    sd["double"] = torch.randn(2, 3).double()
    sd["bf16"] = torch.randn(7).bfloat16()
    sd["bn.num_batches_tracked"] = torch.tensor(1234567)
    sd["int32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
    sd["uint8"] = torch.tensor([0, 7, 255, 3], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    base = torch.randn(6, 4)
    sd["transposed"] = base.t()               # non-contiguous, shares base's storage
    sd["sliced"] = base[2:5, 1:]              # storage offset 9, strides (4, 1)
    sd["strided"] = torch.randn(10)[1::3]     # offset 1, stride 3
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def expected_of(sd, strip=""):
    out = collections.OrderedDict()
    for k, v in sd.items():
        out[k[len(strip):] if strip and k.startswith(strip) else k] = describe(v)
    return out


expected = collections.OrderedDict()

sd = state_dict()
torch.save(sd, os.path.join(OUT, "zip_basic.pth"))
expected["zip_basic.pth"] = {"format": "pth-zip", "tensors": expected_of(sd)}
torch.save(sd, os.path.join(OUT, "legacy_basic.pth"), _use_new_zipfile_serialization=False)
expected["legacy_basic.pth"] = {"format": "pth-legacy", "tensors": expected_of(sd)}

# Nested under 'state_dict' with DataParallel 'module.' prefixes, plus other entries.
small = collections.OrderedDict((("module.fc.weight", torch.randn(3, 5)),
                                 ("module.fc.bias", torch.randn(3))))
torch.save({"state_dict": small, "epoch": 3, "best_acc": 91.5, "arch": "resnet20"},
           os.path.join(OUT, "zip_nested.pth"))
expected["zip_nested.pth"] = {"format": "pth-zip", "tensors": expected_of(small, "module.")}
net = collections.OrderedDict((("layer.weight", torch.randn(2, 2)),))
torch.save({"net": net, "epoch": 3}, os.path.join(OUT, "legacy_nested.pth"),
           _use_new_zipfile_serialization=False)
expected["legacy_nested.pth"] = {"format": "pth-legacy", "tensors": expected_of(net)}

# Other pickle protocols (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL...) and a Parameter.
p4 = collections.OrderedDict((("a", torch.randn(3, 2)), ("b", torch.tensor([1, 2])),
                              ("c", torch.randn(4)[1:]),
                              ("p", torch.nn.Parameter(torch.randn(2, 2)))))
torch.save(p4, os.path.join(OUT, "zip_proto4.pth"), pickle_protocol=4)
expected["zip_proto4.pth"] = {"format": "pth-zip", "tensors": expected_of(p4)}
torch.save(p4, os.path.join(OUT, "legacy_proto4.pth"), pickle_protocol=4,
           _use_new_zipfile_serialization=False)
expected["legacy_proto4.pth"] = {"format": "pth-legacy", "tensors": expected_of(p4)}
# A whole module (not a state dict): refused, naming the class.
torch.save(torch.nn.Linear(2, 1), os.path.join(OUT, "evil_module.pth"))

# The zip fixture re-packed with deflate (torch writes stored entries; others may not).
with zipfile.ZipFile(os.path.join(OUT, "zip_basic.pth")) as zin, \
        zipfile.ZipFile(os.path.join(OUT, "zip_deflate.pth"), "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        zout.writestr(info.filename, zin.read(info.filename))
expected["zip_deflate.pth"] = {"format": "pth-zip", "tensors": expected_of(sd)}


def write_safetensors(path, tensors, metadata):
    """By hand (the safetensors package is not installed): same layout."""
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
             torch.bool: "BOOL", torch.int8: "I8", torch.int16: "I16"}
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


st = collections.OrderedDict()
st["a.weight"] = torch.randn(3, 4)
st["b.half"] = torch.randn(6).half()
st["c.bf16"] = torch.randn(5).bfloat16()
st["d.double"] = torch.randn(2, 2).double()
st["e.count"] = torch.tensor([5, -6], dtype=torch.int64)
st["f.flags"] = torch.tensor([1, 0, 1], dtype=torch.uint8)
st["g.\u00e9t\u00e9"] = torch.randn(2)   # non-ASCII name, escaped by json.dumps
write_safetensors(os.path.join(OUT, "basic.safetensors"), st, {"format": "pt", "note": "q\"uote"})
expected["basic.safetensors"] = {"format": "safetensors", "tensors": expected_of(st),
                                 "metadata": {"format": "pt", "note": "q\"uote"}}


class Evil:
    """Pickles to a call of a dangerous global; must be refused, never run."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def zip_with_pickle(path, payload):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("evil/data.pkl", payload)
        z.writestr("evil/version", "3\n")


zip_with_pickle(os.path.join(OUT, "evil_os_system.pth"),
                pickle.dumps(collections.OrderedDict(w=Evil(os.system, "echo pwned")), protocol=2))
zip_with_pickle(os.path.join(OUT, "evil_eval.pth"),
                pickle.dumps({"w": Evil(eval, "1+1")}, protocol=4))

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", sorted(os.listdir(OUT)))


def py2_numpy_pickle():
    """A CIFAR-10-style batch as Python 2's cPickle (protocol 2) writes it:
    SHORT_BINSTRING/BINSTRING for str, numpy _reconstruct + BUILD for the
    array. Assembled by hand (Python 3 cannot emit BINSTRING)."""
    def s(b):  # py2 str
        return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)
    data = bytes(range(6))
    p = b"\x80\x02}q\x01(" + s(b"data")
    p += b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85" + s(b"b") + b"\x87Rq\x04"
    p += b"(K\x01K\x02K\x03\x86cnumpy\ndtype\nq\x05" + s(b"u1") + b"K\x00K\x01\x87Rq\x06"
    p += b"(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89" + s(data) + b"tb"
    p += s(b"labels") + b"]q\x07(K\x06K\tK\x09e" + s(b"batch_label") + s(b"training batch 1 of 5") + b"u."
    return p


with open(os.path.join(OUT, "py2_numpy.pkl"), "wb") as f:
    f.write(py2_numpy_pickle())
# Validate the hand-made bytes with Python's own unpickler.
import numpy as np  # noqa: E402
d = pickle.loads(py2_numpy_pickle(), encoding="bytes")
assert d[b"data"].dtype == np.uint8 and d[b"data"].shape == (2, 3) and d[b"data"].tobytes() == bytes(range(6))
assert d[b"labels"] == [6, 9, 9] and d[b"batch_label"] == b"training batch 1 of 5"
