/* topopt-localize.c — the VOI's load cases from a whole-bone FE (paper 000; Kim et al. 2016):
 * solve the whole bone under the hip load cases, cut the VOI out with the forces the rest of the
 * bone exerts on its boundary (the FE stage's tb_fe_localize), upscaled by n. The whole bone is
 * solved once and may serve several VOIs (the four presets of a phantom run). */
#include "tb-topopt.h"

static gboolean
check_voi (const TbVolume *rho, const TbBox *voi, int upscale, int coarsen, GError **error)
{
  if (!tb_box_check (voi, rho->nx, rho->ny, rho->nz, error))
    return FALSE;
  if (coarsen < 1 || upscale < 1 || (voi->x0 | voi->y0 | voi->z0 | voi->nx | voi->ny | voi->nz) % coarsen != 0)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "The VOI box must be aligned to the whole-bone coarsening %d (corner and size multiples of it)", coarsen);
      return FALSE;
    }
  return TRUE;
}

TbFeSolver *
tb_topopt_whole_bone_solve (const TbVolume *rho, const TbFemurLandmarks *landmarks, int coarsen,
                            GCancellable *cancellable, TbProgressFunc progress, gpointer user_data,
                            GError **error)
{
  g_return_val_if_fail (rho != NULL && landmarks != NULL, NULL);
  if (coarsen < 1)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "The whole-bone coarsening must be 1 or more (got %d)", coarsen);
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
  /* the air and soft tissue around the bone out of the model (TB_WHOLE_BONE_TRIM_RHO, TB_WHOLE_BONE_HALO) */
  tb_fe_model_trim_surroundings (whole, TB_WHOLE_BONE_TRIM_RHO, TB_WHOLE_BONE_HALO);
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
  return g_steal_pointer (&solver);
}

TbFeModel *
tb_topopt_voi_model_from_whole (TbFeSolver *whole, const TbVolume *rho, const TbBox *voi, int upscale,
                                int coarsen, GError **error)
{
  g_return_val_if_fail (whole != NULL && rho != NULL && voi != NULL, NULL);
  if (!check_voi (rho, voi, upscale, coarsen, error))
    return NULL;
  TbBox cb = { voi->x0 / coarsen, voi->y0 / coarsen, voi->z0 / coarsen,
               voi->nx / coarsen, voi->ny / coarsen, voi->nz / coarsen };
  return tb_fe_localize (whole, &cb, upscale * coarsen, error);
}

TbFeModel *
tb_topopt_voi_model_localized (const TbVolume *rho, const TbFemurLandmarks *landmarks, const TbBox *voi,
                               int upscale, int coarsen, GCancellable *cancellable, TbProgressFunc progress,
                               gpointer user_data, GError **error)
{
  g_return_val_if_fail (rho != NULL && landmarks != NULL && voi != NULL, NULL);
  /* the box's checks first: a bad VOI is refused before the long solve */
  if (!check_voi (rho, voi, upscale, coarsen, error))
    return NULL;
  g_autoptr(TbFeSolver) whole = tb_topopt_whole_bone_solve (rho, landmarks, coarsen, cancellable, progress,
                                                            user_data, error);
  if (whole == NULL)
    return NULL;
  return tb_topopt_voi_model_from_whole (whole, rho, voi, upscale, coarsen, error);
}
