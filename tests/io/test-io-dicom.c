/* test-io-dicom.c — the minimal DICOM reader on the real slices of ../shared/data/dicom.
 * Expected voxel values come from the files' bytes read here independently (pixel data found by
 * its tag), so the reader's parsing, rescaling and ordering are checked, not restated. */
#define _GNU_SOURCE  /* memmem */
#include "tb-test.h"
#include "io/tb-io.h"

#include <math.h>
#include <string.h>

/* Mean of the n int16/uint16 pixels after the (7FE0,0010) tag, plus intercept. */
static double
raw_mean (const char *path, gsize n, gboolean is_signed, double inter)
{
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  const guint8 tag[4] = { 0xE0, 0x7F, 0x10, 0x00 };
  const guint8 *p = memmem (bytes, len, tag, 4);
  g_assert_nonnull (p);
  gsize off = (p - (const guint8 *) bytes) + (p[4] == 'O' && p[5] == 'W' ? 12 : 8);
  g_assert_cmpuint (off + 2 * n, <=, len);
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    {
      guint16 u = (guint16) (((const guint8 *) bytes)[off + 2 * i] | (((const guint8 *) bytes)[off + 2 * i + 1] << 8));
      sum += is_signed ? (double) (gint16) u : (double) u;
    }
  return sum / n + inter;
}

static void
test_ct_small (void)
{
  g_autofree char *path = tb_test_shared_data ("dicom/pydicom_CT_small.dcm");
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_DICOM);
  g_assert_cmpint (v->nx, ==, 128);
  g_assert_cmpint (v->ny, ==, 128);
  g_assert_cmpint (v->nz, ==, 1);
  g_assert_cmpfloat (v->spacing[0], ==, 0.661468);  /* PixelSpacing "0.661468\0.661468", parsed exactly */
  g_assert_cmpfloat (info.scl_inter, ==, -1024);
  g_assert_cmpint (info.pixel_type, ==, TB_IO_PIXEL_INT16);
  /* integer sums in double: exact; the 1e-12 only absorbs the final division */
  tb_assert_rel (info.mean, raw_mean (path, 128 * 128, TRUE, -1024), 1e-12);
}

static void
test_elscint_series (void)
{
  g_autofree char *dir = tb_test_shared_data ("dicom/bonelab_elscint_legs_ct");
  if (dir == NULL)
    return;
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (dir, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_DICOM);
  g_assert_cmpuint (info.n_files, ==, 4);
  g_assert_cmpint (v->nx, ==, 512);
  g_assert_cmpint (v->ny, ==, 512);
  g_assert_cmpint (v->nz, ==, 4);
  g_assert_cmpfloat_with_epsilon (v->spacing[0], 0.84, 1e-12);
  g_assert_cmpfloat_with_epsilon (v->spacing[2], 3.0, 1e-9);  /* README: 3 mm apart */
  g_assert_cmpstr (info.spacing_source, ==, "DICOM PixelSpacing and slice positions");

  /* each slice of the volume is one of the files: the slice means match the files' means one to one */
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  double file_means[4];
  int nf = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL && nf < 4)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      file_means[nf++] = raw_mean (p, 512 * 512, FALSE, info.scl_inter);
    }
  g_assert_cmpint (nf, ==, 4);
  gboolean used[4] = { FALSE };
  for (int z = 0; z < 4; z++)
    {
      double sum = 0;
      for (gsize i = 0; i < 512 * 512; i++)
        sum += v->data[(gsize) z * 512 * 512 + i];
      double mean = sum / (512 * 512);
      int hit = -1;
      for (int k = 0; k < 4; k++)
        if (!used[k] && fabs (mean - file_means[k]) < 1e-9 * fabs (file_means[k]))
          hit = k;
      g_assert_cmpint (hit, >=, 0);
      used[hit] = TRUE;
    }
  /* slices ascend along z: the origin is the lowest position */
  g_test_message ("origin %g %g %g", v->origin[0], v->origin[1], v->origin[2]);
}

static void
test_bare_single_file (void)
{
  g_autofree char *path = tb_test_shared_data ("dicom/bonelab_elscint_legs_ct/GE2HY7A7.DCM");
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nz, ==, 1);
  tb_assert_rel (info.mean, raw_mean (path, 512 * 512, FALSE, info.scl_inter), 1e-12);
}

static void
test_jpeg2000_refused (void)
{
  g_autofree char *dir = tb_test_shared_data ("dicom/totalseg_j2k");
  if (dir == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (dir, NULL, NULL, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "JPEG 2000"));
  g_assert_nonnull (strstr (error->message, "dcm2niix"));
}

static void
test_truncated (void)
{
  g_autofree char *path = tb_test_shared_data ("dicom/pydicom_CT_small.dcm");
  if (path == NULL)
    return;
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *cut = g_build_filename (dir, "cut.dcm", NULL);
  g_assert_true (g_file_set_contents (cut, bytes, 20000, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (cut, NULL, NULL, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED);
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/io/dicom/ct-small", test_ct_small);
  g_test_add_func ("/io/dicom/elscint-series", test_elscint_series);
  g_test_add_func ("/io/dicom/bare-single-file", test_bare_single_file);
  g_test_add_func ("/io/dicom/jpeg2000-refused", test_jpeg2000_refused);
  g_test_add_func ("/io/dicom/truncated", test_truncated);
  return g_test_run ();
}
