"""Argument checks done in Python before a C call, so a bad argument raises
an LdnqError subclass naming what is wrong (and what is valid) instead of
reading past a buffer, truncating a value or failing with a bare KeyError."""
import numbers

import numpy as np

from .errors import InvalidArgError, RangeError, ShapeError, Status


def _fmt_shape(s):
    return "(" + ", ".join("*" if d is None else str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def array(a, name, dtype, ndim=None, shape=None):
    """`a` as a C-contiguous array of `dtype` (no copy when it already is one).

    The input's own dtype must convert without losing meaning: numbers for
    float targets; integers (or integral floats) for integer targets, inside
    the target's range. ndim: required rank; shape: required shape (None
    entries match any size). Raises InvalidArgError / RangeError /
    ShapeError."""
    try:
        src = np.asarray(a)
    except Exception as e:  # ragged lists and the like
        raise InvalidArgError(Status.INVALID_ARG, "%s: not an array (%s)" % (name, e)) from None
    target = np.dtype(dtype)
    if src.dtype.kind not in "biuf":
        raise InvalidArgError(Status.INVALID_ARG, "%s: expected numbers, got dtype %s" % (name, src.dtype))
    if target.kind in "iu" and src.dtype.kind == "f":
        if src.size and not (np.all(np.isfinite(src)) and np.all(src == np.round(src))):
            raise InvalidArgError(Status.INVALID_ARG, "%s: expected integers (%s), got non-integral floats"
                                  % (name, target))
    if target.kind in "iu" and src.size:
        info = np.iinfo(target)
        lo, hi = src.min(), src.max()
        if lo < info.min or hi > info.max:
            raise RangeError(Status.RANGE, "%s: values must lie in [%d, %d] (%s); got %s..%s"
                             % (name, info.min, info.max, target, lo, hi))
    if ndim is not None and src.ndim != ndim:
        raise ShapeError(Status.SHAPE, "%s: expected %d dimensions, got shape %s"
                         % (name, ndim, _fmt_shape(src.shape)))
    if shape is not None:
        ok = src.ndim == len(shape) and all(w is None or w == g for w, g in zip(shape, src.shape))
        if not ok:
            raise ShapeError(Status.SHAPE, "%s: expected shape %s, got %s"
                             % (name, _fmt_shape(shape), _fmt_shape(src.shape)))
    if src.dtype == target and src.flags.c_contiguous:
        return src
    return np.ascontiguousarray(src, dtype=target)


def integer(v, name, lo=None, hi=None):
    """`v` as an int: an integer, or a float with an integral value; strings,
    3.7, NaN are refused (InvalidArgError), values outside [lo, hi] too
    (RangeError)."""
    if isinstance(v, (bool, np.bool_)):
        v = int(v)
    if isinstance(v, numbers.Integral):
        out = int(v)
    elif isinstance(v, numbers.Real) and np.isfinite(float(v)) and float(v) == int(v):
        out = int(v)
    else:
        raise InvalidArgError(Status.INVALID_ARG, "%s takes an integer, got %r" % (name, v))
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise RangeError(Status.RANGE, "%s = %d is outside [%s, %s]" % (name, out, lo, hi))
    return out


def real(v, name, lo=None, hi=None):
    """`v` as a finite float (ints allowed); strings and NaN refused."""
    if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and np.isfinite(float(v)):
        out = float(v)
    else:
        raise InvalidArgError(Status.INVALID_ARG, "%s takes a finite number, got %r" % (name, v))
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise RangeError(Status.RANGE, "%s = %g is outside [%g, %g]" % (name, out, lo, hi))
    return out


def option(enum_cls, key, what):
    """An option key given by name (any case) or enum value. Unknown names
    raise InvalidArgError listing the valid ones; unknown numbers pass
    through (a newer library may know them)."""
    if isinstance(key, str):
        try:
            return enum_cls[key.upper()]
        except KeyError:
            valid = ", ".join(m.name.lower() for m in enum_cls)
            raise InvalidArgError(Status.INVALID_ARG, "unknown %s option %r; valid: %s"
                                  % (what, key, valid)) from None
    k = integer(key, "%s option" % what)
    return enum_cls(k) if k in enum_cls._value2member_map_ else k
