#!/usr/bin/env python3
"""Generates tests/data/resize/: reference outputs of Pillow (and torchvision
when present) for libldnq's data tests. Run from the repository root:
    /usr/bin/python3 tests/gen_data_fixtures.py
Each case NAME has NAME.in (raw uint8 HWC) and NAME.out (raw uint8 HWC,
Pillow's Image.resize(..., BILINEAR)); cases.txt lists
"NAME in_w in_h channels out_w out_h". The JPEG case stores a JPEG Pillow
wrote, Pillow's decode of it, and the resize+center-crop+normalize tensor
(float32 CHW) that torchvision's eval pipeline gives at a reduced scale."""
import os
import sys

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "resize")


def image(w, h, c, seed):
    rng = np.random.default_rng(seed)
    # Smooth gradients plus noise: exercises both flat and sharp areas.
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 255 // max(w - 1, 1) + y * 97 // max(h - 1, 1)) % 256
    arr = np.stack([(base + 60 * k) % 256 for k in range(c)], axis=-1).astype(np.int32)
    arr = np.clip(arr + rng.integers(-40, 41, size=arr.shape), 0, 255).astype(np.uint8)
    return arr


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        ("down_rgb", 97, 61, 3, 40, 25),    # strong downscale, antialiasing
        ("up_rgb", 13, 9, 3, 31, 22),       # upscale
        ("mixed_gray", 50, 20, 1, 17, 33),  # down in x, up in y
        ("onlyx_rgb", 64, 48, 3, 21, 48),   # one pass only
        ("onlyy_gray", 30, 70, 1, 30, 24),
        ("short64", 150, 100, 3, 96, 64),  # shorter side to 64
    ]
    lines = []
    for i, (name, w, h, c, ow, oh) in enumerate(cases):
        arr = image(w, h, c, i)
        im = Image.fromarray(arr[:, :, 0] if c == 1 else arr, "L" if c == 1 else "RGB")
        out = np.asarray(im.resize((ow, oh), Image.BILINEAR))
        arr.tofile(os.path.join(OUT, name + ".in"))
        out.astype(np.uint8).tofile(os.path.join(OUT, name + ".out"))
        lines.append(f"{name} {w} {h} {c} {ow} {oh}")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # JPEG case: Pillow-written JPEG, its decode, and torchvision's eval
    # transform (Resize(64) + CenterCrop(56) + ToTensor + Normalize).
    arr = image(120, 90, 3, 99)
    Image.fromarray(arr, "RGB").save(os.path.join(OUT, "photo.jpg"), quality=90)
    dec = Image.open(os.path.join(OUT, "photo.jpg")).convert("RGB")
    np.asarray(dec).tofile(os.path.join(OUT, "photo.decoded"))
    try:
        import torch  # noqa: F401
        from torchvision import transforms as T
    except ImportError:
        print("torchvision missing: photo.tensor not regenerated", file=sys.stderr)
        return
    tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(),
                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    tf(dec).numpy().astype(np.float32).tofile(os.path.join(OUT, "photo.tensor"))


if __name__ == "__main__":
    main()
