import gc
import unittest

from _common import ldnq, np


class TensorTest(unittest.TestCase):
    def test_wrap_shares_numpy_buffer(self):
        a = np.arange(12, dtype=np.float32).reshape(3, 4)
        t = ldnq.Tensor.wrap(a)
        self.assertEqual(t.shape, (3, 4))
        t.fill(7.0)  # written by the library into the numpy buffer
        self.assertTrue(np.all(a == 7.0))
        v = t.numpy()
        self.assertTrue(np.shares_memory(v, a))

    def test_wrap_keeps_array_alive(self):
        t = ldnq.Tensor.wrap(np.full((1000,), 3.0, dtype=np.float32))
        gc.collect()
        np.testing.assert_array_equal(t.to_numpy(), np.full(1000, 3.0, np.float32))

    def test_wrap_converts_other_dtypes(self):
        a = np.arange(6, dtype=np.float64).reshape(2, 3)
        t = ldnq.Tensor.wrap(a.T)  # non-contiguous float64: converted copy
        np.testing.assert_array_equal(t.to_numpy(), a.T.astype(np.float32))

    def test_numpy_view_keeps_tensor_alive(self):
        t = ldnq.Tensor.create([2, 5])
        t.fill(1.5)
        v = t.numpy()
        del t
        gc.collect()
        for _ in range(50):  # churn the allocator; the tensor must not be freed
            ldnq.Tensor.create([2, 5]).fill(9.0)
        np.testing.assert_array_equal(v, np.full((2, 5), 1.5, np.float32))
        v[0, 0] = 4.0
        base = v
        while not hasattr(base, "_ldnq_owner"):
            base = base.base
        self.assertEqual(base._ldnq_owner.to_numpy()[0, 0], 4.0)  # same storage

    def test_scalar_and_empty(self):
        t = ldnq.Tensor.create([])
        self.assertEqual(t.shape, ())
        self.assertEqual(t.size, 1)
        self.assertEqual(t.numpy().shape, ())
        e = ldnq.Tensor.wrap(np.zeros((0, 3), np.float32))
        self.assertEqual(e.shape, (0, 3))
        self.assertEqual(e.size, 0)

    def test_reshape_and_copy(self):
        t = ldnq.Tensor.from_numpy(np.arange(6, dtype=np.float32), copy=True)
        t.reshape([3, 2])
        c = t.copy()
        t.fill(0)
        np.testing.assert_array_equal(c.to_numpy(), np.arange(6, dtype=np.float32).reshape(3, 2))
        with self.assertRaises(ldnq.ShapeError):
            t.reshape([4, 2])

    def test_errors_carry_status_and_message(self):
        with self.assertRaises(ldnq.ShapeError) as cm:
            ldnq.Tensor.create([-2])
        e = cm.exception
        self.assertIsInstance(e, ldnq.LdnqError)
        self.assertIsInstance(e, ValueError)
        self.assertEqual(e.status, ldnq.Status.SHAPE)
        self.assertIn("negative", e.message)
        self.assertEqual(e.message, ldnq.last_error())
        self.assertEqual(ldnq.status_string(ldnq.Status.FORMAT), str(ldnq.FormatError(6)))
        with self.assertRaises(ldnq.ShapeError):
            ldnq.Tensor.create([1] * 9)

    def test_closed_handle(self):
        t = ldnq.Tensor.create([2])
        t.close()
        t.close()  # idempotent
        with self.assertRaises(ValueError):
            t.shape

    def test_version(self):
        self.assertEqual(ldnq.version().count("."), 2)
        self.assertGreaterEqual(ldnq.version_number(), 100)


if __name__ == "__main__":
    unittest.main()
