#!/usr/bin/env python3
"""L-DNQ from Python: quantize a trained network with a limited calibration set.

    PYTHONPATH=bindings/python python3 bindings/python/examples/quantize.py \\
        --arch resnet20 --weights base.pth --data fashion-mnist --levels 3 --out q.ldnq

Loads the weights, draws the limited set (--ratio of the training split,
class balanced), runs ldnq's whole pipeline with a progress line per layer,
prints the report table and saves the quantized network (.ldnq packs codes,
.pth/.safetensors store floats).

Data parallel over MPI (needs mpi4py, Debian python3-mpi4py): `mpirun -np N
python3 quantize.py --mpi ...`; each rank takes its share of every batch,
the sums are reduced (ldnq.Comm.from_mpi4py), only rank 0 prints and saves.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ldnq  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet20")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--data", default="fashion-mnist", help="dataset spec (ldnq_dataset_open_spec)")
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--ratio", type=float, default=0.01, help="share of the training split")
    ap.add_argument("--hessian-batches", type=int, default=None)
    ap.add_argument("--cascade-epochs", type=int, default=None)
    ap.add_argument("--no-cascade", action="store_true")
    ap.add_argument("--profile", choices=["improved", "seed"], default="improved",
                    help="improved (default) or seed (the published procedure)")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mpi", action="store_true", help="data parallel over MPI.COMM_WORLD (mpi4py)")
    a = ap.parse_args(argv)
    comm, rank = None, 0
    if a.mpi:
        from mpi4py import MPI  # only with --mpi
        comm = ldnq.Comm.from_mpi4py(MPI.COMM_WORLD)
        rank = comm.rank
    say = print if rank == 0 else (lambda *args, **kw: None)

    net = ldnq.Network.from_checkpoint(a.arch, a.weights)
    train = ldnq.Dataset.open(a.data, "train")
    calib = train.subset(train.sample_subset(ratio=a.ratio, class_balanced=True, seed=a.seed))
    test = None if a.no_eval else ldnq.Loader.create(ldnq.Dataset.open(a.data, "test"), 256)

    q = ldnq.Quantizer(profile=a.profile, levels=a.levels, seed=a.seed)
    if comm is not None:
        q.set_comm(comm)
        if test is not None:
            test.set_comm(comm)
    if a.no_cascade:
        q.set("cascade", 0)
    if a.hessian_batches is not None:
        q.set("hessian_batches", a.hessian_batches)
    if a.cascade_epochs is not None:
        q.set("cascade_max_epochs", a.cascade_epochs)

    def progress(layer, n, phase, step, value):
        if phase == ldnq.Phase.LAYER_DONE:
            say("layer %d/%d done in %.1f s" % (layer + 1, n, value), flush=True)

    say("%s: %d calibration images of %d, %d levels" % (a.arch, len(calib), len(train),
                                                          a.levels))
    report = q.run(net, calib, test, progress=progress)
    say(report.table())
    if rank == 0:  # one writer
        report.checkpoint(net).save(a.out)
    top1, _, secs = report.summary()
    say("saved %s; top-1 %s; %.1f s" % (a.out, "%.2f%%" % top1 if top1 == top1 else "n/a",
                                           secs))
    return 0


if __name__ == "__main__":
    mpi = None
    try:
        sys.exit(main())
    except ldnq.LdnqError as e:
        print("quantize.py: %s" % e, file=sys.stderr)
        mpi = sys.modules.get("mpi4py.MPI")
        if mpi is None:
            sys.exit(1)
    except Exception:
        mpi = sys.modules.get("mpi4py.MPI")
        if mpi is None:
            raise
        import traceback
        traceback.print_exc()
    if mpi.COMM_WORLD.Get_size() > 1:
        mpi.COMM_WORLD.Abort(1)  # one rank failed: the others may wait in a collective
    sys.exit(1)
