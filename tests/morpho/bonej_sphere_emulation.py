#!/usr/bin/python3
"""Where BoneJ's sphere regression (Tb.Th = 1.9441872882 r - 1.218936) comes from, and how our
convention compares, on BoneJ's own test sphere (ThicknessHelperTest.sphere in BoneJ2's Legacy
module; the same object as bonej_sphere () in test-morpho-shapes.c). Not a test: a record of the
derivation quoted there and in core/morpho/tb-morpho.h. Run: /usr/bin/python3 THIS [RMAX] [--ball]
(--ball: the voxel-centred digital ball |x| <= r instead, on which the regression does not hold).

BoneJ's pipeline (Dougherty's Local Thickness, as ThicknessHelper.getLocalThickness (imp, false)
runs it in BoneJ's test) emulated step by step:
  1. EDT_S1D: d = distance from each object voxel to the nearest background voxel centre (voxels
     outside the image are not background);
  2. Distance_Ridge + Local_Thickness_Parallel: every voxel v with |v - p|^2 <= round (d_p^2) of an
     object voxel p takes the largest round (d_p^2); value 2 sqrt (.). The ridge only drops spheres
     that another contains, so painting every object voxel's sphere gives the same map. Painted
     voxels OUTSIDE the object (|v - p| = d_p lands on background centres) keep their value:
     BoneJ's test does not mask the map (doMask = false);
  3. Clean_Up_Local_Thickness: a non-zero voxel with a zero 26-neighbour takes the mean of its
     non-zero neighbours that have none;
  4. the mean over all voxels > 0.
"ours" is step 2 restricted to the object voxels, no step 3 (tb_morpho_local_thickness)."""
import sys
import numpy as np
from scipy import ndimage


def bonej_sphere(r):
    side = 2 * r + 2
    vol = np.zeros((2 * r + 3, side, side), bool)  # z, y, x
    g = np.arange(side) + 0.5 - (r + 1)           # pixel centre offsets from the disc centre
    for zd in range(-r, r + 1):
        rc = int(np.floor(np.sqrt(r * r - zd * zd) + 0.5))   # Java Math.round
        if rc > 0:                                           # fillOval of width 0 paints nothing
            vol[zd + r + 1] = g[None, :] ** 2 + g[:, None] ** 2 <= rc * rc
    return vol


def painted(bw):
    s = np.rint(ndimage.distance_transform_edt(bw) ** 2).astype(np.int64)
    out = np.zeros(bw.shape, np.int64)
    shape = np.array(bw.shape)
    for p in np.argsort(s, axis=None, kind="stable"):        # ascending: larger overwrite
        sq = s.flat[p]
        if sq == 0:
            continue
        c = np.array(np.unravel_index(p, bw.shape))
        h = int(np.floor(np.sqrt(sq)))
        lo, hi = np.maximum(c - h, 0), np.minimum(c + h + 1, shape)
        z, y, x = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        ball = (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= sq
        sub = out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        sub[ball] = np.maximum(sub[ball], sq)
    return 2.0 * np.sqrt(out)


def clean_up(t):
    zero = np.pad(t == 0, 1, constant_values=False)          # outside the image: not zero
    near_zero = ndimage.binary_dilation(zero, np.ones((3, 3, 3), bool))[1:-1, 1:-1, 1:-1]
    surface = (t > 0) & near_zero
    interior = (t > 0) & ~surface
    k = np.ones((3, 3, 3))
    k[1, 1, 1] = 0
    total = ndimage.convolve(np.where(interior, t, 0.0), k, mode="constant")
    count = ndimage.convolve(interior.astype(float), k, mode="constant")
    out = t.copy()
    sel = surface & (count > 0)
    out[sel] = total[sel] / count[sel]
    return out


def voxel_ball(r):
    g = np.arange(2 * r + 7) - (r + 3)
    return g[:, None, None] ** 2 + g[None, :, None] ** 2 + g[None, None, :] ** 2 <= r * r


args = [a for a in sys.argv[1:] if a != "--ball"]
rmax = int(args[0]) if args else 24
make = voxel_ball if "--ball" in sys.argv else bonej_sphere
print(" r   regression   BoneJ emulated        ours")
for r in range(2, rmax + 1):
    bw = make(r)
    t = painted(bw)
    bonej = clean_up(t)
    bonej = bonej[bonej > 0].mean()
    ours = t[bw].mean()
    fit = 1.9441872882 * r - 1.218936
    print("%2d %10.3f %10.3f (%+5.1f %%) %8.3f (%+5.1f %%)" % (r, fit, bonej, 100 * (bonej / fit - 1),
                                                            ours, 100 * (ours / fit - 1)))
