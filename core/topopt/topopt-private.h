/* topopt-private.h — pieces of the topopt stage shared between its files (not public API). */
#pragma once

#include "tb-topopt.h"

/* Below this many elements a loop runs on one thread: a parallel region's barrier costs more than
 * the work, and on a loaded machine a barrier can wait a whole time slice. */
#define TB_TOPOPT_OMP_MIN 20000

G_BEGIN_DECLS

/* Physical volume (sum of densities) of a trial design; used by the OC bisection. */
typedef double (*TbTopoptVolumeFunc) (const double *x, gpointer user_data);

/* One OC step (88-line code): bisection on the volume multiplier; passive variables keep x. */
void tb_topopt_oc_update (gsize n, const double *x, const double *dc, const double *dv,
                          const guint8 *passive, double move, double xmin, double target,
                          TbTopoptVolumeFunc volume, gpointer user_data, double *xnew);

G_END_DECLS

G_BEGIN_DECLS

/* The multi-resolution BMD constraints of the bone problem (paper 000). Level m box-averages the
 * fine design by factor n / 2^m; its reference is rho0 sampled trilinearly at the level's cell
 * centres (m = 0: exactly the clinical voxels). */
#define TB_TOPOPT_MAX_LEVELS 6
typedef struct {
  int nx, ny, nz;                        /* fine grid */
  int n_levels;
  int factor[TB_TOPOPT_MAX_LEVELS];
  int cn[TB_TOPOPT_MAX_LEVELS][3];
  double *ref[TB_TOPOPT_MAX_LEVELS];
  double eps1, eps2;
  double mass_ref, eps_mass;             /* mean rho0, and the allowed excess: 2 % of it */
} TbTopoptBone;

TbTopoptBone *tb_topopt_bone_new  (const TbVolume *rho0, int upscale, int n_levels,
                                   double eps1, double eps2, GError **error);
void          tb_topopt_bone_free (TbTopoptBone *bone);
/* g[0..L-1] = mean_m (avg - ref)^2 - eps1, g[L] = mean 4 x (1 - x) - eps2,
 * g[L+1] = mean x - mean rho0 - eps_mass; dg (L+2 rows of n, may be NULL) = d g / d xphys. */
void          tb_topopt_bone_eval (const TbTopoptBone *bone, const double *xphys, double *g, double *dg);

G_END_DECLS
