/* test-io-metaimage.c — MetaImage headers written here (.mhd + .raw, and .mha with LOCAL data). */
#include "tb-test.h"
#include "io/tb-io.h"

#include <string.h>

static void
test_mhd_raw (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *mhd = g_build_filename (dir, "ct.mhd", NULL);
  g_autofree char *raw = g_build_filename (dir, "ct.raw", NULL);
  const int nx = 6, ny = 5, nz = 4;
  gint16 data[6 * 5 * 4];
  for (int i = 0; i < nx * ny * nz; i++)
    data[i] = (gint16) (i * 97 - 1000);
  g_assert_true (g_file_set_contents (raw, (char *) data, sizeof data, NULL));
  g_assert_true (g_file_set_contents (mhd,
    "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
    "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = -10 20.5 3\n"
    "ElementSpacing = 0.5 0.6 1.25\nDimSize = 6 5 4\nElementType = MET_SHORT\nElementDataFile = ct.raw\n", -1, NULL));
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (mhd, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_METAIMAGE);
  g_assert_cmpint (info.pixel_type, ==, TB_IO_PIXEL_INT16);
  g_assert_cmpstr (info.spacing_source, ==, "MetaImage ElementSpacing");
  g_assert_cmpint (v->nx, ==, nx);
  g_assert_cmpint (v->ny, ==, ny);
  g_assert_cmpint (v->nz, ==, nz);
  g_assert_cmpfloat (v->spacing[1], ==, 0.6);
  g_assert_cmpfloat (v->origin[1], ==, 20.5);
  for (int i = 0; i < nx * ny * nz; i++)
    g_assert_cmpfloat (v->data[i], ==, (float) data[i]);
  g_assert_cmpstr (info.note, ==, "");
  tb_test_rmdir (dir);
}

static void
test_mha_local_msb (void)
{
  /* one file: header then big-endian float data right after ElementDataFile = LOCAL */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "img.mha", NULL);
  const char *header = "NDims = 2\nDimSize = 3 2\nElementType = MET_FLOAT\nElementByteOrderMSB = True\n"
                       "ElementDataFile = LOCAL\n";
  float values[6] = { -1.5f, 0, 2.25f, 1e6f, -3e-3f, 7 };
  GString *s = g_string_new (header);
  for (int i = 0; i < 6; i++)
    {
      guint32 u;
      memcpy (&u, &values[i], 4);
      u = GUINT32_TO_BE (u);
      g_string_append_len (s, (char *) &u, 4);
    }
  g_assert_true (g_file_set_contents (path, s->str, s->len, NULL));
  g_string_free (s, TRUE);
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nz, ==, 1);
  g_assert_cmpstr (info.spacing_source, ==, "unknown: 1 mm assumed");
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (v->data[i], ==, values[i]);
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/io/metaimage/mhd-raw", test_mhd_raw);
  g_test_add_func ("/io/metaimage/mha-local-msb", test_mha_local_msb);
  return g_test_run ();
}
