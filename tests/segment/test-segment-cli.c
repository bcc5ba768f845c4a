/* test-segment-cli.c — `trabecula-cli segment` and `calibrate`: outputs, exit codes, refusals. */
#include "segment-test-common.h"
#include "io/tb-io.h"

#include <string.h>

static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autofree char *cli = g_build_filename (g_getenv ("TB_BUILD_DIR"), "app", "cli", "trabecula-cli", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  GError *error = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (argv);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* a 1 mm "bone": a 14^3 cube of 800 HU with a 6^3 marrow cavity, in 40 HU tissue, two rods of known HU */
static TbVolume *
make_ct (void)
{
  double sp[3] = { 1, 1, 1 };
  TbVolume *v = tb_volume_new (40, 40, 40, sp, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (3);
  for (int k = 0; k < 40; k++)
    for (int j = 0; j < 40; j++)
      for (int i = 0; i < 40; i++)
        {
          gboolean cube = i >= 10 && i < 24 && j >= 10 && j < 24 && k >= 10 && k < 24;
          gboolean cavity = i >= 14 && i < 20 && j >= 14 && j < 20 && k >= 14 && k < 20;
          double hu = cube && !cavity ? 800 : cavity ? 60 : 40;
          if (i >= 30 && i < 36 && j >= 2 && j < 8)
            hu = k < 20 ? 100 : 300;  /* rods: BMD 50 and 200 at b = 0.75, a = -25 */
          v->data[tb_volume_index (v, i, j, k)] = (float) (hu + g_rand_double_range (r, -10, 10));
        }
  return v;
}

static void
test_cli (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *ct_path = g_build_filename (dir, "ct.tif", NULL);
  g_autofree char *mask_path = g_build_filename (dir, "mask.tif", NULL);
  g_autofree char *rho_path = g_build_filename (dir, "rho.nii", NULL);
  g_autofree char *rods_path = g_build_filename (dir, "rods.json", NULL);
  g_autofree char *json_path = g_build_filename (dir, "seg.json", NULL);
  g_autoptr(TbVolume) ct = make_ct ();
  GError *error = NULL;
  g_assert_true (tb_io_write_tiff (ct_path, ct, TB_IO_PIXEL_FLOAT32, &error));
  g_assert_no_error (error);
  const char *rods = "{\"rods\": [{\"box\": [31,3,2,4,4,16], \"bmd\": 50}, {\"box\": [31,3,22,4,4,16], \"bmd\": 200}]}";
  segment_test_write (rods_path, rods, strlen (rods));

  /* calibrate: the two rods give b = 150/200 = 0.75 within the noise of the ROI means (+-10 HU uniform) */
  char *out = NULL, *err = NULL;
  const char *cal_args[] = { "calibrate", ct_path, rods_path, NULL };
  g_assert_cmpint (run_cli (cal_args, &out, &err), ==, 0);
  g_test_message ("%s", out);
  double a = 0, b = 0;
  g_assert_cmpint (sscanf (out, "BMD = %lf + %lf", &a, &b), ==, 2);
  /* ROI means of 256 voxels with +-10 HU uniform noise: sd 0.36 HU each, so b within 0.5 % of 0.75 */
  g_assert_cmpfloat (fabs (b - 0.75), <, 0.004);
  g_assert_cmpfloat (fabs (a + 25), <, 1.0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *args[] = { "segment", ct_path, mask_path, "--rods", rods_path, "--density", rho_path,
                         "--json", json_path, "--keep", "largest", "--min-object", "100", NULL };
  int rc = run_cli (args, &out, &err);
  g_test_message ("%s%s", out, err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (strstr (out, "objects:"));
  g_autoptr(TbMask) mask = tb_io_read_mask (mask_path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* the cube, its cavity filled: 14^3 voxels give or take the one-voxel boundary shell (noise +-10 HU on an
   * 800 HU step puts the watershed line on the step itself) */
  gsize count = tb_mask_count (mask);
  g_test_message ("mask: %zu voxels (cube 2744)", count);
  g_assert_cmpuint (count, >=, 2744 * 0.9);
  g_assert_cmpuint (count, <=, 2744 * 1.1);
  g_autoptr(TbVolume) rho = tb_io_read (rho_path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (rho->data[0] - 0.01), <, 1e-6);   /* outside the bone */
  g_assert_true (g_file_test (json_path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* usage errors exit 1, bad input exits 2, and nothing is written */
  const char *bad_method[] = { "segment", ct_path, mask_path, "--method", "magic", NULL };
  g_assert_cmpint (run_cli (bad_method, &out, &err), ==, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  for (gsize i = 0; i < 5; i++)
    ct->data[i * 977] = NAN;
  g_autofree char *nan_path = g_build_filename (dir, "nan.tif", NULL);
  g_autofree char *nan_mask = g_build_filename (dir, "nan-mask.tif", NULL);
  g_assert_true (tb_io_write_tiff (nan_path, ct, TB_IO_PIXEL_FLOAT32, &error));
  const char *nan_args[] = { "segment", nan_path, nan_mask, NULL };
  g_assert_cmpint (run_cli (nan_args, &out, &err), ==, 2);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "5 NaN"));
  g_assert_false (g_file_test (nan_mask, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/cli", test_cli);
  return g_test_run ();
}
