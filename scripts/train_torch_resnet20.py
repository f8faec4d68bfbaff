#!/usr/bin/env python3
"""Trains the paper's CIFAR ResNet20 (1 input channel, 10 classes) on
Fashion-MNIST with PyTorch, giving a PyTorch-made base model for libldnq.
The model comes from tests/gen_nn_fixtures.py, so its state_dict names are
the ones libldnq reads. Run with Debian's torch 1.13 (no internet needed):

    /usr/bin/python3 scripts/train_torch_resnet20.py --epochs 10 --out r20-fm-torch.pth

Data as libldnq's fashion-mnist preset: normalise (0.2860, 0.3530), zero-pad
28 -> 32; training adds a random crop 32 with padding 4 and a horizontal flip
(both per image). SGD momentum 0.9 Nesterov, weight decay 5e-4, batch 128,
OneCycleLR peak 0.1 (PyTorch defaults otherwise, momentum not cycled).
The best test top-1 state_dict is saved (temp + rename).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from gen_nn_fixtures import make  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def load(data, split):
    """IDX .gz -> normalised, padded float32 images (N, 1, 32, 32), int64 labels."""
    with gzip.open("%s/%s-images-idx3-ubyte.gz" % (data, split)) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open("%s/%s-labels-idx1-ubyte.gz" % (data, split)) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    x = (torch.from_numpy(x.astype(np.float32) / 255.0) - MEAN) / STD
    return F.pad(x, (2, 2, 2, 2)), torch.from_numpy(y.astype(np.int64))


def augment(x, g):
    """Per image: random crop 32 from the image zero-padded by 4, then flip with p 0.5."""
    n = x.shape[0]
    xp = F.pad(x, (4, 4, 4, 4))
    oy, ox = torch.randint(0, 9, (2, n), generator=g)
    r = torch.arange(32)
    rows = (oy[:, None] + r)[:, :, None]
    cols = (ox[:, None] + r)[:, None, :]
    out = xp[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def evaluate(m, x, y):
    m.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), 1000):
            correct += (m(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return 100.0 * correct / len(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", required=True, help="state_dict .pth to write (best epoch)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    m = make("resnet20", 1, 10)
    opt = torch.optim.SGD(m.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = (len(ytr) + a.batch - 1) // a.batch  # last partial batch kept (DataLoader default)
    sch = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, epochs=a.epochs, steps_per_epoch=steps,
                                              cycle_momentum=False)
    best, best_epoch, t_all = -1.0, 0, time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        m.train()
        perm = torch.randperm(len(ytr), generator=g)
        loss_sum, hit = 0.0, 0
        for b in range(steps):
            idx = perm[b * a.batch:(b + 1) * a.batch]
            xb, yb = augment(xtr[idx], g), ytr[idx]
            out = m(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sch.step()
            loss_sum += loss.item() * len(idx)
            hit += (out.argmax(1) == yb).sum().item()
            if (b + 1) % 50 == 0:  # progress, to stderr
                print("  epoch %d batch %d/%d  %.0f s" % (epoch, b + 1, steps, time.perf_counter() - t0),
                      file=sys.stderr, flush=True)
        top1 = evaluate(m, xte, yte)
        if top1 > best:
            best, best_epoch = top1, epoch
            tmp = a.out + ".tmp"
            torch.save(m.state_dict(), tmp)
            os.replace(tmp, a.out)
        print("epoch %d: loss %.4f  train top-1 %.2f%%  test top-1 %.2f%%  %.1f s"
              % (epoch, loss_sum / len(ytr), 100.0 * hit / len(ytr), top1,
                 time.perf_counter() - t0), flush=True)
    print(json.dumps({"top1": round(best, 4), "best_epoch": best_epoch, "epochs": a.epochs,
                      "seconds": round(time.perf_counter() - t_all, 3), "out": a.out}), flush=True)


if __name__ == "__main__":
    main()
