"""Built-in networks (ldnq_network): create, load, save, forward, backward,
parameters by name, layers and the activation tap."""
import collections
import ctypes
import enum

import numpy as np

from . import _check
from . import _types as T
from ._callback import CallbackGuard, run_guarded
from ._handle import Handle, decode, encode, new_ptr
from ._lib import fn
from .errors import check
from .tensor import MAX_DIMS, Tensor, ptr


class Arch(enum.IntEnum):
    RESNET20 = 1
    RESNET32 = 2
    RESNET56 = 3
    RESNET18 = 4
    RESNET34 = 5
    RESNET50 = 6


class LayerType(enum.IntEnum):
    CONV2D = 1
    LINEAR = 2


class LayerAttr(enum.IntEnum):
    TYPE = 0
    IN = 1
    OUT = 2
    KH = 3
    KW = 4
    STRIDE = 5
    PADDING = 6
    HAS_BIAS = 7


PARAMETER, BUFFER = 0, 1
LOAD_NON_STRICT = 1


def arch_of(arch):
    """Arch from an Arch, its value or a name like "resnet20"."""
    if isinstance(arch, str):
        out = ctypes.c_int()
        check(fn.arch_from_name(encode(arch), ctypes.byref(out)))
        return Arch(out.value)
    return Arch(int(arch))


class Network(Handle):
    """An ldnq_network. Parameters are named like PyTorch state-dict keys."""

    _free = staticmethod(fn.network_free)
    _errmsg = staticmethod(fn.network_errmsg)

    def __init__(self, h, keep=()):
        super().__init__(h, keep)
        self._tap = None

    @classmethod
    def create(cls, arch, in_channels=3, num_classes=10):
        out = new_ptr(T.Network_)
        check(fn.network_create(int(arch_of(arch)), int(in_channels), int(num_classes),
                                ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_checkpoint(cls, arch, checkpoint):
        """An `arch` network sized from and strictly loaded with a Checkpoint
        (or a path to a model file)."""
        from .io import Checkpoint
        ck = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.load(checkpoint)
        out = new_ptr(T.Network_)
        check(fn.network_create_from_checkpoint(int(arch_of(arch)), ck.handle,
                                                ctypes.byref(out)))
        return cls(out)

    def clone(self):
        out = new_ptr(T.Network_)
        self._check(fn.network_clone(self.handle, ctypes.byref(out)))
        return Network(out)

    def describe(self):
        """(Arch, in_channels, num_classes)."""
        a, c, n = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        self._check(fn.network_describe(self.handle, ctypes.byref(a), ctypes.byref(c),
                                        ctypes.byref(n)))
        return Arch(a.value), c.value, n.value

    @property
    def num_classes(self):
        return self.describe()[2]

    def reset_parameters(self, seed):
        self._check(fn.network_reset_parameters(self.handle, int(seed)))

    # ---- files ----
    def load(self, path, strict=True):
        """Loads a model file by name (strict: every key, right shapes)."""
        self._check(fn.network_load(self.handle, encode(path), 0 if strict else LOAD_NON_STRICT))

    def load_checkpoint(self, checkpoint, strict=True):
        self._check(fn.network_load_checkpoint(self.handle, checkpoint.handle,
                                               0 if strict else LOAD_NON_STRICT))

    def save(self, path, format=None):
        """Writes the state dict; the format defaults to the path's extension."""
        from .io import format_from_path
        fmt = format_from_path(path) if format is None else int(format)
        self._check(fn.network_save(self.handle, encode(path), int(fmt)))

    def checkpoint(self):
        from .io import Checkpoint
        out = new_ptr(T.Checkpoint_)
        self._check(fn.checkpoint_from_network(self.handle, ctypes.byref(out)))
        return Checkpoint(out)

    # ---- state dict ----
    def names(self):
        """State-dict keys in order (parameters and buffers)."""
        n = ctypes.c_int64()
        self._check(fn.network_tensor_count_v2(self.handle, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            s = ctypes.c_char_p()
            self._check(fn.network_tensor_name(self.handle, i, ctypes.byref(s)))
            out.append(decode(s.value))
        return out

    def info(self, name):
        """(kind, shape): kind PARAMETER (0) or BUFFER (1)."""
        kind, nd = ctypes.c_int(), ctypes.c_int()
        sh = (ctypes.c_int64 * MAX_DIMS)()
        self._check(fn.network_tensor_info(self.handle, encode(name), ctypes.byref(kind),
                                           ctypes.byref(nd), sh))
        return kind.value, tuple(sh[i] for i in range(nd.value))

    def get(self, name):
        """A copy of a named entry as a float32 numpy array."""
        out = np.empty(self.info(name)[1], dtype=np.float32)
        self._check(fn.network_read(self.handle, encode(name), ptr(out), out.size))
        return out

    def set(self, name, value):
        """Replaces a named entry's values (exact shape, finite)."""
        a = _check.array(value, "value of '%s'" % name, np.float32)  # the library checks the count
        self._check(fn.network_write(self.handle, encode(name), ptr(a), a.size))

    def state_dict(self):
        return collections.OrderedDict((k, self.get(k)) for k in self.names())

    def load_state_dict(self, state):
        for k, v in state.items():
            self.set(k, v)

    def parameters(self):
        """Names of the parameters (not buffers), in order."""
        return [k for k in self.names() if self.info(k)[0] == PARAMETER]

    def set_trainable(self, name, trainable):
        self._check(fn.network_set_trainable(self.handle, encode(name), int(bool(trainable))))

    def get_trainable(self, name):
        v = ctypes.c_int()
        self._check(fn.network_get_trainable(self.handle, encode(name), ctypes.byref(v)))
        return bool(v.value)

    # ---- running ----
    @property
    def training(self):
        v = ctypes.c_int()
        self._check(fn.network_get_training(self.handle, ctypes.byref(v)))
        return bool(v.value)

    @training.setter
    def training(self, on):
        self._check(fn.network_set_training(self.handle, int(bool(on))))

    @property
    def grad_enabled(self):
        """False: forward keeps nothing for backward (like torch.no_grad())."""
        v = ctypes.c_int()
        self._check(fn.network_get_grad_enabled(self.handle, ctypes.byref(v)))
        return bool(v.value)

    @grad_enabled.setter
    def grad_enabled(self, on):
        self._check(fn.network_set_grad_enabled(self.handle, int(bool(on))))

    def train(self, on=True):
        self.training = on
        return self

    def eval(self):
        return self.train(False)

    def forward(self, x):
        """Logits [N, num_classes] for input [N, C, H, W] (a numpy array or a
        Tensor). A float32 C-contiguous input is not copied; the logits
        array is written by the library in place."""
        xin = x if isinstance(x, Tensor) else Tensor.wrap(x)
        n = xin.shape[0] if xin.shape else 0
        logits = np.empty((n, self.num_classes), dtype=np.float32)
        out = Tensor.wrap(logits)
        guards = [self._tap[0]] if self._tap else []
        run_guarded(guards, lambda: fn.network_forward(self.handle, xin.handle, out.handle),
                    self._check)
        self._last_input_shape = xin.shape
        return logits

    __call__ = forward

    def backward(self, grad_output, input_grad=False):
        """Accumulates parameter gradients for dLoss/dlogits; returns
        dLoss/dinput as a numpy array when input_grad is true."""
        g = Tensor.wrap(grad_output)
        gi = None
        if input_grad:
            shape = getattr(self, "_last_input_shape", None)
            if shape is None:
                raise ValueError("backward before forward")
            gi_arr = np.empty(shape, dtype=np.float32)
            gi = Tensor.wrap(gi_arr)
        self._check(fn.network_backward(self.handle, g.handle, gi.handle if gi else None))
        return gi_arr if input_grad else None

    def zero_grad(self):
        self._check(fn.network_zero_grad(self.handle))

    def grad(self, name):
        """Copy of a parameter's accumulated gradient."""
        out = new_ptr(T.Tensor_)
        self._check(fn.network_get_grad(self.handle, encode(name), ctypes.byref(out)))
        with Tensor(out) as t:
            return t.to_numpy()

    # ---- weight layers ----
    def layers(self):
        """Weight layers in order: a list of (name, attrs dict)."""
        n = ctypes.c_int64()
        self._check(fn.network_layer_count_v2(self.handle, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            s = ctypes.c_char_p()
            self._check(fn.network_layer_name(self.handle, i, ctypes.byref(s)))
            attrs = {}
            for a in LayerAttr:
                v = ctypes.c_int()
                self._check(fn.network_layer_attr(self.handle, i, int(a), ctypes.byref(v)))
                attrs[a.name.lower()] = v.value
            attrs["type"] = LayerType(attrs["type"])
            out.append((decode(s.value), attrs))
        return out

    def set_tap(self, func):
        """func(layer_name, activation) is called during forward with the
        input of every weight layer (a numpy COPY: the C tensor is borrowed
        only for the call). Return a true value to cancel the forward
        (CancelledError). An exception in func stops the forward and is
        re-raised by forward(). None removes the tap."""
        if func is None:
            self._check(fn.network_set_tap(self.handle, T.TAP_FN(), None))
            self._tap = None
            return

        def tap(_ud, layer, tensor):
            view = Tensor._borrowed(tensor, self)
            try:
                return func(decode(layer), view.to_numpy())
            finally:
                view.close()

        guard = CallbackGuard(tap)
        cfn = T.TAP_FN(lambda ud, layer, t: guard.call(ud, layer, t))
        self._check(fn.network_set_tap(self.handle, cfn, None))
        self._tap = (guard, cfn)  # the C side borrows cfn until removed
