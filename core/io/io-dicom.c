/* io-dicom.c — a minimal DICOM slice/series reader: uncompressed CT and MR slices.
 *
 * Why hand-written: Debian's DICOM libraries are C++ and large (DCMTK, GDCM) or Python (pydicom);
 * libtrabecula is C with GLib and needs only the handful of attributes a CT series carries.
 * Read: implicit VR little endian (1.2.840.10008.1.2) and explicit VR little endian
 * (1.2.840.10008.1.2.1), with or without the 128-byte preamble and "DICM" (old scanners write
 * bare datasets); Rows, Columns, BitsAllocated/Stored, PixelRepresentation, PixelSpacing,
 * ImagePositionPatient/OrientationPatient, RescaleSlope/Intercept, InstanceNumber.
 * Slices are sorted by their position along the slice normal (else by InstanceNumber), the
 * slice spacing is the mean step between positions. Refused by name: compressed transfer syntaxes
 * (JPEG, JPEG-LS, JPEG 2000, RLE, deflate), big endian, colour, multi-frame.
 * World frame: patient LPS as stored, axis-aligned (the orientation's rotation is dropped; a note says so). */
#include "io-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *path;
  int rows, cols, bits_alloc, bits_stored, pixel_rep, samples, frames;
  double spacing[2];            /* row spacing (y), column spacing (x) */
  double thickness;
  double position[3];
  double orientation[6];
  gboolean have_position, have_orientation, have_spacing;
  double slope, inter;
  int instance;
  char series[65];
  char syntax[65];
  gsize pixel_offset, pixel_length;
  double sort_key;
} Slice;

static void
slice_clear (Slice *s)
{
  g_free (s->path);
}

typedef struct {
  const guint8 *p;
  gsize n, at;
  gboolean explicit_vr;
} Cursor;

static guint16 rd16 (const guint8 *p) { return (guint16) (p[0] | (p[1] << 8)); }
static guint32 rd32 (const guint8 *p) { return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24); }

static gboolean
is_vr (const guint8 *p)
{
  return g_ascii_isupper (p[0]) && g_ascii_isupper (p[1]);
}

static gboolean
long_vr (const guint8 *p)
{
  static const char *const vrs[] = { "OB", "OW", "OF", "SQ", "UT", "UN", "OD", "OL", "OV", "UC", "UR", "SV", "UV" };
  for (guint i = 0; i < G_N_ELEMENTS (vrs); i++)
    if (p[0] == vrs[i][0] && p[1] == vrs[i][1])
      return TRUE;
  return FALSE;
}

/* One element header: tag, value length (0xFFFFFFFF = undefined) and where its value starts. */
static gboolean
next_element (Cursor *c, guint16 *group, guint16 *elem, guint32 *len, gboolean *is_sq)
{
  if (c->at + 8 > c->n)
    return FALSE;
  const guint8 *p = c->p + c->at;
  *group = rd16 (p);
  *elem = rd16 (p + 2);
  *is_sq = FALSE;
  /* items and delimiters have no VR in any syntax */
  if (*group == 0xFFFE || !c->explicit_vr || !is_vr (p + 4))
    {
      *len = rd32 (p + 4);
      c->at += 8;
      return TRUE;
    }
  if (long_vr (p + 4))
    {
      if (c->at + 12 > c->n)
        return FALSE;
      *is_sq = p[4] == 'S' && p[5] == 'Q';
      *len = rd32 (p + 8);
      c->at += 12;
    }
  else
    {
      *len = rd16 (p + 6);
      c->at += 8;
    }
  return TRUE;
}

/* Skips a value of undefined length (a sequence or an item) up to its delimiter. */
static gboolean
skip_undefined (Cursor *c, int depth)
{
  if (depth > 16)
    return FALSE;
  guint16 g, e;
  guint32 len;
  gboolean sq;
  while (next_element (c, &g, &e, &len, &sq))
    {
      if (g == 0xFFFE && (e == 0xE0DD || e == 0xE00D))
        return TRUE;  /* sequence or item delimiter */
      if (len == 0xFFFFFFFF)
        {
          if (!skip_undefined (c, depth + 1))
            return FALSE;
        }
      else if (g == 0xFFFE && e == 0xE000)
        {
          /* an item of defined length: its elements are skipped as a block */
          if (len > c->n - c->at)
            return FALSE;
          c->at += len;
        }
      else
        {
          if (len > c->n - c->at)
            return FALSE;
          c->at += len;
        }
    }
  return FALSE;
}

static void
parse_ds (const guint8 *v, guint32 len, double *out, int n, int *got)
{
  g_autofree char *s = g_strndup ((const char *) v, len);
  g_auto(GStrv) parts = g_strsplit (s, "\\", -1);
  int k = 0;
  for (; k < n && parts[k] != NULL; k++)
    out[k] = g_ascii_strtod (g_strstrip (parts[k]), NULL);
  if (got != NULL)
    *got = k;
}

static void
copy_ui (char *dst, const guint8 *v, guint32 len)
{
  gsize n = MIN ((gsize) len, 64);
  memcpy (dst, v, n);
  dst[n] = '\0';
  g_strstrip (dst);
  for (gsize i = 0; dst[i]; i++)
    if (dst[i] == '\0' || !g_ascii_isprint (dst[i]))
      dst[i] = '\0';
}

gboolean
tb_io_dicom_sniff (const guint8 *h, gsize n)
{
  if (n >= 132 && memcmp (h + 128, "DICM", 4) == 0)
    return TRUE;
  /* a bare dataset: group 0008 (or 0002) first, with an explicit VR or a small implicit length */
  if (n >= 12 && (rd16 (h) == 0x0008 || rd16 (h) == 0x0002) && rd16 (h + 2) < 0x0100)
    return is_vr (h + 4) ? TRUE : rd32 (h + 4) < 256;
  return FALSE;
}

static const char *
syntax_name (const char *uid)
{
  static const struct { const char *uid, *name; } names[] = {
    { "1.2.840.10008.1.2.4.90", "JPEG 2000 lossless" }, { "1.2.840.10008.1.2.4.91", "JPEG 2000" },
    { "1.2.840.10008.1.2.4.50", "JPEG baseline" }, { "1.2.840.10008.1.2.4.51", "JPEG extended" },
    { "1.2.840.10008.1.2.4.57", "JPEG lossless" }, { "1.2.840.10008.1.2.4.70", "JPEG lossless SV1" },
    { "1.2.840.10008.1.2.4.80", "JPEG-LS lossless" }, { "1.2.840.10008.1.2.4.81", "JPEG-LS" },
    { "1.2.840.10008.1.2.5", "RLE lossless" }, { "1.2.840.10008.1.2.1.99", "deflated explicit VR" },
    { "1.2.840.10008.1.2.2", "explicit VR big endian" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (uid, names[i].uid) == 0)
      return names[i].name;
  return g_str_has_prefix (uid, "1.2.840.10008.1.2.4.") ? "a JPEG-family compression" : "an unknown transfer syntax";
}

/* The attributes of one file, up to the start of its pixel data. */
static gboolean
parse_slice (const char *path, const guint8 *data, gsize n, Slice *s, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  Cursor c = { data, n, 0, TRUE };
  s->samples = 1;
  s->frames = 1;
  s->slope = 1.0;
  s->pixel_rep = 0;
  s->instance = G_MININT;
  if (n >= 132 && memcmp (data + 128, "DICM", 4) == 0)
    c.at = 132;
  /* the file meta group (0002) is always explicit VR little endian */
  c.explicit_vr = c.at + 6 <= n && is_vr (data + c.at + 4);
  gboolean meta = TRUE;
  guint16 g, e;
  guint32 len;
  gboolean sq;
  gsize start;
  while (start = c.at, next_element (&c, &g, &e, &len, &sq))
    {
      if (meta && g != 0x0002)
        {
          meta = FALSE;
          /* the dataset's own syntax: from the meta's TransferSyntaxUID, else sniffed from this element */
          gboolean ex = start + 6 <= n && is_vr (data + start + 4);
          if (s->syntax[0] != '\0')
            {
              if (strcmp (s->syntax, "1.2.840.10008.1.2") != 0 && strcmp (s->syntax, "1.2.840.10008.1.2.1") != 0)
                {
                  g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                               "%s uses %s (transfer syntax %s), which Trabecula does not decode; convert the "
                               "series to uncompressed DICOM (gdcmconv --raw) or to NIfTI (dcm2niix)",
                               base, syntax_name (s->syntax), s->syntax);
                  return FALSE;
                }
              ex = strcmp (s->syntax, "1.2.840.10008.1.2.1") == 0;
            }
          if (ex != c.explicit_vr)
            {
              /* re-read this element header in the dataset's syntax */
              c.at = start;
              c.explicit_vr = ex;
              if (!next_element (&c, &g, &e, &len, &sq))
                break;
            }
        }
      if (len == 0xFFFFFFFF)
        {
          if (g == 0x7FE0 && e == 0x0010)
            {
              g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                           "%s holds compressed (encapsulated) pixel data, which Trabecula does not decode; "
                           "convert the series to uncompressed DICOM (gdcmconv --raw) or NIfTI (dcm2niix)", base);
              return FALSE;
            }
          if (!skip_undefined (&c, 0))
            break;
          continue;
        }
      if (len > n - c.at)
        {
          if (g == 0x7FE0 && e == 0x0010)
            {
              g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                           "%s is truncated: its pixel data need %u bytes, %" G_GSIZE_FORMAT " are left", base,
                           len, n - c.at);
              return FALSE;
            }
          break;
        }
      const guint8 *v = data + c.at;
      guint32 tag = ((guint32) g << 16) | e;
      switch (tag)
        {
        case 0x00020010: copy_ui (s->syntax, v, len); break;
        case 0x0020000E: copy_ui (s->series, v, len); break;
        case 0x00280002: if (len >= 2) s->samples = rd16 (v); break;
        case 0x00280008: { double f = 1; parse_ds (v, len, &f, 1, NULL); s->frames = isfinite (f) ? (int) CLAMP (f, -1e6, 1e6) : 1; } break;
        case 0x00280010: if (len >= 2) s->rows = rd16 (v); break;
        case 0x00280011: if (len >= 2) s->cols = rd16 (v); break;
        case 0x00280100: if (len >= 2) s->bits_alloc = rd16 (v); break;
        case 0x00280101: if (len >= 2) s->bits_stored = rd16 (v); break;
        case 0x00280103: if (len >= 2) s->pixel_rep = rd16 (v); break;
        case 0x00280030: { int k = 0; parse_ds (v, len, s->spacing, 2, &k); s->have_spacing = k == 2; } break;
        case 0x00180050: parse_ds (v, len, &s->thickness, 1, NULL); break;
        case 0x00200032: { int k = 0; parse_ds (v, len, s->position, 3, &k); s->have_position = k == 3; } break;
        case 0x00200037: { int k = 0; parse_ds (v, len, s->orientation, 6, &k); s->have_orientation = k == 6; } break;
        case 0x00281052: parse_ds (v, len, &s->inter, 1, NULL); break;
        case 0x00281053: parse_ds (v, len, &s->slope, 1, NULL); break;
        case 0x00200013: { double k = 0; parse_ds (v, len, &k, 1, NULL); s->instance = isfinite (k) ? (int) CLAMP (k, -1e9, 1e9) : 0; } break;
        case 0x7FE00010:
          s->pixel_offset = c.at;
          s->pixel_length = len;
          return TRUE;
        default: break;
        }
      c.at += len;
    }
  g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
               "%s has no readable pixel data (not an image slice, or a damaged file)", base);
  return FALSE;
}

static gboolean
check_slice (const Slice *s, const char *base, GError **error)
{
  if (s->samples != 1)
    g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                 "%s is a colour image (%d samples per pixel); Trabecula reads grayscale CT/MR", base, s->samples);
  else if (s->frames > 1)
    g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                 "%s is a multi-frame image (%d frames), which Trabecula does not read; convert it to NIfTI (dcm2niix)",
                 base, s->frames);
  else if (s->rows < 1 || s->cols < 1 || !(s->bits_alloc == 8 || s->bits_alloc == 16 || s->bits_alloc == 32)
           || s->bits_stored > s->bits_alloc)
    g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                 "%s has %d x %d pixels of %d bits (%d stored), which Trabecula does not read", base,
                 s->cols, s->rows, s->bits_alloc, s->bits_stored);
  else if (s->pixel_length < (gsize) s->rows * s->cols * (s->bits_alloc / 8))
    g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                 "%s has %" G_GSIZE_FORMAT " bytes of pixel data for %d x %d pixels of %d bits", base,
                 s->pixel_length, s->cols, s->rows, s->bits_alloc);
  else
    return TRUE;
  return FALSE;
}

static int
compare_slices (gconstpointer a, gconstpointer b)
{
  const Slice *x = a, *y = b;
  if (x->sort_key != y->sort_key)
    return x->sort_key < y->sort_key ? -1 : 1;
  return tb_io_natural_compare (x->path, y->path);
}

/* Pixels of one slice to floats: stored values sign-extended from BitsStored, then rescaled. */
static void
convert_slice (const Slice *s, const guint8 *src, float *dst)
{
  const gsize n = (gsize) s->rows * s->cols;
  const int bits = s->bits_stored > 0 ? s->bits_stored : s->bits_alloc;
  TbIoPixelType type = s->bits_alloc == 8 ? (s->pixel_rep ? TB_IO_PIXEL_INT8 : TB_IO_PIXEL_UINT8)
                     : s->bits_alloc == 16 ? (s->pixel_rep ? TB_IO_PIXEL_INT16 : TB_IO_PIXEL_UINT16)
                     : (s->pixel_rep ? TB_IO_PIXEL_INT32 : TB_IO_PIXEL_UINT32);
  if (bits == s->bits_alloc || s->bits_alloc != 16)
    {
      tb_io_pixels_to_float (src, type, n, G_BYTE_ORDER == G_BIG_ENDIAN, s->slope, s->inter, dst);
      return;
    }
  /* 16 bits allocated, fewer stored (e.g. 12): mask, and sign-extend when signed */
  const guint16 mask = (guint16) ((1u << bits) - 1);
  const int shift = 16 - bits;
  for (gsize i = 0; i < n; i++)
    {
      guint16 u = (guint16) ((rd16 (src + 2 * i)) & mask);
      double v = s->pixel_rep ? (double) (gint16) (guint16) (u << shift) / (1 << shift) : (double) u;
      dst[i] = (float) (s->slope * v + s->inter);
    }
}

TbVolume *
tb_io_dicom_read_files (const char *folder, char **files, const TbIoReadOptions *opts,
                        TbIoInfo *info, GCancellable *cancellable, GError **error)
{
  guint n_files = g_strv_length (files);
  g_autoptr(GArray) slices = g_array_new (FALSE, TRUE, sizeof (Slice));
  g_array_set_clear_func (slices, (GDestroyNotify) slice_clear);
  for (guint i = 0; i < n_files; i++)
    {
      Slice s = { 0 };
      s.path = g_build_filename (folder, files[i], NULL);
      g_autoptr(GMappedFile) map = g_mapped_file_new (s.path, FALSE, NULL);
      g_autofree char *base = g_path_get_basename (s.path);
      if (map == NULL || !parse_slice (s.path, (const guint8 *) g_mapped_file_get_contents (map),
                                       g_mapped_file_get_length (map), &s, error)
          || !check_slice (&s, base, error))
        {
          if (map == NULL)
            g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND, "Cannot read %s", s.path);
          slice_clear (&s);
          return NULL;
        }
      g_array_append_val (slices, s);
    }
  Slice *first = &g_array_index (slices, Slice, 0);
  for (guint i = 1; i < slices->len; i++)
    {
      Slice *s = &g_array_index (slices, Slice, i);
      if (s->rows != first->rows || s->cols != first->cols || s->bits_alloc != first->bits_alloc
          || strcmp (s->series, first->series) != 0)
        {
          g_autofree char *a = g_path_get_basename (first->path), *b = g_path_get_basename (s->path);
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                       "%s and %s belong to different series (or differ in size); put one series per folder", a, b);
          return NULL;
        }
    }

  /* order along the slice normal n = row x column direction (DICOM PS3.3 C.7.6.2.1.1) */
  double normal[3] = { 0, 0, 1 };
  if (first->have_orientation)
    {
      const double *r = first->orientation, *c = first->orientation + 3;
      normal[0] = r[1] * c[2] - r[2] * c[1];
      normal[1] = r[2] * c[0] - r[0] * c[2];
      normal[2] = r[0] * c[1] - r[1] * c[0];
    }
  gboolean by_position = TRUE;
  for (guint i = 0; i < slices->len; i++)
    by_position = by_position && g_array_index (slices, Slice, i).have_position;
  for (guint i = 0; i < slices->len; i++)
    {
      Slice *s = &g_array_index (slices, Slice, i);
      s->sort_key = by_position ? s->position[0] * normal[0] + s->position[1] * normal[1] + s->position[2] * normal[2]
                                : (double) s->instance;
    }
  g_array_sort (slices, compare_slices);
  first = &g_array_index (slices, Slice, 0);
  const Slice *last = &g_array_index (slices, Slice, slices->len - 1);

  g_autoptr(TbVolume) v = tb_io_volume_alloc (first->path, first->cols, first->rows, slices->len, error);
  if (v == NULL)
    return NULL;
  info->format = TB_IO_FORMAT_DICOM;
  info->n_files = slices->len;
  info->pixel_type = first->bits_alloc == 8 ? (first->pixel_rep ? TB_IO_PIXEL_INT8 : TB_IO_PIXEL_UINT8)
                   : first->bits_alloc == 16 ? (first->pixel_rep ? TB_IO_PIXEL_INT16 : TB_IO_PIXEL_UINT16)
                   : (first->pixel_rep ? TB_IO_PIXEL_INT32 : TB_IO_PIXEL_UINT32);
  info->scl_slope = first->slope;
  info->scl_inter = first->inter;
  double dz = 0;
  if (by_position && slices->len > 1)
    dz = (last->sort_key - first->sort_key) / (slices->len - 1);
  else if (first->thickness > 0)
    dz = first->thickness;
  if (first->have_spacing && first->spacing[0] > 0 && first->spacing[1] > 0 && isfinite (first->spacing[0])
      && isfinite (first->spacing[1]))
    {
      v->spacing[0] = first->spacing[1];  /* column spacing: between columns, along x */
      v->spacing[1] = first->spacing[0];  /* row spacing: along y */
      v->spacing[2] = dz > 0 && isfinite (dz) ? dz : v->spacing[0];
      info->spacing_source = "DICOM PixelSpacing and slice positions";
    }
  else
    tb_io_fallback_spacing (opts, v->spacing, info);
  if (first->have_position)
    memcpy (v->origin, first->position, sizeof v->origin);
  if (first->have_orientation && (fabs (first->orientation[0] - 1) > 1e-3 || fabs (first->orientation[4] - 1) > 1e-3))
    g_strlcpy (info->note, "DICOM orientation is not axial identity: rotation dropped, voxels kept in file order",
               sizeof info->note);
  for (guint i = 2; i < slices->len && dz > 0; i++)
    {
      double step = g_array_index (slices, Slice, i).sort_key - g_array_index (slices, Slice, i - 1).sort_key;
      if (fabs (step - dz) > 0.01 * dz)
        g_strlcpy (info->note, "DICOM slices are unevenly spaced: their mean spacing was used", sizeof info->note);
    }

  const gsize slice = (gsize) first->rows * first->cols;
  for (guint i = 0; i < slices->len; i++)
    {
      const Slice *s = &g_array_index (slices, Slice, i);
      g_autoptr(GMappedFile) map = g_mapped_file_new (s->path, FALSE, NULL);
      if (map == NULL || g_mapped_file_get_length (map) < s->pixel_offset + slice * (s->bits_alloc / 8))
        {
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED, "%s changed while it was read", s->path);
          return NULL;
        }
      convert_slice (s, (const guint8 *) g_mapped_file_get_contents (map) + s->pixel_offset, v->data + i * slice);
      if (!tb_io_step (opts, cancellable, (i + 1.0) / slices->len, "Reading DICOM slices", error))
        return NULL;
    }
  return g_steal_pointer (&v);
}
