/* test-topopt-blocks.c — the filter against a dense brute-force H, and MMA on problems with known optima. */
#include "tb-test.h"
#include "topopt/tb-topopt.h"

#include <math.h>

/* Dense H_ei = max(0, rmin - dist) for a small grid: the definition, with no stencil tricks. */
static double *
dense_h (int nx, int ny, int nz, double rmin)
{
  gsize n = (gsize) nx * ny * nz;
  double *h = g_new0 (double, n * n);
  for (gsize e = 0; e < n; e++)
    for (gsize i = 0; i < n; i++)
      {
        int ex = e % nx, ey = (e / nx) % ny, ez = e / (nx * ny);
        int ix = i % nx, iy = (i / nx) % ny, iz = i / (nx * ny);
        double d = sqrt ((ex - ix) * (ex - ix) + (ey - iy) * (ey - iy) + (double) (ez - iz) * (ez - iz));
        h[e * n + i] = MAX (0.0, rmin - d);
      }
  return h;
}

static void
check_filter (int nx, int ny, int nz, double rmin)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbTopoptFilter) f = tb_topopt_filter_new (nx, ny, nz, rmin, &error);
  g_assert_no_error (error);
  gsize n = (gsize) nx * ny * nz;
  g_autofree double *h = dense_h (nx, ny, nz, rmin);
  g_autofree double *x = g_new (double, n), *y = g_new (double, n), *ref = g_new (double, n);
  g_autofree double *dx = g_new (double, n), *dc = g_new (double, n);
  GRand *rand = g_rand_new_with_seed (7);
  for (gsize e = 0; e < n; e++)
    {
      x[e] = g_rand_double_range (rand, 0.01, 1.0);
      dc[e] = -g_rand_double_range (rand, 0.0, 5.0);
    }
  g_rand_free (rand);

  /* density filter: ref_e = sum_i H_ei x_i / sum_i H_ei (rounding only: 1e-12) */
  tb_topopt_filter_density (f, x, y);
  for (gsize e = 0; e < n; e++)
    {
      double s = 0, hs = 0;
      for (gsize i = 0; i < n; i++)
        {
          s += h[e * n + i] * x[i];
          hs += h[e * n + i];
        }
      ref[e] = s / hs;
      g_assert_cmpfloat_with_epsilon (y[e], ref[e], 1e-12);
    }
  /* a constant field stays constant, boundaries included: the weights are normalized per element */
  g_autofree double *ones = g_new (double, n);
  for (gsize e = 0; e < n; e++)
    ones[e] = 0.37;
  tb_topopt_filter_density (f, ones, y);
  for (gsize e = 0; e < n; e++)
    g_assert_cmpfloat_with_epsilon (y[e], 0.37, 1e-14);

  /* adjoint: <dc, F x> = <F^T dc, x> to rounding */
  tb_topopt_filter_density (f, x, y);
  tb_topopt_filter_density_adjoint (f, dc, dx);
  double lhs = 0, rhs = 0;
  for (gsize e = 0; e < n; e++)
    {
      lhs += dc[e] * y[e];
      rhs += dx[e] * x[e];
    }
  tb_assert_rel (lhs, rhs, 1e-12);

  /* 88-line sensitivity filter: H (x dc) / Hs / max(1e-3, x) */
  tb_topopt_filter_sensitivity (f, x, dc, y);
  for (gsize e = 0; e < n; e++)
    {
      double s = 0, hs = 0;
      for (gsize i = 0; i < n; i++)
        {
          s += h[e * n + i] * x[i] * dc[i];
          hs += h[e * n + i];
        }
      g_assert_cmpfloat_with_epsilon (y[e], s / hs / MAX (1e-3, x[e]), 1e-11);
    }
}

static void
test_filter (void)
{
  check_filter (9, 6, 1, 1.5);   /* the 88-line radius, 2D */
  check_filter (7, 5, 4, 2.3);   /* 3D, a non-integer radius reaching two cells */
  check_filter (5, 4, 3, 1.0);   /* r_min = 1: the identity */
}

static void
test_filter_bad (void)
{
  g_autoptr(GError) error = NULL;
  TbTopoptFilter *f = tb_topopt_filter_new (10, 10, 1, 0.5, &error);
  g_assert_null (f);
  g_assert_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID);
}

static void
test_projection (void)
{
  double x[5] = { 0, 0.25, 0.5, 0.75, 1 }, y[5], d[5];
  tb_topopt_project (8.0, 0.5, 5, x, y, d);
  g_assert_cmpfloat_with_epsilon (y[0], 0.0, 1e-15);
  g_assert_cmpfloat_with_epsilon (y[2], 0.5, 1e-15);
  g_assert_cmpfloat_with_epsilon (y[4], 1.0, 1e-15);
  /* derivative against central differences (step 1e-6: error ~1e-10) */
  for (int i = 0; i < 5; i++)
    {
      double xp = x[i] + 1e-6, xm = x[i] - 1e-6, yp, ym;
      tb_topopt_project (8.0, 0.5, 1, &xp, &yp, NULL);
      tb_topopt_project (8.0, 0.5, 1, &xm, &ym, NULL);
      g_assert_cmpfloat_with_epsilon (d[i], (yp - ym) / 2e-6, 1e-7);
    }
}

/* Svanberg (1987), section 7.1: the cantilever of five hollow square segments.
 * min 0.0624 sum x_j  s.t.  61/x1^3 + 37/x2^3 + 19/x3^3 + 7/x4^3 + 1/x5^3 <= 1, 1 <= x <= 10.
 * Optimum f = 1.340 at x = (6.016, 5.309, 4.494, 3.502, 2.153), reached in a few iterations. */
static void
test_mma_cantilever (void)
{
  static const double a[5] = { 61, 37, 19, 7, 1 };
  double x[5] = { 5, 5, 5, 5, 5 }, df0[5], f1, df1[5];
  g_autoptr(GError) error = NULL;
  g_autoptr(TbMma) mma = tb_mma_new (5, 1, 1.0, 10.0, &error);
  g_assert_no_error (error);
  int it;
  double f0 = 0;
  for (it = 0; it < 50; it++)
    {
      f0 = 0;
      f1 = -1;
      for (int j = 0; j < 5; j++)
        {
          f0 += 0.0624 * x[j];
          df0[j] = 0.0624;
          f1 += a[j] / (x[j] * x[j] * x[j]);
          df1[j] = -3 * a[j] / (x[j] * x[j] * x[j] * x[j]);
        }
      double xo[5];
      memcpy (xo, x, sizeof x);
      tb_mma_update (mma, x, df0, &f1, df1);
      double ch = 0;
      for (int j = 0; j < 5; j++)
        ch = MAX (ch, fabs (x[j] - xo[j]));
      if (ch < 1e-6)
        break;
    }
  g_test_message ("MMA cantilever: f = %.5f after %d iterations, g = %.2e", f0, it, f1);
  /* the published optimum has 4 digits: 1.340 and x to 3 decimals */
  g_assert_cmpfloat_with_epsilon (f0, 1.3400, 5e-4);
  static const double xs[5] = { 6.016, 5.309, 4.494, 3.502, 2.153 };
  for (int j = 0; j < 5; j++)
    g_assert_cmpfloat_with_epsilon (x[j], xs[j], 2e-3);
  g_assert_cmpfloat (f1, <=, 1e-6);
  g_assert_cmpint (it, <, 30);
}

/* A compliance-like problem with many variables and a closed-form optimum:
 * min sum c_j / x_j  s.t.  sum x_j <= V, 0.001 <= x <= 1.
 * Lagrange: x_j = V sqrt(c_j) / sum sqrt(c_k), f* = (sum sqrt(c_j))^2 / V (bounds inactive by choice). */
static void
test_mma_many (void)
{
  const gsize n = 20000;
  g_autofree double *c = g_new (double, n), *x = g_new (double, n), *df0 = g_new (double, n);
  g_autofree double *df1 = g_new (double, n);
  double ssq = 0, V = 0.3 * n;
  for (gsize j = 0; j < n; j++)
    {
      c[j] = 1.0 + 3.0 * sin (0.001 * j) * sin (0.001 * j);
      ssq += sqrt (c[j]);
      x[j] = 0.3;
    }
  double fstar = ssq * ssq / V;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbMma) mma = tb_mma_new (n, 1, 0.001, 1.0, &error);
  g_assert_no_error (error);
  double f0 = 0, g = 0;
  int it;
  for (it = 0; it < 100; it++)
    {
      f0 = 0;
      double vol = 0;
      for (gsize j = 0; j < n; j++)
        {
          f0 += c[j] / x[j];
          df0[j] = -c[j] / (x[j] * x[j]) / fstar;   /* scaled to order 1 */
          vol += x[j];
          df1[j] = 1.0 / V;
        }
      g = vol / V - 1;
      if (fabs (f0 / fstar - 1) < 1e-7 && g < 1e-8)
        break;
      tb_mma_update (mma, x, df0, &g, df1);
    }
  g_test_message ("MMA sum c/x, n = %" G_GSIZE_FORMAT ": f = %.8g vs f* = %.8g after %d iterations",
                  n, f0, fstar, it);
  tb_assert_rel (f0, fstar, 1e-6);
  g_assert_cmpfloat (g, <=, 1e-6);
  for (gsize j = 0; j < n; j += 997)
    tb_assert_rel (x[j], V * sqrt (c[j]) / ssq, 1e-3);
}

/* Two active constraints: min -(x1 + x2)  s.t.  x1^2 + x2^2 <= 1,  x1 <= 0.5  on [0, 1]^2.
 * Optimum x = (0.5, sqrt(0.75)). */
static void
test_mma_two_constraints (void)
{
  double x[2] = { 0.1, 0.1 }, df0[2], f[2], df[4];
  g_autoptr(GError) error = NULL;
  g_autoptr(TbMma) mma = tb_mma_new (2, 2, 0.0, 1.0, &error);
  g_assert_no_error (error);
  for (int it = 0; it < 200; it++)
    {
      df0[0] = -1; df0[1] = -1;
      f[0] = x[0] * x[0] + x[1] * x[1] - 1;
      df[0] = 2 * x[0]; df[1] = 2 * x[1];
      f[1] = x[0] / 0.5 - 1;
      df[2] = 1 / 0.5; df[3] = 0;
      tb_mma_update (mma, x, df0, f, df);
    }
  g_assert_cmpfloat_with_epsilon (x[0], 0.5, 1e-5);
  g_assert_cmpfloat_with_epsilon (x[1], sqrt (0.75), 1e-5);
}

/* A constraint no design within the bounds meets: min x1 + x2 on [0, 1]^2 s.t. 3 - x1 - x2 <= 0.
 * Each subproblem is infeasible too; its elastic variable y (cost c = 1000 per unit) takes the
 * excess, the dual's multiplier passes c, and MMA goes to the least violating design (1, 1), every
 * iterate finite and in the box. */
static void
test_mma_infeasible (void)
{
  double x[2] = { 0.2, 0.6 }, df0[2] = { 1, 1 }, f, df[2] = { -1, -1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TbMma) mma = tb_mma_new (2, 1, 0.0, 1.0, &error);
  g_assert_no_error (error);
  for (int it = 0; it < 30; it++)
    {
      f = 3 - x[0] - x[1];
      tb_mma_update (mma, x, df0, &f, df);
      for (int j = 0; j < 2; j++)
        g_assert_true (isfinite (x[j]) && x[j] >= 0 && x[j] <= 1);
    }
  g_assert_cmpfloat_with_epsilon (x[0], 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (x[1], 1.0, 1e-9);
}

/* Conservative constraints (GCMMA's inner loop): min -(x1 + x2)  s.t.  x1^6 + x2^6 <= 1 on [0, 1]^2
 * from the feasible (0.1, 0.1). Plain MMA's convex approximation underestimates the steep constraint
 * on the way out and overshoots it; with the inner loop every iterate is feasible (GCMMA's property,
 * Svanberg 2002), and both end at x1 = x2 = 2^(-1/6). Returns the number of infeasible iterates. */
static double
sixth (const double x[2])
{
  return pow (x[0], 6) + pow (x[1], 6) - 1;
}

static int
sixth_run (gboolean conservative, double x[2])
{
  double df0[2] = { -1, -1 }, f, df[2];
  g_autoptr(TbMma) mma = tb_mma_new (2, 1, 0.0, 1.0, NULL);
  int violations = 0;
  x[0] = x[1] = 0.1;
  for (int it = 0; it < 100; it++)
    {
      f = sixth (x);
      df[0] = 6 * pow (x[0], 5); df[1] = 6 * pow (x[1], 5);
      tb_mma_update (mma, x, df0, &f, df);
      for (int k = 0; conservative && k < 20; k++)
        {
          double fnew = sixth (x);
          if (!tb_mma_make_conservative (mma, x, &fnew))
            break;
          tb_mma_resolve (mma, x, df0, &f, df);
        }
      violations += sixth (x) > 1e-9;
    }
  return violations;
}

static void
test_mma_conservative (void)
{
  double x[2], xopt = pow (2.0, -1.0 / 6.0);
  int plain = sixth_run (FALSE, x);
  g_assert_cmpfloat_with_epsilon (x[0], xopt, 1e-5);
  int kept = sixth_run (TRUE, x);
  g_test_message ("MMA, x1^6 + x2^6 <= 1: %d infeasible iterates plain (3 seen), %d with the inner loop", plain, kept);
  g_assert_cmpint (plain, >, 0);   /* the case is a real test of the inner loop */
  g_assert_cmpint (kept, ==, 0);
  g_assert_cmpfloat_with_epsilon (x[0], xopt, 1e-5);
  g_assert_cmpfloat_with_epsilon (x[1], xopt, 1e-5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/topopt/filter/brute-force", test_filter);
  g_test_add_func ("/topopt/filter/bad-radius", test_filter_bad);
  g_test_add_func ("/topopt/projection", test_projection);
  g_test_add_func ("/topopt/mma/svanberg-cantilever", test_mma_cantilever);
  g_test_add_func ("/topopt/mma/many-variables", test_mma_many);
  g_test_add_func ("/topopt/mma/two-constraints", test_mma_two_constraints);
  g_test_add_func ("/topopt/mma/conservative-constraints", test_mma_conservative);
  g_test_add_func ("/topopt/mma/infeasible-subproblem", test_mma_infeasible);
  return g_test_run ();
}
