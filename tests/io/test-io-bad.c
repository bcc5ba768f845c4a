/* test-io-bad.c — bad input: each a clear TB_IO_ERROR, no crash, nothing half-written. */
#include "tb-test.h"
#include "io/tb-io.h"

#include <string.h>
#include <tiffio.h>
#include <zlib.h>
#include <glib/gstdio.h>

static char *tmp;

static char *
file_in_tmp (const char *name, const void *bytes, gssize len)
{
  char *path = g_build_filename (tmp, name, NULL);
  g_assert_true (g_file_set_contents (path, bytes, len, NULL));
  return path;
}

/* Reads path, expects the error code and a message containing needle. */
static void
expect_error (const char *path, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, NULL, NULL, &error);
  g_assert_null (v);
  g_assert_nonnull (error);
  g_test_message ("%s -> %s", path, error->message);
  g_assert_error (error, TB_IO_ERROR, code);
  g_assert_nonnull (strstr (error->message, needle));
}

static void
test_missing (void)
{
  g_autofree char *p = g_build_filename (tmp, "nothing-here.tif", NULL);
  expect_error (p, TB_IO_ERROR_NOT_FOUND, "does not exist");
}

static void
test_empty (void)
{
  g_autofree char *p = file_in_tmp ("empty.nii", "", 0);
  expect_error (p, TB_IO_ERROR_TRUNCATED, "empty");
}

static void
test_garbage (void)
{
  g_autofree char *p = file_in_tmp ("text.tif", "hello, not an image at all\n", -1);
  expect_error (p, TB_IO_ERROR_UNSUPPORTED, "not an image");
}

static void
test_empty_folder (void)
{
  g_autofree char *d = g_build_filename (tmp, "emptydir", NULL);
  g_mkdir (d, 0755);
  expect_error (d, TB_IO_ERROR_NOT_FOUND, "no TIFF or DICOM");
}

static char *
write_good_tiff (const char *name, TbIoPixelType type)
{
  const double s[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (64, 64, 6, s, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    v->data[i] = (float) (i % 1000);
  char *p = g_build_filename (tmp, name, NULL);
  g_assert_true (tb_io_write_tiff (p, v, type, NULL));
  return p;
}

static void
test_truncated_tiff (void)
{
  g_autofree char *p = write_good_tiff ("full.tif", TB_IO_PIXEL_UINT16);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (p, &bytes, &len, NULL));
  /* cut in the middle of the pixel data of page 3 (the chain of pages breaks there too) */
  g_autofree char *cut = file_in_tmp ("cut.tif", bytes, len / 2);
  expect_error (cut, TB_IO_ERROR_TRUNCATED, "truncated");
  /* cut inside the first page's data, before any IFD (libtiff writes the IFD after the data) */
  g_autofree char *cut2 = file_in_tmp ("cut2.tif", bytes, 5000);
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (cut2, NULL, NULL, NULL, &error);
  g_assert_null (v);
  g_assert_true (error->domain == TB_IO_ERROR);
  g_test_message ("cut2 -> %s", error->message);
}

static void
test_truncated_nifti (void)
{
  const double s[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (30, 30, 30, s, NULL);
  g_autofree char *p = g_build_filename (tmp, "full.nii", NULL);
  g_autofree char *pgz = g_build_filename (tmp, "full.nii.gz", NULL);
  g_assert_true (tb_io_write_nifti (p, v, NULL));
  g_assert_true (tb_io_write_nifti (pgz, v, NULL));
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (p, &bytes, &len, NULL));
  g_autofree char *cut = file_in_tmp ("cut.nii", bytes, len - 1000);
  expect_error (cut, TB_IO_ERROR_TRUNCATED, "truncated");
  g_autofree char *hdr = file_in_tmp ("hdr.nii", bytes, 200);
  expect_error (hdr, TB_IO_ERROR_TRUNCATED, "NIfTI");
  g_autofree char *gzbytes = NULL;
  g_assert_true (g_file_get_contents (pgz, &gzbytes, &len, NULL));
  g_autofree char *cutgz = file_in_tmp ("cut.nii.gz", gzbytes, len / 2);
  expect_error (cutgz, TB_IO_ERROR_TRUNCATED, "truncated");
}

static void
test_huge_nifti (void)
{
  /* NIfTI-2 header claiming 100000^3 int16 voxels, followed by nothing */
  const double s[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (2, 2, 2, s, NULL);
  g_autofree char *p = g_build_filename (tmp, "small.nii", NULL);
  g_assert_true (tb_io_write_nifti (p, v, NULL));
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (p, &bytes, &len, NULL));
  /* NIfTI-1 dims are int16, so claim 100000 via NIfTI-2: build its header by hand (offsets from nifti2.h) */
  guint8 h2[544 + 8];
  memset (h2, 0, sizeof h2);
  gint32 size = 540;
  memcpy (h2, &size, 4);
  memcpy (h2 + 4, "n+2\0\r\n\032\n", 8);
  gint16 dtype = 4, bitpix = 16;  /* int16 */
  memcpy (h2 + 12, &dtype, 2);
  memcpy (h2 + 14, &bitpix, 2);
  gint64 dims[8] = { 3, 100000, 100000, 100000, 1, 1, 1, 1 };
  memcpy (h2 + 16, dims, sizeof dims);
  double pix[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
  memcpy (h2 + 104, pix, sizeof pix);
  gint64 off = 544;
  memcpy (h2 + 168, &off, 8);
  g_autofree char *big = file_in_tmp ("huge.nii.gz.nii", h2, sizeof h2);  /* uncompressed */
  /* a plain file that is too short is reported as truncated before anything is allocated */
  expect_error (big, TB_IO_ERROR_TRUNCATED, "100000");
  /* compressed, the length is unknown up front: the memory check refuses it */
  g_autofree char *gzp = g_build_filename (tmp, "huge.nii.gz", NULL);
  gzFile gz = gzopen (gzp, "wb");
  gzwrite (gz, h2, sizeof h2);
  gzclose (gz);
  expect_error (gzp, TB_IO_ERROR_TOO_LARGE, "100000 x 100000 x 100000");
}

static void
test_huge_metaimage (void)
{
  g_autofree char *p = file_in_tmp ("huge.mhd", "NDims = 3\nDimSize = 100000 100000 100000\nElementType = MET_UCHAR\n"
                                    "ElementDataFile = LOCAL\n", -1);
  expect_error (p, TB_IO_ERROR_TRUNCATED, "100000");
}

static void
test_huge_tiff (void)
{
  /* a BigTIFF whose 100000 pages each claim 100000 x 100000 pixels is refused after scanning the
   * page headers; here one page claiming 100000 x 100000 with a small memory limit */
  g_autofree char *p = g_build_filename (tmp, "huge.tif", NULL);
  TIFF *t = TIFFOpen (p, "w8");
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, 100000);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, 100000);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField (t, TIFFTAG_ROWSPERSTRIP, 100000);
  guint8 b = 1;
  TIFFWriteRawStrip (t, 0, &b, 1);
  TIFFWriteDirectory (t);
  TIFFClose (t);
  g_setenv ("TB_MEMORY_LIMIT", "1G", TRUE);
  expect_error (p, TB_IO_ERROR_TOO_LARGE, "100000 x 100000");
  g_unsetenv ("TB_MEMORY_LIMIT");
}

static void
test_rgb_tiff (void)
{
  g_autofree char *p = g_build_filename (tmp, "rgb.tif", NULL);
  TIFF *t = TIFFOpen (p, "w");
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, 4);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, 2);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (t, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  TIFFSetField (t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  guint8 row[12] = { 0 };
  TIFFWriteScanline (t, row, 0, 0);
  TIFFWriteScanline (t, row, 1, 0);
  TIFFClose (t);
  expect_error (p, TB_IO_ERROR_UNSUPPORTED, "RGB");

  g_autofree char *pal = g_build_filename (tmp, "palette.tif", NULL);
  t = TIFFOpen (pal, "w");
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, 4);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, 1);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_PALETTE);
  guint16 map[256] = { 0 };
  TIFFSetField (t, TIFFTAG_COLORMAP, map, map, map);
  TIFFWriteScanline (t, row, 0, 0);
  TIFFClose (t);
  expect_error (pal, TB_IO_ERROR_UNSUPPORTED, "palette");
}

static void
test_metaimage_refusals (void)
{
  g_autofree char *raw = file_in_tmp ("d.raw", "\0\0\0\0\0\0\0\0", 8);
  g_autofree char *type = file_in_tmp ("type.mhd", "NDims = 3\nDimSize = 2 2 2\nElementType = MET_LONG_LONG_ARRAY\n"
                                       "ElementDataFile = d.raw\n", -1);
  expect_error (type, TB_IO_ERROR_UNSUPPORTED, "MET_LONG_LONG_ARRAY");
  g_autofree char *comp = file_in_tmp ("comp.mhd", "NDims = 3\nDimSize = 2 2 2\nCompressedData = True\n"
                                       "ElementType = MET_UCHAR\nElementDataFile = d.raw\n", -1);
  expect_error (comp, TB_IO_ERROR_UNSUPPORTED, "CompressedData");
  g_autofree char *noraw = file_in_tmp ("noraw.mhd", "NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n"
                                        "ElementDataFile = missing.raw\n", -1);
  expect_error (noraw, TB_IO_ERROR_NOT_FOUND, "missing.raw");
  g_autofree char *shortraw = file_in_tmp ("short.mhd", "NDims = 3\nDimSize = 4 4 4\nElementType = MET_UCHAR\n"
                                           "ElementDataFile = d.raw\n", -1);
  expect_error (shortraw, TB_IO_ERROR_TRUNCATED, "truncated");
}

static void
test_no_half_written (void)
{
  /* a write into a folder that does not exist fails cleanly, and a failed write leaves no file */
  const double s[3] = { 1, 1, 1 };
  g_autoptr(TbVolume) v = tb_volume_new (4, 4, 4, s, NULL);
  g_autofree char *p = g_build_filename (tmp, "no-such-dir", "x.tif", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_false (tb_io_write_tiff (p, v, TB_IO_PIXEL_FLOAT32, &error));
  g_assert_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE);
  g_clear_error (&error);
  g_assert_false (tb_io_write (p, v, TB_IO_PIXEL_FLOAT32, &error));
  g_clear_error (&error);
  g_autofree char *q = g_build_filename (tmp, "x.png", NULL);
  g_assert_false (tb_io_write (q, v, TB_IO_PIXEL_FLOAT32, &error));
  g_assert_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED);
  g_assert_false (g_file_test (q, G_FILE_TEST_EXISTS));
  /* no temporary files left in the folder */
  g_autoptr(GDir) d = g_dir_open (tmp, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_assert_false (g_str_has_suffix (name, ".part"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = tb_test_tmpdir ();
  g_test_add_func ("/io/bad/missing", test_missing);
  g_test_add_func ("/io/bad/empty", test_empty);
  g_test_add_func ("/io/bad/garbage", test_garbage);
  g_test_add_func ("/io/bad/empty-folder", test_empty_folder);
  g_test_add_func ("/io/bad/truncated-tiff", test_truncated_tiff);
  g_test_add_func ("/io/bad/truncated-nifti", test_truncated_nifti);
  g_test_add_func ("/io/bad/huge-nifti", test_huge_nifti);
  g_test_add_func ("/io/bad/huge-metaimage", test_huge_metaimage);
  g_test_add_func ("/io/bad/huge-tiff", test_huge_tiff);
  g_test_add_func ("/io/bad/rgb-palette-tiff", test_rgb_tiff);
  g_test_add_func ("/io/bad/metaimage-refusals", test_metaimage_refusals);
  g_test_add_func ("/io/bad/no-half-written", test_no_half_written);
  int rc = g_test_run ();
  tb_test_rmdir (tmp);
  return rc;
}
