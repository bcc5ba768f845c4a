/* morpho-stiffness.c — apparent stiffness of a VOI by FE homogenization with kinematic BCs. */
#include "tb-morpho.h"
#include "fe/tb-fe.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

void
tb_stiffness_settings_init (TbStiffnessSettings *s)
{
  s->e0 = 15000.0;  /* MPa: a typical tissue modulus (DESIGN.md: 10-20 GPa) */
  s->nu = 0.3;
  s->e_void = 0.0;  /* -> 1e-6 E0 */
  s->two_d = FALSE;
  s->tolerance = 1e-9;
}

/* unit strains in Voigt order (xx yy zz yz zx xy / 2D: xx yy xy), engineering shear = 1 */
static void
unit_strain (int dim, int l, double eps[3][3])
{
  memset (eps, 0, 9 * sizeof (double));
  static const int pair3[6][2] = { { 0, 0 }, { 1, 1 }, { 2, 2 }, { 1, 2 }, { 2, 0 }, { 0, 1 } };
  static const int pair2[3][2] = { { 0, 0 }, { 1, 1 }, { 0, 1 } };
  const int *p = dim == 3 ? pair3[l] : pair2[l];
  if (p[0] == p[1])
    eps[p[0]][p[0]] = 1.0;
  else
    eps[p[0]][p[1]] = eps[p[1]][p[0]] = 0.5;
}

gboolean
tb_morpho_stiffness (const TbVolume *density, const TbStiffnessSettings *settings,
                     TbStiffnessResult *result, GCancellable *cancellable,
                     TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (density != NULL && settings != NULL && result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (result, 0, sizeof *result);

  const gboolean two_d = settings->two_d || density->nz == 1;
  const int dim = two_d ? 2 : 3, nc = two_d ? 3 : 6;
  const int nx = density->nx, ny = density->ny, nz = two_d ? 1 : density->nz;
  if (nx < 1 || ny < 1 || nz < 1 || (!two_d && nz < 1))
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL, "The volume is empty");
      return FALSE;
    }
  gsize n_el = (gsize) nx * ny * nz;
  double rho_max = 0.0;
  for (gsize e = 0; e < n_el; e++)
    {
      float r = density->data[e];
      if (!(r >= 0.0f && r <= 1.0f))
        {
          g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_NOT_BINARY,
                       "Densities must lie in [0, 1] (found %g); give --threshold to turn an image into bone/void",
                       (double) r);
          return FALSE;
        }
      rho_max = MAX (rho_max, r);
    }
  if (rho_max == 0.0)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_EMPTY,
                   "The VOI holds no material (all densities 0): its stiffness is zero");
      return FALSE;
    }
  double e_void = settings->e_void > 0 ? settings->e_void : 1e-6 * settings->e0;

  const double h[3] = { density->spacing[0], density->spacing[1], two_d ? 1.0 : density->spacing[2] };
  g_autoptr(TbFeModel) model = tb_fe_model_new (nx, ny, two_d ? 1 : nz, h, error);
  if (model == NULL)
    return FALSE;
  if (!tb_fe_model_set_material (model, settings->e0, e_void, settings->nu, 3.0, error)
      || !tb_fe_model_set_density (model, density->data, error))
    return FALSE;

  /* affine displacements u = eps (x - centre) on the boundary nodes, one load case per strain */
  const double c[3] = { nx * h[0] / 2, ny * h[1] / 2, two_d ? 0.0 : nz * h[2] / 2 };
  const int kmax = two_d ? 0 : nz;
  for (int l = 0; l < nc; l++)
    {
      g_autofree char *name = g_strdup_printf ("unit strain %d", l + 1);
      int lc = tb_fe_model_add_load_case (model, name, 1.0);
      double eps[3][3];
      unit_strain (dim, l, eps);
      for (int k = 0; k <= kmax; k++)
        for (int j = 0; j <= ny; j++)
          for (int i = 0; i <= nx; i++)
            {
              gboolean boundary = i == 0 || i == nx || j == 0 || j == ny || (!two_d && (k == 0 || k == nz));
              if (!boundary)
                continue;
              double x[3] = { i * h[0] - c[0], j * h[1] - c[1], two_d ? 0.0 : k * h[2] - c[2] };
              gsize node = tb_fe_model_node (model, i, j, k);
              for (int a = 0; a < dim; a++)
                {
                  double u = 0.0;
                  for (int b = 0; b < dim; b++)
                    u += eps[a][b] * x[b];
                  tb_fe_model_prescribe (model, lc, node, a, u);
                }
            }
    }

  TbFeSettings fs;
  tb_fe_settings_init (&fs);
  fs.rtol = settings->tolerance;
  fs.max_iter = 2000;
  TbFeSolver *solver = tb_fe_solver_new (model, &fs, error);
  if (solver == NULL)
    return FALSE;
  if (!tb_fe_solve (solver, cancellable, progress, user_data, error))
    {
      tb_fe_solver_free (solver);
      return FALSE;
    }

  /* mean stress from the boundary reactions: sigma_ab = (1/V) sum R_a x_b (symmetrized) */
  const double volume = nx * h[0] * ny * h[1] * (two_d ? 1.0 : nz * h[2]);  /* 2D: unit thickness */
  double *reac = g_new (double, tb_fe_model_n_dofs (model));
  double cm[36] = { 0 };
  for (int l = 0; l < nc; l++)
    {
      tb_fe_solver_reactions (solver, l, reac);
      double sig[3][3] = { { 0 } };
      for (int k = 0; k <= kmax; k++)
        for (int j = 0; j <= ny; j++)
          for (int i = 0; i <= nx; i++)
            {
              if (!(i == 0 || i == nx || j == 0 || j == ny || (!two_d && (k == 0 || k == nz))))
                continue;
              double x[3] = { i * h[0] - c[0], j * h[1] - c[1], two_d ? 0.0 : k * h[2] - c[2] };
              gsize node = tb_fe_model_node (model, i, j, k);
              for (int a = 0; a < dim; a++)
                for (int b = 0; b < dim; b++)
                  sig[a][b] += 0.5 * (reac[node * dim + a] * x[b] + reac[node * dim + b] * x[a]);
            }
      static const int pair3[6][2] = { { 0, 0 }, { 1, 1 }, { 2, 2 }, { 1, 2 }, { 2, 0 }, { 0, 1 } };
      static const int pair2[3][2] = { { 0, 0 }, { 1, 1 }, { 0, 1 } };
      for (int r = 0; r < nc; r++)
        {
          const int *p = two_d ? pair2[r] : pair3[r];
          cm[r * nc + l] = sig[p[0]][p[1]] / volume;
        }
    }
  g_free (reac);
  tb_fe_solver_free (solver);

  /* symmetrize (C is symmetric up to the solver tolerance) and invert */
  for (int r = 0; r < nc; r++)
    for (int q = r + 1; q < nc; q++)
      cm[r * nc + q] = cm[q * nc + r] = 0.5 * (cm[r * nc + q] + cm[q * nc + r]);
  memcpy (result->c, cm, sizeof (double) * nc * nc);
  double s[36];
  memcpy (s, cm, sizeof (double) * nc * nc);
  if (LAPACKE_dpotrf (LAPACK_ROW_MAJOR, 'U', nc, s, nc) != 0
      || LAPACKE_dpotri (LAPACK_ROW_MAJOR, 'U', nc, s, nc) != 0)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_SOLVER,
                   "The apparent stiffness matrix is not positive definite: the structure does not carry "
                   "load in every direction (disconnected bone?)");
      return FALSE;
    }
  for (int r = 0; r < nc; r++)
    for (int q = 0; q < r; q++)
      s[r * nc + q] = s[q * nc + r];
  if (two_d)
    {
      result->e[0] = 1.0 / s[0];
      result->e[1] = 1.0 / s[4];
      result->e[2] = NAN;
      result->g[0] = result->g[1] = NAN;
      result->g[2] = 1.0 / s[8];
      result->nu[0] = -s[1 * 3 + 0] / s[0];  /* nu_xy */
      result->nu[3] = -s[0 * 3 + 1] / s[4];  /* nu_yx */
      result->nu[1] = result->nu[2] = result->nu[4] = result->nu[5] = NAN;
    }
  else
    {
      for (int i = 0; i < 3; i++)
        {
          result->e[i] = 1.0 / s[i * 6 + i];
          result->g[i] = 1.0 / s[(i + 3) * 6 + i + 3];  /* G23, G31, G12 */
        }
      /* nu_12 nu_13 nu_23 nu_21 nu_31 nu_32: nu_ij = -S_ji / S_ii */
      static const int ij[6][2] = { { 0, 1 }, { 0, 2 }, { 1, 2 }, { 1, 0 }, { 2, 0 }, { 2, 1 } };
      for (int q = 0; q < 6; q++)
        result->nu[q] = -s[ij[q][1] * 6 + ij[q][0]] / s[ij[q][0] * 6 + ij[q][0]];
    }
  return TRUE;
}
