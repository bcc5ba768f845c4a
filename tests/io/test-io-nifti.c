/* test-io-nifti.c — NIfTI round trips (.nii, .nii.gz) and files written with libnifti2 itself:
 * scl_slope/scl_inter, qform-only geometry, NIfTI-2, integer types, big-endian. */
#include "tb-test.h"
#include "io/tb-io.h"

#include <math.h>
#include <string.h>
#include <nifti2_io.h>
#include <zlib.h>

static TbVolume *
make_volume (void)
{
  const double spacing[3] = { 0.625, 0.7, 1.25 };
  TbVolume *v = tb_volume_new (21, 17, 9, spacing, NULL);
  v->origin[0] = -100.5;
  v->origin[1] = 33.25;
  v->origin[2] = 7.0;
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    v->data[i] = (float) (sin ((double) i) * 1500.0 + 0.125 * (double) i);
  return v;
}

static void
round_trip (const char *name)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(TbVolume) v = make_volume ();
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_io_write_nifti (path, v, &error));
  g_assert_no_error (error);
  TbIoInfo info;
  g_autoptr(TbVolume) r = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_NIFTI1);
  g_assert_cmpint (info.pixel_type, ==, TB_IO_PIXEL_FLOAT32);
  g_assert_cmpstr (info.spacing_source, ==, "NIfTI sform");
  g_assert_cmpint (r->nx * 10000 + r->ny * 100 + r->nz, ==, 21 * 10000 + 17 * 100 + 9);
  for (int a = 0; a < 3; a++)
    {
      /* the sform is stored as float32: 1 ulp relative */
      tb_assert_rel (r->spacing[a], v->spacing[a], 1.2e-7);
      g_assert_cmpfloat_with_epsilon (r->origin[a], v->origin[a], 1e-5);
    }
  g_assert_cmpmem (r->data, tb_volume_n_voxels (r) * sizeof (float), v->data, tb_volume_n_voxels (v) * sizeof (float));

  /* libnifti2's own reader agrees on the header it finds in our file */
  nifti_image *nim = nifti_image_read (path, 1);
  g_assert_nonnull (nim);
  g_assert_cmpint (nim->nx, ==, 21);
  g_assert_cmpint (nim->nz, ==, 9);
  g_assert_cmpint (nim->qform_code, ==, 1);
  g_assert_cmpint (nim->sform_code, ==, 1);
  g_assert_cmpfloat_with_epsilon (nim->qto_xyz.m[1][3], 33.25, 1e-5);
  g_assert_cmpfloat_with_epsilon (nim->dz, 1.25, 1e-6);
  g_assert_cmpfloat (((float *) nim->data)[100], ==, v->data[100]);
  nifti_image_free (nim);
  tb_test_rmdir (dir);
}

static void test_nii (void) { round_trip ("vol.nii"); }
static void test_nii_gz (void) { round_trip ("vol.nii.gz"); }

/* A file written by libnifti2: int16 with scl_slope 0.5, scl_inter -1024, qform only. */
static void
write_libnifti (const char *path, int datatype, gboolean nifti2, gboolean use_sform)
{
  int64_t dims[8] = { 3, 11, 7, 5, 1, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, datatype, 1);
  nim->dx = nim->pixdim[1] = 0.4f;
  nim->dy = nim->pixdim[2] = 0.5f;
  nim->dz = nim->pixdim[3] = 2.0f;
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->scl_slope = 0.5;
  nim->scl_inter = -1024;
  nim->qform_code = 1;
  nim->quatern_b = nim->quatern_c = nim->quatern_d = 0;
  nim->qfac = 1;
  nim->qoffset_x = 10;
  nim->qoffset_y = -20;
  nim->qoffset_z = 30;
  if (use_sform)
    {
      /* sform says something different from the qform: the sform must win */
      nim->sform_code = 2;
      memset (&nim->sto_xyz, 0, sizeof nim->sto_xyz);
      nim->sto_xyz.m[0][0] = 0.8; nim->sto_xyz.m[1][1] = 1.0; nim->sto_xyz.m[2][2] = 4.0;
      nim->sto_xyz.m[0][3] = 1; nim->sto_xyz.m[1][3] = 2; nim->sto_xyz.m[2][3] = 3;
      nim->sto_xyz.m[3][3] = 1;
    }
  for (gsize i = 0; i < (gsize) nim->nvox; i++)
    {
      if (datatype == NIFTI_TYPE_INT16)
        ((gint16 *) nim->data)[i] = (gint16) ((int) (i * 37) % 4000);
      else if (datatype == NIFTI_TYPE_UINT8)
        ((guint8 *) nim->data)[i] = (guint8) (i % 251);
      else
        ((double *) nim->data)[i] = (double) i * 0.25;
    }
  if (!nifti2)
    {
      g_assert_cmpint (nifti_set_filenames (nim, path, 0, 1), ==, 0);
      nifti_image_write (nim);
    }
  else
    {
      /* nifti_image_write in libnifti2 3.0.1 wrote an all-zero header for NIFTI_FTYPE_NIFTI2_1 here,
       * so the NIfTI-2 file is assembled from libnifti2's header conversion (as our writer does) */
      nifti_2_header h;
      nim->nifti_type = NIFTI_FTYPE_NIFTI2_1;
      nim->iname_offset = 544;
      g_assert_cmpint (nifti_convert_nim2n2hdr (nim, &h), ==, 0);
      h.vox_offset = 544;
      g_assert_cmpint (h.sizeof_hdr, ==, 540);
      gsize data = (gsize) nim->nvox * nim->nbyper;
      g_autofree guint8 *bytes = g_malloc0 (544 + data);
      memcpy (bytes, &h, sizeof h);
      memcpy (bytes + 544, nim->data, data);
      if (g_str_has_suffix (path, ".gz"))
        {
          gzFile gz = gzopen (path, "wb");
          g_assert_cmpint (gzwrite (gz, bytes, 544 + data), ==, (int) (544 + data));
          gzclose (gz);
        }
      else
        g_assert_true (g_file_set_contents (path, (char *) bytes, 544 + data, NULL));
    }
  nifti_image_free (nim);
}

static void
check_scaled (const char *name, int datatype, gboolean nifti2, gboolean use_sform)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, name, NULL);
  write_libnifti (path, datatype, nifti2, use_sform);
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, nifti2 ? TB_IO_FORMAT_NIFTI2 : TB_IO_FORMAT_NIFTI1);
  g_assert_cmpint (v->nx, ==, 11);
  g_assert_cmpint (v->ny, ==, 7);
  g_assert_cmpint (v->nz, ==, 5);
  g_assert_cmpfloat (info.scl_slope, ==, 0.5);
  g_assert_cmpfloat (info.scl_inter, ==, -1024);
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    {
      double stored = datatype == NIFTI_TYPE_INT16 ? (double) ((int) (i * 37) % 4000)
                      : datatype == NIFTI_TYPE_UINT8 ? (double) (i % 251) : (double) i * 0.25;
      g_assert_cmpfloat (v->data[i], ==, (float) (0.5 * stored - 1024));  /* exact in float */
    }
  if (use_sform)
    {
      g_assert_cmpstr (info.spacing_source, ==, "NIfTI sform");
      g_assert_cmpfloat_with_epsilon (v->spacing[0], 0.8, 1e-6);
      g_assert_cmpfloat_with_epsilon (v->spacing[2], 4.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (v->origin[1], 2.0, 1e-6);
    }
  else
    {
      g_assert_cmpstr (info.spacing_source, ==, "NIfTI qform");
      g_assert_cmpfloat_with_epsilon (v->spacing[0], 0.4, 1e-6);
      g_assert_cmpfloat_with_epsilon (v->spacing[2], 2.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (v->origin[1], -20.0, 1e-6);
    }
  tb_test_rmdir (dir);
}

static void test_int16_qform (void) { check_scaled ("a.nii", NIFTI_TYPE_INT16, FALSE, FALSE); }
static void test_uint8_sform_gz (void) { check_scaled ("b.nii.gz", NIFTI_TYPE_UINT8, FALSE, TRUE); }
static void test_nifti2_double (void) { check_scaled ("c.nii", NIFTI_TYPE_FLOAT64, TRUE, TRUE); }
static void test_nifti2_gz (void) { check_scaled ("d.nii.gz", NIFTI_TYPE_INT16, TRUE, FALSE); }

static void
test_big_endian (void)
{
  /* byte-swap a file of ours by hand: header fields and voxels */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *le = g_build_filename (dir, "le.nii", NULL);
  g_autofree char *be = g_build_filename (dir, "be.nii", NULL);
  g_autoptr(TbVolume) v = make_volume ();
  g_assert_true (tb_io_write_nifti (le, v, NULL));
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (le, &bytes, &len, NULL));
  nifti_1_header h;
  memcpy (&h, bytes, sizeof h);
  nifti_swap_as_nifti1 (&h);
  memcpy (bytes, &h, sizeof h);
  nifti_swap_4bytes ((int64_t) tb_volume_n_voxels (v), bytes + 352);
  g_assert_true (g_file_set_contents (be, bytes, len, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) r = tb_io_read (be, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (r->data, tb_volume_n_voxels (r) * 4, v->data, tb_volume_n_voxels (v) * 4);
  tb_assert_rel (r->spacing[2], 1.25, 1e-7);
  tb_test_rmdir (dir);
}

static void
test_write_nifti2 (void)
{
  /* a dimension past 32767 (NIfTI-1's int16 limit) makes the writer use NIfTI-2 */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "long.nii.gz", NULL);
  const double s[3] = { 0.1, 0.2, 0.3 };
  g_autoptr(TbVolume) v = tb_volume_new (40000, 2, 1, s, NULL);
  v->origin[2] = -4.5;
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    v->data[i] = (float) i;
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_io_write_nifti (path, v, &error));
  TbIoInfo info;
  g_autoptr(TbVolume) r = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_NIFTI2);
  g_assert_cmpint (r->nx, ==, 40000);
  g_assert_cmpfloat (r->spacing[2], ==, 0.3);  /* NIfTI-2 stores doubles: exact */
  g_assert_cmpfloat (r->origin[2], ==, -4.5);
  g_assert_cmpmem (r->data, tb_volume_n_voxels (r) * 4, v->data, tb_volume_n_voxels (v) * 4);
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  nifti_set_debug_level (0);
  g_test_add_func ("/io/nifti/round-trip-nii", test_nii);
  g_test_add_func ("/io/nifti/round-trip-nii-gz", test_nii_gz);
  g_test_add_func ("/io/nifti/int16-scl-qform", test_int16_qform);
  g_test_add_func ("/io/nifti/uint8-sform-gz", test_uint8_sform_gz);
  g_test_add_func ("/io/nifti/nifti2-float64", test_nifti2_double);
  g_test_add_func ("/io/nifti/nifti2-gz", test_nifti2_gz);
  g_test_add_func ("/io/nifti/big-endian", test_big_endian);
  g_test_add_func ("/io/nifti/write-nifti2", test_write_nifti2);
  return g_test_run ();
}
