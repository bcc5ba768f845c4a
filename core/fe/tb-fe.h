/* tb-fe.h — linear elastic voxel finite elements: model, multigrid-preconditioned CG, results.
 *
 * Grid: nx*ny*nz elements of size h[0] x h[1] x h[2] mm (nz = 1: 2D plane stress, quad4, thickness
 * t; else hex8), elements x fastest. Nodes (nx+1)*(ny+1)*(nz+1) (2D: nz+1 -> 1), node (i,j,k) =
 * i + (nx+1)*(j + (ny+1)*k); DOF = node*dim + component (dim 2 or 3). Node (i,j,k) lies at world
 * origin + (i*h0, j*h1, k*h2); for a TbVolume v, origin = v->origin - v->spacing/2.
 * Material (SIMP, DESIGN.md): E_e = Emin + (E0 - Emin) * rho_e^penal, Poisson nu; Ke = E_e * K0,
 * K0 the unit-modulus element stiffness by full Gauss integration (2x2x2 / 2x2). Units mm, N, MPa.
 * Supports and springs are shared by all load cases; prescribed values, forces and tractions are per
 * load case. A prescribed DOF is constrained in every case (value 0 where a case sets none).
 */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"
#include "phantom/tb-phantom.h"

G_BEGIN_DECLS

#define TB_FE_ERROR (tb_fe_error_quark ())
GQuark tb_fe_error_quark (void);

typedef enum {
  TB_FE_ERROR_INVALID,        /* dims, material, index or load out of range */
  TB_FE_ERROR_TOO_LARGE,      /* estimated memory exceeds what is available: refused before allocating */
  TB_FE_ERROR_NONFINITE,      /* NaN/Inf or negative densities */
  TB_FE_ERROR_SINGULAR,       /* no supports / rigid-body motion not removed */
  TB_FE_ERROR_NOT_CONVERGED,  /* max_iter reached above rtol */
  TB_FE_ERROR_OUTSIDE,        /* a VOI or point outside the model / bone */
  TB_FE_ERROR_IO,             /* writing an export file failed */
} TbFeError;

enum { TB_FE_X = 1 << 0, TB_FE_Y = 1 << 1, TB_FE_Z = 1 << 2, TB_FE_XYZ = 7 };  /* component masks */

/* Element faces: -x, +x, -y, +y, -z, +z (2D uses the first four; area = edge * thickness). */
typedef enum { TB_FE_FACE_XMIN, TB_FE_FACE_XMAX, TB_FE_FACE_YMIN, TB_FE_FACE_YMAX,
               TB_FE_FACE_ZMIN, TB_FE_FACE_ZMAX } TbFeFace;

typedef struct _TbFeModel TbFeModel;

/* Model: density defaults to 1, material to E0 = 1, Emin = 1e-9, nu = 0.3, penal = 3, thickness 1. */
TbFeModel  *tb_fe_model_new            (int nx, int ny, int nz, const double h[3], GError **error);
/* A model on a density volume (values in [0,1], nz = 1: 2D): h = spacing, node 0 at origin - spacing/2. */
TbFeModel  *tb_fe_model_new_from_volume (const TbVolume *density, GError **error);
TbFeModel  *tb_fe_model_ref            (TbFeModel *model);
void        tb_fe_model_unref          (TbFeModel *model);
gboolean    tb_fe_model_set_material   (TbFeModel *model, double E0, double Emin, double nu,
                                        double penal, GError **error);
void        tb_fe_model_set_thickness  (TbFeModel *model, double t);            /* 2D only */
void        tb_fe_model_set_origin     (TbFeModel *model, const double origin[3]); /* world of node 0 */
gboolean    tb_fe_model_set_density    (TbFeModel *model, const float *rho, GError **error); /* copied; in [0,1] */
const float *tb_fe_model_get_density   (const TbFeModel *model);
int         tb_fe_model_get_dim        (const TbFeModel *model);  /* 2 or 3 */
void        tb_fe_model_get_dims       (const TbFeModel *model, int n[3], double h[3]);
gsize       tb_fe_model_n_elements     (const TbFeModel *model);
gsize       tb_fe_model_n_nodes        (const TbFeModel *model);
gsize       tb_fe_model_n_dofs         (const TbFeModel *model);
gsize       tb_fe_model_node           (const TbFeModel *model, int i, int j, int k);
double      tb_fe_model_element_modulus (const TbFeModel *model, gsize element);
/* Whole-bone models: the box around a bone is mostly air and soft tissue, which a density map gives
 * Emin (or a little more). Takes out of the model every element farther than halo elements (in any
 * axis) from all elements denser than rho_bone, and every piece not joined by faces to the largest
 * body: they get no stiffness, the solver holds their nodes at zero, and its passes skip them. The
 * elements kept around the bone are at most rho_bone dense, so what is taken out is at most
 * Emin + (E0 - Emin) rho_bone^p stiff and touches the bone nowhere closer than halo elements.
 * Undone by tb_fe_model_set_density. Returns the number of elements taken out (0, and the model
 * left whole, when no element is denser than rho_bone). */
gsize       tb_fe_model_trim_surroundings (TbFeModel *model, float rho_bone, int halo);
/* What the whole-bone solves use (TO's localized loads, the GUI's FE stage): bone fraction 0.02
 * (E <= 4e-4 E0 at p = 2, 6 MPa at 15 GPa: fat and marrow are softer still) and two elements of halo.
 * On the phantom at 0.9 mm this changes the compliance by 2.4e-4 and takes out 82 % of the box; on
 * the demo's noisy scan at 1.25 mm (E ~ rho^3) by 1.1e-3. */
#define TB_WHOLE_BONE_TRIM_RHO 0.02f
#define TB_WHOLE_BONE_HALO 2
gsize       tb_fe_model_n_trimmed      (const TbFeModel *model);
/* Memory a solve of this model needs (bytes, all load cases), for refusing early. */
guint64     tb_fe_model_estimate_memory (int nx, int ny, int nz, int n_load_cases);

/* Boundary conditions (all cases) and load cases. */
void        tb_fe_model_fix            (TbFeModel *model, gsize node, guint components);
void        tb_fe_model_fix_plane      (TbFeModel *model, TbAxis axis, int index, guint components);
void        tb_fe_model_add_spring     (TbFeModel *model, gsize node, int component, double k /* N/mm */);
void        tb_fe_model_clear_supports (TbFeModel *model);
int         tb_fe_model_add_load_case  (TbFeModel *model, const char *name, double weight);  /* -> index */
int         tb_fe_model_n_load_cases   (const TbFeModel *model);
const char *tb_fe_model_load_case_name (const TbFeModel *model, int lc);
double      tb_fe_model_load_case_weight (const TbFeModel *model, int lc);
void        tb_fe_model_prescribe      (TbFeModel *model, int lc, gsize node, int component, double value);
void        tb_fe_model_add_force      (TbFeModel *model, int lc, gsize node, const double f[3]); /* N, adds */
/* Uniform traction t (MPa, a vector) or pressure p (MPa, + pushes into the element) on one element
 * face, turned into consistent nodal forces. */
void        tb_fe_model_add_traction   (TbFeModel *model, int lc, gsize element, TbFeFace face, const double t[3]);
void        tb_fe_model_add_pressure   (TbFeModel *model, int lc, gsize element, TbFeFace face, double p);
const double *tb_fe_model_get_forces   (const TbFeModel *model, int lc);      /* n_dofs */
gboolean    tb_fe_model_is_constrained (const TbFeModel *model, gsize dof);
/* y = K x with the full unconstrained stiffness (springs included), any x. */
void        tb_fe_model_apply_stiffness (const TbFeModel *model, const double *x, double *y);
/* The unit-modulus element stiffness (24x24 or 8x8, row-major, local node a = ax + 2ay + 4az). */
const double *tb_fe_model_reference_stiffness (const TbFeModel *model);

/* Solver settings, shown PETSc-style (tb_fe_settings_describe) and logged when verbose. */
typedef enum { TB_FE_SMOOTHER_JACOBI, TB_FE_SMOOTHER_CHEBYSHEV } TbFeSmoother;
typedef enum { TB_FE_COARSE_GALERKIN, TB_FE_COARSE_REDISCRETIZED } TbFeCoarse;
typedef struct _TbFeOps TbFeOps;
typedef struct {
  double rtol;              /* ||r|| / ||f||; default 1e-8 */
  int max_iter;             /* default 500 */
  int levels;               /* multigrid levels incl. the fine one; 0 = automatic; 1 = Jacobi-PCG */
  TbFeSmoother smoother;    /* default CHEBYSHEV */
  int smooth_steps;         /* pre = post sweeps / Chebyshev degree; default 2 */
  double jacobi_omega;      /* damped Jacobi weight; 0 = 4 / (3 lambda_max) */
  TbFeCoarse coarse;        /* default GALERKIN */
  int n_threads;            /* 0 = OpenMP default */
  gboolean verbose;         /* print settings and residual history (g_print) */
  const TbFeOps *ops;       /* NULL = the CPU table */
  gboolean island_modes;    /* deflate rigid modes of stiff parts floating in void; default TRUE */
  int batch;                /* load cases solved together, sharing every operator pass and coarse solve;
                             * 0 = all that fit in memory (default), 1 = one after another */
  gboolean condense_floating; /* eliminate stiff parts joined to no support or load from the CG (exact
                             * static condensation, fe-condense.c); default TRUE */
  gboolean single_smoothing; /* the fine level's smoothing and V-cycle residual multiply in single
                             * precision (the CG, its operator and its residual stay double); default TRUE */
} TbFeSettings;
void        tb_fe_settings_init        (TbFeSettings *settings);
char       *tb_fe_settings_describe    (const TbFeSettings *settings); /* "-ksp_type cg -pc_type mg ..." */

/* The solver: owns the multigrid hierarchy; reuse it across density changes (warm starts). */
typedef struct _TbFeSolver TbFeSolver;
typedef struct {
  int iterations;
  double rel_residual;      /* ||f - K u|| / ||f|| (free DOFs) */
  double compliance;        /* f . u, N mm (prescribed displacements: f_ext . u + reactions . u_p) */
  double seconds;
} TbFeCaseStats;
TbFeSolver *tb_fe_solver_new           (TbFeModel *model, const TbFeSettings *settings, GError **error);
void        tb_fe_solver_free          (TbFeSolver *solver);
gboolean    tb_fe_solver_set_density   (TbFeSolver *solver, const float *rho, GError **error);
gboolean    tb_fe_solve                (TbFeSolver *solver, GCancellable *cancellable,
                                        TbProgressFunc progress, gpointer user_data, GError **error);
TbFeModel  *tb_fe_solver_get_model     (TbFeSolver *solver);
int         tb_fe_solver_n_levels      (const TbFeSolver *solver);
/* stiff parts joined to no support or load: condensed out of the CG, and (hinged to the rest at a
 * node or an edge, or not condensed) deflated, for the current densities */
void        tb_fe_solver_get_floating  (const TbFeSolver *solver, int *condensed, int *deflated);
const double *tb_fe_solver_get_displacement (const TbFeSolver *solver, int lc);  /* n_dofs */
void        tb_fe_solver_get_stats     (const TbFeSolver *solver, int lc, TbFeCaseStats *stats);
double      tb_fe_solver_weighted_compliance (const TbFeSolver *solver);     /* sum_l w_l c_l */
/* Per element, n_elements values. ue^T K0 ue (unit modulus): dc/drho_e = -p rho^(p-1) (E0-Emin) * it.
 * lc < 0 gives the weighted sum over cases. */
void        tb_fe_solver_element_energy (const TbFeSolver *solver, int lc, double *out);
void        tb_fe_solver_energy_density (const TbFeSolver *solver, int lc, float *out); /* 1/2 E ue'K0ue / V, MPa */
void        tb_fe_solver_von_mises     (const TbFeSolver *solver, int lc, float *out);  /* element centre, MPa */
void        tb_fe_solver_reactions     (const TbFeSolver *solver, int lc, double *out); /* K u - f, n_dofs */

/* Whole-bone hip load cases (Beaupre, Orr & Carter 1990): a joint force spread over a patch of the
 * femoral head, an abductor force at the greater trochanter, the distal shaft fixed. Angles in degrees
 * in the frontal plane from the shaft axis (joint: towards lateral-distal; abductor: medial-proximal). */
typedef struct {
  const char *name;
  double joint_force, joint_angle;       /* N, degrees */
  double abductor_force, abductor_angle; /* N, degrees */
  double weight;                         /* daily-cycle weight */
} TbFeHipCase;
const TbFeHipCase *tb_fe_hip_cases_default (guint *n_cases);  /* stance, abduction, adduction */
/* Adds one load case per hip case (cases NULL = the defaults); patch radius in mm (0: head radius / 2 for
 * the joint, 6 mm for the abductor); the bone nodes within fixed_length (0: 5 mm) of the distal cut are fixed.
 * Bone = elements with rho >= 0.1 max; forces go to bone-surface nodes. Needs the model origin set. */
gboolean    tb_fe_model_add_hip_loads  (TbFeModel *model, const TbFemurLandmarks *landmarks,
                                        const TbFeHipCase *cases, guint n_cases, double patch_radius,
                                        double fixed_length, GError **error);

/* Localized FE: a VOI (box of elements) of a solved whole model, loaded by the internal forces the
 * rest exerts on it (one case per whole case, same weights), rigid motion removed by a 3-2-1
 * constraint set; each element split into upscale^dim sub-elements (forces spread with P^T f = F). */
TbFeModel  *tb_fe_localize             (const TbFeSolver *whole, const TbBox *voi, int upscale, GError **error);

/* CalculiX / Abaqus deck (C3D8 or CPS4, one material per distinct modulus up to n_bins, else bins). */
gboolean    tb_fe_export_ccx           (const TbFeModel *model, const char *path, int n_bins, GError **error);

/* The function table behind the solver: the CPU code fills it; a CUDA or PETSc path can fill
 * another and pass it in TbFeSettings.ops. Level 0 is the fine grid, whose vectors are the model's
 * DOFs (node*dim + component); coarser levels' vectors are whatever layout the table chooses, of
 * n_dofs(level) entries (the CPU table stores them component by component with zero guard entries),
 * and only the table's own functions read them. */
typedef struct _TbFeHierarchy TbFeHierarchy;
/* Where a level's vectors can be non-zero: index ranges [lo, hi) in order, cut into n_part shares of
 * nearly equal length (share t: spans part[t] .. part[t+1]-1) for threads. A whole bone's box is mostly
 * empty space (Emin = 0 outside the bone); entries there belong to no element with stiffness, stay zero
 * in every vector, and loops may skip them. */
typedef struct { gsize lo, hi; } TbFeSpan;
typedef struct {
  const TbFeSpan *span;
  gsize n_span, n_active;   /* n_active: the spans' total length */
  const gsize *part;
  int n_part;
} TbFeActive;
struct _TbFeOps {
  const char *name;
  /* E: the element moduli to build for (n_elements; NULL = the model's). The solver passes its own:
   * they differ from the model's where it condenses floating parts out of the CG (fe-condense.c). */
  TbFeHierarchy *(*setup)  (TbFeModel *model, const double *E, const TbFeSettings *settings, GError **error);
  gboolean (*update)       (TbFeHierarchy *h, const double *E, GError **error);   /* densities changed */
  void     (*free)         (TbFeHierarchy *h);
  int      (*n_levels)     (TbFeHierarchy *h);
  gsize    (*n_dofs)       (TbFeHierarchy *h, int level);
  /* Every vector argument holds nv vectors one after another, each n_dofs (level) long: the load cases
   * solved together share each pass over the operator. */
  void     (*apply)        (TbFeHierarchy *h, int level, int nv, const double *x, double *y); /* constrained A */
  /* r = b - A x as the V-cycle forms it before restricting (may be in lower precision than apply,
   * settings' single_smoothing); NULL: the caller uses apply */
  void     (*residual)     (TbFeHierarchy *h, int level, int nv, const double *b, const double *x, double *r);
  void     (*smooth)       (TbFeHierarchy *h, int level, int nv, const double *b, double *x, gboolean zero_guess);
  void     (*restrict_)    (TbFeHierarchy *h, int fine_level, int nv, const double *fine, double *coarse);
  void     (*prolong_add)  (TbFeHierarchy *h, int fine_level, int nv, const double *coarse, double *fine);
  void     (*coarse_solve) (TbFeHierarchy *h, int nv, const double *b, double *x);
  /* The level's active entries (above). The table's functions read and write vectors only there, so
   * a caller's own loops may too, provided its vectors are zero elsewhere (allocate them zeroed).
   * NULL entry: every entry is active. Valid until the next setup or update. */
  const TbFeActive *(*active) (TbFeHierarchy *h, int level);
};
const TbFeOps *tb_fe_ops_cpu           (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbFeModel, tb_fe_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbFeSolver, tb_fe_solver_free)

G_END_DECLS
