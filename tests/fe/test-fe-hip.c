/* test-fe-hip.c — the three hip load cases on the phantom femur at clinical resolution. */
#include "fe/tb-fe.h"
#include "phantom/tb-phantom.h"
#include "tb-test.h"

#include <math.h>

static void
test_hip (void)
{
  g_autoptr(GError) error = NULL;
  TbPhantomParams p;
  tb_phantom_params_init (&p);
  p.clinical_spacing = 3.0;  /* coarse, to keep the test short */
  p.margin = 1.0;
  p.noise_sigma = 0;
  g_autoptr(TbPhantom) ph = tb_phantom_new (&p, &error);
  g_assert_no_error (error);
  g_autoptr(TbPhantomQct) q = tb_phantom_simulate_qct (ph, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(TbVolume) rho = tb_volume_copy (q->bone_fraction, &error);
  for (gsize i = 0; i < tb_volume_n_voxels (rho); i++)
    rho->data[i] = q->bone_mask->data[i] ? MAX (0.01f, rho->data[i]) : 0.0f;
  g_autoptr(TbFeModel) m = tb_fe_model_new_from_volume (rho, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_model_set_material (m, 15000, 0, 0.3, 3, &error));  /* empty space outside the bone */
  TbFemurLandmarks lm;
  tb_phantom_get_landmarks (ph, &lm);
  g_assert_true (tb_fe_model_add_hip_loads (m, &lm, NULL, 0, 0, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tb_fe_model_n_load_cases (m), ==, 3);
  guint nd;
  const TbFeHipCase *hc = tb_fe_hip_cases_default (&nd);
  g_assert_cmpuint (nd, ==, 3);
  g_assert_cmpstr (tb_fe_model_load_case_name (m, 0), ==, "one-legged stance");
  tb_assert_rel (tb_fe_model_load_case_weight (m, 0), 0.6, 1e-15);
  tb_assert_rel (tb_fe_model_load_case_weight (m, 2), 0.2, 1e-15);
  TbFeSettings s;
  tb_fe_settings_init (&s);
  s.rtol = 1e-10;
  g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
  g_assert_no_error (error);
  g_assert_true (tb_fe_solve (S, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  gsize n = tb_fe_model_n_dofs (m);
  g_autofree double *R = g_new (double, n);
  for (int lc = 0; lc < 3; lc++)
    {
      /* applied resultant = joint + abductor force, exactly (x lateral, z proximal for the phantom) */
      double tj = hc[lc].joint_angle * G_PI / 180, ta = hc[lc].abductor_angle * G_PI / 180;
      double want[3] = { hc[lc].joint_force * sin (tj) - hc[lc].abductor_force * sin (ta), 0,
                         -hc[lc].joint_force * cos (tj) + hc[lc].abductor_force * cos (ta) };
      const double *f = tb_fe_model_get_forces (m, lc);
      double got[3] = { 0, 0, 0 }, rsum[3] = { 0, 0, 0 };
      tb_fe_solver_reactions (S, lc, R);
      for (gsize d = 0; d < n; d++)
        {
          got[d % 3] += f[d];
          if (tb_fe_model_is_constrained (m, d))
            rsum[d % 3] += R[d];
        }
      double scale = hc[lc].joint_force;
      for (int c = 0; c < 3; c++)
        {
          g_assert_cmpfloat (fabs (got[c] - want[c]), <=, 1e-10 * scale);
          /* supports carry the whole load: rtol 1e-10 on the residual -> 1e-6 of the load is safe */
          g_assert_cmpfloat (fabs (rsum[c] + got[c]), <=, 1e-6 * scale);
        }
      TbFeCaseStats st;
      tb_fe_solver_get_stats (S, lc, &st);
      g_test_message ("%s: %d iterations, compliance %.6g N mm, resultant (%.1f, %.1f, %.1f) N",
                      tb_fe_model_load_case_name (m, lc), st.iterations, st.compliance, got[0], got[1], got[2]);
      g_assert_cmpfloat (st.compliance, >, 0);
    }
  /* the head moves down under stance: mean z displacement of the head centre's neighbourhood < 0 */
  const double *u = tb_fe_solver_get_displacement (S, 0);
  int N[3];
  double h[3];
  tb_fe_model_get_dims (m, N, h);
  double uz = 0;
  int cnt = 0;
  for (int k = 0; k <= N[2]; k++)
    for (int j = 0; j <= N[1]; j++)
      for (int i = 0; i <= N[0]; i++)
        {
          double x[3] = { rho->origin[0] - h[0] / 2 + i * h[0], rho->origin[1] - h[1] / 2 + j * h[1],
                          rho->origin[2] - h[2] / 2 + k * h[2] };
          double d2 = 0;
          for (int a = 0; a < 3; a++)
            d2 += (x[a] - lm.head_centre[a]) * (x[a] - lm.head_centre[a]);
          if (d2 < lm.head_radius * lm.head_radius)
            {
              uz += u[tb_fe_model_node (m, i, j, k) * 3 + 2];
              cnt++;
            }
        }
  g_assert_cmpint (cnt, >, 0);
  g_assert_cmpfloat (uz / cnt, <, 0);
  /* landmarks far from the bone: a clear error */
  TbFemurLandmarks far = lm;
  far.shaft_distal[2] -= 500;
  g_autoptr(TbFeModel) m2 = tb_fe_model_new_from_volume (rho, &error);
  g_assert_false (tb_fe_model_add_hip_loads (m2, &far, NULL, 0, 0, 0, &error));
  g_assert_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fe/hip", test_hip);
  return g_test_run ();
}
