#!/usr/bin/python3
"""Writes tests/data/train/*.txt: reference values from PyTorch for the
trainer's schedules and SGD (read by tests/test_train.c).
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

with open(os.path.join(out, "sgd.txt"), "w") as f:
    # 4 steps of SGD(lr schedule 0.1, 0.05, 0.2, 0.1) on 5 parameters with
    # fixed gradient sequences; nesterov 0/1.
    g = torch.Generator().manual_seed(7)
    p0 = torch.randn(5, generator=g)
    grads = [torch.randn(5, generator=g) for _ in range(4)]
    f.write("p0 " + " ".join("%.9g" % x for x in p0.tolist()) + "\n")
    for i, gr in enumerate(grads):
        f.write("g%d " % i + " ".join("%.9g" % x for x in gr.tolist()) + "\n")
    for nest in (0, 1):
        p = torch.nn.Parameter(p0.clone())
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=bool(nest),
                              weight_decay=5e-4)
        for lr, gr in zip((0.1, 0.05, 0.2, 0.1), grads):
            opt.param_groups[0]["lr"] = lr
            p.grad = gr.clone()
            opt.step()
        f.write("nesterov%d " % nest + " ".join("%.9g" % x for x in p.detach().tolist()) + "\n")
