import gzip
import os
import subprocess
import sys
import unittest

from _common import SOURCE_DIR, ldnq, np, tmpdir
from ldnq import _lib

EXAMPLE = os.path.join(SOURCE_DIR, "bindings", "python", "examples", "quantize.py")


def write_idx(d, prefix, n, seed):
    """MNIST-format files: n images 28x28 (class = a bright block) and labels."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    img = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        img[i, 2 * c:2 * c + 8, 4:24] = 250
    with gzip.open(os.path.join(d, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(np.array([0x803, n, 28, 28], ">u4").tobytes() + img.tobytes())
    with open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(np.array([0x801, n], ">u4").tobytes() + labels.tobytes())


@unittest.skipUnless(_lib.fn.quantizer_run_v2, "library without ldnq_quantizer_run_v2")
class ExampleTest(unittest.TestCase):
    def test_quantize_example_end_to_end(self):
        with tmpdir() as d:
            write_idx(d, "train", 100, 1)
            write_idx(d, "t10k", 20, 2)
            net = ldnq.Network.create("resnet20", 1, 10)
            net.reset_parameters(3)
            net.save(os.path.join(d, "w.pth"))
            out = os.path.join(d, "q.ldnq")
            env = dict(os.environ)
            env["LDNQ_LIBRARY"] = ldnq.loaded_path()  # the library under test
            r = subprocess.run([sys.executable, EXAMPLE, "--weights", os.path.join(d, "w.pth"),
                                "--data", "mnist:" + d, "--ratio", "0.1", "--hessian-batches",
                                "2", "--no-cascade", "--out", out], env=env,
                               capture_output=True, text=True, timeout=600)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("10 calibration images of 100", r.stdout)
            self.assertIn("layer 22/22 done", r.stdout)
            self.assertIn("top-1", r.stdout)
            ck = ldnq.Checkpoint.load(out)
            self.assertEqual(ck.format, ldnq.Format.LDNQ_PACKED)
            lv, alpha, codes = ck.get_quantized("layer3.2.conv2.weight")
            self.assertEqual(lv, 3)
            self.assertTrue(set(np.unique(codes)) <= {-1, 0, 1})
            # a usage error and a library error give exit codes, not tracebacks
            r = subprocess.run([sys.executable, EXAMPLE, "--weights", os.path.join(d, "nope.pth"),
                                "--out", out], env=env, capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("quantize.py: ", r.stderr)
            self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main()
