"""ldnq_tensor <-> numpy, without copies where possible."""
import ctypes

import numpy as np

from . import _types as T
from ._handle import Handle, new_ptr
from ._lib import fn
from .errors import check

MAX_DIMS = 8


def _shape_arg(shape):
    shape = tuple(int(d) for d in shape)
    return len(shape), (ctypes.c_int64 * max(1, len(shape)))(*shape)


def as_f32(a):
    """`a` as a C-contiguous float32 array: the same object when it already
    is one (no copy), else a converted copy."""
    a = np.asarray(a)
    if a.dtype == np.float32 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=np.float32)


def ptr(a):
    """Address of a numpy array's data, for c_void_p arguments."""
    return a.ctypes.data if a.size else None


class Tensor(Handle):
    """A float32 tensor handle (row-major).

    Tensor.wrap(array) borrows a numpy buffer (kept alive by the tensor);
    Tensor.create(shape) owns its storage. numpy() exposes the data as a
    numpy view that keeps the tensor alive."""

    _free = staticmethod(fn.tensor_free)

    @classmethod
    def create(cls, shape):
        """New zero-filled tensor that owns its data."""
        out = new_ptr(T.Tensor_)
        nd, sh = _shape_arg(shape)
        check(fn.tensor_create(nd, sh, ctypes.byref(out)))
        return cls(out)

    @classmethod
    def wrap(cls, array):
        """Tensor over a numpy array's buffer. A C-contiguous writeable
        float32 array is shared (writes through the tensor show in the
        array); anything else is first converted into a new array, which the
        tensor then keeps. Either way the array lives as long as the tensor."""
        a = np.asarray(array)
        if not (a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable):
            a = np.array(a, dtype=np.float32, order="C")
        if a.ndim > MAX_DIMS:
            raise ValueError("at most %d dimensions" % MAX_DIMS)
        out = new_ptr(T.Tensor_)
        nd, sh = _shape_arg(a.shape)
        # A zero-size array may have no buffer; the tensor then has no data.
        dummy = ctypes.c_float()
        data = a.ctypes.data if a.size else ctypes.addressof(dummy)
        check(fn.tensor_wrap(data, nd, sh, ctypes.byref(out)))
        return cls(out, keep=[a, dummy])

    @classmethod
    def from_numpy(cls, array, copy=False):
        """wrap(array), or a tensor owning a copy when copy=True."""
        if not copy:
            return cls.wrap(array)
        a = as_f32(array)
        t = cls.create(a.shape)
        check(fn.tensor_write(t.handle, ptr(a), a.size))
        return t

    @classmethod
    def _borrowed(cls, h, owner):
        """A view of a tensor owned elsewhere (never freed here)."""
        t = cls(h, keep=[owner])
        t._free_it = False
        return t

    def close(self):
        if getattr(self, "_free_it", True):
            super().close()
        else:
            self._h = None
            self._release_keep()

    @property
    def shape(self):
        nd = ctypes.c_int()
        sh = (ctypes.c_int64 * MAX_DIMS)()
        check(fn.tensor_shape(self.handle, ctypes.byref(nd), sh))
        return tuple(sh[i] for i in range(nd.value))

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = ctypes.c_int64()
        check(fn.tensor_numel(self.handle, ctypes.byref(n)))
        return n.value

    def numpy(self):
        """The tensor's data as a numpy view (no copy). The view keeps this
        Tensor alive; it is valid until the tensor is reshaped (use a fresh
        numpy() after reshape)."""
        p = ctypes.POINTER(ctypes.c_float)()
        check(fn.tensor_data(self.handle, ctypes.byref(p)))
        shape = self.shape
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if n == 0 or not p:
            return np.zeros(shape, dtype=np.float32)
        buf = (ctypes.c_float * n).from_address(ctypes.addressof(p.contents))
        buf._ldnq_owner = self  # the view's base chain keeps the tensor
        return np.frombuffer(buf, dtype=np.float32).reshape(shape)

    def to_numpy(self):
        """A copy of the data as a new numpy array (ldnq_tensor_read)."""
        out = np.empty(self.shape, dtype=np.float32)
        check(fn.tensor_read(self.handle, ptr(out), out.size))
        return out

    def write(self, array):
        a = as_f32(array)
        check(fn.tensor_write(self.handle, ptr(a), a.size))

    def fill(self, value):
        check(fn.tensor_fill(self.handle, float(value)))

    def reshape(self, shape):
        nd, sh = _shape_arg(shape)
        check(fn.tensor_reshape(self.handle, nd, sh))
        return self

    def copy(self):
        out = new_ptr(T.Tensor_)
        check(fn.tensor_copy(self.handle, ctypes.byref(out)))
        return Tensor(out)

    def __array__(self, dtype=None):
        a = self.to_numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        return "Tensor(shape=%s)" % (self.shape,) if self._h else "Tensor(closed)"
