/* tb-morpho.h — bone morphometry of a binary volume, and apparent stiffness by FE homogenization.
 *
 * Input: a binary image (TbVolume holding only 0 and one other value of 1, 255 or 127; anything
 * else is refused, naming the values found) turned into a TbMask by tb_morpho_binarize, the voxel
 * spacing in mm (anisotropic spacing is handled: distances, areas and volumes are in mm), and an
 * optional region mask that defines the total volume TV (NULL: the whole image).
 * Nomenclature: Bouxsein et al. 2010, JBMR 25:1468. Units: mm, mm^2, mm^3.
 *
 *  BV/TV   bone voxels in TV / voxels in TV (voxel count, exact).
 *  BS      area of the marching-cubes mesh of bone n TV (iso-surface through the mid-points
 *          between bone and background voxel centres; mm^2); BS/BV in 1/mm, BV by voxel count.
 *  Tb.Th   local thickness (Hildebrand & Ruegsegger 1997, J Microsc 185:67): at every bone voxel
 *          the diameter of the largest sphere that fits in the bone and contains it; sphere radii
 *          are the exact Euclidean distance from a centre voxel to the nearest background VOXEL
 *          CENTRE, as BoneJ / Dougherty's Local Thickness do, so a plate t voxels thick reads t for
 *          even t and t + 1 for odd t (Scanco's distance-to-surface reading would give t).
 *          A sphere covers the voxels with |v - c|^2 <= round (r^2), as in Dougherty's code; the
 *          map keeps the bone voxels only (BoneJ2's "mask thickness map"; spheres also touch the
 *          background voxel centres at distance r) and has no "clean-up" (BoneJ replaces each surface
 *          voxel by the mean of its interior neighbours, a heuristic outside the definition). On
 *          BoneJ's test spheres this reads -3.7..+6.2 % from BoneJ's regression 1.944 r - 1.219
 *          (r = 2..24), BoneJ's own pipeline -9.6..+2.5 % (tests/morpho/bonej_sphere_emulation.py).
 *          Mean and SD over bone voxels in TV (mm). Tb.Sp: the same on the background in TV.
 *  Tb.N    1 / (Tb.Th + Tb.Sp) (1/mm), the "mean of thickness and separation" definition.
 *  SMI     structure model index (Hildebrand & Ruegsegger 1997, CMBBE 1:15):
 *          SMI = 6 BV (dBS/dr) / BS^2, dBS/dr by moving the vertices of the (Taubin-smoothed)
 *          surface mesh along their normals; BV = the mesh's enclosed volume. Plates 0, rods 3,
 *          spheres 4; negative where concave surface dominates.
 *  Euler   chi of bone n TV with 26-connected bone / 6-connected background (Odgaard &
 *          Gundersen 1993, Bone 14:173; 2x2x2 configurations, as skimage.measure.euler_number
 *          connectivity=3). Delta-chi: BoneJ's stack-edge correction, chi - chi(faces)/2 +
 *          chi(edges)/4 - chi(corners)/8 of the image box. Conn = 1 - Delta-chi,
 *          Conn.D = Conn / TV (1/mm^3).
 *  DA      degree of anisotropy 1 - min/max eigenvalue of the fabric tensor fitted (least squares
 *          ellipsoid) to the mean intercept lengths along many directions (Harrigan & Mann 1984).
 *  BA/TA   2D: the area fraction of each slice along z (tb_morpho_area_fraction).
 *
 * An empty TV or no bone leaves the measures that need them NaN and says why in `notes`.
 */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_MORPHO_ERROR (tb_morpho_error_quark ())
GQuark tb_morpho_error_quark (void);

typedef enum {
  TB_MORPHO_ERROR_NOT_BINARY,  /* values other than 0 and one of 1, 255, 127 */
  TB_MORPHO_ERROR_GRID,        /* TV mask not on the image's grid */
  TB_MORPHO_ERROR_EMPTY,       /* nothing to measure (empty TV, no bone, no load path) */
  TB_MORPHO_ERROR_TOO_SMALL,   /* too few voxels for the measure */
  TB_MORPHO_ERROR_SOLVER,      /* the FE solver failed (stiffness) */
} TbMorphoError;

typedef struct {
  double tv, bv, bv_tv;               /* mm^3, mm^3, 1 */
  double bs, bs_bv;                   /* mm^2, 1/mm */
  double tb_th, tb_th_sd, tb_th_max;  /* mm */
  double tb_sp, tb_sp_sd, tb_sp_max;  /* mm */
  double tb_n;                        /* 1/mm */
  double smi;                         /* 1 */
  double euler, delta_chi, conn;      /* 1 */
  double conn_d;                      /* 1/mm^3 */
  double da;                          /* 1 */
  double fabric[3];                   /* fabric eigenvalues (MIL ellipsoid), ascending, mm */
  double fabric_axes[9];              /* their unit eigenvectors, one per row */
  char *notes;                        /* why a measure is NaN, or NULL; g_free it */
} TbMorphoResult;

typedef enum {
  TB_MORPHO_SKIP_THICKNESS  = 1 << 0, /* Tb.Th, Tb.Sp, Tb.N */
  TB_MORPHO_SKIP_SMI        = 1 << 1,
  TB_MORPHO_SKIP_ANISOTROPY = 1 << 2,
} TbMorphoFlags;

/* A binary image (0 and one of 1, 255, 127) -> mask of ones. */
TbMask   *tb_morpho_binarize        (const TbVolume *v, GError **error);

/* Every measure above; FALSE only for real errors (grid, memory, cancelled). */
gboolean  tb_morpho_measure         (const TbMask *bone, const TbMask *tv, TbMorphoFlags flags,
                                     TbMorphoResult *result, GCancellable *cancellable,
                                     TbProgressFunc progress, gpointer user_data, GError **error);
void      tb_morpho_result_clear    (TbMorphoResult *result);
/* The result as a table (name, value, unit, definition), CSV or JSON text. */
char     *tb_morpho_result_to_table (const TbMorphoResult *r);
char     *tb_morpho_result_to_csv   (const TbMorphoResult *r);
char     *tb_morpho_result_to_json  (const TbMorphoResult *r);

/* Single measures. */
/* Squared Euclidean distance (mm^2) from each voxel where inside == value to the nearest voxel
 * centre where it is not (Felzenszwalb & Huttenlocher 2012, separable, exact); other voxels 0. */
float    *tb_morpho_edt_squared     (const TbMask *m, gboolean value, GError **error);
/* Local thickness map (mm) of the voxels where m == value (0 elsewhere); mean/SD/max over the
 * voxels of the map that lie in tv (NULL: all). NaN and an EMPTY error when none does. */
TbVolume *tb_morpho_local_thickness (const TbMask *m, gboolean value, const TbMask *tv,
                                     double *mean, double *sd, double *max, GCancellable *cancellable,
                                     TbProgressFunc progress, gpointer user_data, GError **error);
/* chi (26-connected foreground) and BoneJ's Delta-chi. */
void      tb_morpho_euler           (const TbMask *m, double *chi, double *delta_chi);
/* Marching-cubes area (mm^2) and, when smi != NULL, SMI with the enclosed volume. */
double    tb_morpho_surface         (const TbMask *m, double *smi);
/* MIL fabric tensor: eigenvalues ascending, axes as rows; returns DA. n_directions >= 9. */
double    tb_morpho_anisotropy      (const TbMask *m, int n_directions, guint32 seed,
                                     double eigenvalues[3], double axes[9], GError **error);
/* BA/TA of slice z (2D area fraction in that slice, within tv when given). */
double    tb_morpho_area_fraction   (const TbMask *m, const TbMask *tv, int z);

/* Apparent stiffness by homogenization (e.g. van Rietbergen et al. 1996, J Biomech 29:1653):
 * six unit strains (three in 2D) imposed as affine displacements u = eps x on every boundary
 * node (kinematic BCs); the mean stress (1/V) sum_boundary R (x) x from the reactions R gives one
 * column of C each; S = C^-1 gives E_i = 1/S_ii, G_ij = 1/S_kk (k the shear index), nu_ij = -S_ji/S_ii.
 * Kinematic BCs bound the true apparent stiffness from above: across a laminate of 1-voxel layers
 * (contrast 4) they exceed Reuss by ~100 / (width in voxels) %, a side-face boundary layer. */
typedef struct {
  double e0, nu;            /* tissue modulus (MPa) and Poisson's ratio of bone voxels */
  double e_void;            /* modulus of rho = 0 voxels (MPa); default 1e-6 E0 (never a hole) */
  gboolean two_d;           /* 2D plane stress on slice 0: three load cases */
  double tolerance;         /* solver relative residual; default 1e-9 */
} TbStiffnessSettings;

typedef struct {
  double c[36];             /* 6x6 (3D, Voigt order xx yy zz yz zx xy; engineering shear) or
                             * 3x3 (2D, xx yy xy) in the first 9 entries, MPa */
  double e[3], g[3], nu[6]; /* E1 E2 E3, G23 G31 G12 (2D: Ex Ey, Gxy in g[2]), nu_ij */
} TbStiffnessResult;

void      tb_stiffness_settings_init (TbStiffnessSettings *s);
/* E(rho) per voxel from a density volume in [0,1] (SIMP, p = 3) or a binary mask as a volume. */
gboolean  tb_morpho_stiffness       (const TbVolume *density, const TbStiffnessSettings *settings,
                                     TbStiffnessResult *result, GCancellable *cancellable,
                                     TbProgressFunc progress, gpointer user_data, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TbMorphoResult, tb_morpho_result_clear)

G_END_DECLS
