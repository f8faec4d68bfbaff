#!/usr/bin/env python3
"""Generates tests/data/cifar_py/: CIFAR-10 python-version batches written by
Python 3's pickle at protocols 2-5 (as numpy and pickle write them: protocol 2
stores bytes as _codecs.encode(str, 'latin1'), 3-4 as BINBYTES, 5 through
numpy's _frombuffer and BYTEARRAY8). Run from the repository root:
    /usr/bin/python3 tests/gen_cifar_py_fixtures.py
Each batch: 3 rows, data[r, i] = (r * 31 + i * 7) % 256 (every byte value,
so the latin-1 text has 1- and 2-byte UTF-8), labels [3, 1, 4]."""
import os
import pickle

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "cifar_py")


def batch():
    r = np.arange(3, dtype=np.int64)[:, None]
    i = np.arange(3072, dtype=np.int64)[None, :]
    data = ((r * 31 + i * 7) % 256).astype(np.uint8)
    return {"batch_label": "testing batch 1 of 1", "labels": [3, 1, 4], "data": data,
            "filenames": ["a.png", "b.png", "c.png"]}


def main():
    os.makedirs(OUT, exist_ok=True)
    for proto in (2, 3, 4, 5):
        with open(os.path.join(OUT, "batch_p%d" % proto), "wb") as f:
            pickle.dump(batch(), f, protocol=proto)
    print("wrote", OUT, "numpy", np.__version__)


if __name__ == "__main__":
    main()
