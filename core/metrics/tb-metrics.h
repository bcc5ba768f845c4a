/* tb-metrics.h — image-quality metrics: PSNR, SSIM (2D and 3D) and Dice.
 *
 * These judge an enhanced image against a reference on the same grid (tb_volume_same_grid).
 *
 * PSNR = 10 log10 (R^2 / MSE) in dB, MSE over all voxels (or those of the mask); R is the data
 *   range the caller gives (never guessed from the type). Identical images give +inf.
 *
 * SSIM (Wang, Bovik, Sheikh & Simoncelli 2004, IEEE TIP 13:600, eq. 13):
 *   SSIM(x,y) = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),
 *   C1 = (0.01 R)^2, C2 = (0.03 R)^2, local statistics weighted by a normalized Gaussian window of
 *   sigma 1.5 truncated at radius 5 (11 taps: scikit-image's truncate = 3.5, r = int(3.5*1.5+0.5)),
 *   population (not sample) covariances. Only VALID windows count: the window centres at least
 *   5 voxels from every edge, which is exactly the border scikit-image crops before averaging
 *   (its reflect padding never reaches the mean). The result is the mean over those centres:
 *   TB_METRICS_SSIM_2D averages every slice's 11x11 map (nz = 1 is a plain 2D image),
 *   TB_METRICS_SSIM_3D uses 11x11x11 windows. With a mask, only centres inside the mask count.
 *   Matches skimage.metrics.structural_similarity (gaussian_weights=True, sigma=1.5,
 *   use_sample_covariance=False, data_range=R) on float64 input to ~1e-12.
 *
 * Dice = 2 |A n B| / (|A| + |B|) of two masks (nonzero = inside).
 *
 * Failures (TB_METRICS_ERROR): grids differ, data range <= 0 or not finite, image smaller than
 * one window, nothing to average (empty mask; both Dice masks empty). In the last case the
 * function returns NaN AND sets the error, so a caller that prints the number prints "nan".
 */
#pragma once

#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_METRICS_ERROR (tb_metrics_error_quark ())
GQuark tb_metrics_error_quark (void);

typedef enum {
  TB_METRICS_ERROR_GRID,       /* the two images (or the mask) are not on the same grid */
  TB_METRICS_ERROR_RANGE,      /* data range not a positive finite number */
  TB_METRICS_ERROR_TOO_SMALL,  /* smaller than one SSIM window (11 voxels along an axis) */
  TB_METRICS_ERROR_EMPTY,      /* nothing to average: result is NaN */
  TB_METRICS_ERROR_NONFINITE,  /* NaN or infinite voxels */
} TbMetricsError;

typedef enum {
  TB_METRICS_SSIM_2D,   /* 11x11 windows in every x-y slice */
  TB_METRICS_SSIM_3D,   /* 11x11x11 windows */
} TbMetricsSsimMode;

#define TB_METRICS_SSIM_SIGMA   1.5
#define TB_METRICS_SSIM_RADIUS  5     /* window = 2 * 5 + 1 = 11 */
#define TB_METRICS_SSIM_K1      0.01
#define TB_METRICS_SSIM_K2      0.03

/* The SSIM window's 1-D taps (Gaussian, sigma 1.5, 11 taps, summing to 1), for code that must use
 * exactly the metric's window (the network's SSIM loss). */
void   tb_metrics_ssim_taps (double w[2 * TB_METRICS_SSIM_RADIUS + 1]);

/* Peak signal-to-noise ratio in dB; mask may be NULL. */
double tb_metrics_psnr (const TbVolume *a, const TbVolume *b, double data_range,
                        const TbMask *mask, GError **error);

/* Mean SSIM in [-1, 1]; mask (window centres) may be NULL. Optionally the SSIM map
 * (a new volume on the grid of a, 0 outside the valid centres) through ssim_map. */
double tb_metrics_ssim (const TbVolume *a, const TbVolume *b, double data_range,
                        TbMetricsSsimMode mode, const TbMask *mask,
                        TbVolume **ssim_map, GError **error);

/* Dice coefficient of two masks on the same grid, in [0, 1]. */
double tb_metrics_dice (const TbMask *a, const TbMask *b, GError **error);

/* Mask of voxels >= threshold: turns a binary image (or a probability map) into a TbMask. */
TbMask *tb_metrics_mask_from_volume (const TbVolume *v, double threshold, GError **error);

G_END_DECLS
