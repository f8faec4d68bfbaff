"""An independent writer of the .ldnq packed format (docs/FORMATS.md), used by
torch_roundtrip.sh to check libldnq reads the format as documented."""
import struct
import sys
import zlib

LEVELS = {3: 2, 5: 3, 7: 3, 9: 4, 11: 4}
TABLE = [0, 1, -1, 2, -2, 4, -4, 8, -8, 16, -16]
SAMPLE = {  # name: (levels, alpha, codes, shape)
    "conv.weight": (3, 0.125, [0, 1, -1, 1, 0, -1, -1, 1, 0, 0, 1, 1], [2, 2, 3]),
    "fc.weight": (11, 0.0375, [16, -16, 8, -8, 4, -4, 2, -2, 1, -1, 0], [11]),
    "mid.weight": (7, 1.5, [4, -4, 2, 0, -2, 1, -1], [7, 1]),
}
PER_CHANNEL = {  # name: (levels, alphas (one per size[0] index), codes, shape): kind 3
    "pc.weight": (5, [0.5, 0.0, 2.0], [1, -2, 2, 1, -1, 0], [3, 2]),
}
BIAS = [0.5, -1.25, 3.0]


def pack(codes, bits):
    acc = have = 0
    out = bytearray()
    for c in codes:
        acc |= TABLE.index(c) << have
        have += bits
        while have >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            have -= 8
    if have:
        out.append(acc & 0xFF)
    return bytes(out)


def tensor(name, kind, shape, body):
    n = name.encode()
    return (struct.pack("<H", len(n)) + n + struct.pack("<BB", kind, len(shape)) +
            b"".join(struct.pack("<q", s) for s in shape) + body)


def write(path):
    payload = struct.pack("<I", 1) + struct.pack("<I", 6) + b"source" + struct.pack("<I", 6) + b"python"
    payload += struct.pack("<I", len(SAMPLE) + len(PER_CHANNEL) + 1)
    for name, (levels, alpha, codes, shape) in SAMPLE.items():
        bits = LEVELS[levels]
        body = struct.pack("<BBHf", levels, bits, 0, alpha) + pack(codes, bits)
        payload += tensor(name, 2, shape, body)
    for name, (levels, alphas, codes, shape) in PER_CHANNEL.items():
        bits = LEVELS[levels]
        body = (struct.pack("<BBHI", levels, bits, 0, len(alphas)) +
                struct.pack("<%df" % len(alphas), *alphas) + pack(codes, bits))
        payload += tensor(name, 3, shape, body)
    payload += tensor("bias", 0, [3], struct.pack("<3f", *BIAS))
    data = b"LDNQPACK" + struct.pack("<II", 1, 0) + payload + struct.pack("<I", zlib.crc32(payload))
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__" and sys.argv[1] == "write":
    write(sys.argv[2])
