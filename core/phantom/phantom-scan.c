/* phantom-scan.c — the simulated clinical QCT and the degradation chain it shares with
 * tb_phantom_degrade: BMD per clinical voxel -> Gaussian PSF -> HU = a + b BMD -> noise -> integer HU. */
#include "phantom-private.h"

#include <math.h>
#include <string.h>

#define AIR_RING 3.0   /* mm of air around the body box in the scan grid */

static guint64
mix64 (guint64 x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Separable Gaussian blur along one axis, edges clamped; sigma in voxels. An axis of one voxel
 * (a 2D image) is left alone, so a 2D slice is blurred in plane. */
static void
blur_axis (TbVolume *v, int axis, double sigma)
{
  int n = axis == 0 ? v->nx : axis == 1 ? v->ny : v->nz;
  if (sigma <= 0.0 || n < 2)
    return;
  int r = (int) ceil (3.0 * sigma);
  double *kern = g_new (double, 2 * r + 1), sum = 0.0;
  for (int i = -r; i <= r; i++)
    sum += kern[i + r] = exp (-0.5 * i * i / (sigma * sigma));
  for (int i = 0; i <= 2 * r; i++)
    kern[i] /= sum;
  int n_lines = (int) (tb_volume_n_voxels (v) / n);
#pragma omp parallel
  {
    double *line = g_new (double, n);
#pragma omp for schedule(static)
    for (int l = 0; l < n_lines; l++)
      {
        gsize stride, base = tb_grid_line_start (v->nx, v->ny, axis, (gsize) l, &stride);
        for (int i = 0; i < n; i++)
          line[i] = v->data[base + i * stride];
        for (int i = 0; i < n; i++)
          {
            double acc = 0.0;
            for (int t = -r; t <= r; t++)
              acc += kern[t + r] * line[CLAMP (i + t, 0, n - 1)];
            v->data[base + i * stride] = (float) acc;
          }
      }
    g_free (line);
  }
  g_free (kern);
}

/* The chain after BMD: blur (sigma = FWHM / 2.3548), HU = a + b BMD, Gaussian noise
 * (Box-Muller on a counter-based hash of (seed, voxel index): independent of threads), rounded
 * to integers and clamped to int16. Works in place on `bmd`, which becomes HU. */
static void
scan_finish (const TbPhantom *ph, TbVolume *v, guint64 noise_seed)
{
  const TbPhantomParams *pp = &ph->params;
  double sigma_mm = pp->psf_fwhm / 2.3548;   /* FWHM = 2 sqrt (2 ln 2) sigma */
  for (int axis = 0; axis < 3; axis++)
    blur_axis (v, axis, sigma_mm / v->spacing[axis]);
  gsize n = tb_volume_n_voxels (v);
  guint64 s = mix64 (noise_seed ^ 0x6e6f697365ull);
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      double hu = pp->hu_a + pp->hu_b * v->data[i];
      if (pp->noise_sigma > 0.0)
        {
          guint64 h = mix64 (s ^ mix64 (i));
          double u1 = ((h >> 11) + 1.0) * (1.0 / 9007199254740993.0);   /* (0, 1] */
          double u2 = (double) (mix64 (h) >> 11) * (1.0 / 9007199254740992.0);
          hu += pp->noise_sigma * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
        }
      v->data[i] = (float) CLAMP (rint (hu), -32768.0, 32767.0);
    }
}

void
tb_phantom_qct_free (TbPhantomQct *qct)
{
  if (qct == NULL)
    return;
  g_clear_pointer (&qct->hu, tb_volume_unref);
  g_clear_pointer (&qct->bmd, tb_volume_unref);
  g_clear_pointer (&qct->bone_fraction, tb_volume_unref);
  g_clear_pointer (&qct->bone_mask, tb_mask_unref);
  g_clear_pointer (&qct->regions, tb_mask_unref);
  g_free (qct);
}

TbPhantomQct *
tb_phantom_simulate_qct (const TbPhantom *ph, GCancellable *cancellable,
                         TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (ph != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  const TbPhantomParams *pp = &ph->params;
  double s = pp->clinical_spacing, sp[3] = { s, s, s };
  double body_lo[3], body_hi[3];
  int n[3];
  for (int d = 0; d < 3; d++)
    {
      body_lo[d] = ph->bone_lo[d] - pp->margin;
      body_hi[d] = ph->bone_hi[d] + pp->margin;
      n[d] = (int) ceil ((body_hi[d] - body_lo[d] + 2.0 * AIR_RING) / s);
    }
  if (!tb_memory_check ((guint64) n[0] * n[1] * n[2] * (5 * sizeof (float) + 2), "The simulated QCT", error))
    return NULL;

  g_autoptr(TbPhantomQct) qct = g_new0 (TbPhantomQct, 1);
  qct->hu_a = pp->hu_a;
  qct->hu_b = pp->hu_b;
  qct->bone_fraction = tb_volume_new (n[0], n[1], n[2], sp, error);
  if (qct->bone_fraction == NULL)
    return NULL;
  for (int d = 0; d < 3; d++)   /* centre the grid on the body box */
    qct->bone_fraction->origin[d] = 0.5 * (body_lo[d] + body_hi[d]) - 0.5 * (n[d] - 1) * s;
  g_autoptr(TbVolume) marrow = tb_volume_new_like (qct->bone_fraction, error);
  g_autoptr(TbVolume) soft = marrow != NULL ? tb_volume_new_like (qct->bone_fraction, error) : NULL;
  qct->bone_mask = soft != NULL ? tb_mask_new_like_volume (qct->bone_fraction, error) : NULL;
  qct->regions = qct->bone_mask != NULL ? tb_mask_new_like_volume (qct->bone_fraction, error) : NULL;
  if (qct->regions == NULL)
    return NULL;

  if (!tb_phantom_sample_grid (ph, qct->bone_fraction, pp->supersample, TRUE, body_lo, body_hi,
                               qct->bone_fraction->data, marrow->data, soft->data,
                               qct->bone_mask->data, qct->regions->data,
                               "Simulating the clinical QCT", cancellable, progress, user_data, error))
    return NULL;

  /* BMD = tissue f_t + marrow f_m + soft tissue f_s; air (outside the body box) from air_hu */
  qct->bmd = tb_volume_new_like (qct->bone_fraction, error);
  if (qct->bmd == NULL)
    return NULL;
  double air_bmd = (pp->air_hu - pp->hu_a) / pp->hu_b;
  gsize nv = tb_volume_n_voxels (qct->bmd);
  for (gsize i = 0; i < nv; i++)
    {
      double ft = qct->bone_fraction->data[i], fm = marrow->data[i], fs = soft->data[i];
      qct->bmd->data[i] = ft + fm + fs == 0.0 ? (float) air_bmd
                          : (float) (pp->tissue_bmd * ft + pp->marrow_bmd * fm + pp->soft_tissue_bmd * fs);
    }
  qct->hu = tb_volume_copy (qct->bmd, error);
  if (qct->hu == NULL)
    return NULL;
  scan_finish (ph, qct->hu, pp->noise_seed);
  return g_steal_pointer (&qct);
}

TbVolume *
tb_phantom_degrade (const TbPhantom *ph, const TbVolume *fraction, int factor, guint64 noise_seed, GError **error)
{
  g_return_val_if_fail (ph != NULL && fraction != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (factor < 1)
    {
      g_set_error (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_INVALID,
                   "Degradation factor %d is invalid: it must be a positive integer "
                   "(clinical voxel / input voxel)", factor);
      return NULL;
    }
  if (!tb_volume_check_finite (fraction, "The bone-fraction volume", error))
    return NULL;
  const TbPhantomParams *pp = &ph->params;
  g_autoptr(TbVolume) v = tb_volume_downscale (fraction, factor, factor, fraction->nz == 1 ? 1 : factor, error);
  if (v == NULL)
    return NULL;
  /* the same BMD mixing as the QCT inside the bone: tissue and marrow */
  gsize n = tb_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    {
      double f = CLAMP (v->data[i], 0.0f, 1.0f);
      v->data[i] = (float) (pp->tissue_bmd * f + pp->marrow_bmd * (1.0 - f));
    }
  scan_finish (ph, v, noise_seed);
  return g_steal_pointer (&v);
}
