"""The binding frees what it creates, also when callbacks raise, and turns
allocation failures into MemoryError (experimental.h accounting)."""
import ctypes
import gc
import unittest

from _common import ldnq, np, tiny_dataset
from ldnq import _lib


def live():
    gc.collect()
    n = ctypes.c_long()
    assert _lib.fn.debug_live_allocations(ctypes.byref(n)) == 0
    return n.value


class Boom(Exception):
    pass


def workload():
    t = ldnq.Tensor.wrap(np.ones((3, 4), np.float32))
    t.copy().numpy()
    net = ldnq.Network.create("resnet20", 1, 4)
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    net.forward(x)
    net.backward(np.ones((2, 4), np.float32), input_grad=True)
    net.grad("fc.weight")

    def tap(layer, a):
        if layer == "layer2.0.conv1":
            raise Boom()

    net.set_tap(tap)
    try:
        net.forward(x)
    except Boom:
        pass
    net.set_tap(None)
    ck = net.checkpoint()
    ck.add_quantized("extra", [1, 0], 3, 0.5)
    ds, _, _ = tiny_dataset(count=12, channels=1, size=8)
    ld = ldnq.Loader.create(ds.subset(ldnq.Subset.from_indices(range(10))), 4, threads=2)
    list(ld)
    ldnq.evaluate(net, ld)
    q = ldnq.Quantizer(levels=5)
    w = np.random.default_rng(1).normal(size=(4, 1, 3, 3)).astype(np.float32)
    q.solve_conv(w, [x, x], padding=1).codes

    def bad(i):
        raise Boom()

    try:
        q.solve_conv(w, bad, padding=1)
    except Boom:
        pass
    try:
        ldnq.Checkpoint.load_bytes(b"not a model file")
    except ldnq.FormatError:
        pass


@unittest.skipUnless(_lib.fn.debug_live_allocations, "no allocation accounting")
class LeakTest(unittest.TestCase):
    def test_no_leaks(self):
        workload()  # first run: one-time allocations (thread pools, tables)
        before = live()
        for _ in range(2):
            workload()
        self.assertEqual(live(), before)

    def test_allocation_failure_is_memory_error(self):
        before = live()
        self.assertEqual(_lib.fn.debug_fail_alloc(1), 0)
        try:
            with self.assertRaises(ldnq.NoMemError) as cm:
                ldnq.Tensor.create([16, 16])
        finally:
            _lib.fn.debug_fail_alloc(0)
        self.assertIsInstance(cm.exception, MemoryError)
        self.assertTrue(cm.exception.message)
        self.assertEqual(live(), before)
        # every allocation of a network creation failing in turn: clean errors, no leaks
        for nth in range(1, 40, 3):
            _lib.fn.debug_fail_alloc(nth)
            try:
                ldnq.Network.create("resnet20", 1, 4)
            except ldnq.NoMemError:
                pass
            finally:
                _lib.fn.debug_fail_alloc(0)
        self.assertEqual(live(), before)


if __name__ == "__main__":
    unittest.main()
