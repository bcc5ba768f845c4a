/* tb-stage-jobs.h — the core stages as jobs on a document: each function checks what the step
 * needs (and says so in error instead of failing later), copies its inputs, and returns a job whose
 * worker calls the stage and whose completion hands the result to the document. A job that fails
 * or is cancelled changes nothing. */
#pragma once

#include "tb-document.h"
#include "tb-job-runner.h"
#include "tb-pipeline-panel.h"

G_BEGIN_DECLS

/* Whether a step can run now; when not, message says what it needs first (translated). */
gboolean  tb_stage_can_run        (TbDocument *doc, TbPipelineStep step, char **message);

/* The demo femur: the phantom's simulated QCT at the given clinical spacing (mm), its truth kept. */
TbJob    *tb_stage_job_open_demo  (TbDocument *doc, double spacing, GError **error);

/* The phantom's four VOI presets (demo femur only): adds the named one; 0 and error otherwise. */
guint     tb_stage_add_voi_preset (TbDocument *doc, const char *name, GError **error);

/* Whether the stage behind a step is part of this build (message: which one is missing). */
gboolean  tb_stage_is_built       (TbPipelineStep step, char **message);

/* Volumes to and from files (the io stage): TIFF out, any supported format in. */
gboolean  tb_stage_save_volume    (const TbVolume *v, const char *path, GError **error);
TbVolume *tb_stage_load_volume    (const char *path, GError **error);
/* Opens a CT (TIFF file or folder, NIfTI, MetaImage) in a job; NULL with error when it cannot start. */
TbJob    *tb_stage_job_open_file  (TbDocument *doc, const char *path, GError **error);

/* The steps. Each returns NULL with error when the step cannot run now (what it needs first). */
TbJob    *tb_stage_job_calibrate  (TbDocument *doc, GError **error);
TbJob    *tb_stage_job_segment    (TbDocument *doc, GError **error);
TbJob    *tb_stage_job_fe         (TbDocument *doc, GError **error);
/* charts: objective, constraints, design change (TbChart *), grown after each iteration. */
TbJob    *tb_stage_job_topopt     (TbDocument *doc, guint voi_id, gpointer charts[3], GError **error);
TbJob    *tb_stage_job_nn         (TbDocument *doc, guint voi_id, GError **error);
/* The network file the NN step will use (chosen, $TB_NN_MODEL, or the shipped model as
 * tb_nn_find_shipped_model finds it), or NULL. */
char     *tb_stage_nn_model_path  (TbDocument *doc);
TbJob    *tb_stage_job_measure    (TbDocument *doc, guint voi_id, GError **error);

/* The three hip load cases (stance, abduction, adduction) placed from the demo femur's landmarks. */
gboolean  tb_stage_add_hip_presets (TbDocument *doc, GError **error);

G_END_DECLS
