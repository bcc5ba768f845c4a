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

/* dst = kernel along axis applied to src (nx,ny,nz), clamped edges */
static void
convolve_axis (const float *src, float *dst, int nx, int ny, int nz, int axis, const Kernel *k)
{
  int n_axis = axis == 0 ? nx : axis == 1 ? ny : nz;
  gsize stride = axis == 0 ? 1 : axis == 1 ? (gsize) nx : (gsize) nx * ny;
  int n1 = axis == 0 ? ny : nx, n2 = axis == 2 ? ny : nz;
#pragma omp parallel
  {
    double *line = g_new (double, n_axis);
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < n2; b++)
      for (int a = 0; a < n1; a++)
        {
          gsize base;
          if (axis == 0)
            base = (gsize) nx * (a + (gsize) ny * b);
          else if (axis == 1)
            base = a + (gsize) nx * ny * b;
          else
            base = a + (gsize) nx * b;
          for (int i = 0; i < n_axis; i++)
            line[i] = src[base + i * stride];
          for (int i = 0; i < n_axis; i++)
            {
              double s = 0;
              for (int t = -k->radius; t <= k->radius; t++)
                s += k->w[t + k->radius] * line[CLAMP (i + t, 0, n_axis - 1)];
              dst[base + i * stride] = (float) s;
            }
        }
    g_free (line);
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
