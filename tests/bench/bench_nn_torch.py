#!/usr/bin/env python3
"""PyTorch side of bench_nn.c: the same cases, 2 threads, same output format.
Usage: bench_nn_torch.py [min_seconds [cpu|wall [threads]]]. With "cpu" the
rate is images per second of process CPU time (all threads), as bench_nn's
"cpu" mode: with 1 thread, a per-core figure that other load barely moves."""
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gen_nn_fixtures import make  # noqa: E402  (the CIFAR ResNet definition)

clock = time.perf_counter
if len(sys.argv) > 2 and sys.argv[2] == "cpu":
    clock = time.process_time
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)


def run(arch, batch, hw, train, min_s):
    m = make(arch, 3, 1000 if arch == "resnet18" else 10)
    m.train(train)
    x = torch.rand(batch, 3, hw, hw) - 0.5
    n = 0
    t0 = None
    i = 0
    while True:
        if i == 1:
            t0 = clock()
        if train:
            m.zero_grad()
            out = m(x)
            out.backward(torch.ones_like(out) * 0.01)
        else:
            with torch.no_grad():
                m(x)
        if i >= 1:
            n += 1
        i += 1
        t = clock()
        if i > 1 and t - t0 >= min_s and n >= 3:
            return n * batch / (t - t0)


if __name__ == "__main__":
    s = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    print("resnet20_eval_b128 %.1f" % run("resnet20", 128, 32, False, s), flush=True)
    print("resnet20_train_b128 %.1f" % run("resnet20", 128, 32, True, s), flush=True)
    print("resnet18_eval_b8_224 %.1f" % run("resnet18", 8, 224, False, s), flush=True)
