/* tb-segment-threshold.c — global thresholds on a histogram: Otsu, IsoData (scikit-image), ImageJ Default.
 *
 * Written here rather than taken from a library: no Debian C library offers these three with
 * scikit-image's and ImageJ's exact histogram conventions, which the tests hold us to. */
#include "tb-segment.h"
#include "tb-segment-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (tb-segment-error-quark, tb_segment_error)

static inline double
bin_centre (double lo, double width, guint i)
{
  return lo + (i + 0.5) * width;
}

/* Otsu 1979, as skimage.filters.threshold_otsu: maximise w1 w2 (m1 - m2)^2 over the split after bin i. */
static double
threshold_otsu (const guint64 *counts, guint n, double lo, double width)
{
  double w1 = 0, s1 = 0, total = 0, stotal = 0;
  for (guint i = 0; i < n; i++)
    {
      total += counts[i];
      stotal += counts[i] * bin_centre (lo, width, i);
    }
  double best = -1;
  guint best_i = 0;
  for (guint i = 0; i + 1 < n; i++)
    {
      w1 += counts[i];
      s1 += counts[i] * bin_centre (lo, width, i);
      double w2 = total - w1;
      if (w1 <= 0 || w2 <= 0)
        continue;
      double m1 = s1 / w1, m2 = (stotal - s1) / w2;
      double var = w1 * w2 * (m1 - m2) * (m1 - m2);
      if (var > best)
        {
          best = var;
          best_i = i;
        }
    }
  return bin_centre (lo, width, best_i);
}

/* Ridler & Calvard 1978 as skimage.filters.threshold_isodata: the first bin centre t with
 * 0 <= (mean below-or-at t + mean above t)/2 - t < bin width. */
static double
threshold_isodata (const guint64 *counts, guint n, double lo, double width)
{
  double total = 0, stotal = 0;
  for (guint i = 0; i < n; i++)
    {
      total += counts[i];
      stotal += counts[i] * bin_centre (lo, width, i);
    }
  double w1 = 0, s1 = 0;
  for (guint i = 0; i + 1 < n; i++)
    {
      w1 += counts[i];
      s1 += counts[i] * bin_centre (lo, width, i);
      double w2 = total - w1;
      if (w1 <= 0 || w2 <= 0)
        continue;
      double mean = 0.5 * (s1 / w1 + (stotal - s1) / w2);
      double d = mean - bin_centre (lo, width, i);
      if (d >= 0 && d < width)
        return bin_centre (lo, width, i);
    }
  /* skimage raises here (no bin satisfies the rule); the nearest crossing is the honest answer. */
  return threshold_otsu (counts, n, lo, width);
}

/* ImageJ's ij.process.AutoThresholder.IJDefault ("Default"): IsoData that ignores the first and last bins
 * (saturated or erased pixels) and moves the split up until it passes the mean of the two means. The
 * result is the bin index round(mean); we return that bin's centre. */
static double
threshold_imagej (const guint64 *counts_in, guint n, double lo, double width)
{
  g_autofree double *d = g_new (double, n);
  for (guint i = 0; i < n; i++)
    d[i] = (double) counts_in[i];
  d[0] = 0;
  d[n - 1] = 0;
  guint min = 0, max = n - 1;
  while (d[min] == 0 && min < n - 1)
    min++;
  while (d[max] == 0 && max > 0)
    max--;
  if (min >= max)
    return bin_centre (lo, width, n / 2);
  guint moving = min;
  double result;
  do
    {
      double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
      for (guint i = min; i <= moving; i++)
        {
          s1 += (double) i * d[i];
          s2 += d[i];
        }
      for (guint i = moving + 1; i <= max; i++)
        {
          s3 += (double) i * d[i];
          s4 += d[i];
        }
      result = (s1 / s2 + s3 / s4) / 2.0;
      moving++;
    }
  while ((moving + 1) <= result && moving < max - 1);
  /* Java's Math.round: floor (x + 0.5) */
  guint level = (guint) floor (result + 0.5);
  return bin_centre (lo, width, MIN (level, n - 1));
}

double
tb_threshold_histogram (TbThresholdMethod method, const guint64 *counts, guint n_bins, double lo, double hi)
{
  g_return_val_if_fail (counts != NULL && n_bins >= 2 && hi > lo, NAN);
  double width = (hi - lo) / n_bins;
  switch (method)
    {
    case TB_THRESHOLD_OTSU:
      return threshold_otsu (counts, n_bins, lo, width);
    case TB_THRESHOLD_ISODATA:
      return threshold_isodata (counts, n_bins, lo, width);
    case TB_THRESHOLD_ISODATA_IMAGEJ:
      return threshold_imagej (counts, n_bins, lo, width);
    default:
      g_return_val_if_reached (NAN);
    }
}

double
tb_threshold_volume (TbThresholdMethod method, const TbVolume *v, double lo, double hi, guint n_bins,
                     GError **error)
{
  g_return_val_if_fail (v != NULL, NAN);
  gsize n = tb_volume_n_voxels (v);
  double dmin = INFINITY, dmax = -INFINITY;
  gboolean want_lo = isnan (lo), want_hi = isnan (hi);
  for (gsize i = 0; i < n; i++)
    {
      double x = v->data[i];
      if (!isfinite (x) || (!want_lo && x < lo) || (!want_hi && x > hi))
        continue;
      dmin = MIN (dmin, x);
      dmax = MAX (dmax, x);
    }
  if (!(dmax >= dmin))
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                   "No finite voxels in the range to threshold: check the image and the range");
      return NAN;
    }
  /* skimage takes the range of the data, not of the requested window */
  lo = dmin;
  hi = dmax;
  if (hi == lo)
    return lo;
  double blo = lo, bhi = hi;
  if (n_bins == 0)
    {
      /* one bin per grey level, centred on the integers (skimage's bincount histogram) */
      blo = floor (lo) - 0.5;
      bhi = ceil (hi) + 0.5;
      n_bins = (guint) (bhi - blo);
      if (n_bins > (1u << 24))
        {
          g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                       "Range %.0f..%.0f is too wide for one bin per grey level: give a bin count", lo, hi);
          return NAN;
        }
    }
  g_autofree guint64 *counts = g_new0 (guint64, n_bins);
  tb_volume_histogram (v, blo, bhi, n_bins, counts);
  return tb_threshold_histogram (method, counts, n_bins, blo, bhi);
}

static int
cmp_float_descending (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x < y) - (x > y);
}

double
tb_threshold_keeping_fraction (const TbVolume *v, double fraction)
{
  g_return_val_if_fail (v != NULL, NAN);
  gsize n = tb_volume_n_voxels (v), m = 0;
  g_autofree float *sorted = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    if (!isnan (v->data[i]))
      sorted[m++] = v->data[i];
  gsize k = (gsize) llround (CLAMP (fraction, 0.0, 1.0) * n);
  if (k == 0 || m == 0)
    return INFINITY;
  qsort (sorted, m, sizeof (float), cmp_float_descending);
  return sorted[MIN (k, m) - 1];
}
