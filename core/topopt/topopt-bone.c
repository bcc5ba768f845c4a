/* topopt-bone.c — multi-resolution BMD deviation and black-and-white constraints (paper 000, sec. 2),
 * and the VOI's mass.
 *
 *   g_m    = (1/N_m) sum_b (mean of xPhys over block b of level m - rho0(m)_b)^2 - eps1
 *   g_bw   = (1/N) sum_e 4 xPhys_e (1 - xPhys_e) - eps2
 *   g_mass = (1/N) sum_e xPhys_e - mean rho0 - eps_mass,   eps_mass = 0.02 mean rho0
 * The mean-square deviation alone leaves the VOI's mass free by up to sqrt(eps1) (0.045 at the
 * default): compliance minimization always wants more bone, so it spends that slack on a uniform
 * excess, and BV/TV came out 0.037 above the clinical mean in the head and the neck at n = 8 (+11 and
 * +22 % against the truth). The mean of a QCT VOI is its best-measured quantity; g_mass holds it.
 * Level m uses blocks of f_m = n / 2^m fine elements per axis (f_m >= 2): m = 0 is the clinical
 * voxel, where rho0(0) = rho0. The paper leaves rho0 at finer levels open; we sample the clinical
 * map trilinearly at the block centres, so intermediate levels carry the BMD gradient, not the
 * staircase of the clinical voxels. */
#include "topopt-private.h"

#include <math.h>

TbTopoptBone *
tb_topopt_bone_new (const TbVolume *rho0, int upscale, int n_levels, double eps1, double eps2, GError **error)
{
  if (upscale < 2 || upscale > 32)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "Upscale factor n = %d is out of range; use 2 to 32", upscale);
      return NULL;
    }
  int max_levels = 0;
  for (int f = upscale; f >= 2 && f % 2 == 0 && upscale % f == 0; f /= 2)
    max_levels++;
  if (upscale % 2 != 0)
    max_levels = 1;
  if (n_levels < 1 || n_levels > MIN (max_levels, TB_TOPOPT_MAX_LEVELS))
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "%d BMD levels asked, but n = %d allows 1 to %d (block sizes n, n/2, ... down to 2)",
                   n_levels, upscale, MIN (max_levels, TB_TOPOPT_MAX_LEVELS));
      return NULL;
    }
  if (!(eps1 > 0 && eps1 < 1) || !(eps2 > 0 && eps2 <= 1))
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "Tolerances eps1 = %g and eps2 = %g must lie in (0, 1)", eps1, eps2);
      return NULL;
    }
  TbTopoptBone *b = g_new0 (TbTopoptBone, 1);
  b->nx = rho0->nx * upscale;
  b->ny = rho0->ny * upscale;
  b->nz = rho0->nz * (rho0->nz > 1 ? upscale : 1);
  b->n_levels = n_levels;
  b->eps1 = eps1;
  b->eps2 = eps2;
  double m0 = 0;
  for (gsize v = 0; v < tb_volume_n_voxels (rho0); v++)
    m0 += rho0->data[v];
  b->mass_ref = m0 / MAX (tb_volume_n_voxels (rho0), 1);
  b->eps_mass = 0.02 * b->mass_ref;
  for (int m = 0; m < n_levels; m++)
    {
      int f = upscale >> m;
      int fz = rho0->nz > 1 ? f : 1;
      b->factor[m] = f;
      b->cn[m][0] = b->nx / f;
      b->cn[m][1] = b->ny / f;
      b->cn[m][2] = b->nz / fz;
      gsize nc = (gsize) b->cn[m][0] * b->cn[m][1] * b->cn[m][2];
      b->ref[m] = g_new (double, nc);
      double r = (double) f / upscale;   /* level cell size in clinical voxels */
      for (int k = 0; k < b->cn[m][2]; k++)
        for (int j = 0; j < b->cn[m][1]; j++)
          for (int i = 0; i < b->cn[m][0]; i++)
            {
              double ci = (i + 0.5) * r - 0.5, cj = (j + 0.5) * r - 0.5;
              double ck = rho0->nz > 1 ? (k + 0.5) * r - 0.5 : 0;
              b->ref[m][i + (gsize) b->cn[m][0] * (j + (gsize) b->cn[m][1] * k)] =
                tb_volume_sample_trilinear (rho0, ci, cj, ck);
            }
    }
  return b;
}

void
tb_topopt_bone_free (TbTopoptBone *b)
{
  if (b == NULL)
    return;
  for (int m = 0; m < b->n_levels; m++)
    g_free (b->ref[m]);
  g_free (b);
}

void
tb_topopt_bone_eval (const TbTopoptBone *b, const double *x, double *g, double *dg)
{
  const int nx = b->nx, ny = b->ny, nz = b->nz;
  const gsize n = (gsize) nx * ny * nz;
  for (int m = 0; m < b->n_levels; m++)
    {
      const int f = b->factor[m], fz = nz > 1 ? f : 1;
      const int cx = b->cn[m][0], cy = b->cn[m][1], cz = b->cn[m][2];
      const gsize nc = (gsize) cx * cy * cz;
      const double inv = 1.0 / ((double) f * f * fz);
      double *avg = g_new0 (double, nc);
      double sum = 0;
#pragma omp parallel for schedule(static) reduction(+:sum) if (n > TB_TOPOPT_OMP_MIN)
      for (gsize c = 0; c < nc; c++)
        {
          int i = c % cx, j = (c / cx) % cy, k = c / ((gsize) cx * cy);
          double s = 0;
          for (int kk = k * fz; kk < (k + 1) * fz; kk++)
            for (int jj = j * f; jj < (j + 1) * f; jj++)
              for (int ii = i * f; ii < (i + 1) * f; ii++)
                s += x[ii + (gsize) nx * (jj + (gsize) ny * kk)];
          avg[c] = s * inv - b->ref[m][c];
          sum += avg[c] * avg[c];
        }
      g[m] = sum / nc - b->eps1;
      if (dg != NULL)
        {
          double *row = dg + (gsize) m * n;
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
          for (int k = 0; k < nz; k++)
            for (int j = 0; j < ny; j++)
              for (int i = 0; i < nx; i++)
                {
                  gsize c = i / f + (gsize) cx * (j / f + (gsize) cy * (k / fz));
                  row[i + (gsize) nx * (j + (gsize) ny * k)] = 2.0 * avg[c] * inv / nc;
                }
        }
      g_free (avg);
    }
  double bw = 0;
#pragma omp parallel for schedule(static) reduction(+:bw) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    bw += 4.0 * x[e] * (1.0 - x[e]);
  g[b->n_levels] = bw / n - b->eps2;
  if (dg != NULL)
    {
      double *row = dg + (gsize) b->n_levels * n;
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
      for (gsize e = 0; e < n; e++)
        row[e] = 4.0 * (1.0 - 2.0 * x[e]) / n;
    }
  double mass = 0;
#pragma omp parallel for schedule(static) reduction(+:mass) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    mass += x[e];
  g[b->n_levels + 1] = mass / n - b->mass_ref - b->eps_mass;
  if (dg != NULL)
    {
      double *row = dg + (gsize) (b->n_levels + 1) * n;
      for (gsize e = 0; e < n; e++)
        row[e] = 1.0 / n;
    }
}
