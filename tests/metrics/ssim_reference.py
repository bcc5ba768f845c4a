#!/usr/bin/python3
"""scikit-image / SciPy reference for tests/metrics: reads two raw float32 images (x fastest)
and prints PSNR, 2D SSIM (mean over slices) and 3D SSIM with Wang et al. 2004's settings.
usage: ssim_reference.py A.raw B.raw NX NY NZ DATA_RANGE.  Exit 77 when scikit-image is missing."""
import sys
try:
    import numpy as np
    from skimage.metrics import structural_similarity, peak_signal_noise_ratio
except ImportError:
    sys.exit(77)

a_path, b_path, nx, ny, nz, r = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]), float(sys.argv[6])
# float64 so that scikit-image computes in double, as ours does
a = np.fromfile(a_path, dtype=np.float32).reshape(nz, ny, nx).astype(np.float64)
b = np.fromfile(b_path, dtype=np.float32).reshape(nz, ny, nx).astype(np.float64)
opts = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=r)
print("psnr %.17g" % peak_signal_noise_ratio(a, b, data_range=r))
print("ssim2d %.17g" % np.mean([structural_similarity(a[k], b[k], **opts) for k in range(nz)]))
if nz >= 11:
    print("ssim3d %.17g" % structural_similarity(a, b, **opts))
