/* tb-volume.c — the volume type, its geometry and the exact resolution changes. */
#include "tb-volume.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK (tb-volume-error-quark, tb_volume_error)

/* ---- memory ------------------------------------------------------------------------------- */

/* MemAvailable from /proc/meminfo (what the kernel could give without swapping), or the
 * TB_MEMORY_LIMIT environment variable ("512M", "2G", bytes) so tests can emulate a small machine. */
guint64
tb_memory_available (void)
{
  const char *env = g_getenv ("TB_MEMORY_LIMIT");
  if (env != NULL && *env != '\0')
    {
      char *end = NULL;
      double v = g_ascii_strtod (env, &end);
      if (end != NULL)
        switch (g_ascii_toupper (*end))
          {
          case 'K': v *= 1024.0; break;
          case 'M': v *= 1024.0 * 1024.0; break;
          case 'G': v *= 1024.0 * 1024.0 * 1024.0; break;
          default: break;
          }
      if (v > 0)
        return (guint64) v;
    }

  g_autofree char *contents = NULL;
  if (g_file_get_contents ("/proc/meminfo", &contents, NULL, NULL))
    {
      const char *line = strstr (contents, "MemAvailable:");
      if (line != NULL)
        return g_ascii_strtoull (line + strlen ("MemAvailable:"), NULL, 10) * 1024ull;
    }
  long pages = sysconf (_SC_AVPHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);
  if (pages > 0 && page_size > 0)
    return (guint64) pages * (guint64) page_size;
  return G_MAXUINT64;
}

gboolean
tb_memory_check (guint64 bytes, const char *what, GError **error)
{
  guint64 avail = tb_memory_available ();
  if (bytes <= avail)
    return TRUE;
  g_autofree char *need = g_format_size (bytes);
  g_autofree char *have = g_format_size (avail);
  g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE,
               "%s needs %s of memory, but only %s is available; "
               "use a smaller region or a coarser voxel size",
               what != NULL ? what : "This job", need, have);
  return FALSE;
}

/* n voxels of elem_size bytes, with overflow and memory checks; dims must be >= 1. */
static gboolean
check_dims (int nx, int ny, int nz, gsize elem_size, const char *kind, GError **error)
{
  if (nx < 1 || ny < 1 || nz < 1)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID,
                   "Invalid %s size %d x %d x %d: every dimension must be at least 1",
                   kind, nx, ny, nz);
      return FALSE;
    }
  double bytes = (double) nx * (double) ny * (double) nz * (double) elem_size;
  if (bytes > (double) G_MAXSIZE / 2)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE,
                   "A %d x %d x %d %s cannot be addressed on this machine; "
                   "use a smaller region or a coarser voxel size", nx, ny, nz, kind);
      return FALSE;
    }
  g_autofree char *what = g_strdup_printf ("A %d x %d x %d %s", nx, ny, nz, kind);
  return tb_memory_check ((guint64) bytes, what, error);
}

static gboolean
check_spacing (const double spacing[3], GError **error)
{
  for (int a = 0; a < 3; a++)
    if (!(spacing[a] > 0.0) || !isfinite (spacing[a]))
      {
        g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID,
                     "Invalid voxel spacing %g x %g x %g mm: every spacing must be positive",
                     spacing[0], spacing[1], spacing[2]);
        return FALSE;
      }
  return TRUE;
}

/* ---- volumes ------------------------------------------------------------------------------ */

static void
volume_clear (gpointer p)
{
  TbVolume *v = p;
  g_free (v->data);
}

TbVolume *
tb_volume_new (int nx, int ny, int nz, const double spacing[3], GError **error)
{
  static const double unit[3] = { 1.0, 1.0, 1.0 };
  if (spacing == NULL)
    spacing = unit;
  if (!check_spacing (spacing, error) || !check_dims (nx, ny, nz, sizeof (float), "float32 volume", error))
    return NULL;

  gsize n = (gsize) nx * ny * nz;
  float *data = g_try_malloc0 (n * sizeof (float));
  if (data == NULL)
    {
      g_autofree char *need = g_format_size ((guint64) n * sizeof (float));
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE,
                   "Could not allocate %s for a %d x %d x %d volume; close other jobs or use a smaller region",
                   need, nx, ny, nz);
      return NULL;
    }
  TbVolume *v = g_atomic_rc_box_new0 (TbVolume);
  v->nx = nx;
  v->ny = ny;
  v->nz = nz;
  memcpy (v->spacing, spacing, sizeof v->spacing);
  v->data = data;
  return v;
}

TbVolume *
tb_volume_new_like (const TbVolume *like, GError **error)
{
  g_return_val_if_fail (like != NULL, NULL);
  TbVolume *v = tb_volume_new (like->nx, like->ny, like->nz, like->spacing, error);
  if (v != NULL)
    memcpy (v->origin, like->origin, sizeof v->origin);
  return v;
}

TbVolume *
tb_volume_copy (const TbVolume *src, GError **error)
{
  g_return_val_if_fail (src != NULL, NULL);
  TbVolume *v = tb_volume_new_like (src, error);
  if (v != NULL)
    memcpy (v->data, src->data, tb_volume_n_voxels (src) * sizeof (float));
  return v;
}

TbVolume *
tb_volume_ref (TbVolume *v)
{
  g_return_val_if_fail (v != NULL, NULL);
  return g_atomic_rc_box_acquire (v);
}

void
tb_volume_unref (TbVolume *v)
{
  if (v != NULL)
    g_atomic_rc_box_release_full (v, volume_clear);
}

gsize
tb_volume_n_voxels (const TbVolume *v)
{
  return (gsize) v->nx * (gsize) v->ny * (gsize) v->nz;
}

gboolean
tb_volume_same_grid (const TbVolume *a, const TbVolume *b)
{
  if (a->nx != b->nx || a->ny != b->ny || a->nz != b->nz)
    return FALSE;
  for (int d = 0; d < 3; d++)
    if (fabs (a->spacing[d] - b->spacing[d]) > 1e-9 * a->spacing[d]
        || fabs (a->origin[d] - b->origin[d]) > 1e-6 * a->spacing[d])
      return FALSE;
  return TRUE;
}

void
tb_volume_voxel_to_world (const TbVolume *v, double i, double j, double k, double world[3])
{
  world[0] = v->origin[0] + i * v->spacing[0];
  world[1] = v->origin[1] + j * v->spacing[1];
  world[2] = v->origin[2] + k * v->spacing[2];
}

void
tb_volume_world_to_voxel (const TbVolume *v, const double world[3], double ijk[3])
{
  for (int d = 0; d < 3; d++)
    ijk[d] = (world[d] - v->origin[d]) / v->spacing[d];
}

/* ---- boxes -------------------------------------------------------------------------------- */

gboolean
tb_box_check (const TbBox *b, int nx, int ny, int nz, GError **error)
{
  if (b->nx < 1 || b->ny < 1 || b->nz < 1
      || b->x0 < 0 || b->y0 < 0 || b->z0 < 0
      || (gint64) b->x0 + b->nx > nx || (gint64) b->y0 + b->ny > ny || (gint64) b->z0 + b->nz > nz)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_OUTSIDE,
                   "The box from voxel (%d, %d, %d) of size %d x %d x %d is not inside the "
                   "%d x %d x %d image; move or shrink it",
                   b->x0, b->y0, b->z0, b->nx, b->ny, b->nz, nx, ny, nz);
      return FALSE;
    }
  return TRUE;
}

gboolean
tb_box_from_world (const TbVolume *v, const double centre[3], const double size[3], TbBox *box, GError **error)
{
  int lo[3], n[3];
  for (int d = 0; d < 3; d++)
    {
      if (!(size[d] > 0) || !isfinite (size[d]) || !isfinite (centre[d]))
        {
          g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID,
                       "A box needs a finite centre and a positive size (got size %g x %g x %g mm)",
                       size[0], size[1], size[2]);
          return FALSE;
        }
      /* voxels whose centres fall inside [centre - size/2, centre + size/2) */
      double first = (centre[d] - 0.5 * size[d] - v->origin[d]) / v->spacing[d];
      int count = MAX (1, (int) lround (size[d] / v->spacing[d]));
      lo[d] = (int) ceil (first - 1e-9);
      n[d] = count;
    }
  TbBox b = { lo[0], lo[1], lo[2], n[0], n[1], n[2] };
  if (!tb_box_check (&b, v->nx, v->ny, v->nz, error))
    {
      g_prefix_error (error, "VOI centred at (%.2f, %.2f, %.2f) mm: ", centre[0], centre[1], centre[2]);
      return FALSE;
    }
  *box = b;
  return TRUE;
}

void
tb_box_align (TbBox *box, int multiple)
{
  g_return_if_fail (box != NULL && multiple >= 1);
  int *lo[3] = { &box->x0, &box->y0, &box->z0 }, *n[3] = { &box->nx, &box->ny, &box->nz };
  for (int d = 0; d < 3; d++)
    {
      *lo[d] -= *lo[d] % multiple;
      *n[d] += (multiple - *n[d] % multiple) % multiple;
    }
}

/* ---- operations --------------------------------------------------------------------------- */

TbVolume *
tb_volume_crop (const TbVolume *v, const TbBox *b, GError **error)
{
  g_return_val_if_fail (v != NULL && b != NULL, NULL);
  if (!tb_box_check (b, v->nx, v->ny, v->nz, error))
    return NULL;
  TbVolume *out = tb_volume_new (b->nx, b->ny, b->nz, v->spacing, error);
  if (out == NULL)
    return NULL;
  tb_volume_voxel_to_world (v, b->x0, b->y0, b->z0, out->origin);
  for (int k = 0; k < b->nz; k++)
    for (int j = 0; j < b->ny; j++)
      memcpy (out->data + tb_volume_index (out, 0, j, k),
              v->data + tb_volume_index (v, b->x0, b->y0 + j, b->z0 + k),
              (gsize) b->nx * sizeof (float));
  return out;
}

TbVolume *
tb_volume_upscale (const TbVolume *v, int n, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  if (n < 1)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID, "Upscale factor must be at least 1 (got %d)", n);
      return NULL;
    }
  int nz_out = v->nz == 1 ? 1 : v->nz * n; /* a 2D image stays 2D */
  double sp[3] = { v->spacing[0] / n, v->spacing[1] / n, v->nz == 1 ? v->spacing[2] : v->spacing[2] / n };
  if ((gint64) v->nx * n > G_MAXINT || (gint64) v->ny * n > G_MAXINT || (gint64) v->nz * n > G_MAXINT)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE,
                   "Upscaling %d x %d x %d by %d gives too many voxels", v->nx, v->ny, v->nz, n);
      return NULL;
    }
  TbVolume *out = tb_volume_new (v->nx * n, v->ny * n, nz_out, sp, error);
  if (out == NULL)
    return NULL;
  for (int d = 0; d < 3; d++)
    out->origin[d] = v->origin[d] - 0.5 * v->spacing[d] + 0.5 * sp[d];

#pragma omp parallel for schedule(static)
  for (int k = 0; k < out->nz; k++)
    for (int j = 0; j < out->ny; j++)
      {
        const float *src = v->data + tb_volume_index (v, 0, j / n, v->nz == 1 ? 0 : k / n);
        float *dst = out->data + tb_volume_index (out, 0, j, k);
        for (int i = 0; i < out->nx; i++)
          dst[i] = src[i / n];
      }
  return out;
}

TbVolume *
tb_volume_downscale (const TbVolume *v, int fx, int fy, int fz, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  if (fx < 1 || fy < 1 || fz < 1)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID,
                   "Downscale factors must be at least 1 (got %d, %d, %d)", fx, fy, fz);
      return NULL;
    }
  if (v->nz == 1)
    fz = 1;
  if (v->nx % fx || v->ny % fy || v->nz % fz)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID,
                   "A %d x %d x %d volume cannot be downscaled exactly by %d x %d x %d; "
                   "crop it to a multiple of the factors first",
                   v->nx, v->ny, v->nz, fx, fy, fz);
      return NULL;
    }
  double sp[3] = { v->spacing[0] * fx, v->spacing[1] * fy, v->spacing[2] * fz };
  TbVolume *out = tb_volume_new (v->nx / fx, v->ny / fy, v->nz / fz, sp, error);
  if (out == NULL)
    return NULL;
  for (int d = 0; d < 3; d++)
    out->origin[d] = v->origin[d] - 0.5 * v->spacing[d] + 0.5 * sp[d];

  /* Sum in double then divide once: for blocks of identical values (an upscaled volume) the
   * mean is exactly that value, so upscale + downscale is the identity bit for bit. */
  const double inv = 1.0 / ((double) fx * fy * fz);
#pragma omp parallel for schedule(static)
  for (int k = 0; k < out->nz; k++)
    for (int j = 0; j < out->ny; j++)
      for (int i = 0; i < out->nx; i++)
        {
          double sum = 0.0;
          for (int c = 0; c < fz; c++)
            for (int b = 0; b < fy; b++)
              {
                const float *row = v->data + tb_volume_index (v, i * fx, j * fy + b, k * fz + c);
                for (int a = 0; a < fx; a++)
                  sum += row[a];
              }
          out->data[tb_volume_index (out, i, j, k)] = (float) (sum * inv);
        }
  return out;
}

double
tb_volume_sample_trilinear (const TbVolume *v, double x, double y, double z)
{
  double c[3] = { x, y, z };
  int n[3] = { v->nx, v->ny, v->nz };
  int i0[3], i1[3];
  double t[3];
  for (int d = 0; d < 3; d++)
    {
      double p = CLAMP (c[d], 0.0, (double) (n[d] - 1));
      int f = (int) floor (p);
      if (f >= n[d] - 1)
        f = MAX (0, n[d] - 2);
      i0[d] = f;
      i1[d] = MIN (f + 1, n[d] - 1);
      t[d] = n[d] > 1 ? p - f : 0.0;
    }
  double c00 = tb_volume_get (v, i0[0], i0[1], i0[2]) * (1 - t[0]) + tb_volume_get (v, i1[0], i0[1], i0[2]) * t[0];
  double c10 = tb_volume_get (v, i0[0], i1[1], i0[2]) * (1 - t[0]) + tb_volume_get (v, i1[0], i1[1], i0[2]) * t[0];
  double c01 = tb_volume_get (v, i0[0], i0[1], i1[2]) * (1 - t[0]) + tb_volume_get (v, i1[0], i0[1], i1[2]) * t[0];
  double c11 = tb_volume_get (v, i0[0], i1[1], i1[2]) * (1 - t[0]) + tb_volume_get (v, i1[0], i1[1], i1[2]) * t[0];
  double c0 = c00 * (1 - t[1]) + c10 * t[1];
  double c1 = c01 * (1 - t[1]) + c11 * t[1];
  return c0 * (1 - t[2]) + c1 * t[2];
}

TbVolume *
tb_volume_resample (const TbVolume *v, const double spacing[3], GError **error)
{
  g_return_val_if_fail (v != NULL && spacing != NULL, NULL);
  if (!check_spacing (spacing, error))
    return NULL;
  int n_in[3] = { v->nx, v->ny, v->nz };
  int n[3];
  double sp[3];
  for (int d = 0; d < 3; d++)
    {
      if (n_in[d] == 1)
        {
          n[d] = 1; /* a 2D image keeps its single slice and thickness */
          sp[d] = d == 2 ? v->spacing[d] : spacing[d];
          continue;
        }
      double count = round (n_in[d] * v->spacing[d] / spacing[d]);
      if (count > G_MAXINT)
        {
          g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE,
                       "Resampling to %g mm gives too many voxels along one axis", spacing[d]);
          return NULL;
        }
      n[d] = MAX (1, (int) count);
      sp[d] = spacing[d];
    }
  TbVolume *out = tb_volume_new (n[0], n[1], n[2], sp, error);
  if (out == NULL)
    return NULL;
  for (int d = 0; d < 3; d++)
    out->origin[d] = n_in[d] == 1 ? v->origin[d] : v->origin[d] - 0.5 * v->spacing[d] + 0.5 * sp[d];

#pragma omp parallel for schedule(static)
  for (int k = 0; k < out->nz; k++)
    for (int j = 0; j < out->ny; j++)
      for (int i = 0; i < out->nx; i++)
        {
          double w[3], ijk[3];
          tb_volume_voxel_to_world (out, i, j, k, w);
          tb_volume_world_to_voxel (v, w, ijk);
          out->data[tb_volume_index (out, i, j, k)] = (float) tb_volume_sample_trilinear (v, ijk[0], ijk[1], ijk[2]);
        }
  return out;
}

TbVolume *
tb_volume_slice (const TbVolume *v, TbAxis axis, int index, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  int n_axis = axis == TB_AXIS_X ? v->nx : axis == TB_AXIS_Y ? v->ny : v->nz;
  if (index < 0 || index >= n_axis)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_OUTSIDE,
                   "Slice %d is outside the volume (axis %c has %d slices)", index, "xyz"[axis], n_axis);
      return NULL;
    }
  /* The slice's in-plane axes keep their order: X -> (y, z), Y -> (x, z), Z -> (x, y). */
  int a0 = axis == TB_AXIS_X ? 1 : 0;
  int a1 = axis == TB_AXIS_Z ? 1 : 2;
  int n[3] = { v->nx, v->ny, v->nz };
  double sp[3] = { v->spacing[a0], v->spacing[a1], v->spacing[axis] };
  TbVolume *out = tb_volume_new (n[a0], n[a1], 1, sp, error);
  if (out == NULL)
    return NULL;
  out->origin[0] = v->origin[a0];
  out->origin[1] = v->origin[a1];
  out->origin[2] = v->origin[axis] + index * v->spacing[axis];
  for (int b = 0; b < n[a1]; b++)
    for (int a = 0; a < n[a0]; a++)
      {
        int ijk[3];
        ijk[axis] = index;
        ijk[a0] = a;
        ijk[a1] = b;
        out->data[(gsize) a + (gsize) n[a0] * b] = tb_volume_get (v, ijk[0], ijk[1], ijk[2]);
      }
  return out;
}

/* ---- statistics --------------------------------------------------------------------------- */

void
tb_volume_stats (const TbVolume *v, TbVolumeStats *s)
{
  g_return_if_fail (v != NULL && s != NULL);
  gsize n = tb_volume_n_voxels (v);
  double mn = INFINITY, mx = -INFINITY, sum = 0.0, sum2 = 0.0;
  gsize finite = 0;
#pragma omp parallel for reduction(min:mn) reduction(max:mx) reduction(+:sum,sum2,finite) schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      float x = v->data[i];
      if (!isfinite (x))
        continue;
      finite++;
      mn = MIN (mn, x);
      mx = MAX (mx, x);
      sum += x;
      sum2 += (double) x * x;
    }
  s->n_finite = finite;
  s->n_nonfinite = n - finite;
  if (finite == 0)
    {
      s->min = s->max = s->mean = s->stddev = NAN;
      return;
    }
  s->min = mn;
  s->max = mx;
  s->mean = sum / finite;
  s->stddev = sqrt (MAX (0.0, sum2 / finite - s->mean * s->mean));
}

void
tb_volume_histogram (const TbVolume *v, double lo, double hi, guint n_bins, guint64 *counts)
{
  g_return_if_fail (v != NULL && counts != NULL && n_bins > 0 && hi > lo);
  memset (counts, 0, n_bins * sizeof (guint64));
  gsize n = tb_volume_n_voxels (v);
  double scale = n_bins / (hi - lo);
  for (gsize i = 0; i < n; i++)
    {
      float x = v->data[i];
      if (!isfinite (x) || x < lo || x > hi)
        continue;
      guint b = (guint) ((x - lo) * scale);
      counts[MIN (b, n_bins - 1)]++;
    }
}

gboolean
tb_volume_check_finite (const TbVolume *v, const char *what, GError **error)
{
  gsize n = tb_volume_n_voxels (v), bad = 0, first = 0;
  for (gsize i = 0; i < n; i++)
    if (!isfinite (v->data[i]))
      {
        if (bad++ == 0)
          first = i;
      }
  if (bad == 0)
    return TRUE;
  int i = first % v->nx, j = (first / v->nx) % v->ny, k = first / ((gsize) v->nx * v->ny);
  g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_NONFINITE,
               "%s has %" G_GSIZE_FORMAT " NaN or infinite voxels (the first at voxel %d, %d, %d); "
               "fix or mask them before running this step",
               what != NULL ? what : "The volume", bad, i, j, k);
  return FALSE;
}

/* ---- masks -------------------------------------------------------------------------------- */

static void
mask_clear (gpointer p)
{
  TbMask *m = p;
  g_free (m->data);
}

TbMask *
tb_mask_new (int nx, int ny, int nz, const double spacing[3], GError **error)
{
  static const double unit[3] = { 1.0, 1.0, 1.0 };
  if (spacing == NULL)
    spacing = unit;
  if (!check_spacing (spacing, error) || !check_dims (nx, ny, nz, 1, "mask", error))
    return NULL;
  guint8 *data = g_try_malloc0 ((gsize) nx * ny * nz);
  if (data == NULL)
    {
      g_set_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE,
                   "Could not allocate a %d x %d x %d mask", nx, ny, nz);
      return NULL;
    }
  TbMask *m = g_atomic_rc_box_new0 (TbMask);
  m->nx = nx;
  m->ny = ny;
  m->nz = nz;
  memcpy (m->spacing, spacing, sizeof m->spacing);
  m->data = data;
  return m;
}

TbMask *
tb_mask_new_like_volume (const TbVolume *like, GError **error)
{
  TbMask *m = tb_mask_new (like->nx, like->ny, like->nz, like->spacing, error);
  if (m != NULL)
    memcpy (m->origin, like->origin, sizeof m->origin);
  return m;
}

TbMask *
tb_mask_ref (TbMask *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return g_atomic_rc_box_acquire (m);
}

void
tb_mask_unref (TbMask *m)
{
  if (m != NULL)
    g_atomic_rc_box_release_full (m, mask_clear);
}

gsize
tb_mask_n_voxels (const TbMask *m)
{
  return (gsize) m->nx * m->ny * m->nz;
}

gsize
tb_mask_count (const TbMask *m)
{
  gsize n = tb_mask_n_voxels (m), c = 0;
  for (gsize i = 0; i < n; i++)
    c += m->data[i] != 0;
  return c;
}

TbVolume *
tb_mask_to_volume (const TbMask *m, GError **error)
{
  TbVolume *v = tb_volume_new (m->nx, m->ny, m->nz, m->spacing, error);
  if (v == NULL)
    return NULL;
  memcpy (v->origin, m->origin, sizeof v->origin);
  gsize n = tb_mask_n_voxels (m);
  for (gsize i = 0; i < n; i++)
    v->data[i] = m->data[i];
  return v;
}
