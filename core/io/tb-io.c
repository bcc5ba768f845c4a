/* tb-io.c — the one entry point: find the format by content and hand the file to its reader. */
#include "io-private.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <math.h>
#include <string.h>
#include <zlib.h>
#include <glib/gstdio.h>

G_DEFINE_QUARK (tb-io-error-quark, tb_io_error)

const char *
tb_io_format_name (TbIoFormat format)
{
  switch (format)
    {
    case TB_IO_FORMAT_TIFF: return "TIFF";
    case TB_IO_FORMAT_TIFF_FOLDER: return "TIFF slices in a folder";
    case TB_IO_FORMAT_NIFTI1: return "NIfTI-1";
    case TB_IO_FORMAT_NIFTI2: return "NIfTI-2";
    case TB_IO_FORMAT_METAIMAGE: return "MetaImage";
    case TB_IO_FORMAT_DICOM: return "DICOM";
    default: return "unknown";
    }
}

static const char *const pixel_names[] = {
  "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64",
};

const char *
tb_io_pixel_type_name (TbIoPixelType type)
{
  return (guint) type < G_N_ELEMENTS (pixel_names) ? pixel_names[type] : "unknown";
}

gboolean
tb_io_pixel_type_from_name (const char *name, TbIoPixelType *type)
{
  g_return_val_if_fail (name != NULL && type != NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (pixel_names); i++)
    if (g_ascii_strcasecmp (name, pixel_names[i]) == 0)
      {
        *type = (TbIoPixelType) i;
        return TRUE;
      }
  if (g_ascii_strcasecmp (name, "float") == 0)
    {
      *type = TB_IO_PIXEL_FLOAT32;
      return TRUE;
    }
  return FALSE;
}

/* ---- shared helpers ----------------------------------------------------------------------- */

TbVolume *
tb_io_volume_alloc (const char *path, gint64 nx, gint64 ny, gint64 nz, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  if (nx < 1 || ny < 1 || nz < 1)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                   "%s: the header gives an image of %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                   " x %" G_GINT64_FORMAT " voxels; every dimension must be at least 1", base, nx, ny, nz);
      return NULL;
    }
  /* Doubles cannot overflow here; anything past G_MAXINT per axis cannot be a TbVolume anyway. */
  double bytes = (double) nx * (double) ny * (double) nz * sizeof (float);
  g_autoptr(GError) mem_error = NULL;
  if (nx > G_MAXINT || ny > G_MAXINT || nz > G_MAXINT || bytes > (double) G_MAXSIZE / 2
      || !tb_memory_check ((guint64) bytes, "this volume", &mem_error))
    {
      g_autofree char *need = g_format_size_full (bytes > 1e19 ? G_MAXUINT64 : (guint64) bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (tb_memory_available (), G_FORMAT_SIZE_IEC_UNITS);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TOO_LARGE,
                   "%s: the header claims %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                   " voxels, which need %s as float32 but only %s of memory is available; "
                   "crop the image with another tool or use a machine with more memory",
                   base, nx, ny, nz, need, have);
      return NULL;
    }
  g_autoptr(GError) vol_error = NULL;
  TbVolume *v = tb_volume_new ((int) nx, (int) ny, (int) nz, NULL, &vol_error);
  if (v == NULL)
    g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TOO_LARGE, "%s: %s", base, vol_error->message);
  return v;
}

void
tb_io_fallback_spacing (const TbIoReadOptions *opts, double spacing[3], TbIoInfo *info)
{
  if (opts != NULL && opts->fallback_spacing[0] > 0 && opts->fallback_spacing[1] > 0
      && opts->fallback_spacing[2] > 0)
    {
      memcpy (spacing, opts->fallback_spacing, 3 * sizeof (double));
      info->spacing_source = "given by the caller";
    }
  else
    {
      spacing[0] = spacing[1] = spacing[2] = 1.0;
      info->spacing_source = "unknown: 1 mm assumed";
    }
}

gboolean
tb_io_step (const TbIoReadOptions *opts, GCancellable *cancellable, double fraction,
            const char *what, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (opts != NULL && opts->progress != NULL)
    opts->progress (fraction, what, opts->progress_data);
  return TRUE;
}

char *
tb_io_temp_create (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  /* Keep the extension last: libraries that look at it (and users) see what the file is. */
  g_autofree char *tmpl_name = g_strdup_printf (".%s.XXXXXX.part", base);
  char *tmp = g_build_filename (dir, tmpl_name, NULL);
  int fd = g_mkstemp_full (tmp, O_RDWR, 0644);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot write in %s: %s; choose a folder you can write to",
                   dir, g_strerror (saved));
      g_free (tmp);
      return NULL;
    }
  close (fd);
  return tmp;
}

gboolean
tb_io_temp_commit (const char *tmp, const char *path, GError **error)
{
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

int
tb_io_natural_compare (const char *a, const char *b)
{
  while (*a != '\0' && *b != '\0')
    {
      if (g_ascii_isdigit (*a) && g_ascii_isdigit (*b))
        {
          while (*a == '0' && g_ascii_isdigit (a[1]))
            a++;
          while (*b == '0' && g_ascii_isdigit (b[1]))
            b++;
          gsize la = 0, lb = 0;
          while (g_ascii_isdigit (a[la]))
            la++;
          while (g_ascii_isdigit (b[lb]))
            lb++;
          if (la != lb)
            return la < lb ? -1 : 1;
          int c = strncmp (a, b, la);
          if (c != 0)
            return c;
          a += la;
          b += lb;
          continue;
        }
      if (*a != *b)
        return (guchar) *a < (guchar) *b ? -1 : 1;
      a++;
      b++;
    }
  return (*a != '\0') - (*b != '\0');
}

/* ---- detection ---------------------------------------------------------------------------- */

static gboolean
is_tiff (const guint8 *h, gsize n)
{
  return n >= 4 && ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0)
                    || (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43)));
}

static gboolean
is_nifti_header (const guint8 *h, gsize n)
{
  if (n < 348)
    return FALSE;
  gint32 s1;
  memcpy (&s1, h, 4);
  if (s1 == 348 || GUINT32_SWAP_LE_BE ((guint32) s1) == 348)
    return memcmp (h + 344, "n+1\0", 4) == 0 || memcmp (h + 344, "ni1\0", 4) == 0;
  if ((s1 == 540 || GUINT32_SWAP_LE_BE ((guint32) s1) == 540) && n >= 8)
    return memcmp (h + 4, "n+2\0", 4) == 0 || memcmp (h + 4, "ni2\0", 4) == 0;
  return FALSE;
}

static gboolean
is_metaimage (const guint8 *h, gsize n)
{
  /* A text header of "Key = Value" lines that names its dimensions (binary data may follow
   * when ElementDataFile = LOCAL, so only the text before the first NUL is looked at). */
  g_autofree char *text = g_strndup ((const char *) h, n);
  if (strlen (text) < 8)
    return FALSE;
  return (strstr (text, "NDims") != NULL || strstr (text, "DimSize") != NULL)
         && strstr (text, "ElementType") != NULL && strchr (text, '=') != NULL;
}

/* The first bytes of a file, uncompressed through zlib when it is gzip (gzread passes plain files through). */
static gssize
read_head (const char *path, guint8 *buf, gsize size, gboolean *gzipped, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  FILE *f = g_fopen (path, "rb");
  if (f == NULL)
    {
      int saved = errno;
      g_set_error (error, TB_IO_ERROR, saved == ENOENT ? TB_IO_ERROR_NOT_FOUND : TB_IO_ERROR_CORRUPT,
                   "Cannot open %s: %s", path, g_strerror (saved));
      return -1;
    }
  guint8 magic[2] = { 0, 0 };
  gsize got = fread (magic, 1, 2, f);
  fclose (f);
  *gzipped = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  gzFile gz = gzopen (path, "rb");
  if (gz == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "Cannot open %s", path);
      return -1;
    }
  int n = gzread (gz, buf, (unsigned) size);
  gzclose (gz);
  if (n < 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                   "%s is a damaged gzip file; download or export it again", base);
      return -1;
    }
  return n;
}

static gboolean
sniff_file (const char *path, TbIoFormat *format, GError **error)
{
  guint8 head[4096];
  gboolean gz = FALSE;
  gssize n = read_head (path, head, sizeof head, &gz, error);
  if (n < 0)
    return FALSE;
  g_autofree char *base = g_path_get_basename (path);
  if (n == 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED, "%s is empty (0 bytes)", base);
      return FALSE;
    }
  /* "DICM" first: a DICOM preamble may itself hold a TIFF header (dual-personality files) */
  if (!gz && n >= 132 && memcmp (head + 128, "DICM", 4) == 0)
    *format = TB_IO_FORMAT_DICOM;
  else if (!gz && is_tiff (head, n))
    *format = TB_IO_FORMAT_TIFF;
  else if (is_nifti_header (head, n))
    {
      gint32 s1;
      memcpy (&s1, head, 4);
      *format = s1 == 540 || GUINT32_SWAP_LE_BE ((guint32) s1) == 540 ? TB_IO_FORMAT_NIFTI2 : TB_IO_FORMAT_NIFTI1;
    }
  else if (!gz && tb_io_dicom_sniff (head, n))
    *format = TB_IO_FORMAT_DICOM;
  else if (!gz && is_metaimage (head, MIN ((gsize) n, 1024)))
    *format = TB_IO_FORMAT_METAIMAGE;
  else
    {
      gint32 s1 = 0;
      if (n >= 4)
        memcpy (&s1, head, 4);
      if (s1 == 348 || s1 == 540 || (n < 348 && (g_str_has_suffix (path, ".nii") || g_str_has_suffix (path, ".nii.gz"))))
        g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                     "%s is too short or damaged to be a NIfTI file (%" G_GSSIZE_FORMAT " bytes of header); "
                     "export it again", base, n);
      else if (n < 8 && (g_str_has_suffix (path, ".tif") || g_str_has_suffix (path, ".tiff")))
        g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED, "%s is too short to be a TIFF file", base);
      else
        g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                     "%s is not an image Trabecula reads: expected TIFF, NIfTI (.nii, .nii.gz), "
                     "MetaImage (.mhd) or DICOM", base);
      return FALSE;
    }
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return tb_io_natural_compare (*(const char *const *) a, *(const char *const *) b);
}

static TbVolume *
read_folder (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
             GCancellable *cancellable, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, error);
  if (dir == NULL)
    {
      if (error != NULL && *error != NULL)
        (*error)->domain = TB_IO_ERROR, (*error)->code = TB_IO_ERROR_NOT_FOUND;
      return NULL;
    }
  g_autoptr(GPtrArray) tiffs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) dicoms = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (name[0] == '.')
        continue;
      g_autofree char *full = g_build_filename (path, name, NULL);
      if (!g_file_test (full, G_FILE_TEST_IS_REGULAR))
        continue;
      guint8 head[256];
      gboolean gz;
      gssize n = read_head (full, head, sizeof head, &gz, NULL);
      if (n <= 0 || gz)
        continue;
      if (n >= 132 && memcmp (head + 128, "DICM", 4) == 0)
        g_ptr_array_add (dicoms, g_strdup (name));
      else if (is_tiff (head, n))
        g_ptr_array_add (tiffs, g_strdup (name));
      else if (tb_io_dicom_sniff (head, n))
        g_ptr_array_add (dicoms, g_strdup (name));
    }
  GPtrArray *files = tiffs->len >= dicoms->len ? tiffs : dicoms;
  if (files->len == 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND,
                   "The folder %s holds no TIFF or DICOM slices; choose the folder of the image slices", path);
      return NULL;
    }
  g_ptr_array_sort (files, compare_names);
  g_ptr_array_add (files, NULL);
  if (files == tiffs)
    return tb_io_tiff_read_files (path, (char **) files->pdata, opts, info, cancellable, error);
  return tb_io_dicom_read_files (path, (char **) files->pdata, opts, info, cancellable, error);
}

TbVolume *
tb_io_read (const char *path, const TbIoReadOptions *opts, TbIoInfo *info_out,
            GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  TbIoInfo info = { 0 };
  info.scl_slope = 1.0;
  info.n_files = 1;
  TbVolume *v = NULL;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    v = read_folder (path, opts, &info, cancellable, error);
  else if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND,
                   "%s does not exist; check the path", path);
      return NULL;
    }
  else
    {
      TbIoFormat format = TB_IO_FORMAT_UNKNOWN;
      if (!sniff_file (path, &format, error))
        return NULL;
      info.format = format;
      switch (format)
        {
        case TB_IO_FORMAT_TIFF:
          v = tb_io_tiff_read (path, opts, &info, cancellable, error);
          break;
        case TB_IO_FORMAT_NIFTI1:
        case TB_IO_FORMAT_NIFTI2:
          v = tb_io_nifti_read (path, opts, &info, cancellable, error);
          break;
        case TB_IO_FORMAT_METAIMAGE:
          v = tb_io_metaimage_read (path, opts, &info, cancellable, error);
          break;
        case TB_IO_FORMAT_DICOM:
          {
            g_autofree char *dir = g_path_get_dirname (path);
            g_autofree char *base = g_path_get_basename (path);
            char *one[2] = { base, NULL };
            v = tb_io_dicom_read_files (dir, one, opts, &info, cancellable, error);
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }
  if (v == NULL)
    return NULL;

  /* a header may give any number: the volume's geometry must stay usable */
  for (int a = 0; a < 3; a++)
    {
      if (!isfinite (v->origin[a]))
        v->origin[a] = 0.0;
      if (!(v->spacing[a] > 0) || !isfinite (v->spacing[a]) || v->spacing[a] > 1e6)
        {
          tb_io_fallback_spacing (opts, v->spacing, &info);
          g_strlcpy (info.note, "the file's voxel size is not a positive finite number: it was ignored",
                     sizeof info.note);
          break;
        }
    }

  TbVolumeStats stats;
  tb_volume_stats (v, &stats);
  info.nx = v->nx;
  info.ny = v->ny;
  info.nz = v->nz;
  memcpy (info.spacing, v->spacing, sizeof info.spacing);
  memcpy (info.origin, v->origin, sizeof info.origin);
  info.min = stats.min;
  info.max = stats.max;
  info.mean = stats.mean;
  if (info_out != NULL)
    *info_out = info;
  return v;
}

TbMask *
tb_io_read_mask (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                 GCancellable *cancellable, GError **error)
{
  g_autoptr(TbVolume) v = tb_io_read (path, opts, info, cancellable, error);
  if (v == NULL)
    return NULL;
  g_autoptr(GError) vol_error = NULL;
  TbMask *m = tb_mask_new (v->nx, v->ny, v->nz, v->spacing, &vol_error);
  if (m == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TOO_LARGE, "%s", vol_error->message);
      return NULL;
    }
  memcpy (m->origin, v->origin, sizeof m->origin);
  gsize n = tb_volume_n_voxels (v);
  const float *src = v->data;
  guint8 *dst = m->data;
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      float x = src[i];
      dst[i] = !(x > 0.5f) ? 0 : x >= 254.5f ? 255 : (guint8) lrintf (x);
    }
  return m;
}

gboolean
tb_io_write (const char *path, const TbVolume *v, TbIoPixelType type, GError **error)
{
  g_return_val_if_fail (path != NULL && v != NULL, FALSE);
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".tif") || g_str_has_suffix (lower, ".tiff"))
    return tb_io_write_tiff (path, v, type, error);
  if (g_str_has_suffix (lower, ".nii") || g_str_has_suffix (lower, ".nii.gz"))
    {
      if (type != TB_IO_PIXEL_FLOAT32)
        {
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                       "NIfTI output is written as float32 only; leave out the %s type or write a .tif",
                       tb_io_pixel_type_name (type));
          return FALSE;
        }
      return tb_io_write_nifti (path, v, error);
    }
  g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
               "Cannot tell the output format of %s: end the name with .tif, .tiff, .nii or .nii.gz", path);
  return FALSE;
}
