"""Arguments are checked in Python before the C call: array shapes, lengths
and dtypes, option names and values; errors are LdnqError subclasses that say
what is valid. A wrong LDNQ_LIBRARY is explained."""
import os
import subprocess
import sys
import unittest

from _common import SOURCE_DIR, ldnq, np, tmpdir


class Counting:
    """An activation source that counts how often the library asked."""

    def __init__(self, batch):
        self.calls, self.batch = 0, batch

    def __call__(self, index):
        self.calls += 1
        return self.batch if index < 3 else None


class ArrayChecks(unittest.TestCase):
    def setUp(self):
        self.q = ldnq.Quantizer(levels=3)
        self.w = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)

    def test_solve_linear_bias_length_checked_before_the_call(self):
        acts = Counting(np.ones((5, 4), np.float32))
        with self.assertRaises(ldnq.ShapeError) as cm:
            self.q.solve_linear(self.w, acts, bias=np.zeros(2, np.float32))
        self.assertIn("expected shape (3,), got (2,)", str(cm.exception))
        self.assertIsInstance(cm.exception, ldnq.LdnqError)
        self.assertEqual(acts.calls, 0)  # never reached the library
        with self.assertRaises(ldnq.ShapeError):
            self.q.solve_linear(self.w, acts, bias=np.zeros((3, 1), np.float32))
        r = self.q.solve_linear(self.w, acts, bias=np.zeros(3, np.float32))
        self.assertEqual(r.bias.shape, (3,))
        self.assertGreater(acts.calls, 0)

    def test_weight_rank_and_dtype(self):
        with self.assertRaises(ldnq.ShapeError) as cm:
            self.q.solve_linear(self.w.reshape(-1), [])
        self.assertIn("expected 2 dimensions", str(cm.exception))
        with self.assertRaises(ldnq.ShapeError):
            self.q.solve_conv(self.w, [])
        with self.assertRaises(ldnq.InvalidArgError) as cm:
            self.q.solve_linear(np.array([["a", "b"]]), [])
        self.assertIn("expected numbers", str(cm.exception))
        with self.assertRaises(ldnq.InvalidArgError):
            self.q.solve_conv(np.zeros((2, 1, 3, 3), np.float32), [], stride=1.5)
        with self.assertRaises(ldnq.RangeError):
            self.q.solve_conv(np.zeros((2, 1, 3, 3), np.float32), [], padding=-1)
        with self.assertRaises(ldnq.ShapeError) as cm:
            self.q.solve_hessian(np.eye(3), np.zeros((4, 2)))
        self.assertIn("expected shape (4, 4), got (3, 3)", str(cm.exception))

    def test_checkpoint_and_data_arrays(self):
        ck = ldnq.Checkpoint.create()
        with self.assertRaises(ldnq.RangeError) as cm:  # would wrap around as int8
            ck.add_quantized("q", [300, 0], levels=3, alpha=1.0)
        self.assertIn("[-128, 127]", str(cm.exception))
        with self.assertRaises(ldnq.InvalidArgError):  # 0.5 is no code
            ck.add_quantized("q", [0.5, 0], levels=3, alpha=1.0)
        ck.add_quantized("q", np.array([1.0, -1.0]), levels=3, alpha=1.0)  # integral floats are fine
        with self.assertRaises(ldnq.InvalidArgError):
            ck.add_int64("n", [1.5])
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.Subset.from_indices([0, 1.7])
        with self.assertRaises(ldnq.ShapeError):
            ldnq.Subset.from_indices([[0, 1]])
        with self.assertRaises(ldnq.ShapeError) as cm:
            ldnq.Transform.create().normalize([0.5, 0.5, 0.5], [0.2, 0.2])
        self.assertIn("normalize std", str(cm.exception))


class OptionChecks(unittest.TestCase):
    def test_quantizer_values(self):
        q = ldnq.Quantizer()
        with self.assertRaises(ldnq.InvalidArgError) as cm:
            q.set("levels", 3.7)
        self.assertIn("takes an integer", str(cm.exception))
        self.assertEqual(q.get("levels"), 3)  # unchanged
        with self.assertRaises(ldnq.RangeError) as cm:
            q.set("levels", 4)
        self.assertIn("3, 5, 7, 9, 11", str(cm.exception))
        with self.assertRaises(ldnq.RangeError) as cm:
            q.set("max_iter", -1)
        self.assertIn("outside", str(cm.exception))
        with self.assertRaises(ldnq.InvalidArgError):
            q.set("cascade_lr", "0.1")
        with self.assertRaises(ldnq.InvalidArgError):
            q.set("cascade_lr", float("nan"))
        q.set("levels", 5.0)  # an integral float is an integer
        self.assertEqual(q.get("levels"), 5)

    def test_unknown_names_list_the_valid_ones(self):
        with self.assertRaises(ldnq.InvalidArgError) as cm:
            ldnq.Quantizer().set("level", 3)
        self.assertIn("unknown quantizer option 'level'", str(cm.exception))
        self.assertIn("levels", str(cm.exception))
        self.assertNotIsInstance(cm.exception, KeyError)
        with self.assertRaises(ldnq.InvalidArgError) as cm:
            ldnq.Quantizer(levles=3)
        with self.assertRaises(ldnq.InvalidArgError) as cm:
            ldnq.Trainer(learning_rate=0.1)
        self.assertIn("lr", str(cm.exception))
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.Trainer(epochs=1.5)
        ds = ldnq.Dataset.from_callback(4, 1, 2, 2, 2, lambda i: (np.zeros(4), i % 2))
        with self.assertRaises(ldnq.InvalidArgError) as cm:
            ldnq.Loader.create(ds, 2, thread=0)
        self.assertIn("threads", str(cm.exception))
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.Loader.create(ds, 2, threads="2")


class LibraryEnv(unittest.TestCase):
    def _import(self, value):
        env = dict(os.environ, LDNQ_LIBRARY=value, PYTHONPATH=os.path.join(SOURCE_DIR, "bindings", "python"))
        p = subprocess.run([sys.executable, "-c", "import ldnq"], env=env, capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        return p.stderr

    def test_a_folder_is_explained(self):
        with tmpdir() as d:
            err = self._import(d)
            self.assertIn("is a folder; it must be the library file itself", err)
            self.assertNotIn("Is a directory", err)
            open(os.path.join(d, "libldnq.so.0"), "w").close()
            self.assertIn("it holds libldnq.so.0: LDNQ_LIBRARY=%s" % os.path.join(d, "libldnq.so.0"),
                          self._import(d))

    def test_a_missing_file_and_another_library_are_explained(self):
        self.assertIn("does not exist", self._import("/nonexistent/libldnq.so.0"))
        err = self._import("libm.so.6")
        self.assertIn("is not libldnq", err)


if __name__ == "__main__":
    unittest.main()
