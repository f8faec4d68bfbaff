"""A tiny ImageNet-layout folder of PNG files (zlib only) for the shell tests:
    png_folder.py ROOT SPLIT=N[,N,N] ...
writes ROOT/SPLIT/class{0,1,2}/img{i}.png, N images in every class (or one
count per class), image i of class c 40+i x 30 pixels with colours from c."""
import os
import struct
import sys
import zlib


def png(path, w, h, seed):
    raw = bytearray()
    for y in range(h):
        raw.append(0)
        for x in range(w):
            raw += bytes(((x * 7 + y * 3 + seed * 50) % 256, (y * 5 + seed * 90) % 256, (seed * 80) % 256))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


def main(root, specs):
    for spec in specs:
        split, counts = spec.split("=")
        counts = [int(n) for n in counts.split(",")]
        for c in range(3):
            d = os.path.join(root, split, "class%d" % c)
            os.makedirs(d, exist_ok=True)
            for i in range(counts[c] if len(counts) == 3 else counts[0]):
                png(os.path.join(d, "img%d.png" % i), 40 + i, 30, c)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
