#!/usr/bin/env python3
"""Writes tests/data/nn/<arch>.bin: PyTorch reference results for the six
ResNets, read by tests/test_nn.c. Run with Debian's torch 1.13:

    /usr/bin/python3 tests/gen_nn_fixtures.py

Conv and fc weights are not stored: both sides generate them from a hash
(hash_weights below, nn_hash_fill in test_nn.c) and the fixture keeps their
sums to prove the generators agree. BN parameters and statistics are random
and stored. References are computed in float64 from float32-rounded values.

Format (little endian): b"LDNQFIX1", u32 record count, then per record:
u32 name length, name bytes, u32 ndim, i64 shape[ndim], u8 has_data,
float32 data[prod(shape)] if has_data.
Records: sd/<key> (shape only, state-dict order), init/<key> (BN entries),
wsum/<key> [sum, sum of squares] of generated weights, meta [in_channels,
num_classes, grad_cap], input, R, then for mode in (eval, train):
<mode>/logits, <mode>/dinput, <mode>/grad/<key> and <mode>/gnorm/<key> for
parameters, and train/state/<key> for BN buffers after the train forward.
Gradients of tensors with more than grad_cap elements (grad_cap > 0) keep
only elements j*numel//grad_cap, j < grad_cap; gnorm is always the full norm.
The loss whose gradient is stored is sum(logits * R).
"""
import copy
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "nn")
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# ---- CIFAR ResNet (the paper's code, downsample as conv1x1 + BN) ----
class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.downsample is None else self.downsample(x)
        return self.relu(out + sc)


class CifarResNet(nn.Module):
    def __init__(self, n, in_channels, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        c = 16
        for s, (w, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(c, w, stride if b == 0 else 1))
                c = w
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def make(arch, in_channels, num_classes):
    if arch in ("resnet20", "resnet32", "resnet56"):
        return CifarResNet({"resnet20": 3, "resnet32": 5, "resnet56": 9}[arch], in_channels,
                           num_classes)
    m = getattr(torchvision.models, arch)(num_classes=num_classes)
    if in_channels != 3:
        m.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    return m


# ---- weights shared with test_nn.c ----
def hash_weights(k, numel, scale):
    """Entry k (state-dict index): uniform in [-scale, scale) from splitmix64."""
    i = np.arange(numel, dtype=np.uint64)
    z = (np.uint64(k) << np.uint64(32)) + i + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return (np.float32(2.0) * u - np.float32(1.0)) * np.float32(scale)


def weight_scale(key, shape):
    """Kaiming-uniform-like scale for conv weights (fan_in), 1/sqrt(in) for fc."""
    if key == "fc.bias":
        return 0.1
    fan_in = int(np.prod(shape[1:]))
    return float(np.sqrt(6.0 / fan_in)) if len(shape) == 4 else float(1.0 / np.sqrt(fan_in))


class Writer:
    def __init__(self):
        self.recs = []

    def add(self, name, arr=None, shape=None):
        if arr is not None:
            arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
            shape = arr.shape
        self.recs.append((name, tuple(int(s) for s in shape), arr))

    def save(self, path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"LDNQFIX1")
            f.write(struct.pack("<I", len(self.recs)))
            for name, shape, arr in self.recs:
                nb = name.encode()
                f.write(struct.pack("<I", len(nb)) + nb)
                f.write(struct.pack("<I", len(shape)))
                for s in shape:
                    f.write(struct.pack("<q", s))
                f.write(struct.pack("<B", arr is not None))
                if arr is not None:
                    f.write(arr.astype("<f4").tobytes())
        os.replace(tmp, path)


def grad_sample(g, cap):
    g = g.reshape(-1)
    if cap <= 0 or g.size <= cap:
        return g
    idx = (np.arange(cap, dtype=np.int64) * g.size) // cap
    return g[idx]


def f32(t):
    return t.float().double()


def report_fp32(m, x, r):
    """Prints how far float32 PyTorch is from the float64 reference: the
    fixture is only a fair 1e-3 test if this is far below it."""
    m32 = copy.deepcopy(m).float()
    for mode in ("eval", "train"):
        grads = []
        for mm, dt in ((m, torch.float64), (m32, torch.float32)):
            mm = copy.deepcopy(mm)
            mm.train(mode == "train")
            xi = x.to(dt).clone().requires_grad_(True)
            (mm(xi) * r.to(dt)).sum().backward()
            grads.append([xi.grad.double()] + [p.grad.double() for p in mm.parameters()])
        errs = [((a - b).norm() / a.norm()).item() for a, b in zip(*grads)]
        print("  %s: float32 torch vs float64: dinput %.2g, worst parameter %.2g"
              % (mode, errs[0], max(errs[1:])))


def generate(arch, in_channels, num_classes, shape, grad_cap, seed):
    torch.manual_seed(seed)
    m = make(arch, in_channels, num_classes).double()
    sd = m.state_dict()
    keys = list(sd.keys())
    w = Writer()
    for k in keys:
        w.add("sd/" + k, shape=tuple(sd[k].shape))
    w.add("meta", [in_channels, num_classes, grad_cap])
    x = f32(torch.randn(*shape, dtype=torch.float64))
    r = f32(torch.randn(shape[0], num_classes, dtype=torch.float64))
    with torch.no_grad():
        for idx, k in enumerate(keys):
            t = sd[k]
            if k.endswith(".weight") and t.dim() in (2, 4) or k == "fc.bias":
                v = hash_weights(idx, t.numel(), weight_scale(k, tuple(t.shape)))
                t.copy_(torch.from_numpy(v.astype(np.float64)).reshape(t.shape))
                w.add("wsum/" + k, [v.astype(np.float64).sum(), (v.astype(np.float64) ** 2).sum()])
        # Non-trivial BN statistics near the real ones: in one eval forward of
        # a 16-image calibration batch, each BN first takes the (perturbed)
        # statistics of its own input. Consistent statistics keep the deep nets
        # well conditioned (float32 PyTorch then agrees with the float64
        # reference far below the test's 1e-3); see report_fp32.

        def calibrate(mod, inp):
            c = mod.num_features
            v = inp[0].transpose(0, 1).reshape(c, -1)
            mod.running_mean.copy_(v.mean(1) + 0.1 * torch.randn(c, dtype=torch.float64)
                                   * v.std(1))
            mod.running_var.copy_(v.var(1) * torch.empty(c, dtype=torch.float64)
                                  .uniform_(0.8, 1.25) + 1e-3)
            mod.num_batches_tracked.fill_(7)

        # Random BN affine parameters. A ReLU input within float32 roundoff of
        # zero flips its gradient mask and, with these small batches, moves a
        # gradient by ~1e-3 on its own; so BNs that feed a ReLU get
        # bias/weight in [2, 3] (0.1-2% of their outputs are clipped, still
        # testing the masks) and the last BN of each residual branch gets a
        # small weight (blocks near identity: no exploding gradients).
        hooks = []
        names = [n for n, _ in m.named_modules()]
        for name, mod in m.named_modules():
            if isinstance(mod, nn.BatchNorm2d):
                blk = name.rsplit(".", 1)[0]
                last = name.endswith("bn3") or (name.endswith("bn2")
                                                and blk + ".bn3" not in names)
                if name.startswith("layer") and last:
                    mod.weight.uniform_(0.1, 0.3)
                    mod.bias.copy_(mod.weight * torch.empty_like(mod.weight).uniform_(-1, 1))
                else:
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.copy_(mod.weight * torch.empty_like(mod.weight).uniform_(2, 3))
                hooks.append(mod.register_forward_pre_hook(calibrate))
        m.eval()
        m(torch.randn(16, *shape[1:], dtype=torch.float64))
        for h in hooks:
            h.remove()
        for k, t in m.state_dict().items():
            if t.is_floating_point():
                t.copy_(f32(t))
    sd = m.state_dict()
    for k in keys:
        if ".bn" in k or k.startswith("bn1") or "downsample.1" in k:
            w.add("init/" + k, sd[k].double().numpy())
    w.add("input", x.numpy())
    w.add("R", r.numpy())
    params = dict(m.named_parameters())
    report_fp32(m, x, r)
    for mode in ("eval", "train"):
        m.train(mode == "train")
        m.zero_grad(set_to_none=False)
        xi = x.clone().requires_grad_(True)
        logits = m(xi)
        (logits * r).sum().backward()
        w.add(mode + "/logits", logits.detach().numpy())
        w.add(mode + "/dinput", xi.grad.numpy())
        for k in keys:
            if k in params:
                g = params[k].grad.detach().numpy()
                w.add(mode + "/grad/" + k, grad_sample(g, grad_cap))
                w.add(mode + "/gnorm/" + k, [np.linalg.norm(g.reshape(-1))])
        if mode == "train":
            for k, t in m.state_dict().items():
                if k not in params:
                    w.add("train/state/" + k, t.double().numpy())
    path = os.path.join(OUT, arch + ".bin")
    w.save(path)
    print("%s: %d records, %.1f kB" % (path, len(w.recs), os.path.getsize(path) / 1024))


NETS = [
    # arch, in_channels, num_classes, input shape, grad_cap (0 = full gradients)
    ("resnet20", 3, 10, (3, 3, 32, 32), 0),
    ("resnet32", 1, 10, (2, 1, 28, 28), 4096),
    ("resnet56", 3, 10, (2, 3, 32, 32), 4096),
    ("resnet18", 3, 7, (4, 3, 96, 96), 4096),
    ("resnet34", 3, 7, (4, 3, 96, 96), 2048),
    ("resnet50", 3, 7, (4, 3, 96, 96), 2048),
]

if __name__ == "__main__":
    # Usage: gen_nn_fixtures.py [--out DIR] [arch ...]  (default: all, into tests/data/nn)
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--out":
        OUT = args[1]
        args = args[2:]
    os.makedirs(OUT, exist_ok=True)
    only = args
    for i, (arch, cin, ncls, shape, cap) in enumerate(NETS):
        if not only or arch in only:
            generate(arch, cin, ncls, shape, cap, 1000 + i)
