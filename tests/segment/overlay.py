#!/usr/bin/python3
"""Overlay PNG of a segmentation on a CT slice, for reports:
  overlay.py CT.nii[.gz] LABELS(.raw uint8 on the CT grid | .nii/.tif readable by skimage.io) AXIS INDEX OUT.png [ZOOM [TOP]]
TOP (coronal/sagittal) keeps the slices z <= TOP only, e.g. the hips of an abdominal CT.
AXIS is x, y (coronal) or z. The CT is shown in a bone window (-200..1200 HU), each object's contour in its
own colour, superior at the top. Needs numpy and PIL (Debian python3-numpy, python3-pil)."""
import gzip, struct, sys
import numpy as np
from PIL import Image

def read_nifti(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    dims = struct.unpack("<8h", raw[40:56])
    dt = struct.unpack("<h", raw[70:72])[0]
    off = int(struct.unpack("<f", raw[108:112])[0])
    slope, inter = struct.unpack("<2f", raw[112:120])
    types = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 512: np.uint16}
    nx, ny, nz = dims[1:4]
    a = np.frombuffer(raw[off:], dtype=types[dt], count=nx * ny * nz).reshape(nz, ny, nx).astype(np.float32)
    return a * (slope if slope != 0 else 1) + inter

ct = read_nifti(sys.argv[1])
lp = sys.argv[2]
if lp.endswith(".raw"):
    lab = np.fromfile(lp, dtype=np.uint8).reshape(ct.shape)
elif ".nii" in lp:
    lab = read_nifti(lp).astype(np.uint8)
else:
    import skimage.io
    lab = skimage.io.imread(lp).astype(np.uint8).reshape(ct.shape)
axis, index = sys.argv[3], int(sys.argv[4])
zoom = int(sys.argv[6]) if len(sys.argv) > 6 else 4
take = {"x": lambda a: a[:, :, index], "y": lambda a: a[:, index, :], "z": lambda a: a[index]}[axis]
s, l = take(ct), take(lab)
if axis != "z" and len(sys.argv) > 7:
    s, l = s[: int(sys.argv[7]) + 1], l[: int(sys.argv[7]) + 1]
if axis != "z":
    s, l = s[::-1], l[::-1]  # superior up
g = (np.clip((s + 200) / 1400, 0, 1) * 255).astype(np.uint8)
rgb = np.stack([g, g, g], -1).repeat(zoom, 0).repeat(zoom, 1)
L = l.repeat(zoom, 0).repeat(zoom, 1)
edge = np.zeros(L.shape, bool)
edge[:-1] |= L[:-1] != L[1:]
edge[1:] |= L[:-1] != L[1:]
edge[:, :-1] |= L[:, :-1] != L[:, 1:]
edge[:, 1:] |= L[:, :-1] != L[:, 1:]
palette = np.array([[255, 60, 60], [60, 220, 60], [80, 140, 255], [255, 200, 0], [255, 0, 255], [0, 230, 230],
                    [255, 128, 0], [160, 100, 255]], np.uint8)
inside = edge & (L > 0)
rgb[inside] = palette[(L[inside] - 1) % len(palette)]
Image.fromarray(rgb).save(sys.argv[5])
print("wrote", sys.argv[5], rgb.shape[1], "x", rgb.shape[0])
