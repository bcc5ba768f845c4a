/* test-morpho-real.c — real bone data: the micro-CT against SciPy / scikit-image. */
#include "tb-test.h"
#include "morpho/tb-morpho.h"
#include "io/tb-io.h"
#include "segment/tb-segment.h"

#include <math.h>
#include <stdio.h>

typedef struct {
  double threshold, bvtv, euler, tbth;
  int nx, ny, nz;
} Reference;

/* Runs tests/morpho/microct_reference.py; FALSE (test skipped) without the Python stack. */
static gboolean
run_reference (const char *tif, const char *mask_path, Reference *ref)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/python3 is absent");
      return FALSE;
    }
  g_autofree char *script = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "morpho", "microct_reference.py", NULL);
  g_autofree char *cmd = g_strdup_printf ("/usr/bin/python3 %s %s %s", script, tif, mask_path);
  g_autofree char *out = NULL;
  int status = 0;
  GError *error = NULL;
  g_spawn_command_line_sync (cmd, &out, NULL, &status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("numpy, scipy, scikit-image or tifffile is missing from /usr/bin/python3");
      return FALSE;
    }
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      if (g_str_has_prefix (*l, "threshold ")) ref->threshold = g_ascii_strtod (*l + 10, NULL);
      if (g_str_has_prefix (*l, "bvtv ")) ref->bvtv = g_ascii_strtod (*l + 5, NULL);
      if (g_str_has_prefix (*l, "euler ")) ref->euler = g_ascii_strtod (*l + 6, NULL);
      if (g_str_has_prefix (*l, "tbth ")) ref->tbth = g_ascii_strtod (*l + 5, NULL);
      if (g_str_has_prefix (*l, "shape ")) sscanf (*l + 6, "%d %d %d", &ref->nx, &ref->ny, &ref->nz);
    }
  return TRUE;
}

/* skimage.filters.gaussian (sigma 1, truncate 4 -> 9 taps, mode 'nearest'), as the micro-CT's
 * source repository smooths before Otsu; separable, in double. Test scaffolding only: no stage
 * of Trabecula needs a plain Gaussian blur of a grey image. */
static TbVolume *
gaussian_nearest (const TbVolume *v, double sigma)
{
  const int r = (int) (4.0 * sigma + 0.5);
  double w[64], sum = 0;
  for (int t = -r; t <= r; t++)
    sum += w[t + r] = exp (-0.5 * t * t / (sigma * sigma));
  for (int t = 0; t <= 2 * r; t++)
    w[t] /= sum;
  const int n[3] = { v->nx, v->ny, v->nz };
  gsize total = tb_volume_n_voxels (v);
  double *a = g_new (double, total), *b = g_new (double, total);
  for (gsize i = 0; i < total; i++)
    a[i] = v->data[i];
  const gsize stride[3] = { 1, (gsize) n[0], (gsize) n[0] * n[1] };
  for (int axis = 0; axis < 3; axis++)
    {
#pragma omp parallel for schedule(static)
      for (gsize i = 0; i < total; i++)
        {
          int c = (int) ((i / stride[axis]) % n[axis]);
          double s = 0;
          for (int t = -r; t <= r; t++)
            {
              int q = CLAMP (c + t, 0, n[axis] - 1);
              s += w[t + r] * a[i + (gssize) (q - c) * (gssize) stride[axis]];
            }
          b[i] = s;
        }
      double *tmp = a; a = b; b = tmp;
    }
  TbVolume *out = tb_volume_new_like (v, NULL);
  for (gsize i = 0; i < total; i++)
    out->data[i] = (float) a[i];
  g_free (a);
  g_free (b);
  return out;
}

/* The same voxels (scikit-image's segmentation, written by the script) measured by both sides. */
static void
test_microct_vs_scipy (void)
{
  g_autofree char *tif = tb_test_shared_data ("microct/LHDL_3155_D_4_bc_uint8_200x200x200_19.5um.tif");
  if (tif == NULL)
    return;
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *mask_path = g_build_filename (dir, "mask.raw", NULL);
  Reference ref = { NAN, NAN, NAN, NAN, 0, 0, 0 };
  if (!run_reference (tif, mask_path, &ref))
    {
      tb_test_rmdir (dir);
      return;
    }
  /* our own pipeline: Gaussian sigma 1 (as the source repository), Otsu on 256 bins over
   * [min, max] (segment stage, scikit-image's convention); the threshold within one grey level */
  GError *error = NULL;
  g_autoptr(TbVolume) grey = tb_io_read (tif, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(TbVolume) smooth = gaussian_nearest (grey, 1.0);
  double t = tb_threshold_volume (TB_THRESHOLD_OTSU, smooth, NAN, NAN, 256, &error);
  g_assert_no_error (error);
  guint64 above = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (smooth); i++)
    above += smooth->data[i] > t;
  double our_bvtv = (double) above / (double) tb_volume_n_voxels (smooth);  /* printed to 9 digits below */
  g_test_message ("micro-CT: Otsu after Gaussian: ours %.4f, skimage %.4f; BV/TV of our own segmentation %.9f",
                  t, ref.threshold, our_bvtv);
  g_assert_cmpfloat (fabs (t - ref.threshold), <=, 1.0);  /* the bound: one grey level */

  g_autoptr(TbMask) m = tb_mask_new (ref.nx, ref.ny, ref.nz, NULL, NULL);
  g_autofree char *raw = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (mask_path, &raw, &len, NULL));
  tb_test_rmdir (dir);
  g_assert_cmpuint (len, ==, tb_mask_n_voxels (m));
  memcpy (m->data, raw, len);

  TbMorphoResult r = { 0 };
  g_assert_true (tb_morpho_measure (m, NULL, TB_MORPHO_SKIP_SMI | TB_MORPHO_SKIP_ANISOTROPY, &r, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("micro-CT: BV/TV ours %.9f skimage %.9f; Euler ours %.0f skimage %.0f; "
                  "Tb.Th ours %.6f SciPy %.6f voxels", r.bv_tv, ref.bvtv, r.euler, ref.euler, r.tb_th, ref.tbth);
  /* the same voxel count: equal up to the last bit of two divisions */
  g_assert_cmpfloat (fabs (r.bv_tv - ref.bvtv), <, 1e-12);
  g_assert_cmpfloat (r.euler, ==, ref.euler);
  /* the bound is 3 %; both are exact maximal-sphere methods with the same radii */
  g_assert_cmpfloat (fabs (r.tb_th - ref.tbth) / ref.tbth, <, 0.03);
  /* BV/TV of our own segmentation: the same up to the voxels whose smoothed value falls
   * between the two thresholds (float32 vs float64 smoothing, bin centres) */
  g_assert_cmpfloat (fabs (our_bvtv - ref.bvtv), <, 1e-4);
  tb_morpho_result_clear (&r);
}

/* Bonelab's test cube: BV/TV = 7087/15625 = 0.453568 exactly; Euler number -4 (scikit-image 0.19.3). */
static void
test_test25a (void)
{
  g_autofree char *path = tb_test_shared_data ("hrpqct/test25a.nii");
  if (path == NULL)
    return;
  GError *error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(TbMask) m = tb_morpho_binarize (v, &error);  /* 0/127 */
  g_assert_no_error (error);
  TbMorphoResult r = { 0 };
  g_assert_true (tb_morpho_measure (m, NULL, 0, &r, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("test25a: BV/TV %.9f, Euler %.0f, Delta-chi %.3f, Tb.Th %.4f mm, SMI %.3f, DA %.3f",
                  r.bv_tv, r.euler, r.delta_chi, r.tb_th, r.smi, r.da);
  g_assert_cmpfloat (r.bv_tv, ==, 7087.0 / 15625.0);
  g_assert_cmpfloat (fabs (r.bv_tv - 0.453568), <, 5e-7);
  g_assert_cmpfloat (r.euler, ==, -4.0);
  tb_morpho_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/morpho/real/test25a", test_test25a);
  g_test_add_func ("/morpho/real/microct-vs-scipy", test_microct_vs_scipy);
  return g_test_run ();
}
