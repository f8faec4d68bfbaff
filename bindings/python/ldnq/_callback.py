"""Python callbacks called from C: exceptions must never cross into C.

A CallbackGuard wraps a Python function; an exception inside it is stored
and the C side gets the failure code. After the C call returns, reraise()
raises the stored exception (the library's own error chained as context)."""
import threading


class CallbackGuard:
    def __init__(self, fn, fail_code=1):
        self.fn = fn
        self.fail_code = fail_code
        self.error = None
        self._lock = threading.Lock()  # loader threads may call concurrently

    def call(self, *args):
        """Runs fn(*args); returns its int result (None -> 0), or fail_code
        after storing the exception."""
        try:
            r = self.fn(*args)
            return 0 if r is None or r is False else (1 if r is True else int(r))
        except BaseException as e:  # noqa: B902 - KeyboardInterrupt too: never into C
            with self._lock:
                if self.error is None:
                    self.error = e
            return self.fail_code

    def reraise(self, lib_error=None):
        """Raises the stored exception (if any) and clears it."""
        e, self.error = self.error, None
        if e is not None:
            if lib_error is not None:
                raise e from lib_error
            raise e


def run_guarded(guards, call, check):
    """Calls call() -> status, then raises a callback's exception if one was
    stored (in preference to the library's status error), else
    check(status)."""
    status = call()
    lib_error = None
    if status != 0:
        try:
            check(status)
        except Exception as e:  # keep it as the cause of the callback's exception
            lib_error = e
    for g in guards:
        if g is not None:
            g.reraise(lib_error)
    if lib_error is not None:
        raise lib_error
