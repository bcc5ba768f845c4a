/* test-io-real.c — the real CT files of ../shared/data read with the numbers their README states. */
#include "tb-test.h"
#include "io/tb-io.h"

#include <math.h>

static void
test_microct_tiff (void)
{
  g_autofree char *path = tb_test_shared_data ("microct/LHDL_3155_D_4_bc_uint8_200x200x200_19.5um.tif");
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nx, ==, 200);
  g_assert_cmpint (v->ny, ==, 200);
  g_assert_cmpint (v->nz, ==, 200);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_TIFF);
  g_assert_cmpint (info.pixel_type, ==, TB_IO_PIXEL_UINT8);
  g_assert_cmpstr (info.spacing_source, ==, "ImageJ metadata");
  /* XResolution is a 32-bit float rational (51.28205 px/mm): 1/x is 0.0195 to ~1e-7 relative */
  for (int a = 0; a < 3; a++)
    g_assert_cmpfloat_with_epsilon (v->spacing[a], 0.0195, 1e-8);
  /* mean of 8e6 integers accumulated in double: exact to far below 1e-6 */
  g_assert_cmpfloat_with_epsilon (info.mean, 46.987237, 1e-6);
}

static void
test_clinical_nifti (void)
{
  g_autofree char *path = tb_test_shared_data ("clinical_ct/example_ct.nii.gz");
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nx, ==, 122);
  g_assert_cmpint (v->ny, ==, 101);
  g_assert_cmpint (v->nz, ==, 112);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_NIFTI1);
  g_assert_cmpint (info.pixel_type, ==, TB_IO_PIXEL_INT32);
  for (int a = 0; a < 3; a++)
    g_assert_cmpfloat_with_epsilon (v->spacing[a], 3.0, 1e-6);  /* float32 affine entries */
  /* integer HU: exact */
  g_assert_cmpfloat (info.min, ==, -1207.0);
  g_assert_cmpfloat (info.max, ==, 3382.0);
  g_test_message ("spacing from %s, origin %g %g %g, note '%s'", info.spacing_source,
                  v->origin[0], v->origin[1], v->origin[2], info.note);
}

static void
test_hrpqct_count (void)
{
  g_autofree char *path = tb_test_shared_data ("hrpqct/test25a.nii");
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nx * v->ny * v->nz, ==, 15625);
  gsize n127 = 0, n0 = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    n127 += v->data[i] == 127.0f, n0 += v->data[i] == 0.0f;
  g_assert_cmpuint (n127, ==, 7087);  /* README: BV/TV = 7087/15625 */
  g_assert_cmpuint (n0 + n127, ==, 15625);

  g_autoptr(TbMask) m = tb_io_read_mask (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tb_mask_count (m), ==, 7087);
}

static void
test_radius_seg (void)
{
  g_autofree char *path = tb_test_shared_data ("hrpqct/XT2_RADIUS_82_SEG_converted.nii.gz");
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nx, ==, 420);
  g_assert_cmpint (v->ny, ==, 364);
  g_assert_cmpint (v->nz, ==, 123);
  g_assert_cmpfloat_with_epsilon (v->spacing[0], 0.082, 1e-5);
  gsize bone = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    bone += v->data[i] > 0;
  /* README: bone fraction 0.16124 (5 digits given) */
  g_assert_cmpfloat_with_epsilon ((double) bone / tb_volume_n_voxels (v), 0.16124, 5e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/io/real/microct-tiff", test_microct_tiff);
  g_test_add_func ("/io/real/clinical-nifti", test_clinical_nifti);
  g_test_add_func ("/io/real/hrpqct-count", test_hrpqct_count);
  g_test_add_func ("/io/real/radius-seg", test_radius_seg);
  return g_test_run ();
}
