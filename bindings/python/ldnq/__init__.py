"""libldnq from Python (ctypes, no compiled extension).

    import ldnq
    net = ldnq.Network.create("resnet20", 3, 10)
    logits = net.forward(x)            # x: float32 numpy [N, 3, 32, 32]

The shared library is found through $LDNQ_LIBRARY (full path) or the
dynamic linker's search path (libldnq.so.0). See docs/PYTHON.md.
"""
from ._lib import loaded_path
from .errors import (ArchMismatchError, CallbackError, CancelledError, FormatError,
                     InternalError, InvalidArgError, IOError_, LabelError, LdnqError,
                     LimitError, NoMemError,
                     NotFoundError, NumericError, RangeError, ShapeError, StateError,
                     StateMismatchError, Status,
                     UnsupportedError, last_error, status_string)
from .tensor import Tensor
from .network import Arch, LayerAttr, LayerType, Network
from .io import Checkpoint, DType, Format, format_from_path
from .data import (Dataset, DatasetOption, Loader, LoaderOption, Preset, Split, Subset,
                   Transform, evaluate)
from .quant import (LayerResult, Phase, Profile, QuantParam, Quantizer, Report, ReportAttr,
                    ResultAttr)
from .quant import param_info as quant_param_info
from .quant import param_name as quant_param_name
from .quant import profile_default as quant_profile_default
from .comm import Comm, ThreadGroup
from .train import Schedule, Trainer, TrainParam, TrainResult
from .train import param_info as train_param_info
from ._lib import fn as _fn


def version():
    """Version string of the loaded library (e.g. "0.2.0")."""
    return _fn.version_string().decode()


def version_number():
    return _fn.version_number()


def set_num_threads(n):
    """Compute threads of the kernels (process-wide; ldnq_set_num_threads).

    The most any call can use is fixed the first time the kernels run;
    asking for more afterwards raises StateError, outside [1, 16] RangeError.
    """
    from .errors import check
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidArgError(Status.INVALID_ARG, "set_num_threads: n must be an int, got %r" % (n,))
    if not -2**31 <= n < 2**31:
        raise RangeError(Status.RANGE, "set_num_threads: %d is outside [1, 16]" % n)
    check(_fn.set_num_threads(n))


def get_num_threads():
    """The compute threads in use now."""
    return _fn.get_num_threads()


__all__ = [n for n in dir() if not n.startswith("_")]
