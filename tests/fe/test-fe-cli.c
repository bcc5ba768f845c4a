/* test-fe-cli.c — `trabecula-cli fe` end to end: exit codes, outputs, the printed compliance against
 * the library's own solve. */
#include "fe/tb-fe.h"
#include "io/tb-io.h"
#include "tb-test.h"

#include <math.h>
#include <string.h>

static int
run_cli (const char *const *args, char **out)
{
  g_autofree char *cli = g_build_filename (g_getenv ("TB_BUILD_DIR"), "app", "cli", "trabecula-cli", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, cli);
  g_ptr_array_add (argv, "fe");
  for (int q = 0; args[q] != NULL; q++)
    g_ptr_array_add (argv, (char *) args[q]);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, NULL, &status, &error));
  g_ptr_array_free (argv, TRUE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_cli (void)
{
  if (g_getenv ("TB_BUILD_DIR") == NULL)
    {
      g_test_skip ("TB_BUILD_DIR unset");
      return;
    }
  g_autofree char *dir = tb_test_tmpdir ();
  double sp[3] = { 0.5, 0.5, 0.5 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_volume_new (6, 5, 7, sp, &error);
  for (gsize q = 0; q < tb_volume_n_voxels (v); q++)
    v->data[q] = (q % 3 == 0) ? 50.0f : 200.0f;
  g_autofree char *vol = g_build_filename (dir, "v.tif", NULL);
  g_assert_true (tb_io_write_tiff (vol, v, TB_IO_PIXEL_FLOAT32, &error));
  g_autofree char *loads = g_build_filename (dir, "loads.json", NULL);
  const char *json = "{ \"supports\": [ { \"axis\": \"z\", \"index\": 0, \"components\": \"xyz\" } ],"
                     "  \"cases\": [ { \"name\": \"press\", \"weight\": 1,"
                     "    \"plane_forces\": [ { \"axis\": \"z\", \"index\": -1, \"f\": [0, 0, -10] } ] } ] }";
  g_assert_true (g_file_set_contents (loads, json, -1, &error));
  g_autofree char *outdir = g_build_filename (dir, "out", NULL);
  g_autofree char *out = NULL;
  const char *ok_args[] = { vol, "--loads", loads, "--threshold", "100", "--E0", "1000", "--emin-ratio", "0.01",
                            "--rtol", "1e-12", "--output", outdir, NULL };
  g_assert_cmpint (run_cli (ok_args, &out), ==, 0);
  const char *line = strstr (out, "press");
  g_assert_nonnull (line);
  int its;
  double res, c_cli;
  g_assert_cmpint (sscanf (line, "press %d %lf %lf", &its, &res, &c_cli), ==, 3);
  /* the same model through the library */
  g_autoptr(TbVolume) rho = tb_volume_copy (v, &error);
  for (gsize q = 0; q < tb_volume_n_voxels (rho); q++)
    rho->data[q] = v->data[q] > 100 ? 1.0f : 0.0f;
  g_autoptr(TbFeModel) m = tb_fe_model_new_from_volume (rho, &error);
  g_assert_true (tb_fe_model_set_material (m, 1000, 10, 0.3, 3, &error));
  tb_fe_model_fix_plane (m, TB_AXIS_Z, 0, TB_FE_XYZ);
  int lc = tb_fe_model_add_load_case (m, "press", 1);
  for (int j = 0; j <= 5; j++)
    for (int i = 0; i <= 6; i++)
      {
        double f[3] = { 0, 0, -10.0 / 42 };
        tb_fe_model_add_force (m, lc, tb_fe_model_node (m, i, j, 7), f);
      }
  TbFeSettings s;
  tb_fe_settings_init (&s);
  s.rtol = 1e-12;
  g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
  g_assert_true (tb_fe_solve (S, NULL, NULL, NULL, &error));
  TbFeCaseStats st;
  tb_fe_solver_get_stats (S, lc, &st);
  tb_assert_rel (c_cli, st.compliance, 1e-7);  /* printed with 8 digits */
  const char *files[] = { "press_ux.tif", "press_uy.tif", "press_uz.tif", "press_energy_density.tif", "press_von_mises.tif" };
  for (guint q = 0; q < G_N_ELEMENTS (files); q++)
    {
      g_autofree char *p = g_build_filename (outdir, files[q], NULL);
      g_autoptr(TbVolume) r = tb_io_read (p, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (r->nz, ==, q < 3 ? 8 : 7);
    }
  /* usage errors exit 1, bad input 2 */
  g_clear_pointer (&out, g_free);
  const char *usage[] = { vol, "--threshold", "100", NULL };
  g_assert_cmpint (run_cli (usage, &out), ==, 1);
  g_clear_pointer (&out, g_free);
  g_autofree char *out3 = g_build_filename (dir, "out3", NULL);
  const char *badtrim[] = { vol, "--loads", loads, "--threshold", "100", "--trim", "5", "--output", out3, NULL };
  g_assert_cmpint (run_cli (badtrim, &out), ==, 1);   /* a bone fraction lies in [0, 1) */
  g_assert_false (g_file_test (out3, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_autofree char *bad = g_build_filename (dir, "bad.json", NULL);
  g_assert_true (g_file_set_contents (bad, "{ \"cases\": [] }", -1, &error));
  g_autofree char *out2 = g_build_filename (dir, "out2", NULL);
  const char *badin[] = { vol, "--loads", bad, "--threshold", "100", "--output", out2, NULL };
  g_assert_cmpint (run_cli (badin, &out), ==, 2);
  g_assert_false (g_file_test (out2, G_FILE_TEST_EXISTS));
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fe/cli", test_cli);
  return g_test_run ();
}
