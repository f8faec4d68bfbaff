import json
import os
import unittest

from _common import DATA, ldnq, np

ADMM = os.path.join(DATA, "admm")
CODES = {3: {0, 1}, 5: {0, 1, 2}, 7: {0, 1, 2, 4}, 9: {0, 1, 2, 4, 8}, 11: {0, 1, 2, 4, 8, 16}}


def conv_hessian(batches, cin, kh, kw, stride, padding):
    """Mean over batches of the mean x x^T of (cin, kh, kw) patches (numpy im2col)."""
    l1 = cin * kh * kw
    H = np.zeros((l1, l1))
    for x in batches:
        x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        n, _, hp, wp = x.shape
        oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
        cols = np.empty((n, oh, ow, cin, kh, kw))
        for i in range(kh):
            for j in range(kw):
                cols[:, :, :, :, i, j] = x[:, :, i:i + stride * oh:stride,
                                           j:j + stride * ow:stride].transpose(0, 2, 3, 1)
        p = cols.reshape(-1, l1)
        H += p.T @ p / p.shape[0]
    return H / len(batches)


class GoldenTest(unittest.TestCase):
    def test_golden_cases(self):
        with open(os.path.join(ADMM, "cases.json")) as f:
            cases = json.load(f)
        self.assertEqual(len(cases), 7)
        q = ldnq.Quantizer(profile="seed")
        for c in cases:
            H = np.load(os.path.join(ADMM, c["name"] + ".H.npy"))
            W0 = np.load(os.path.join(ADMM, c["name"] + ".W0.npy"))
            Gref = np.load(os.path.join(ADMM, c["name"] + ".G.npy"))
            q.set(ldnq.QuantParam.LEVELS, c["levels"])
            with q.solve_hessian(H, W0) as r:
                G = r.matrix(c["l1"], c["l2"])
                alpha, err = r.alpha, r.error
                self.assertLessEqual(abs(err - c["error"]), 0.01 * c["error"], c["name"])
                self.assertLessEqual(abs(alpha - c["alpha"]), 0.01 * c["alpha"], c["name"])
                same = np.mean(np.abs(G / alpha - Gref / c["alpha"]) < 1e-6)
                self.assertGreaterEqual(same, 0.99, c["name"])
                # exactly alpha x an allowed code, in float64 and in the float32 weights
                codes = r.codes.astype(np.int64)
                self.assertTrue(set(np.abs(codes).ravel()) <= CODES[c["levels"]])
                np.testing.assert_array_equal(G, alpha * codes.reshape(c["l2"], c["l1"]).T)
                np.testing.assert_array_equal(r.weights, np.float32(alpha * codes.reshape(
                    c["l2"], c["l1"])))
                # the reported error is tr((G-W0)^T H (G-W0))
                D = G - W0
                self.assertAlmostEqual(np.trace(D.T @ H @ D) / err, 1.0, places=9)
                self.assertLessEqual(err, r.error_initial)
                self.assertEqual(r.alphas.tolist(), [alpha])

    def test_per_channel(self):
        with open(os.path.join(ADMM, "cases.json")) as f:
            c = json.load(f)[0]
        H = np.load(os.path.join(ADMM, c["name"] + ".H.npy"))
        W0 = np.load(os.path.join(ADMM, c["name"] + ".W0.npy"))
        self.assertEqual(ldnq.quant_param_info("per_channel"), (True, 0, 1, 1))  # on in the improved profile
        q = ldnq.Quantizer(levels=c["levels"], per_channel=1)
        with q.solve_hessian(H, W0) as r:
            a = r.alphas
            self.assertEqual(a.shape, (c["l2"],))
            self.assertAlmostEqual(r.alpha, a.mean(), places=12)
            codes = r.codes.reshape(c["l2"], c["l1"]).astype(np.int64)
            # column o of G is alpha_o x codes of output o
            np.testing.assert_array_equal(r.matrix(c["l1"], c["l2"]), (a[:, None] * codes).T)
            self.assertLessEqual(r.error, r.error_initial)


class SolverTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(7)
        self.w = (rng.normal(size=(8, 4, 3, 3)) * 0.2).astype(np.float32)
        self.batches = [np.maximum(rng.normal(size=(2, 4, 6, 6)), 0).astype(np.float32)
                        for _ in range(5)]

    def test_conv_callback_equals_numpy_hessian(self):
        # Activations from a Python callback give the Hessian numpy builds.
        q = ldnq.Quantizer(profile="seed", levels=5, hessian_seed_scale=0)
        calls = []

        def acts(i):
            calls.append(i)
            return self.batches[i] if i < len(self.batches) else None

        r = q.solve_conv(self.w, acts, stride=2, padding=1)
        self.assertEqual(calls, list(range(len(self.batches) + 1)))
        self.assertEqual(r.weights.shape, self.w.shape)
        H = conv_hessian(self.batches, 4, 3, 3, 2, 1)
        W0 = self.w.reshape(8, -1).T.astype(np.float64)
        ref = q.solve_hessian(H, W0)
        self.assertAlmostEqual(r.error / ref.error, 1.0, places=5)
        self.assertAlmostEqual(r.alpha / ref.alpha, 1.0, places=5)
        self.assertGreaterEqual(np.mean(r.codes.reshape(8, -1) == ref.codes), 0.99)
        self.assertEqual(r.hessian_samples, 5 * 2 * 3 * 3)
        self.assertLess(r.error, r.error_initial)

    def test_iterable_and_batch_limit(self):
        q = ldnq.Quantizer(profile="seed", hessian_batches=2)
        used = []

        def gen():
            for b in self.batches:
                used.append(1)
                yield b

        r = q.solve_conv(self.w, gen(), stride=1, padding=1)
        self.assertEqual(len(used), 2)
        self.assertEqual(r.levels, 3)

    def test_linear_with_bias(self):
        rng = np.random.default_rng(8)
        w = rng.normal(size=(5, 12)).astype(np.float32)
        b = rng.normal(size=5).astype(np.float32)
        xs = [rng.normal(size=(16, 12)).astype(np.float32) for _ in range(3)]
        r = ldnq.Quantizer(profile="seed", levels=7).solve_linear(w, xs, bias=b)
        self.assertEqual(r.weights.shape, (5, 12))
        self.assertEqual(r.bias.shape, (5,))
        np.testing.assert_array_equal(r.bias, np.float32(r.alpha * r.bias_codes))
        self.assertTrue(set(np.abs(r.codes).ravel()) <= CODES[7])

    def test_exception_in_callback_is_reraised(self):
        class Boom(Exception):
            pass

        def acts(i):
            if i == 2:
                raise Boom("batch %d" % i)
            return self.batches[i]

        q = ldnq.Quantizer(profile="seed")
        with self.assertRaises(Boom) as cm:
            q.solve_conv(self.w, acts, padding=1)
        self.assertIsInstance(cm.exception.__cause__, ldnq.CallbackError)
        # the quantizer is still usable
        self.assertEqual(q.solve_conv(self.w, self.batches, padding=1).levels, 3)

    def test_bad_batches_give_library_errors(self):
        q = ldnq.Quantizer(profile="seed")
        with self.assertRaises(ldnq.ShapeError) as cm:
            q.solve_conv(self.w, [np.zeros((2, 3, 6, 6), np.float32)])
        self.assertTrue(cm.exception.message)
        with self.assertRaises(ldnq.InvalidArgError):
            q.solve_conv(self.w, [])  # no batch at all

    def test_options(self):
        q = ldnq.Quantizer()
        self.assertEqual(q.get("levels"), 3)
        self.assertEqual(q.get(ldnq.QuantParam.MAX_ITER), 100)
        q.set("rho_factor", 2.5)
        self.assertEqual(q.get("rho_factor"), 2.5)
        with self.assertRaises(ldnq.RangeError) as cm:
            q.set("levels", 4)
        self.assertIn("levels", cm.exception.message.lower())
        self.assertEqual(q.get("levels"), 3)
        is_int, lo, hi, d = ldnq.quant_param_info("max_iter")
        self.assertEqual((is_int, lo, hi, d), (True, 0, 100000, 100))

    def test_profiles(self):
        q = ldnq.Quantizer(cascade_max_epochs=9)
        self.assertEqual(q.get("profile"), ldnq.Profile.IMPROVED)
        self.assertEqual(q.get("cascade_stop"), 0)
        q.set("profile", "seed")
        self.assertEqual(q.get("cascade_stop"), 2)
        self.assertEqual(q.get("trainable_rule"), 1)
        self.assertEqual(q.get("cascade_max_epochs"), 9)  # explicit: kept
        s = q.settings()
        self.assertEqual(s["profile"], 1)
        self.assertEqual(len(s), len(ldnq.QuantParam))
        self.assertEqual(ldnq.quant_param_name(ldnq.QuantParam.TEACHER_CACHE_MB), "teacher_cache_mb")
        self.assertEqual(ldnq.quant_profile_default("seed", "cascade_max_epochs"), 1000)
        self.assertEqual(ldnq.quant_profile_default(ldnq.Profile.IMPROVED, "cascade_stop"), 0)
        with self.assertRaises(ldnq.RangeError):
            q.set("profile", 2)
        with self.assertRaises(ldnq.InvalidArgError):
            q.set("profile", "paper")


if __name__ == "__main__":
    unittest.main()
