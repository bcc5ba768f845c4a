/* nn-loss-ssim.c — the SSIM loss, 1 - mean SSIM, and its exact gradient, for training generators
 * that keep local contrast and structure. A pixel loss alone makes an x8 generator predict the
 * conditional mean (L2) or median (L1) of a structure the clinical image cannot pin down: a grey
 * haze of the right mass, flat where the truth has struts and faintly grey where it has none,
 * which SSIM (and a reader) scores below a sharp guess. Zhao et al. 2017 (IEEE TCI 3, "Loss
 * functions for image restoration with neural networks") found the mix 0.84 (1 - SSIM) + 0.16 L1
 * better than L1 or L2 alone on every measure they report; nn-train.c offers that mix.
 *
 * The window and constants are those of tb_metrics_ssim (Gaussian, sigma 1.5, 11 taps, K1 0.01,
 * K2 0.03, data range 1, window centres where the whole window lies inside the image), so the loss
 * is exactly 1 - the SSIM the evaluation reports. Each 2-D plane of the tensor (every n, c and, for
 * 5-D tensors, d) is one image.
 *
 * Per plane, with G the valid-mode Gaussian filter: mx = G x, my = G y, sxx = G x^2, syy = G y^2,
 * sxy = G xy; S = A1 A2 / (B1 B2) with A1 = 2 mx my + C1, B1 = mx^2 + my^2 + C1,
 * A2 = 2 (sxy - mx my) + C2, B2 = sxx - mx^2 + syy - my^2 + C2. By the chain rule, for the
 * prediction y:  dS/dy = G^T a + 2 y G^T b + x G^T c  with, per window centre,
 *   a = dS/dmy  = S (2 mx / A1 - 2 my / B1 - 2 mx / A2 + 2 my / B2),
 *   b = dS/dsyy = -S / B2,   c = dS/dsxy = 2 S / A2,
 * and G^T the adjoint (the same taps, scattered back over the full plane). */
#include "nn-private.h"
#include "metrics/tb-metrics.h"

#include <math.h>
#include <string.h>

#define R TB_METRICS_SSIM_RADIUS
#define W (2 * R + 1)

/* Valid-mode separable filter of f (h x w) into out (vh x vw); tmp holds h x vw. */
static void
filter_valid (const double *f, int h, int w, const double taps[W], double *tmp, double *out)
{
  int vw = w - 2 * R, vh = h - 2 * R;
  for (int i = 0; i < h; i++)
    for (int j = 0; j < vw; j++)
      {
        double s = 0.0;
        for (int t = 0; t < W; t++)
          s += taps[t] * f[i * w + j + t];
        tmp[i * vw + j] = s;
      }
  for (int i = 0; i < vh; i++)
    for (int j = 0; j < vw; j++)
      {
        double s = 0.0;
        for (int t = 0; t < W; t++)
          s += taps[t] * tmp[(i + t) * vw + j];
        out[i * vw + j] = s;
      }
}

/* The adjoint of filter_valid: g (vh x vw) scattered into out (h x w, overwritten). */
static void
filter_adjoint (const double *g, int h, int w, const double taps[W], double *tmp, double *out)
{
  int vw = w - 2 * R, vh = h - 2 * R;
  memset (tmp, 0, sizeof (double) * h * vw);
  for (int i = 0; i < vh; i++)
    for (int t = 0; t < W; t++)
      for (int j = 0; j < vw; j++)
        tmp[(i + t) * vw + j] += taps[t] * g[i * vw + j];
  memset (out, 0, sizeof (double) * h * w);
  for (int i = 0; i < h; i++)
    for (int j = 0; j < vw; j++)
      for (int t = 0; t < W; t++)
        out[i * w + j + t] += taps[t] * tmp[i * vw + j];
}

/* Sum of S over one plane's valid centres; adds dS/dy (unscaled) into gy when gy != NULL. */
static double
plane_ssim (const float *x, const float *y, int h, int w, const double taps[W], double *gy)
{
  const double c1 = TB_METRICS_SSIM_K1 * TB_METRICS_SSIM_K1, c2 = TB_METRICS_SSIM_K2 * TB_METRICS_SSIM_K2;
  gsize n = (gsize) h * w, nv = (gsize) (h - 2 * R) * (w - 2 * R);
  g_autofree double *buf = g_new (double, 5 * n + (gsize) h * w + 5 * nv);
  double *f[5], *m[5], *tmp = buf + 5 * n;
  for (int k = 0; k < 5; k++)
    {
      f[k] = buf + k * n;
      m[k] = tmp + n + k * nv;
    }
  for (gsize i = 0; i < n; i++)
    {
      double a = x[i], b = y[i];
      f[0][i] = a; f[1][i] = b; f[2][i] = a * a; f[3][i] = b * b; f[4][i] = a * b;
    }
  for (int k = 0; k < 5; k++)
    filter_valid (f[k], h, w, taps, tmp, m[k]);
  double sum = 0.0;
  /* once S is known, a, b, c overwrite sxx, syy, sxy */
  for (gsize i = 0; i < nv; i++)
    {
      double mx = m[0][i], my = m[1][i];
      double a1 = 2.0 * mx * my + c1, b1 = mx * mx + my * my + c1;
      double a2 = 2.0 * (m[4][i] - mx * my) + c2, b2 = m[2][i] - mx * mx + m[3][i] - my * my + c2;
      double s = a1 * a2 / (b1 * b2);
      sum += s;
      m[2][i] = s * (2.0 * mx / a1 - 2.0 * my / b1 - 2.0 * mx / a2 + 2.0 * my / b2);
      m[3][i] = -s / b2;
      m[4][i] = 2.0 * s / a2;
    }
  if (gy != NULL)
    {
      /* f[0..2] are free now: the adjoint-filtered a, b, c */
      for (int k = 0; k < 3; k++)
        filter_adjoint (m[2 + k], h, w, taps, tmp, f[k]);
      for (gsize i = 0; i < n; i++)
        gy[i] += f[0][i] + 2.0 * y[i] * f[1][i] + x[i] * f[2][i];
    }
  return sum;
}

double
tb_nn_loss_ssim (const TbNnTensor *pred, const TbNnTensor *target, TbNnTensor *grad)
{
  g_return_val_if_fail (pred != NULL && target != NULL && tb_nn_tensor_size (pred) == tb_nn_tensor_size (target), NAN);
  g_return_val_if_fail (pred->h >= W && pred->w >= W, NAN);
  int h = pred->h, w = pred->w;
  int planes = pred->n * pred->c * pred->d;
  gsize n = (gsize) h * w;
  double taps[W];
  tb_metrics_ssim_taps (taps);
  double total = (double) planes * (h - 2 * R) * (w - 2 * R);
  g_autofree double *sums = g_new0 (double, planes);
  /* planes are independent; per-plane sums added in order: the loss does not depend on the thread count */
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < planes; p++)
    {
      g_autofree double *gy = grad != NULL ? g_new0 (double, n) : NULL;
      sums[p] = plane_ssim (target->data + p * n, pred->data + p * n, h, w, taps, gy);
      if (grad != NULL)
        for (gsize i = 0; i < n; i++)
          grad->data[p * n + i] = (float) (-gy[i] / total);
    }
  double s = 0.0;
  for (int p = 0; p < planes; p++)
    s += sums[p];
  return 1.0 - s / total;
}
