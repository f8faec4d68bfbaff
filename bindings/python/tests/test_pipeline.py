import collections
import math
import os
import unittest

from _common import ldnq, np, tmpdir
from ldnq import _lib

HAVE_RUN = bool(_lib.fn.quantizer_run_v2)


def setup(count=16):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(count, 1, 16, 16)).astype(np.float32)
    labels = rng.integers(0, 10, count)
    ds = ldnq.Dataset.from_callback(count, 1, 16, 16, 10, lambda i: (images[i], labels[i]))
    net = ldnq.Network.create("resnet20", 1, 10)
    net.reset_parameters(5)
    # one scale per layer: the test reads r.alpha * r.codes
    q = ldnq.Quantizer(hessian_batches=4, cascade_batch=8, cascade_max_epochs=1, per_channel=0)
    return ds, net, q, images, labels


@unittest.skipUnless(HAVE_RUN, "library without ldnq_quantizer_run_v2")
class PipelineTest(unittest.TestCase):
    def test_run_quantizes_every_layer(self):
        ds, net, q, images, labels = setup(count=8)  # one cascade step a layer: fast
        orig = net.clone()
        ev = ldnq.Loader.create(ds, 8, threads=0)
        calls = collections.Counter()
        layers_seen = set()

        def progress(layer, num_layers, phase, step, value):
            calls[phase] += 1
            layers_seen.add((layer, num_layers))

        rep = q.run(net, ds, ev, progress=progress)
        names = [n for n, _ in net.layers()]
        self.assertEqual(len(rep), len(names))
        self.assertEqual([rep.layer_name(i) for i in range(len(rep))], names)
        self.assertEqual(calls[ldnq.Phase.LAYER_DONE], len(names))
        self.assertEqual(calls[ldnq.Phase.HESSIAN], 4 * len(names))
        self.assertGreater(calls[ldnq.Phase.CASCADE], 0)
        self.assertEqual(layers_seen, {(i, len(names)) for i in range(len(names))})
        for i, name in enumerate(names):
            r = rep.layer_result(i)
            self.assertIsNotNone(r)
            w = net.get(name + ".weight")
            # the network holds exactly alpha x codes of the layer
            np.testing.assert_array_equal(w.reshape(-1), r.weights)
            np.testing.assert_array_equal(w.reshape(-1), np.float32(r.alpha * r.codes))
            self.assertFalse(np.array_equal(w, orig.get(name + ".weight")))
            self.assertEqual(rep.layer_int(i, ldnq.ReportAttr.QUANTIZED), 1)
        top1, top5, secs = rep.summary()
        t1, _, n = ldnq.evaluate(net, ev)
        self.assertAlmostEqual(top1, t1)
        self.assertGreater(secs, 0)
        js = rep.json()
        self.assertEqual([l["name"] for l in js["layers"]], names)
        self.assertEqual(js["levels"], 3)
        self.assertAlmostEqual(js["layers"][0]["alpha"], rep.layer_result(0).alpha, places=5)
        self.assertIn("fc", rep.table())
        with tmpdir() as d:
            path = os.path.join(d, "q.ldnq")
            rep.checkpoint(net).save(path)
            ck = ldnq.Checkpoint.load(path)
            lv, alpha, codes = ck.get_quantized("fc.weight")
            self.assertEqual(lv, 3)
            np.testing.assert_array_equal(codes.reshape(-1), rep.layer_result(len(names) - 1).codes)
            back = ldnq.Network.create("resnet20", 1, 10)
            back.load(path)
            np.testing.assert_array_equal(back.forward(images[:4]), net.forward(images[:4]))

    def test_resume_after_cancel(self):
        """A run cancelled after layer 3 and resumed from its state file
        ends with the uninterrupted run's weights; another run's options
        are refused."""
        with tmpdir() as d:
            self._resume(os.path.join(d, "run.state"))

    def _resume(self, path):
        ds, ref, q, _, _ = setup(count=8)
        q.run(ref, ds)
        ds, net, q, _, _ = setup(count=8)
        q.set_state_path(path)
        stop = lambda l, n, ph, st, v: ph == ldnq.Phase.LAYER_DONE and l == 3
        with self.assertRaises(ldnq.CancelledError):
            q.run(net, ds, progress=stop)
        self.assertTrue(os.path.exists(path))
        ds, net, q, _, _ = setup(count=8)
        q.set("cascade_lr", 0.5)
        q.set_state_path(path, resume=True)
        with self.assertRaises(ldnq.StateMismatchError) as cm:
            q.run(net, ds)
        self.assertIn("cascade_lr", str(cm.exception))
        self.assertIsInstance(cm.exception, ValueError)
        ds, net, q, _, _ = setup(count=8)
        q.set_state_path(path, resume=True)
        done = []
        q.run(net, ds, progress=lambda l, n, ph, st, v: done.append(l) if ph == 4 else None)
        self.assertEqual(q.resumed_layers, 4)
        self.assertEqual(done[0], 4)
        self.assertFalse(os.path.exists(path))
        for name in ref.names():
            self.assertTrue(np.array_equal(ref.get(name), net.get(name)), name)
        with self.assertRaises(ldnq.InvalidArgError):
            q.set_state_path(3)
        q.set_state_path(None)

    def test_cancel_and_exceptions(self):
        ds, net, q, _, _ = setup()
        with self.assertRaises(ldnq.CancelledError):
            q.run(net, ds, progress=lambda l, n, ph, st, v: l == 1)
        self.assertFalse(net.training)

        class Boom(Exception):
            pass

        def bad(l, n, ph, st, v):
            if ph == ldnq.Phase.ADMM:
                raise Boom()

        with self.assertRaises(Boom) as cm:
            q.run(net, ds, progress=bad)
        self.assertIsInstance(cm.exception.__cause__, ldnq.LdnqError)

        def bad_sample(i):
            raise Boom("sample %d" % i)

        broken = ldnq.Dataset.from_callback(16, 1, 16, 16, 10, bad_sample)
        with self.assertRaises(Boom):
            q.run(net, broken)
        net2 = ldnq.Network.create("resnet20", 3, 10)
        with self.assertRaises(ldnq.LdnqError):
            q.run(net2, ds)  # 1-channel data into a 3-channel net

    def test_skip_first_last_no_cascade(self):
        ds, net, q, _, _ = setup()
        orig = net.clone()
        for k, v in (("quantize_first", 0), ("quantize_last", 0), ("cascade", 0),
                     ("levels", 5)):
            q.set(k, v)
        rep = q.run(net, ds)
        self.assertIsNone(rep.layer_result(0))
        self.assertEqual(rep.layer_int(0, ldnq.ReportAttr.QUANTIZED), 0)
        np.testing.assert_array_equal(net.get("fc.weight"), orig.get("fc.weight"))
        self.assertEqual(rep.layer_result(1).levels, 5)
        self.assertTrue(math.isnan(rep.summary()[0]))


if __name__ == "__main__":
    unittest.main()
