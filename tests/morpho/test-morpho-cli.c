/* test-morpho-cli.c — trabecula-cli morpho / metrics / stiffness end to end. */
#include "tb-test.h"
#include "io/tb-io.h"

#include <math.h>

static int
run_cli (const char *args, char **out, char **err)
{
  g_autofree char *exe = g_build_filename (g_getenv ("TB_BUILD_DIR"), "app", "cli", "trabecula-cli", NULL);
  g_autofree char *cmd = g_strdup_printf ("%s %s", exe, args);
  int status = 0;
  GError *error = NULL;
  g_spawn_command_line_sync (cmd, out, err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_morpho_cli (void)
{
  g_autofree char *nii = tb_test_shared_data ("hrpqct/test25a.nii");
  if (nii == NULL)
    return;
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *csv = g_build_filename (dir, "m.csv", NULL);
  g_autofree char *json = g_build_filename (dir, "m.json", NULL);
  g_autofree char *map = g_build_filename (dir, "thickness.tif", NULL);
  g_autofree char *args = g_strdup_printf ("morpho %s --csv %s --json %s --thickness-map %s --no-da", nii, csv, json, map);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "BV/TV              0.453568  1"));
  g_assert_nonnull (strstr (out, "Euler                    -4"));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "BV/TV,0.453568,1,"));
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (json, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"name\" : \"Conn.D\""));
  GError *error = NULL;
  g_autoptr(TbVolume) tmap = tb_io_read (map, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tmap->nx, ==, 25);
  float tmax = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (tmap); i++)
    tmax = MAX (tmax, tmap->data[i]);
  g_assert_cmpfloat (tmax, >, 0.1);   /* mm: trabeculae a few voxels of 34 um thick */
  g_assert_cmpfloat (tmax, <, 1.0);

  /* a grey image is refused with exit status 2 and the values found */
  g_autoptr(TbVolume) grey = tb_volume_new (12, 12, 12, NULL, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (grey); i++)
    grey->data[i] = (float) (i % 3);
  g_autofree char *gp = g_build_filename (dir, "grey.tif", NULL);
  g_assert_true (tb_io_write_tiff (gp, grey, TB_IO_PIXEL_UINT8, &error));
  g_autofree char *a2 = g_strdup_printf ("morpho %s", gp);
  g_autofree char *out2 = NULL, *err2 = NULL;
  g_assert_cmpint (run_cli (a2, &out2, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "0, 1, 2"));
  tb_test_rmdir (dir);
}

static void
test_metrics_stiffness_cli (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autoptr(TbVolume) a = tb_volume_new (24, 24, 12, NULL, NULL);
  g_autoptr(TbVolume) b = tb_volume_new (24, 24, 12, NULL, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (a); i++)
    {
      a->data[i] = (float) (i % 7 < 3);
      b->data[i] = (float) (i % 7 < 4);
    }
  g_autofree char *pa = g_build_filename (dir, "a.tif", NULL);
  g_autofree char *pb = g_build_filename (dir, "b.tif", NULL);
  GError *error = NULL;
  g_assert_true (tb_io_write_tiff (pa, a, TB_IO_PIXEL_UINT8, &error));
  g_assert_true (tb_io_write_tiff (pb, b, TB_IO_PIXEL_UINT8, &error));
  g_autofree char *args = g_strdup_printf ("metrics %s %s --data-range 1", pa, pb);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  /* PSNR = 10 log10 (1 / MSE), MSE = the fraction of voxels that differ; Dice 2|AnB|/(|A|+|B|) */
  double differ = 0, na = 0, nb = 0, nab = 0, n = tb_volume_n_voxels (a);
  for (gsize i = 0; i < tb_volume_n_voxels (a); i++)
    {
      differ += a->data[i] != b->data[i];
      na += a->data[i] != 0;
      nb += b->data[i] != 0;
      nab += a->data[i] != 0 && b->data[i] != 0;
    }
  const char *p = strstr (out, "PSNR"), *d = strstr (out, "Dice");
  g_assert_nonnull (p);
  g_assert_nonnull (d);
  tb_assert_rel (g_ascii_strtod (p + 4, NULL), 10 * log10 (n / differ), 1e-8);  /* 9 digits printed */
  tb_assert_rel (g_ascii_strtod (d + 4, NULL), 2 * nab / (na + nb), 1e-8);
  g_assert_nonnull (strstr (out, "SSIM3D"));
  /* no data range: usage error */
  g_autofree char *a2 = g_strdup_printf ("metrics %s %s", pa, pb);
  g_autofree char *o2 = NULL, *e2 = NULL;
  g_assert_cmpint (run_cli (a2, &o2, &e2), ==, 1);

  /* stiffness of a homogeneous solid: E0 (2D plane stress) */
  g_autoptr(TbVolume) solid = tb_volume_new (8, 8, 1, NULL, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (solid); i++)
    solid->data[i] = 1.0f;
  g_autofree char *ps = g_build_filename (dir, "solid.tif", NULL);
  g_assert_true (tb_io_write_tiff (ps, solid, TB_IO_PIXEL_UINT8, &error));
  g_autofree char *a3 = g_strdup_printf ("stiffness %s --2d --E0 1000", ps);
  g_autofree char *o3 = NULL, *e3 = NULL;
  g_assert_cmpint (run_cli (a3, &o3, &e3), ==, 0);
  g_assert_nonnull (strstr (o3, "Ex           1000 MPa"));
  g_assert_nonnull (strstr (o3, "Gxy       384.615 MPa"));
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/morpho/cli/morpho", test_morpho_cli);
  g_test_add_func ("/morpho/cli/metrics-stiffness", test_metrics_stiffness_cli);
  return g_test_run ();
}
