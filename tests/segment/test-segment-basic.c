/* test-segment-basic.c — thresholds, watershed and components against scikit-image/SciPy on the same data;
 * calibration and density exactly; hole filling and keeping objects on shapes with known answers. */
#include "segment-test-common.h"

#include <string.h>

/* bimodal grey values: two Gaussians (means m1, m2, sd s), n values, rounded when `integer` */
static float *
bimodal (gsize n, double m1, double m2, double s, double frac2, gboolean integer, double lo, double hi, guint32 seed)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  float *a = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    {
      double u1 = g_rand_double (r), u2 = g_rand_double (r);
      double z = sqrt (-2 * log (MAX (u1, 1e-300))) * cos (2 * G_PI * u2);
      double x = (g_rand_double (r) < frac2 ? m2 : m1) + s * z;
      x = CLAMP (x, lo, hi);
      a[i] = (float) (integer ? round (x) : x);
    }
  return a;
}

typedef struct {
  const char *name;
  const char *dtype;
  double m1, m2, s, frac2, lo, hi;
  guint n_bins;          /* 0: one bin per grey level (integer data) */
} ThresholdCase;

static void
check_threshold_case (const ThresholdCase *c)
{
  const int nx = 64, ny = 48, nz = 20;
  gsize n = (gsize) nx * ny * nz;
  gboolean integer = c->n_bins == 0;
  g_autofree float *a = bimodal (n, c->m1, c->m2, c->s, c->frac2, integer, c->lo, c->hi, 7);
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (nx, ny, nz, sp, NULL);
  memcpy (v->data, a, n * sizeof (float));
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *raw = g_build_filename (dir, "a.raw", NULL);
  /* the peer sees the data in its own type: uint8, uint16 or float32 */
  gsize esize = g_str_equal (c->dtype, "uint8") ? 1 : g_str_equal (c->dtype, "uint16") ? 2 : 4;
  g_autofree guint8 *buf = g_malloc (n * esize);
  for (gsize i = 0; i < n; i++)
    {
      if (esize == 1)
        buf[i] = (guint8) a[i];
      else if (esize == 2)
        ((guint16 *) buf)[i] = (guint16) a[i];
      else
        ((float *) buf)[i] = a[i];
    }
  segment_test_write (raw, buf, n * esize);
  double width = integer ? 1.0 : (c->hi - c->lo) / c->n_bins;
  const char *methods[] = { "otsu", "isodata" };
  TbThresholdMethod ours[] = { TB_THRESHOLD_OTSU, TB_THRESHOLD_ISODATA };
  for (guint m = 0; m < 2; m++)
    {
      g_autofree char *sx = g_strdup_printf ("%d", nx), *sy = g_strdup_printf ("%d", ny),
                      *sz = g_strdup_printf ("%d", nz), *nb = g_strdup_printf ("%u", MAX (c->n_bins, 256));
      const char *args[] = { "threshold", raw, c->dtype, sx, sy, sz, methods[m], nb, NULL };
      g_autofree char *out = segment_test_peer (args);
      if (out == NULL)
        break;
      double ref = g_ascii_strtod (out, NULL);
      GError *error = NULL;
      double t = tb_threshold_volume (ours[m], v, NAN, NAN, c->n_bins, &error);
      g_assert_no_error (error);
      /* actual bin width of the data's own range */
      TbVolumeStats st;
      tb_volume_stats (v, &st);
      double w = integer ? 1.0 : (st.max - st.min) / c->n_bins;
      g_test_message ("%s %s: ours %.4f, skimage %.4f (bin %.4f)", c->name, methods[m], t, ref, w);
      /* the tolerance: one grey level (integer data) or one bin (float data); numpy's float32
       * accumulation in isodata and edge rounding in np.histogram can move the answer by one bin */
      g_assert_cmpfloat (fabs (t - ref), <=, w + 1e-6 * fabs (ref));
      (void) width;
    }
  tb_test_rmdir (dir);
}

static void
test_threshold_vs_skimage (void)
{
  const ThresholdCase cases[] = {
    { "uint8", "uint8", 60, 170, 18, 0.35, 0, 255, 0 },
    { "uint16", "uint16", 900, 2600, 200, 0.2, 0, 4095, 0 },
    { "float", "float32", -30, 700, 40, 0.15, -1000, 2000, 256 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_threshold_case (&cases[i]);
}

static void
test_threshold_imagej (void)
{
  /* two spikes at bins 1 and 5: IJ_IsoData stops at round((1 + 5)/2) = 3 -> centre of bin 3 */
  guint64 h[10] = { 0, 10, 0, 0, 0, 10, 0, 0, 0, 0 };
  g_assert_cmpfloat (tb_threshold_histogram (TB_THRESHOLD_ISODATA_IMAGEJ, h, 10, 0, 10), ==, 3.5);
  g_assert_cmpfloat (tb_threshold_histogram (TB_THRESHOLD_ISODATA, h, 10, 0, 10), ==, 3.5);
  /* ImageJ ignores the end bins (saturated pixels): a big spike in bin 9 changes nothing */
  h[9] = 1000;
  g_assert_cmpfloat (tb_threshold_histogram (TB_THRESHOLD_ISODATA_IMAGEJ, h, 10, 0, 10), ==, 3.5);
  /* ... but moves skimage's IsoData, which counts every bin: above-mean (55 + 9500)/1010 -> t = 4.5 */
  g_assert_cmpfloat (tb_threshold_histogram (TB_THRESHOLD_ISODATA, h, 10, 0, 10), ==, 4.5);
  /* on well-separated 8-bit modes both IsoData variants agree within one grey level */
  gsize n = 100000;
  g_autofree float *a = bimodal (n, 70, 180, 15, 0.4, TRUE, 1, 254, 3);
  guint64 hist[256] = { 0 };
  for (gsize i = 0; i < n; i++)
    hist[(int) a[i]]++;
  double ij = tb_threshold_histogram (TB_THRESHOLD_ISODATA_IMAGEJ, hist, 256, 0, 256);
  double sk = tb_threshold_histogram (TB_THRESHOLD_ISODATA, hist, 256, 0, 256);
  g_test_message ("ImageJ Default %.1f, IsoData %.1f", ij, sk);
  g_assert_cmpfloat (fabs (ij - sk), <=, 1.0);
}

/* a smooth random relief with a few markers: our flood and skimage's, voxel by voxel */
static void
test_watershed_vs_skimage (void)
{
  const int nx = 40, ny = 36, nz = 30;
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) noise = tb_volume_new (nx, ny, nz, sp, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (11);
  gsize n = tb_volume_n_voxels (noise);
  for (gsize i = 0; i < n; i++)
    noise->data[i] = (float) g_rand_double (r);
  GError *error = NULL;
  g_autoptr(TbVolume) relief = tb_segment_gradient (noise, 1.5, &error);
  g_assert_no_error (error);
  g_autoptr(TbMask) markers = tb_mask_new (nx, ny, nz, sp, NULL);
  for (int l = 1; l <= 6; l++)
    {
      int i = g_rand_int_range (r, 2, nx - 2), j = g_rand_int_range (r, 2, ny - 2), k = g_rand_int_range (r, 2, nz - 2);
      markers->data[tb_volume_index (noise, i, j, k)] = l;
      markers->data[tb_volume_index (noise, i + 1, j, k)] = l;
    }
  g_autoptr(TbMask) ours = tb_segment_watershed (relief, markers, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *fr = g_build_filename (dir, "r.raw", NULL), *fm = g_build_filename (dir, "m.raw", NULL),
                  *fo = g_build_filename (dir, "o.raw", NULL);
  segment_test_write (fr, relief->data, n * 4);
  segment_test_write (fm, markers->data, n);
  g_autofree char *sx = g_strdup_printf ("%d", nx), *sy = g_strdup_printf ("%d", ny), *sz = g_strdup_printf ("%d", nz);
  const char *args[] = { "watershed", fr, fm, sx, sy, sz, fo, NULL };
  g_autofree char *out = segment_test_peer (args);
  if (out != NULL)
    {
      gchar *ref = NULL;
      gsize len = 0;
      g_file_get_contents (fo, &ref, &len, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (len, ==, n);
      gsize same = 0;
      for (gsize i = 0; i < n; i++)
        same += (guint8) ref[i] == ours->data[i];
      g_test_message ("watershed: %zu of %zu voxels labelled as scikit-image does", same, n);
      /* the same flood order on distinct float values gives the same labels; allow 0.1 % for ties */
      g_assert_cmpfloat ((double) same / n, >=, 0.999);
      g_free (ref);
    }
  tb_test_rmdir (dir);
}

/* our Gaussian-derivative gradient magnitude against scipy.ndimage.gaussian_gradient_magnitude (1 mm voxels),
 * compared where neither edge rule reaches (4 sigma + 1 from the border) */
static void
test_gradient_vs_scipy (void)
{
  const int nx = 36, ny = 30, nz = 26;
  const double sigma = 1.2;
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (nx, ny, nz, sp, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (9);
  gsize n = tb_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    v->data[i] = (float) (1000 * g_rand_double (r));
  GError *error = NULL;
  g_autoptr(TbVolume) g = tb_segment_gradient (v, sigma, &error);
  g_assert_no_error (error);
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *fi = g_build_filename (dir, "v.raw", NULL), *fo = g_build_filename (dir, "g.raw", NULL);
  segment_test_write (fi, v->data, n * 4);
  g_autofree char *sx = g_strdup_printf ("%d", nx), *sy = g_strdup_printf ("%d", ny), *sz = g_strdup_printf ("%d", nz);
  const char *args[] = { "gradient", fi, sx, sy, sz, "1.2", fo, NULL };
  g_autofree char *out = segment_test_peer (args);
  if (out != NULL)
    {
      g_autofree char *ref = NULL;
      gsize len = 0;
      g_file_get_contents (fo, &ref, &len, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (len, ==, n * 4);
      const float *rf = (const float *) ref;
      const int m = (int) ceil (4 * sigma) + 1;
      double worst = 0, scale = 0;
      for (int k = m; k < nz - m; k++)
        for (int j = m; j < ny - m; j++)
          for (int i = m; i < nx - m; i++)
            {
              gsize idx = tb_volume_index (v, i, j, k);
              worst = MAX (worst, fabs (g->data[idx] - rf[idx]));
              scale = MAX (scale, fabs (rf[idx]));
            }
      g_test_message ("gradient: max |ours - scipy| %.3g of max %.3g", worst, scale);
      /* same truncated, normalised taps; float32 accumulation: agree to 1e-4 relative */
      g_assert_cmpfloat (worst, <=, 1e-4 * scale);
    }
  tb_test_rmdir (dir);
}

static void
test_components_vs_scipy (void)
{
  const int nx = 50, ny = 40, nz = 30;
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbMask) m = tb_mask_new (nx, ny, nz, sp, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (5);
  gsize n = tb_mask_n_voxels (m);
  for (gsize i = 0; i < n; i++)
    m->data[i] = g_rand_double (r) < 0.25;
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *fm = g_build_filename (dir, "m.raw", NULL);
  segment_test_write (fm, m->data, n);
  g_autofree char *sx = g_strdup_printf ("%d", nx), *sy = g_strdup_printf ("%d", ny), *sz = g_strdup_printf ("%d", nz);
  for (int conn = 6; conn <= 26; conn += 20)
    {
      g_autofree char *sc = g_strdup_printf ("%d", conn);
      const char *args[] = { "label", fm, sx, sy, sz, sc, NULL };
      g_autofree char *out = segment_test_peer (args);
      if (out == NULL)
        break;
      guint count = 0;
      GError *error = NULL;
      g_autoptr(TbMask) lab = tb_segment_components (m, conn, &count, &error);
      g_assert_no_error (error);
      g_test_message ("%d-connectivity: %u components, scipy %s", conn, count, out);
      g_assert_cmpuint (count, ==, (guint) g_ascii_strtoull (out, NULL, 10));
    }
  tb_test_rmdir (dir);
}

static void
test_fill_and_keep (void)
{
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbMask) m = tb_mask_new (20, 20, 20, sp, NULL);
  /* a closed 10^3 box shell one voxel thick, and an open tube (no caps) */
  for (int k = 2; k < 12; k++)
    for (int j = 2; j < 12; j++)
      for (int i = 2; i < 12; i++)
        if (i == 2 || i == 11 || j == 2 || j == 11 || k == 2 || k == 11)
          m->data[i + 20 * (j + 20 * k)] = 1;
  for (int k = 0; k < 20; k++)
    for (int j = 14; j < 19; j++)
      for (int i = 14; i < 19; i++)
        if (i == 14 || i == 18 || j == 14 || j == 18)
          m->data[i + 20 * (j + 20 * k)] = 2;
  g_autoptr(TbMask) copy = tb_mask_new (20, 20, 20, sp, NULL);
  memcpy (copy->data, m->data, 8000);
  tb_segment_fill_holes (copy, TB_FILL_3D);
  gsize c1 = 0, c2 = 0;
  for (gsize i = 0; i < 8000; i++)
    {
      c1 += copy->data[i] == 1;
      c2 += copy->data[i] == 2;
    }
  g_assert_cmpuint (c1, ==, 1000);       /* the box's 8^3 cavity is filled, with the box's label */
  g_assert_cmpuint (c2, ==, 16 * 20);    /* the open tube is not a hole in 3D */
  tb_segment_fill_holes (copy, TB_FILL_AXIAL);
  c2 = 0;
  for (gsize i = 0; i < 8000; i++)
    c2 += copy->data[i] == 2;
  g_assert_cmpuint (c2, ==, 25 * 20);    /* per axial slice the tube's lumen is enclosed */

  GError *error = NULL;
  TbKeep keep = { TB_KEEP_LARGEST, 1 };
  g_autoptr(TbMask) big = tb_segment_keep (copy, &keep, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tb_mask_count (big), ==, 1000);
  TbKeep seed = { TB_KEEP_SEED, 0, { 16, 16, 5 } };
  g_autoptr(TbMask) tube = tb_segment_keep (copy, &seed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tb_mask_count (tube), ==, 500);
  TbKeep outside = { TB_KEEP_SEED, 0, { 0, 0, 0 } };
  g_assert_null (tb_segment_keep (copy, &outside, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY);
  g_clear_error (&error);
  TbKeep nolabel = { TB_KEEP_LABEL, 7 };
  g_assert_null (tb_segment_keep (copy, &nolabel, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY);
  g_clear_error (&error);
}

static void
test_calibration (void)
{
  /* three rods in a synthetic image with HU = (BMD - a)/b exactly */
  const double a = -5.0, b = 0.82;
  double sp[3] = { 0.5, 0.5, 0.5 };
  g_autoptr(TbVolume) hu = tb_volume_new (30, 10, 10, sp, NULL);
  const double bmd[3] = { 0, 100, 200 };
  for (int k = 0; k < 10; k++)
    for (int j = 0; j < 10; j++)
      for (int i = 0; i < 30; i++)
        hu->data[tb_volume_index (hu, i, j, k)] = (float) ((bmd[i / 10] - a) / b);
  TbCalibrationRod rods[3];
  for (int r = 0; r < 3; r++)
    rods[r] = (TbCalibrationRod) { { 10 * r + 2, 2, 2, 6, 6, 6 }, 0, bmd[r], 0 };
  TbCalibration cal;
  GError *error = NULL;
  g_assert_true (tb_calibration_fit (&cal, hu, rods, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (cal.a - a), <, 1e-4);   /* float voxels: HU stored to ~1e-7 relative */
  g_assert_cmpfloat (fabs (cal.b - b), <, 1e-7);
  g_assert_cmpfloat (cal.rms_residual, <, 1e-4);
  /* a rod read 6 mg/cm^3 off: least squares spreads it; fit a = 2, b = 1, residuals +2, -4, +2 (by hand) */
  TbCalibrationRod given[3] = { { { 0 }, 0, 0 }, { { 0 }, 100, 106 }, { { 0 }, 200, 200 } };
  g_assert_true (tb_calibration_fit (&cal, NULL, given, 3, &error));
  g_assert_cmpfloat (fabs (cal.b - 1.0), <, 1e-12);
  g_assert_cmpfloat (fabs (cal.a - 2.0), <, 1e-12);
  g_assert_cmpfloat (fabs (cal.rods[1].residual + 4.0), <, 1e-12);
  g_assert_cmpfloat (fabs (cal.rms_residual - sqrt ((4.0 + 16.0 + 4.0) / 3)), <, 1e-12);
  g_autoptr(JsonNode) node = tb_calibration_to_json (&cal);
  g_autofree char *json = json_to_string (node, FALSE);
  g_assert_nonnull (strstr (json, "\"rms_residual\""));
  g_assert_nonnull (strstr (json, "least-squares"));
  /* degenerate rods and a rod outside the image */
  TbCalibrationRod same[2] = { { { 0 }, 50, 10 }, { { 0 }, 50, 90 } };
  g_assert_false (tb_calibration_fit (&cal, NULL, same, 2, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_FIT);
  g_clear_error (&error);
  TbCalibrationRod out[2] = { { { 25, 0, 0, 10, 2, 2 }, 0, 10 }, rods[0] };
  g_assert_false (tb_calibration_fit (&cal, hu, out, 2, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID);
  g_clear_error (&error);
  /* rods from a JSON file */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "rods.json", NULL);
  const char *text = "{\"rods\": [{\"box\": [2,2,2,6,6,6], \"bmd\": 0}, {\"box\": [22,2,2,6,6,6], \"bmd\": 200}]}";
  segment_test_write (path, text, strlen (text));
  g_assert_true (tb_calibration_fit_file (&cal, hu, path, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (cal.b - b), <, 1e-7);
  tb_test_rmdir (dir);

  /* density: rho = 0.01 + 0.99 (BMD - min)/(max - min) inside, 0.01 outside, clamped */
  g_autoptr(TbVolume) bv = tb_volume_new (4, 1, 1, sp, NULL);
  g_autoptr(TbMask) mask = tb_mask_new (4, 1, 1, sp, NULL);
  float vals[4] = { 100, 300, 500, 900 };
  memcpy (bv->data, vals, sizeof vals);
  mask->data[0] = mask->data[1] = mask->data[3] = 1;
  double lo = 100, hi = 500;
  g_autoptr(TbVolume) rho = tb_density_from_bmd (bv, mask, &lo, &hi, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (rho->data[0] - 0.01), <, 1e-7);
  g_assert_cmpfloat (fabs (rho->data[1] - 0.505), <, 1e-6);
  g_assert_cmpfloat (fabs (rho->data[2] - 0.01), <, 1e-7);   /* outside the mask */
  g_assert_cmpfloat (fabs (rho->data[3] - 1.0), <, 1e-7);    /* clamped */
  double pl = NAN, ph = NAN;
  g_autoptr(TbVolume) rho2 = tb_density_from_bmd (bv, mask, &pl, &ph, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pl, ==, 100);  /* nearest-rank 1st and 99th percentiles of {100, 300, 900} */
  g_assert_cmpfloat (ph, ==, 900);
  memset (mask->data, 0, 4);
  g_assert_null (tb_density_from_bmd (bv, mask, &pl, &ph, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY);
  g_clear_error (&error);
}

/* The BV/TV-preserving threshold: exact counts on distinct values, ties kept whole, NaN never kept. */
static void
test_threshold_keeping_fraction (void)
{
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (10, 1, 1, sp, NULL);
  for (int i = 0; i < 10; i++)
    v->data[i] = (float) ((i * 7) % 10);   /* 0..9, shuffled */
  g_assert_cmpfloat (tb_threshold_keeping_fraction (v, 0.3), ==, 7.0);   /* 7, 8, 9 */
  g_assert_cmpfloat (tb_threshold_keeping_fraction (v, 1.0), ==, 0.0);
  g_assert_true (isinf (tb_threshold_keeping_fraction (v, 0.04)));     /* rounds to no voxel */
  v->data[0] = NAN;                                                   /* the 0 */
  v->data[3] = 9.0f;                                                  /* was 1: now two 9s */
  g_assert_cmpfloat (tb_threshold_keeping_fraction (v, 0.1), ==, 9.0); /* one voxel asked, the tie keeps two */
  g_assert_cmpfloat (tb_threshold_keeping_fraction (v, 1.0), ==, 2.0); /* the 9 finite values: the smallest */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/threshold/keeping-fraction", test_threshold_keeping_fraction);
  g_test_add_func ("/segment/threshold/skimage", test_threshold_vs_skimage);
  g_test_add_func ("/segment/threshold/imagej", test_threshold_imagej);
  g_test_add_func ("/segment/watershed/skimage", test_watershed_vs_skimage);
  g_test_add_func ("/segment/gradient/scipy", test_gradient_vs_scipy);
  g_test_add_func ("/segment/components/scipy", test_components_vs_scipy);
  g_test_add_func ("/segment/fill-keep", test_fill_and_keep);
  g_test_add_func ("/segment/calibration", test_calibration);
  return g_test_run ();
}
