/* tb-stage-built.c — which core stages this build has. A stage whose folder has no public header
 * (a partial checkout, or a stage not merged yet) is left out of the build; its steps then say so
 * instead of running. With every stage present, this file only answers tb_stage_is_built. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"

G_GNUC_UNUSED static gboolean
missing (const char *stage, char **message)
{
  if (message != NULL)
    {
      g_free (*message);
      *message = g_strdup_printf (_("This build has no %s stage"), stage);
    }
  return FALSE;
}

gboolean
tb_stage_is_built (TbPipelineStep step, char **message)
{
  switch (step)
    {
#ifndef TB_HAVE_SEGMENT
    case TB_STEP_CALIBRATE:
    case TB_STEP_SEGMENT: return missing ("segment", message);
#endif
#ifndef TB_HAVE_FE
    case TB_STEP_FE: return missing ("fe", message);
#endif
#ifndef TB_HAVE_TOPOPT
    case TB_STEP_TO: return missing ("topopt", message);
#endif
#ifndef TB_HAVE_NN
    case TB_STEP_NN: return missing ("nn", message);
#endif
#ifndef TB_HAVE_MORPHO
    case TB_STEP_MEASURE: return missing ("morpho", message);
#endif
    default: return TRUE;
    }
}

G_GNUC_UNUSED static void
set_missing (GError **error, const char *stage)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("This build has no %s stage"), stage);
}

#ifndef TB_HAVE_PHANTOM
TbJob *tb_stage_job_open_demo (TbDocument *doc, double spacing, GError **error) { set_missing (error, "phantom"); return NULL; }
guint tb_stage_add_voi_preset (TbDocument *doc, const char *name, GError **error) { set_missing (error, "phantom"); return 0; }
#endif
#ifndef TB_HAVE_IO
gboolean tb_stage_save_volume (const TbVolume *v, const char *path, GError **error) { set_missing (error, "io"); return FALSE; }
TbVolume *tb_stage_load_volume (const char *path, GError **error) { set_missing (error, "io"); return NULL; }
TbJob *tb_stage_job_open_file (TbDocument *doc, const char *path, GError **error) { set_missing (error, "io"); return NULL; }
#endif
#ifndef TB_HAVE_SEGMENT
TbJob *tb_stage_job_calibrate (TbDocument *doc, GError **error) { set_missing (error, "segment"); return NULL; }
TbJob *tb_stage_job_segment (TbDocument *doc, GError **error) { set_missing (error, "segment"); return NULL; }
#endif
#ifndef TB_HAVE_FE
TbJob *tb_stage_job_fe (TbDocument *doc, GError **error) { set_missing (error, "fe"); return NULL; }
gboolean tb_stage_add_hip_presets (TbDocument *doc, GError **error) { set_missing (error, "fe"); return FALSE; }
#endif
#ifndef TB_HAVE_TOPOPT
TbJob *tb_stage_job_topopt (TbDocument *doc, guint voi_id, gpointer charts[3], GError **error) { set_missing (error, "topopt"); return NULL; }
#endif
#ifndef TB_HAVE_NN
TbJob *tb_stage_job_nn (TbDocument *doc, guint voi_id, GError **error) { set_missing (error, "nn"); return NULL; }
char *tb_stage_nn_model_path (TbDocument *doc) { return NULL; }
#endif
#ifndef TB_HAVE_MORPHO
TbJob *tb_stage_job_measure (TbDocument *doc, guint voi_id, GError **error) { set_missing (error, "morpho"); return NULL; }
#endif
