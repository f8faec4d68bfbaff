"""Base class of the Python objects that own a C handle."""
import ctypes

from .errors import check


class Handle:
    """Owns one C handle (`_h`), freed by close(), `with` or garbage
    collection. `_keep` holds Python objects the C side borrows (buffers,
    callbacks, parent objects) for as long as the handle lives."""

    _free = None     # the ldnq_X_free function
    _errmsg = None   # the ldnq_X_errmsg function, if any

    # Handles whose C objects another live handle still uses (a loader's
    # dataset, a view's network) are not freed by close() until the last
    # user is closed: garbage collection finalizes a cycle in any order, and
    # a dataset freed before its loader's worker threads stop would crash.
    _borrows = 0
    _close_pending = False

    def __init__(self, h, keep=()):
        self._h = h
        self._keep = list(keep)
        for k in self._keep:
            if isinstance(k, Handle):
                k._borrows += 1

    @property
    def handle(self):
        """The C pointer; raises ValueError once closed."""
        if not self._h or self._close_pending:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    def _borrow(self, obj):
        """Keeps obj (a Handle whose C object this one now uses) alive and
        unfreed until this handle is closed."""
        self._keep.append(obj)
        if isinstance(obj, Handle):
            obj._borrows += 1

    def _check(self, status):
        check(status, type(self)._errmsg, self._h)

    def _release_keep(self):
        keep, self._keep = self._keep, []
        for k in keep:
            if isinstance(k, Handle):
                k._borrows -= 1
                if k._borrows == 0 and k._close_pending:
                    k.close()

    def close(self):
        if self._borrows > 0:
            self._close_pending = True
            return
        self._close_pending = False
        h, self._h = self._h, None
        if h and type(self)._free is not None:
            type(self)._free(h)
        self._release_keep()

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
