/* tb-runtime.c — see tb-runtime.h. */
#include "tb-runtime.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *
better_coretype (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
#endif
  return NULL;
}

void
tb_runtime_init (char **argv)
{
  /* both libraries read their settings when they load, before main(): changing them takes a restart */
  gboolean restart = FALSE;
  if (g_getenv ("OMP_WAIT_POLICY") == NULL)
    {
      g_setenv ("OMP_WAIT_POLICY", "PASSIVE", TRUE);
      restart = TRUE;
    }
  if (g_getenv ("OPENBLAS_NUM_THREADS") == NULL)
    {
      /* openblas_set_num_threads (1) below keeps BLAS calls on the caller's thread, but the pool
       * OpenBLAS started at load keeps polling (sched_yield) next to our OpenMP workers */
      g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
      restart = TRUE;
    }
  const char *core = openblas_get_corename ();
  const char *want = better_coretype ();
  if (want != NULL && core != NULL && g_ascii_strcasecmp (core, "prescott") == 0
      && g_getenv ("OPENBLAS_CORETYPE") == NULL)
    {
      g_setenv ("OPENBLAS_CORETYPE", want, TRUE);
      restart = TRUE;
    }
  if (restart && argv != NULL && argv[0] != NULL && g_getenv ("TB_NO_REEXEC") == NULL)
    {
      g_setenv ("TB_NO_REEXEC", "1", TRUE);  /* once */
      /* the executable's own path, so the process keeps its name (exec of /proc/self/exe would show
       * as "exe" in process lists) */
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      execv (self != NULL ? self : "/proc/self/exe", argv);
      /* no /proc or exec refused: carry on as we are */
    }
  openblas_set_num_threads (1);
}
