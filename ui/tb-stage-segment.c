/* tb-stage-segment.c — Calibrate (HU -> BMD) and Segment (bone mask, relative density) as jobs. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "segment/tb-segment.h"

typedef struct {
  TbDocument *doc;
  TbPipelinePanel *panel;
  TbVolume *hu;
  double a, b, sigma;
  TbVolumeStats bmd_stats;
  TbMask *mask;
  TbVolume *rho;
  double bmd_min, bmd_max;
  guint n_objects;
} SegmentJob;

static void
segment_job_free (SegmentJob *s)
{
  g_clear_object (&s->doc);
  g_clear_pointer (&s->hu, tb_volume_unref);
  g_clear_pointer (&s->mask, tb_mask_unref);
  g_clear_pointer (&s->rho, tb_volume_unref);
  g_free (s);
}

static SegmentJob *
segment_job_new (TbDocument *doc)
{
  SegmentJob *s = g_new0 (SegmentJob, 1);
  s->doc = g_object_ref (doc);
  s->hu = tb_volume_ref (tb_document_get_image (doc));
  s->a = tb_document_get_setting (doc, "cal-a", 0);
  s->b = tb_document_get_setting (doc, "cal-b", 1);
  s->sigma = tb_document_get_setting (doc, "seg-sigma", 1);
  return s;
}

/* Calibrate */

static gboolean
calibrate_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  SegmentJob *s = data;
  TbCalibration cal;
  tb_calibration_init_given (&cal, s->a, s->b);
  tb_job_progress (job, 0.1, _("Converting HU to BMD"));
  g_autoptr(TbVolume) bmd = tb_calibration_apply (&cal, s->hu, error);
  if (bmd == NULL)
    return FALSE;
  tb_volume_stats (bmd, &s->bmd_stats);
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static void
calibrate_done (TbJob *job, gpointer data, const GError *error)
{
  SegmentJob *s = data;
  if (error != NULL)
    return;
  tb_document_set_calibration (s->doc, s->a, s->b);
  g_autofree char *note = g_strdup_printf (_("BMD = %.4g + %.4g·HU; image BMD %.0f to %.0f mg HA/cm³"),
                                           s->a, s->b, s->bmd_stats.min, s->bmd_stats.max);
  tb_document_set_note (s->doc, TB_STEP_CALIBRATE, note);
}

TbJob *
tb_stage_job_calibrate (TbDocument *doc, GError **error)
{
  g_autofree char *need = NULL;
  if (!tb_stage_can_run (doc, TB_STEP_CALIBRATE, &need))
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, need);
      return NULL;
    }
  if (tb_document_get_setting (doc, "cal-b", 1) <= 0)
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                           _("The calibration slope b must be positive: BMD grows with HU"));
      return NULL;
    }
  return tb_job_new (_("Calibrating"), calibrate_work, NULL, calibrate_done, segment_job_new (doc),
                     (GDestroyNotify) segment_job_free);
}

/* Segment */

static gboolean
segment_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  SegmentJob *s = data;
  TbSegmentParams params;
  tb_segment_params_init (&params);
  params.gradient_sigma = s->sigma;
  g_autoptr(TbSegmentResult) r = tb_segment_run (s->hu, &params, cancellable, tb_job_progress_func, job, error);
  if (r == NULL)
    return FALSE;
  /* The femur is the largest object (labels go by decreasing volume). */
  TbKeep keep = { .mode = TB_KEEP_LARGEST, .n = 1 };
  s->mask = tb_segment_keep (r->labels, &keep, error);
  if (s->mask == NULL)
    return FALSE;
  s->n_objects = r->n_objects;
  tb_job_progress (job, 0.95, _("Relative density"));
  TbCalibration cal;
  tb_calibration_init_given (&cal, s->a, s->b);
  g_autoptr(TbVolume) bmd = tb_calibration_apply (&cal, s->hu, error);
  if (bmd == NULL)
    return FALSE;
  s->bmd_min = NAN;
  s->bmd_max = NAN;
  s->rho = tb_density_from_bmd (bmd, s->mask, &s->bmd_min, &s->bmd_max, error);
  return s->rho != NULL && !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static void
segment_done (TbJob *job, gpointer data, const GError *error)
{
  SegmentJob *s = data;
  if (error != NULL)
    return;
  tb_document_set_setting (s->doc, "bmd-min", s->bmd_min);
  tb_document_set_setting (s->doc, "bmd-max", s->bmd_max);
  tb_document_set_mask (s->doc, s->mask);
  tb_document_set_density (s->doc, s->rho);
  double mm3 = tb_mask_count (s->mask) * s->hu->spacing[0] * s->hu->spacing[1] * s->hu->spacing[2];
  g_autofree char *note = g_strdup_printf (_("Bone %.1f cm³ (largest of %u objects); BMD %.0f–%.0f mg HA/cm³ → ρ 0.01–1"),
                                           mm3 / 1000, s->n_objects, s->bmd_min, s->bmd_max);
  tb_document_set_note (s->doc, TB_STEP_SEGMENT, note);
}

TbJob *
tb_stage_job_segment (TbDocument *doc, GError **error)
{
  g_autofree char *need = NULL;
  if (!tb_stage_can_run (doc, TB_STEP_SEGMENT, &need))
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, need);
      return NULL;
    }
  return tb_job_new (_("Segmenting the bone"), segment_work, NULL, segment_done, segment_job_new (doc),
                     (GDestroyNotify) segment_job_free);
}
