"""Trainer options and learning-rate schedules (train.h)."""
import ctypes
import enum

from . import _types as T
from ._handle import Handle, new_ptr
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


def _param(p):
    if isinstance(p, str):
        return TrainParam[p.upper()]
    # A value this binding does not know may be valid for a newer library:
    # pass it through and let the library judge.
    return TrainParam(int(p)) if int(p) in TrainParam._value2member_map_ else int(p)


class Trainer(Handle):
    """Typed training options; Trainer(lr=0.05, epochs=3)."""

    _free = staticmethod(fn.trainer_free)
    _errmsg = staticmethod(fn.trainer_errmsg)

    def __init__(self, **options):
        out = new_ptr(T.Trainer_)
        check(fn.trainer_create(ctypes.byref(out)))
        super().__init__(out)
        for k, v in options.items():
            self.set(k, v)

    @staticmethod
    def _is_int(p):
        v = ctypes.c_int()
        check(fn.trainer_param_type(int(p), ctypes.byref(v)))
        return bool(v.value)

    def set(self, param, value):
        p = _param(param)
        if self._is_int(p):
            self._check(fn.trainer_set_int(self.handle, int(p), int(value)))
        else:
            self._check(fn.trainer_set_double(self.handle, int(p), float(value)))

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
