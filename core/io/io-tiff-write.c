/* io-tiff-write.c — multipage TIFF with ImageJ metadata, so ImageJ/Fiji open it at the right scale.
 *
 * ImageJ reads its calibration from the first page's ImageDescription ("ImageJ=", "images=",
 * "slices=", "unit=", "spacing=", "min=", "max=", "xorigin=" ...) and the pixel size from
 * XResolution/YResolution (pixels per unit). Pages are uncompressed (fastest to write and read,
 * readable everywhere), one strip per ~256 KiB. Past 4 GiB the file is BigTIFF (libtiff mode "w8"),
 * which Fiji opens through Bio-Formats. */
#include "io-private.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <tiffio.h>

typedef struct {
  char message[512];
} TiffMessages;

static int
on_tiff_message (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  TiffMessages *m = user_data;
  if (m != NULL && m->message[0] == '\0')
    g_vsnprintf (m->message, sizeof m->message, fmt, ap);
  return 1;
}

static int
on_tiff_warning (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  return 1;
}

/* One row of floats to the stored type: uint types are rounded and clamped, NaN -> 0 (tb-io.h). */
static void
convert_row (const float *src, gsize n, TbIoPixelType type, void *dst)
{
  switch (type)
    {
    case TB_IO_PIXEL_FLOAT32:
      memcpy (dst, src, n * sizeof (float));
      break;
    case TB_IO_PIXEL_UINT16:
      {
        guint16 *d = dst;
        for (gsize i = 0; i < n; i++)
          {
            float x = src[i];
            d[i] = !(x > 0.0f) ? 0 : x >= 65535.0f ? 65535 : (guint16) (x + 0.5f);
          }
      }
      break;
    case TB_IO_PIXEL_UINT8:
      {
        guint8 *d = dst;
        for (gsize i = 0; i < n; i++)
          {
            float x = src[i];
            d[i] = !(x > 0.0f) ? 0 : x >= 255.0f ? 255 : (guint8) (x + 0.5f);
          }
      }
      break;
    default:
      g_return_if_reached ();
    }
}

typedef struct {
  int nx, ny, nz;
  const double *spacing, *origin;
  const float *fdata;      /* either float data ... */
  const guint8 *bdata;     /* ... or mask bytes */
} Source;

static gboolean
write_stack (const char *path, const Source *src, TbIoPixelType type, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  const gsize bps = tb_io_pixel_size (type);
  const gsize slice = (gsize) src->nx * src->ny;
  const guint64 bytes = (guint64) slice * src->nz * bps;
  /* Classic TIFF offsets are 32-bit; leave room for the directories. TB_IO_BIGTIFF_BYTES lowers
   * the threshold so that tests can check the BigTIFF path without writing 4 GiB. */
  guint64 limit = G_MAXUINT32 - (1u << 20);
  const char *env = g_getenv ("TB_IO_BIGTIFF_BYTES");
  if (env != NULL && g_ascii_strtoull (env, NULL, 10) > 0)
    limit = g_ascii_strtoull (env, NULL, 10);
  const gboolean big = bytes + (guint64) src->nz * 4096 > limit;

  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
  if (src->fdata != NULL)
    {
      TbVolume view = { src->nx, src->ny, src->nz, { 0 }, { 0 }, (float *) src->fdata };
      TbVolumeStats st;
      tb_volume_stats (&view, &st);
      lo = st.n_finite ? st.min : 0;
      hi = st.n_finite ? st.max : 0;
    }
  if (type == TB_IO_PIXEL_UINT8)
    lo = CLAMP (round (lo), 0, 255), hi = CLAMP (round (hi), 0, 255);
  else if (type == TB_IO_PIXEL_UINT16)
    lo = CLAMP (round (lo), 0, 65535), hi = CLAMP (round (hi), 0, 65535);
  if (src->bdata != NULL)
    lo = 0, hi = 255;

  g_autofree char *tmp = tb_io_temp_create (path, error);
  if (tmp == NULL)
    return FALSE;
  TiffMessages m = { "" };
  TIFFOpenOptions *o = TIFFOpenOptionsAlloc ();
  TIFFOpenOptionsSetErrorHandlerExtR (o, on_tiff_message, &m);
  TIFFOpenOptionsSetWarningHandlerExtR (o, on_tiff_warning, &m);
  TIFF *t = TIFFOpenExt (tmp, big ? "w8" : "w", o);
  TIFFOpenOptionsFree (o);
  if (t == NULL)
    {
      g_unlink (tmp);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot create %s: %s", path, m.message);
      return FALSE;
    }

  /* g_ascii_dtostr: numbers with a '.' whatever the locale, as ImageJ expects */
  char num[6][G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *full_desc = g_strdup_printf (
    "ImageJ=1.54f\nimages=%d\nslices=%d\nunit=mm\nspacing=%s\nloop=false\nmin=%s\nmax=%s\n"
    "xorigin=%s\nyorigin=%s\nzorigin=%s\n",
    src->nz, src->nz, g_ascii_dtostr (num[0], sizeof num[0], src->spacing[2]),
    g_ascii_dtostr (num[1], sizeof num[1], lo), g_ascii_dtostr (num[2], sizeof num[2], hi),
    g_ascii_dtostr (num[3], sizeof num[3], -src->origin[0] / src->spacing[0]),
    g_ascii_dtostr (num[4], sizeof num[4], -src->origin[1] / src->spacing[1]),
    g_ascii_dtostr (num[5], sizeof num[5], -src->origin[2] / src->spacing[2]));

  const guint16 sample_format = type == TB_IO_PIXEL_FLOAT32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT;
  guint32 rows_per_strip = MAX (1, MIN ((guint32) src->ny, (guint32) ((256 * 1024) / MAX (1, src->nx * bps))));
  g_autofree guint8 *buf = g_malloc ((gsize) src->nx * rows_per_strip * bps);
  gboolean ok = TRUE;
  for (int z = 0; z < src->nz && ok; z++)
    {
      TIFFSetField (t, TIFFTAG_SUBFILETYPE, 0);
      TIFFSetField (t, TIFFTAG_IMAGEWIDTH, (guint32) src->nx);
      TIFFSetField (t, TIFFTAG_IMAGELENGTH, (guint32) src->ny);
      TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, (guint16) (bps * 8));
      TIFFSetField (t, TIFFTAG_SAMPLEFORMAT, sample_format);
      TIFFSetField (t, TIFFTAG_SAMPLESPERPIXEL, (guint16) 1);
      TIFFSetField (t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField (t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField (t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
      TIFFSetField (t, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
      TIFFSetField (t, TIFFTAG_XRESOLUTION, (float) (1.0 / src->spacing[0]));
      TIFFSetField (t, TIFFTAG_YRESOLUTION, (float) (1.0 / src->spacing[1]));
      TIFFSetField (t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_NONE);
      if (z == 0)
        {
          TIFFSetField (t, TIFFTAG_IMAGEDESCRIPTION, full_desc);
          TIFFSetField (t, TIFFTAG_SOFTWARE, "Trabecula " TB_VERSION);
        }
      for (int y = 0, s = 0; y < src->ny && ok; y += rows_per_strip, s++)
        {
          int rows = MIN ((int) rows_per_strip, src->ny - y);
          gsize n = (gsize) rows * src->nx;
          gsize at = (gsize) z * slice + (gsize) y * src->nx;
          if (src->fdata != NULL)
            convert_row (src->fdata + at, n, type, buf);
          else
            memcpy (buf, src->bdata + at, n);
          ok = TIFFWriteEncodedStrip (t, s, buf, (tmsize_t) (n * bps)) >= 0;
        }
      ok = ok && TIFFWriteDirectory (t);
    }
  TIFFClose (t);  /* flushes; an error here shows in m.message */
  if (!ok || m.message[0] != '\0')
    {
      g_unlink (tmp);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Could not write %s: %s (disk full?)", base,
                   m.message[0] ? m.message : "write error");
      return FALSE;
    }
  return tb_io_temp_commit (tmp, path, error);
}

static gboolean
check_geometry (const double spacing[3], GError **error)
{
  for (int a = 0; a < 3; a++)
    if (!(spacing[a] > 0) || !isfinite (spacing[a]))
      {
        g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot write a volume with spacing %g x %g x %g mm",
                     spacing[0], spacing[1], spacing[2]);
        return FALSE;
      }
  return TRUE;
}

gboolean
tb_io_write_tiff (const char *path, const TbVolume *v, TbIoPixelType type, GError **error)
{
  g_return_val_if_fail (path != NULL && v != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (type != TB_IO_PIXEL_FLOAT32 && type != TB_IO_PIXEL_UINT16 && type != TB_IO_PIXEL_UINT8)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "TIFF output is float32, uint16 or uint8, not %s", tb_io_pixel_type_name (type));
      return FALSE;
    }
  if (!check_geometry (v->spacing, error))
    return FALSE;
  Source s = { v->nx, v->ny, v->nz, v->spacing, v->origin, v->data, NULL };
  return write_stack (path, &s, type, error);
}

gboolean
tb_io_write_mask_tiff (const char *path, const TbMask *mask, GError **error)
{
  g_return_val_if_fail (path != NULL && mask != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (!check_geometry (mask->spacing, error))
    return FALSE;
  Source s = { mask->nx, mask->ny, mask->nz, mask->spacing, mask->origin, NULL, mask->data };
  return write_stack (path, &s, TB_IO_PIXEL_UINT8, error);
}
