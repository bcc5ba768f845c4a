/* tb-stage-nn.c — Enhance a VOI with a trained generator (the nn stage): patchwise inference on the
 * clinical HU, stitched along minimum-error seams. The network is a file the user chooses (the
 * document's "nn-model"); $TB_NN_MODEL or the shipped model (tb_nn_find_shipped_model) are used when
 * none is chosen. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "nn/tb-nn.h"

typedef struct {
  TbDocument *doc;
  guint voi_id;
  char *model_path;
  TbVolume *hu;
  TbBox box;
  TbVolume *result;
  int scale;
} NnJob;

static void
nn_job_free (NnJob *n)
{
  g_clear_object (&n->doc);
  g_free (n->model_path);
  g_clear_pointer (&n->hu, tb_volume_unref);
  g_clear_pointer (&n->result, tb_volume_unref);
  g_free (n);
}

char *
tb_stage_nn_model_path (TbDocument *doc)
{
  const char *chosen = tb_document_get_text (doc, "nn-model");
  if (chosen != NULL)
    return g_strdup (chosen);
  if (g_getenv ("TB_NN_MODEL") != NULL)
    return g_strdup (g_getenv ("TB_NN_MODEL"));
  /* the shipped model, found as the CLI finds it: $TRABECULA_MODELS_DIR, installed, source tree */
  return tb_nn_find_shipped_model (TB_NN_SHIPPED_MODEL, TB_DATADIR "/trabecula/models", TB_SOURCE_MODELS_DIR);
}

static gboolean
nn_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  NnJob *n = data;
  tb_job_progress (job, 0, _("Loading the network"));
  g_autoptr(TbNnNet) net = tb_nn_net_load (n->model_path, error);
  if (net == NULL)
    return FALSE;
  n->scale = (int) tb_nn_net_get_meta_double (net, "scale", 1);
  TbNnEnhanceParams params;
  tb_nn_enhance_params_init (&params);
  params.stitch = TB_NN_STITCH_QUILT;   /* paper 001: minimum-error seams */
  n->result = tb_nn_enhance (net, n->hu, &n->box, &params, cancellable, tb_job_progress_func, job, error);
  return n->result != NULL;
}

static void
nn_done (TbJob *job, gpointer data, const GError *error)
{
  NnJob *n = data;
  if (error != NULL || tb_document_find_voi (n->doc, n->voi_id) == NULL)
    return;
  tb_document_set_result (n->doc, n->voi_id, TB_METHOD_NN, n->result);
  g_autofree char *base = g_path_get_basename (n->model_path);
  g_autofree char *note = g_strdup_printf (_("%s: ×%d, %.0f µm voxels, seams by minimum error"), base, n->scale,
                                           n->result->spacing[0] * 1000);
  tb_document_set_note (n->doc, TB_STEP_NN, note);
}

TbJob *
tb_stage_job_nn (TbDocument *doc, guint voi_id, GError **error)
{
  g_autofree char *need = NULL;
  if (!tb_stage_can_run (doc, TB_STEP_NN, &need))
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, need);
      return NULL;
    }
  g_autofree char *model = tb_stage_nn_model_path (doc);
  if (model == NULL || !g_file_test (model, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                   _("No trained network%s%s: train one with “trabecula-cli train”, then choose it in step 4b"),
                   model != NULL ? " at " : "", model != NULL ? model : "");
      return NULL;
    }
  const TbDocVoi *voi = tb_document_find_voi (doc, voi_id);
  NnJob *n = g_new0 (NnJob, 1);
  n->doc = g_object_ref (doc);
  n->voi_id = voi_id;
  n->model_path = g_steal_pointer (&model);
  n->hu = tb_volume_ref (tb_document_get_image (doc));
  if (!tb_box_from_world (n->hu, voi->centre, voi->size, &n->box, error))
    {
      nn_job_free (n);
      return NULL;
    }
  g_autofree char *title = g_strdup_printf (_("Enhancing %s (NN)"), voi->name);
  return tb_job_new (title, nn_work, NULL, nn_done, n, (GDestroyNotify) nn_job_free);
}
