/* tb-stage-jobs.c — what each step needs, and the demo femur. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"

gboolean
tb_stage_can_run (TbDocument *doc, TbPipelineStep step, char **message)
{
  const char *need = NULL;
  guint sel = tb_document_get_selected_voi (doc);
  if (tb_document_get_image (doc) == NULL)
    need = _("Needs an image: open one or the demo femur");
  else
    switch (step)
      {
      case TB_STEP_CALIBRATE:
        break;
      case TB_STEP_SEGMENT:
        if (!tb_document_is_calibrated (doc))
          need = _("Needs the calibration (step 1) first");
        break;
      case TB_STEP_FE:
        if (tb_document_get_density (doc) == NULL)
          need = _("Needs the segmentation (step 2) first");
        else if (tb_document_get_n_load_cases (doc) == 0)
          need = _("Needs load cases: add the hip presets in the sidebar");
        break;
      case TB_STEP_TO:
        if (!tb_document_get_fe_done (doc))
          need = _("Needs the whole-bone FE (step 3) first");
        else if (sel == 0)
          need = _("Select a VOI first (draw one, or pick a preset)");
        break;
      case TB_STEP_NN:
        if (tb_document_get_density (doc) == NULL)
          need = _("Needs the segmentation (step 2) first");
        else if (sel == 0)
          need = _("Select a VOI first (draw one, or pick a preset)");
        break;
      case TB_STEP_MEASURE:
        if (sel == 0)
          need = _("Select a VOI first");
        else if (tb_document_get_result (doc, sel, TB_METHOD_TO) == NULL
                 && tb_document_get_result (doc, sel, TB_METHOD_NN) == NULL
                 && tb_document_get_density (doc) == NULL)
          need = _("Needs an enhanced VOI or the segmentation first");
        break;
      default:
        break;
      }
  if (message != NULL)
    *message = g_strdup (need);
  return need == NULL;
}
