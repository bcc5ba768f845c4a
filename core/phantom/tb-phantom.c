/* tb-phantom.c — the phantom object: parameters, construction, truth boxes, presets. */
#include "phantom-private.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (tb-phantom-error-quark, tb_phantom_error)

void
tb_phantom_params_init (TbPhantomParams *p)
{
  g_return_if_fail (p != NULL);
  memset (p, 0, sizeof *p);
  p->seed = 1;
  p->clinical_spacing = 0.625;
  p->psf_fwhm = 1.0;
  p->noise_sigma = 20.0;
  p->noise_seed = 1;
  p->tissue_bmd = 1200.0;
  p->marrow_bmd = 0.0;
  p->soft_tissue_bmd = 0.0;
  p->hu_a = 0.0;
  p->hu_b = 1.0;
  p->air_hu = -1000.0;
  p->margin = 10.0;
  p->supersample = 4;
}

static gboolean
check_range (double v, double lo, double hi, const char *name, const char *unit, GError **error)
{
  if (isfinite (v) && v >= lo && v <= hi)
    return TRUE;
  g_set_error (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_INVALID,
               "Phantom parameter %s = %g%s is out of range: use a value from %g to %g%s",
               name, v, unit, lo, hi, unit);
  return FALSE;
}

static gboolean
check_params (const TbPhantomParams *p, GError **error)
{
  return check_range (p->clinical_spacing, 0.05, 10.0, "clinical spacing", " mm", error)
         && check_range (p->psf_fwhm, 0.0, 20.0, "PSF FWHM", " mm", error)
         && check_range (p->noise_sigma, 0.0, 1000.0, "noise sigma", " HU", error)
         && check_range (p->tissue_bmd, 1.0, 5000.0, "tissue BMD", " mg/cm^3", error)
         && check_range (p->marrow_bmd, -1000.0, 5000.0, "marrow BMD", " mg/cm^3", error)
         && check_range (p->soft_tissue_bmd, -1000.0, 5000.0, "soft-tissue BMD", " mg/cm^3", error)
         && check_range (p->hu_a, -10000.0, 10000.0, "calibration a", " HU", error)
         && check_range (p->hu_b, 1e-3, 100.0, "calibration b", " HU per mg/cm^3", error)
         && check_range (p->air_hu, -32768.0, 32767.0, "air", " HU", error)
         && check_range (p->margin, 0.0, 200.0, "margin", " mm", error)
         && check_range (p->supersample, 1, 16, "supersample", "", error);
}

TbPhantom *
tb_phantom_new (const TbPhantomParams *params, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  TbPhantomParams defaults;
  if (params == NULL)
    {
      tb_phantom_params_init (&defaults);
      params = &defaults;
    }
  if (!check_params (params, error))
    return NULL;
  TbPhantom *ph = g_new0 (TbPhantom, 1);
  ph->params = *params;
  tb_phantom_anatomy_init (ph);
  if (!tb_phantom_trabecular_init (ph, error))
    {
      tb_phantom_free (ph);
      return NULL;
    }
  return ph;
}

void
tb_phantom_free (TbPhantom *ph)
{
  if (ph == NULL)
    return;
  tb_phantom_trabecular_clear (ph);
  g_free (ph);
}

const TbPhantomParams *
tb_phantom_get_params (const TbPhantom *ph)
{
  g_return_val_if_fail (ph != NULL, NULL);
  return &ph->params;
}

void
tb_phantom_get_bounds (const TbPhantom *ph, double lo[3], double hi[3])
{
  g_return_if_fail (ph != NULL && lo != NULL && hi != NULL);
  memcpy (lo, ph->bone_lo, sizeof ph->bone_lo);
  memcpy (hi, ph->bone_hi, sizeof ph->bone_hi);
}

double
tb_phantom_tissue_at (const TbPhantom *ph, const double world[3])
{
  g_return_val_if_fail (ph != NULL && world != NULL, 0.0);
  return tb_phantom_classify (ph, world) == TB_CLASS_TISSUE ? 1.0 : 0.0;
}

TbRegion
tb_phantom_region_at (const TbPhantom *ph, const double world[3])
{
  g_return_val_if_fail (ph != NULL && world != NULL, TB_REGION_OUTSIDE);
  double shell = tb_phantom_shell_sdf (ph, world);
  if (shell > 0.0 || world[2] < ph->landmarks.shaft_distal[2])
    return TB_REGION_OUTSIDE;
  if (shell + tb_phantom_cortex_thickness (ph, world) >= 0.0)
    return TB_REGION_CORTEX;
  double w[TB_N_REGIONS];
  tb_phantom_region_weights (ph, world, w);
  return tb_phantom_region_from_weights (w);
}

/* The grid of a truth box: n = max (1, round (size / voxel)) voxels per axis, centred on `centre`. */
static TbVolume *
truth_grid (const TbPhantom *ph, const double centre[3], const double size[3], double voxel_mm, GError **error)
{
  if (!isfinite (voxel_mm) || voxel_mm <= 0.0 || voxel_mm > 100.0)
    {
      g_set_error (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_INVALID,
                   "Truth voxel size %g mm is invalid: use a positive size such as 0.05", voxel_mm);
      return NULL;
    }
  int n[3];
  for (int d = 0; d < 3; d++)
    {
      if (!isfinite (centre[d]) || !isfinite (size[d]) || size[d] <= 0.0)
        {
          g_set_error (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_INVALID,
                       "Truth box %s is invalid: give a finite centre and positive sizes (mm)",
                       !isfinite (centre[d]) ? "centre" : "size");
          return NULL;
        }
      if (centre[d] + 0.5 * size[d] < ph->bone_lo[d] || centre[d] - 0.5 * size[d] > ph->bone_hi[d])
        {
          g_set_error (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_OUTSIDE,
                       "The truth box (centre %.1f, %.1f, %.1f mm) does not meet the femur, which lies in "
                       "%.1f..%.1f, %.1f..%.1f, %.1f..%.1f mm",
                       centre[0], centre[1], centre[2], ph->bone_lo[0], ph->bone_hi[0],
                       ph->bone_lo[1], ph->bone_hi[1], ph->bone_lo[2], ph->bone_hi[2]);
          return NULL;
        }
      double nd = round (size[d] / voxel_mm);
      if (nd > 1e6)
        {
          g_set_error (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_INVALID,
                       "A truth box of %g mm at %g mm voxels is too many voxels; use coarser voxels",
                       size[d], voxel_mm);
          return NULL;
        }
      n[d] = MAX (1, (int) nd);
    }
  double sp[3] = { voxel_mm, voxel_mm, voxel_mm };
  TbVolume *v = tb_volume_new (n[0], n[1], n[2], sp, error);
  if (v == NULL)
    return NULL;
  for (int d = 0; d < 3; d++)
    v->origin[d] = centre[d] - 0.5 * (n[d] - 1) * voxel_mm;
  return v;
}

TbVolume *
tb_phantom_truth (const TbPhantom *ph, const double centre[3], const double size[3], double voxel_mm,
                  GCancellable *cancellable, TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (ph != NULL && centre != NULL && size != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autoptr(TbVolume) v = truth_grid (ph, centre, size, voxel_mm, error);
  if (v == NULL)
    return NULL;
  if (!tb_phantom_sample_grid (ph, v, ph->params.supersample, TRUE, NULL, NULL, v->data, NULL, NULL,
                               NULL, NULL, "Sampling the phantom's truth", cancellable, progress,
                               user_data, error))
    return NULL;
  return g_steal_pointer (&v);
}

const TbPhantomVoi *
tb_phantom_get_vois (const TbPhantom *ph, guint *n_vois)
{
  g_return_val_if_fail (ph != NULL, NULL);
  if (n_vois != NULL)
    *n_vois = G_N_ELEMENTS (ph->vois);
  return ph->vois;
}

const TbPhantomVoi *
tb_phantom_find_voi (const TbPhantom *ph, const char *name)
{
  g_return_val_if_fail (ph != NULL && name != NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (ph->vois); i++)
    if (g_ascii_strcasecmp (ph->vois[i].name, name) == 0)
      return &ph->vois[i];
  return NULL;
}

void
tb_phantom_get_landmarks (const TbPhantom *ph, TbFemurLandmarks *landmarks)
{
  g_return_if_fail (ph != NULL && landmarks != NULL);
  *landmarks = ph->landmarks;
}
