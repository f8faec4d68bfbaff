"""Data-parallel runs from Python (ldnq.Comm, comm.h): two ranks as threads
of this process (ldnq.ThreadGroup) against one process; mpi4py when it is
installed (python3-mpi4py; skipped otherwise)."""
import threading
import unittest

from _common import ldnq, np, tiny_dataset
from ldnq import _lib

HAVE_COMM = bool(_lib.fn.comm_create)


def run_ranks(size, body):
    """body(rank, comm) on `size` threads; their results, or the first error raised."""
    group = ldnq.ThreadGroup(size, timeout=120)
    out, errors = [None] * size, [None] * size

    def main(r):
        try:
            out[r] = body(r, group.comm(r))
        except BaseException as e:  # noqa: B902 - reported by the test thread
            errors[r] = e

    threads = [threading.Thread(target=main, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
        if t.is_alive():
            raise AssertionError("a rank did not finish within 300 s")
    return out, errors


def train(comm, ds, losses):
    net = ldnq.Network.create("resnet20", 1, 4)
    net.reset_parameters(7)
    t = ldnq.Trainer(epochs=1, batch=16, lr=0.005, threads=0)
    if comm is not None:
        t.set_comm(comm)
    t.set_progress(lambda e, b, n, loss: losses.append(loss))
    t.run(net, ds)
    return net.state_dict()


@unittest.skipUnless(HAVE_COMM, "library without ldnq_comm_create")
class CommTest(unittest.TestCase):
    def setUp(self):
        self.threads = ldnq.get_num_threads()
        ldnq.set_num_threads(1)  # one compute thread per rank, as under mpirun

    def tearDown(self):
        ldnq.set_num_threads(self.threads)

    def test_arguments_checked(self):
        with self.assertRaises(ldnq.RangeError):
            ldnq.Comm(2, 2, lambda a: None, lambda a, r: None)
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.Comm(0, 2, None, lambda a, r: None)
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.ThreadGroup(0)
        c = ldnq.Comm(1, 3, lambda a: None, lambda a, r: None)
        self.assertEqual((c.rank, c.size), (1, 3))
        with self.assertRaises(ldnq.InvalidArgError):
            ldnq.Trainer().set_comm("not a comm")

    def test_two_ranks_train_as_one_process(self):
        ds, _, _ = tiny_dataset(count=64, seed=3)
        one_losses = []
        one = train(None, ds, one_losses)
        losses = [[], []]
        # Each rank its own handles (a handle is not for two threads at once).
        out, errors = run_ranks(2, lambda r, c: train(c, tiny_dataset(count=64, seed=3)[0], losses[r]))
        self.assertEqual(errors, [None, None])
        self.assertEqual(len(one_losses), 4)
        # Every rank reports the global batch's loss and ends with the same weights.
        self.assertEqual(losses[0], losses[1])
        for k in one:
            np.testing.assert_array_equal(out[0][k], out[1][k])
        # One process: the first batch (the same weights) to float rounding, the
        # rest within 1e-4 (summation order; tests/test_comm.c measured 4e-7).
        self.assertAlmostEqual(losses[0][0], one_losses[0], delta=1e-6 * one_losses[0])
        np.testing.assert_allclose(losses[0], one_losses, rtol=1e-4)
        self.assertFalse(np.array_equal(out[0]["conv1.weight"], ldnq.Network.create(
            "resnet20", 1, 4).state_dict()["conv1.weight"]))  # it trained

    def test_sharded_evaluation_sums_counts(self):
        ds, _, _ = tiny_dataset(count=40, seed=5)
        net = ldnq.Network.create("resnet20", 1, 4)
        net.reset_parameters(2)
        whole = ldnq.evaluate(net, ldnq.Loader.create(ds, 16, threads=0))

        nets = [net.clone(), net.clone()]

        def body(r, comm):
            ld = ldnq.Loader.create(tiny_dataset(count=40, seed=5)[0], 16, threads=0)
            ld.set_comm(comm)
            return ldnq.evaluate(nets[r], ld)

        out, errors = run_ranks(2, body)
        self.assertEqual(errors, [None, None])
        self.assertEqual(out[0], whole)
        self.assertEqual(out[1], whole)
        self.assertEqual(whole[2], 40)

    def test_failing_collective_fails_every_rank(self):
        class Boom(Exception):
            pass

        def boom(*args):
            raise Boom("rank 1's collective")

        # Rank 1's collectives raise: its run raises Boom (the library's
        # CallbackError as the cause). Rank 0 waits at the barrier for the
        # group's timeout (short here), then its run raises BrokenBarrierError.
        group = ldnq.ThreadGroup(2, timeout=3)
        comms = [group.comm(0), ldnq.Comm(1, 2, boom, boom)]
        errors = [None, None]

        def main(r):
            try:
                train(comms[r], tiny_dataset(count=32, seed=1)[0], [])
            except BaseException as e:  # noqa: B902 - checked below
                errors[r] = e

        ts = [threading.Thread(target=main, args=(r,)) for r in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertIsInstance(errors[1], Boom)
        self.assertIsInstance(errors[1].__cause__, ldnq.CallbackError)
        self.assertIsInstance(errors[0], threading.BrokenBarrierError)
        self.assertIsInstance(errors[0].__cause__, ldnq.CallbackError)


try:
    from mpi4py import MPI
except ImportError:
    MPI = None


@unittest.skipUnless(HAVE_COMM and MPI is not None, "no mpi4py (Debian: python3-mpi4py)")
class Mpi4pyTest(unittest.TestCase):
    def test_world_of_one_process(self):
        comm = ldnq.Comm.from_mpi4py(MPI.COMM_WORLD)
        self.assertEqual((comm.rank, comm.size), (MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()))
        ds, _, _ = tiny_dataset(count=24, seed=2)
        net = ldnq.Network.create("resnet20", 1, 4)
        net.reset_parameters(4)
        ld = ldnq.Loader.create(ds, 8, threads=0)
        ld.set_comm(comm)
        self.assertEqual(ldnq.evaluate(net, ld), ldnq.evaluate(net, ldnq.Loader.create(ds, 8, threads=0)))


if __name__ == "__main__":
    unittest.main()
