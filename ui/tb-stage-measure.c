/* tb-stage-measure.c — Measure a VOI: morphometry (morpho stage) of every version of it (clinical,
 * TO, NN, truth), apparent stiffness by FE homogenization, and SSIM/PSNR against the truth. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "morpho/tb-morpho.h"
#include "metrics/tb-metrics.h"

typedef struct {
  TbMethod method;
  TbVolume *volume;
  double values[10];   /* the columns of tb_measure_columns, NaN when not measured */
} Row;

typedef struct {
  TbDocument *doc;
  guint voi_id;
  double threshold;
  GArray *rows;        /* Row */
} MeasureJob;

static const char *quantities[10] = { "bv_tv", "tb_th", "tb_sp", "tb_n", "smi", "conn_d", "da", "stiffness",
                                      "ssim", "psnr" };

static void
measure_job_free (MeasureJob *m)
{
  g_clear_object (&m->doc);
  for (guint i = 0; i < m->rows->len; i++)
    tb_volume_unref (g_array_index (m->rows, Row, i).volume);
  g_array_unref (m->rows);
  g_free (m);
}

static gboolean
measure_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  MeasureJob *m = data;
  TbVolume *truth = NULL;
  for (guint i = 0; i < m->rows->len; i++)
    if (g_array_index (m->rows, Row, i).method == TB_METHOD_TRUTH)
      truth = g_array_index (m->rows, Row, i).volume;
  for (guint i = 0; i < m->rows->len; i++)
    {
      Row *r = &g_array_index (m->rows, Row, i);
      for (int q = 0; q < 10; q++)
        r->values[q] = NAN;
      g_autofree char *msg = g_strdup_printf (_("Measuring: %s"), tb_method_get_label (r->method));
      tb_job_progress (job, (double) i / m->rows->len, msg);
      g_autoptr(TbMask) bone = tb_metrics_mask_from_volume (r->volume, m->threshold, error);
      g_autoptr(TbMask) tv = tb_mask_new_like_volume (r->volume, error);
      if (bone == NULL || tv == NULL)
        return FALSE;
      memset (tv->data, 1, tb_mask_n_voxels (tv));
      g_auto(TbMorphoResult) res = { 0 };
      if (tb_morpho_measure (bone, tv, 0, &res, cancellable, NULL, NULL, error))
        {
          double v[7] = { res.bv_tv, res.tb_th, res.tb_sp, res.tb_n, res.smi, res.conn_d, res.da };
          memcpy (r->values, v, sizeof v);
        }
      else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return FALSE;
      else
        g_clear_error (error);   /* e.g. no bone at clinical resolution: that row stays empty */
      TbStiffnessSettings ss;
      tb_stiffness_settings_init (&ss);
      TbStiffnessResult st;
      if (tb_morpho_stiffness (r->volume, &ss, &st, cancellable, NULL, NULL, error))
        r->values[7] = st.e[2];   /* along z, the femur's proximal-distal axis */
      else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return FALSE;
      else
        g_clear_error (error);
      if (truth != NULL && r->volume != truth && tb_volume_same_grid (truth, r->volume))
        {
          /* densities in [0, 1]: data range 1 (Wang 2004's explicit range) */
          r->values[8] = tb_metrics_ssim (truth, r->volume, 1.0, TB_METRICS_SSIM_3D, NULL, NULL, NULL);
          r->values[9] = tb_metrics_psnr (truth, r->volume, 1.0, NULL, NULL);
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
    }
  return TRUE;
}

static void
measure_done (TbJob *job, gpointer data, const GError *error)
{
  MeasureJob *m = data;
  if (error != NULL || tb_document_find_voi (m->doc, m->voi_id) == NULL)
    return;
  for (guint i = 0; i < m->rows->len; i++)
    {
      Row *r = &g_array_index (m->rows, Row, i);
      for (int q = 0; q < 10; q++)
        tb_document_set_measure (m->doc, m->voi_id, r->method, quantities[q], r->values[q]);
    }
  g_autofree char *note = g_strdup_printf (ngettext ("%u version of the VOI measured", "%u versions of the VOI measured",
                                                     m->rows->len), m->rows->len);
  tb_document_set_note (m->doc, TB_STEP_MEASURE, note);
}

TbJob *
tb_stage_job_measure (TbDocument *doc, guint voi_id, GError **error)
{
  g_autofree char *need = NULL;
  if (!tb_stage_can_run (doc, TB_STEP_MEASURE, &need))
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, need);
      return NULL;
    }
  const TbDocVoi *voi = tb_document_find_voi (doc, voi_id);
  MeasureJob *m = g_new0 (MeasureJob, 1);
  m->doc = g_object_ref (doc);
  m->voi_id = voi_id;
  m->threshold = tb_document_get_setting (doc, "measure-threshold", 0.5);
  m->rows = g_array_new (FALSE, TRUE, sizeof (Row));
  TbVolume *rho = tb_document_get_density (doc);
  if (rho != NULL)
    {
      /* the clinical row: the relative density of the VOI's clinical voxels */
      TbBox box;
      if (!tb_box_from_world (rho, voi->centre, voi->size, &box, error))
        {
          measure_job_free (m);
          return NULL;
        }
      Row r = { TB_METHOD_CLINICAL, tb_volume_crop (rho, &box, error) };
      if (r.volume == NULL)
        {
          measure_job_free (m);
          return NULL;
        }
      g_array_append_val (m->rows, r);
    }
  for (TbMethod method = TB_METHOD_TO; method < TB_N_METHODS; method++)
    {
      TbVolume *v = tb_document_get_result (doc, voi_id, method);
      if (v == NULL)
        continue;
      Row r = { method, tb_volume_ref (v) };
      g_array_append_val (m->rows, r);
    }
  g_autofree char *title = g_strdup_printf (_("Measuring %s"), voi->name);
  return tb_job_new (title, measure_work, NULL, measure_done, m, (GDestroyNotify) measure_job_free);
}
