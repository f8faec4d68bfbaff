#!/usr/bin/env python3
"""Reference per-layer ADMM of docs/METHOD.md section 3, in numpy, written the
way the published code runs it (a general solve of H + rho I every
iteration). Times each golden case and checks the result against G.

usage: admm_numpy.py DATA_DIR [repeats]
prints one line per case: name seconds error iterations
"""
import json
import sys
import time

import numpy as np

MIDS = [0.5, 1.5, 3.0, 6.0, 12.0]


def codes(v, a, levels):
    m = (levels - 1) // 2
    x = np.abs(v)
    q = np.zeros(v.shape)
    tie = np.zeros(v.shape, dtype=bool)
    for k in range(m):
        t = MIDS[k] * a
        q[x > t] = 2 ** k
        if levels != 11 or k == 0:
            tie |= x == t
    q[tie] = 0
    return np.sign(v) * q


def err(H, G, W0):
    D = G - W0
    return float(np.trace(D.T @ H @ D))


def sym_proj(V, alpha0, levels):
    a = last = alpha0
    Q = codes(V, a, levels)
    bestG = a * Q
    best = float(np.sum((V - bestG) ** 2))
    for _ in range(10):
        Q = codes(V, a, levels)
        qq = float(np.sum(Q * Q))
        if qq == 0:
            break
        a = float(np.sum(V * Q)) / qq
        G = a * Q
        e = float(np.sum((V - G) ** 2))
        if e < best:
            best, bestG = e, G
        if abs(last - a) < 1e-3:
            break
        last = a
    return bestG


def admm(H, W0, levels, rho_factor=1.0, max_iter=100):
    alpha0 = float(np.mean(np.abs(W0)))
    G = alpha0 * codes(W0, alpha0, levels)
    best, bestG, fails = err(H, G, W0), G, 0
    rho = rho_factor * H[0, 0]
    A = H + rho * np.eye(H.shape[0])
    B1 = H @ W0
    U = np.zeros_like(W0)
    it = 0
    for it in range(1, max_iter + 1):
        W = np.linalg.solve(A, B1 + rho * (G - U))
        V = W + U
        G = sym_proj(V, alpha0, levels)
        U = U + W - G
        e = err(H, G, W0)
        if e < best and abs(best - e) > 1e-3:
            best, bestG, fails = e, G, 0
        else:
            fails += 1
        if fails >= 3:
            break
    return bestG, best, it


def main():
    d = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for c in json.load(open(d + "/cases.json")):
        n = c["name"]
        H = np.load(f"{d}/{n}.H.npy")
        W0 = np.load(f"{d}/{n}.W0.npy")
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            G, e, it = admm(H, W0, c["levels"])
            times.append(time.perf_counter() - t)
        assert abs(e - c["error"]) <= 0.01 * c["error"], (n, e, c["error"])
        print(f"{n} {sorted(times)[len(times) // 2]:.6f} {e:.6f} {it}", flush=True)


if __name__ == "__main__":
    main()
