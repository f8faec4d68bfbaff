#!/usr/bin/env python3
"""Pillow / torchvision side of bench_imagefolder: the same files, the same
eval transform (Resize(256) + CenterCrop(224) + ToTensor + Normalize), one
process. usage: bench_imagefolder_pil.py DIR [repeats]
Prints "config images_per_s cpu_ms_per_image" lines."""
import os
import sys
import time

from PIL import Image


def files(root):
    out = []
    for cls in sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))):
        for dp, _, fn in sorted(os.walk(os.path.join(root, cls))):
            out += [os.path.join(dp, f) for f in sorted(fn) if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    return out


def best_rate(fn, paths, repeats):
    best, cpu = 1e30, 1e30
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for p in paths:
            fn(p)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return "%.1f %.2f" % (len(paths) / best, cpu * 1000.0 / len(paths))


def main():
    root = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    paths = files(root)

    def pil_only(p):
        im = Image.open(p).convert("RGB")
        w, h = im.size
        s = 256
        nw, nh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        im = im.resize((nw, nh), Image.BILINEAR)
        left, top = int(round((nw - 224) / 2.0)), int(round((nh - 224) / 2.0))
        return im.crop((left, top, left + 224, top + 224))

    print("pil_decode_resize_crop", best_rate(pil_only, paths, repeats))
    try:
        import torch
        from torchvision import transforms as T
    except ImportError:
        return
    torch.set_num_threads(1)
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    print("torchvision_eval_transform", best_rate(lambda p: tf(Image.open(p).convert("RGB")), paths, repeats))


if __name__ == "__main__":
    main()
