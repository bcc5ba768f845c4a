/* test-fe-ccx.c — Trabecula against CalculiX (ccx) on the same exported deck: a homogeneous block
 * (traction and prescribed-displacement cases) and a trabecular cube cut from the real micro-CT.
 * Skips when ccx or ../shared/data is absent. */
#include "fe/tb-fe.h"
#include "tb-test.h"

#include <math.h>
#include <string.h>
#include "io/tb-io.h"

typedef struct {
  GArray *u;   /* per step: double[n_dofs] */
  GArray *rf;
} CcxResult;

/* ccx prints 7 significant digits (E13.6) in the .dat file; we read every "displacements" and
 * "forces" block, in step order. */
static gboolean
run_ccx (TbFeModel *m, const char *dir, GPtrArray *u_steps, GPtrArray *rf_steps)
{
  g_autofree char *ccx = g_find_program_in_path ("ccx");
  if (ccx == NULL)
    return FALSE;
  g_autoptr(GError) error = NULL;
  g_autofree char *deck = g_build_filename (dir, "model.inp", NULL);
  g_assert_true (tb_fe_export_ccx (m, deck, 0, &error));
  g_assert_no_error (error);
  char *argv[] = { ccx, "-i", "model", NULL };
  char *envp_add = "OMP_NUM_THREADS=2";
  g_auto(GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "OMP_NUM_THREADS", "2", TRUE);
  (void) envp_add;
  int status = 0;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_spawn_sync (dir, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_autofree char *dat = g_build_filename (dir, "model.dat", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (dat, &text, NULL, &error));
  gsize nd = tb_fe_model_n_dofs (m);
  int dim = tb_fe_model_get_dim (m);
  char **lines = g_strsplit (text, "\n", -1);
  double *cur = NULL;
  for (char **l = lines; *l != NULL; l++)
    {
      if (strstr (*l, "displacements (vx,vy,vz)") != NULL)
        {
          cur = g_new0 (double, nd);
          g_ptr_array_add (u_steps, cur);
          continue;
        }
      if (strstr (*l, "forces (fx,fy,fz)") != NULL)
        {
          cur = g_new0 (double, nd);
          g_ptr_array_add (rf_steps, cur);
          continue;
        }
      if (cur == NULL)
        continue;
      long node;
      double v[3];
      if (sscanf (*l, "%ld %lf %lf %lf", &node, &v[0], &v[1], &v[2]) == 4 && node >= 1 && (gsize) node <= nd / dim)
        for (int c = 0; c < dim; c++)
          cur[(node - 1) * dim + c] = v[c];
    }
  g_strfreev (lines);
  return TRUE;
}

/* compare one load case: displacements (max norm / max |u|) and compliance f.u + R.u_p from ccx's numbers */
static void
compare (TbFeModel *m, TbFeSolver *S, int lc, const double *uc, const double *rfc, double tol_u, double tol_c)
{
  gsize nd = tb_fe_model_n_dofs (m);
  const double *u = tb_fe_solver_get_displacement (S, lc);
  const double *f = tb_fe_model_get_forces (m, lc);
  double err = 0, umax = 0, cc = 0;
  for (gsize d = 0; d < nd; d++)
    {
      err = MAX (err, fabs (u[d] - uc[d]));
      umax = MAX (umax, fabs (u[d]));
      cc += f[d] * uc[d] + (tb_fe_model_is_constrained (m, d) ? rfc[d] * uc[d] : 0.0);
    }
  TbFeCaseStats st;
  tb_fe_solver_get_stats (S, lc, &st);
  g_test_message ("case %s: max |u - u_ccx| / max |u| = %.3g, compliance %.10g vs ccx %.10g (rel %.3g), %d iterations",
                  tb_fe_model_load_case_name (m, lc), err / umax, st.compliance, cc, fabs (st.compliance - cc) / fabs (cc),
                  st.iterations);
  g_assert_cmpfloat (err / umax, <=, tol_u);
  tb_assert_rel (st.compliance, cc, tol_c);
}

static void
solve_and_compare (TbFeModel *m, double tol_u, double tol_c)
{
  g_autoptr(GError) error = NULL;
  TbFeSettings s;
  tb_fe_settings_init (&s);
  s.rtol = 1e-12;
  s.max_iter = 2000;
  g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_solve (S, NULL, NULL, NULL, &error));
  g_autofree char *dir = tb_test_tmpdir ();
  g_autoptr(GPtrArray) us = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) rfs = g_ptr_array_new_with_free_func (g_free);
  if (!run_ccx (m, dir, us, rfs))
    {
      g_test_skip ("ccx (CalculiX) is not installed");
      tb_test_rmdir (dir);
      return;
    }
  g_assert_cmpuint (us->len, ==, (guint) tb_fe_model_n_load_cases (m));
  g_assert_cmpuint (rfs->len, ==, us->len);
  for (int lc = 0; lc < tb_fe_model_n_load_cases (m); lc++)
    compare (m, S, lc, us->pdata[lc], rfs->pdata[lc], tol_u, tol_c);
  tb_test_rmdir (dir);
}

static void
test_block (void)
{
  double h[3] = { 0.5, 0.4, 0.6 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TbFeModel) m = tb_fe_model_new (6, 5, 7, h, &error);
  g_assert_true (tb_fe_model_set_material (m, 15000, 15000e-6, 0.3, 3, &error));
  tb_fe_model_fix_plane (m, TB_AXIS_Z, 0, TB_FE_XYZ);
  int a = tb_fe_model_add_load_case (m, "traction", 0.5);
  for (gsize e = 6 * 5 * 6; e < 6 * 5 * 7; e++)
    {
      double t[3] = { 0.5, -0.2, -3.0 };
      tb_fe_model_add_traction (m, a, e, TB_FE_FACE_ZMAX, t);
    }
  int b = tb_fe_model_add_load_case (m, "prescribed", 0.5);
  for (int j = 0; j <= 5; j++)
    for (int i = 0; i <= 6; i++)
      tb_fe_model_prescribe (m, b, tb_fe_model_node (m, i, j, 7), 2, -0.01);
  /* 7 printed digits: each ccx value is within 5e-7 of ours relatively, so 1e-6 of max |u| holds;
   * compliance sums ~50-60 such values whose rounding errors average out -> 1e-7 */
  solve_and_compare (m, 1e-6, 1e-7);
}

static void
test_trabecular (void)
{
  g_autofree char *path = tb_test_shared_data ("microct/LHDL_3155_D_4_bc_uint8_200x200x200_19.5um.tif");
  if (path == NULL)
    return;
  int N = 24, o = 88;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) img = tb_io_read (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  double h[3] = { img->spacing[0], img->spacing[1], img->spacing[2] };
  g_autoptr(TbFeModel) m = tb_fe_model_new (N, N, N, h, &error);
  g_autofree float *rho = g_new (float, N * N * N);
  double bv = 0;
  for (int k = 0; k < N; k++)
    for (int j = 0; j < N; j++)
      for (int i = 0; i < N; i++)
        {
          /* threshold 63, the value the data's own repository segments it with */
          float r = tb_volume_get (img, o + i, o + j, o + k) > 63 ? 1.0f : 0.0f;
          rho[i + N * (j + N * k)] = r;
          bv += r;
        }
  g_test_message ("trabecular cube %d^3, BV/TV %.3f", N, bv / (N * N * N));
  /* solid E0 = 10 GPa, void Emin = 1e-6 E0 (rho = 0 gives exactly Emin) */
  g_assert_true (tb_fe_model_set_material (m, 10000, 10000e-6, 0.3, 3, &error));
  g_assert_true (tb_fe_model_set_density (m, rho, &error));
  tb_fe_model_fix_plane (m, TB_AXIS_Z, 0, TB_FE_XYZ);
  int lc = tb_fe_model_add_load_case (m, "compression", 1);
  for (int j = 0; j <= N; j++)
    for (int i = 0; i <= N; i++)
      tb_fe_model_prescribe (m, lc, tb_fe_model_node (m, i, j, N), 2, -0.001);
  /* compliance = sum of top reactions * prescribed displacement, ~600 printed values averaged */
  solve_and_compare (m, 1e-6, 1e-7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fe/ccx/block", test_block);
  g_test_add_func ("/fe/ccx/trabecular", test_trabecular);
  return g_test_run ();
}
