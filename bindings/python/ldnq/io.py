"""Model files (ldnq_checkpoint): PyTorch .pth, safetensors, packed .ldnq."""
import collections
import ctypes
import enum
import os

import numpy as np

from . import _check
from . import _types as T
from ._handle import Handle, decode, encode, new_ptr
from ._lib import fn
from .errors import check
from .tensor import MAX_DIMS, Tensor, _shape_arg, ptr


class Format(enum.IntEnum):
    NONE = 0
    PTH_ZIP = 1
    PTH_LEGACY = 2
    SAFETENSORS = 3
    LDNQ_PACKED = 4


class DType(enum.IntEnum):
    FLOAT32 = 1
    FLOAT16 = 2
    BFLOAT16 = 3
    FLOAT64 = 4
    INT64 = 5
    INT32 = 6
    INT16 = 7
    INT8 = 8
    UINT8 = 9
    BOOL = 10
    QUANTIZED = 11


def format_from_path(path):
    out = ctypes.c_int()
    check(fn.format_from_path(encode(os.fspath(path)), ctypes.byref(out)))
    return Format(out.value)


class Checkpoint(Handle):
    """A named collection of tensors (a state dict) read from or written to a
    model file. Mapping-like: names(), ck[name] (float32 copy), len(ck)."""

    _free = staticmethod(fn.checkpoint_free)
    _errmsg = staticmethod(fn.checkpoint_errmsg)

    @classmethod
    def load(cls, path):
        out = new_ptr(T.Checkpoint_)
        check(fn.checkpoint_load(encode(os.fspath(path)), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def load_bytes(cls, data):
        data = bytes(data)
        out = new_ptr(T.Checkpoint_)
        check(fn.checkpoint_load_memory(data, len(data), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def create(cls):
        out = new_ptr(T.Checkpoint_)
        check(fn.checkpoint_create(ctypes.byref(out)))
        return cls(out)

    @property
    def format(self):
        v = ctypes.c_int()
        self._check(fn.checkpoint_format(self.handle, ctypes.byref(v)))
        return Format(v.value)

    def __len__(self):
        v = ctypes.c_int64()
        self._check(fn.checkpoint_count_v2(self.handle, ctypes.byref(v)))
        return v.value

    def names(self):
        out = []
        for i in range(len(self)):
            s = ctypes.c_char_p()
            self._check(fn.checkpoint_name(self.handle, i, ctypes.byref(s)))
            out.append(decode(s.value))
        return out

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name):
        return name in self.names()

    def info(self, name):
        """(DType in the file, shape)."""
        dt, nd = ctypes.c_int(), ctypes.c_int()
        sh = (ctypes.c_int64 * MAX_DIMS)()
        self._check(fn.checkpoint_info(self.handle, encode(name), ctypes.byref(dt),
                                       ctypes.byref(nd), sh))
        return DType(dt.value), tuple(sh[i] for i in range(nd.value))

    def read(self, name):
        """Values as float32 (quantized entries: alpha * code)."""
        out = np.empty(self.info(name)[1], dtype=np.float32)
        self._check(fn.checkpoint_read(self.handle, encode(name), ptr(out), out.size))
        return out

    __getitem__ = read

    def sum(self, name):
        """(sum, sum of absolute values) in double."""
        s, a = ctypes.c_double(), ctypes.c_double()
        self._check(fn.checkpoint_sum(self.handle, encode(name), ctypes.byref(s),
                                      ctypes.byref(a)))
        return s.value, a.value

    def add(self, name, value):
        """Adds a float32 tensor (copied)."""
        t = Tensor.wrap(_check.array(value, "tensor '%s'" % name, np.float32))
        self._check(fn.checkpoint_add(self.handle, encode(name), t.handle))

    def add_int64(self, name, values):
        a = _check.array(values, "int64 tensor '%s'" % name, np.int64)
        nd, sh = _shape_arg(a.shape)
        self._check(fn.checkpoint_add_int64(self.handle, encode(name), nd, sh, ptr(a)))

    def add_quantized(self, name, codes, levels, alpha):
        """Adds alpha * codes (int8 codes allowed for `levels`)."""
        c = _check.array(codes, "codes of '%s'" % name, np.int8)
        nd, sh = _shape_arg(c.shape)
        self._check(fn.checkpoint_add_quantized(self.handle, encode(name), nd, sh, int(levels),
                                                float(alpha), ptr(c)))

    def set_quantized(self, name, codes, levels, alpha):
        """Turns an existing entry into alpha * codes in place (same shape)."""
        c = _check.array(codes, "codes of '%s'" % name, np.int8)
        self._check(fn.checkpoint_set_quantized(self.handle, encode(name), int(levels),
                                                float(alpha), ptr(c), c.size))

    def add_quantized_per_channel(self, name, codes, levels, alphas):
        """Adds alphas[o] * codes[o, ...]: one scale per size[0] index."""
        c = _check.array(codes, "codes of '%s'" % name, np.int8)
        a = _check.array(alphas, "alphas of '%s'" % name, np.float32).reshape(-1)
        nd, sh = _shape_arg(c.shape)
        self._check(fn.checkpoint_add_quantized_per_channel(
            self.handle, encode(name), nd, sh, int(levels), ptr(a), a.size, ptr(c)))

    def set_quantized_per_channel(self, name, codes, levels, alphas):
        """Turns an existing entry into alphas[o] * codes[o, ...] in place."""
        c = _check.array(codes, "codes of '%s'" % name, np.int8)
        a = _check.array(alphas, "alphas of '%s'" % name, np.float32).reshape(-1)
        self._check(fn.checkpoint_set_quantized_per_channel(
            self.handle, encode(name), int(levels), ptr(a), a.size, ptr(c), c.size))

    def get_quantized_alphas(self, name):
        """Scales of a quantized entry as float32: one, or one per size[0]
        index for a per-channel entry."""
        n = ctypes.c_int64()
        self._check(fn.checkpoint_get_quantized_alphas(self.handle, encode(name),
                                                       ctypes.byref(n), None, 0))
        out = np.empty(n.value, dtype=np.float32)
        self._check(fn.checkpoint_get_quantized_alphas(self.handle, encode(name), None,
                                                       ptr(out), out.size))
        return out

    def remove(self, name):
        self._check(fn.checkpoint_remove(self.handle, encode(name)))

    def __delitem__(self, name):
        self.remove(name)

    def get_quantized(self, name):
        """(levels, alpha, int8 codes) of a quantized entry."""
        shape = self.info(name)[1]
        codes = np.empty(shape, dtype=np.int8)
        lv, al = ctypes.c_int(), ctypes.c_float()
        self._check(fn.checkpoint_get_quantized(self.handle, encode(name), ctypes.byref(lv),
                                                ctypes.byref(al), ptr(codes), codes.size))
        return lv.value, al.value, codes

    @property
    def metadata(self):
        """String metadata as a dict (a copy); set entries with
        set_metadata."""
        n = ctypes.c_int64()
        self._check(fn.checkpoint_metadata_count_v2(self.handle, ctypes.byref(n)))
        out = collections.OrderedDict()
        for i in range(n.value):
            k, v = ctypes.c_char_p(), ctypes.c_char_p()
            self._check(fn.checkpoint_metadata_get(self.handle, i, ctypes.byref(k),
                                                   ctypes.byref(v)))
            out[decode(k.value)] = decode(v.value)
        return out

    def set_metadata(self, key, value):
        self._check(fn.checkpoint_metadata_set(self.handle, encode(key), encode(value)))

    def save(self, path, format=None):
        """Atomic write; the format defaults to the path's extension."""
        fmt = format_from_path(path) if format is None else int(format)
        self._check(fn.checkpoint_save(self.handle, encode(os.fspath(path)), int(fmt)))
