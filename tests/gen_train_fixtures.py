#!/usr/bin/python3
"""Writes tests/data/train/*.txt: reference values from PyTorch for the
trainer's schedules (read by tests/test_train.c).
  /usr/bin/python3 tests/gen_train_fixtures.py"""
import math, os, torch

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "train")
os.makedirs(out, exist_ok=True)

def lrs(make_sched, steps, lr):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sch = make_sched(opt)
    vals = []
    for _ in range(steps):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    return vals

with open(os.path.join(out, "schedules.txt"), "w") as f:
    # one-cycle: lr 0.2, pct 0.3, div 25, final_div 1e4, 3 epochs x 7 batches
    v = lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.2, total_steps=21, pct_start=0.3, div_factor=25,
        final_div_factor=1e4, anneal_strategy="cos", cycle_momentum=False), 21, 0.2)
    f.write("onecycle 21 " + " ".join("%.17g" % x for x in v) + "\n")
    # cosine per batch: CosineAnnealingLR(T_max=21, eta_min=0.001)
    v = lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=21, eta_min=0.001),
            21, 0.2)
    f.write("cosine 21 " + " ".join("%.17g" % x for x in v) + "\n")

