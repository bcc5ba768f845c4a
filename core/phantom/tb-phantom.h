/* tb-phantom.h — a procedural proximal femur whose truth is known at any resolution.
 *
 * CONTRACT (fixed names; the phantom stage implements them and documents the formulas here).
 *
 * World frame (mm), a right femur standing in a supine CT:
 *   +x lateral (towards the greater trochanter), +y anterior, +z superior (proximal).
 *   The frontal plane is x-z. The shaft axis is close to -z going distally.
 * The femur is a function of world position giving the bone TISSUE FRACTION in [0, 1]; sampled at a
 * point it is 0 or 1 (binary truth), integrated over a voxel it is the voxel's bone volume fraction.
 *
 * Regions (label values of tb_phantom_regions and TbPhantomVoi.region):
 *   0 outside bone, 1 cortex, 2 femoral head, 3 neck, 4 Ward's triangle, 5 intertrochanteric,
 *   6 greater trochanter, 7 lesser trochanter, 8 shaft (medullary canal and what remains).
 *
 * SHAPE (phantom-anatomy.c): smooth union (Quilez polynomial smin, k 4-8 mm) of exact signed
 * distances: head sphere r 23 mm centred at (-40.6, 8.6, 0); neck round cone r 17 -> 14.5 along the
 * neck axis u (neck-shaft angle 127 deg, anteversion 12 deg; base on the shaft axis at z = -31.3,
 * head centre 52 mm up u); shaft round cones r 13 (z -140) -> 15 (z -60) -> 19 (metaphysis, z -22);
 * greater trochanter round cone (5,-3,-35) r 13 -> (11,-5,-6) r 10; lesser trochanter sphere
 * (-11,-10,-46) r 6; flat distal cut at z = -125 (open canal). Cortex: points within t of the
 * surface, t = 0.7 mm on the head, 1.0 neck/trochanters, rising to 4.0 on the shaft (z -40..-80).
 * REGIONS: layers painted in order over "intertrochanteric" with smoothstep memberships: shaft
 * z < -52..-62; greater trochanter x > 9..15 and z > -36..-28; lesser trochanter within 5..9 mm of
 * its centre; neck s > 12..18 along u and within 17..21 mm of it; Ward's triangle an ellipsoid
 * (7 x 6.5 x 6.5 mm) 10 mm up u and 3 mm inferior; head s > 32..37. The label is the largest weight.
 * TRABECULAE (phantom-trabecular.c): polar coordinates (rho, theta) in the frontal plane about
 * O = (x -27, z -57): rays = compressive trajectories (calcar -> superior head), circles = tensile
 * arcs (lateral cortex under the trochanter -> over the neck -> head), crossing at right angles.
 *   Pt = cos (2 pi rho / 0.8 + a0 + 1.8 w0),  Pc = cos (n(rho) theta + a1 + 1.8 w1) with
 *   n = round (2 pi rho / 0.8) per 4 mm band (blended: rays fork), Y = cos (2 pi y / 0.9 + a2 + 1.8 w2)
 *   (a_i seeded phases, w_i seeded value noise on a 1.6 mm lattice: domain warp);
 *   plates Pc, Pt; rods (Pc+Y)/2, (Pt+Y)/2, (Pc+Pt)/2; F = max_i (comp_i + beta_i h - delta_i)
 *   (h: seeded 1 mm value noise that perforates); bone where F > tau (+ a fade that empties the canal).
 *   Design: head plates along the compressive rays + thinner tensile plates (SMI low); neck
 *   perforated plates + tensile rods; Ward's sparse thin rods; intertrochanteric rods of both
 *   families at right angles. Plate spacing 0.8 mm, thickness 0.8 acos (c) / pi with c = tau +
 *   delta - beta h: 0.1-0.3 mm; rod diameter 2 * 0.8 sqrt (1 - c) / pi: 0.1-0.3 mm; Tb.Sp ~
 *   0.8 - Tb.Th between plates, up to ~1.5 mm where plates are perforated or rods missing.
 *   tau per region is set at construction so each VOI preset's BV/TV (fraction of 60000 R3
 *   quasi-random points) is its target: 0.29, 0.18, 0.09, 0.13 (trochanters and shaft: the
 *   intertrochanteric tau, +0.03 for the greater). Measured at 50 um (fraction >= 0.5), seed 1:
 *   BV/TV 0.294, 0.180, 0.088, 0.129; Tb.Th 0.24, 0.24, 0.22, 0.26 mm; Tb.Sp 0.77, 1.00, 0.97,
 *   0.86 mm; SMI 0.12, 1.30, 3.08, 2.85 (morpho stage; paper 000 Table 1: Tb.Th 0.24, 0.21, 0.16,
 *   0.20; Tb.Sp 0.65, 0.73, 0.97, 0.84; SMI 0.84, 1.86, 2.79, 2.48).
 * SAMPLING: a voxel's fraction is the mean over supersample^3 regular sub-points; voxels that a
 * Lipschitz bound proves wholly outside, cortical, marrow or bone are not sub-sampled (same bytes).
 * QCT (phantom-scan.c): grid = bone box + margin (soft tissue) + 3 mm of air, voxel BMD =
 * tissue_bmd f_tissue + marrow_bmd f_marrow + soft_tissue_bmd f_soft (air: (air_hu - a) / b);
 * then Gaussian blur (sigma = FWHM / 2.3548, separable, radius 3 sigma, edges clamped),
 * HU = a + b BMD, + N(0, noise_sigma) from a hash of (noise_seed, voxel index), rounded, clamped to int16.
 */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_PHANTOM_ERROR (tb_phantom_error_quark ())
GQuark tb_phantom_error_quark (void);

typedef enum {
  TB_PHANTOM_ERROR_INVALID,    /* a parameter out of its range */
  TB_PHANTOM_ERROR_OUTSIDE,    /* a box that does not meet the femur's bounding box */
} TbPhantomError;

typedef enum {
  TB_REGION_OUTSIDE = 0,
  TB_REGION_CORTEX = 1,
  TB_REGION_HEAD = 2,
  TB_REGION_NECK = 3,
  TB_REGION_WARDS = 4,
  TB_REGION_INTERTROCHANTER = 5,
  TB_REGION_GREATER_TROCHANTER = 6,
  TB_REGION_LESSER_TROCHANTER = 7,
  TB_REGION_SHAFT = 8,
  TB_N_REGIONS
} TbRegion;

typedef struct {
  guint64 seed;               /* trabecular structure; same seed, same bytes */
  /* simulated clinical QCT */
  double clinical_spacing;    /* mm, isotropic; default 0.625 */
  double psf_fwhm;            /* mm, Gaussian scanner blur; default 1.0 */
  double noise_sigma;         /* HU, Gaussian; default 20; 0 = no noise */
  guint64 noise_seed;         /* default 1 */
  double tissue_bmd;          /* mg HA/cm^3 of fully mineralized bone tissue; default 1200 */
  double marrow_bmd;          /* mg HA/cm^3 equivalent of marrow; default 0 */
  double soft_tissue_bmd;     /* around the bone, equivalent; default 0 */
  double hu_a, hu_b;          /* HU = a + b * BMD; defaults a = 0 (water/marrow), b = 1.0 */
  double air_hu;              /* outside the body box; default -1000 */
  double margin;              /* mm of soft tissue around the femur's bounding box; default 10 */
  int supersample;            /* sub-samples per axis when integrating a clinical voxel; default 4 */
} TbPhantomParams;

typedef struct {
  const char *name;           /* "head", "neck", "wards", "intertrochanter" */
  const char *label;          /* "Femoral head", "Femoral neck", "Ward's triangle", "Intertrochanteric" */
  TbRegion region;
  double centre[3];           /* mm, world */
  double size[3];             /* mm; 5 x 5 x 5 by default */
  double target_bvtv;         /* 0.29, 0.18, 0.09, 0.13 */
} TbPhantomVoi;

/* Landmarks for whole-bone load cases (used by the FE stage; a user can fill one by hand for a real CT). */
typedef struct {
  double head_centre[3];      /* mm */
  double head_radius;         /* mm */
  double greater_trochanter[3];  /* abductor insertion point, on the bone surface */
  double shaft_axis[3];       /* unit vector pointing proximally (distal -> proximal) */
  double shaft_distal[3];     /* centre of the distal cut of the shaft (the fixed end) */
  double frontal_normal[3];   /* unit normal of the frontal plane (anterior, +y) */
  double neck_axis[3];        /* unit vector from the neck base towards the head centre */
} TbFemurLandmarks;

/* The simulated clinical scan of the whole proximal femur. */
typedef struct {
  TbVolume *hu;               /* HU as float (rounded to integers, the int16 a scanner writes) */
  TbVolume *bmd;              /* noise-free, blur-free BMD per voxel (mg HA/cm^3): the integral of the truth */
  TbVolume *bone_fraction;    /* bone volume fraction per clinical voxel, in [0, 1] */
  TbMask *bone_mask;          /* truth mask at clinical resolution: voxel inside the periosteal surface */
  TbMask *regions;            /* TbRegion label of each clinical voxel (by its centre) */
  double hu_a, hu_b;          /* the calibration used: HU = a + b * BMD */
} TbPhantomQct;

typedef struct _TbPhantom TbPhantom;

void          tb_phantom_params_init       (TbPhantomParams *params);  /* the defaults above */
TbPhantom    *tb_phantom_new               (const TbPhantomParams *params, GError **error);
void          tb_phantom_free              (TbPhantom *phantom);
const TbPhantomParams *tb_phantom_get_params (const TbPhantom *phantom);

/* Bounding box of the bone (mm), and of the simulated scan (bone + margin). */
void          tb_phantom_get_bounds        (const TbPhantom *phantom, double lo[3], double hi[3]);

/* Binary truth at one point (1 bone tissue, 0 not) and the region there. Thread-safe.
 * Cortex counts as tissue; region_at gives TB_REGION_CORTEX there. */
double        tb_phantom_tissue_at         (const TbPhantom *phantom, const double world[3]);
TbRegion      tb_phantom_region_at         (const TbPhantom *phantom, const double world[3]);

/* High-resolution truth inside a box: bone volume fraction of each voxel of size voxel_mm
 * (supersampled like the QCT), so thresholding at 0.5 gives the binary structure.
 * The volume's origin is the centre of its first voxel; the box is centre +- size/2. */
TbVolume     *tb_phantom_truth             (const TbPhantom *phantom, const double centre[3],
                                            const double size[3], double voxel_mm,
                                            GCancellable *cancellable, TbProgressFunc progress,
                                            gpointer user_data, GError **error);

/* The simulated clinical QCT of the whole proximal femur (TbPhantomParams: spacing, blur, noise). */
TbPhantomQct *tb_phantom_simulate_qct      (const TbPhantom *phantom, GCancellable *cancellable,
                                            TbProgressFunc progress, gpointer user_data, GError **error);
void          tb_phantom_qct_free          (TbPhantomQct *qct);

/* Degrade any high-resolution bone-fraction volume to clinical resolution by exactly the QCT
 * simulation (box integration to clinical voxels, PSF blur, calibration, noise): the NN stage
 * makes its training pairs with this. factor = clinical voxel / input voxel (an integer).
 * BMD = tissue_bmd f + marrow_bmd (1 - f) (all inside bone); blur in voxels of the output's
 * spacing (a 2D image, nz = 1, is blurred in plane); returns HU. Sampled on the QCT's own
 * sub-points, it reproduces the QCT's HU (tests check it). */
TbVolume     *tb_phantom_degrade           (const TbPhantom *phantom, const TbVolume *fraction,
                                            int factor, guint64 noise_seed, GError **error);

/* The four VOI presets of paper 000 and the load landmarks. */
const TbPhantomVoi *tb_phantom_get_vois    (const TbPhantom *phantom, guint *n_vois);
const TbPhantomVoi *tb_phantom_find_voi    (const TbPhantom *phantom, const char *name);
void          tb_phantom_get_landmarks     (const TbPhantom *phantom, TbFemurLandmarks *landmarks);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbPhantom, tb_phantom_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbPhantomQct, tb_phantom_qct_free)

G_END_DECLS
