/* tb-segment-run.c — the whole segmentation: thresholds, markers, watershed, holes, objects. */
#include "tb-segment.h"
#include "tb-segment-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *method_names[] = { "complementary", "watershed", "otsu", "isodata" };

const char *
tb_segment_method_name (TbSegmentMethod method)
{
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (method_names), NULL);
  return method_names[method];
}

gboolean
tb_segment_method_from_name (const char *name, TbSegmentMethod *method)
{
  for (guint i = 0; i < G_N_ELEMENTS (method_names); i++)
    if (g_strcmp0 (name, method_names[i]) == 0)
      {
        *method = (TbSegmentMethod) i;
        return TRUE;
      }
  return FALSE;
}

void
tb_segment_params_init (TbSegmentParams *p)
{
  g_return_if_fail (p != NULL);
  memset (p, 0, sizeof *p);
  p->method = TB_SEGMENT_COMPLEMENTARY;
  p->optimal = TB_THRESHOLD_ISODATA;
  p->n_bins = 256;
  p->body_hu = -400;
  p->t_bone = NAN;
  p->t_background = NAN;
  p->gradient_sigma = 1.0;
  p->min_split_mm3 = 3000;
  p->min_object_mm3 = 1000;
  p->fill = TB_FILL_BOTH;
  p->refine_edges = -1;
}

void
tb_segment_result_free (TbSegmentResult *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->labels, tb_mask_unref);
  g_free (r);
}

/* Step 2 of the header: soft-tissue mode and width, bone and background thresholds. */
static gboolean
auto_thresholds (const TbVolume *ct, const TbSegmentParams *p, TbSegmentResult *res, GError **error)
{
  gsize n = tb_volume_n_voxels (ct);
  double hi = -INFINITY;
  gsize n_body = 0;
  for (gsize i = 0; i < n; i++)
    if (ct->data[i] > p->body_hu)
      {
        hi = MAX (hi, ct->data[i]);
        n_body++;
      }
  if (n_body == 0)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                   "No voxel above %.0f HU: the image holds only air; is it a CT in HU?", p->body_hu);
      return FALSE;
    }
  /* mode of the body histogram in 1 HU bins, smoothed over 9 HU so noise does not pick a spike */
  double lo = floor (p->body_hu);
  guint nb = (guint) CLAMP (ceil (MIN (hi, 3000.0)) - lo + 1, 2, 1u << 22);
  g_autofree guint64 *h = g_new0 (guint64, nb);
  tb_volume_histogram (ct, lo, lo + nb, nb, h);
  g_autofree double *sm = g_new0 (double, nb);
  double best = -1;
  for (guint b = 0; b < nb; b++)
    {
      for (int t = -4; t <= 4; t++)
        if ((int) b + t >= 0 && b + t < nb)
          sm[b] += h[b + t];
      best = MAX (best, sm[b]);
    }
  /* soft tissue = the densest-HU peak below 200 HU holding >= 10 % of the tallest: in an abdomen fat
   * (about -100 HU) often outnumbers muscle (about 50 HU), and the bone threshold must split bone from
   * muscle, not muscle from fat */
  guint mode = 0;
  for (guint b = 0; b < nb && lo + b < 200; b++)
    {
      gboolean peak = sm[b] >= 0.1 * best;
      for (int t = -20; t <= 20 && peak; t++)
        if ((int) b + t >= 0 && b + t < nb && sm[b + t] > sm[b])
          peak = FALSE;
      if (peak)
        mode = b;
    }
  best = sm[mode];
  guint half = mode;
  while (half > 0 && sm[half] > 0.5 * best)
    half--;
  res->soft_tissue_hu = lo + mode + 0.5;
  /* the lower half width of the tissue peak: fat and bone both lie away from that side's edge */
  res->soft_tissue_sigma = MAX (1.0, (mode - half) / 1.1774);  /* HWHM = 1.1774 sigma for a Gaussian */
  TbThresholdMethod tm = p->method == TB_SEGMENT_OTSU ? TB_THRESHOLD_OTSU
                         : p->method == TB_SEGMENT_ISODATA ? TB_THRESHOLD_ISODATA : p->optimal;
  g_autoptr(GError) local = NULL;
  res->t_optimal = tb_threshold_volume (tm, ct, res->soft_tissue_hu, NAN, p->n_bins, &local);
  if (isnan (res->t_optimal) || res->t_optimal <= res->soft_tissue_hu + 2 * res->soft_tissue_sigma)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                   "No bone found: nothing stands out above the soft tissue (%.0f +- %.0f HU); "
                   "check that the image is a CT in HU, or give the bone threshold",
                   res->soft_tissue_hu, res->soft_tissue_sigma);
      return FALSE;
    }
  /* object markers are the sure bone above the optimal threshold (Kim et al.'s regional information): the
   * flood then puts the boundary on the gradient ridge, half-way up the blurred edge, and carries it along
   * a cortex too thin or too blurred to reach the threshold */
  res->t_bone = isnan (p->t_bone) ? res->t_optimal : p->t_bone;
  if (p->method == TB_SEGMENT_COMPLEMENTARY && isnan (p->t_bone))
    /* the separation tree starts lower, where tissue noise cannot reach (5 sigma: 3e-7 of Gaussian noise),
     * so faint bone (a thin ilium, an osteoporotic head at 3 mm) still gets a marker of its own */
    res->t_bone = MIN (res->soft_tissue_hu + 5 * res->soft_tissue_sigma, res->t_optimal);
  if (isnan (p->t_background))
    res->t_background = MIN (res->soft_tissue_hu + 3 * res->soft_tissue_sigma,
                             0.5 * (res->soft_tissue_hu + res->t_bone));
  else
    res->t_background = p->t_background;
  if (!(res->t_background < res->t_bone))
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "The background threshold (%.1f HU) must lie below the bone threshold (%.1f HU)",
                   res->t_background, res->t_bone);
      return FALSE;
    }
  return TRUE;
}

/* Marker voxels below t_faint (half-way from soft tissue to the optimal threshold) stay only where all six
 * neighbours carry the same marker: the blurred outer voxel of each edge goes back to the flood, which puts
 * the boundary on the gradient ridge instead of at the 5-sigma level. Brighter bone stays marked, so a faint
 * but real region (a femoral head at 3 mm) keeps its own marker against its neighbour's flood. */
static void
erode_faint_markers (const TbVolume *ct, TbMask *markers, double t_faint)
{
  const int nx = ct->nx, ny = ct->ny, nz = ct->nz;
  gsize n = tb_volume_n_voxels (ct);
  g_autofree guint8 *drop = g_new0 (guint8, n);
#pragma omp parallel for schedule(static)
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        {
          gsize idx = tb_volume_index (ct, i, j, k);
          guint8 l = markers->data[idx];
          if (l == 0 || ct->data[idx] >= t_faint)
            continue;
          int nb[6][3] = { { i - 1, j, k }, { i + 1, j, k }, { i, j - 1, k }, { i, j + 1, k }, { i, j, k - 1 }, { i, j, k + 1 } };
          for (int t = 0; t < 6; t++)
            {
              int a = nb[t][0], b = nb[t][1], c = nb[t][2];
              if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz)
                continue;
              if (markers->data[a + (gsize) nx * (b + (gsize) ny * c)] != l)
                {
                  drop[idx] = 1;
                  break;
                }
            }
        }
  for (gsize i = 0; i < n; i++)
    if (drop[i])
      markers->data[i] = 0;
}

/* The flood gives a voxel on the gradient ridge to whichever side reaches it first, usually the bone, whose
 * marker is nearer: one layer too many. Each bone voxel facing the background is kept only if it is at least
 * half-way between the bone (brightest bone voxel of its 3x3x3 neighbourhood) and the background around it
 * (mean of the background voxels there): the partial-volume rule of a blurred edge, judged locally so a
 * faint thin cortex keeps its crest. One layer at most. */
static void
refine_edges (const TbVolume *ct, TbMask *labels)
{
  const int R = 1;
  const int nx = ct->nx, ny = ct->ny, nz = ct->nz;
  gsize n = tb_volume_n_voxels (ct);
  g_autofree guint8 *drop = g_new0 (guint8, n);
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        {
          gsize idx = tb_volume_index (ct, i, j, k);
          if (labels->data[idx] == 0)
            continue;
          gboolean edge = (i > 0 && !labels->data[idx - 1]) || (i < nx - 1 && !labels->data[idx + 1])
                          || (j > 0 && !labels->data[idx - nx]) || (j < ny - 1 && !labels->data[idx + nx])
                          || (k > 0 && !labels->data[idx - (gsize) nx * ny])
                          || (k < nz - 1 && !labels->data[idx + (gsize) nx * ny]);
          if (!edge)
            continue;
          double hi = -INFINITY, bg = 0;
          int n_bg = 0;
          for (int c = MAX (k - R, 0); c <= MIN (k + R, nz - 1); c++)
            for (int b = MAX (j - R, 0); b <= MIN (j + R, ny - 1); b++)
              for (int a = MAX (i - R, 0); a <= MIN (i + R, nx - 1); a++)
                {
                  gsize q = tb_volume_index (ct, a, b, c);
                  if (labels->data[q])
                    hi = MAX (hi, ct->data[q]);
                  else
                    {
                      bg += ct->data[q];
                      n_bg++;
                    }
                }
          if (n_bg > 0 && ct->data[idx] < 0.5 * (hi + bg / n_bg))
            drop[idx] = 1;
        }
  for (gsize i = 0; i < n; i++)
    if (drop[i])
      labels->data[i] = 0;
}

/* Drop objects below min_voxels, relabel 1..n by decreasing volume, fill the result's table. */
static gboolean
finish_objects (TbSegmentResult *res, TbMask *labels, gsize min_voxels, GError **error)
{
  gsize n = tb_mask_n_voxels (labels);
  gsize counts[256] = { 0 };
  for (gsize i = 0; i < n; i++)
    counts[labels->data[i]]++;
  for (gsize i = 0; i < n; i++)
    if (counts[labels->data[i]] < min_voxels)
      labels->data[i] = 0;
  TbKeep all = { TB_KEEP_ALL };
  g_autoptr(GError) local = NULL;
  TbMask *ranked = tb_segment_keep (labels, &all, &local);
  if (ranked == NULL)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                   "No bone found: no object of at least %.0f voxels above %.1f HU; "
                   "lower the minimum object size or give the bone threshold", (double) min_voxels, res->t_bone);
      return FALSE;
    }
  memset (counts, 0, sizeof counts);
  for (gsize i = 0; i < n; i++)
    counts[ranked->data[i]]++;
  double voxel_mm3 = labels->spacing[0] * labels->spacing[1] * labels->spacing[2];
  res->n_objects = 0;
  for (guint l = 1; l < 256; l++)
    if (counts[l] > 0)
      {
        res->volumes_mm3[l - 1] = counts[l] * voxel_mm3;
        res->n_objects = l;
      }
  res->labels = ranked;
  return TRUE;
}

TbSegmentResult *
tb_segment_run (const TbVolume *ct, const TbSegmentParams *p, GCancellable *cancellable,
                TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (ct != NULL && p != NULL, NULL);
  gsize n = tb_volume_n_voxels (ct), bad = 0;
  for (gsize i = 0; i < n; i++)
    bad += !isfinite (ct->data[i]);
  if (bad > 0)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_NONFINITE,
                   "The CT holds %zu NaN or infinite voxels of %zu: repair or crop them "
                   "(e.g. set them to air, -1000 HU) before segmenting", bad, n);
      return NULL;
    }
  if (p->markers != NULL && !tb_segment_same_grid_mask (ct, p->markers, "marker volume", error))
    return NULL;
  if (n >= G_MAXUINT32)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "The CT has %zu voxels; segmentation takes at most 2^32: crop it to the bones of interest", n);
      return NULL;
    }
  /* the peak of the pipeline: gradient work buffers (4 floats) + heap and union-find (~24 bytes) + masks */
  if (!tb_memory_check ((guint64) n * 44, "segmentation", error))
    return NULL;
  if (p->n_bins < 2 || p->min_object_mm3 < 0 || p->min_split_mm3 < 0 || p->gradient_sigma > 10)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "Bad settings: bins %u (>= 2), minimum volumes %.0f/%.0f mm^3 (>= 0), gradient sigma %.2f (<= 10)",
                   p->n_bins, p->min_object_mm3, p->min_split_mm3, p->gradient_sigma);
      return NULL;
    }
  TbSegmentTicker ticker = { cancellable, progress, user_data, 0 };
  gint64 t_start = g_get_monotonic_time ();
#define STEP(what) g_debug ("segment: %-24s done at %.2f s", what, (g_get_monotonic_time () - t_start) / 1e6)
  g_autoptr(TbSegmentResult) res = g_new0 (TbSegmentResult, 1);
  res->t_split_min = res->t_split_max = NAN;
  if (!auto_thresholds (ct, p, res, error))
    return NULL;
  STEP ("thresholds");
  if (!tb_segment_tick (&ticker, 0.05, "Thresholds", error))
    return NULL;
  double voxel_mm3 = ct->spacing[0] * ct->spacing[1] * ct->spacing[2];
  gsize min_object = (gsize) ceil (p->min_object_mm3 / voxel_mm3);
  g_autoptr(TbMask) labels = NULL;

  if (p->method == TB_SEGMENT_OTSU || p->method == TB_SEGMENT_ISODATA)
    {
      g_autoptr(TbMask) bone = tb_segment_mask_like (ct, error);
      if (bone == NULL)
        return NULL;
      for (gsize i = 0; i < n; i++)
        bone->data[i] = ct->data[i] > res->t_bone;
      labels = tb_segment_components (bone, 6, NULL, error);
      if (labels == NULL)
        return NULL;
    }
  else
    {
      g_autoptr(TbMask) markers = NULL;
      if (p->markers != NULL)
        markers = tb_mask_ref ((TbMask *) p->markers);
      else if (p->method == TB_SEGMENT_COMPLEMENTARY)
        {
          guint n_markers;
          gsize min_split = (gsize) ceil (p->min_split_mm3 / voxel_mm3);
          markers = tb_segment_separation_markers (ct, res->t_bone, MAX (min_split, 1), &res->t_split_min,
                                                   &res->t_split_max, &res->n_splits, &n_markers, &ticker, error);
          if (markers == NULL)
            return NULL;
          STEP ("separation max-tree");
          erode_faint_markers (ct, markers, 0.5 * (res->soft_tissue_hu + res->t_optimal));
        }
      else
        {
          g_autoptr(TbMask) bone = tb_segment_mask_like (ct, error);
          if (bone == NULL)
            return NULL;
          for (gsize i = 0; i < n; i++)
            bone->data[i] = ct->data[i] > res->t_bone;
          markers = tb_segment_components (bone, 6, NULL, error);
          if (markers == NULL)
            return NULL;
          for (gsize i = 0; i < n; i++)
            if (markers->data[i])
              markers->data[i] = markers->data[i] >= TB_SEGMENT_FRAGMENT - 1 ? TB_SEGMENT_FRAGMENT : markers->data[i] + 1;
        }
      if (p->markers == NULL)
        {
          /* background markers: tissue below t_background that is not enclosed by brighter voxels, so
           * the marrow inside a closed cortex is left for the bone to flood */
          g_autoptr(TbMask) tissue = tb_segment_mask_like (ct, error);
          if (tissue == NULL)
            return NULL;
          for (gsize i = 0; i < n; i++)
            tissue->data[i] = ct->data[i] >= res->t_background;
          tb_segment_fill_holes (tissue, TB_FILL_3D);
          gsize n_bg = 0, n_obj = 0;
          for (gsize i = 0; i < n; i++)
            {
              if (!tissue->data[i])
                {
                  markers->data[i] = 1;
                  n_bg++;
                }
              n_obj += markers->data[i] > 1;
            }
          if (n_obj == 0)
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                           "No bone found: no voxel above the bone threshold %.1f HU", res->t_bone);
              return NULL;
            }
          if (n_bg == 0)
            {
              g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                           "No background found below %.1f HU: give the background threshold", res->t_background);
              return NULL;
            }
        }
      if (!tb_segment_tick (&ticker, 0.25, "Gradient", error))
        return NULL;
      STEP ("markers");
      g_autoptr(TbVolume) relief = tb_segment_gradient (ct, p->gradient_sigma, error);
      if (relief == NULL)
        return NULL;
      STEP ("gradient");
      labels = tb_segment_watershed (relief, markers, cancellable, NULL, NULL, error);
      if (labels == NULL)
        return NULL;
      STEP ("watershed");
      if (p->markers == NULL)
        tb_segment_absorb_fragments (labels, TB_SEGMENT_FRAGMENT, 1);
      /* watershed labels: 1 background, 2.. objects -> 0, 1.. */
      for (gsize i = 0; i < n; i++)
        labels->data[i] = labels->data[i] >= 1 ? labels->data[i] - 1 : 0;
      double coarsest = MAX (ct->spacing[0], MAX (ct->spacing[1], ct->spacing[2]));
      if (p->refine_edges > 0 || (p->refine_edges < 0 && coarsest <= 1.5))
        refine_edges (ct, labels);
      STEP ("edges refined");
    }
  if (!tb_segment_tick (&ticker, 0.8, "Filling holes", error))
    return NULL;
  tb_segment_fill_holes (labels, p->fill);
  STEP ("holes filled");
  if (!finish_objects (res, labels, MAX (min_object, 1), error))
    return NULL;
  STEP ("objects");
#undef STEP
  if (progress != NULL)
    progress (1.0, "Segmented", user_data);
  return g_steal_pointer (&res);
}
