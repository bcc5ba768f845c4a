#!/usr/bin/python3
"""Peer timings for tests/bench/bench-morpho: scikit-image SSIM (2D, 3D) and Euler number on the
arrays the C benchmark wrote, best of N runs, in seconds.
usage: bench_morpho_peer.py DIR REPEATS   (DIR holds a2d.raw b2d.raw NX NY, a3d.raw b3d.raw N, mask.raw)"""
import sys
import time
try:
    import numpy as np
    from skimage.metrics import structural_similarity
    from skimage.measure import euler_number
except ImportError:
    sys.exit(77)

d, reps = sys.argv[1], int(sys.argv[2])
meta = dict(line.split() for line in open(d + "/meta.txt"))
nx2, ny2, n3 = int(meta["nx2"]), int(meta["ny2"]), int(meta["n3"])
mx, my, mz = int(meta["mx"]), int(meta["my"]), int(meta["mz"])
a2 = np.fromfile(d + "/a2d.raw", dtype=np.float32).reshape(ny2, nx2).astype(np.float64)
b2 = np.fromfile(d + "/b2d.raw", dtype=np.float32).reshape(ny2, nx2).astype(np.float64)
a3 = np.fromfile(d + "/a3d.raw", dtype=np.float32).reshape(n3, n3, n3).astype(np.float64)
b3 = np.fromfile(d + "/b3d.raw", dtype=np.float32).reshape(n3, n3, n3).astype(np.float64)
bw = np.fromfile(d + "/mask.raw", dtype=np.uint8).reshape(mz, my, mx) != 0
opts = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0)


def best(f):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        v = f()
        t.append(time.perf_counter() - t0)
    return min(t), v


t, v = best(lambda: structural_similarity(a2, b2, **opts))
print("ssim2d %.6f %.15f" % (t, v))
t, v = best(lambda: structural_similarity(a3, b3, **opts))
print("ssim3d %.6f %.15f" % (t, v))
t, v = best(lambda: euler_number(bw, connectivity=3))
print("euler %.6f %d" % (t, v))
