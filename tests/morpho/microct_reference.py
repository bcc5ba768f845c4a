#!/usr/bin/python3
"""SciPy / scikit-image reference for the real micro-CT (tests/morpho, tests/bench).

Segments as the data's source repository (ciclope) does: skimage.filters.gaussian(sigma=1,
preserve_range=True), then threshold_otsu, bone = smoothed > T. Prints the threshold, BV/TV, the
26-connected Euler number (skimage.measure.euler_number, connectivity=3) and the mean local
thickness by a plain SciPy maximal-sphere implementation (below), with its run time; writes the
bone mask as raw uint8 (z, y, x order = x fastest) so the C side measures the very same voxels.

usage: microct_reference.py IMAGE.tif OUT_MASK.raw [--no-thickness]
Exit 77 when numpy/scipy/scikit-image/tifffile are missing."""
import sys
import time
try:
    import numpy as np
    from scipy import ndimage
    import tifffile
    from skimage.filters import gaussian, threshold_otsu
    from skimage.measure import euler_number
except ImportError:
    sys.exit(77)


def local_thickness(bw):
    """Hildebrand & Rueegsegger maximal spheres on the voxel grid, BoneJ's radii:
    s = squared distance from each bone voxel to the nearest background voxel centre (exact EDT);
    a voxel's sphere is dropped when a 26-neighbour's sphere contains it (r_q >= r_p + |p - q|);
    every bone voxel takes the largest s of the remaining spheres with |v - c|^2 <= s;
    thickness = 2 sqrt(s). Returns the thickness map (0 off the bone)."""
    d = ndimage.distance_transform_edt(bw)
    s = np.rint(d * d).astype(np.int64)   # squared distances are integers on a unit grid
    r = np.sqrt(s.astype(np.float64))
    ridge = bw.copy()
    pad = np.pad(r, 1)
    nz, ny, nx = bw.shape
    for dz in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dz == dy == dx == 0:
                    continue
                nb = pad[1 + dz:1 + dz + nz, 1 + dy:1 + dy + ny, 1 + dx:1 + dx + nx]
                ridge &= ~(nb >= (r + np.sqrt(dz * dz + dy * dy + dx * dx)) * (1 - 1e-9))
    zs, ys, xs = np.nonzero(ridge)
    ss = s[zs, ys, xs]
    order = np.argsort(ss, kind="stable")   # ascending: larger spheres overwrite smaller
    out = np.zeros(bw.shape, dtype=np.int64)
    balls = {}
    for q in order:
        z, y, x, sq = zs[q], ys[q], xs[q], ss[q]
        h = int(np.floor(np.sqrt(sq)))
        ball = balls.get(sq)
        if ball is None:
            g = np.arange(-h, h + 1)
            ball = (g[:, None, None] ** 2 + g[None, :, None] ** 2 + g[None, None, :] ** 2) <= sq
            balls[sq] = ball
        z0, z1 = max(z - h, 0), min(z + h + 1, nz)
        y0, y1 = max(y - h, 0), min(y + h + 1, ny)
        x0, x1 = max(x - h, 0), min(x + h + 1, nx)
        b = ball[z0 - z + h:z1 - z + h, y0 - y + h:y1 - y + h, x0 - x + h:x1 - x + h]
        sub = out[z0:z1, y0:y1, x0:x1]
        sub[b] = sq
    t = 2.0 * np.sqrt(out.astype(np.float64))
    t[~bw] = 0
    return t


def main():
    image = tifffile.imread(sys.argv[1])
    smooth = gaussian(image, sigma=1, preserve_range=True)
    thr = threshold_otsu(smooth)
    bw = smooth > thr
    bw.astype(np.uint8).tofile(sys.argv[2])
    print("shape %d %d %d" % bw.shape[::-1])
    print("threshold %.17g" % thr)
    print("bvtv %.17g" % bw.mean())
    t0 = time.perf_counter()
    chi = euler_number(bw, connectivity=3)
    print("euler_seconds %.6f" % (time.perf_counter() - t0))
    print("euler %d" % chi)
    if "--no-thickness" not in sys.argv:
        t0, c0 = time.perf_counter(), time.process_time()
        t = local_thickness(bw)
        print("thickness_seconds %.6f" % (time.perf_counter() - t0))
        print("thickness_cpu_seconds %.6f" % (time.process_time() - c0))
        print("tbth %.17g" % t[bw].mean())


if __name__ == "__main__":
    main()
