/* test-morpho-stiffness.c — apparent stiffness by homogenization with kinematic BCs. */
#include "tb-test.h"
#include "morpho/tb-morpho.h"

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

/* Layers alternating E_a and E_b = E_a / 4, one voxel thick, nu = 0: along the layers E is the
 * Voigt mean (E_a + E_b)/2, across them the Reuss mean 2 E_a E_b / (E_a + E_b) (with nu = 0 these
 * are the laminate's exact moduli). Along the layers kinematic BCs are exact. Across, they force
 * the mean strain on the side faces, a boundary layer about one layer thick that stiffens the
 * result by ~ (boundary elements / all) x (Voigt - Reuss): 3.5 % at 24^3, 5.3 % at 16^3, which
 * is why the 1 % across the layers is checked in 2D at 96 x 96 (0.42 % measured), where
 * it is affordable, and the 3D case (16^3) checks Voigt within 1 % and Reuss <= E3 < Reuss + 6 %. */
static void
laminate (int n, gboolean two_d, double *e_along, double *e_across)
{
  g_autoptr(TbVolume) v = tb_volume_new (n, n, two_d ? 1 : n, NULL, NULL);
  const double ea = 1000.0, eb = 250.0;
  TbStiffnessSettings s;
  tb_stiffness_settings_init (&s);
  s.e0 = ea;
  s.nu = 0.0;
  s.e_void = 1e-6;
  s.two_d = two_d;
  s.tolerance = 1e-7;  /* E to ~1e-6: the bounds checked are 1 % and more */
  /* SIMP E = Emin + (E0 - Emin) rho^3 -> rho for E_b */
  float rho_b = (float) cbrt ((eb - s.e_void) / (ea - s.e_void));
  for (int k = 0; k < v->nz; k++)
    for (int j = 0; j < n; j++)
      for (int i = 0; i < n; i++)
        v->data[tb_volume_index (v, i, j, k)] = ((two_d ? j : k) % 2 == 0) ? 1.0f : rho_b;
  TbStiffnessResult r;
  GError *error = NULL;
  g_assert_true (tb_morpho_stiffness (v, &s, &r, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  *e_along = r.e[0];
  *e_across = two_d ? r.e[1] : r.e[2];
  if (!two_d)
    tb_assert_rel (r.e[1], r.e[0], 1e-6);
}

static void
test_laminate (void)
{
  const double ea = 1000.0, eb = 250.0;
  double voigt = 0.5 * (ea + eb), reuss = 2 * ea * eb / (ea + eb), along, across;
  laminate (96, TRUE, &along, &across);
  g_test_message ("2D laminate 96^2: Ex %.4f (Voigt %.4f), Ey %.4f (Reuss %.4f)", along, voigt, across, reuss);
  tb_assert_rel (along, voigt, 0.01);
  tb_assert_rel (across, reuss, 0.01);
  laminate (16, FALSE, &along, &across);
  g_test_message ("3D laminate 16^3: E1 %.4f (Voigt %.4f), E3 %.4f (Reuss %.4f)", along, voigt, across, reuss);
  tb_assert_rel (along, voigt, 0.01);
  g_assert_cmpfloat (across, >=, reuss * (1 - 1e-6));  /* kinematic BCs bound from above */
  g_assert_cmpfloat (across, <, reuss * 1.06);
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
  g_test_add_func ("/morpho/stiffness/laminate", test_laminate);
  g_test_add_func ("/morpho/stiffness/bad-input", test_bad_input);
  return g_test_run ();
}
