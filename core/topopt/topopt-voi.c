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

TbFeModel *
tb_topopt_voi_model_localized (const TbVolume *rho, const TbFemurLandmarks *landmarks, const TbBox *voi,
                               int upscale, int coarsen, GCancellable *cancellable, TbProgressFunc progress,
                               gpointer user_data, GError **error)
{
  g_return_val_if_fail (rho != NULL && landmarks != NULL && voi != NULL, NULL);
  if (!tb_box_check (voi, rho->nx, rho->ny, rho->nz, error))
    return NULL;
  if (coarsen < 1 || upscale < 1 || (voi->x0 | voi->y0 | voi->z0 | voi->nx | voi->ny | voi->nz) % coarsen != 0)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "The VOI box must be aligned to the whole-bone coarsening %d (corner and size multiples of it)", coarsen);
      return NULL;
    }
  g_autoptr(TbVolume) coarse = coarsen > 1 ? tb_volume_downscale (rho, coarsen, coarsen, coarsen, error)
                                           : tb_volume_ref ((TbVolume *) rho);
  if (coarse == NULL)
    return NULL;
  if (progress != NULL)
    progress (0.0, "Whole-bone FE under the hip load cases", user_data);
  g_autoptr(TbFeModel) whole = tb_fe_model_new (coarse->nx, coarse->ny, coarse->nz, coarse->spacing, error);
  if (whole == NULL)
    return NULL;
  const double origin[3] = { coarse->origin[0] - coarse->spacing[0] / 2, coarse->origin[1] - coarse->spacing[1] / 2,
                             coarse->origin[2] - coarse->spacing[2] / 2 };
  tb_fe_model_set_origin (whole, origin);
  /* apparent level: E ~ rho^2 (Gibson & Ashby, cellular solids), tissue E0 15 GPa */
  if (!tb_fe_model_set_material (whole, 15000.0, 15000.0 * 1e-6, 0.3, 2.0, error)
      || !tb_fe_model_set_density (whole, coarse->data, error))
    return NULL;
  guint n_cases;
  const TbFeHipCase *cases = tb_fe_hip_cases_default (&n_cases);
  if (!tb_fe_model_add_hip_loads (whole, landmarks, cases, n_cases, 0, 0, error))
    return NULL;
  TbFeSettings fs;
  tb_fe_settings_init (&fs);
  fs.rtol = 1e-6;
  g_autoptr(TbFeSolver) solver = tb_fe_solver_new (whole, &fs, error);
  if (solver == NULL || !tb_fe_solve (solver, cancellable, progress, user_data, error))
    return NULL;
  TbBox cb = { voi->x0 / coarsen, voi->y0 / coarsen, voi->z0 / coarsen,
               voi->nx / coarsen, voi->ny / coarsen, voi->nz / coarsen };
  return tb_fe_localize (solver, &cb, upscale * coarsen, error);
}
