/* morpho-edt.c — exact squared Euclidean distance transform, separable along x, y, z
 * (Felzenszwalb & Huttenlocher 2012, Theory of Computing 8:415, lower envelope of parabolas),
 * with each axis weighted by its spacing^2, so anisotropic voxels give true distances in mm.
 * Voxels outside the image are neither feature nor background: as in BoneJ, only image voxels
 * bound a structure. */
#include "tb-morpho.h"

#include <math.h>

#define BIG 1e30f

/* One 1D pass over n samples f (stride apart) in place: d(p) = min_q f(q) + w (p - q)^2. */
static void
envelope_1d (float *f, gsize stride, int n, double w, int *v, double *z, double *g)
{
  for (int q = 0; q < n; q++)
    g[q] = f[(gsize) q * stride];
  int k = -1;
  for (int q = 0; q < n; q++)
    {
      if (g[q] >= BIG)
        continue;
      double fq = g[q] + w * (double) q * q;
      while (k >= 0)
        {
          /* intersection of the parabola at q with the last one on the envelope */
          double s = (fq - (g[v[k]] + w * (double) v[k] * v[k])) / (2.0 * w * (q - v[k]));
          if (s <= z[k])
            k--;
          else
            break;
        }
      k++;
      v[k] = q;
      z[k] = k == 0 ? -HUGE_VAL
                    : (fq - (g[v[k - 1]] + w * (double) v[k - 1] * v[k - 1])) / (2.0 * w * (q - v[k - 1]));
      z[k + 1] = HUGE_VAL;
    }
  if (k < 0)
    return;  /* no finite sample: the line stays at BIG */
  int j = 0;
  for (int p = 0; p < n; p++)
    {
      while (z[j + 1] < p)
        j++;
      double d = p - v[j];
      f[(gsize) p * stride] = (float) (g[v[j]] + w * d * d);
    }
}

/* The same over a line whose zeros are the background (the y and z passes): a sample beyond the
 * zero that bounds a run of non-zero samples is farther from every point of the run than that zero,
 * which costs nothing (f = 0), so it never wins; each run is transformed with its bounding zeros as
 * the only outside sites, and the background (most of the line for bone) is skipped. */
static void
envelope_runs (float *f, int n, double w, int *v, double *z, double *g)
{
  int q = 0;
  while (q < n)
    {
      while (q < n && f[q] == 0.0f)
        q++;
      if (q == n)
        break;
      const int a = q;
      while (q < n && f[q] != 0.0f)
        q++;
      const int lo = MAX (a - 1, 0), hi = MIN (q + 1, n);
      envelope_1d (f + lo, 1, hi - lo, w, v, z, g);
    }
}

float *
tb_morpho_edt_squared (const TbMask *m, gboolean value, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  const int nx = m->nx, ny = m->ny, nz = m->nz;
  gsize n = tb_mask_n_voxels (m);
  if (!tb_memory_check ((guint64) n * sizeof (float), "distance transform", error))
    return NULL;
  float *d = g_try_new (float, n);
  if (d == NULL)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL, "Out of memory for the distance transform");
      return NULL;
    }
  const double wx = m->spacing[0] * m->spacing[0];
  const double wy = m->spacing[1] * m->spacing[1];
  const double wz = m->spacing[2] * m->spacing[2];
  const int nmax = MAX (nx, MAX (ny, nz));

#pragma omp parallel
  {
    int *v = g_new (int, nmax);
    double *z = g_new (double, nmax + 1);
    double *g = g_new (double, nmax);

    /* x: two scans give the 1D distance to the nearest background voxel of the row */
#pragma omp for schedule(static) collapse(2)
    for (int k = 0; k < nz; k++)
      for (int j = 0; j < ny; j++)
        {
          gsize row = (gsize) nx * (j + (gsize) ny * k);
          const guint8 *in = m->data + row;
          float *out = d + row;
          double last = -1;  /* position of the last background voxel, -1: none yet */
          for (int i = 0; i < nx; i++)
            {
              gboolean fg = (in[i] != 0) == value;
              if (!fg)
                last = i;
              out[i] = fg ? (last < 0 ? BIG : (float) ((i - last) * (i - last) * wx)) : 0.0f;
            }
          last = -1;
          for (int i = nx - 1; i >= 0; i--)
            {
              if (out[i] == 0.0f)
                last = i;
              else if (last >= 0)
                out[i] = MIN (out[i], (float) ((last - i) * (last - i) * wx));
            }
        }
    /* y and z: each plane of lines is gathered into a contiguous buffer (line after line), so
     * the lower-envelope passes run on contiguous memory instead of striding through the volume;
     * planes are dealt out dynamically, as skipping the background makes their cost follow the bone */
    float *buf = g_new (float, (gsize) nmax * nmax);
#pragma omp for schedule(dynamic, 4)
    for (int k = 0; k < nz; k++)
      {
        float *pl = d + (gsize) nx * ny * k;
        for (int j = 0; j < ny; j++)
          for (int i = 0; i < nx; i++)
            buf[(gsize) i * ny + j] = pl[(gsize) j * nx + i];
        for (int i = 0; i < nx; i++)
          envelope_runs (buf + (gsize) i * ny, ny, wy, v, z, g);
        for (int j = 0; j < ny; j++)
          for (int i = 0; i < nx; i++)
            pl[(gsize) j * nx + i] = buf[(gsize) i * ny + j];
      }
    if (nz > 1)
      {
#pragma omp for schedule(dynamic, 4)
        for (int j = 0; j < ny; j++)
          {
            for (int k = 0; k < nz; k++)
              {
                const float *row = d + (gsize) nx * (j + (gsize) ny * k);
                for (int i = 0; i < nx; i++)
                  buf[(gsize) i * nz + k] = row[i];
              }
            for (int i = 0; i < nx; i++)
              envelope_runs (buf + (gsize) i * nz, nz, wz, v, z, g);
            for (int k = 0; k < nz; k++)
              {
                float *row = d + (gsize) nx * (j + (gsize) ny * k);
                for (int i = 0; i < nx; i++)
                  row[i] = buf[(gsize) i * nz + k];
              }
          }
      }
    g_free (buf);
    g_free (v);
    g_free (z);
    g_free (g);
  }
  return d;
}
