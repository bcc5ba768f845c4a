/* bench-topopt.c — topology optimization speed: 2D MBB 300x100 with the density filter (peer: the
 * 88-line code in Octave, run on the same problem in the same run when octave is installed),
 * 2D 256x256 with one load case (the live teaching mode), and the 3D bone problem at 64^3 elements
 * with three load cases. Prints the per-iteration split FE | filter | sensitivities | update.
 *   bench-topopt [ITERATIONS]   (default 20 per case) */
#include "tb-runtime.h"
#include "topopt/tb-topopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

typedef struct { double total, fe, filter, sens, update; int its, fe_its; } Split;

static void
accumulate (const TbTopoptReport *r, gpointer data)
{
  Split *s = data;
  s->fe += r->t_fe;
  s->filter += r->t_filter;
  s->sens += r->t_sensitivity;
  s->update += r->t_update;
  s->fe_its += r->fe_iterations;
  s->its++;
}

static Split
run_case (TbFeModel *model, const TbTopoptSettings *set, const TbVolume *rho0)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbTopoptRun) run = rho0 != NULL ? tb_topopt_run_new_bone (model, rho0, set, &error)
                                            : tb_topopt_run_new (model, set, &error);
  g_assert_no_error (error);
  Split s = { 0 };
  tb_topopt_run_set_report_func (run, accumulate, &s);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (tb_topopt_run_run (run, NULL, &error));
  s.total = (g_get_monotonic_time () - t0) * 1e-6;
  return s;
}

static TbFeModel *
mbb (int nelx, int nely)
{
  const double h[3] = { 1, 1, 1 };
  TbFeModel *m = tb_fe_model_new (nelx, nely, 1, h, NULL);
  int lc = tb_fe_model_add_load_case (m, "mbb", 1);
  const double f[3] = { 0, -1, 0 };
  tb_fe_model_add_force (m, lc, tb_fe_model_node (m, 0, nely, 0), f);
  tb_fe_model_fix_plane (m, TB_AXIS_X, 0, TB_FE_X);
  tb_fe_model_fix (m, tb_fe_model_node (m, nelx, 0, 0), TB_FE_Y);
  return m;
}

/* Octave's top88 on the same MBB: seconds per iteration, or NAN when octave is absent. */
static double
octave_peer (int nelx, int nely, int its)
{
  g_autofree char *octave = g_find_program_in_path ("octave");
  const char *src = g_getenv ("TB_SOURCE_DIR");
  if (octave == NULL || src == NULL)
    return NAN;
  g_autofree char *dir = g_build_filename (src, "tests", "bench", NULL);
  g_autofree char *expr = g_strdup_printf ("top88(%d,%d,0.5,3,1.5,2,%d)", nelx, nely, its);
  const char *argv[] = { octave, "--no-gui", "-q", "--eval", expr, NULL };
  g_autofree char *out = NULL;
  if (!g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, NULL, NULL))
    return NAN;
  const char *p = out != NULL ? strstr (out, "seconds_per_iteration") : NULL;
  return p != NULL ? g_ascii_strtod (p + strlen ("seconds_per_iteration"), NULL) : NAN;
}

static void
row (const char *name, const Split *s, double peer, double target, gboolean per_second)
{
  double ours = s->total / s->its;
  gboolean met = per_second ? 1.0 / ours >= target : ours <= target;
  if (g_getenv ("TB_BENCH_VERBOSE") != NULL)
    printf ("%s: %d iterations, %.1f CG iterations per iteration\n", name, s->its, (double) s->fe_its / s->its);
  printf ("| %s | %.2f ms/it (%.1f it/s) | %s | %s | %s %g%s | %s | %.2f / %.2f / %.2f / %.2f ms |\n", name,
          1e3 * ours, 1.0 / ours,
          isnan (peer) ? "n/a" : g_strdup_printf ("%.1f ms/it", 1e3 * peer),
          isnan (peer) ? "n/a" : g_strdup_printf ("%.1fx", peer / ours),
          per_second ? ">=" : "<=", per_second ? target : 1e3 * target, per_second ? " it/s" : " ms/it",
          met ? "yes" : "NO",
          1e3 * s->fe / s->its, 1e3 * s->filter / s->its, 1e3 * s->sens / s->its, 1e3 * s->update / s->its);
}

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
  int its = argc > 1 ? atoi (argv[1]) : 20;
  setvbuf (stdout, NULL, _IOLBF, 0);   /* rows appear as they are measured */
  printf ("| case | ours | peer (Octave top88, same run) | ratio | target | met | FE / filter / sens / update |\n");
  printf ("|---|---|---|---|---|---|---|\n");

  TbTopoptSettings s;
  tb_topopt_settings_init (&s, TB_TOPOPT_VOLUME);
  s.max_iterations = its;
  s.tol = 1e-9;
  const char *only = g_getenv ("TB_BENCH_CASE");  /* mbb | live | bone: run one case */
  if (only == NULL || g_str_equal (only, "mbb"))
  {
    g_autoptr(TbFeModel) m = mbb (300, 100);
    Split sp = run_case (m, &s, NULL);
    row ("2D MBB 300x100, density filter, OC", &sp, octave_peer (300, 100, its), 0.015, FALSE);
  }
  if (only == NULL || g_str_equal (only, "live"))
  {
    g_autoptr(TbFeModel) m = mbb (256, 256);
    Split sp = run_case (m, &s, NULL);
    row ("2D 256x256, one load case, OC", &sp, NAN, 15, TRUE);
  }
  if (only == NULL || g_str_equal (only, "bone"))
  {
    /* the bone problem: 8^3 clinical voxels x n = 8 -> 64^3, three stress load cases */
    const double sp0[3] = { 0.625, 0.625, 0.625 };
    g_autoptr(TbVolume) rho0 = tb_volume_new (8, 8, 8, sp0, NULL);
    for (int k = 0; k < 8; k++)
      for (int j = 0; j < 8; j++)
        for (int i = 0; i < 8; i++)
          rho0->data[i + 8 * (j + 8 * k)] = 0.2 + 0.01 * i + 0.03 * sin (j + 2.0 * k);
    const double stress[3][6] = { { 0, 0, -1, 0, 0, 0 }, { -0.3, 0, -0.6, 0, 0, 0.3 }, { 0, -0.3, -0.6, 0, 0.3, 0 } };
    const double w[3] = { 0.6, 0.2, 0.2 };
    g_autoptr(TbFeModel) m = tb_topopt_voi_model_stress (rho0, 8, 3, stress, w, NULL);
    TbTopoptSettings b;
    tb_topopt_settings_init (&b, TB_TOPOPT_BONE);
    b.max_iterations = MAX (2, its / 4);
    Split sp = run_case (m, &b, rho0);
    row ("3D bone 64^3, 3 load cases, MMA", &sp, NAN, 3.0, FALSE);
  }
  return 0;
}
