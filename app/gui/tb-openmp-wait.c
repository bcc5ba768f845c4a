/* tb-openmp-wait.c — passive OpenMP workers for the desktop app.
 *
 * Why: by default an OpenMP worker that runs out of work spins for a while before it sleeps. In a
 * batch program that saves a wake-up; in the desktop app the workers of a job share the cores with
 * the GTK main loop, and each parallel region's spinning idle workers take the CPU that the main
 * loop needs to draw the next frame (and, on a busy machine, the cores the other workers of the
 * same region need: BENCHMARKS.md measured the MBB test at 4.4 s spinning, 0.97 s passive).
 * Passive waiting costs a futex wake-up per region, which the stages' regions (milliseconds each)
 * do not notice.
 *
 * Why a re-execution and not just setenv(): GNU libgomp reads OMP_WAIT_POLICY in its library
 * constructor, which runs before main(); setting the variable in main() is too late (measured:
 * idle workers then spin exactly as without it; tests/gui/test-openmp-wait.c). So main() sets it
 * and executes the program again, once; the second start finds it set and goes on. A user's own
 * OMP_WAIT_POLICY (ACTIVE to benchmark, say) is left alone. */
#include "tb-openmp-wait.h"

#include <unistd.h>

void
tb_openmp_wait_passive (char **argv)
{
  if (g_getenv ("OMP_WAIT_POLICY") != NULL)
    return;   /* the user's choice, or our own second start */
  if (!g_setenv ("OMP_WAIT_POLICY", "PASSIVE", TRUE))
    return;
  execv ("/proc/self/exe", argv);
  /* no /proc (or no exec): the runtime already read its defaults, so the workers will spin; run anyway */
  g_unsetenv ("OMP_WAIT_POLICY");
}
