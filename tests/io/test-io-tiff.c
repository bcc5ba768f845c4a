/* test-io-tiff.c — TIFF round trips: our writer for each output type, and libtiff-written files
 * for every input type, strips and tiles, LZW/Deflate/PackBits, big-endian, folders of slices. */
#include "tb-test.h"
#include "io/tb-io.h"

#include <math.h>
#include <string.h>
#include <tiffio.h>

/* A volume whose voxels are distinct and include negatives, fractions, large values. */
static TbVolume *
make_volume (int nx, int ny, int nz, double lo, double hi)
{
  const double spacing[3] = { 0.05, 0.075, 0.125 };
  TbVolume *v = tb_volume_new (nx, ny, nz, spacing, NULL);
  v->origin[0] = -1.5;
  v->origin[1] = 2.25;
  v->origin[2] = 10.0;
  gsize n = tb_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    v->data[i] = (float) (lo + (hi - lo) * (double) ((i * 7919) % n) / (double) (n - 1));
  return v;
}

static void
check_geometry (const TbVolume *a, const TbVolume *b)
{
  g_assert_cmpint (a->nx, ==, b->nx);
  g_assert_cmpint (a->ny, ==, b->ny);
  g_assert_cmpint (a->nz, ==, b->nz);
  /* x, y go through 32-bit float XResolution = 1/s: relative error <= 2^-23 per step */
  for (int ax = 0; ax < 3; ax++)
    {
      tb_assert_rel (b->spacing[ax], a->spacing[ax], 1e-6);
      g_assert_cmpfloat_with_epsilon (b->origin[ax], a->origin[ax], 1e-5);
    }
}

static void
round_trip (TbIoPixelType type, double lo, double hi)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "stack.tif", NULL);
  g_autoptr(TbVolume) v = make_volume (37, 23, 11, lo, hi);
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_io_write_tiff (path, v, type, &error));
  g_assert_no_error (error);

  TbIoInfo info;
  g_autoptr(TbVolume) r = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.pixel_type, ==, type);
  g_assert_cmpstr (info.spacing_source, ==, "ImageJ metadata");
  check_geometry (v, r);
  gsize n = tb_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    {
      float want = v->data[i];
      if (type == TB_IO_PIXEL_UINT16)
        want = want <= 0 ? 0 : want >= 65535 ? 65535 : floorf (want + 0.5f);
      else if (type == TB_IO_PIXEL_UINT8)
        want = want <= 0 ? 0 : want >= 255 ? 255 : floorf (want + 0.5f);
      g_assert_cmpfloat (r->data[i], ==, want);  /* exact: float32 stored, or integers */
    }
  tb_test_rmdir (dir);
}

static void test_float32 (void) { round_trip (TB_IO_PIXEL_FLOAT32, -1234.5678, 98765.4321); }
static void test_uint16 (void) { round_trip (TB_IO_PIXEL_UINT16, -100, 70000); }  /* exercises clamping */
static void test_uint8 (void) { round_trip (TB_IO_PIXEL_UINT8, -10.3, 300.7); }

static void
test_mask (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "mask.tif", NULL);
  const double s[3] = { 0.5, 0.5, 0.6 };
  g_autoptr(TbMask) m = tb_mask_new (19, 17, 5, s, NULL);
  for (gsize i = 0; i < tb_mask_n_voxels (m); i++)
    m->data[i] = (i % 3 == 0) ? 1 : (i % 7 == 0) ? 200 : 0;
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_io_write_mask_tiff (path, m, &error));
  g_autoptr(TbMask) r = tb_io_read_mask (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (r->data, tb_mask_n_voxels (r), m->data, tb_mask_n_voxels (m));
  tb_assert_rel (r->spacing[2], 0.6, 1e-12);
  tb_test_rmdir (dir);
}

/* ---- files written with libtiff directly ----------------------------------------------------- */

typedef struct {
  guint16 bits, format;
  gboolean tiled;
  guint16 compression;
  const char *mode;  /* "w" little-endian, "wb" big-endian */
} Layout;

static double
value_at (gsize i, guint16 bits, guint16 format)
{
  /* spans the type's range, negatives for signed, fractions for float */
  double t = (double) ((i * 2654435761u) % 1000) / 999.0;
  if (format == SAMPLEFORMAT_IEEEFP)
    return -3000.25 + 7000.5 * t;
  double range = ldexp (1.0, bits) - 1;
  double v = floor (t * range);
  return format == SAMPLEFORMAT_INT ? v - ldexp (1.0, bits - 1) : v;
}

static void
store (void *buf, gsize i, double x, guint16 bits, guint16 format)
{
  if (format == SAMPLEFORMAT_IEEEFP)
    {
      if (bits == 32) ((float *) buf)[i] = (float) x;
      else ((double *) buf)[i] = x;
      return;
    }
  gint64 n = (gint64) x;
  switch (bits)
    {
    case 8: ((guint8 *) buf)[i] = (guint8) n; break;
    case 16: ((guint16 *) buf)[i] = (guint16) n; break;
    case 32: ((guint32 *) buf)[i] = (guint32) n; break;
    }
}

/* Writes nz pages of nx x ny; page z holds value_at(z*nx*ny + y*nx + x). */
static void
write_libtiff (const char *path, int nx, int ny, int nz, int z0, const Layout *l)
{
  TIFF *t = TIFFOpen (path, l->mode);
  g_assert_nonnull (t);
  gsize bps = l->bits / 8;
  for (int z = 0; z < nz; z++)
    {
      TIFFSetField (t, TIFFTAG_IMAGEWIDTH, (guint32) nx);
      TIFFSetField (t, TIFFTAG_IMAGELENGTH, (guint32) ny);
      TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, l->bits);
      TIFFSetField (t, TIFFTAG_SAMPLEFORMAT, l->format);
      TIFFSetField (t, TIFFTAG_SAMPLESPERPIXEL, (guint16) 1);
      TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField (t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField (t, TIFFTAG_COMPRESSION, l->compression);
      TIFFSetField (t, TIFFTAG_XRESOLUTION, 40.0f);  /* 0.25 mm */
      TIFFSetField (t, TIFFTAG_YRESOLUTION, 40.0f);
      TIFFSetField (t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
      /* libtiff 4.5.0 does not round-trip big-endian files with the floating-point predictor
       * (its own reader gets swapped bytes back), so that one combination is left out. */
      if ((l->compression == COMPRESSION_LZW || l->compression == COMPRESSION_ADOBE_DEFLATE)
          && !(l->format == SAMPLEFORMAT_IEEEFP && strcmp (l->mode, "wb") == 0))
        TIFFSetField (t, TIFFTAG_PREDICTOR, l->format == SAMPLEFORMAT_IEEEFP ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
      if (l->tiled)
        {
          const guint32 tw = 16, th = 16;
          TIFFSetField (t, TIFFTAG_TILEWIDTH, tw);
          TIFFSetField (t, TIFFTAG_TILELENGTH, th);
          g_autofree guint8 *tile = g_malloc0 (tw * th * bps);
          for (guint32 y = 0; y < (guint32) ny; y += th)
            for (guint32 x = 0; x < (guint32) nx; x += tw)
              {
                memset (tile, 0, tw * th * bps);
                for (guint32 r = 0; r < th && y + r < (guint32) ny; r++)
                  for (guint32 c = 0; c < tw && x + c < (guint32) nx; c++)
                    store (tile, r * tw + c, value_at ((gsize) (z0 + z) * nx * ny + (y + r) * nx + x + c, l->bits, l->format),
                           l->bits, l->format);
                g_assert_cmpint (TIFFWriteEncodedTile (t, TIFFComputeTile (t, x, y, 0, 0), tile, tw * th * bps), >=, 0);
              }
        }
      else
        {
          TIFFSetField (t, TIFFTAG_ROWSPERSTRIP, (guint32) 5);
          g_autofree guint8 *row = g_malloc (nx * bps);
          for (int y = 0; y < ny; y++)
            {
              for (int x = 0; x < nx; x++)
                store (row, x, value_at ((gsize) (z0 + z) * nx * ny + y * nx + x, l->bits, l->format), l->bits, l->format);
              g_assert_cmpint (TIFFWriteScanline (t, row, y, 0), ==, 1);
            }
        }
      g_assert_true (TIFFWriteDirectory (t));
    }
  TIFFClose (t);
}

static void
check_values (const TbVolume *v, const Layout *l)
{
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    {
      double want = value_at (i, l->bits, l->format);
      if (l->bits == 32 && l->format == SAMPLEFORMAT_IEEEFP)
        want = (float) want;
      g_assert_cmpfloat (v->data[i], ==, (float) want);  /* exact: all values representable */
    }
}

static void
test_libtiff_layouts (void)
{
  static const Layout layouts[] = {
    { 8, SAMPLEFORMAT_UINT, FALSE, COMPRESSION_NONE, "w" },
    { 8, SAMPLEFORMAT_INT, TRUE, COMPRESSION_LZW, "w" },
    { 16, SAMPLEFORMAT_UINT, FALSE, COMPRESSION_LZW, "wb" },
    { 16, SAMPLEFORMAT_INT, TRUE, COMPRESSION_ADOBE_DEFLATE, "wb" },
    { 16, SAMPLEFORMAT_INT, FALSE, COMPRESSION_PACKBITS, "w" },
    { 32, SAMPLEFORMAT_UINT, FALSE, COMPRESSION_ADOBE_DEFLATE, "w" },
    { 32, SAMPLEFORMAT_INT, TRUE, COMPRESSION_NONE, "wb" },
    { 32, SAMPLEFORMAT_IEEEFP, FALSE, COMPRESSION_LZW, "wb" },
    { 32, SAMPLEFORMAT_IEEEFP, TRUE, COMPRESSION_ADOBE_DEFLATE, "w" },
    { 64, SAMPLEFORMAT_IEEEFP, FALSE, COMPRESSION_NONE, "w" },
    { 16, SAMPLEFORMAT_UINT, TRUE, COMPRESSION_NONE, "w8" },  /* BigTIFF */
  };
  g_autofree char *dir = tb_test_tmpdir ();
  for (guint k = 0; k < G_N_ELEMENTS (layouts); k++)
    {
      const Layout *l = &layouts[k];
      g_autofree char *path = g_build_filename (dir, "libtiff.tif", NULL);
      write_libtiff (path, 45, 29, 4, 0, l);  /* 45 x 29: partial tiles and strips at the edges */
      g_autoptr(GError) error = NULL;
      TbIoInfo info;
      g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (v->nx, ==, 45);
      g_assert_cmpint (v->ny, ==, 29);
      g_assert_cmpint (v->nz, ==, 4);
      check_values (v, l);
      g_assert_cmpstr (info.spacing_source, ==, "TIFF resolution tags");
      tb_assert_rel (v->spacing[0], 0.25, 1e-7);
      g_test_message ("layout %u: %s ok", k, tb_io_pixel_type_name (info.pixel_type));
    }
  tb_test_rmdir (dir);
}

static void
test_folder (void)
{
  /* 12 single-page slices named so that plain strcmp order would be wrong (slice10 < slice2). */
  g_autofree char *dir = tb_test_tmpdir ();
  const Layout l = { 16, SAMPLEFORMAT_INT, FALSE, COMPRESSION_LZW, "w" };
  for (int z = 0; z < 12; z++)
    {
      g_autofree char *name = g_strdup_printf ("slice%d.tif", z + 1);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      write_libtiff (path, 20, 13, 1, z, &l);
    }
  g_autofree char *junk = g_build_filename (dir, "notes.txt", NULL);
  g_file_set_contents (junk, "not an image", -1, NULL);
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  const TbIoReadOptions opts = { { 0.1, 0.1, 0.3 } };
  g_autoptr(TbVolume) v = tb_io_read (dir, &opts, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, TB_IO_FORMAT_TIFF_FOLDER);
  g_assert_cmpuint (info.n_files, ==, 12);
  g_assert_cmpint (v->nz, ==, 12);
  check_values (v, &l);  /* value_at(z*nx*ny + ...) proves the natural order */
  tb_test_rmdir (dir);
}

static void
test_caller_spacing (void)
{
  /* no resolution tags, no ImageJ: the caller's spacing, and info says so */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "bare.tif", NULL);
  TIFF *t = TIFFOpen (path, "w");
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, 4);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, 3);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  guint8 row[4] = { 1, 2, 3, 4 };
  for (int y = 0; y < 3; y++)
    TIFFWriteScanline (t, row, y, 0);
  TIFFClose (t);
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) a = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info.spacing_source, ==, "unknown: 1 mm assumed");
  g_assert_cmpfloat (a->spacing[0], ==, 1.0);
  const TbIoReadOptions opts = { { 0.2, 0.3, 0.4 } };
  g_autoptr(TbVolume) b = tb_io_read (path, &opts, &info, NULL, &error);
  g_assert_cmpstr (info.spacing_source, ==, "given by the caller");
  g_assert_cmpfloat (b->spacing[2], ==, 0.4);
  g_assert_cmpint (b->nz, ==, 1);
  tb_test_rmdir (dir);
}

static void
test_cancel (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "c.tif", NULL);
  g_autoptr(TbVolume) v = make_volume (8, 8, 8, 0, 1);
  g_assert_true (tb_io_write_tiff (path, v, TB_IO_PIXEL_FLOAT32, NULL));
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_cancellable_cancel (c);
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) r = tb_io_read (path, NULL, NULL, c, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  tb_test_rmdir (dir);
}

static void
test_bigtiff_writer (void)
{
  /* the writer switches to BigTIFF past the threshold (4 GiB, lowered here) and we read it back */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "big.tif", NULL);
  g_autoptr(TbVolume) v = make_volume (30, 20, 6, -5, 5);
  g_setenv ("TB_IO_BIGTIFF_BYTES", "1000", TRUE);
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_io_write_tiff (path, v, TB_IO_PIXEL_FLOAT32, &error));
  g_unsetenv ("TB_IO_BIGTIFF_BYTES");
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpmem (bytes, 4, "II+\0", 4);  /* BigTIFF magic 43 */
  g_autoptr(TbVolume) r = tb_io_read (path, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  check_geometry (v, r);
  g_assert_cmpmem (r->data, tb_volume_n_voxels (r) * 4, v->data, tb_volume_n_voxels (v) * 4);
  tb_test_rmdir (dir);
}

static void
test_imagej_contiguous (void)
{
  /* ImageJ's layout for stacks past 4 GiB: one page, "images=N", the N images back to back */
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "ij.tif", NULL);
  const int nx = 7, ny = 5, nz = 4;
  guint16 data[7 * 5 * 4];
  for (int i = 0; i < nx * ny * nz; i++)
    data[i] = (guint16) (i * 13 + 1);
  TIFF *t = TIFFOpen (path, "wb");  /* big-endian, as ImageJ writes by default */
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, nx);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, ny);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField (t, TIFFTAG_ROWSPERSTRIP, ny);
  TIFFSetField (t, TIFFTAG_XRESOLUTION, 2.0f);
  TIFFSetField (t, TIFFTAG_YRESOLUTION, 2.0f);
  TIFFSetField (t, TIFFTAG_IMAGEDESCRIPTION, "ImageJ=1.54f\nimages=4\nslices=4\nunit=mm\nspacing=0.75\n");
  guint16 be[7 * 5 * 4];
  for (int i = 0; i < nx * ny * nz; i++)
    be[i] = GUINT16_TO_BE (data[i]);
  /* raw strip: all four images; libtiff records its byte count, ImageJ only the first image's */
  TIFFWriteRawStrip (t, 0, be, sizeof be);
  TIFFWriteDirectory (t);
  TIFFClose (t);
  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->nz, ==, nz);
  g_assert_cmpfloat (v->spacing[0], ==, 0.5);
  g_assert_cmpfloat (v->spacing[2], ==, 0.75);
  for (int i = 0; i < nx * ny * nz; i++)
    g_assert_cmpfloat (v->data[i], ==, data[i]);
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/io/tiff/round-trip-float32", test_float32);
  g_test_add_func ("/io/tiff/round-trip-uint16", test_uint16);
  g_test_add_func ("/io/tiff/round-trip-uint8", test_uint8);
  g_test_add_func ("/io/tiff/mask", test_mask);
  g_test_add_func ("/io/tiff/libtiff-layouts", test_libtiff_layouts);
  g_test_add_func ("/io/tiff/folder-natural-order", test_folder);
  g_test_add_func ("/io/tiff/caller-spacing", test_caller_spacing);
  g_test_add_func ("/io/tiff/cancel", test_cancel);
  g_test_add_func ("/io/tiff/bigtiff-writer", test_bigtiff_writer);
  g_test_add_func ("/io/tiff/imagej-contiguous", test_imagej_contiguous);
  return g_test_run ();
}
