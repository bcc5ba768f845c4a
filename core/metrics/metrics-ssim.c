/* metrics-ssim.c — SSIM by separable Gaussian filtering over valid windows only.
 *
 * For every output plane the five local moments (x, y, x^2, y^2, xy) are first summed along z
 * (3D mode; in 2D mode the plane itself), then along x and along y, each with the same 11-tap
 * normalized Gaussian. Only window centres whose window lies inside the image are computed,
 * which is the region scikit-image averages after cropping (win_size - 1) / 2 voxels. All sums
 * are in double, as scikit-image does for float64 input. */
#include "tb-metrics.h"
#include "metrics-private.h"

#include <math.h>
#include <omp.h>

#define R  TB_METRICS_SSIM_RADIUS
#define W  (2 * R + 1)
#define NF 5   /* moments: x, y, x^2, y^2, xy */

/* scipy.ndimage.gaussian_filter1d's kernel: exp(-x^2 / (2 sigma^2)), normalized over the taps. */
void
tb_metrics_ssim_taps (double w[2 * TB_METRICS_SSIM_RADIUS + 1])
{
  double sum = 0.0;
  for (int t = -R; t <= R; t++)
    sum += w[t + R] = exp (-0.5 * t * t / (TB_METRICS_SSIM_SIGMA * TB_METRICS_SSIM_SIGMA));
  for (int t = 0; t < W; t++)
    w[t] /= sum;
}

double
tb_metrics_ssim (const TbVolume *a, const TbVolume *b, double data_range,
                 TbMetricsSsimMode mode, const TbMask *mask,
                 TbVolume **ssim_map, GError **error)
{
  g_return_val_if_fail (a != NULL && b != NULL, NAN);
  g_return_val_if_fail (error == NULL || *error == NULL, NAN);
  if (ssim_map != NULL)
    *ssim_map = NULL;
  if (!tb_metrics_check_pair (a, b, data_range, mask, error))
    return NAN;

  const int nx = a->nx, ny = a->ny, nz = a->nz;
  const gboolean three_d = mode == TB_METRICS_SSIM_3D;
  if (nx < W || ny < W || (three_d && nz < W))
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_TOO_SMALL,
                   "SSIM needs at least %d voxels along each %s axis (the image is %d x %d x %d)",
                   W, three_d ? "" : "in-plane", nx, ny, nz);
      return NAN;
    }

  const int vx = nx - 2 * R;  /* valid centres per row */
  g_autoptr(TbVolume) map = NULL;
  if (ssim_map != NULL && (map = tb_volume_new_like (a, error)) == NULL)
    return NAN;

  double w[W];
  tb_metrics_ssim_taps (w);
  const double c1 = (TB_METRICS_SSIM_K1 * data_range) * (TB_METRICS_SSIM_K1 * data_range);
  const double c2 = (TB_METRICS_SSIM_K2 * data_range) * (TB_METRICS_SSIM_K2 * data_range);

  /* Work items: (output plane, block of output rows), spread over the threads with no barrier
   * between them (barriers stall badly on a busy machine). An item walks its input rows (its
   * output rows plus R above and below): each row is summed along z (3D), filtered along x into a
   * ring of the last W rows, and as soon as the ring holds a whole window the output row is
   * filtered along y and scored. Only the 2R halo rows of each block are computed twice. */
  const int k0 = three_d ? R : 0, k1 = three_d ? nz - R : nz;
  const int vy = ny - 2 * R;
  const int n_threads = omp_get_max_threads ();
  /* whole planes when there are enough of them to share out, else about 4 blocks per thread */
  const int block = (k1 - k0) >= 4 * n_threads ? vy : MAX (32, (vy + 4 * n_threads - 1) / (4 * n_threads));
  const int n_blocks = (vy + block - 1) / block;
  const gint64 n_items = (gint64) (k1 - k0) * n_blocks;
  double total = 0.0;
  guint64 count = 0;

#pragma omp parallel reduction(+:total, count)
  {
    double *zrow = g_new (double, NF * (gsize) nx);
    double *ring = g_new (double, NF * (gsize) vx * W);   /* ring[f][slot][i] */
    double *acc = g_new (double, NF * (gsize) vx);
#pragma omp for schedule(dynamic, 1)
    for (gint64 item = 0; item < n_items; item++)
      {
        const int k = k0 + (int) (item / n_blocks);
        const int jb = R + (int) (item % n_blocks) * block, je = MIN (jb + block, ny - R);
        const int rows = je - jb + 2 * R;  /* input rows jb - R .. je + R - 1 */
        for (int r = 0; r < rows; r++)
          {
            const int j = jb - R + r;
            double *m0 = zrow, *m1 = zrow + nx, *m2 = zrow + 2 * nx, *m3 = zrow + 3 * nx, *m4 = zrow + 4 * nx;
            for (int i = 0; i < nx; i++)
              m0[i] = m1[i] = m2[i] = m3[i] = m4[i] = 0.0;
            /* z pass (3D) or the row itself (2D) */
            for (int t = three_d ? -R : 0; t <= (three_d ? R : 0); t++)
              {
                const float *pa = a->data + tb_volume_index (a, 0, j, k + t);
                const float *pb = b->data + tb_volume_index (b, 0, j, k + t);
                const double wt = three_d ? w[t + R] : 1.0;
#pragma omp simd
                for (int i = 0; i < nx; i++)
                  {
                    double x = pa[i], y = pb[i];
                    m0[i] += wt * x;
                    m1[i] += wt * y;
                    m2[i] += wt * x * x;
                    m3[i] += wt * y * y;
                    m4[i] += wt * x * y;
                  }
              }
            /* x pass, valid columns only, into the ring; the kernel is symmetric: w[q] = w[W-1-q] */
            const int slot = r % W;
            for (int f = 0; f < NF; f++)
              {
                const double *src = zrow + (gsize) f * nx;
                double *dst = ring + ((gsize) f * W + slot) * vx;
#pragma omp simd
                for (int i = 0; i < vx; i++)
                  {
                    double sum = w[R] * src[i + R];
                    for (int q = 0; q < R; q++)
                      sum += w[q] * (src[i + q] + src[i + W - 1 - q]);
                    dst[i] = sum;
                  }
              }
            if (r < 2 * R)
              continue;
            /* the ring now holds input rows j - 2R .. j: output row j - R along y, then SSIM
             * (Wang et al. 2004, eq. 13) */
            const int jo = j - R, first_slot = (r - 2 * R) % W;
            for (int f = 0; f < NF; f++)
              {
                double *dst = acc + (gsize) f * vx;
                const double *base = ring + (gsize) f * W * vx;
                const double *mid = base + (gsize) ((first_slot + R) % W) * vx;
#pragma omp simd
                for (int i = 0; i < vx; i++)
                  dst[i] = w[R] * mid[i];
                for (int q = 0; q < R; q++)
                  {
                    const double *lo = base + (gsize) ((first_slot + q) % W) * vx;
                    const double *hi = base + (gsize) ((first_slot + W - 1 - q) % W) * vx;
#pragma omp simd
                    for (int i = 0; i < vx; i++)
                      dst[i] += w[q] * (lo[i] + hi[i]);
                  }
              }
            const double *ux = acc, *uy = acc + vx, *uxx = acc + 2 * vx, *uyy = acc + 3 * vx, *uxy = acc + 4 * vx;
            for (int i = 0; i < vx; i++)
              {
                gsize out = tb_volume_index (a, i + R, jo, k);
                if (mask != NULL && mask->data[out] == 0)
                  continue;
                double vxx = uxx[i] - ux[i] * ux[i], vyy = uyy[i] - uy[i] * uy[i], vxy = uxy[i] - ux[i] * uy[i];
                double sv = ((2 * ux[i] * uy[i] + c1) * (2 * vxy + c2))
                            / ((ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vxx + vyy + c2));
                total += sv;
                count++;
                if (map != NULL)
                  map->data[out] = (float) sv;
              }
          }
      }
    g_free (zrow);
    g_free (ring);
    g_free (acc);
  }

  if (count == 0)
    {
      g_set_error (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY,
                   "SSIM is undefined: the mask holds no valid window centre (centres must be %d voxels from the edges)", R);
      return NAN;
    }
  if (ssim_map != NULL)
    *ssim_map = g_steal_pointer (&map);
  return total / (double) count;
}
