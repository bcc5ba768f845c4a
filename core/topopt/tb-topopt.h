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
 *                     g_bw = mean 4 xPhys (1 - xPhys) - eps2 <= 0, and the VOI's mass
 *                     g_mass = mean xPhys - mean rho0 - 0.02 mean rho0 <= 0; start x = rho0 upscaled (MMA).
 * A run is an object: step it, pause it, change a load or weight, and continue from where it is. */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"
#include "fe/tb-fe.h"

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
/* Conservative constraints (GCMMA, Svanberg 2007, for the constraints only: they are cheap to
 * evaluate, the objective needs an FE solve). After an update to xnew, give the true constraint
 * values fnew there: where fnew_i > 0 and the approximation fell short of it, its curvature term is raised
 * and TRUE is returned; tb_mma_resolve then solves the same iteration's subproblem again (same
 * expansion point, asymptotes and gradients) and writes the new point to xval. */
gboolean        tb_mma_make_conservative   (TbMma *mma, const double *xnew, const double *fnew);
void            tb_mma_resolve             (TbMma *mma, double *xval, const double *df0dx,
                                            const double *fval, const double *dfdx);


/* ---- the optimization run ---- */
typedef enum { TB_TOPOPT_VOLUME, TB_TOPOPT_BONE } TbTopoptProblem;
typedef enum { TB_TOPOPT_OC, TB_TOPOPT_MMA } TbTopoptOptimizer;
typedef enum { TB_TOPOPT_FILTER_SENSITIVITY, TB_TOPOPT_FILTER_DENSITY } TbTopoptFilterKind;
typedef enum {
  TB_TOPOPT_RUNNING,      /* more iterations to go */
  TB_TOPOPT_PAUSED,       /* tb_topopt_run_pause was called; run again to continue */
  TB_TOPOPT_CONVERGED,    /* max design change < tol (at the final beta) */
  TB_TOPOPT_MAX_ITER,     /* max_iterations reached */
  TB_TOPOPT_INFEASIBLE,   /* ended with a constraint g > 0: the least-violating design is kept */
} TbTopoptState;

typedef struct {
  TbTopoptProblem problem;
  TbTopoptOptimizer optimizer;   /* VOLUME: OC (default) or MMA; BONE: MMA */
  TbTopoptFilterKind filter;     /* default DENSITY */
  double rmin;                   /* filter radius in elements; VOLUME 1.5, BONE 1.5 */
  double E0, Emin, nu, penal;    /* set on the model; 1, 1e-9, 0.3, 3 (BONE: E0 15000 MPa, Emin 1e-4 E0) */
  double xmin;                   /* lower bound of x; VOLUME 0, BONE 0.001 */
  double move;                   /* VOLUME 0.2 (88-line), BONE 0.1 */
  double volfrac;                /* VOLUME: mean xPhys bound; default 0.5 */
  double beta, beta_max, eta;    /* Heaviside: start beta (0 = off), doubled up to beta_max; eta 0.5 */
  int beta_every;                /* double beta every this many iterations (or on convergence) */
  double tol;                    /* stop when max |x_new - x| < tol; 0.01 */
  int max_iterations;            /* VOLUME 1000 (the 88-line code has none), BONE 80 */
  double fe_rtol;                /* CG tolerance of each FE solve; VOLUME 1e-5, BONE 1e-4 */
  /* BONE */
  int upscale;                   /* n: sub-voxels per clinical voxel per axis; 8 */
  int n_levels;                  /* BMD levels: block factors n, n/2, ... (each >= 2); 1 */
  double eps1, eps2;             /* BMD deviation and black-and-white tolerances; 0.002, 0.25 */
  int bw_ramp;                   /* eps2 is reached linearly from the start's grey level over this many iterations; 30 */
} TbTopoptSettings;
void tb_topopt_settings_init (TbTopoptSettings *settings, TbTopoptProblem problem);

/* After every iteration. objective: VOLUME c = sum_l w_l c_l; BONE c / c(start). constraints: g_i
 * unscaled (VOLUME: mean xPhys - volfrac; BONE: g_0 .. g_{L-1}, g_bw, g_mass). density: xPhys (n_elements
 * floats, x fastest), valid during the call only. Called on the thread that runs the run. */
typedef struct {
  int iteration;                 /* 1, 2, ... : the design the FE analysed */
  double objective;
  int n_constraints;
  const double *constraints;
  const char *const *constraint_names;
  double change, beta;
  int fe_iterations;             /* CG iterations, summed over load cases */
  double t_fe, t_filter, t_sensitivity, t_update;  /* seconds */
  int mma_resolves;              /* MMA subproblems solved again to keep the constraints conservative */
  const float *density;
} TbTopoptReport;
typedef void (*TbTopoptReportFunc) (const TbTopoptReport *report, gpointer user_data);

typedef struct _TbTopoptRun TbTopoptRun;
/* The model's grid, supports and load cases define the problem; the run sets its material and
 * densities. BONE: rho0 is the clinical relative density of the VOI, model dims = rho0 dims x n. */
TbTopoptRun   *tb_topopt_run_new        (TbFeModel *model, const TbTopoptSettings *settings, GError **error);
TbTopoptRun   *tb_topopt_run_new_bone   (TbFeModel *model, const TbVolume *rho0,
                                         const TbTopoptSettings *settings, GError **error);
void           tb_topopt_run_free       (TbTopoptRun *run);
/* Passive elements (0 design, 1 solid, 2 void), n_elements values, before the first step. */
gboolean       tb_topopt_run_set_passive (TbTopoptRun *run, const guint8 *passive, GError **error);
void           tb_topopt_run_set_report_func (TbTopoptRun *run, TbTopoptReportFunc func, gpointer user_data);
/* One iteration (FE, sensitivities, filter, update); FALSE with error on failure or cancel. */
gboolean       tb_topopt_run_step       (TbTopoptRun *run, GCancellable *cancellable, GError **error);
/* Iterate until converged, max iterations, infeasible end or pause; resumes from where it stopped. */
gboolean       tb_topopt_run_run        (TbTopoptRun *run, GCancellable *cancellable, GError **error);
void           tb_topopt_run_pause      (TbTopoptRun *run);   /* any thread; stops after this iteration */
TbTopoptState  tb_topopt_run_get_state  (TbTopoptRun *run);
const char    *tb_topopt_run_get_message (TbTopoptRun *run);  /* why it stopped, one line */
/* Teaching mode: edit the model's loads (tb_topopt_run_get_model), then call model_changed;
 * or change a load case weight. Both continue from the current design. */
TbFeModel     *tb_topopt_run_get_model  (TbTopoptRun *run);
gboolean       tb_topopt_run_model_changed (TbTopoptRun *run, GError **error);
void           tb_topopt_run_set_weight (TbTopoptRun *run, int load_case, double weight);
/* Results: xPhys; as a volume with the given geometry; the last report; the history as CSV. */
const float   *tb_topopt_run_get_density (TbTopoptRun *run);
TbVolume      *tb_topopt_run_density_volume (TbTopoptRun *run, const double spacing[3],
                                             const double origin[3], GError **error);
const TbTopoptReport *tb_topopt_run_get_report (TbTopoptRun *run);
gboolean       tb_topopt_run_write_history (TbTopoptRun *run, const char *path, GError **error);

/* Inputs of the bone problem. rho = 0.01 + 0.99 (BMD - min) / (max - min), clamped (DESIGN.md). */
TbVolume      *tb_topopt_relative_density (const TbVolume *bmd, double bmd_min, double bmd_max, GError **error);
/* The VOI (rho0, clinical voxels) upscaled by n, loaded by apparent stresses given by hand
 * (n_cases x {sxx, syy, szz, sxy, syz, sxz}, MPa) as tractions on its faces, 3-2-1 supported. */
TbFeModel     *tb_topopt_voi_model_stress (const TbVolume *rho0, int upscale, int n_cases,
                                           const double (*stress)[6], const double *weights, GError **error);
/* Localized FE (paper 000): the whole bone (rho, optionally coarsened by an integer factor) under the
 * FE stage's hip load cases, then the VOI box (voxels of rho) cut out with its boundary forces,
 * upscaled by n. Long: cancellable, with progress. */
TbFeModel     *tb_topopt_voi_model_localized (const TbVolume *rho, const TbFemurLandmarks *landmarks,
                                              const TbBox *voi, int upscale, int coarsen,
                                              GCancellable *cancellable, TbProgressFunc progress,
                                              gpointer user_data, GError **error);
/* The same in two steps, so that one whole-bone solve serves several VOIs: the whole bone (rho,
 * coarsened) under the hip load cases, solved; then a VOI box of rho's voxels cut out of it. */
TbFeSolver    *tb_topopt_whole_bone_solve   (const TbVolume *rho, const TbFemurLandmarks *landmarks,
                                             int coarsen, GCancellable *cancellable, TbProgressFunc progress,
                                             gpointer user_data, GError **error);
TbFeModel     *tb_topopt_voi_model_from_whole (TbFeSolver *whole, const TbVolume *rho, const TbBox *voi,
                                               int upscale, int coarsen, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbTopoptRun, tb_topopt_run_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbTopoptFilter, tb_topopt_filter_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbMma, tb_mma_free)

G_END_DECLS
