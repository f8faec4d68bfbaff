"""Communicators for data-parallel runs (ldnq/comm.h) from Python.

A Comm describes this rank of a process group by two callables:
allreduce(a) sums the 1-D numpy array `a` (float32 or float64) in place
over all ranks, broadcast(a, root) copies root's 1-D uint8 array into `a`
on every rank. Set it on a Trainer, Quantizer or Loader (set_comm) and
their runs are data parallel (docs/CLUSTER.md):

    comm = ldnq.Comm.from_mpi4py(MPI.COMM_WORLD)    # under mpirun
    trainer.set_comm(comm)

ThreadGroup(n) gives n ranks as threads of one process (a barrier meets
their collectives): for tests and for trying a data-parallel run."""
import ctypes
import threading

import numpy as np

from . import _types as T
from ._callback import CallbackGuard
from ._handle import Handle, new_ptr
from ._lib import fn
from .errors import InvalidArgError, RangeError, Status, check


def _array(p, count, ctype, dtype):
    if count == 0:
        return np.zeros(0, dtype=dtype)
    return np.ctypeslib.as_array(ctypes.cast(p, ctypes.POINTER(ctype)), shape=(count,))


class Comm(Handle):
    """Rank `rank` of `size` ranks whose collectives are allreduce(a) and
    broadcast(a, root) (see the module). An exception in either makes the
    library call fail; the call then raises that exception (the library's
    CallbackError chained). When one rank fails, the others may wait in a
    collective: end the group (MPI: Abort) or make their collectives fail."""

    _free = staticmethod(fn.comm_free)

    def __init__(self, rank, size, allreduce, broadcast):
        for name, v in (("rank", rank), ("size", size)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidArgError(Status.INVALID_ARG,
                                      "Comm: %s must be an int, got %r" % (name, v))
        if not callable(allreduce) or not callable(broadcast):
            raise InvalidArgError(Status.INVALID_ARG,
                                  "Comm: allreduce and broadcast must be callable")
        if not -2**31 <= rank < 2**31 or not -2**31 <= size < 2**31:
            raise RangeError(Status.RANGE, "Comm: rank %d of %d ranks" % (rank, size))
        g = CallbackGuard(lambda f, *a: f(*a))
        cbs = (T.COMM_SUM_FLOAT_FN(lambda _ud, p, n: g.call(
                   allreduce, _array(p, n, ctypes.c_float, np.float32))),
               T.COMM_SUM_DOUBLE_FN(lambda _ud, p, n: g.call(
                   allreduce, _array(p, n, ctypes.c_double, np.float64))),
               T.COMM_BROADCAST_FN(lambda _ud, p, n, root: g.call(
                   broadcast, _array(p, n, ctypes.c_uint8, np.uint8), root)))
        out = new_ptr(T.Comm_)
        check(fn.comm_create(rank, size, cbs[0], cbs[1], cbs[2], None, ctypes.byref(out)))
        super().__init__(out)
        self._guard, self._cbs = g, cbs  # the C side borrows the callbacks

    @classmethod
    def from_mpi4py(cls, mpi_comm):
        """A Comm over an mpi4py communicator (e.g. MPI.COMM_WORLD):
        Allreduce(IN_PLACE, SUM) and Bcast. Needs mpi4py (Debian:
        python3-mpi4py)."""
        from mpi4py import MPI  # only here: the binding itself does not need it

        # Explicit MPI types: mpi4py does not map the buffers' "<f"/"<d" formats.
        def allreduce(a):
            mpi_comm.Allreduce(MPI.IN_PLACE, [a, MPI.FLOAT if a.dtype == np.float32 else MPI.DOUBLE],
                               op=MPI.SUM)

        def broadcast(a, root):
            mpi_comm.Bcast([a, MPI.BYTE], root=root)

        return cls(mpi_comm.Get_rank(), mpi_comm.Get_size(), allreduce, broadcast)

    @property
    def rank(self):
        v = ctypes.c_int()
        check(fn.comm_rank(self.handle, ctypes.byref(v)))
        return v.value

    @property
    def size(self):
        v = ctypes.c_int()
        check(fn.comm_size(self.handle, ctypes.byref(v)))
        return v.value


def _guards(comm):
    return [comm._guard] if comm is not None else []


def set_comm(owner, setter, comm):
    """owner.set_comm: sets comm (or None) with setter and keeps it alive
    while owner lives (the C side borrows it)."""
    if comm is not None and not isinstance(comm, Comm):
        raise InvalidArgError(Status.INVALID_ARG, "set_comm: a Comm or None, got %r" % (comm,))
    owner._check(setter(owner.handle, comm.handle if comm is not None else None))
    if comm is not None:
        owner._borrow(comm)
    owner._comm = comm


class ThreadGroup:
    """`size` ranks as threads of this process: comm(r) is rank r's Comm.
    Every collective waits at a barrier for all ranks (at most `timeout`
    seconds, then every rank's collective fails); sums are taken in rank
    order, so every rank gets the very same values. A collective that fails
    on one rank makes the others' fail too (the barrier is broken)."""

    def __init__(self, size, timeout=120.0):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidArgError(Status.INVALID_ARG,
                                  "ThreadGroup: size must be an int >= 1, got %r" % (size,))
        self.size = size
        self._barrier = threading.Barrier(size, timeout=timeout)
        self._slots = [None] * size

    def comm(self, rank):
        return Comm(rank, self.size, lambda a: self._sum(rank, a),
                    lambda a, root: self._broadcast(rank, a, root))

    def _meet(self, rank, a, work):
        try:
            self._slots[rank] = a
            self._barrier.wait()
            if any(s.shape != a.shape or s.dtype != a.dtype for s in self._slots):
                raise InvalidArgError(Status.INVALID_ARG,
                                      "ThreadGroup: the ranks' collectives do not match")
            result = work()
            self._barrier.wait()  # every rank has read the others' buffers
            if result is not None:
                a[...] = result
        except BaseException:
            self._barrier.abort()  # the other ranks' collectives fail instead of waiting
            raise

    def _sum(self, rank, a):
        def work():
            total = self._slots[0].copy()
            for s in self._slots[1:]:
                total += s
            return total
        self._meet(rank, a, work)

    def _broadcast(self, rank, a, root):
        if not 0 <= root < self.size:
            raise InvalidArgError(Status.INVALID_ARG,
                                  "ThreadGroup: root %d of %d ranks" % (root, self.size))
        self._meet(rank, a, lambda: None if rank == root else self._slots[root].copy())
