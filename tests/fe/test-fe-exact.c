/* test-fe-exact.c — exact answers: patch tests (uniaxial, pure shear), symmetry of K, u'Ku = f.u,
 * cantilever against Timoshenko beam theory. */
#include "fe/tb-fe.h"
#include "fe/fe-private.h"  /* the element kernel's single-precision path */
#include "tb-test.h"

#include <math.h>

/* exact linear field u = G x (+ offsets): prescribe it on the whole boundary, solve, compare inside */
static void
patch (int dim, const double G[3][3])
{
  int n = dim == 3 ? 5 : 7;
  double h[3] = { 0.7, 1.1, 0.9 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TbFeModel) m = tb_fe_model_new (n, n + 1, dim == 3 ? n - 1 : 1, h, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_model_set_material (m, 1000.0, 1e-6, 0.3, 3.0, &error));
  int N[3];
  tb_fe_model_get_dims (m, N, NULL);
  int lc = tb_fe_model_add_load_case (m, "patch", 1.0);
  int nnz = dim == 3 ? N[2] + 1 : 1;
  for (int k = 0; k < nnz; k++)
    for (int j = 0; j <= N[1]; j++)
      for (int i = 0; i <= N[0]; i++)
        {
          gboolean bnd = i == 0 || j == 0 || i == N[0] || j == N[1] || (dim == 3 && (k == 0 || k == N[2]));
          if (!bnd)
            continue;
          double x[3] = { i * h[0], j * h[1], k * h[2] };
          for (int c = 0; c < dim; c++)
            {
              double v = 0;
              for (int a = 0; a < dim; a++)
                v += G[c][a] * x[a];
              tb_fe_model_prescribe (m, lc, tb_fe_model_node (m, i, j, k), c, v);
            }
        }
  TbFeSettings s;
  tb_fe_settings_init (&s);
  s.rtol = 1e-13;
  g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_solve (S, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  const double *u = tb_fe_solver_get_displacement (S, lc);
  double err = 0, umax = 0;
  for (int k = 0; k < nnz; k++)
    for (int j = 0; j <= N[1]; j++)
      for (int i = 0; i <= N[0]; i++)
        {
          double x[3] = { i * h[0], j * h[1], k * h[2] };
          for (int c = 0; c < dim; c++)
            {
              double v = 0;
              for (int a = 0; a < dim; a++)
                v += G[c][a] * x[a];
              err = MAX (err, fabs (u[tb_fe_model_node (m, i, j, k) * dim + c] - v));
              umax = MAX (umax, fabs (v));
            }
        }
  g_test_message ("patch dim %d: max error / max u = %.3g", dim, err / umax);
  /* rtol 1e-13 on the residual of a well-conditioned small block: 1e-9 leaves 4 orders of margin */
  g_assert_cmpfloat (err / umax, <=, 1e-9);
  /* the linear field has constant stress: von Mises identical in every element */
  gsize ne = tb_fe_model_n_elements (m);
  g_autofree float *vm = g_new (float, ne);
  tb_fe_solver_von_mises (S, lc, vm);
  for (gsize e = 1; e < ne; e++)
    tb_assert_rel (vm[e], vm[0], 1e-5);  /* float output */
}

static void
test_patch_uniaxial_3d (void)
{
  double nu = 0.3, e = 1e-3;
  double G[3][3] = { { e, 0, 0 }, { 0, -nu * e, 0 }, { 0, 0, -nu * e } };
  patch (3, G);
}

static void
test_patch_shear_3d (void)
{
  double g = 2e-3;
  double G[3][3] = { { 0, g / 2, 0 }, { g / 2, 0, 0 }, { 0, 0, 0 } };
  patch (3, G);
  double G2[3][3] = { { 0, 0, 0 }, { 0, 0, g / 2 }, { 0, g / 2, 0 } };
  patch (3, G2);
}

static void
test_patch_2d (void)
{
  double nu = 0.3, e = 1e-3, g = 2e-3;
  double G[3][3] = { { e, 0, 0 }, { 0, -nu * e, 0 }, { 0, 0, 0 } };
  patch (2, G);
  double G2[3][3] = { { 0, g / 2, 0 }, { g / 2, 0, 0 }, { 0, 0, 0 } };
  patch (2, G2);
}

/* K symmetric (x'K y = y'K x for random x, y) and u'Ku = f.u after a solve, random densities */
static void
test_symmetry_energy (void)
{
  for (int dim = 2; dim <= 3; dim++)
    {
      double h[3] = { 1, 1, 1 };
      g_autoptr(GError) error = NULL;
      int n = dim == 3 ? 9 : 21;
      g_autoptr(TbFeModel) m = tb_fe_model_new (n, n - 2, dim == 3 ? n + 3 : 1, h, &error);
      gsize ne = tb_fe_model_n_elements (m), nd = tb_fe_model_n_dofs (m);
      g_autofree float *rho = g_new (float, ne);
      GRand *rand = g_rand_new_with_seed (7);
      for (gsize e = 0; e < ne; e++)
        rho[e] = g_rand_double (rand) < 0.4 ? 1.0f : 0.2f;
      g_assert_true (tb_fe_model_set_material (m, 1e4, 1e-5, 0.3, 3, &error));
      g_assert_true (tb_fe_model_set_density (m, rho, &error));
      g_autofree double *x = g_new (double, nd), *y = g_new (double, nd);
      g_autofree double *Kx = g_new (double, nd), *Ky = g_new (double, nd);
      for (gsize d = 0; d < nd; d++)
        {
          x[d] = g_rand_double_range (rand, -1, 1);
          y[d] = g_rand_double_range (rand, -1, 1);
        }
      tb_fe_model_apply_stiffness (m, x, Kx);
      tb_fe_model_apply_stiffness (m, y, Ky);
      double a = 0, b = 0, xKx = 0;
      for (gsize d = 0; d < nd; d++)
        {
          a += y[d] * Kx[d];
          b += x[d] * Ky[d];
          xKx += x[d] * Kx[d];
        }
      tb_assert_rel (a, b, 1e-12);  /* only summation order differs */
      g_assert_cmpfloat (xKx, >, 0);
      tb_fe_model_fix_plane (m, TB_AXIS_X, 0, TB_FE_XYZ);
      int lc = tb_fe_model_add_load_case (m, "tip", 1);
      for (int j = 0; j <= n - 2; j++)
        {
          double f[3] = { 0.1, -1, 0.3 };
          tb_fe_model_add_force (m, lc, tb_fe_model_node (m, n, j, dim == 3 ? n / 2 : 0), f);
        }
      TbFeSettings s;
      tb_fe_settings_init (&s);
      s.rtol = 1e-12;
      g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
      g_assert_no_error (error);
      g_assert_true (tb_fe_solve (S, NULL, NULL, NULL, &error));
      const double *u = tb_fe_solver_get_displacement (S, lc);
      const double *f = tb_fe_model_get_forces (m, lc);
      tb_fe_model_apply_stiffness (m, u, Kx);
      double uKu = 0, fu = 0;
      for (gsize d = 0; d < nd; d++)
        {
          uKu += u[d] * Kx[d];
          fu += f[d] * u[d];
        }
      TbFeCaseStats st;
      tb_fe_solver_get_stats (S, lc, &st);
      g_test_message ("dim %d: u'Ku %.12g f.u %.12g, %d iterations", dim, uKu, fu, st.iterations);
      /* at rtol 1e-12 the energy error is ~ rtol^2 * cond; 1e-9 is safe */
      tb_assert_rel (uKu, fu, 1e-9);
      tb_assert_rel (st.compliance, fu, 1e-9);
      /* element energies: sum_e E_e ue'K0ue = u'Ku */
      g_autofree double *en = g_new (double, ne);
      tb_fe_solver_element_energy (S, lc, en);
      double sum = 0;
      for (gsize e = 0; e < ne; e++)
        sum += tb_fe_model_element_modulus (m, e) * en[e];
      tb_assert_rel (sum, uKu, 1e-10);
      /* reactions balance the applied load */
      g_autofree double *R = g_new (double, nd);
      tb_fe_solver_reactions (S, lc, R);
      for (int c = 0; c < dim; c++)
        {
          double fr = 0, ft = 0;
          for (gsize d = c; d < nd; d += dim)
            {
              fr += R[d];
              ft += f[d];
            }
          g_assert_cmpfloat (fabs (fr + ft), <=, 1e-7 * fabs (ft) + 1e-9);
        }
      g_rand_free (rand);
    }
}

/* The smoother's single-precision element kernel (fe-kernel.c: 16 elements per vector, node values
 * rounded to float, element forces widened back) against the double kernel, on random x, with rows of
 * 16-element vectors, 8-element vectors and a scalar remainder (nx = 16 + 8 + 3 + 16), empty elements
 * (E = 0) and a spring. Every element's 24 (8) products are summed in float: the error is a few float
 * roundings of the terms, which random x keeps of the result's size, so 1e-5 of max |K x| bounds it
 * with margin and a wrong lane or component (an O(1) error) cannot hide. */
static void
test_kernel_single (void)
{
  for (int dim = 2; dim <= 3; dim++)
    {
      double h[3] = { 0.8, 1, 1.2 };
      g_autoptr(GError) error = NULL;
      g_autoptr(TbFeModel) m = tb_fe_model_new (43, 5, dim == 3 ? 4 : 1, h, &error);
      g_assert_no_error (error);
      gsize ne = tb_fe_model_n_elements (m), nd = tb_fe_model_n_dofs (m);
      g_autofree float *rho = g_new (float, ne);
      GRand *rand = g_rand_new_with_seed (11);
      for (gsize e = 0; e < ne; e++)
        rho[e] = e % 43 >= 20 && e % 43 < 37 ? 0.0f : (float) g_rand_double_range (rand, 0.1, 1);
      g_assert_true (tb_fe_model_set_material (m, 1e4, 0, 0.3, 3, &error));
      g_assert_true (tb_fe_model_set_density (m, rho, &error));
      tb_fe_model_add_spring (m, tb_fe_model_node (m, 2, 1, 0), 1, 30.0);
      g_autofree double *x = g_new (double, nd), *yd = g_new (double, nd), *ys = g_new (double, nd);
      for (gsize d = 0; d < nd; d++)
        x[d] = g_rand_double_range (rand, -1, 1);
      g_autofree double *E = tb_fe_model_moduli (m);
      tb_fe_apply_kernel_active (m, E, NULL, NULL, FALSE, x, yd, 2);
      tb_fe_apply_kernel_active (m, E, NULL, NULL, TRUE, x, ys, 2);
      double emax = 0, ymax = 0;
      for (gsize d = 0; d < nd; d++)
        {
          emax = MAX (emax, fabs (ys[d] - yd[d]));
          ymax = MAX (ymax, fabs (yd[d]));
        }
      g_test_message ("dim %d: single-precision kernel max error %.3g of max |Kx| %.3g", dim, emax, ymax);
      g_assert_cmpfloat (ymax, >, 0);
      g_assert_cmpfloat (emax, <=, 1e-5 * ymax);
      g_rand_free (rand);
    }
}

/* Cantilever L x b x b, clamped at x = 0, shear load P at the tip: Timoshenko deflection
 * w = P L^3 / (3 E I) + P L / (k G A), k = 10(1+nu)/(12+11nu) for a square section (Cowper 1966). */
static void
test_cantilever (void)
{
  double L = 40, b = 4, E = 1000, nu = 0.3, P = 1;
  double I = b * b * b * b / 12, A = b * b, G = E / (2 * (1 + nu)), k = 10 * (1 + nu) / (12 + 11 * nu);
  double w_ref = P * L * L * L / (3 * E * I) + P * L / (k * G * A);
  double prev_err = 1e9;
  for (int r = 1; r <= 4; r *= 2)
    {
      int nb = 2 * r, nl = 20 * r;
      double h[3] = { L / nl, b / nb, b / nb };
      g_autoptr(GError) error = NULL;
      g_autoptr(TbFeModel) m = tb_fe_model_new (nl, nb, nb, h, &error);
      g_assert_true (tb_fe_model_set_material (m, E, 0, nu, 3, &error));
      tb_fe_model_fix_plane (m, TB_AXIS_X, 0, TB_FE_XYZ);
      int lc = tb_fe_model_add_load_case (m, "tip", 1);
      /* uniform shear traction over the tip face */
      for (int k2 = 0; k2 < nb; k2++)
        for (int j = 0; j < nb; j++)
          {
            double t[3] = { 0, 0, -P / (b * b) };
            tb_fe_model_add_traction (m, lc, (gsize) (nl - 1) + (gsize) nl * (j + (gsize) nb * k2), TB_FE_FACE_XMAX, t);
          }
      TbFeSettings s;
      tb_fe_settings_init (&s);
      s.rtol = 1e-10;
      g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
      g_assert_no_error (error);
      g_assert_true (tb_fe_solve (S, NULL, NULL, NULL, &error));
      const double *u = tb_fe_solver_get_displacement (S, lc);
      double w = 0;
      int cnt = 0;
      for (int k2 = 0; k2 <= nb; k2++)
        for (int j = 0; j <= nb; j++)
          {
            w += -u[tb_fe_model_node (m, nl, j, k2) * 3 + 2];
            cnt++;
          }
      w /= cnt;
      double err = fabs (w - w_ref) / w_ref;
      TbFeCaseStats st;
      tb_fe_solver_get_stats (S, lc, &st);
      g_test_message ("cantilever %dx%dx%d: w %.6g vs Timoshenko %.6g, error %.3g%%, %d iterations",
                      nl, nb, nb, w, w_ref, 100 * err, st.iterations);
      g_assert_cmpfloat (err, <, prev_err);
      prev_err = err;
    }
  /* full-integration hex8 is stiff in bending; at 8 elements through the depth it is within 2 % */
  g_assert_cmpfloat (prev_err, <=, 0.02);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fe/patch/uniaxial-3d", test_patch_uniaxial_3d);
  g_test_add_func ("/fe/patch/shear-3d", test_patch_shear_3d);
  g_test_add_func ("/fe/patch/2d", test_patch_2d);
  g_test_add_func ("/fe/symmetry-energy", test_symmetry_energy);
  g_test_add_func ("/fe/cantilever", test_cantilever);
  g_test_add_func ("/fe/kernel-single", test_kernel_single);
  return g_test_run ();
}
