import glob
import os
import re
import unittest

from _common import SOURCE_DIR, ldnq
from ldnq import _lib

# Public functions the binding reaches another way on purpose.
UNBOUND = {
    "ldnq_tensor_data_const",  # ldnq_tensor_data serves both
    "ldnq_network_get", "ldnq_network_set",  # ldnq_network_read/_write avoid a tensor copy
}


def header_functions():
    names = set()
    for h in glob.glob(os.path.join(SOURCE_DIR, "include", "ldnq", "*.h")):
        if h.endswith("experimental.h"):
            continue  # not part of the stable API
        with open(h) as f:
            text = f.read()
        names |= set(re.findall(r"LDNQ_API[^;(]*?\b(ldnq_[a-z0-9_]+)\s*\(", text))
    return names


class LoadingTest(unittest.TestCase):
    @unittest.skipUnless(os.environ.get("LDNQ_EXPECT_LIBRARY"), "no expected path given")
    def test_loaded_the_expected_library(self):
        self.assertEqual(os.path.realpath(ldnq.loaded_path()),
                         os.path.realpath(os.environ["LDNQ_EXPECT_LIBRARY"]))

    def test_binding_covers_the_public_headers(self):
        api = header_functions()
        self.assertGreater(len(api), 140)
        self.assertEqual(sorted(api - set(_lib._PROTOS) - UNBOUND), [])
        # Every function of these headers resolves in the library under test.
        missing = [n for n in api & set(_lib._PROTOS) if not getattr(_lib.fn, n[5:])]
        self.assertEqual(missing, [])
        with self.assertRaises(AttributeError):
            getattr(_lib.lib, "ldnq_no_such_function")


class TrainerTest(unittest.TestCase):
    @unittest.skipUnless(_lib.fn.trainer_create, "library without the trainer")
    def test_options_and_schedule(self):
        t = ldnq.Trainer(lr=0.2, epochs=2, schedule=ldnq.Schedule.COSINE)
        self.assertEqual(t.get("lr"), 0.2)
        self.assertEqual(t.get(ldnq.TrainParam.EPOCHS), 2)
        self.assertAlmostEqual(t.lr(0, 0, 10), 0.2)
        self.assertLess(t.lr(1, 9, 10), t.lr(1, 0, 10))
        with self.assertRaises(ldnq.RangeError):
            t.set("momentum", 2.0)
        with self.assertRaises(ldnq.InvalidArgError):
            t.set(99, 1)


if __name__ == "__main__":
    unittest.main()


class TrainerRunTest(unittest.TestCase):
    @unittest.skipUnless(_lib.fn.trainer_run, "library without ldnq_trainer_run")
    def test_train_a_few_batches(self):
        from _common import np, tiny_dataset, tmpdir
        ds, images, labels = tiny_dataset(count=32, channels=1, size=16, classes=4)
        net = ldnq.Network.create("resnet20", 1, 4)
        before = net.get("fc.weight")
        t = ldnq.Trainer(epochs=2, batch=8, lr=0.05, threads=0)
        batches, epochs = [], []
        t.set_progress(lambda e, b, n, loss: batches.append((e, b, n, loss)))
        t.set_epoch_callback(lambda e, loss, t1, v1, s: epochs.append((e, v1)))
        with tmpdir() as d:
            res = t.run(net, ds, ds, out_path=os.path.join(d, "m.safetensors"))
            self.assertTrue(os.path.exists(os.path.join(d, "m.safetensors")))
        self.assertEqual(res["epochs_done"], 2)
        self.assertEqual([b[:3] for b in batches], [(e, b, 4) for e in range(2) for b in range(4)])
        self.assertTrue(all(np.isfinite(b[3]) for b in batches))
        self.assertEqual([e[0] for e in epochs], [0, 1])
        self.assertFalse(np.array_equal(net.get("fc.weight"), before))
        self.assertFalse(net.training)

        class Stop(Exception):
            pass

        def stop(e, b, n, loss):
            if b == 2:
                raise Stop()

        t.set_progress(stop)
        with self.assertRaises(Stop) as cm:
            t.run(net, ds)
        self.assertIsInstance(cm.exception.__cause__, ldnq.CancelledError)
        t.set_progress(lambda e, b, n, loss: b == 1)
        with self.assertRaises(ldnq.CancelledError):
            t.run(net, ds)
        t.set_progress(None)
        t.set_epoch_callback(None)
        small = ldnq.Network.create("resnet20", 3, 4)
        with self.assertRaises(ldnq.LdnqError) as cm:
            t.run(small, ds)
        self.assertTrue(cm.exception.message)
