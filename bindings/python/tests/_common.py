"""Shared test helpers: import path, data paths, fixture reader."""
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LDNQ_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "bindings", "python"))

import numpy as np  # noqa: E402

import ldnq  # noqa: E402,F401

DATA = os.path.join(SOURCE_DIR, "tests", "data")


def tmpdir():
    base = os.environ.get("LDNQ_TEST_TMP")
    if base:
        os.makedirs(base, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=base)


def read_fixture(path):
    """Records of a tests/gen_nn_fixtures.py file: {name: (shape, data or None)}."""
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:8] == b"LDNQFIX1"
    (count,), off, out = struct.unpack_from("<I", buf, 8), 12, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", buf, off)
        name = buf[off + 4:off + 4 + n].decode()
        off += 4 + n
        (nd,) = struct.unpack_from("<I", buf, off)
        shape = struct.unpack_from("<%dq" % nd, buf, off + 4)
        off += 4 + 8 * nd
        has = buf[off]
        off += 1
        data = None
        if has:
            size = int(np.prod(shape, dtype=np.int64))
            data = np.frombuffer(buf, dtype="<f4", count=size, offset=off).reshape(shape)
            off += 4 * size
        out[name] = (tuple(shape), data)
    return out


def hash_weights(k, numel, scale):
    """The fixtures' weight generator (tests/gen_nn_fixtures.py, splitmix64)."""
    with np.errstate(over="ignore"):
        i = np.arange(numel, dtype=np.uint64)
        z = (np.uint64(k) << np.uint64(32)) + i + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return (np.float32(2.0) * u - np.float32(1.0)) * np.float32(scale)


def weight_scale(key, shape):
    if key == "fc.bias":
        return 0.1
    fan_in = int(np.prod(shape[1:]))
    return float(np.sqrt(6.0 / fan_in)) if len(shape) == 4 else float(1.0 / np.sqrt(fan_in))


def tiny_dataset(count=64, channels=1, size=8, classes=4, seed=0):
    """A callback dataset of separable random images (class = brightest quadrant)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, count)
    images = rng.normal(0, 0.3, (count, channels, size, size)).astype(np.float32)
    h = size // 2
    for i, c in enumerate(labels):
        r, q = divmod(int(c) % 4, 2)
        images[i, :, r * h:(r + 1) * h, q * h:(q + 1) * h] += 1.5
    ds = ldnq.Dataset.from_callback(count, channels, size, size, classes,
                                    lambda i: (images[i], labels[i]))
    return ds, images, labels
