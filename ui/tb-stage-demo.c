/* tb-stage-demo.c — the demo femur (the phantom stage) and its VOI presets. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "phantom/tb-phantom.h"

/* Demo femur */

typedef struct {
  TbDocument *doc;
  double spacing;
  TbPhantom *phantom;
  TbPhantomQct *qct;
  char *checksum;
} DemoJob;

static void
demo_job_free (DemoJob *d)
{
  g_clear_object (&d->doc);
  g_clear_pointer (&d->phantom, tb_phantom_free);
  g_clear_pointer (&d->qct, tb_phantom_qct_free);
  g_free (d->checksum);
  g_free (d);
}

static gboolean
demo_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  DemoJob *d = data;
  TbPhantomParams params;
  tb_phantom_params_init (&params);
  params.clinical_spacing = d->spacing;
  tb_job_progress (job, 0, _("Building the phantom femur"));
  d->phantom = tb_phantom_new (&params, error);
  if (d->phantom == NULL)
    return FALSE;
  d->qct = tb_phantom_simulate_qct (d->phantom, cancellable, tb_job_progress_func, job, error);
  if (d->qct == NULL)
    return FALSE;
  d->checksum = tb_checksum_volume (d->qct->hu);
  return TRUE;
}

static void
demo_done (TbJob *job, gpointer data, const GError *error)
{
  DemoJob *d = data;
  if (error != NULL)
    return;
  const TbPhantomParams *p = tb_phantom_get_params (d->phantom);
  tb_document_set_image (d->doc, d->qct->hu, NULL, d->checksum);
  tb_document_set_demo (d->doc, g_steal_pointer (&d->phantom), (GDestroyNotify) tb_phantom_free, d->spacing);
  tb_document_set_truth_mask (d->doc, d->qct->bone_mask);
  /* The scanner's calibration is known for the demo: offer it as the Calibrate step's default
   * (BMD = a + b HU inverts HU = hu_a + hu_b BMD). */
  tb_document_set_setting (d->doc, "cal-a", -d->qct->hu_a / d->qct->hu_b);
  tb_document_set_setting (d->doc, "cal-b", 1.0 / d->qct->hu_b);
  tb_document_set_setting (d->doc, "bmd-min", p->marrow_bmd);
  tb_document_set_setting (d->doc, "bmd-max", p->tissue_bmd);
}

TbJob *
tb_stage_job_open_demo (TbDocument *doc, double spacing, GError **error)
{
  g_return_val_if_fail (spacing > 0, NULL);
  DemoJob *d = g_new0 (DemoJob, 1);
  d->doc = g_object_ref (doc);
  d->spacing = spacing;
  return tb_job_new (_("Simulating the demo femur's QCT"), demo_work, NULL, demo_done, d, (GDestroyNotify) demo_job_free);
}

guint
tb_stage_add_voi_preset (TbDocument *doc, const char *name, GError **error)
{
  TbPhantom *phantom = tb_document_get_phantom (doc);
  if (phantom == NULL)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE,
                   _("The VOI presets belong to the demo femur: open it first, or draw a VOI"));
      return 0;
    }
  const TbPhantomVoi *voi = tb_phantom_find_voi (phantom, name);
  if (voi == NULL)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID, _("No VOI preset called “%s”"), name);
      return 0;
    }
  guint id = tb_document_add_voi (doc, voi->label, voi->centre, voi->size);
  tb_document_set_cursor (doc, voi->centre);
  return id;
}
