import os
import subprocess
import unittest

from _common import DATA, hash_weights, ldnq, np, read_fixture, tmpdir, weight_scale


def fixture_network(fx):
    """resnet20 with the fixture's weights (tests/gen_nn_fixtures.py)."""
    meta = fx["meta"][1]
    net = ldnq.Network.create("resnet20", int(meta[0]), int(meta[1]))
    keys = [k[3:] for k in fx if k.startswith("sd/")]
    for k, key in enumerate(keys):
        shape = fx["sd/" + key][0]
        if "wsum/" + key in fx:
            v = hash_weights(k, int(np.prod(shape)), weight_scale(key, shape))
            net.set(key, v.reshape(shape))
        else:
            net.set(key, fx["init/" + key][1])
    return net, keys


class ThreadsTest(unittest.TestCase):
    def test_num_threads(self):
        n = ldnq.get_num_threads()
        self.assertGreaterEqual(n, 1)
        ldnq.set_num_threads(1)
        self.assertEqual(ldnq.get_num_threads(), 1)
        ldnq.set_num_threads(n)
        self.assertEqual(ldnq.get_num_threads(), n)
        with self.assertRaises(ldnq.RangeError):
            ldnq.set_num_threads(0)
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.set_num_threads(1.5)


class NetworkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = read_fixture(os.path.join(DATA, "nn", "resnet20.bin"))

    def test_names_match_pytorch_state_dict(self):
        net, keys = fixture_network(self.fx)
        self.assertEqual(net.names(), keys)
        for key in keys:
            self.assertEqual(net.info(key)[1], self.fx["sd/" + key][0])
        self.assertIn("conv1.weight", net.parameters())
        self.assertNotIn("bn1.running_mean", net.parameters())

    def test_forward_backward_match_pytorch(self):
        # float64 PyTorch references; the C suite uses the same bounds.
        net, keys = fixture_network(self.fx)
        x, r = self.fx["input"][1], self.fx["R"][1]
        for mode in ("eval", "train"):
            net.training = mode == "train"
            net.zero_grad()
            logits = net.forward(x)
            ref = self.fx[mode + "/logits"][1]
            err = np.abs(logits - ref).max()
            self.assertLessEqual(err, 1e-4 * np.abs(ref).max(), mode)
            dx = net.backward(r, input_grad=True)
            rdx = self.fx[mode + "/dinput"][1]
            rel = np.linalg.norm(dx - rdx) / np.linalg.norm(rdx)
            self.assertLessEqual(rel, 1e-3, mode)
            g = net.grad("fc.weight").reshape(-1)
            gref = self.fx[mode + "/grad/fc.weight"][1].reshape(-1)
            if gref.size < g.size:  # the fixture samples big gradients
                g = g[(np.arange(gref.size) * g.size) // gref.size]
            self.assertLessEqual(np.linalg.norm(g - gref) / np.linalg.norm(gref), 1e-3)

    def test_forward_does_not_copy_input_and_rejects_bad_shapes(self):
        net = ldnq.Network.create(ldnq.Arch.RESNET20, 3, 10)
        with self.assertRaises(ldnq.ShapeError) as cm:
            net.forward(np.zeros((2, 1, 32, 32), np.float32))
        self.assertTrue(cm.exception.message)

    def test_state_dict_roundtrip_and_errors(self):
        net = ldnq.Network.create("resnet20", 3, 10)
        w = np.random.default_rng(1).normal(size=net.info("fc.weight")[1]).astype(np.float32)
        net.set("fc.weight", w)
        np.testing.assert_array_equal(net.get("fc.weight"), w)
        with self.assertRaises(ldnq.NotFoundError) as cm:
            net.get("no.such.weight")
        self.assertIsInstance(cm.exception, LookupError)
        with self.assertRaises(ldnq.ShapeError):
            net.set("fc.weight", w[:5])
        bad = w.copy()
        bad[0, 0] = np.nan
        with self.assertRaises(ldnq.NumericError):
            net.set("fc.weight", bad)
        np.testing.assert_array_equal(net.get("fc.weight"), w)  # unchanged
        net.set_trainable("fc.weight", False)
        self.assertFalse(net.get_trainable("fc.weight"))
        with self.assertRaises(ldnq.InvalidArgError):
            net.set_trainable("bn1.running_mean", True)

    def test_save_load_and_clone(self):
        net = ldnq.Network.create("resnet20", 3, 10)
        net.reset_parameters(5)
        x = np.random.default_rng(2).normal(size=(2, 3, 32, 32)).astype(np.float32)
        ref = net.forward(x)
        with tmpdir() as d:
            for ext in ("pth", "safetensors"):
                path = os.path.join(d, "m." + ext)
                net.save(path)
                other = ldnq.Network.create("resnet20", 3, 10)
                other.load(path)
                np.testing.assert_array_equal(other.forward(x), ref)
                ck = ldnq.Checkpoint.load(path)
                self.assertEqual(ck.names(), net.names())
                np.testing.assert_array_equal(ldnq.Network.from_checkpoint("resnet20", ck)
                                              .forward(x), ref)
            with self.assertRaises(ldnq.NotFoundError):
                net.load(os.path.join(d, "missing.pth"))
            small = ldnq.Network.create("resnet20", 3, 7)
            with self.assertRaises(ldnq.ShapeError) as cm:
                small.load(os.path.join(d, "m.pth"))
            self.assertIn("fc.weight", str(cm.exception))
        np.testing.assert_array_equal(net.clone().forward(x), ref)
        net.grad_enabled = False
        self.assertFalse(net.grad_enabled)
        np.testing.assert_array_equal(net.forward(x), ref)
        with self.assertRaises(ldnq.StateError):
            net.backward(np.ones((2, 10), np.float32))
        net.grad_enabled = True
        self.assertEqual(net.describe(), (ldnq.Arch.RESNET20, 3, 10))

    def test_tap_sees_layer_inputs_and_exceptions_propagate(self):
        net = ldnq.Network.create("resnet20", 3, 10)
        x = np.random.default_rng(3).normal(size=(2, 3, 32, 32)).astype(np.float32)
        seen = []
        net.set_tap(lambda layer, a: seen.append((layer, a.shape)))
        net.forward(x)
        self.assertEqual([s[0] for s in seen], [n for n, _ in net.layers()])
        self.assertEqual(seen[0][1], (2, 3, 32, 32))
        self.assertEqual(seen[-1][1], (2, 64))

        class Boom(Exception):
            pass

        def bad(layer, a):
            if layer == "layer2.0.conv1":
                raise Boom(layer)

        net.set_tap(bad)
        with self.assertRaises(Boom) as cm:
            net.forward(x)
        self.assertIsInstance(cm.exception.__cause__, ldnq.CancelledError)
        net.set_tap(lambda layer, a: layer == "fc")  # true = cancel
        with self.assertRaises(ldnq.CancelledError):
            net.forward(x)
        net.set_tap(None)
        self.assertEqual(net.forward(x).shape, (2, 10))

    @unittest.skipUnless(os.environ.get("LDNQ_NET_HELPER"), "C helper not built")
    def test_forward_matches_c_program(self):
        # The same weights and input through a C program (tests/sh/io_net_helper.c).
        net = ldnq.Network.create("resnet20", 3, 10)
        net.reset_parameters(11)
        x = np.random.default_rng(4).normal(size=(3, 3, 32, 32)).astype(np.float32)
        with tmpdir() as d:
            w, xin, out = (os.path.join(d, n) for n in ("w.safetensors", "x.bin", "y.bin"))
            net.save(w)
            x.tofile(xin)
            subprocess.run([os.environ["LDNQ_NET_HELPER"], "logits", "resnet20", w, xin, "3",
                            "3", "32", "32", out], check=True)
            c_logits = np.fromfile(out, dtype=np.float32).reshape(3, 10)
        py_logits = net.forward(x)
        self.assertGreater(np.abs(c_logits).max(), 0)
        # Same library, same input: equal up to BLAS summation order.
        np.testing.assert_allclose(py_logits, c_logits, rtol=0, atol=1e-5 * np.abs(c_logits).max())


if __name__ == "__main__":
    unittest.main()


class ThreadsTest(unittest.TestCase):
    def test_distinct_networks_in_parallel_threads(self):
        # ctypes releases the GIL during C calls: distinct handles run at once
        # and give what they give serially.
        import threading
        nets = [ldnq.Network.create("resnet20", 3, 10) for _ in range(3)]
        for i, n in enumerate(nets):
            n.reset_parameters(i + 1)
        x = np.random.default_rng(9).normal(size=(2, 3, 16, 16)).astype(np.float32)
        serial = [n.forward(x) for n in nets]
        out, errors = [None] * 3, []

        def work(i):
            try:
                for _ in range(3):
                    out[i] = nets[i].forward(x)
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for a, b in zip(out, serial):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * np.abs(b).max())
        self.assertFalse(np.allclose(serial[0], serial[1]))
