/* phantom-private.h — what the phantom's files share: the object, the anatomy, the trabecular field. */
#pragma once

#include "tb-phantom.h"

G_BEGIN_DECLS

/* Trabecular components (phantom-trabecular.c): plates and rods along the two trajectory families. */
enum {
  TB_COMP_PLATE_C,  /* sheets containing the compressive direction (normal: tensile direction) */
  TB_COMP_PLATE_T,  /* sheets containing the tensile direction (normal: compressive direction) */
  TB_COMP_ROD_C,    /* rods along the compressive trajectories */
  TB_COMP_ROD_T,    /* rods along the tensile trajectories */
  TB_COMP_ROD_Y,    /* antero-posterior struts joining the two families */
  TB_N_COMP
};

/* Architecture of one region; blended between regions by their weights. */
typedef struct {
  double delta[TB_N_COMP];    /* component i is bone where comp_i + beta_i * perforation > tau + delta_i */
  double beta[TB_N_COMP];     /* perforation depth (holes in plates, missing rods) */
  double tau;                 /* threshold, calibrated so the region's VOI hits its BV/TV */
} TbTrabParams;

typedef struct {
  double lo[3];
  double inv_step;
  int n[3];
  int channels;
  float *values;              /* n[0]*n[1]*n[2]*channels lattice values in [-1, 1] */
} TbNoiseLattice;

struct _TbPhantom {
  TbPhantomParams params;
  /* anatomy (phantom-anatomy.c) */
  double head_centre[3], head_radius;
  double neck_base[3], neck_axis[3], neck_length;
  double wards_centre[3];
  double bone_lo[3], bone_hi[3];
  TbFemurLandmarks landmarks;
  TbPhantomVoi vois[4];
  /* trabecular field (phantom-trabecular.c) */
  TbTrabParams region_params[TB_N_REGIONS];
  double phase_offset[3];
  TbNoiseLattice warp;        /* 3 channels: phase warps of the three wave families */
  TbNoiseLattice perforation; /* 1 channel */
  double lipschitz;           /* bound on |grad T| (1/mm), for exact voxel skipping */
};

/* anatomy */
void     tb_phantom_anatomy_init     (TbPhantom *ph);
double   tb_phantom_sdf              (const TbPhantom *ph, const double p[3]);  /* bone surface, cut included */
double   tb_phantom_shell_sdf        (const TbPhantom *ph, const double p[3]);  /* without the cut */
double   tb_phantom_cortex_thickness (const TbPhantom *ph, const double p[3]);
void     tb_phantom_region_weights   (const TbPhantom *ph, const double p[3], double w[TB_N_REGIONS]);
gboolean tb_phantom_region_weights_ball (const TbPhantom *ph, const double p[3], double radius,
                                         double w[TB_N_REGIONS]);  /* TRUE: constant in the ball */
TbRegion tb_phantom_region_from_weights (const double w[TB_N_REGIONS]);
#define  TB_PHANTOM_CORTEX_LIPSCHITZ 1.25  /* bound on |grad (shell sdf + thickness)| */

/* trabecular field: T(p) > 0 is bone inside the endosteal surface */
gboolean tb_phantom_trabecular_init  (TbPhantom *ph, GError **error);
void     tb_phantom_trabecular_clear (TbPhantom *ph);
double   tb_phantom_trabecular_value (const TbPhantom *ph, const double p[3], const double w[TB_N_REGIONS]);
/* the same in two steps, for many points that share their region weights */
void     tb_phantom_trabecular_params (const TbPhantom *ph, const double w[TB_N_REGIONS], TbTrabParams *par);
double   tb_phantom_trabecular_eval  (const TbPhantom *ph, const double p[3], const TbTrabParams *par);
double   tb_phantom_trabecular_lipschitz (const TbPhantom *ph, const TbTrabParams *par, double rho_min);
double   tb_phantom_trabecular_rho   (const double p[3]);   /* distance from the trajectories' centre O */
/* the canal's fade, decreasing in z; at or above TB_PHANTOM_FADE_EMPTY no trabecula exists */
double   tb_phantom_trabecular_fade  (double z);
#define  TB_PHANTOM_FADE_EMPTY 2.6

/* sampling: classes of one point, and the composition of one voxel */
enum { TB_CLASS_SOFT, TB_CLASS_TISSUE, TB_CLASS_MARROW };
int      tb_phantom_classify         (const TbPhantom *ph, const double p[3]);
void     tb_phantom_voxel_fractions  (const TbPhantom *ph, const double centre[3], const double size[3],
                                      int ss, gboolean exact_skip, double frac[3]);
/* Fill the grid of `geom` (dims, spacing, origin): tissue fraction, and optionally the marrow and
 * soft-tissue fractions, the periosteal mask and the region label at voxel centres. Voxel centres
 * outside `body_lo..body_hi` (when given) are left 0 in every output. exact_skip FALSE is the plain
 * per-voxel evaluation (the benchmark's peer); TRUE gives the same bytes, faster. */
gboolean tb_phantom_sample_grid      (const TbPhantom *ph, const TbVolume *geom, int ss, gboolean exact_skip,
                                      const double *body_lo, const double *body_hi,
                                      float *tissue, float *marrow, float *soft, guint8 *mask, guint8 *labels,
                                      const char *what, GCancellable *cancellable, TbProgressFunc progress,
                                      gpointer user_data, GError **error);

G_END_DECLS
