/* topopt-filter.c — density and sensitivity filters on a voxel grid, and Heaviside projection.
 *
 * Weights H_ei = max(0, r_min - |x_e - x_i|) over element centres (Bruns & Tortorelli 2001;
 * Andreassen et al. 2011, eq. 5–6). The grid is regular, so the weights are ONE stencil of offsets
 * that every element shares; only the normalization Hs_e = sum_i H_ei differs, near the boundary,
 * and is precomputed once. Cost: (stencil size) x (number of elements), linear in n. */
#include "topopt-private.h"

#include <math.h>

struct _TbTopoptFilter {
  int nx, ny, nz;
  double rmin;
  int n_stencil;
  int *di, *dj, *dk;   /* stencil offsets */
  double *w;           /* stencil weights */
  double *hs;          /* per element: sum of in-grid weights */
};

TbTopoptFilter *
tb_topopt_filter_new (int nx, int ny, int nz, double rmin, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (nx < 1 || ny < 1 || nz < 1)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "Filter grid %d x %d x %d is empty; give at least one element per axis", nx, ny, nz);
      return NULL;
    }
  if (!(rmin >= 1.0) || rmin > 50.0)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "Filter radius r_min = %g elements is out of range; use 1 to 50 (1 = no smoothing)", rmin);
      return NULL;
    }
  gsize n = (gsize) nx * ny * nz;
  if (!tb_memory_check (n * sizeof (double), "the filter normalization", error))
    return NULL;

  TbTopoptFilter *f = g_new0 (TbTopoptFilter, 1);
  f->nx = nx; f->ny = ny; f->nz = nz;
  f->rmin = rmin;
  int r = (int) ceil (rmin) - 1;
  int rz = nz > 1 ? r : 0;   /* a 2D grid filters in-plane only */
  int cap = (2 * r + 1) * (2 * r + 1) * (2 * rz + 1);
  f->di = g_new (int, cap);
  f->dj = g_new (int, cap);
  f->dk = g_new (int, cap);
  f->w = g_new (double, cap);
  for (int k = -rz; k <= rz; k++)
    for (int j = -r; j <= r; j++)
      for (int i = -r; i <= r; i++)
        {
          double w = rmin - sqrt ((double) (i * i + j * j + k * k));
          if (w <= 0)
            continue;
          f->di[f->n_stencil] = i;
          f->dj[f->n_stencil] = j;
          f->dk[f->n_stencil] = k;
          f->w[f->n_stencil] = w;
          f->n_stencil++;
        }
  f->hs = g_new (double, n);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        {
          double s = 0;
          for (int q = 0; q < f->n_stencil; q++)
            {
              int ii = i + f->di[q], jj = j + f->dj[q], kk = k + f->dk[q];
              if (ii >= 0 && ii < nx && jj >= 0 && jj < ny && kk >= 0 && kk < nz)
                s += f->w[q];
            }
          f->hs[i + (gsize) nx * (j + (gsize) ny * k)] = s;
        }
  return f;
}

void
tb_topopt_filter_free (TbTopoptFilter *f)
{
  if (f == NULL)
    return;
  g_free (f->di); g_free (f->dj); g_free (f->dk);
  g_free (f->w); g_free (f->hs);
  g_free (f);
}

/* out_e = sum_i H_ei in_i (unnormalized; H is symmetric, so this is also H^T). */
static void
apply_h (const TbTopoptFilter *f, const double *in, double *out)
{
  const int nx = f->nx, ny = f->ny, nz = f->nz;
  const gsize n = (gsize) nx * ny * nz;
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        gsize row = (gsize) nx * (j + (gsize) ny * k);
        for (int i = 0; i < nx; i++)
          {
            double s = 0;
            for (int q = 0; q < f->n_stencil; q++)
              {
                int ii = i + f->di[q], jj = j + f->dj[q], kk = k + f->dk[q];
                if (ii >= 0 && ii < nx && jj >= 0 && jj < ny && kk >= 0 && kk < nz)
                  s += f->w[q] * in[ii + (gsize) nx * (jj + (gsize) ny * kk)];
              }
            out[row + i] = s;
          }
      }
}

void
tb_topopt_filter_density (const TbTopoptFilter *f, const double *x, double *xf)
{
  g_return_if_fail (f != NULL && x != NULL && xf != NULL && x != xf);
  gsize n = (gsize) f->nx * f->ny * f->nz;
  apply_h (f, x, xf);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    xf[e] /= f->hs[e];
}

/* d/dx_i of a function of xf: sum_e (H_ei / Hs_e) df/dxf_e (Andreassen et al. 2011, eq. 7). */
void
tb_topopt_filter_density_adjoint (const TbTopoptFilter *f, const double *dxf, double *dx)
{
  g_return_if_fail (f != NULL && dxf != NULL && dx != NULL && dx != dxf);
  gsize n = (gsize) f->nx * f->ny * f->nz;
  double *tmp = g_new (double, n);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    tmp[e] = dxf[e] / f->hs[e];
  apply_h (f, tmp, dx);
  g_free (tmp);
}

/* dc_e <- sum_i H_ei x_i dc_i / (Hs_e max(1e-3, x_e))  (Sigmund 1997; 88-line code, line 36). */
void
tb_topopt_filter_sensitivity (const TbTopoptFilter *f, const double *x, const double *dc, double *dcf)
{
  g_return_if_fail (f != NULL && x != NULL && dc != NULL && dcf != NULL && dc != dcf);
  gsize n = (gsize) f->nx * f->ny * f->nz;
  double *tmp = g_new (double, n);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    tmp[e] = x[e] * dc[e];
  apply_h (f, tmp, dcf);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    dcf[e] /= f->hs[e] * MAX (1e-3, x[e]);
  g_free (tmp);
}

/* Smoothed Heaviside (Wang, Lazarov & Sigmund 2011, eq. 9):
 * y = (tanh(b eta) + tanh(b (x - eta))) / (tanh(b eta) + tanh(b (1 - eta))). */
void
tb_topopt_project (double beta, double eta, gsize n, const double *x, double *y, double *dydx)
{
  g_return_if_fail (x != NULL && y != NULL);
  double den = tanh (beta * eta) + tanh (beta * (1.0 - eta));
  double t0 = tanh (beta * eta);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    {
      double t = tanh (beta * (x[e] - eta));
      y[e] = (t0 + t) / den;
      if (dydx != NULL)
        dydx[e] = beta * (1.0 - t * t) / den;
    }
}
