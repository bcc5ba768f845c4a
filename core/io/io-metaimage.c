/* io-metaimage.c — MetaImage (ITK's .mhd text header + raw data, or .mha with the data LOCAL).
 *
 * No Debian C library reads MetaImage without pulling in ITK (C++), and the format is a dozen
 * "Key = Value" lines, so it is parsed here. Read: NDims 1-3, DimSize, ElementSpacing (or
 * ElementSize), Offset/Origin/Position, ElementType MET_(U)CHAR/(U)SHORT/(U)INT/FLOAT/DOUBLE,
 * ElementByteOrderMSB, HeaderSize, ElementDataFile = LOCAL or one file. Refused by name:
 * CompressedData = True, other ElementTypes, several channels, LIST / pattern data files. */
#include "io-private.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

static const struct { const char *name; TbIoPixelType type; } element_types[] = {
  { "MET_UCHAR", TB_IO_PIXEL_UINT8 }, { "MET_CHAR", TB_IO_PIXEL_INT8 },
  { "MET_USHORT", TB_IO_PIXEL_UINT16 }, { "MET_SHORT", TB_IO_PIXEL_INT16 },
  { "MET_UINT", TB_IO_PIXEL_UINT32 }, { "MET_INT", TB_IO_PIXEL_INT32 },
  { "MET_FLOAT", TB_IO_PIXEL_FLOAT32 }, { "MET_DOUBLE", TB_IO_PIXEL_FLOAT64 },
};

static gboolean
is_true (const char *value)
{
  return g_ascii_strcasecmp (value, "True") == 0 || strcmp (value, "1") == 0;
}

/* Up to n numbers from a value; returns how many were read. */
static int
parse_numbers (const char *value, double *out, int n)
{
  int got = 0;
  const char *p = value;
  while (got < n)
    {
      char *end = NULL;
      double x = g_ascii_strtod (p, &end);
      if (end == p)
        break;
      out[got++] = x;
      p = end;
    }
  return got;
}

TbVolume *
tb_io_metaimage_read (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                      GCancellable *cancellable, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  FILE *f = g_fopen (path, "rb");
  if (f == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND, "Cannot open %s: %s", path, g_strerror (errno));
      return NULL;
    }

  int ndims = 0;
  double dims[3] = { 1, 1, 1 }, spacing[3] = { 0, 0, 0 }, origin[3] = { 0, 0, 0 };
  gboolean have_dims = FALSE, have_spacing = FALSE, msb = FALSE, have_type = FALSE, rotated = FALSE;
  TbIoPixelType type = TB_IO_PIXEL_UINT8;
  double header_size = 0;
  g_autofree char *data_file = NULL;
  char line[4096];
  while (data_file == NULL && fgets (line, sizeof line, f) != NULL)
    {
      char *eq = strchr (line, '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      char *key = g_strstrip (line), *value = g_strstrip (eq + 1);
      if (g_ascii_strcasecmp (key, "NDims") == 0)
        ndims = atoi (value);
      else if (g_ascii_strcasecmp (key, "DimSize") == 0)
        have_dims = parse_numbers (value, dims, 3) >= 1;
      else if (g_ascii_strcasecmp (key, "ElementSpacing") == 0
               || (!have_spacing && g_ascii_strcasecmp (key, "ElementSize") == 0))
        have_spacing = parse_numbers (value, spacing, 3) >= 1;
      else if (g_ascii_strcasecmp (key, "Offset") == 0 || g_ascii_strcasecmp (key, "Origin") == 0
               || g_ascii_strcasecmp (key, "Position") == 0)
        parse_numbers (value, origin, 3);
      else if (g_ascii_strcasecmp (key, "ElementByteOrderMSB") == 0
               || g_ascii_strcasecmp (key, "BinaryDataByteOrderMSB") == 0)
        msb = is_true (value);
      else if (g_ascii_strcasecmp (key, "HeaderSize") == 0)
        header_size = g_ascii_strtod (value, NULL);
      else if (g_ascii_strcasecmp (key, "TransformMatrix") == 0 || g_ascii_strcasecmp (key, "Rotation") == 0
               || g_ascii_strcasecmp (key, "Orientation") == 0)
        {
          double r[9];
          static const double identity[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
          int n = parse_numbers (value, r, 9);
          for (int i = 0; i < n; i++)
            if (fabs (r[i] - identity[i]) > 1e-6)
              rotated = TRUE;
        }
      else if (g_ascii_strcasecmp (key, "CompressedData") == 0 && is_true (value))
        {
          fclose (f);
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                       "%s is a compressed MetaImage (CompressedData = True), which Trabecula does not read; "
                       "save it uncompressed (ITK/3D Slicer: no compression) or as NIfTI", base);
          return NULL;
        }
      else if (g_ascii_strcasecmp (key, "ElementNumberOfChannels") == 0 && atoi (value) > 1)
        {
          fclose (f);
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                       "%s has %s channels per voxel; Trabecula reads single-channel images only", base, value);
          return NULL;
        }
      else if (g_ascii_strcasecmp (key, "ElementType") == 0)
        {
          for (guint i = 0; i < G_N_ELEMENTS (element_types); i++)
            if (strcmp (value, element_types[i].name) == 0)
              {
                type = element_types[i].type;
                have_type = TRUE;
              }
          if (!have_type)
            {
              fclose (f);
              g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                           "%s has ElementType %s, which Trabecula does not read; supported: MET_UCHAR, "
                           "MET_CHAR, MET_USHORT, MET_SHORT, MET_UINT, MET_INT, MET_FLOAT, MET_DOUBLE", base, value);
              return NULL;
            }
        }
      else if (g_ascii_strcasecmp (key, "ElementDataFile") == 0)
        data_file = g_strdup (value);
    }
  glong data_start = ftell (f);
  fclose (f);

  if (ndims < 1 || ndims > 3 || !have_dims || !have_type || data_file == NULL)
    {
      g_set_error (error, TB_IO_ERROR, ndims > 3 ? TB_IO_ERROR_UNSUPPORTED : TB_IO_ERROR_CORRUPT,
                   ndims > 3 ? "%s is a %dD MetaImage; Trabecula reads 1 to 3 dimensions"
                             : "%s is an incomplete MetaImage header (NDims = %d; it needs NDims, DimSize, "
                               "ElementType and ElementDataFile last)", base, ndims);
      return NULL;
    }
  for (int a = ndims; a < 3; a++)
    dims[a] = 1, spacing[a] = spacing[0];
  for (int a = 0; a < 3; a++)
    if (dims[a] != floor (dims[a]) || !(dims[a] >= 1) || dims[a] > (double) G_MAXINT64)
      {
        g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s has an invalid DimSize; the header is damaged", base);
        return NULL;
      }
  if (g_ascii_strcasecmp (data_file, "LIST") == 0 || strchr (data_file, '%') != NULL || strchr (data_file, ' ') != NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "%s stores its slices in several files (ElementDataFile = %s), which Trabecula does not read; "
                   "save it as one .raw file or as NIfTI", base, data_file);
      return NULL;
    }

  g_autofree char *raw = NULL;
  if (g_ascii_strcasecmp (data_file, "LOCAL") == 0)
    raw = g_strdup (path);
  else
    {
      g_autofree char *dir = g_path_get_dirname (path);
      raw = g_path_is_absolute (data_file) ? g_strdup (data_file) : g_build_filename (dir, data_file, NULL);
    }
  g_autofree char *raw_base = g_path_get_basename (raw);
  GStatBuf st;
  if (g_stat (raw, &st) != 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND,
                   "%s names its data file %s, which does not exist; keep the .raw next to the .mhd", base, data_file);
      return NULL;
    }
  const gsize bpv = tb_io_pixel_size (type);
  double bytes = dims[0] * dims[1] * dims[2] * bpv;
  double offset = raw == path || g_ascii_strcasecmp (data_file, "LOCAL") == 0 ? (double) data_start : 0;
  if (header_size > 0)
    offset += header_size;
  else if (header_size < 0)  /* -1: the data are the last bytes of the file */
    offset = (double) st.st_size - bytes;
  if (offset < 0 || (double) st.st_size < offset + bytes)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                   "%s is truncated: the header asks for %.0f x %.0f x %.0f %s voxels (%.0f bytes) but %s has %"
                   G_GINT64_FORMAT " bytes", base, dims[0], dims[1], dims[2], tb_io_pixel_type_name (type), bytes,
                   raw_base, (gint64) st.st_size);
      return NULL;
    }
  g_autoptr(TbVolume) v = tb_io_volume_alloc (path, (gint64) dims[0], (gint64) dims[1], (gint64) dims[2], error);
  if (v == NULL)
    return NULL;
  info->format = TB_IO_FORMAT_METAIMAGE;
  info->pixel_type = type;
  if (have_spacing && spacing[0] > 0 && spacing[1] > 0 && spacing[2] > 0
      && isfinite (spacing[0]) && isfinite (spacing[1]) && isfinite (spacing[2]))
    {
      memcpy (v->spacing, spacing, sizeof v->spacing);
      info->spacing_source = "MetaImage ElementSpacing";
    }
  else
    tb_io_fallback_spacing (opts, v->spacing, info);
  for (int a = 0; a < 3; a++)
    v->origin[a] = isfinite (origin[a]) ? origin[a] : 0;
  if (rotated)
    g_strlcpy (info->note, "MetaImage TransformMatrix is not the identity: rotation dropped, voxels kept in file order",
               sizeof info->note);

  f = g_fopen (raw, "rb");
  if (f == NULL || fseeko (f, (off_t) offset, SEEK_SET) != 0)
    {
      if (f != NULL)
        fclose (f);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND, "Cannot read %s", raw);
      return NULL;
    }
  const gboolean swap = msb != (G_BYTE_ORDER == G_BIG_ENDIAN);
  const gsize chunk = 8u << 20;
  g_autofree guint8 *buf = g_malloc (chunk);
  const gsize total = tb_volume_n_voxels (v);
  for (gsize done = 0; done < total;)
    {
      gsize n = MIN (total - done, chunk / bpv);
      if (fread (buf, bpv, n, f) != n)
        {
          fclose (f);
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED, "%s ended while it was read", raw_base);
          return NULL;
        }
      tb_io_pixels_to_float (buf, type, n, swap, 1.0, 0.0, v->data + done);
      done += n;
      if (!tb_io_step (opts, cancellable, (double) done / total, "Reading MetaImage", error))
        {
          fclose (f);
          return NULL;
        }
    }
  fclose (f);
  return g_steal_pointer (&v);
}
