/* test-openmp-wait.c — the desktop app's OpenMP workers wait passively (core/tb-runtime.c).
 *
 * The test starts itself as a child, as the app starts: the child calls tb_runtime_init
 * first thing in main(), then runs 100 short parallel regions 2 ms apart and prints its CPU time
 * over wall time. Idle workers that spin burn a core between regions (ratio ~0.5 and more with
 * two threads); passive ones sleep (ratio ~0). That the ratio is low when the child was started
 * WITHOUT OMP_WAIT_POLICY shows the setting reached the OpenMP runtime, which reads it before
 * main(); a child started with OMP_WAIT_POLICY=ACTIVE keeps the user's choice and spins. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "tb-runtime.h"

static double
clock_s (clockid_t id)
{
  struct timespec ts;
  clock_gettime (id, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
child_measure (void)
{
  omp_set_num_threads (2);
  volatile double sink = 0;
  double c0 = clock_s (CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s (CLOCK_MONOTONIC);
  for (int it = 0; it < 100; it++)
    {
      double s = 0;
#pragma omp parallel for reduction(+:s)
      for (int i = 0; i < 20000; i++)
        s += i * 1e-9;
      sink += s;
      g_usleep (2000);
    }
  double ratio = (clock_s (CLOCK_PROCESS_CPUTIME_ID) - c0) / (clock_s (CLOCK_MONOTONIC) - w0);
  printf ("policy=%s ratio=%.3f\n", g_getenv ("OMP_WAIT_POLICY") ? g_getenv ("OMP_WAIT_POLICY") : "(unset)", ratio);
  return 0;
}

static char *self_path;

/* Runs the child with OMP_WAIT_POLICY unset or set to policy; returns its CPU/wall ratio. */
static double
run_child (const char *policy, char **policy_seen)
{
  g_auto(GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "OMP_WAIT_POLICY");
  if (policy != NULL)
    env = g_environ_setenv (env, "OMP_WAIT_POLICY", policy, TRUE);
  const char *argv[] = { self_path, "--measure", NULL };
  g_autofree char *out = NULL;
  int status = 0;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  char seen[64] = "";
  double ratio = -1;
  g_assert_cmpint (sscanf (out, "policy=%63s ratio=%lf", seen, &ratio), ==, 2);
  *policy_seen = g_strdup (seen);
  return ratio;
}

static void
test_passive_without_user_setting (void)
{
  g_autofree char *seen = NULL, *seen_active = NULL;
  double passive = run_child (NULL, &seen);
  double active = run_child ("ACTIVE", &seen_active);
  g_test_message ("CPU / wall time over 100 parallel regions 2 ms apart, 2 threads: started without "
                  "OMP_WAIT_POLICY %.3f (%s), with OMP_WAIT_POLICY=ACTIVE %.3f (%s)", passive, seen, active, seen_active);
  g_assert_cmpstr (seen, ==, "PASSIVE");
  g_assert_cmpstr (seen_active, ==, "ACTIVE");   /* the user's setting is kept */
  /* the workers slept between regions: the runtime saw PASSIVE */
  g_assert_cmpfloat (passive, <, 0.15);
  g_assert_cmpfloat (active, >, passive);
}

int
main (int argc, char *argv[])
{
  if (argc > 1 && strcmp (argv[1], "--measure") == 0)
    {
      tb_runtime_init (argv);   /* as the app's main() does */
      return child_measure ();
    }
  g_test_init (&argc, &argv, NULL);
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  if (self_path == NULL)
    self_path = g_strdup (argv[0]);
  g_test_add_func ("/Trabecula/App/openmp-workers-wait-passively", test_passive_without_user_setting);
  int rc = g_test_run ();
  g_free (self_path);
  return rc;
}
