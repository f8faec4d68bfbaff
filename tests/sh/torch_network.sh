#!/usr/bin/env bash
# PyTorch state dicts (CIFAR ResNet20 and torchvision ResNet18, zip and legacy,
# nested with 'module.' prefixes) load into libldnq networks that give the same
# logits, and networks libldnq saves load back into PyTorch with
# load_state_dict(strict=True) to equal tensors. Needs PyTorch (exit 77).
. "${BASH_SOURCE%/*}/lib.sh" torch_network
set -e
py=/usr/bin/python3
"$py" -c 'import torch, torchvision' 2>/dev/null || { echo "no PyTorch: skipped"; exit 77; }
cc -std=c11 -Wall -Wextra -Werror -I"$src/include" "$src/tests/sh/io_net_helper.c" -L"$bin" -lldnq \
   -Wl,-rpath,"$bin" -o "$tmp/helper"
"$py" - "$tmp" <<'PY'
import os, sys, torch, torch.nn as nn, torchvision
tmp = sys.argv[1]
torch.manual_seed(7)

class Block(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

class ResNet20(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        c = 16
        for s, (w, st) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for b in range(3):
                blocks.append(Block(c, w, st if b == 0 else 1))
                c = w
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(64, classes)
    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

def randomize(m):
    # Non-trivial BN statistics so eval-mode forward checks them.
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
            mod.num_batches_tracked.fill_(17)
    return m.eval()

models = {"resnet20": (randomize(ResNet20(3, 10)), (2, 3, 32, 32)),
          "resnet18": (randomize(torchvision.models.resnet18(num_classes=10)), (1, 3, 64, 64))}
for name, (m, shape) in models.items():
    x = torch.randn(*shape)
    with torch.no_grad():
        y = m(x)
    x.numpy().tofile(os.path.join(tmp, name + ".x"))
    y.numpy().tofile(os.path.join(tmp, name + ".y"))
    sd = m.state_dict()
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 5},
               os.path.join(tmp, name + "_zip.pth"))
    torch.save(sd, os.path.join(tmp, name + "_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(tmp, name + "_ref.pt"))
PY
for arch in resnet20 resnet18; do
  if [ $arch = resnet20 ]; then shape="2 3 32 32"; else shape="1 3 64 64"; fi
  for kind in zip legacy; do
    "$tmp/helper" logits $arch "$tmp/${arch}_$kind.pth" "$tmp/$arch.x" $shape "$tmp/${arch}_$kind.out"
  done
  "$tmp/helper" resave $arch "$tmp/${arch}_zip.pth" "$tmp/${arch}_ldnq.pth"
done
"$py" - "$tmp" <<'PY'
import os, sys, numpy as np, torch
tmp = sys.argv[1]
for arch in ("resnet20", "resnet18"):
    ref = np.fromfile(os.path.join(tmp, arch + ".y"), dtype=np.float32)
    for kind in ("zip", "legacy"):
        got = np.fromfile(os.path.join(tmp, "%s_%s.out" % (arch, kind)), dtype=np.float32)
        err = float(np.abs(got - ref).max())
        print("%s %s: max |logit diff| %.3g (logits up to %.3g)" % (arch, kind, err, float(np.abs(ref).max())))
        assert err <= 1e-4 * max(1.0, float(np.abs(ref).max())), err
    want = torch.load(os.path.join(tmp, arch + "_ref.pt"))
    got = torch.load(os.path.join(tmp, arch + "_ldnq.pth"), weights_only=True)
    assert list(got) == list(want), "state dict order"
    for k, v in want.items():
        assert got[k].dtype == v.dtype and torch.equal(got[k], v), k
    print("%s: libldnq-saved state dict equals PyTorch's (%d tensors)" % (arch, len(want)))
PY
# Large files (ResNet18 checkpoints): removed on success, kept on failure for debugging.
rm -rf "$tmp"
