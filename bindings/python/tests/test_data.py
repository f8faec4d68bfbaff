import os
import unittest

from _common import ldnq, np, tiny_dataset, tmpdir


class DataTest(unittest.TestCase):
    def test_callback_dataset_and_get(self):
        ds, images, labels = tiny_dataset(count=20)
        self.assertEqual(len(ds), 20)
        self.assertEqual(ds.num_classes, 4)
        self.assertEqual(ds.sample_shape, (1, 8, 8))
        img, lab = ds.get(3)
        np.testing.assert_array_equal(img, images[3])  # preset NONE: as is
        self.assertEqual(lab, labels[3])
        self.assertEqual(ds.label(5), labels[5])
        t = ldnq.Transform.create().normalize([0.5], [2.0])
        np.testing.assert_allclose(ds.get(3, t)[0], (images[3] - 0.5) / 2.0, rtol=1e-6)

    def test_loader_batches_and_subset(self):
        ds, images, labels = tiny_dataset(count=10)
        ld = ldnq.Loader.create(ds, 4, threads=0)
        self.assertEqual(len(ld), 3)
        batches = list(ld)
        self.assertEqual([b[0].shape[0] for b in batches], [4, 4, 2])
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), images)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), labels)
        sub = ldnq.Subset.from_indices([7, 1, 3])
        np.testing.assert_array_equal(sub.indices, [7, 1, 3])
        view = ds.subset(sub)
        del ds  # the view keeps the dataset and its Python callback alive
        self.assertEqual(len(view), 3)
        np.testing.assert_array_equal(view.get(0)[0], images[7])
        with tmpdir() as d:
            p = os.path.join(d, "s.txt")
            sub.save(p)
            np.testing.assert_array_equal(ldnq.Subset.load(p).indices, [7, 1, 3])
        s = view.sample_subset(count=2, seed=1)
        self.assertEqual(len(s), 2)
        with self.assertRaises(ldnq.RangeError):
            view.subset(ldnq.Subset.from_indices([5]))

    def test_sample_callback_exception_reraised(self):
        def bad(i):
            if i == 5:
                raise KeyError("sample %d" % i)
            return np.zeros((1, 2, 2), np.float32), 0

        ds = ldnq.Dataset.from_callback(8, 1, 2, 2, 2, bad)
        with self.assertRaises(KeyError) as cm:
            ds.get(5)
        self.assertIsInstance(cm.exception.__cause__, ldnq.CallbackError)
        for threads in (0, 2):
            ld = ldnq.Loader.create(ds, 3, threads=threads)
            with self.assertRaises(KeyError):
                list(ld)
        wrong = ldnq.Dataset.from_callback(2, 1, 2, 2, 2, lambda i: (np.zeros(3), 0))
        with self.assertRaises(ValueError):
            wrong.get(0)

    def test_loader_and_dataset_collected_in_a_cycle(self):
        # The cycle collector may finalize the dataset before the loader whose
        # worker threads are still calling its Python sample callback: the
        # C dataset must outlive the loader regardless.
        import gc
        for _ in range(40):
            ds = ldnq.Dataset.from_callback(
                64, 1, 8, 8, 2, lambda i: (np.full((1, 8, 8), i, np.float32), i % 2))
            ld = ldnq.Loader.create(ds, 4, threads=2)
            it = iter(ld)
            next(it)  # the workers are prefetching now
            ds.cycle, ld.cycle = ld, ds
            del ds, ld, it
            gc.collect()
        ds = ldnq.Dataset.from_callback(4, 1, 2, 2, 2, lambda i: (np.zeros((1, 2, 2), np.float32), 0))
        ld = ldnq.Loader.create(ds, 2, threads=0)
        ds.close()  # still used by the loader: freed when the loader closes
        with self.assertRaises(ValueError):
            ds.handle
        self.assertEqual(len(list(ld)), 2)
        ld.close()
        self.assertIsNone(ds._h)

    def test_evaluate_matches_forward(self):
        ds, images, labels = tiny_dataset(count=24, channels=3, size=8, classes=4)
        net = ldnq.Network.create("resnet20", 3, 4)
        net.reset_parameters(3)
        ld = ldnq.Loader.create(ds, 8, threads=0)
        seen = []
        top1, top5, n = ldnq.evaluate(net, ld, progress=lambda d, t: seen.append((d, t)))
        self.assertEqual(n, 24)
        pred = net.forward(images).argmax(1)
        self.assertAlmostEqual(top1, 100.0 * np.mean(pred == labels), places=6)
        self.assertEqual(top5, 100.0)  # 4 classes: top-min(5, 4)
        self.assertEqual(seen[-1], (3, 3))
        with self.assertRaises(ldnq.CancelledError):
            ldnq.evaluate(net, ld, progress=lambda d, t: d == 2)

        def boom(d, t):
            raise RuntimeError("progress")

        with self.assertRaises(RuntimeError) as cm:
            ldnq.evaluate(net, ld, progress=boom)
        self.assertIsInstance(cm.exception.__cause__, ldnq.LdnqError)
        # A call's progress is set on the loader for that call only; the
        # loader's own (Loader.set_progress) reports the calls without one.
        seen.clear()
        ldnq.evaluate(net, ld)
        self.assertEqual(seen, [])
        ld.set_progress(lambda d, t: seen.append((d, t)))
        ldnq.evaluate(net, ld)
        self.assertEqual(seen, [(1, 3), (2, 3), (3, 3)])

    def test_missing_files(self):
        with self.assertRaises(ldnq.LdnqError) as cm:
            ldnq.Dataset.open_cifar10("/nonexistent/cifar")
        self.assertIn(cm.exception.status, (ldnq.Status.NOT_FOUND, ldnq.Status.IO))
        self.assertTrue(cm.exception.message)


class CheckpointTest(unittest.TestCase):
    def test_roundtrip_formats(self):
        ck = ldnq.Checkpoint.create()
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        ck.add("a", a)
        ck.add_int64("n", np.array(7))
        ck.add_quantized("q", np.array([[0, 1], [-1, 1]]), levels=3, alpha=0.5)
        ck.set_metadata("who", "python")
        with self.assertRaises(ldnq.InvalidArgError):
            ck.add("a", a)
        with tmpdir() as d:
            for ext in ("ldnq", "safetensors", "pth"):
                p = os.path.join(d, "c." + ext)
                ck.save(p)
                back = ldnq.Checkpoint.load(p)
                self.assertEqual(back.names(), ["a", "n", "q"])
                np.testing.assert_array_equal(back["a"], a)
                self.assertEqual(back.info("n")[0], ldnq.DType.INT64)
                np.testing.assert_array_equal(back["q"], [[0, 0.5], [-0.5, 0.5]])
            back = ldnq.Checkpoint.load(os.path.join(d, "c.ldnq"))
            self.assertEqual(back.format, ldnq.Format.LDNQ_PACKED)
            lv, al, codes = back.get_quantized("q")
            self.assertEqual((lv, al), (3, 0.5))
            np.testing.assert_array_equal(codes, [[0, 1], [-1, 1]])
            self.assertEqual(back.metadata.get("who"), "python")
            self.assertEqual(os.listdir(d).count("c.ldnq"), 1)
            with open(os.path.join(d, "c.pth"), "rb") as f:
                data = f.read()
            self.assertEqual(ldnq.Checkpoint.load_bytes(data).names(), ["a", "n", "q"])
            with self.assertRaises(ldnq.FormatError) as cm:
                ldnq.Checkpoint.load_bytes(data[:len(data) // 2])
            self.assertTrue(cm.exception.message)
            with self.assertRaises(ldnq.InvalidArgError):
                ck.save(os.path.join(d, "c.txt"))
            self.assertFalse([f for f in os.listdir(d) if ".tmp." in f])
        ck.set_quantized("a", [[1, 0, -1], [2, 2, 0]], levels=5, alpha=0.25)
        np.testing.assert_array_equal(ck["a"], [[0.25, 0, -0.25], [0.5, 0.5, 0]])
        self.assertEqual(ck.info("a")[0], ldnq.DType.QUANTIZED)
        with self.assertRaises(ldnq.RangeError):
            ck.set_quantized("n", [3], levels=3, alpha=1.0)  # code 3 not allowed
        ck.set_quantized_per_channel("a", [[1, 0, -1], [2, 2, 0]], levels=5, alphas=[0.5, 2])
        np.testing.assert_array_equal(ck["a"], [[0.5, 0, -0.5], [4, 4, 0]])
        np.testing.assert_array_equal(ck.get_quantized_alphas("a"), [0.5, 2])
        np.testing.assert_array_equal(ck.get_quantized_alphas("q"), [0.5])
        ck.add_quantized_per_channel("p", [[1, -1], [0, 1], [1, 1]], levels=3,
                                     alphas=[1, 0, 0.25])
        with tmpdir() as d:
            p = os.path.join(d, "pc.ldnq")
            ck.save(p)
            back = ldnq.Checkpoint.load(p)
            np.testing.assert_array_equal(back["p"], [[1, -1], [0, 0], [0.25, 0.25]])
            np.testing.assert_array_equal(back.get_quantized_alphas("p"), [1, 0, 0.25])
        with self.assertRaises(ldnq.ShapeError):
            ck.add_quantized_per_channel("x", [[1], [1]], levels=3, alphas=[1])
        del ck["p"]
        del ck["n"]
        self.assertEqual(ck.names(), ["a", "q"])
        with self.assertRaises(ldnq.NotFoundError):
            ck.remove("n")


if __name__ == "__main__":
    unittest.main()
