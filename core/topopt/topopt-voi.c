/* topopt-voi.c — the inputs of the bone problem: relative density from BMD, and the VOI's FE model
 * with its load cases, either localized from a whole-bone FE (paper 000; Kim et al. 2016) or from
 * apparent stresses given by hand. */
#include "tb-topopt.h"

#include <math.h>
#include <string.h>

/* DESIGN.md: rho = 0.01 + 0.99 (BMD - BMDmin) / (BMDmax - BMDmin), clamped to [0.01, 1]. */
TbVolume *
tb_topopt_relative_density (const TbVolume *bmd, double bmd_min, double bmd_max, GError **error)
{
  g_return_val_if_fail (bmd != NULL, NULL);
  if (!(bmd_max > bmd_min))
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "BMD range [%g, %g] is empty; give BMDmax > BMDmin (mg HA/cm^3)", bmd_min, bmd_max);
      return NULL;
    }
  if (!tb_volume_check_finite (bmd, "the BMD image", error))
    return NULL;
  TbVolume *rho = tb_volume_new_like (bmd, error);
  if (rho == NULL)
    return NULL;
  gsize n = tb_volume_n_voxels (bmd);
#pragma omp parallel for schedule(static)
  for (gsize e = 0; e < n; e++)
    rho->data[e] = (float) CLAMP (0.01 + 0.99 * (bmd->data[e] - bmd_min) / (bmd_max - bmd_min), 0.01, 1.0);
  return rho;
}

/* Node box of the fine grid's corner nodes, for a statically determinate 3-2-1 support:
 * A fixes x, y, z; B (along x) fixes y, z; C (along y) fixes z. It removes the six rigid motions
 * and nothing else, so a self-equilibrated load sees no reaction (DESIGN.md, localized FE). */
static void
fix_321 (TbFeModel *model, const int n[3])
{
  tb_fe_model_fix (model, tb_fe_model_node (model, 0, 0, 0), TB_FE_XYZ);
  tb_fe_model_fix (model, tb_fe_model_node (model, n[0], 0, 0), TB_FE_Y | TB_FE_Z);
  tb_fe_model_fix (model, tb_fe_model_node (model, 0, n[1], 0), TB_FE_Z);
}

TbFeModel *
tb_topopt_voi_model_stress (const TbVolume *rho0, int upscale, int n_cases, const double (*stress)[6],
                            const double *weights, GError **error)
{
  g_return_val_if_fail (rho0 != NULL && stress != NULL, NULL);
  if (rho0->nz < 2 || upscale < 1 || n_cases < 1)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "A stress-loaded VOI needs a 3D VOI (got %d slices), n >= 1 and at least one stress", rho0->nz);
      return NULL;
    }
  double h[3];
  for (int d = 0; d < 3; d++)
    h[d] = rho0->spacing[d] / upscale;
  int n[3] = { rho0->nx * upscale, rho0->ny * upscale, rho0->nz * upscale };
  g_autoptr(TbFeModel) model = tb_fe_model_new (n[0], n[1], n[2], h, error);
  if (model == NULL)
    return NULL;
  const double origin[3] = { rho0->origin[0] - rho0->spacing[0] / 2, rho0->origin[1] - rho0->spacing[1] / 2,
                             rho0->origin[2] - rho0->spacing[2] / 2 };
  tb_fe_model_set_origin (model, origin);
  fix_321 (model, n);
  for (int lc = 0; lc < n_cases; lc++)
    {
      g_autofree char *name = g_strdup_printf ("stress %d", lc + 1);
      int id = tb_fe_model_add_load_case (model, name, weights != NULL ? weights[lc] : 1.0);
      const double *s = stress[lc];   /* sxx syy szz sxy syz sxz */
      const double sig[3][3] = { { s[0], s[3], s[5] }, { s[3], s[1], s[4] }, { s[5], s[4], s[2] } };
      /* traction t = sigma n on every outer face: equilibrated, so the 3-2-1 support carries nothing */
      for (int axis = 0; axis < 3; axis++)
        for (int side = 0; side < 2; side++)
          {
            int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
            double t[3];
            for (int c = 0; c < 3; c++)
              t[c] = sig[c][axis] * (side ? 1.0 : -1.0);
            TbFeFace face = (TbFeFace) (2 * axis + side);
            for (int q = 0; q < n[a2]; q++)
              for (int p = 0; p < n[a1]; p++)
                {
                  int ijk[3];
                  ijk[axis] = side ? n[axis] - 1 : 0;
                  ijk[a1] = p;
                  ijk[a2] = q;
                  gsize e = ijk[0] + (gsize) n[0] * (ijk[1] + (gsize) n[1] * ijk[2]);
                  tb_fe_model_add_traction (model, id, e, face, t);
                }
          }
    }
  return g_steal_pointer (&model);
}
