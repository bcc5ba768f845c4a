#!/usr/bin/python3
"""The scikit-image / SciPy peer of the segment tests and benchmark: runs one operation on raw arrays the
C test wrote, and prints the answer (or writes it). Exit 77 (skip) when a module is missing.

  threshold RAW DTYPE NX NY NZ METHOD NBINS   -> prints the threshold (otsu | isodata)
  watershed RELIEF_F32 MARKERS_U8 NX NY NZ OUT_U8 -> writes labels, prints seconds taken
  gradient RAW_F32 NX NY NZ SIGMA OUT_F32      -> writes scipy.ndimage.gaussian_gradient_magnitude
  label MASK_U8 NX NY NZ CONNECTIVITY         -> prints the number of components
"""
import sys, time
try:
    import numpy as np
    import scipy.ndimage as ndi
    import skimage
    from skimage.filters import threshold_otsu, threshold_isodata
    from skimage.segmentation import watershed
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)

op = sys.argv[1]
if op == "threshold":
    raw, dtype, nx, ny, nz, method, nbins = sys.argv[2:9]
    a = np.fromfile(raw, dtype=dtype).reshape(int(nz), int(ny), int(nx))
    f = threshold_otsu if method == "otsu" else threshold_isodata
    print(repr(float(f(a, nbins=int(nbins)))))
elif op == "watershed":
    relief, markers, nx, ny, nz, out = sys.argv[2:8]
    shape = (int(nz), int(ny), int(nx))
    r = np.fromfile(relief, dtype=np.float32).reshape(shape)
    m = np.fromfile(markers, dtype=np.uint8).reshape(shape).astype(np.int32)
    t0 = time.perf_counter()
    lab = watershed(r, m)  # connectivity 1, compactness 0: the plain marker flood
    dt = time.perf_counter() - t0
    lab.astype(np.uint8).tofile(out)
    print(repr(dt))
elif op == "gradient":
    raw, nx, ny, nz, sigma, out = sys.argv[2:8]
    a = np.fromfile(raw, dtype=np.float32).reshape(int(nz), int(ny), int(nx)).astype(np.float64)
    ndi.gaussian_gradient_magnitude(a, float(sigma)).astype(np.float32).tofile(out)
elif op == "label":
    mask, nx, ny, nz, conn = sys.argv[2:7]
    m = np.fromfile(mask, dtype=np.uint8).reshape(int(nz), int(ny), int(nx)) != 0
    s = ndi.generate_binary_structure(3, 1 if conn == "6" else 3)
    print(ndi.label(m, structure=s)[1])
else:
    sys.exit("unknown op " + op)
