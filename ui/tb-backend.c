/* tb-backend.c — the Preferences' backend and thread count, resolved against the GPU probe. */
#include "config-ui.h"

#include <omp.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include "tb-backend.h"

gboolean
tb_backend_gpu_stages (void)
{
  /* The day a stage gets GPU kernels (a TbFeOps table for the FE solver, TbNnOps for the NN layers),
   * this answers TRUE in builds that have them and the jobs pass those tables on. */
  return FALSE;
}

int
tb_backend_job_threads (int n_threads)
{
  if (n_threads > 0)
    return n_threads;
  /* every core but one: the main loop keeps a core of its own, so the window never freezes */
  return MAX (1, omp_get_num_procs () - 1);
}

void
tb_backend_resolve (TbBackendChoice choice, const TbGpuInfo *gpu, int n_threads, TbBackendState *state)
{
  memset (state, 0, sizeof *state);
  int threads = tb_backend_job_threads (n_threads);
  if (gpu == NULL)
    {
      state->label = g_strdup (_("Probing…"));
      return;
    }
  gboolean gpu_usable = gpu->available && tb_backend_gpu_stages ();
  if (choice != TB_BACKEND_CPU && gpu_usable)
    {
      state->use_gpu = TRUE;
      state->label = g_strdup_printf (_("GPU: %s"), gpu->name);
      state->tooltip = g_strdup_printf (_("CUDA device %s, %.1f GiB"), gpu->name, gpu->total_memory / 1073741824.0);
      return;
    }
  state->label = g_strdup_printf (ngettext ("CPU · %d thread", "CPU · %d threads", threads), threads);
  /* why not the GPU: no device answered, or none of the stages can use it yet */
  g_autofree char *why = gpu->available
                         ? g_strdup_printf (_("the GPU %s answers, but no stage of this build has GPU kernels yet"), gpu->name)
                         : g_strdup_printf (_("no GPU answers: %s"), gpu->reason);
  if (choice == TB_BACKEND_GPU)
    {
      state->note = g_strdup_printf (_("GPU chosen in Preferences, but %s; computing on the CPU (%d threads)"),
                                     why, threads);
      g_autofree char *label = g_steal_pointer (&state->label);
      state->label = g_strdup_printf (_("%s (no GPU)"), label);
      state->tooltip = g_strdup (state->note);
    }
  else if (choice == TB_BACKEND_CPU)
    state->tooltip = g_strdup_printf (_("CPU chosen in Preferences; %d threads"), threads);
  else
    state->tooltip = g_strdup_printf (_("Computing on the CPU: %s"), why);
}

void
tb_backend_state_clear (TbBackendState *state)
{
  g_clear_pointer (&state->label, g_free);
  g_clear_pointer (&state->tooltip, g_free);
  g_clear_pointer (&state->note, g_free);
}
