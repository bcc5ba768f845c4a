/* test-metrics.c — PSNR, SSIM and Dice: exact cases, and scikit-image on the same arrays. */
#include "tb-test.h"
#include "metrics/tb-metrics.h"

#include <math.h>

/* A smooth image plus deterministic noise: SSIM then lies well inside (0, 1). */
static TbVolume *
make_image (int nx, int ny, int nz, guint32 seed, double noise)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  TbVolume *v = tb_volume_new (nx, ny, nz, NULL, NULL);
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        v->data[tb_volume_index (v, i, j, k)] =
          (float) (100.0 + 60.0 * sin (0.21 * i) * cos (0.13 * j + 0.3 * k) + noise * g_rand_double_range (rand, -1, 1));
  return v;
}

static void
write_raw (const TbVolume *v, const char *path)
{
  GError *error = NULL;
  g_file_set_contents (path, (const char *) v->data, (gssize) (tb_volume_n_voxels (v) * sizeof (float)), &error);
  g_assert_no_error (error);
}

/* Runs ssim_reference.py; returns FALSE (test skipped) without /usr/bin/python3 + scikit-image. */
static gboolean
run_reference (const TbVolume *a, const TbVolume *b, double range, double *psnr, double *s2, double *s3)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/python3 is absent");
      return FALSE;
    }
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *pa = g_build_filename (dir, "a.raw", NULL);
  g_autofree char *pb = g_build_filename (dir, "b.raw", NULL);
  write_raw (a, pa);
  write_raw (b, pb);
  g_autofree char *script = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "metrics", "ssim_reference.py", NULL);
  g_autofree char *cmd = g_strdup_printf ("/usr/bin/python3 %s %s %s %d %d %d %.17g", script, pa, pb,
                                          a->nx, a->ny, a->nz, range);
  g_autofree char *out = NULL;
  int status = 0;
  GError *error = NULL;
  g_spawn_command_line_sync (cmd, &out, NULL, &status, &error);
  g_assert_no_error (error);
  tb_test_rmdir (dir);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("scikit-image is missing from /usr/bin/python3");
      return FALSE;
    }
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  *s3 = NAN;
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      if (g_str_has_prefix (*l, "psnr "))
        *psnr = g_ascii_strtod (*l + 5, NULL);
      else if (g_str_has_prefix (*l, "ssim2d "))
        *s2 = g_ascii_strtod (*l + 7, NULL);
      else if (g_str_has_prefix (*l, "ssim3d "))
        *s3 = g_ascii_strtod (*l + 7, NULL);
    }
  return TRUE;
}

static void
test_against_skimage_2d (void)
{
  g_autoptr(TbVolume) a = make_image (97, 64, 1, 1, 0);
  g_autoptr(TbVolume) b = make_image (97, 64, 1, 2, 25);
  double psnr, s2, s3;
  if (!run_reference (a, b, 255.0, &psnr, &s2, &s3))
    return;
  GError *error = NULL;
  double ours = tb_metrics_ssim (a, b, 255.0, TB_METRICS_SSIM_2D, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("2D SSIM ours %.15f skimage %.15f diff %.2e", ours, s2, fabs (ours - s2));
  /* the bound; both sum the same float64 products, so rounding differs at ~1e-15 */
  g_assert_cmpfloat (fabs (ours - s2), <, 1e-6);
  g_assert_cmpfloat (s2, >, 0.05);
  g_assert_cmpfloat (s2, <, 0.95);
  double p = tb_metrics_psnr (a, b, 255.0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (p - psnr), <, 1e-9);
}

static void
test_against_skimage_3d (void)
{
  g_autoptr(TbVolume) a = make_image (30, 24, 19, 3, 10);
  g_autoptr(TbVolume) b = make_image (30, 24, 19, 4, 30);
  double psnr, s2, s3;
  if (!run_reference (a, b, 200.0, &psnr, &s2, &s3))
    return;
  GError *error = NULL;
  double o2 = tb_metrics_ssim (a, b, 200.0, TB_METRICS_SSIM_2D, NULL, NULL, &error);
  g_assert_no_error (error);
  double o3 = tb_metrics_ssim (a, b, 200.0, TB_METRICS_SSIM_3D, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("slice-wise SSIM ours %.15f skimage %.15f; 3D ours %.15f skimage %.15f", o2, s2, o3, s3);
  g_assert_cmpfloat (fabs (o2 - s2), <, 1e-6);
  /* scikit-image's n-D Gaussian SSIM uses the same 11-tap kernel on every axis and crops 5
   * voxels on every side: the same definition as ours in 3D */
  g_assert_cmpfloat (fabs (o3 - s3), <, 1e-6);
}

static void
test_exact_cases (void)
{
  g_autoptr(TbVolume) a = make_image (20, 20, 12, 5, 5);
  GError *error = NULL;
  /* identical images: SSIM exactly 1 up to rounding, PSNR infinite */
  g_assert_cmpfloat (fabs (tb_metrics_ssim (a, a, 255, TB_METRICS_SSIM_3D, NULL, NULL, &error) - 1.0), <, 1e-12);
  g_assert_no_error (error);
  g_assert_true (isinf (tb_metrics_psnr (a, a, 255, NULL, &error)));
  /* a constant offset of 10 over range 255: PSNR = 20 log10 (25.5) */
  g_autoptr(TbVolume) b = tb_volume_copy (a, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (b); i++)
    b->data[i] += 10.0f;
  tb_assert_rel (tb_metrics_psnr (a, b, 255, NULL, &error), 20.0 * log10 (25.5), 1e-5);

  /* Dice: 2 |A n B| / (|A| + |B|) */
  g_autoptr(TbMask) ma = tb_mask_new (10, 1, 1, NULL, NULL);
  g_autoptr(TbMask) mb = tb_mask_new (10, 1, 1, NULL, NULL);
  for (int i = 0; i < 6; i++) ma->data[i] = 1;      /* 0..5 */
  for (int i = 3; i < 10; i++) mb->data[i] = 255;   /* 3..9 */
  g_assert_cmpfloat (fabs (tb_metrics_dice (ma, mb, &error) - 2.0 * 3 / 13), <, 1e-15);
  g_assert_no_error (error);
}

static void
test_bad_input (void)
{
  g_autoptr(TbVolume) a = make_image (20, 20, 1, 5, 5);
  g_autoptr(TbVolume) small = make_image (10, 20, 1, 5, 5);
  GError *error = NULL;
  g_assert_true (isnan (tb_metrics_ssim (a, a, 0.0, TB_METRICS_SSIM_2D, NULL, NULL, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_true (isnan (tb_metrics_ssim (small, small, 1.0, TB_METRICS_SSIM_2D, NULL, NULL, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_TOO_SMALL);
  g_clear_error (&error);
  g_assert_true (isnan (tb_metrics_ssim (a, a, 1.0, TB_METRICS_SSIM_3D, NULL, NULL, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_TOO_SMALL);
  g_clear_error (&error);
  g_assert_true (isnan (tb_metrics_psnr (a, small, 1.0, NULL, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_GRID);
  g_clear_error (&error);
  /* empty mask: NaN and the reason, no division by zero */
  g_autoptr(TbMask) empty = tb_mask_new_like_volume (a, NULL);
  g_assert_true (isnan (tb_metrics_psnr (a, a, 1.0, empty, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY);
  g_clear_error (&error);
  g_assert_true (isnan (tb_metrics_ssim (a, a, 1.0, TB_METRICS_SSIM_2D, empty, NULL, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY);
  g_clear_error (&error);
  g_assert_true (isnan (tb_metrics_dice (empty, empty, &error)));
  g_assert_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/ssim-skimage-2d", test_against_skimage_2d);
  g_test_add_func ("/metrics/ssim-skimage-3d", test_against_skimage_3d);
  g_test_add_func ("/metrics/exact", test_exact_cases);
  g_test_add_func ("/metrics/bad-input", test_bad_input);
  return g_test_run ();
}
