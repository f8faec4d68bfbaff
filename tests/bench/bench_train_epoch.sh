#!/usr/bin/env bash
# Training throughput of a CIFAR ResNet (20 by default) on Fashion-MNIST, libldnq (`ldnq train`)
# vs PyTorch (torch.set_num_threads(2)), side by side: the same model, batch,
# optimizer (SGD nesterov, wd 5e-4, one-cycle), augmentation (normalize, pad
# 2, random crop 32 pad 4, flip) and number of batches; both include data
# loading. Printed once with the environment as set and once with
# `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`.
# Usage: tests/bench/bench_train_epoch.sh [build_dir] [batches] [batch] [arch]
#   arch: resnet20 (default), resnet32 or resnet56
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
nb=${2:-20}
bs=${3:-128}
arch=${4:-resnet20}
case $arch in resnet20|resnet32|resnet56) ;; *) echo "arch: resnet20|32|56" >&2; exit 2 ;; esac
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1

ours() { # seconds for nb batches
  "$@" "$build/tools/ldnq/ldnq" train --arch "$arch" --data "fashion-mnist:$data" --epochs 1 \
    --batch "$bs" --limit-train $((nb * bs)) --no-eval --out "$tmp/b.pth" --json 2>/dev/null |
    tail -1 | sed 's/.*"seconds": *\([0-9.]*\).*/\1/'
}
theirs() {
  "$@" /usr/bin/python3 - "$here/.." "$data" "$nb" "$bs" "$arch" <<'PY'
import gzip, sys, time
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
from gen_nn_fixtures import make
torch.set_num_threads(2)
data, nb, bs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0 = time.perf_counter()
with gzip.open(data + "/train-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[: nb * bs]
with gzip.open(data + "/train-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8)[: nb * bs]
x = (torch.from_numpy(x.astype(np.float32) / 255.0) - 0.2860) / 0.3530
x = torch.nn.functional.pad(x, (2, 2, 2, 2))
y = torch.from_numpy(y.astype(np.int64))
m = make(sys.argv[5], 1, 10)
m.train()
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
sch = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=nb, cycle_momentum=False)
g = torch.Generator().manual_seed(0)
perm = torch.randperm(len(y), generator=g)
for b in range(nb):
    idx = perm[b * bs:(b + 1) * bs]
    xb = torch.nn.functional.pad(x[idx], (4, 4, 4, 4))
    ox, oy = torch.randint(0, 9, (2,), generator=g).tolist()
    xb = xb[:, :, oy:oy + 32, ox:ox + 32]  # one crop offset per batch: cheaper than ours
    if torch.rand(1, generator=g).item() < 0.5:
        xb = xb.flip(3)
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(m(xb), y[idx])
    loss.backward()
    opt.step()
    sch.step()
print("%.3f" % (time.perf_counter() - t0))
PY
}
table() {
  local label=$1
  shift
  local a b="-" r="-"
  a=$(ours "$@")
  [ $have_torch = 1 ] && b=$(theirs "$@")
  [ "$b" != "-" ] && r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
  echo "== $label: $arch, Fashion-MNIST, $nb batches of $bs (train step incl. data)"
  printf '%-10s %12s %12s %10s\n' "" "seconds" "img/s" "s/epoch*"
  printf '%-10s %12s %12.1f %10.0f\n' libldnq "$a" "$(awk -v s="$a" -v n=$((nb * bs)) 'BEGIN{print n/s}')" \
    "$(awk -v s="$a" -v n=$((nb * bs)) 'BEGIN{print s*60000/n}')"
  if [ "$b" != "-" ]; then
    printf '%-10s %12s %12.1f %10.0f\n' pytorch "$b" "$(awk -v s="$b" -v n=$((nb * bs)) 'BEGIN{print n/s}')" \
      "$(awk -v s="$b" -v n=$((nb * bs)) 'BEGIN{print s*60000/n}')"
  fi
  echo "time ratio libldnq/pytorch: $r   (* 60000 training images, extrapolated)"
}
table "environment as set (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
table "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
