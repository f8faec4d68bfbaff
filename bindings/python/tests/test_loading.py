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
