/* test-morpho-stiffness.c — apparent stiffness by homogenization with kinematic BCs. */
#include "tb-test.h"
#include "morpho/tb-morpho.h"
#include "fe/tb-fe.h"

#include <math.h>

static void
test_homogeneous (void)
{
  for (int two_d = 0; two_d <= 1; two_d++)
    {
      const double sp[3] = { 0.05, 0.05, 0.05 };
      g_autoptr(TbVolume) v = tb_volume_new (10, 8, two_d ? 1 : 6, sp, NULL);
      for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
        v->data[i] = 1.0f;
      TbStiffnessSettings s;
      tb_stiffness_settings_init (&s);
      s.e0 = 1000.0;
      s.nu = 0.3;
      s.two_d = two_d;
      TbStiffnessResult r;
      GError *error = NULL;
      g_assert_true (tb_morpho_stiffness (v, &s, &r, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      double g0 = s.e0 / (2 * (1 + s.nu));
      /* The affine field is the exact FE solution of a homogeneous body (hexahedra and quads
       * reproduce constant strain), so the only error is the solver's: rtol 1e-9 on the residual
       * gives ~1e-8 on the mean stress. "Exactly" means 1e-7 relative here. */
      if (two_d)
        {
          g_test_message ("2D: Ex %.9g Ey %.9g Gxy %.9g nu_xy %.9g", r.e[0], r.e[1], r.g[2], r.nu[0]);
          tb_assert_rel (r.e[0], s.e0, 1e-7);
          tb_assert_rel (r.e[1], s.e0, 1e-7);
          tb_assert_rel (r.g[2], g0, 1e-7);
          tb_assert_rel (r.nu[0], s.nu, 1e-7);
        }
      else
        {
          g_test_message ("3D: E %.9g %.9g %.9g G %.9g %.9g %.9g nu12 %.9g", r.e[0], r.e[1], r.e[2],
                          r.g[0], r.g[1], r.g[2], r.nu[0]);
          for (int i = 0; i < 3; i++)
            {
              tb_assert_rel (r.e[i], s.e0, 1e-7);
              tb_assert_rel (r.g[i], g0, 1e-7);
            }
          for (int q = 0; q < 6; q++)
            tb_assert_rel (r.nu[q], s.nu, 1e-7);
          /* C11 = E (1 - nu) / ((1 + nu)(1 - 2 nu)) */
          tb_assert_rel (r.c[0], s.e0 * (1 - s.nu) / ((1 + s.nu) * (1 - 2 * s.nu)), 1e-7);
        }
    }
}

/* ---- laminate ---------------------------------------------------------------------------------
 * Layers normal to z (2D: to y), one voxel thick, alternating E_a (even k) and E_b = E_a / 4, equal
 * Poisson's ratio nu. Its exact effective stiffness (Backus 1962, JGR 67:4427) follows from the
 * laminate field: in-plane strains and the out-of-plane stresses sigma_zz, sigma_xz, sigma_yz are the
 * same in every layer. With M = lambda + 2 mu and <.> the mean over the layers:
 *   C33 = 1 / <1/M>,  C13 = <lambda/M> C33,  C11 = <4 mu (lambda + mu) / M> + <lambda/M>^2 C33.
 * nu = 0 (lambda = 0, M = E) gives C11 = <E> (Voigt), C33 = 1 / <1/E> (Reuss), C13 = 0 and a
 * diagonal C, so E1 = Voigt and E3 = Reuss. */
static const double EA = 1000.0, EB = 250.0, E_VOID = 1e-6;

static void
backus (double nu, double *c11, double *c13, double *c33)
{
  double inv_m = 0, lam_m = 0, in_plane = 0;
  const double e[2] = { EA, EB };
  for (int q = 0; q < 2; q++)
    {
      double lam = e[q] * nu / ((1 + nu) * (1 - 2 * nu)), mu = e[q] / (2 * (1 + nu)), m = lam + 2 * mu;
      inv_m += 0.5 / m;
      lam_m += 0.5 * lam / m;
      in_plane += 0.5 * 4 * mu * (lam + mu) / m;
    }
  *c33 = 1 / inv_m;
  *c13 = lam_m * *c33;
  *c11 = in_plane + lam_m * lam_m * *c33;
}

/* rho of the E_b layers: SIMP E = Emin + (E0 - Emin) rho^3 */
static float
rho_b (void)
{
  return (float) cbrt ((EB - E_VOID) / (EA - E_VOID));
}

static float
laminate_density (int j, int k, gboolean two_d)
{
  return ((two_d ? j : k) % 2 == 0) ? 1.0f : rho_b ();
}

/* The laminate under mixed BCs: on every face the normal displacement component is the affine one
 * of the unit strain (case 0: eps_xx = 1, case 1: eps_zz = 1), the tangential components are free.
 * The laminate field meets these BCs (its u_z is piecewise linear in z and equals the affine value on
 * the z faces, which lie on layer boundaries of whole periods; u_x = eps_xx x), and trilinear hexahedra
 * hold it exactly, so the FE answer is the Backus C to solver tolerance. The mean stress is
 * (1/V) sum R_a x_b over the boundary nodes, as tb_morpho_stiffness computes it. Returns
 * C11, C31 (case 0) and C13, C33 (case 1). */
static void
laminate_mixed (int n, double nu, double *c11, double *c31, double *c13, double *c33)
{
  const double h[3] = { 1, 1, 1 };
  GError *error = NULL;
  g_autoptr(TbFeModel) m = tb_fe_model_new (n, n, n, h, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_model_set_material (m, EA, E_VOID, nu, 3.0, &error));
  float *rho = g_new (float, (gsize) n * n * n);
  for (int k = 0; k < n; k++)
    for (int j = 0; j < n; j++)
      for (int i = 0; i < n; i++)
        rho[i + (gsize) n * (j + (gsize) n * k)] = laminate_density (j, k, FALSE);
  g_assert_true (tb_fe_model_set_density (m, rho, &error));
  g_free (rho);
  const double c = n / 2.0;
  for (int l = 0; l < 2; l++)
    {
      tb_fe_model_add_load_case (m, l == 0 ? "xx" : "zz", 1.0);
      const int loaded = l == 0 ? 0 : 2;
      for (int k = 0; k <= n; k++)
        for (int j = 0; j <= n; j++)
          for (int i = 0; i <= n; i++)
            {
              const int p[3] = { i, j, k };
              for (int a = 0; a < 3; a++)
                if (p[a] == 0 || p[a] == n)
                  tb_fe_model_prescribe (m, l, tb_fe_model_node (m, i, j, k), a, a == loaded ? p[a] - c : 0.0);
            }
    }
  TbFeSettings fs;
  tb_fe_settings_init (&fs);
  fs.rtol = 1e-10;
  fs.max_iter = 2000;
  TbFeSolver *solver = tb_fe_solver_new (m, &fs, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_solve (solver, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  double *r = g_new (double, tb_fe_model_n_dofs (m)), sig[2][2] = { { 0 } };
  for (int l = 0; l < 2; l++)
    {
      tb_fe_solver_reactions (solver, l, r);
      for (int k = 0; k <= n; k++)
        for (int j = 0; j <= n; j++)
          for (int i = 0; i <= n; i++)
            {
              gsize node = tb_fe_model_node (m, i, j, k);
              sig[l][0] += r[node * 3 + 0] * (i - c);  /* sigma_xx V */
              sig[l][1] += r[node * 3 + 2] * (k - c);  /* sigma_zz V */
            }
    }
  g_free (r);
  tb_fe_solver_free (solver);
  const double v = (double) n * n * n;
  *c11 = sig[0][0] / v;
  *c31 = sig[0][1] / v;
  *c13 = sig[1][0] / v;
  *c33 = sig[1][1] / v;
}

/* The FE and the mean stress from reactions reproduce the exact laminate where the BCs admit its
 * field: Voigt and Reuss (nu = 0) and the Backus C (nu = 0.3), to solver tolerance. */
static void
test_laminate_exact (void)
{
  for (int q = 0; q < 2; q++)
    {
      const double nu = q == 0 ? 0.0 : 0.3;
      double c11, c31, c13, c33, b11, b13, b33;
      backus (nu, &b11, &b13, &b33);
      laminate_mixed (16, nu, &c11, &c31, &c13, &c33);
      g_test_message ("laminate 16^3, mixed BCs, nu %.1f: C11 %.6f (Backus %.6f) C33 %.6f (%.6f) C13 %.6f C31 %.6f (%.6f)",
                      nu, c11, b11, c33, b33, c13, c31, b13);
      tb_assert_rel (c11, b11, 1e-6);
      tb_assert_rel (c33, b33, 1e-6);
      if (nu == 0.0)
        {
          tb_assert_rel (c11, 0.5 * (EA + EB), 1e-6);          /* Voigt */
          tb_assert_rel (c33, 2 * EA * EB / (EA + EB), 1e-6);  /* Reuss */
          g_assert_cmpfloat (fabs (c13) + fabs (c31), <, 1e-6 * EA);
        }
      else
        {
          tb_assert_rel (c13, b13, 1e-6);
          tb_assert_rel (c31, b13, 1e-6);
        }
    }
}

/* tb_morpho_stiffness's kinematic BCs (the affine displacement on EVERY boundary node), nu = 0, on
 * a laminate n_lat wide (nz = 4: two periods; 2D: n_lat x n_lat).
 * Along the layers the affine field itself is the laminate field (nu = 0: no lateral stress, no
 * traction jump across the interfaces), so E1 = Voigt to solver tolerance.
 * Across, the side faces are held at u_z = eps z, where the laminate's u_z is a zigzag (the soft
 * layers strain 1.6x the mean, the stiff ones 0.4x): a boundary layer along the side faces, its
 * depth set by the layer period, carries the misfit, and E3 exceeds Reuss by (its energy) / V, in
 * proportion to (side area) / V = 4 / n_lat in 3D (2 / n_lat in 2D). Measured (E3 / Reuss - 1): 3D slabs 3.10 %
 * at 32, 1.57 % at 64, 0.79 % at 128 (100 / n_lat %); the 16^3 cube 5.27 %; 2D 0.42 % at 96
 * (40 / n_lat %: two side edges where 3D has four side faces). So Reuss is the kinematic
 * answer only in the limit, and the 1 % needs n_lat >= ~100 in 3D: a 128 x 128 x 4 slab
 * (the depth does not enter the side-area ratio). The 1/n law is checked too: Richardson's
 * 2 E3(128) - E3(64) removes it and lands on Reuss. */
static TbStiffnessResult
laminate_kinematic (int n_lat, gboolean two_d)
{
  g_autoptr(TbVolume) v = tb_volume_new (n_lat, n_lat, two_d ? 1 : 4, NULL, NULL);
  TbStiffnessSettings s;
  tb_stiffness_settings_init (&s);
  s.e0 = EA;
  s.nu = 0.0;
  s.e_void = E_VOID;
  s.two_d = two_d;
  s.tolerance = 1e-8;
  for (int k = 0; k < v->nz; k++)
    for (int j = 0; j < v->ny; j++)
      for (int i = 0; i < v->nx; i++)
        v->data[tb_volume_index (v, i, j, k)] = laminate_density (j, k, two_d);
  TbStiffnessResult r;
  GError *error = NULL;
  g_assert_true (tb_morpho_stiffness (v, &s, &r, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return r;
}

static void
test_laminate_kinematic (void)
{
  const double voigt = 0.5 * (EA + EB), reuss = 2 * EA * EB / (EA + EB);
  TbStiffnessResult r2 = laminate_kinematic (96, TRUE);
  g_test_message ("2D laminate 96^2, kinematic: Ex %.6f (Voigt %.4f), Ey %.4f (Reuss %.4f, %+.2f %%)",
                  r2.e[0], voigt, r2.e[1], reuss, 100 * (r2.e[1] / reuss - 1));
  tb_assert_rel (r2.e[0], voigt, 1e-6);
  g_assert_cmpfloat (r2.e[1], >=, reuss * (1 - 1e-6));  /* kinematic BCs bound from above */
  tb_assert_rel (r2.e[1], reuss, 0.01);

  double e3[2];
  for (int q = 0; q < 2; q++)
    {
      const int n = q == 0 ? 64 : 128;
      TbStiffnessResult r = laminate_kinematic (n, FALSE);
      g_test_message ("3D laminate %d x %d x 4, kinematic: E1 %.6f E2 %.6f (Voigt %.4f), E3 %.4f (Reuss %.4f, %+.2f %%)",
                      n, n, r.e[0], r.e[1], voigt, r.e[2], reuss, 100 * (r.e[2] / reuss - 1));
      tb_assert_rel (r.e[0], voigt, 1e-6);
      tb_assert_rel (r.e[1], voigt, 1e-6);
      g_assert_cmpfloat (r.e[2], >=, reuss * (1 - 1e-6));
      e3[q] = r.e[2];
    }
  tb_assert_rel (e3[1], reuss, 0.01);                       /* the bound, at n_lat = 128 */
  const double ratio = (e3[0] - reuss) / (e3[1] - reuss);   /* 1/n_lat: twice the excess at half the width */
  const double limit = 2 * e3[1] - e3[0];
  g_test_message ("3D excess over Reuss, 64 vs 128: ratio %.3f (1/n law: 2); extrapolated E3 %.4f (%+.3f %%)",
                  ratio, limit, 100 * (limit / reuss - 1));
  g_assert_cmpfloat (fabs (ratio - 2.0), <, 0.1);
  tb_assert_rel (limit, reuss, 1e-3);
}

static void
test_bad_input (void)
{
  g_autoptr(TbVolume) v = tb_volume_new (4, 4, 4, NULL, NULL);
  TbStiffnessSettings s;
  tb_stiffness_settings_init (&s);
  TbStiffnessResult r;
  GError *error = NULL;
  g_assert_false (tb_morpho_stiffness (v, &s, &r, NULL, NULL, NULL, &error));  /* all void */
  g_assert_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_EMPTY);
  g_clear_error (&error);
  v->data[0] = 255.0f;
  g_assert_false (tb_morpho_stiffness (v, &s, &r, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_NOT_BINARY);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/morpho/stiffness/homogeneous", test_homogeneous);
  g_test_add_func ("/morpho/stiffness/laminate-exact", test_laminate_exact);
  g_test_add_func ("/morpho/stiffness/laminate-kinematic", test_laminate_kinematic);
  g_test_add_func ("/morpho/stiffness/bad-input", test_bad_input);
  return g_test_run ();
}
