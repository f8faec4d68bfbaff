#!/usr/bin/env bash
# The committed network fixtures are what tests/gen_nn_fixtures.py makes:
# regenerates the ResNet20 one and compares it with tests/data/nn/resnet20.bin
# (same records, values equal to float32 roundoff of the float64 reference).
# Needs PyTorch (exit 77 without).
. "${BASH_SOURCE%/*}/lib.sh" nn_fixtures
set -e
py=/usr/bin/python3
"$py" -c 'import torch, torchvision' 2>/dev/null || { echo "no PyTorch: skipped"; exit 77; }
"$py" "$src/tests/gen_nn_fixtures.py" --out "$tmp" resnet20 >/dev/null
"$py" - "$src/tests/data/nn/resnet20.bin" "$tmp/resnet20.bin" <<'PY'
import struct, sys
import numpy as np

def load(path):
    recs = {}
    order = []
    with open(path, "rb") as f:
        assert f.read(8) == b"LDNQFIX1"
        (n,) = struct.unpack("<I", f.read(4))
        for _ in range(n):
            (ln,) = struct.unpack("<I", f.read(4))
            name = f.read(ln).decode()
            (nd,) = struct.unpack("<I", f.read(4))
            shape = struct.unpack("<%dq" % nd, f.read(8 * nd))
            (has,) = struct.unpack("<B", f.read(1))
            data = None
            if has:
                cnt = int(np.prod(shape)) if nd else 1
                data = np.frombuffer(f.read(4 * cnt), dtype="<f4")
            recs[name] = (shape, data)
            order.append(name)
    return order, recs

oa, a = load(sys.argv[1])
ob, b = load(sys.argv[2])
assert oa == ob, "record names/order differ"
worst = 0.0
for k in oa:
    (sa, da), (sb, db) = a[k], b[k]
    assert sa == sb, k
    assert (da is None) == (db is None), k
    if da is not None:
        scale = max(float(np.abs(da).max()), 1e-30)
        err = float(np.abs(da.astype(np.float64) - db).max()) / scale
        worst = max(worst, err)
        assert err <= 1e-5, "%s differs: %g" % (k, err)
print("resnet20 fixture regenerated: %d records, worst relative difference %.2g" % (len(oa), worst))
PY
