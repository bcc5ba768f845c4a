/* io-tiff-read.c — TIFF stacks through libtiff: multipage files and folders of slices.
 *
 * libtiff decodes every compression it was built with (LZW, Deflate, PackBits, JPEG, ZSTD, LERC...)
 * behind TIFFReadEncodedStrip/Tile and returns samples in native byte order, so this file only
 * checks what the pages are, reads them strip by strip or tile by tile, and converts to float.
 * libtiff's messages go to per-file handlers (TIFFOpenExt, libtiff >= 4.5), never to stderr,
 * and the first error becomes the GError. */
#include "io-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <tiffio.h>

typedef struct {
  char message[512];
} TiffMessages;

static int
on_tiff_error (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  TiffMessages *m = user_data;
  if (m != NULL && m->message[0] == '\0')
    g_vsnprintf (m->message, sizeof m->message, fmt, ap);
  return 1;  /* handled: libtiff does not call its global (stderr) handler */
}

static int
on_tiff_warning (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  return 1;  /* unknown tags and the like: not the user's problem */
}

static TIFF *
tiff_open (const char *path, const char *mode, TiffMessages *messages)
{
  TIFFOpenOptions *o = TIFFOpenOptionsAlloc ();
  TIFFOpenOptionsSetErrorHandlerExtR (o, on_tiff_error, messages);
  TIFFOpenOptionsSetWarningHandlerExtR (o, on_tiff_warning, messages);
  TIFF *t = TIFFOpenExt (path, mode, o);
  TIFFOpenOptionsFree (o);
  return t;
}

/* The geometry and pixel type every page of the stack must share. */
typedef struct {
  guint32 width, height;
  TbIoPixelType type;
} PageFormat;

static gboolean
is_reduced_page (TIFF *t)
{
  guint32 subfile = 0;
  return TIFFGetField (t, TIFFTAG_SUBFILETYPE, &subfile) && (subfile & FILETYPE_REDUCEDIMAGE);
}

/* The page's format, or an error naming what we do not read. */
static gboolean
page_format (TIFF *t, const char *base, int page, PageFormat *f, GError **error)
{
  guint16 spp = 1, bits = 1, sample_format = SAMPLEFORMAT_UINT, photometric = PHOTOMETRIC_MINISBLACK;
  TIFFGetFieldDefaulted (t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted (t, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted (t, TIFFTAG_SAMPLEFORMAT, &sample_format);
  if (!TIFFGetField (t, TIFFTAG_PHOTOMETRIC, &photometric))
    photometric = PHOTOMETRIC_MINISBLACK;
  if (!TIFFGetField (t, TIFFTAG_IMAGEWIDTH, &f->width) || !TIFFGetField (t, TIFFTAG_IMAGELENGTH, &f->height)
      || f->width == 0 || f->height == 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                   "%s page %d has no valid image size; the file is damaged", base, page + 1);
      return FALSE;
    }
  if (photometric == PHOTOMETRIC_PALETTE)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "%s page %d is a palette (indexed colour) image; Trabecula reads grayscale only: "
                   "convert it to 8- or 16-bit grayscale (Fiji: Image > Type)", base, page + 1);
      return FALSE;
    }
  if (spp != 1 || photometric == PHOTOMETRIC_RGB || photometric == PHOTOMETRIC_YCBCR
      || photometric == PHOTOMETRIC_SEPARATED || photometric == PHOTOMETRIC_CIELAB)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "%s page %d is an RGB or multi-sample image (%u samples per pixel); Trabecula reads "
                   "single-channel grayscale only: convert it to 8- or 16-bit grayscale (Fiji: Image > Type)",
                   base, page + 1, spp);
      return FALSE;
    }
  gboolean ok = TRUE;
  switch (sample_format)
    {
    case SAMPLEFORMAT_UINT:
    case SAMPLEFORMAT_VOID:
      ok = bits == 8 || bits == 16 || bits == 32;
      f->type = bits == 8 ? TB_IO_PIXEL_UINT8 : bits == 16 ? TB_IO_PIXEL_UINT16 : TB_IO_PIXEL_UINT32;
      break;
    case SAMPLEFORMAT_INT:
      ok = bits == 8 || bits == 16 || bits == 32;
      f->type = bits == 8 ? TB_IO_PIXEL_INT8 : bits == 16 ? TB_IO_PIXEL_INT16 : TB_IO_PIXEL_INT32;
      break;
    case SAMPLEFORMAT_IEEEFP:
      ok = bits == 32 || bits == 64;
      f->type = bits == 32 ? TB_IO_PIXEL_FLOAT32 : TB_IO_PIXEL_FLOAT64;
      break;
    default:
      ok = FALSE;
    }
  if (!ok)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "%s page %d has %u-bit samples of format %u; Trabecula reads 8/16/32-bit integer "
                   "and 32/64-bit float grayscale: convert it (Fiji: Image > Type)", base, page + 1, bits, sample_format);
      return FALSE;
    }
  return TRUE;
}

static void
tiff_fail (GError **error, TbIoError code, const char *base, int page, const TiffMessages *m, const char *what)
{
  g_set_error (error, TB_IO_ERROR, code, "%s page %d: %s%s%s", base, page + 1, what,
               m->message[0] != '\0' ? ": " : "", m->message);
}

/* Moves to the next page; FALSE at the end, or with *ok = FALSE when the chain of pages is broken. */
static gboolean
next_directory (TIFF *t, const char *base, int page, TiffMessages *m, gboolean *ok, GError **error)
{
  if (!*ok || TIFFLastDirectory (t))
    return FALSE;
  m->message[0] = '\0';
  if (TIFFReadDirectory (t))
    return TRUE;
  g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
               "%s: page %d cannot be found (the file is truncated or damaged)%s%s; export it again",
               base, page + 1, m->message[0] ? ": " : "", m->message);
  *ok = FALSE;
  return FALSE;
}

/* Pages of one file: every full-resolution page must match *fmt (set from the first page seen). */
static gboolean
scan_file (const char *path, PageFormat *fmt, gboolean *have_fmt, guint64 *n_pages, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  TiffMessages m = { "" };
  TIFF *t = tiff_open (path, "r", &m);
  if (t == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s is not a readable TIFF file%s%s",
                   base, m.message[0] ? ": " : "", m.message);
      return FALSE;
    }
  int page = 0;
  gboolean ok = TRUE;
  do
    {
      if (is_reduced_page (t))
        continue;
      PageFormat f;
      if (!page_format (t, base, page, &f, error))
        {
          ok = FALSE;
          break;
        }
      if (!*have_fmt)
        {
          *fmt = f;
          *have_fmt = TRUE;
        }
      else if (f.width != fmt->width || f.height != fmt->height || f.type != fmt->type)
        {
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                       "%s page %d is %u x %u %s but the stack's first page is %u x %u %s; "
                       "all slices must have the same size and type", base, page + 1, f.width, f.height,
                       tb_io_pixel_type_name (f.type), fmt->width, fmt->height, tb_io_pixel_type_name (fmt->type));
          ok = FALSE;
          break;
        }
      (*n_pages)++;
    }
  while (page++, next_directory (t, base, page, &m, &ok, error));
  TIFFClose (t);
  return ok;
}

static TbIoError
classify_read_failure (TIFF *t, const char *path, guint32 strile)
{
  GStatBuf st;
  if (g_stat (path, &st) == 0)
    {
      guint64 end = TIFFGetStrileOffset (t, strile) + TIFFGetStrileByteCount (t, strile);
      if (end > (guint64) st.st_size)
        return TB_IO_ERROR_TRUNCATED;
    }
  return TB_IO_ERROR_CORRUPT;
}

/* One page into dst (width*height floats). */
static gboolean
read_page (TIFF *t, const char *path, const char *base, int page, const PageFormat *f, float *dst,
           TiffMessages *m, GError **error)
{
  const gsize bps = tb_io_pixel_size (f->type);
  const guint32 nx = f->width, ny = f->height;
  if (TIFFIsTiled (t))
    {
      guint32 tw = 0, th = 0;
      TIFFGetField (t, TIFFTAG_TILEWIDTH, &tw);
      TIFFGetField (t, TIFFTAG_TILELENGTH, &th);
      tmsize_t size = TIFFTileSize (t);
      if (tw == 0 || th == 0 || size < (tmsize_t) ((guint64) tw * th * bps))
        {
          tiff_fail (error, TB_IO_ERROR_CORRUPT, base, page, m, "invalid tile size");
          return FALSE;
        }
      g_autofree guint8 *buf = g_try_malloc (size);
      if (buf == NULL)
        {
          tiff_fail (error, TB_IO_ERROR_TOO_LARGE, base, page, m, "tiles too large to decode");
          return FALSE;
        }
      for (guint32 y = 0; y < ny; y += th)
        for (guint32 x = 0; x < nx; x += tw)
          {
            guint32 tile = TIFFComputeTile (t, x, y, 0, 0);
            m->message[0] = '\0';
            if (TIFFReadEncodedTile (t, tile, buf, size) < 0)
              {
                tiff_fail (error, classify_read_failure (t, path, tile), base, page, m,
                           "a tile could not be read (truncated or damaged file)");
                return FALSE;
              }
            guint32 w = MIN (tw, nx - x), h = MIN (th, ny - y);
            for (guint32 r = 0; r < h; r++)
              tb_io_pixels_to_float (buf + (gsize) r * tw * bps, f->type, w, FALSE, 1.0, 0.0,
                                     dst + (gsize) (y + r) * nx + x);
          }
      return TRUE;
    }

  guint32 rps = ny;
  TIFFGetFieldDefaulted (t, TIFFTAG_ROWSPERSTRIP, &rps);
  if (rps == 0 || rps > ny)
    rps = ny;
  tmsize_t row_bytes = (tmsize_t) nx * bps;
  tmsize_t size = TIFFStripSize (t);
  if (size < row_bytes)
    {
      tiff_fail (error, TB_IO_ERROR_CORRUPT, base, page, m, "invalid strip size");
      return FALSE;
    }
  g_autofree guint8 *buf = g_try_malloc (size);
  if (buf == NULL)
    {
      tiff_fail (error, TB_IO_ERROR_TOO_LARGE, base, page, m, "strips too large to decode");
      return FALSE;
    }
  guint32 n_strips = TIFFNumberOfStrips (t);
  for (guint32 y = 0, s = 0; y < ny; y += rps, s++)
    {
      guint32 rows = MIN (rps, ny - y);
      tmsize_t want = (tmsize_t) rows * row_bytes;
      m->message[0] = '\0';
      tmsize_t got = s < n_strips ? TIFFReadEncodedStrip (t, s, buf, want) : -1;
      if (got < want)
        {
          tiff_fail (error, s < n_strips ? classify_read_failure (t, path, s) : TB_IO_ERROR_CORRUPT,
                     base, page, m, "a strip could not be read (truncated or damaged file)");
          return FALSE;
        }
      tb_io_pixels_to_float (buf, f->type, (gsize) rows * nx, FALSE, 1.0, 0.0, dst + (gsize) y * nx);
    }
  return TRUE;
}

/* ---- spacing ------------------------------------------------------------------------------- */

/* mm per unit for the unit names ImageJ and others write; 0 when unknown (e.g. "pixel"). */
static double
unit_to_mm (const char *unit)
{
  static const struct { const char *name; double mm; } units[] = {
    { "mm", 1.0 }, { "millimeter", 1.0 }, { "millimetre", 1.0 },
    { "micron", 1e-3 }, { "microns", 1e-3 }, { "um", 1e-3 }, { "\xc2\xb5m", 1e-3 }, { "\\u00B5m", 1e-3 },
    { "nm", 1e-6 }, { "cm", 10.0 }, { "m", 1000.0 }, { "meter", 1000.0 }, { "inch", 25.4 }, { "in", 25.4 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_ascii_strcasecmp (unit, units[i].name) == 0)
      return units[i].mm;
  return 0.0;
}

/* Spacing and origin from the first page: ImageJ's description, else resolution tags. */
static void
find_spacing (TIFF *t, const TbIoReadOptions *opts, TbIoInfo *info, double spacing[3], double origin[3])
{
  float xres = 0, yres = 0;
  guint16 res_unit = RESUNIT_INCH;
  gboolean have_res = TIFFGetField (t, TIFFTAG_XRESOLUTION, &xres) && xres > 0 && isfinite (xres);
  if (!TIFFGetField (t, TIFFTAG_YRESOLUTION, &yres) || !(yres > 0) || !isfinite (yres))
    yres = xres;
  TIFFGetFieldDefaulted (t, TIFFTAG_RESOLUTIONUNIT, &res_unit);
  origin[0] = origin[1] = origin[2] = 0.0;

  const char *desc = NULL;
  if (TIFFGetField (t, TIFFTAG_IMAGEDESCRIPTION, &desc) && desc != NULL && g_str_has_prefix (desc, "ImageJ="))
    {
      double unit_mm = 0, z = 0, xo = 0, yo = 0, zo = 0;
      g_auto(GStrv) lines = g_strsplit (desc, "\n", -1);
      for (char **l = lines; *l != NULL; l++)
        {
          char *eq = strchr (*l, '=');
          if (eq == NULL)
            continue;
          *eq = '\0';
          const char *key = *l, *value = eq + 1;
          if (strcmp (key, "unit") == 0)
            unit_mm = unit_to_mm (value);
          else if (strcmp (key, "spacing") == 0)
            z = g_ascii_strtod (value, NULL);
          else if (strcmp (key, "xorigin") == 0)
            xo = g_ascii_strtod (value, NULL);
          else if (strcmp (key, "yorigin") == 0)
            yo = g_ascii_strtod (value, NULL);
          else if (strcmp (key, "zorigin") == 0)
            zo = g_ascii_strtod (value, NULL);
        }
      if (unit_mm > 0 && have_res)
        {
          spacing[0] = unit_mm / xres;
          spacing[1] = unit_mm / yres;
          spacing[2] = z > 0 && isfinite (z) ? z * unit_mm : spacing[0];
          /* ImageJ's origin is in pixels, the position of world zero: world = (i - xorigin) * pw. */
          origin[0] = isfinite (xo) ? 0.0 - xo * spacing[0] : 0;
          origin[1] = isfinite (yo) ? 0.0 - yo * spacing[1] : 0;
          origin[2] = isfinite (zo) ? 0.0 - zo * spacing[2] : 0;
          info->spacing_source = "ImageJ metadata";
          return;
        }
    }
  /* 72 and 96 dpi are what image editors write when they know nothing: not a voxel size. */
  if (have_res && (res_unit == RESUNIT_CENTIMETER
                   || (res_unit == RESUNIT_INCH && xres != 72.0f && xres != 96.0f)))
    {
      double per = res_unit == RESUNIT_CENTIMETER ? 10.0 : 25.4;
      spacing[0] = per / xres;
      spacing[1] = per / yres;
      spacing[2] = spacing[0];
      info->spacing_source = "TIFF resolution tags";
      g_strlcpy (info->note, "TIFF resolution tags give no slice spacing: z spacing taken equal to x",
                 sizeof info->note);
      return;
    }
  tb_io_fallback_spacing (opts, spacing, info);
}

/* ---- ImageJ's contiguous stacks ------------------------------------------------------------ */

/* ImageJ saves stacks past 4 GiB (and some other writers any stack) as ONE page whose
 * description says "images=N", with the N images stored uncompressed one after the other from
 * the first strip on. Returns N when path is such a file (and where the data start), else 0. */
static gint64
imagej_contiguous_images (const char *path, const PageFormat *fmt, guint64 *offset, gboolean *swapped)
{
  TiffMessages m = { "" };
  TIFF *t = tiff_open (path, "r", &m);
  if (t == NULL)
    return 0;
  gint64 images = 0;
  const char *desc = NULL;
  guint16 compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted (t, TIFFTAG_COMPRESSION, &compression);
  if (TIFFGetField (t, TIFFTAG_IMAGEDESCRIPTION, &desc) && desc != NULL && g_str_has_prefix (desc, "ImageJ=")
      && compression == COMPRESSION_NONE && !TIFFIsTiled (t))
    {
      const char *p = strstr (desc, "\nimages=");
      if (p != NULL)
        images = g_ascii_strtoll (p + strlen ("\nimages="), NULL, 10);
      *offset = TIFFGetStrileOffset (t, 0);
      *swapped = TIFFIsByteSwapped (t);
      GStatBuf st;
      guint64 bytes = (guint64) fmt->width * fmt->height * tb_io_pixel_size (fmt->type);
      /* only when the file really holds them all; otherwise read the one page as usual */
      if (images < 2 || g_stat (path, &st) != 0 || *offset == 0
          || (double) *offset + (double) bytes * (double) images > (double) st.st_size)
        images = 0;
    }
  TIFFClose (t);
  return images;
}

static TbVolume *
read_imagej_contiguous (const char *path, const PageFormat *fmt, gint64 images, guint64 offset,
                        gboolean swapped, const TbIoReadOptions *opts, TbIoInfo *info,
                        GCancellable *cancellable, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(TbVolume) v = tb_io_volume_alloc (path, fmt->width, fmt->height, images, error);
  if (v == NULL)
    return NULL;
  info->format = TB_IO_FORMAT_TIFF;
  info->pixel_type = fmt->type;
  info->n_files = 1;
  TiffMessages m = { "" };
  TIFF *t = tiff_open (path, "r", &m);
  if (t == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s could not be reopened", base);
      return NULL;
    }
  find_spacing (t, opts, info, v->spacing, v->origin);
  TIFFClose (t);

  const gsize slice = (gsize) fmt->width * fmt->height;
  const gsize bytes = slice * tb_io_pixel_size (fmt->type);
  FILE *f = g_fopen (path, "rb");
  if (f == NULL || fseeko (f, (off_t) offset, SEEK_SET) != 0)
    {
      if (f != NULL)
        fclose (f);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s could not be read", base);
      return NULL;
    }
  g_autofree guint8 *buf = g_malloc (bytes);
  gint64 last = g_get_monotonic_time ();
  for (gint64 z = 0; z < images; z++)
    {
      if (fread (buf, 1, bytes, f) != bytes)
        {
          fclose (f);
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED, "%s ends inside image %" G_GINT64_FORMAT
                       " of %" G_GINT64_FORMAT "; save it again", base, z + 1, images);
          return NULL;
        }
      tb_io_pixels_to_float (buf, fmt->type, slice, swapped, 1.0, 0.0, v->data + (gsize) z * slice);
      gint64 now = g_get_monotonic_time ();
      if ((now - last > 100000 || z + 1 == images)
          && (last = now, !tb_io_step (opts, cancellable, (double) (z + 1) / images, "Reading TIFF slices", error)))
        {
          fclose (f);
          return NULL;
        }
    }
  fclose (f);
  g_strlcpy (info->note, "ImageJ contiguous stack: one TIFF page followed by the other images' raw data",
             sizeof info->note);
  return g_steal_pointer (&v);
}

/* ---- the stack ----------------------------------------------------------------------------- */

TbVolume *
tb_io_tiff_read_files (const char *folder, char **files, const TbIoReadOptions *opts,
                       TbIoInfo *info, GCancellable *cancellable, GError **error)
{
  guint n_files = g_strv_length (files);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_files; i++)
    g_ptr_array_add (paths, folder != NULL ? g_build_filename (folder, files[i], NULL) : g_strdup (files[i]));

  PageFormat fmt = { 0 };
  gboolean have_fmt = FALSE;
  guint64 n_pages = 0;
  for (guint i = 0; i < n_files; i++)
    if (!scan_file (paths->pdata[i], &fmt, &have_fmt, &n_pages, error))
      return NULL;
  if (n_pages == 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s has no image pages", (char *) paths->pdata[0]);
      return NULL;
    }
  if (n_files == 1 && n_pages == 1)
    {
      guint64 offset = 0;
      gboolean swapped = FALSE;
      gint64 images = imagej_contiguous_images (paths->pdata[0], &fmt, &offset, &swapped);
      if (images > 1)
        return read_imagej_contiguous (paths->pdata[0], &fmt, images, offset, swapped, opts, info,
                                       cancellable, error);
    }
  g_autoptr(TbVolume) v = tb_io_volume_alloc (paths->pdata[0], fmt.width, fmt.height, (gint64) n_pages, error);
  if (v == NULL)
    return NULL;

  info->format = n_files > 1 ? TB_IO_FORMAT_TIFF_FOLDER : TB_IO_FORMAT_TIFF;
  info->pixel_type = fmt.type;
  info->n_files = n_files;
  gsize slice = (gsize) fmt.width * fmt.height;
  int z = 0;
  gint64 last = g_get_monotonic_time ();
  for (guint i = 0; i < n_files; i++)
    {
      const char *path = paths->pdata[i];
      g_autofree char *base = g_path_get_basename (path);
      TiffMessages m = { "" };
      TIFF *t = tiff_open (path, "r", &m);
      if (t == NULL)
        {
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s could not be reopened%s%s",
                       base, m.message[0] ? ": " : "", m.message);
          return NULL;
        }
      if (i == 0)
        find_spacing (t, opts, info, v->spacing, v->origin);
      int page = 0;
      do
        {
          if (is_reduced_page (t))
            continue;
          if (z >= v->nz || !read_page (t, path, base, page, &fmt, v->data + (gsize) z * slice, &m, error))
            {
              if (z >= v->nz)
                g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s changed while it was read", base);
              TIFFClose (t);
              return NULL;
            }
          z++;
          gint64 now = g_get_monotonic_time ();
          if (now - last > 100000 || z == v->nz)
            {
              last = now;
              if (!tb_io_step (opts, cancellable, (double) z / v->nz, "Reading TIFF slices", error))
                {
                  TIFFClose (t);
                  return NULL;
                }
            }
        }
      while (page++, TIFFReadDirectory (t));
      TIFFClose (t);
    }
  if (z != v->nz)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s: read %d of %d slices; the files changed while read",
                   folder != NULL ? folder : (char *) paths->pdata[0], z, v->nz);
      return NULL;
    }
  return g_steal_pointer (&v);
}

TbVolume *
tb_io_tiff_read (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                 GCancellable *cancellable, GError **error)
{
  char *one[2] = { (char *) path, NULL };
  return tb_io_tiff_read_files (NULL, one, opts, info, cancellable, error);
}
