/* metrics-psnr-dice.c — PSNR, Dice, the error domain and the checks the metrics share. */
#include "tb-metrics.h"
#include "metrics-private.h"

#include <math.h>

G_DEFINE_QUARK (tb-metrics-error-quark, tb_metrics_error)

gboolean
tb_metrics_check_pair (const TbVolume *a, const TbVolume *b, double data_range,
                       const TbMask *mask, GError **error)
{
  if (!tb_volume_same_grid (a, b))
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_GRID,
                   "The images are not on the same grid (%d x %d x %d vs %d x %d x %d, or spacing/origin differ); "
                   "resample one onto the other first", a->nx, a->ny, a->nz, b->nx, b->ny, b->nz);
      return FALSE;
    }
  if (!isfinite (data_range) || data_range <= 0)
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_RANGE,
                   "The data range must be a positive number (got %g): give the span of possible values, "
                   "e.g. 1 for densities in [0,1] or 255 for 8-bit images", data_range);
      return FALSE;
    }
  if (mask != NULL && (mask->nx != a->nx || mask->ny != a->ny || mask->nz != a->nz))
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_GRID,
                   "The mask is %d x %d x %d but the images are %d x %d x %d",
                   mask->nx, mask->ny, mask->nz, a->nx, a->ny, a->nz);
      return FALSE;
    }
  if (!tb_volume_check_finite (a, "first image", NULL) || !tb_volume_check_finite (b, "second image", NULL))
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_NONFINITE,
                   "The images contain NaN or infinite voxels; replace them before comparing");
      return FALSE;
    }
  return TRUE;
}

double
tb_metrics_psnr (const TbVolume *a, const TbVolume *b, double data_range,
                 const TbMask *mask, GError **error)
{
  g_return_val_if_fail (a != NULL && b != NULL, NAN);
  g_return_val_if_fail (error == NULL || *error == NULL, NAN);
  if (!tb_metrics_check_pair (a, b, data_range, mask, error))
    return NAN;

  gsize n = tb_volume_n_voxels (a);
  double sum = 0.0;
  gsize count = 0;
#pragma omp parallel for reduction(+:sum, count) schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      if (mask != NULL && mask->data[i] == 0)
        continue;
      double d = (double) a->data[i] - (double) b->data[i];
      sum += d * d;
      count++;
    }
  if (count == 0)
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY,
                   "PSNR is undefined: the mask selects no voxel");
      return NAN;
    }
  double mse = sum / (double) count;
  if (mse == 0.0)
    return INFINITY;
  /* Wang et al. 2004 / skimage.metrics.peak_signal_noise_ratio: 10 log10 (R^2 / MSE) */
  return 10.0 * log10 (data_range * data_range / mse);
}

double
tb_metrics_dice (const TbMask *a, const TbMask *b, GError **error)
{
  g_return_val_if_fail (a != NULL && b != NULL, NAN);
  g_return_val_if_fail (error == NULL || *error == NULL, NAN);
  if (a->nx != b->nx || a->ny != b->ny || a->nz != b->nz)
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_GRID,
                   "The masks are not on the same grid (%d x %d x %d vs %d x %d x %d)",
                   a->nx, a->ny, a->nz, b->nx, b->ny, b->nz);
      return NAN;
    }
  gsize n = tb_mask_n_voxels (a);
  guint64 na = 0, nb = 0, nab = 0;
#pragma omp parallel for reduction(+:na, nb, nab) schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      gboolean ia = a->data[i] != 0, ib = b->data[i] != 0;
      na += ia;
      nb += ib;
      nab += ia && ib;
    }
  if (na + nb == 0)
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY,
                   "Dice is undefined: both masks are empty");
      return NAN;
    }
  return 2.0 * (double) nab / (double) (na + nb);
}

TbMask *
tb_metrics_mask_from_volume (const TbVolume *v, double threshold, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  TbMask *m = tb_mask_new_like_volume (v, error);
  if (m == NULL)
    return NULL;
  gsize n = tb_volume_n_voxels (v);
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    m->data[i] = v->data[i] >= threshold;
  return m;
}
