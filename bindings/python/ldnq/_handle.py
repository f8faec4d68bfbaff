"""Base class of the Python objects that own a C handle."""
import ctypes

from .errors import check


class Handle:
    """Owns one C handle (`_h`), freed by close(), `with` or garbage
    collection. `_keep` holds Python objects the C side borrows (buffers,
    callbacks, parent objects) for as long as the handle lives."""

    _free = None     # the ldnq_X_free function
    _errmsg = None   # the ldnq_X_errmsg function, if any

    def __init__(self, h, keep=()):
        self._h = h
        self._keep = list(keep)

    @property
    def handle(self):
        """The C pointer; raises ValueError once closed."""
        if not self._h:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    def _check(self, status):
        check(status, type(self)._errmsg, self._h)

    def close(self):
        h, self._h = self._h, None
        if h and type(self)._free is not None:
            type(self)._free(h)
        self._keep = []

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def new_ptr(cls):
    """A `cls *` out-parameter for ldnq_X_create(..., &out)."""
    return ctypes.POINTER(cls)()


def decode(b):
    return None if b is None else b.decode("utf-8", "replace")


def encode(s):
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")
