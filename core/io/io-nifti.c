/* io-nifti.c — NIfTI-1 and NIfTI-2 (.nii, .nii.gz) through libnifti2.
 *
 * libnifti2 parses the header and builds the qform/sform matrices (nifti_convert_n?hdr2nim,
 * which also byte-swaps). The voxel data are read here through zlib's gzread, which reads plain
 * and gzip files alike, so that a short or damaged file becomes a GError naming the problem
 * (nifti_image_load only prints to stderr), the size is checked before allocating, and the file
 * name need not end in .nii. Writing builds the header with libnifti2 (nifti_convert_nim2n?hdr)
 * and writes header + data to a temporary file, gzip level 1 for .gz (speed over size). */
#include "io-private.h"

#include <math.h>
#include <string.h>
#include <zlib.h>
#include <glib/gstdio.h>
#include <nifti2_io.h>

static void
quiet_libnifti (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      nifti_set_debug_level (0);
      g_once_init_leave (&once, 1);
    }
}

static gboolean
pixel_type_of (int datatype, TbIoPixelType *type)
{
  switch (datatype)
    {
    case NIFTI_TYPE_UINT8: *type = TB_IO_PIXEL_UINT8; return TRUE;
    case NIFTI_TYPE_INT8: *type = TB_IO_PIXEL_INT8; return TRUE;
    case NIFTI_TYPE_UINT16: *type = TB_IO_PIXEL_UINT16; return TRUE;
    case NIFTI_TYPE_INT16: *type = TB_IO_PIXEL_INT16; return TRUE;
    case NIFTI_TYPE_UINT32: *type = TB_IO_PIXEL_UINT32; return TRUE;
    case NIFTI_TYPE_INT32: *type = TB_IO_PIXEL_INT32; return TRUE;
    case NIFTI_TYPE_FLOAT32: *type = TB_IO_PIXEL_FLOAT32; return TRUE;
    case NIFTI_TYPE_FLOAT64: *type = TB_IO_PIXEL_FLOAT64; return TRUE;
    default: return FALSE;
    }
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (nifti_image, nifti_image_free)

/* The header as libnifti2 sees it, after our own checks of what libnifti would only print. */
static nifti_image *
read_header (const char *path, const char *base, gzFile gz, int *version, GError **error)
{
  union {
    nifti_1_header h1;
    nifti_2_header h2;
    guint8 bytes[sizeof (nifti_2_header)];
  } hdr;
  memset (&hdr, 0, sizeof hdr);
  int n = gzread (gz, hdr.bytes, sizeof (nifti_1_header));
  if (n < (int) sizeof (nifti_1_header))
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                   "%s ends inside its NIfTI header (%d of 348 bytes); export it again", base, MAX (n, 0));
      return NULL;
    }
  gint32 size = hdr.h1.sizeof_hdr;
  if (size != 348 && size != 540)
    size = (gint32) GUINT32_SWAP_LE_BE ((guint32) size);
  nifti_image *nim = NULL;
  *version = size == 540 ? 2 : 1;
  const gboolean swapped = hdr.h1.sizeof_hdr != size;
  if (size == 540)
    {
      int more = gzread (gz, hdr.bytes + sizeof (nifti_1_header), sizeof (nifti_2_header) - sizeof (nifti_1_header));
      if (more < (int) (sizeof (nifti_2_header) - sizeof (nifti_1_header)))
        {
          g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                       "%s ends inside its NIfTI-2 header; export it again", base);
          return NULL;
        }
    }
  /* libnifti2 prints to stderr whatever it dislikes here, so check dims and type first. */
  gint64 dim[8];
  gint16 datatype = size == 540 ? hdr.h2.datatype : hdr.h1.datatype;
  if (swapped)
    datatype = (gint16) GUINT16_SWAP_LE_BE ((guint16) datatype);
  for (int i = 0; i < 8; i++)
    {
      if (size == 540)
        dim[i] = swapped ? (gint64) GUINT64_SWAP_LE_BE ((guint64) hdr.h2.dim[i]) : hdr.h2.dim[i];
      else
        dim[i] = swapped ? (gint16) GUINT16_SWAP_LE_BE ((guint16) hdr.h1.dim[i]) : hdr.h1.dim[i];
    }
  if (dim[0] < 1 || dim[0] > 7)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                   "%s has an invalid NIfTI header (%" G_GINT64_FORMAT " dimensions); export it again", base, dim[0]);
      return NULL;
    }
  for (int i = 1; i <= dim[0]; i++)
    if (dim[i] < 1 && !(i > 1 && dim[i] == 0))
      {
        g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                     "%s has an invalid NIfTI header (dimension %d is %" G_GINT64_FORMAT "); export it again",
                     base, i, dim[i]);
        return NULL;
      }
  TbIoPixelType type;
  if (!pixel_type_of (datatype, &type))
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "%s holds %s voxels (NIfTI datatype %d); Trabecula reads 8/16/32-bit integer and 32/64-bit "
                   "float NIfTI (convert it, e.g. with nibabel or fslmaths -odt float)", base,
                   nifti_datatype_to_string (datatype), datatype);
      return NULL;
    }
  if (size == 540)
    nim = nifti_convert_n2hdr2nim (hdr.h2, path);
  else
    nim = nifti_convert_n1hdr2nim (hdr.h1, path);
  if (nim == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                   "%s has an invalid NIfTI header (bad dimensions or data type); export it again", base);
      return NULL;
    }
  return nim;
}

/* Spacing and origin from the affine's diagonal; see tb-io.h for what is dropped. */
static void
geometry (const nifti_image *nim, const TbIoReadOptions *opts, TbIoInfo *info, double spacing[3], double origin[3])
{
  const nifti_dmat44 *m = NULL;
  if (nim->sform_code > 0)
    m = &nim->sto_xyz, info->spacing_source = "NIfTI sform";
  else if (nim->qform_code > 0)
    m = &nim->qto_xyz, info->spacing_source = "NIfTI qform";

  double unit = 1.0;  /* NIFTI_UNITS_UNKNOWN: millimetres, as almost every writer means */
  if (nim->xyz_units == NIFTI_UNITS_METER)
    unit = 1000.0;
  else if (nim->xyz_units == NIFTI_UNITS_MICRON)
    unit = 1e-3;

  gboolean oblique = FALSE;
  if (m != NULL)
    for (int a = 0; a < 3; a++)
      {
        double col = 0, off = 0;
        for (int r = 0; r < 3; r++)
          {
            col += m->m[r][a] * m->m[r][a];
            if (r != a)
              off = MAX (off, fabs (m->m[r][a]));
          }
        col = sqrt (col);
        spacing[a] = col * unit;
        origin[a] = m->m[a][3] * unit;
        if (off > 1e-3 * col)
          oblique = TRUE;
      }
  double pix[3] = { nim->dx, nim->dy, nim->dz };
  for (int a = 0; a < 3; a++)
    if (m == NULL || !(spacing[a] > 0) || !isfinite (spacing[a]))
      {
        if (pix[a] > 0 && isfinite (pix[a]))
          {
            spacing[a] = pix[a] * unit;
            if (m == NULL)
              info->spacing_source = "NIfTI pixdim (no sform or qform)";
          }
        else
          {
            double fb[3];
            tb_io_fallback_spacing (opts, fb, info);
            spacing[a] = fb[a];
          }
        if (m == NULL || !isfinite (origin[a]))
          origin[a] = 0;
      }
  if (oblique)
    g_strlcpy (info->note, "oblique or permuted NIfTI affine: only its diagonal was used (rotation dropped, "
               "voxels kept in file order)", sizeof info->note);
}

TbVolume *
tb_io_nifti_read (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                  GCancellable *cancellable, GError **error)
{
  quiet_libnifti ();
  g_autofree char *base = g_path_get_basename (path);
  gzFile gz = gzopen (path, "rb");
  if (gz == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_NOT_FOUND, "Cannot open %s", path);
      return NULL;
    }
  gzbuffer (gz, 1 << 20);
  int version = 1;
  g_autoptr(nifti_image) nim = read_header (path, base, gz, &version, error);
  if (nim == NULL)
    {
      gzclose (gz);
      return NULL;
    }

  TbIoPixelType type;
  if (!pixel_type_of (nim->datatype, &type))
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
                   "%s holds %s voxels; Trabecula reads 8/16/32-bit integer and 32/64-bit float NIfTI "
                   "(convert it, e.g. with nibabel or fslmaths -odt float)", base, nifti_datatype_to_string (nim->datatype));
      gzclose (gz);
      return NULL;
    }
  gint64 nx = MAX (nim->nx, 1), ny = nim->ndim >= 2 ? MAX (nim->ny, 1) : 1, nz = nim->ndim >= 3 ? MAX (nim->nz, 1) : 1;
  gint64 vox_offset = nim->iname_offset;
  gint64 min_offset = version == 2 ? 540 : 348;
  if (vox_offset < min_offset)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT,
                   "%s: voxel data offset %" G_GINT64_FORMAT " lies inside the header; the file is damaged",
                   base, vox_offset);
      gzclose (gz);
      return NULL;
    }
  info->format = version == 2 ? TB_IO_FORMAT_NIFTI2 : TB_IO_FORMAT_NIFTI1;
  info->pixel_type = type;

  /* A plain file must hold all its voxels: say so before allocating. */
  const gsize bpv = tb_io_pixel_size (type);
  double want = (double) nx * ny * nz * bpv;
  GStatBuf st;
  if (!gzdirect (gz) ? FALSE : g_stat (path, &st) == 0 && (double) st.st_size < (double) vox_offset + want)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                   "%s is truncated: the header asks for %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " x %"
                   G_GINT64_FORMAT " %s voxels (%.0f bytes after offset %" G_GINT64_FORMAT ") but the file has "
                   "%" G_GINT64_FORMAT " bytes; export it again", base, nx, ny, nz, tb_io_pixel_type_name (type),
                   want, vox_offset, (gint64) st.st_size);
      gzclose (gz);
      return NULL;
    }
  g_autoptr(TbVolume) v = tb_io_volume_alloc (path, nx, ny, nz, error);
  if (v == NULL)
    {
      gzclose (gz);
      return NULL;
    }
  if (nim->nt > 1 || nim->nu > 1 || nim->nv > 1 || nim->nw > 1)
    g_strlcpy (info->note, "4D or higher NIfTI: only the first volume was read", sizeof info->note);

  double slope = nim->scl_slope, inter = nim->scl_inter;
  if (slope == 0 || !isfinite (slope) || !isfinite (inter))
    slope = 1, inter = 0;  /* NIfTI-1 standard: slope 0 means no scaling */
  info->scl_slope = slope;
  info->scl_inter = inter;
  geometry (nim, opts, info, v->spacing, v->origin);

  if (gzseek (gz, (z_off_t) vox_offset, SEEK_SET) != (z_off_t) vox_offset)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED, "%s ends before its voxel data begin", base);
      gzclose (gz);
      return NULL;
    }
  const gboolean swap = nim->byteorder != nifti_short_order ();
  const gsize chunk = 8u << 20;  /* bytes; a multiple of every voxel size */
  g_autofree guint8 *buf = g_malloc (chunk);
  const gsize total = (gsize) nx * ny * nz;
  gsize done = 0;
  gint64 last = g_get_monotonic_time ();
  while (done < total)
    {
      gsize n = MIN (total - done, chunk / bpv);
      int got = gzread (gz, buf, (unsigned) (n * bpv));
      if (got < (int) (n * bpv))
        {
          int zerr = Z_OK;
          const char *msg = gzerror (gz, &zerr);
          if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
            g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_CORRUPT, "%s: the compressed data are damaged (%s); "
                         "export it again", base, msg);
          else
            g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_TRUNCATED,
                         "%s is truncated: it ends after %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " voxels; export it again",
                         base, done + MAX (got, 0) / bpv, total);
          gzclose (gz);
          return NULL;
        }
      tb_io_pixels_to_float (buf, type, n, swap, slope, inter, v->data + done);
      done += n;
      gint64 now = g_get_monotonic_time ();
      if (now - last > 100000 || done == total)
        {
          last = now;
          if (!tb_io_step (opts, cancellable, (double) done / total, "Reading NIfTI", error))
            {
              gzclose (gz);
              return NULL;
            }
        }
    }
  gzclose (gz);
  return g_steal_pointer (&v);
}

/* ---- writing ------------------------------------------------------------------------------- */

gboolean
tb_io_write_nifti (const char *path, const TbVolume *v, GError **error)
{
  g_return_val_if_fail (path != NULL && v != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  quiet_libnifti ();
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *lower = g_ascii_strdown (path, -1);
  const gboolean gz = g_str_has_suffix (lower, ".gz");
  const gboolean v2 = v->nx > 32767 || v->ny > 32767 || v->nz > 32767;

  int64_t dims[8] = { 3, v->nx, v->ny, v->nz, 1, 1, 1, 1 };
  g_autoptr(nifti_image) nim = nifti_make_new_nim (dims, NIFTI_TYPE_FLOAT32, 0);
  if (nim == NULL)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot build a NIfTI header for %s", base);
      return FALSE;
    }
  nim->dx = nim->pixdim[1] = v->spacing[0];
  nim->dy = nim->pixdim[2] = v->spacing[1];
  nim->dz = nim->pixdim[3] = v->spacing[2];
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->scl_slope = 1.0;
  nim->scl_inter = 0.0;
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->quatern_b = nim->quatern_c = nim->quatern_d = 0.0;
  nim->qfac = 1.0;
  nim->qoffset_x = v->origin[0];
  nim->qoffset_y = v->origin[1];
  nim->qoffset_z = v->origin[2];
  memset (&nim->sto_xyz, 0, sizeof nim->sto_xyz);
  for (int a = 0; a < 3; a++)
    {
      nim->sto_xyz.m[a][a] = v->spacing[a];
      nim->sto_xyz.m[a][3] = v->origin[a];
    }
  nim->sto_xyz.m[3][3] = 1.0;
  nim->nifti_type = v2 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
  g_strlcpy (nim->descrip, "Trabecula " TB_VERSION, sizeof nim->descrip);

  union {
    nifti_1_header h1;
    nifti_2_header h2;
  } hdr;
  gsize hdr_size;
  int rc;
  if (v2)
    {
      nim->iname_offset = 544;
      rc = nifti_convert_nim2n2hdr (nim, &hdr.h2);
      hdr.h2.vox_offset = 544;
      hdr_size = sizeof hdr.h2;
    }
  else
    {
      nim->iname_offset = 352;
      rc = nifti_convert_nim2n1hdr (nim, &hdr.h1);
      hdr.h1.vox_offset = 352;
      hdr_size = sizeof hdr.h1;
    }
  if (rc != 0)
    {
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot build a NIfTI header for %s", base);
      return FALSE;
    }

  g_autofree char *tmp = tb_io_temp_create (path, error);
  if (tmp == NULL)
    return FALSE;
  gzFile out = gzopen (tmp, gz ? "wb1" : "wbT");  /* T: plain, no gzip wrapper */
  if (out == NULL)
    {
      g_unlink (tmp);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Cannot create %s", path);
      return FALSE;
    }
  gzbuffer (out, 1 << 20);
  static const guint8 no_extension[4] = { 0, 0, 0, 0 };
  gboolean ok = gzwrite (out, &hdr, (unsigned) hdr_size) == (int) hdr_size
                && gzwrite (out, no_extension, 4) == 4;
  const gsize total = tb_volume_n_voxels (v) * sizeof (float);
  for (gsize at = 0; ok && at < total; at += 64u << 20)
    {
      unsigned n = (unsigned) MIN (total - at, 64u << 20);
      ok = gzwrite (out, (const guint8 *) v->data + at, n) == (int) n;
    }
  ok = gzclose (out) == Z_OK && ok;
  if (!ok)
    {
      g_unlink (tmp);
      g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_WRITE, "Could not write %s (disk full?)", path);
      return FALSE;
    }
  return tb_io_temp_commit (tmp, path, error);
}
