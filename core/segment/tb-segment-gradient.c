/* tb-segment-gradient.c — 3D gradient magnitude by Gaussian derivatives (separable, edges clamped).
 *
 * |grad (G_sigma * v)| in HU per mm: each component is the derivative of a Gaussian along its axis and a
 * Gaussian along the other two (as scipy.ndimage.gaussian_gradient_magnitude, which uses 'reflect' edges;
 * the difference is confined to the outer 4 sigma). sigma <= 0 gives central differences. */
#include "tb-segment.h"
#include "tb-segment-private.h"

#include <math.h>

typedef struct {
  int radius;
  double *w;   /* 2 radius + 1 taps */
} Kernel;

static void
kernel_make (Kernel *k, double sigma, gboolean derivative)
{
  if (sigma <= 0)
    {
      k->radius = 1;
      k->w = g_new0 (double, 3);
      if (derivative)
        {
          /* correlation taps: out[i] = (v[i+1] - v[i-1]) / 2 */
          k->w[0] = -0.5;
          k->w[2] = 0.5;
        }
      else
        k->w[1] = 1;
      return;
    }
  k->radius = MAX (1, (int) (4.0 * sigma + 0.5));  /* scipy's truncate = 4 */
  k->w = g_new0 (double, 2 * k->radius + 1);
  double sum = 0;
  for (int t = -k->radius; t <= k->radius; t++)
    sum += exp (-0.5 * t * t / (sigma * sigma));
  for (int t = -k->radius; t <= k->radius; t++)
    {
      double g = exp (-0.5 * t * t / (sigma * sigma)) / sum;
      /* correlation taps of d/dx: out[i] = sum_t w[t] v[i+t], w[t] = t/sigma^2 g(t) */
      k->w[t + k->radius] = derivative ? t / (sigma * sigma) * g : g;
    }
}

/* dst = kernel along axis applied to src (nx,ny,nz), clamped edges. Along x each line is filtered in
 * place; along y and z whole x-rows are accumulated, so memory is read contiguously. */
static void
convolve_axis (const float *src, float *dst, int nx, int ny, int nz, int axis, const Kernel *k)
{
  const gsize sxy = (gsize) nx * ny;
  if (axis == 0)
    {
#pragma omp parallel
      {
        double *line = g_new (double, nx);
#pragma omp for schedule(static)
        for (gsize row = 0; row < (gsize) ny * nz; row++)
          {
            const float *in = src + row * nx;
            float *out = dst + row * nx;
            for (int i = 0; i < nx; i++)
              line[i] = in[i];
            for (int i = 0; i < nx; i++)
              {
                double acc = 0;
                for (int t = -k->radius; t <= k->radius; t++)
                  acc += k->w[t + k->radius] * line[CLAMP (i + t, 0, nx - 1)];
                out[i] = (float) acc;
              }
          }
        g_free (line);
      }
      return;
    }
  const int n_axis = axis == 1 ? ny : nz;
  const gsize stride = axis == 1 ? (gsize) nx : sxy;
#pragma omp parallel
  {
    float *acc = g_new (float, nx);
#pragma omp for collapse(2) schedule(static)
    for (int c = 0; c < nz; c++)
      for (int b = 0; b < ny; b++)
        {
          /* this output row sits at position p along the filtered axis */
          int p = axis == 1 ? b : c;
          gsize base = (gsize) nx * b + sxy * c - (gsize) p * stride;  /* row at position 0 of the axis */
          for (int i = 0; i < nx; i++)
            acc[i] = 0;
          for (int t = -k->radius; t <= k->radius; t++)
            {
              float w = (float) k->w[t + k->radius];
              if (w == 0)
                continue;
              const float *in = src + base + (gsize) CLAMP (p + t, 0, n_axis - 1) * stride;
              for (int i = 0; i < nx; i++)
                acc[i] += w * in[i];
            }
          float *out = dst + (gsize) nx * b + sxy * c;
          for (int i = 0; i < nx; i++)
            out[i] = acc[i];
        }
    g_free (acc);
  }
}

TbVolume *
tb_segment_gradient (const TbVolume *v, double sigma, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  if (!tb_volume_check_finite (v, "CT", error))
    return NULL;
  gsize n = tb_volume_n_voxels (v);
  if (!tb_memory_check (4 * n * sizeof (float), "gradient magnitude", error))
    return NULL;
  TbVolume *mag = tb_volume_new_like (v, error);
  if (mag == NULL)
    return NULL;
  g_autofree float *t1 = g_new (float, n);
  g_autofree float *t2 = g_new (float, n);
  g_autofree float *g = g_new (float, n);
  Kernel gk, dk;
  kernel_make (&gk, sigma, FALSE);
  kernel_make (&dk, sigma, TRUE);
  int nx = v->nx, ny = v->ny, nz = v->nz;
  for (gsize i = 0; i < n; i++)
    mag->data[i] = 0;
  for (int axis = 0; axis < 3; axis++)
    {
      int dims[3] = { nx, ny, nz };
      if (dims[axis] == 1)
        continue;  /* a 2D image has no z derivative */
      /* smooth along the two other axes, then differentiate along this one */
      const float *cur = v->data;
      float *bufs[2] = { t1, t2 };
      int b = 0;
      for (int other = 0; other < 3; other++)
        {
          if (other == axis || dims[other] == 1)
            continue;
          convolve_axis (cur, bufs[b], nx, ny, nz, other, &gk);
          cur = bufs[b];
          b ^= 1;
        }
      convolve_axis (cur, g, nx, ny, nz, axis, &dk);
      double inv = 1.0 / v->spacing[axis];
#pragma omp parallel for schedule(static)
      for (gsize i = 0; i < n; i++)
        {
          double c = g[i] * inv;
          mag->data[i] += (float) (c * c);
        }
    }
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    mag->data[i] = sqrtf (mag->data[i]);
  g_free (gk.w);
  g_free (dk.w);
  return mag;
}
