"""Trainer options and learning-rate schedules (train.h)."""
import ctypes
import enum

import os

from . import _check
from . import comm as _comm
from . import _types as T
from ._callback import CallbackGuard, run_guarded
from ._handle import Handle, encode, new_ptr
from ._lib import fn
from .errors import check


class TrainParam(enum.IntEnum):
    EPOCHS = 0
    BATCH = 1
    LR = 2
    MOMENTUM = 3
    NESTEROV = 4
    WEIGHT_DECAY = 5
    SCHEDULE = 6
    STEP_EPOCHS = 7
    STEP_GAMMA = 8
    COSINE_MIN_LR = 9
    ONECYCLE_PCT = 10
    ONECYCLE_DIV = 11
    ONECYCLE_FINAL_DIV = 12
    SEED = 13
    THREADS = 14


class Schedule(enum.IntEnum):
    STEP = 0
    COSINE = 1
    ONECYCLE = 2


class TrainResult(enum.IntEnum):
    EPOCHS_DONE = 0
    BEST_TOP1 = 1
    LAST_TOP1 = 2
    LAST_LOSS = 3
    SECONDS = 4
    EPOCH_SECONDS = 5
    TRAIN_TOP1 = 6


def _param(p):
    # Unknown names raise InvalidArgError listing the valid ones; a number
    # this binding does not know may be valid for a newer library: passed on.
    return _check.option(TrainParam, p, "trainer")


def param_info(param):
    """(is_int, lo, hi, default) of a training option."""
    p = int(_param(param))
    is_int, lo, hi, d = ctypes.c_int(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    check(fn.trainer_param_type(p, ctypes.byref(is_int)))
    check(fn.trainer_param_bounds(p, ctypes.byref(lo), ctypes.byref(hi), ctypes.byref(d)))
    return bool(is_int.value), lo.value, hi.value, d.value


class Trainer(Handle):
    """Typed training options; Trainer(lr=0.05, epochs=3)."""

    _free = staticmethod(fn.trainer_free)
    _errmsg = staticmethod(fn.trainer_errmsg)

    def __init__(self, **options):
        out = new_ptr(T.Trainer_)
        check(fn.trainer_create(ctypes.byref(out)))
        super().__init__(out)
        self._progress = self._epoch = (None, None)
        self._comm = None
        for k, v in options.items():
            self.set(k, v)

    @staticmethod
    def _is_int(p):
        v = ctypes.c_int()
        check(fn.trainer_param_type(int(p), ctypes.byref(v)))
        return bool(v.value)

    def set(self, param, value):
        """Checked here first (type and bounds), so 0.5 for an integer option
        or a string raises InvalidArgError, a value out of bounds RangeError."""
        p = _param(param)
        is_int, lo, hi, _ = param_info(p)
        what = "trainer option '%s'" % (p.name.lower() if isinstance(p, TrainParam) else int(p))
        if is_int:
            self._check(fn.trainer_set_int(self.handle, int(p), _check.integer(value, what, int(lo), int(hi))))
        else:
            self._check(fn.trainer_set_double(self.handle, int(p), _check.real(value, what, lo, hi)))

    def get(self, param):
        p = _param(param)
        if self._is_int(p):
            v = ctypes.c_int64()
            self._check(fn.trainer_get_int(self.handle, int(p), ctypes.byref(v)))
        else:
            v = ctypes.c_double()
            self._check(fn.trainer_get_double(self.handle, int(p), ctypes.byref(v)))
        return v.value

    def lr(self, epoch, batch, batches_per_epoch):
        v = ctypes.c_double()
        self._check(fn.trainer_lr(self.handle, int(epoch), int(batch), int(batches_per_epoch),
                                  ctypes.byref(v)))
        return v.value

    def set_comm(self, comm):
        """Makes run() data parallel over comm's ranks (an ldnq.Comm; None:
        one process): every rank calls run() alike; only rank 0 writes."""
        _comm.set_comm(self, fn.trainer_set_comm, comm)

    def set_progress(self, progress):
        """progress(epoch, batch, batches, loss) after every batch; a true
        return cancels the run (CancelledError). None removes it."""
        g, cfn = None, T.TRAIN_PROGRESS_FN()
        if progress is not None:
            g = CallbackGuard(progress)
            cfn = T.TRAIN_PROGRESS_FN(lambda _ud, e, b, n, loss: g.call(e, b, n, loss))
        self._check(fn.trainer_set_progress(self.handle, cfn, None))
        self._progress = (g, cfn)  # the C side borrows cfn

    def set_epoch_callback(self, callback):
        """callback(epoch, loss, train_top1, test_top1, seconds) after every
        epoch; a true return cancels. None removes it."""
        g, cfn = None, T.TRAIN_EPOCH_FN()
        if callback is not None:
            g = CallbackGuard(callback)
            cfn = T.TRAIN_EPOCH_FN(lambda _ud, e, loss, t1, v1, s: g.call(e, loss, t1, v1, s))
        self._check(fn.trainer_set_epoch_callback(self.handle, cfn, None))
        self._epoch = (g, cfn)

    def run(self, network, train, test=None, out_path=None, resume=False):
        """Trains `network` in place on the Dataset `train` (ldnq_trainer_run);
        returns the figures of the run as a dict of TrainResult names."""
        guards = [self._progress[0], self._epoch[0]] + train._guards() + \
            (test._guards() if test is not None else []) + _comm._guards(self._comm)
        path = None if out_path is None else encode(os.fspath(out_path))
        run_guarded(guards, lambda: fn.trainer_run(
            self.handle, network.handle, train.handle, test.handle if test is not None else None,
            path, int(bool(resume))), self._check)
        return self.results()

    def result(self, what):
        v = ctypes.c_double()
        self._check(fn.trainer_result(self.handle, int(what), ctypes.byref(v)))
        return v.value

    def results(self):
        return {r.name.lower(): self.result(r) for r in TrainResult}
