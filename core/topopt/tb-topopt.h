/* tb-topopt.h — topology optimization: SIMP compliance minimization with OC or MMA, and the bone
 * resolution-enhancement problem of paper 000 (DESIGN.md, "TO problem").
 *
 * Densities live on the FE model's element grid (x fastest). Three arrays per design:
 *   x      design variables in [xmin, 1] (what the optimizer moves),
 *   x~     filtered x (density filter, radius r_min in elements, weights r_min - distance),
 *   xPhys  x~ after the optional Heaviside projection; passive solid/void forced to 1/0;
 *          the FE model sees E = Emin + (E0 - Emin) xPhys^p.
 * Problems:
 *   TB_TOPOPT_VOLUME  min c = sum_l w_l f_l^T u_l  s.t. mean(xPhys) <= volfrac   (OC or MMA)
 *   TB_TOPOPT_BONE    min c / c_start  s.t.  g_m = mean_m (xPhys(m) - rho0(m))^2 - eps1 <= 0 for
 *                     each level m (xPhys box-averaged by n / 2^m, m = 0 the clinical voxels), and
 *                     g_bw = mean 4 xPhys (1 - xPhys) - eps2 <= 0; start x = rho0 upscaled (MMA).
 * A run is an object: step it, pause it, change a load or weight, and continue from where it is. */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"
/* #include "fe/tb-fe.h" */

G_BEGIN_DECLS

#define TB_TOPOPT_ERROR (tb_topopt_error_quark ())
GQuark tb_topopt_error_quark (void);

typedef enum {
  TB_TOPOPT_ERROR_INVALID,      /* a setting out of range, or arrays that do not match the grid */
  TB_TOPOPT_ERROR_NO_BONE,      /* a VOI with (almost) no bone in it */
  TB_TOPOPT_ERROR_LOAD_ON_VOID, /* a load on passive void: it could never be carried */
  TB_TOPOPT_ERROR_FE,           /* the FE solve failed (its message follows) */
  TB_TOPOPT_ERROR_IO,           /* the history file could not be written */
} TbTopoptError;

/* ---- building blocks ---- */
typedef struct _TbTopoptFilter TbTopoptFilter;
TbTopoptFilter *tb_topopt_filter_new       (int nx, int ny, int nz, double rmin, GError **error);
void            tb_topopt_filter_free      (TbTopoptFilter *filter);
/* x~ = H x / Hs (Hs_e = sum of weights of e's neighbours inside the grid), and its adjoint. */
void            tb_topopt_filter_density   (const TbTopoptFilter *filter, const double *x, double *xf);
void            tb_topopt_filter_density_adjoint (const TbTopoptFilter *filter, const double *dxf, double *dx);
/* The 88-line sensitivity filter: dc~ = H (x dc) / (Hs max(1e-3, x)). */
void            tb_topopt_filter_sensitivity (const TbTopoptFilter *filter, const double *x,
                                              const double *dc, double *dcf);
/* Heaviside projection with threshold eta and sharpness beta; dydx may be NULL; y may be x. */
void            tb_topopt_project          (double beta, double eta, gsize n, const double *x,
                                            double *y, double *dydx);

/* MMA (Svanberg 1987): min f0(x) s.t. f_i(x) <= 0, i < m (m <= 16), xmin <= x <= xmax.
 * tb_mma_update moves xval in place, given df0dx (n), fval (m) and dfdx (m x n, row i = df_i/dx).
 * Scale f0 and f_i to order 1. Cost per update: O(n m^2). */
typedef struct _TbMma TbMma;
TbMma          *tb_mma_new                 (gsize n, int m, double xmin, double xmax, GError **error);
void            tb_mma_free                (TbMma *mma);
void            tb_mma_set_move            (TbMma *mma, double move);   /* fraction of xmax - xmin; default 0.5 */
void            tb_mma_restart             (TbMma *mma);                /* forget asymptote history */
void            tb_mma_update              (TbMma *mma, double *xval, const double *df0dx,
                                            const double *fval, const double *dfdx);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbTopoptFilter, tb_topopt_filter_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbMma, tb_mma_free)

G_END_DECLS
