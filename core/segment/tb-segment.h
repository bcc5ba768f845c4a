/* tb-segment.h — calibration (HU -> BMD -> rho) and bone segmentation of a clinical CT.
 *
 * Calibration: BMD = a + b * HU (mg HA/cm^3), given or fitted by least squares from >= 2 rod ROIs of
 * known density (QCT practice). Density: rho = 0.01 + 0.99 (BMD - BMDmin)/(BMDmax - BMDmin), clamped
 * to [0.01, 1] inside the mask, 0.01 outside (DESIGN.md); BMDmin/BMDmax default to the 1st and 99th
 * percentiles of BMD inside the mask (robust to single noisy voxels), or are set.
 *
 * Thresholds on a histogram (scikit-image conventions: n_bins equal bins over [min, max] of the data,
 * or one bin per integer grey level for integer data; the threshold is a bin centre; bone is > t):
 * Otsu, IsoData (Ridler-Calvard, as skimage.filters.threshold_isodata) and ImageJ's "Default" IsoData.
 *
 * Segmentation (tb_segment_run), all methods:
 *   1. refuse NaN/Inf; the body is HU > body_hu (air left out of every histogram);
 *   2. soft tissue: the densest-HU histogram peak below 200 HU (fat can outnumber muscle), its sigma from
 *      the peak's lower half width; t_optimal: Otsu/IsoData of the voxels above that peak (a whole-body
 *      histogram splits fat from muscle, not bone from tissue); t_background: tissue + 3 sigma, at most
 *      half-way to the bone markers' threshold;
 *   3. otsu/isodata -> objects are the 6-connected components of HU > t_optimal;
 *      watershed -> object markers: components of HU > t_optimal; background markers: HU < t_background
 *        where not enclosed by brighter voxels (marrow inside a closed cortex is left to the flood); flooded
 *        on the 3D gradient magnitude (Gaussian derivatives, sigma in voxels);
 *      complementary (Kim et al. 2018, paper 000) -> the same flood, but the object markers come from a
 *        patient-specific separation: voxels above t_bone = tissue + 5 sigma (noise cannot reach it) merge from
 *        the brightest down (a max-tree); where two parts each larger than min_split_mm3 meet at level h, each
 *        keeps its own marker of its voxels above h: the lowest threshold that separates them (what the
 *        paper's golden-section "load path" search finds, here exactly and per contact). Marker voxels fainter
 *        than half-way to t_optimal are peeled by one voxel so the flood, not the marker, sets the boundary.
 *        The threshold gives the regions (MASK 1), the watershed the boundaries (MASK 2): a cortex too thin or
 *        blurred for a threshold is carried along by the flood, and femur and acetabulum, touching at the
 *        joint, stay separate objects. Small pieces without a marker join the object they touch most; a bone
 *        voxel facing background stays if it is half-way from the background to the bone around it;
 *   4. holes filled (3D, and per axial slice so an open medullary canal fills), filled voxels take the label
 *      around them; objects below min_object_mm3 dropped; labels 1..n by decreasing volume.
 * Markers given by the user replace step 3's markers: label 1 = background, 2..255 = objects.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_SEGMENT_ERROR (tb_segment_error_quark ())
GQuark tb_segment_error_quark (void);

typedef enum {
  TB_SEGMENT_ERROR_INVALID,    /* a setting out of range, a rod outside the image, a bad JSON file */
  TB_SEGMENT_ERROR_NONFINITE,  /* NaN/Inf voxels in the CT */
  TB_SEGMENT_ERROR_SIZE,       /* a mask or marker volume on another grid than the CT */
  TB_SEGMENT_ERROR_EMPTY,      /* no bone found / an empty mask */
  TB_SEGMENT_ERROR_FIT,        /* calibration rods that do not determine a line */
} TbSegmentError;

/* ---- Calibration and density ---- */
typedef struct {
  TbBox box;                   /* ROI inside the rod, voxels */
  double mean_hu;              /* filled by the fit when a box is given; or given with box.nx = 0 */
  double bmd;                  /* known density, mg HA/cm^3 */
  double residual;             /* filled by the fit: (a + b mean_hu) - bmd */
} TbCalibrationRod;

typedef struct {
  double a, b;                 /* BMD = a + b * HU */
  gboolean fitted;             /* FALSE: coefficients given */
  guint n_rods;
  double rms_residual;         /* sqrt(mean residual^2), mg HA/cm^3; 0 when given or 2 rods */
  double max_residual;
  TbCalibrationRod rods[16];
} TbCalibration;

void       tb_calibration_init_given (TbCalibration *cal, double a, double b);
gboolean   tb_calibration_fit        (TbCalibration *cal, const TbVolume *hu, const TbCalibrationRod *rods,
                                      guint n_rods, GError **error);
/* rods.json: {"rods": [{"box": [x0,y0,z0,nx,ny,nz], "bmd": 150}, {"hu": 212.0, "bmd": 300}, ...]} */
gboolean   tb_calibration_fit_file   (TbCalibration *cal, const TbVolume *hu, const char *rods_json,
                                      GError **error);
TbVolume  *tb_calibration_apply      (const TbCalibration *cal, const TbVolume *hu, GError **error);
JsonNode  *tb_calibration_to_json    (const TbCalibration *cal);

/* bmd_min / bmd_max: in, NaN = from the image (1st / 99th percentile inside the mask); out, the values used. */
TbVolume  *tb_density_from_bmd       (const TbVolume *bmd, const TbMask *mask, double *bmd_min,
                                      double *bmd_max, GError **error);

/* ---- Global thresholds ---- */
typedef enum {
  TB_THRESHOLD_OTSU,
  TB_THRESHOLD_ISODATA,         /* Ridler-Calvard, skimage.filters.threshold_isodata */
  TB_THRESHOLD_ISODATA_IMAGEJ,  /* ImageJ "Default": IJ_IsoData, end bins ignored */
} TbThresholdMethod;

/* counts[n_bins] over bins of equal width from lo to hi; returns a bin centre (bone > t). */
double     tb_threshold_histogram    (TbThresholdMethod method, const guint64 *counts, guint n_bins,
                                      double lo, double hi);
/* Of the finite values of v inside [lo, hi] (NaN = the data's min/max); n_bins 0 = one bin per integer
 * grey level (8/16-bit data held as float). NaN with error set when nothing is left to threshold. */
double     tb_threshold_volume       (TbThresholdMethod method, const TbVolume *v, double lo, double hi,
                                      guint n_bins, GError **error);

/* The threshold that keeps a volume fraction: t such that the voxels >= t number round(fraction n) (a
 * BV/TV-preserving threshold; voxels tied with the t-th value all count, so ties can add a few more).
 * +Infinity when no voxel is to be kept; NaN voxels are never kept. */
double     tb_threshold_keeping_fraction (const TbVolume *v, double fraction);

/* ---- Building blocks ---- */
TbVolume  *tb_segment_gradient       (const TbVolume *v, double sigma_voxels, GError **error);
/* Marker-controlled watershed: priority flood (binary heap ordered by value, then by age, so equal values
 * flood first-come first-served and the result is deterministic); 6-connected; markers 0 = unlabelled. */
TbMask    *tb_segment_watershed      (const TbVolume *relief, const TbMask *markers, GCancellable *cancellable,
                                      TbProgressFunc progress, gpointer user_data, GError **error);
/* Components of mask != 0 (connectivity 6 or 26): labels 1..n by decreasing size; more than 255 keep
 * the 255 largest. n_components (optional) counts them all. */
TbMask    *tb_segment_components     (const TbMask *mask, int connectivity, guint *n_components, GError **error);
typedef enum { TB_FILL_3D = 1, TB_FILL_AXIAL = 2, TB_FILL_BOTH = 3 } TbFillMode;
void       tb_segment_fill_holes     (TbMask *labels, TbFillMode mode);

typedef enum { TB_KEEP_ALL, TB_KEEP_LARGEST, TB_KEEP_SEED, TB_KEEP_LABEL } TbKeepMode;
typedef struct {
  TbKeepMode mode;
  guint n;                     /* LARGEST: how many; LABEL: which label */
  int seed[3];                 /* SEED: a voxel inside the object */
} TbKeep;
/* Keep the chosen objects of a label volume, relabelled 1..n. */
TbMask    *tb_segment_keep           (const TbMask *labels, const TbKeep *keep, GError **error);

/* ---- Whole segmentation ---- */
typedef enum {
  TB_SEGMENT_COMPLEMENTARY, TB_SEGMENT_WATERSHED, TB_SEGMENT_OTSU, TB_SEGMENT_ISODATA,
} TbSegmentMethod;

typedef struct {
  TbSegmentMethod method;
  TbThresholdMethod optimal;   /* the "optimal threshold" of step 2; default ISODATA */
  guint n_bins;                /* default 256 */
  double body_hu;              /* default -400 */
  double t_bone, t_background; /* NaN (default) = automatic */
  double gradient_sigma;       /* voxels, default 1.0 */
  double min_split_mm3;        /* default 3000 */
  double min_object_mm3;      /* default 1000 */
  TbFillMode fill;             /* default TB_FILL_BOTH */
  int refine_edges;            /* half-way rule on the flood's edge voxels: 1 on, 0 off, -1 (default) when
                                * voxels are <= 1.5 mm (coarser, a plate is 1-2 voxels thick and would open) */
  const TbMask *markers;       /* optional user markers (1 background, 2.. objects) */
} TbSegmentParams;

typedef struct {
  TbMask *labels;              /* 0 background, 1..n_objects by decreasing volume */
  guint n_objects;
  double volumes_mm3[255];
  double t_optimal;            /* the optimal (Otsu/IsoData) threshold of the tissue-and-bone voxels, HU */
  double t_bone, t_background; /* HU: lowest object-marker level, background-marker level */
  double t_split_min, t_split_max; /* separation levels found (complementary), NaN if none */
  guint n_splits;
  double soft_tissue_hu, soft_tissue_sigma;
} TbSegmentResult;

void             tb_segment_params_init (TbSegmentParams *params);
TbSegmentResult *tb_segment_run         (const TbVolume *ct, const TbSegmentParams *params,
                                         GCancellable *cancellable, TbProgressFunc progress,
                                         gpointer user_data, GError **error);
void             tb_segment_result_free (TbSegmentResult *result);
const char      *tb_segment_method_name (TbSegmentMethod method);
gboolean         tb_segment_method_from_name (const char *name, TbSegmentMethod *method);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbSegmentResult, tb_segment_result_free)

G_END_DECLS
