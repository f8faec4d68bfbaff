"""The L-DNQ quantizer: options, the per-layer solver (activations from a
Python callback), layer results, and the whole-network pipeline."""
import ctypes
import enum
import json
import os

import numpy as np

from . import _check
from . import comm as _comm
from . import _types as T
from ._callback import CallbackGuard, run_guarded
from ._handle import Handle, decode, encode, new_ptr
from ._lib import fn
from .errors import InvalidArgError, RangeError, Status, check
from .tensor import Tensor, ptr


class QuantParam(enum.IntEnum):
    LEVELS = 0
    RHO_FACTOR = 1
    MAX_ITER = 2
    HESSIAN_BATCHES = 3
    HESSIAN_BATCH_SIZE = 4
    HESSIAN_SEED_SCALE = 5
    CASCADE = 6
    CASCADE_LR = 7
    CASCADE_MOMENTUM = 8
    CASCADE_WEIGHT_DECAY = 9
    CASCADE_BATCH = 10
    CASCADE_MAX_EPOCHS = 11
    QUANTIZE_FIRST = 12
    QUANTIZE_LAST = 13
    EVAL_PER_LAYER = 14
    SEED = 15
    PER_CHANNEL = 16
    TEACHER_CACHE_MB = 17
    CASCADE_STOP = 18
    TRAINABLE_RULE = 19
    PROFILE = 20
    CASCADE_OPTIMIZER = 21
    CASCADE_SCHEDULE = 22
    FINAL_EPOCHS = 23
    FINAL_LR = 24
    BN_RECALIBRATE = 25
    SOLVER = 26
    CASCADE_FIRST_EPOCHS = 27
    EXACT_PATTERNS = 28
    FINAL_ALPHA_LR = 29
    FINAL_CODE_LR = 30
    MIXUP = 31
    HESSIAN_CENTER = 32
    CASCADE_OBJECTIVE = 33
    KD_TEMPERATURE = 34
    CASCADE_EPOCH_POOL = 35


class Profile(enum.IntEnum):
    """Values of QuantParam.PROFILE: sets of defaults (docs/QUANTIZER.md)."""
    IMPROVED = 0
    SEED = 1


class ResultAttr(enum.IntEnum):
    LEVELS = 0
    ITERATIONS = 1
    RHO_FALLBACK = 2
    WEIGHT_COUNT = 3
    BIAS_COUNT = 4
    HESSIAN_SAMPLES = 5
    ALPHA = 100
    ERROR_INITIAL = 101
    ERROR = 102
    SECONDS = 103
    RHO = 104


class Phase(enum.IntEnum):
    HESSIAN = 0
    ADMM = 1
    CASCADE = 2
    EVAL = 3
    LAYER_DONE = 4


class ReportAttr(enum.IntEnum):
    QUANTIZED = 0
    CASCADE_EPOCHS = 1
    CASCADE_BATCHES = 2
    TEACHER_CACHED = 3
    BIAS_FLOAT = 4
    SECONDS = 100
    CASCADE_LOSS = 101
    TOP1 = 102
    TOP5 = 103
    CASCADE_LAST_LOSS = 104


def _param(p):
    # Unknown names raise InvalidArgError listing the valid ones; a number
    # this binding does not know may be valid for a newer library: passed on.
    return _check.option(QuantParam, p, "quantizer")


LEVELS_VALID = (3, 5, 7, 9, 11)


def _value(p, value):
    """The option value checked against the option's type and bounds (from
    the library), before the C call: 3.7 for an integer option, a string, a
    value out of range raise LdnqError subclasses that say what is valid."""
    is_int, lo, hi, default = param_info(p)
    name = p.name.lower() if isinstance(p, QuantParam) else "option %d" % int(p)
    what = "quantizer option '%s'" % name
    if not is_int:
        return _check.real(value, what, lo, hi)
    v = _check.integer(value, what, int(lo), int(hi))
    if p == QuantParam.LEVELS and v not in LEVELS_VALID:
        raise RangeError(Status.RANGE, "%s = %d: valid levels are %s (default %d)"
                         % (what, v, ", ".join(map(str, LEVELS_VALID)), int(default)))
    return v


def param_info(param):
    """(is_int, lo, hi, default) of an option."""
    p = int(_param(param))
    is_int, lo, hi, d = ctypes.c_int(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    check(fn.quantizer_param_type(p, ctypes.byref(is_int)))
    check(fn.quantizer_param_bounds(p, ctypes.byref(lo), ctypes.byref(hi), ctypes.byref(d)))
    return bool(is_int.value), lo.value, hi.value, d.value


def param_name(param):
    """The library's name of an option ("cascade_lr", as in the report's settings)."""
    s = ctypes.c_char_p()
    check(fn.quantizer_param_name(int(_param(param)), ctypes.byref(s)))
    return decode(s.value)


def _profile(v):
    """A profile by name ("improved", "seed", any case) or number; unknown
    names raise InvalidArgError listing the valid ones."""
    if isinstance(v, str):
        try:
            return Profile[v.upper()]
        except KeyError:
            valid = ", ".join(m.name.lower() for m in Profile)
            raise InvalidArgError(Status.INVALID_ARG, "unknown profile %r; valid: %s"
                                  % (v, valid)) from None
    return v


def profile_default(profile, param):
    """Default of an option under a profile ("seed", "improved" or Profile)."""
    d = ctypes.c_double()
    check(fn.quantizer_profile_default(_check.integer(_profile(profile), "profile"), int(_param(param)),
                                       ctypes.byref(d)))
    return int(d.value) if param_info(param)[0] else d.value


class _Activations:
    """Adapts a Python source of activation batches to ldnq_activation_fn.

    `source` is a callable source(index) -> batch or None, or an iterable of
    batches; a batch is a numpy array or a Tensor. The current batch is kept
    alive until the next call (the library reads it until then)."""

    def __init__(self, source):
        if callable(source):
            self._get = source
        else:
            it = iter(source)
            self._get = lambda index: next(it, None)
        self._current = None
        self.guard = CallbackGuard(self._fill)
        self.cfn = T.ACTIVATION_FN(lambda _ud, index, batch: self.guard.call(index, batch))

    def _fill(self, index, batch):
        self._current = None
        a = self._get(int(index))
        if a is None:
            batch[0] = ctypes.POINTER(T.Tensor_)()
            return 0
        t = a if isinstance(a, Tensor) else Tensor.wrap(a)
        self._current = t
        batch[0] = t.handle
        return 0

    def done(self):
        self._current = None


class LayerResult(Handle):
    """Result of one solve: figures, quantized weights, codes."""

    _free = staticmethod(fn.layer_result_free)

    def __init__(self, h, shape=None, bias_shape=None, owner=None):
        super().__init__(h, keep=[owner] if owner is not None else [])
        self._shape = shape
        self._owned = owner is None

    def close(self):
        if self._owned:
            super().close()
        else:
            self._h = None
            self._release_keep()

    def get_int(self, attr):
        v = ctypes.c_int64()
        check(fn.layer_result_get_int(self.handle, int(attr), ctypes.byref(v)))
        return v.value

    def get_double(self, attr):
        v = ctypes.c_double()
        check(fn.layer_result_get_double(self.handle, int(attr), ctypes.byref(v)))
        return v.value

    levels = property(lambda s: s.get_int(ResultAttr.LEVELS))
    iterations = property(lambda s: s.get_int(ResultAttr.ITERATIONS))
    rho_fallback = property(lambda s: bool(s.get_int(ResultAttr.RHO_FALLBACK)))
    hessian_samples = property(lambda s: s.get_int(ResultAttr.HESSIAN_SAMPLES))
    alpha = property(lambda s: s.get_double(ResultAttr.ALPHA))
    error = property(lambda s: s.get_double(ResultAttr.ERROR))
    error_initial = property(lambda s: s.get_double(ResultAttr.ERROR_INITIAL))
    seconds = property(lambda s: s.get_double(ResultAttr.SECONDS))
    rho = property(lambda s: s.get_double(ResultAttr.RHO))

    @property
    def alphas(self):
        """Scales as float64: one (per layer) or one per output channel
        (per_channel option)."""
        p = ctypes.POINTER(ctypes.c_double)()
        n = ctypes.c_int64()
        check(fn.layer_result_alphas(self.handle, ctypes.byref(p), ctypes.byref(n)))
        return np.array(p[:n.value], dtype=np.float64)

    def _read(self, f, count_attr, dtype, shape):
        n = self.get_int(count_attr)
        out = np.empty(n, dtype=dtype)
        check(f(self.handle, ptr(out), n))
        return out.reshape(shape) if shape is not None else out

    @property
    def weights(self):
        """Quantized weights (PyTorch layout; flat if the shape is unknown)."""
        return self._read(fn.layer_result_weights, ResultAttr.WEIGHT_COUNT, np.float32,
                          self._shape)

    @property
    def codes(self):
        return self._read(fn.layer_result_codes, ResultAttr.WEIGHT_COUNT, np.int8, self._shape)

    @property
    def bias(self):
        """Quantized bias, or None when the layer has none."""
        if self.get_int(ResultAttr.BIAS_COUNT) == 0:
            return None
        return self._read(fn.layer_result_bias, ResultAttr.BIAS_COUNT, np.float32, None)

    @property
    def bias_codes(self):
        if self.get_int(ResultAttr.BIAS_COUNT) == 0:
            return None
        return self._read(fn.layer_result_bias_codes, ResultAttr.BIAS_COUNT, np.int8, None)

    def matrix(self, l1=None, l2=None):
        """G = alpha x codes in float64, [l1, l2] (flat unless given)."""
        n = self.get_int(ResultAttr.WEIGHT_COUNT) + self.get_int(ResultAttr.BIAS_COUNT)
        out = np.empty(n, dtype=np.float64)
        check(fn.layer_result_matrix(self.handle, ptr(out), n))
        return out.reshape(l1, l2) if l1 is not None else out


class Quantizer(Handle):
    """Options and the L-DNQ solvers. Options by QuantParam or by name:
    q.set("levels", 5), q.get("rho_factor"), or keyword arguments to the
    constructor: Quantizer(levels=5, max_iter=50). Quantizer(profile="seed")
    runs the published procedure; a profile sets the defaults of the options
    not set explicitly (in any order)."""

    _free = staticmethod(fn.quantizer_free)
    _errmsg = staticmethod(fn.quantizer_errmsg)

    def __init__(self, **options):
        out = new_ptr(T.Quantizer_)
        check(fn.quantizer_create(ctypes.byref(out)))
        super().__init__(out)
        self._comm = None
        for k, v in options.items():
            self.set(k, v)

    def set_comm(self, comm):
        """Makes run() data parallel over comm's ranks (an ldnq.Comm; None:
        one process): every rank calls run() alike with the same
        calibration set; only rank 0 writes the state file."""
        _comm.set_comm(self, fn.quantizer_set_comm, comm)

    def set(self, param, value):
        p = _param(param)
        if p == QuantParam.PROFILE:
            value = _profile(value)
        v = _value(p, value)
        if isinstance(v, int):
            self._check(fn.quantizer_set_int(self.handle, int(p), v))
        else:
            self._check(fn.quantizer_set_double(self.handle, int(p), v))

    def get(self, param):
        p = _param(param)
        if param_info(p)[0]:
            v = ctypes.c_int64()
            self._check(fn.quantizer_get_int(self.handle, int(p), ctypes.byref(v)))
        else:
            v = ctypes.c_double()
            self._check(fn.quantizer_get_double(self.handle, int(p), ctypes.byref(v)))
        return v.value

    def settings(self):
        """Every option in effect, by library name."""
        return {param_name(p): self.get(p) for p in QuantParam}

    def _solve(self, acts, call, shape):
        out = new_ptr(T.LayerResult_)
        try:
            run_guarded([acts.guard], lambda: call(ctypes.byref(out)), self._check)
        finally:
            acts.done()
        return LayerResult(out, shape=shape)

    def solve_conv(self, weight, activations, stride=1, padding=0):
        """Quantizes a convolution: weight [cout, cin, kh, kw];
        activations (see _Activations) yields its inputs [N, cin, H, W]."""
        w = _check.array(weight, "conv weight [cout, cin, kh, kw]", np.float32, ndim=4)
        cout, cin, kh, kw = w.shape
        st = _check.integer(stride, "stride", 1, 1 << 16)
        pad = _check.integer(padding, "padding", 0, 1 << 16)
        acts = _Activations(activations)
        return self._solve(acts, lambda o: fn.quantizer_solve_conv(
            self.handle, cin, cout, kh, kw, st, pad, ptr(w), acts.cfn, None, o),
            w.shape)

    def solve_linear(self, weight, activations, bias=None):
        """Quantizes a linear layer: weight [out, in], bias [out] or None;
        activations yields its inputs [N, in]."""
        w = _check.array(weight, "linear weight [out_features, in_features]", np.float32, ndim=2)
        # The C call reads out_features bias values: the length is checked here.
        b = None if bias is None else _check.array(bias, "linear bias [out_features]", np.float32,
                                                   shape=(w.shape[0],))
        acts = _Activations(activations)
        return self._solve(acts, lambda o: fn.quantizer_solve_linear(
            self.handle, w.shape[1], w.shape[0], int(b is not None), ptr(w),
            ptr(b) if b is not None else None, acts.cfn, None, o), w.shape)

    def solve_hessian(self, H, W0):
        """Ready problem: H [l1, l1], W0 [l1, l2] (float64). The result's
        weights are [l2, l1]; matrix() gives G [l1, l2]."""
        w = _check.array(W0, "W0 [l1, l2]", np.float64, ndim=2)
        l1, l2 = w.shape
        h = _check.array(H, "H [l1, l1] (l1 = W0.shape[0])", np.float64, shape=(l1, l1))
        out = new_ptr(T.LayerResult_)
        self._check(fn.quantizer_solve_hessian(self.handle, l1, l2, ptr(h), ptr(w),
                                               ctypes.byref(out)))
        return LayerResult(out, shape=(l2, l1))

    def set_state_path(self, path, resume=False, keep=False):
        """Resumable runs (ldnq_quantizer_set_state_path): run() saves its
        state to `path` after every finished layer; resume=True continues
        a stopped run from it (the same base weights, data and options,
        else StateMismatchError; a damaged file is a FormatError), with the
        result of an uninterrupted run. The file is removed on success
        unless keep=True. path None turns states off."""
        if path is not None and not isinstance(path, (str, bytes, os.PathLike)):
            raise InvalidArgError(Status.INVALID_ARG,
                                  "state path: want a str or os.PathLike, not %s"
                                  % type(path).__name__)
        flags = (1 if resume else 0) | (2 if keep else 0)
        p = None if path is None else encode(os.fspath(path))
        self._check(fn.quantizer_set_state_path(self.handle, p, flags))

    @property
    def resumed_layers(self):
        """Finished layers the last run() took from its state file."""
        v = ctypes.c_int64()
        self._check(fn.quantizer_resumed_layers_v2(self.handle, ctypes.byref(v)))
        return v.value

    def run(self, network, calib, eval_loader=None, progress=None):
        """Quantizes `network` in place with the whole L-DNQ pipeline over
        the calibration Dataset `calib`; `eval_loader` (a Loader) is used for
        accuracies. progress(layer, num_layers, phase, step, value) may
        return a true value to cancel (CancelledError). Returns a Report."""
        guards = [network._tap[0]] if network._tap else []
        cfn = T.QUANT_PROGRESS_V2_FN()
        if progress is not None:
            g = CallbackGuard(lambda *a: progress(a[0], a[1], Phase(a[2]), a[3], a[4]))
            cfn = T.QUANT_PROGRESS_V2_FN(lambda _ud, l, n, ph, st, v: g.call(l, n, ph, st, v))
            guards.append(g)
        guards += calib._guards() + (eval_loader._guards() if eval_loader else []) + \
            _comm._guards(self._comm)
        out = new_ptr(T.Report_)
        # The progress lives on the handle for this call (ldnq_quantizer_set_progress).
        self._check(fn.quantizer_set_progress(self.handle, cfn, None))
        try:
            run_guarded(guards, lambda: fn.quantizer_run_v2(
                self.handle, network.handle, calib.handle,
                eval_loader.handle if eval_loader else None, ctypes.byref(out)),
                self._check)
        finally:
            fn.quantizer_set_progress(self.handle, T.QUANT_PROGRESS_V2_FN(), None)
        return Report(out)


class Report(Handle):
    """Report of Quantizer.run."""

    _free = staticmethod(fn.quant_report_free)

    def __len__(self):
        v = ctypes.c_int64()
        check(fn.quant_report_layer_count_v2(self.handle, ctypes.byref(v)))
        return v.value

    def layer_name(self, i):
        s = ctypes.c_char_p()
        check(fn.quant_report_layer_name(self.handle, int(i), ctypes.byref(s)))
        return decode(s.value)

    def layer_result(self, i):
        """The layer's LayerResult (owned by the report), None if skipped."""
        r = ctypes.POINTER(T.LayerResult_)()
        check(fn.quant_report_layer_result(self.handle, int(i), ctypes.byref(r)))
        return LayerResult(r, owner=self) if r else None

    def layer_int(self, i, attr):
        v = ctypes.c_int64()
        check(fn.quant_report_layer_int(self.handle, int(i), int(attr), ctypes.byref(v)))
        return v.value

    def layer_double(self, i, attr):
        v = ctypes.c_double()
        check(fn.quant_report_layer_double(self.handle, int(i), int(attr), ctypes.byref(v)))
        return v.value

    def summary(self):
        """(top1, top5, seconds); NaN accuracies without an eval loader."""
        a, b, c = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        check(fn.quant_report_summary(self.handle, ctypes.byref(a), ctypes.byref(b),
                                      ctypes.byref(c)))
        return a.value, b.value, c.value

    def _string(self, f):
        p = ctypes.c_void_p()
        check(f(self.handle, ctypes.byref(p)))
        try:
            return ctypes.string_at(p.value).decode("utf-8", "replace")
        finally:
            fn.quant_string_free(p)

    def json(self):
        """The report parsed from ldnq_quant_report_json."""
        return json.loads(self._string(fn.quant_report_json))

    def table(self):
        return self._string(fn.quant_report_table)

    def checkpoint(self, network):
        """Checkpoint with the quantized layers packed (save as .ldnq)."""
        from .io import Checkpoint
        out = new_ptr(T.Checkpoint_)
        check(fn.quant_report_checkpoint(self.handle, network.handle, ctypes.byref(out)))
        return Checkpoint(out)
