/* test-morpho-real.c — real bone data: the micro-CT against SciPy / scikit-image. */
#include "tb-test.h"
#include "morpho/tb-morpho.h"

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
  g_autoptr(TbMask) m = tb_mask_new (ref.nx, ref.ny, ref.nz, NULL, NULL);
  g_autofree char *raw = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (mask_path, &raw, &len, NULL));
  tb_test_rmdir (dir);
  g_assert_cmpuint (len, ==, tb_mask_n_voxels (m));
  memcpy (m->data, raw, len);

  GError *error = NULL;
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
  tb_morpho_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/morpho/real/microct-vs-scipy", test_microct_vs_scipy);
  return g_test_run ();
}
