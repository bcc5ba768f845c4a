/* tb-pipeline-panel.h — the pipeline: Calibrate -> Segment -> Whole-bone FE -> per VOI Enhance
 * (TO / NN) -> Measure. Each step shows its settings (stored in the document, so a session keeps
 * them), a Run button (a window action), and a line that says what it needs or what it found.
 * On top, the job runner's progress, ETA, Pause and Cancel. */
#pragma once

#include <gtk/gtk.h>
#include "tb-document.h"
#include "tb-job-runner.h"

G_BEGIN_DECLS

typedef enum {
  TB_STEP_CALIBRATE, TB_STEP_SEGMENT, TB_STEP_FE, TB_STEP_TO, TB_STEP_NN, TB_STEP_MEASURE, TB_N_STEPS
} TbPipelineStep;

#define TB_TYPE_PIPELINE_PANEL (tb_pipeline_panel_get_type ())
G_DECLARE_FINAL_TYPE (TbPipelinePanel, tb_pipeline_panel, TB, PIPELINE_PANEL, GtkWidget)

void tb_pipeline_panel_set_document (TbPipelinePanel *panel, TbDocument *doc);
void tb_pipeline_panel_set_runner   (TbPipelinePanel *panel, TbJobRunner *runner);
/* The line under a step's title: what it needs, or its result summary. */
void tb_pipeline_panel_set_status   (TbPipelinePanel *panel, TbPipelineStep step, const char *text);
const char *tb_pipeline_panel_get_status (TbPipelinePanel *panel, TbPipelineStep step);
/* Sets every setting the document lacks to its default (call after opening an image). */
void tb_pipeline_panel_apply_defaults (TbPipelinePanel *panel);

G_END_DECLS
