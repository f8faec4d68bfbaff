"""Exceptions: one class per ldnq_status, carrying the library's message."""
import enum

from ._lib import fn


class Status(enum.IntEnum):
    """ldnq_status (values fixed by the C ABI)."""
    OK = 0
    INVALID_ARG = 1
    NOMEM = 2
    SHAPE = 3
    NOT_FOUND = 4
    IO = 5
    FORMAT = 6
    UNSUPPORTED = 7
    RANGE = 8
    NUMERIC = 9
    CANCELLED = 10
    STATE = 11
    LIMIT = 12
    CALLBACK = 13
    INTERNAL = 14
    LABEL = 15
    ARCH_MISMATCH = 16
    STATE_MISMATCH = 17


class LdnqError(Exception):
    """A libldnq call failed. `status` is the Status, `message` the library's
    detailed message (handle errmsg or ldnq_last_error)."""

    def __init__(self, status, message=""):
        self.status = Status(status) if status in _VALUES else status
        self.message = message
        text = _string(status)
        super().__init__("%s: %s" % (text, message) if message else text)


# The built-in base next to LdnqError lets callers catch the natural Python
# category (a bad shape is a ValueError, a missing file an OSError...).
class InvalidArgError(LdnqError, ValueError):
    pass


class NoMemError(LdnqError, MemoryError):
    pass


class ShapeError(LdnqError, ValueError):
    pass


class NotFoundError(LdnqError, LookupError):
    pass


class IOError_(LdnqError, OSError):
    pass


class FormatError(LdnqError, ValueError):
    pass


class UnsupportedError(LdnqError, NotImplementedError):
    pass


class RangeError(LdnqError, ValueError):
    pass


class NumericError(LdnqError, ArithmeticError):
    pass


class CancelledError(LdnqError):
    pass


class StateError(LdnqError, RuntimeError):
    pass


class LimitError(LdnqError, ValueError):
    pass


class CallbackError(LdnqError, RuntimeError):
    pass


class InternalError(LdnqError, RuntimeError):
    pass


class LabelError(LdnqError, ValueError):
    """A label outside the network's (or the dataset's) classes."""


class ArchMismatchError(LdnqError, ValueError):
    """Weights of another architecture than the network's."""


class StateMismatchError(LdnqError, ValueError):
    """A saved run state of another run (weights, data or options):
    Quantizer.set_state_path with resume=True."""


_VALUES = {int(s) for s in Status}
_CLASSES = {
    Status.INVALID_ARG: InvalidArgError, Status.NOMEM: NoMemError, Status.SHAPE: ShapeError,
    Status.NOT_FOUND: NotFoundError, Status.IO: IOError_, Status.FORMAT: FormatError,
    Status.UNSUPPORTED: UnsupportedError, Status.RANGE: RangeError,
    Status.NUMERIC: NumericError, Status.CANCELLED: CancelledError, Status.STATE: StateError,
    Status.LIMIT: LimitError, Status.CALLBACK: CallbackError, Status.INTERNAL: InternalError,
    Status.LABEL: LabelError, Status.ARCH_MISMATCH: ArchMismatchError,
    Status.STATE_MISMATCH: StateMismatchError,
}


def _string(status):
    return fn.status_string(int(status)).decode("utf-8", "replace")


def status_string(status):
    """ldnq_status_string: short English description of a status."""
    return _string(status)


def last_error():
    """ldnq_last_error: message of the last failure on this thread."""
    return fn.last_error().decode("utf-8", "replace")


def error_for(status, message):
    """The exception object for a failed status."""
    return _CLASSES.get(status, LdnqError)(status, message)


def check(status, errmsg=None, handle=None):
    """Raises the matching LdnqError unless status is LDNQ_OK.

    The thread-local message is read first (every failure sets it, and it
    is read on the thread that made the call); the handle's errmsg is the
    fallback."""
    if status == 0:
        return
    msg = last_error()
    if not msg and errmsg is not None and handle:
        msg = errmsg(handle).decode("utf-8", "replace")
    raise error_for(status, msg)
