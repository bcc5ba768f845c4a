/* tb-backend.h — where the jobs compute, from the Preferences' choice and what the GPU probe found.
 *
 * One place decides; the header's indicator shows its answer and the job runner gets its thread
 * count. A GPU is used only where a stage has GPU kernels; none has yet (the FE solver's ops table
 * and the NN's layer tables are filled by the CPU code only), so every choice computes on the CPU,
 * and a GPU choice that cannot be honoured says why instead of pretending. */
#pragma once

#include <glib.h>
#include "tb-gpu.h"

G_BEGIN_DECLS

/* The Preferences' "backend" key: 0 automatic, 1 CPU, 2 GPU. */
typedef enum { TB_BACKEND_AUTO, TB_BACKEND_CPU, TB_BACKEND_GPU } TbBackendChoice;

typedef struct {
  gboolean use_gpu;   /* what the jobs run on */
  char *label;        /* the header's indicator: "CPU · 3 threads", "GPU: NAME" */
  char *tooltip;      /* the details: the device, or why no GPU */
  char *note;         /* set when the choice could not be honoured: shown to the user */
} TbBackendState;

/* The thread count a job uses: n_threads > 0 as given, 0 automatic (every core but one, which the
 * window keeps for itself). */
int      tb_backend_job_threads   (int n_threads);
/* gpu: the probe's answer, or NULL while it runs. Fills state (free it with tb_backend_state_clear). */
void     tb_backend_resolve       (TbBackendChoice choice, const TbGpuInfo *gpu, int n_threads,
                                   TbBackendState *state);
void     tb_backend_state_clear   (TbBackendState *state);
/* Whether any stage of this build runs on a GPU (none yet). */
gboolean tb_backend_gpu_stages    (void);

G_END_DECLS
