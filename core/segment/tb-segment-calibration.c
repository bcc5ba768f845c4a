/* tb-segment-calibration.c — HU -> BMD (linear, given or fitted to rods) and BMD -> relative density. */
#include "tb-segment.h"
#include "tb-segment-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
tb_calibration_init_given (TbCalibration *cal, double a, double b)
{
  g_return_if_fail (cal != NULL);
  memset (cal, 0, sizeof *cal);
  cal->a = a;
  cal->b = b;
}

gboolean
tb_calibration_fit (TbCalibration *cal, const TbVolume *hu, const TbCalibrationRod *rods, guint n_rods,
                    GError **error)
{
  g_return_val_if_fail (cal != NULL && rods != NULL, FALSE);
  if (n_rods < 2 || n_rods > G_N_ELEMENTS (cal->rods))
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_FIT,
                   "A calibration needs 2 to %u rods, %u given: add rods of known density",
                   (guint) G_N_ELEMENTS (cal->rods), n_rods);
      return FALSE;
    }
  TbCalibration out = { 0 };
  out.fitted = TRUE;
  out.n_rods = n_rods;
  for (guint r = 0; r < n_rods; r++)
    {
      TbCalibrationRod rod = rods[r];
      if (rod.box.nx > 0)
        {
          if (hu == NULL)
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                           "Rod %u has an ROI box but no image was given", r + 1);
              return FALSE;
            }
          g_autoptr(GError) local = NULL;
          if (!tb_box_check (&rod.box, hu->nx, hu->ny, hu->nz, &local))
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                           "Calibration rod %u: %s", r + 1, local->message);
              return FALSE;
            }
          double sum = 0;
          gsize count = 0;
          for (int k = rod.box.z0; k < rod.box.z0 + rod.box.nz; k++)
            for (int j = rod.box.y0; j < rod.box.y0 + rod.box.ny; j++)
              for (int i = rod.box.x0; i < rod.box.x0 + rod.box.nx; i++)
                {
                  float x = tb_volume_get (hu, i, j, k);
                  if (isfinite (x))
                    {
                      sum += x;
                      count++;
                    }
                }
          if (count == 0)
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_NONFINITE,
                           "Calibration rod %u: its ROI holds no finite voxel", r + 1);
              return FALSE;
            }
          rod.mean_hu = sum / count;
        }
      if (!isfinite (rod.mean_hu) || !isfinite (rod.bmd))
        {
          g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                       "Calibration rod %u: mean HU or density is not a number", r + 1);
          return FALSE;
        }
      out.rods[r] = rod;
    }
  /* ordinary least squares of bmd on mean_hu */
  double mx = 0, my = 0;
  for (guint r = 0; r < n_rods; r++)
    {
      mx += out.rods[r].mean_hu;
      my += out.rods[r].bmd;
    }
  mx /= n_rods;
  my /= n_rods;
  double sxx = 0, sxy = 0;
  for (guint r = 0; r < n_rods; r++)
    {
      sxx += (out.rods[r].mean_hu - mx) * (out.rods[r].mean_hu - mx);
      sxy += (out.rods[r].mean_hu - mx) * (out.rods[r].bmd - my);
    }
  if (sxx <= 1e-12 * MAX (1.0, mx * mx))
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_FIT,
                   "The calibration rods all read %.1f HU: no line fits; use rods of different density", mx);
      return FALSE;
    }
  out.b = sxy / sxx;
  out.a = my - out.b * mx;
  double ss = 0;
  for (guint r = 0; r < n_rods; r++)
    {
      out.rods[r].residual = out.a + out.b * out.rods[r].mean_hu - out.rods[r].bmd;
      ss += out.rods[r].residual * out.rods[r].residual;
      out.max_residual = MAX (out.max_residual, fabs (out.rods[r].residual));
    }
  out.rms_residual = sqrt (ss / n_rods);
  *cal = out;
  return TRUE;
}

gboolean
tb_calibration_fit_file (TbCalibration *cal, const TbVolume *hu, const char *rods_json, GError **error)
{
  g_return_val_if_fail (cal != NULL && rods_json != NULL, FALSE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_file (parser, rods_json, &local))
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID, "%s: %s", rods_json, local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonArray *arr = NULL;
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root)
      && json_object_has_member (json_node_get_object (root), "rods"))
    {
      JsonNode *n = json_object_get_member (json_node_get_object (root), "rods");
      if (JSON_NODE_HOLDS_ARRAY (n))
        arr = json_node_get_array (n);
    }
  if (arr == NULL)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "%s: expected {\"rods\": [{\"box\": [x0,y0,z0,nx,ny,nz], \"bmd\": ...}, ...]}", rods_json);
      return FALSE;
    }
  guint n = json_array_get_length (arr);
  TbCalibrationRod rods[G_N_ELEMENTS (cal->rods)] = { 0 };
  if (n > G_N_ELEMENTS (rods))
    n = G_N_ELEMENTS (rods) + 1;  /* let the fit refuse it by count */
  for (guint r = 0; r < MIN (n, G_N_ELEMENTS (rods)); r++)
    {
      JsonNode *node = json_array_get_element (arr, r);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      if (o == NULL || !json_object_has_member (o, "bmd")
          || (!json_object_has_member (o, "box") && !json_object_has_member (o, "hu")))
        {
          g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                       "%s: rod %u needs \"bmd\" and either \"box\" [x0,y0,z0,nx,ny,nz] or \"hu\"", rods_json, r + 1);
          return FALSE;
        }
      rods[r].bmd = json_object_get_double_member (o, "bmd");
      if (json_object_has_member (o, "box"))
        {
          JsonArray *b = json_object_get_array_member (o, "box");
          if (b == NULL || json_array_get_length (b) != 6)
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                           "%s: rod %u: \"box\" must be [x0,y0,z0,nx,ny,nz]", rods_json, r + 1);
              return FALSE;
            }
          int *f[6] = { &rods[r].box.x0, &rods[r].box.y0, &rods[r].box.z0,
                        &rods[r].box.nx, &rods[r].box.ny, &rods[r].box.nz };
          for (guint i = 0; i < 6; i++)
            *f[i] = (int) json_array_get_int_element (b, i);
          if (rods[r].box.nx <= 0)
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                           "%s: rod %u: the box is empty", rods_json, r + 1);
              return FALSE;
            }
        }
      else
        rods[r].mean_hu = json_object_get_double_member (o, "hu");
    }
  return tb_calibration_fit (cal, hu, rods, n, error);
}

TbVolume *
tb_calibration_apply (const TbCalibration *cal, const TbVolume *hu, GError **error)
{
  g_return_val_if_fail (cal != NULL && hu != NULL, NULL);
  TbVolume *bmd = tb_volume_new_like (hu, error);
  if (bmd == NULL)
    return NULL;
  gsize n = tb_volume_n_voxels (hu);
  const double a = cal->a, b = cal->b;
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    bmd->data[i] = (float) (a + b * hu->data[i]);
  return bmd;
}

JsonNode *
tb_calibration_to_json (const TbCalibration *cal)
{
  g_return_val_if_fail (cal != NULL, NULL);
  g_autoptr(JsonBuilder) jb = json_builder_new ();
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "model");
  json_builder_add_string_value (jb, "BMD = a + b * HU");
  json_builder_set_member_name (jb, "units");
  json_builder_add_string_value (jb, "BMD in mg HA/cm^3; a in mg HA/cm^3, b in mg HA/cm^3 per HU");
  json_builder_set_member_name (jb, "a");
  json_builder_add_double_value (jb, cal->a);
  json_builder_set_member_name (jb, "b");
  json_builder_add_double_value (jb, cal->b);
  json_builder_set_member_name (jb, "source");
  json_builder_add_string_value (jb, cal->fitted ? "least-squares fit to calibration rods" : "given");
  if (cal->fitted)
    {
      json_builder_set_member_name (jb, "rms_residual");
      json_builder_add_double_value (jb, cal->rms_residual);
      json_builder_set_member_name (jb, "max_residual");
      json_builder_add_double_value (jb, cal->max_residual);
      json_builder_set_member_name (jb, "rods");
      json_builder_begin_array (jb);
      for (guint r = 0; r < cal->n_rods; r++)
        {
          const TbCalibrationRod *rod = &cal->rods[r];
          json_builder_begin_object (jb);
          if (rod->box.nx > 0)
            {
              json_builder_set_member_name (jb, "box");
              json_builder_begin_array (jb);
              int v[6] = { rod->box.x0, rod->box.y0, rod->box.z0, rod->box.nx, rod->box.ny, rod->box.nz };
              for (guint i = 0; i < 6; i++)
                json_builder_add_int_value (jb, v[i]);
              json_builder_end_array (jb);
            }
          json_builder_set_member_name (jb, "mean_hu");
          json_builder_add_double_value (jb, rod->mean_hu);
          json_builder_set_member_name (jb, "bmd");
          json_builder_add_double_value (jb, rod->bmd);
          json_builder_set_member_name (jb, "residual");
          json_builder_add_double_value (jb, rod->residual);
          json_builder_end_object (jb);
        }
      json_builder_end_array (jb);
    }
  json_builder_end_object (jb);
  return json_builder_get_root (jb);
}

static int
compare_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

TbVolume *
tb_density_from_bmd (const TbVolume *bmd, const TbMask *mask, double *bmd_min, double *bmd_max, GError **error)
{
  g_return_val_if_fail (bmd != NULL && mask != NULL && bmd_min != NULL && bmd_max != NULL, NULL);
  if (!tb_segment_same_grid_mask (bmd, mask, "bone mask", error))
    return NULL;
  if (!tb_volume_check_finite (bmd, "BMD volume", error))
    return NULL;
  gsize n = tb_volume_n_voxels (bmd), count = tb_mask_count (mask);
  if (count == 0)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                   "The bone mask is empty: segment the bone first (no density map without bone)");
      return NULL;
    }
  double lo = *bmd_min, hi = *bmd_max;
  if (isnan (lo) || isnan (hi))
    {
      g_autofree float *vals = g_try_new (float, count);
      if (vals == NULL)
        {
          g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID, "Out of memory sorting %zu BMD values", count);
          return NULL;
        }
      gsize m = 0;
      for (gsize i = 0; i < n; i++)
        if (mask->data[i])
          vals[m++] = bmd->data[i];
      qsort (vals, m, sizeof (float), compare_float);
      /* nearest-rank percentiles: 1st and 99th */
      if (isnan (lo))
        lo = vals[(gsize) floor (0.01 * (m - 1) + 0.5)];
      if (isnan (hi))
        hi = vals[(gsize) floor (0.99 * (m - 1) + 0.5)];
    }
  if (!(hi > lo))
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "BMDmax (%.1f) must exceed BMDmin (%.1f): set them apart, or check the calibration", hi, lo);
      return NULL;
    }
  TbVolume *rho = tb_volume_new_like (bmd, error);
  if (rho == NULL)
    return NULL;
  const double scale = 0.99 / (hi - lo);
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      /* DESIGN.md: rho = 0.01 + 0.99 (BMD - BMDmin)/(BMDmax - BMDmin), clamped to [0.01, 1] */
      double r = mask->data[i] ? 0.01 + (bmd->data[i] - lo) * scale : 0.01;
      rho->data[i] = (float) CLAMP (r, 0.01, 1.0);
    }
  *bmd_min = lo;
  *bmd_max = hi;
  return rho;
}
