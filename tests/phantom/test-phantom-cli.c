/* test-phantom-cli.c — `trabecula-cli phantom` and `demo`: files written, JSON contents, exit codes. */
#include "tb-test.h"
#include "io/tb-io.h"

#include <json-glib/json-glib.h>
#include <math.h>

static char *
cli_path (void)
{
  return g_build_filename (g_getenv ("TB_BUILD_DIR"), "app", "cli", "trabecula-cli", NULL);
}

static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autofree char *exe = cli_path ();
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, exe);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  int status = -1;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                               &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_phantom_files (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *out_dir = g_build_filename (dir, "out", NULL);
  g_autofree char *out = NULL, *err = NULL;
  /* coarse settings keep it quick; the code paths are those of the defaults */
  const char *args[] = { "phantom", "--output", out_dir, "--spacing", "2.5", "--truth-voxel", "0.25",
                         "--seed", "3", NULL };
  int rc = run_cli (args, &out, &err);
  g_test_message ("stdout:\n%s\nstderr:\n%s", out, err);
  g_assert_cmpint (rc, ==, 0);
  const char *files[] = { "qct_hu.nii.gz", "qct_bmd.nii.gz", "qct_bone_fraction.nii.gz", "bone_mask.nii.gz",
                          "regions.nii.gz", "truth_head.tif", "truth_neck.tif", "truth_wards.tif",
                          "truth_intertrochanter.tif", "phantom.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *p = g_build_filename (out_dir, files[i], NULL);
      g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
      g_assert_nonnull (strstr (out, files[i]));   /* printed */
    }

  /* the HU volume reads back at 2.5 mm with integer values; the truth at 0.25 mm, 20^3 */
  g_autofree char *hu_path = g_build_filename (out_dir, "qct_hu.nii.gz", NULL);
  TbIoInfo info;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) hu = tb_io_read (hu_path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (hu->spacing[0] - 2.5), <, 1e-5);
  for (gsize i = 0; i < tb_volume_n_voxels (hu); i++)
    g_assert_cmpfloat (hu->data[i], ==, rint (hu->data[i]));
  g_autofree char *truth_path = g_build_filename (out_dir, "truth_head.tif", NULL);
  g_autoptr(TbVolume) truth = tb_io_read (truth_path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (truth->nx, ==, 20);
  g_assert_cmpfloat (fabs (truth->spacing[2] - 0.25), <, 1e-5);

  /* JSON: four VOIs with targets and measured BV/TV, landmarks, calibration */
  g_autofree char *json_path = g_build_filename (out_dir, "phantom.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "parameters"), "seed"), ==, 3);
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (root, "calibration"), "b"), ==, 1.0);
  JsonArray *vois = json_object_get_array_member (root, "vois");
  g_assert_cmpuint (json_array_get_length (vois), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *v = json_array_get_object_element (vois, i);
      double target = json_object_get_double_member (v, "target_bvtv");
      double measured = json_object_get_double_member (v, "measured_bvtv");
      /* 0.25 mm truth voxels blur 0.1-0.25 mm trabeculae: only a loose check here (the 50 um
       * check is in test-phantom) */
      g_assert_cmpfloat (fabs (measured - target), <, 0.1);
    }
  JsonObject *lm = json_object_get_object_member (root, "landmarks");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (lm, "head_centre")), ==, 3);
  tb_test_rmdir (dir);
}

static void
test_phantom_errors (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *no_output[] = { "phantom", NULL };
  g_assert_cmpint (run_cli (no_output, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "--output"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *bad_spacing[] = { "phantom", "--output", "/tmp/never-written", "--spacing", "-1", NULL };
  g_assert_cmpint (run_cli (bad_spacing, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "spacing"));
  g_assert_false (g_file_test ("/tmp/never-written/qct_hu.nii.gz", G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* an output "folder" that is a file: a clear error, exit 2 */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *file = g_build_filename (dir, "plain-file", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  const char *bad_dir[] = { "phantom", "--output", file, "--spacing", "5", "--no-truth", NULL };
  g_assert_cmpint (run_cli (bad_dir, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "plain-file"));
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/phantom-cli/files", test_phantom_files);
  g_test_add_func ("/phantom-cli/errors", test_phantom_errors);
  return g_test_run ();
}
