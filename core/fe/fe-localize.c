/* fe-localize.c — the localized FE model of a VOI (paper 000; Kim et al. 2016).
 *
 * For each whole-bone case, the VOI's load is F = K_VOI u: the stiffness of the VOI's own elements
 * applied to the whole-bone displacements. At a boundary node this is exactly the force the rest of
 * the bone (plus any external load there) exerts on the VOI, and the VOI alone under F is in
 * equilibrium with the whole-bone field as a solution, unique up to a rigid motion. That motion is
 * removed by a statically determinate 3-2-1 set (2-1 in 2D) at three corners, whose reactions are ~0
 * because F is self-equilibrated.
 *
 * Upscaling by n splits each element into n^dim sub-elements of the same density. Boundary forces go
 * to the fine boundary nodes as f = P_s (P_s^T P_s)^-1 F, P_s the bilinear interpolation from the
 * coarse to the fine boundary nodes: then P_s^T f = F, i.e. f does the same virtual work as F on every
 * coarse boundary field, so the resultant and moment are kept exactly and the load is spread smoothly.
 */
#include "fe-private.h"

#include <string.h>

/* interpolation weights from coarse node (I,J,K) to fine node (i,j,k), n sub-divisions */
static inline double
weight1 (int i, int I, int n)
{
  double d = fabs ((double) i / n - I);
  return d < 1 ? 1 - d : 0;
}

typedef struct {
  int cn[3], fn[3];      /* coarse / fine nodes per axis */
  int n, dim;
} Grids;

static gboolean
on_boundary (const int nn[3], int dim, int i, int j, int k)
{
  return i == 0 || j == 0 || i == nn[0] - 1 || j == nn[1] - 1 || (dim == 3 && (k == 0 || k == nn[2] - 1));
}

/* y (fine surface) = P_s x (coarse boundary), one component, x indexed by coarse node */
static void
prolong_surface (const Grids *g, const double *x, double *y)
{
  int n = g->n;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < g->fn[2]; k++)
    for (int j = 0; j < g->fn[1]; j++)
      for (int i = 0; i < g->fn[0]; i++)
        {
          gsize f = (gsize) i + (gsize) g->fn[0] * ((gsize) j + (gsize) g->fn[1] * k);
          if (!on_boundary (g->fn, g->dim, i, j, k))
            {
              y[f] = 0;
              continue;
            }
          double s = 0;
          int I0 = i / n, J0 = j / n, K0 = g->dim == 3 ? k / n : 0;
          for (int K = K0; K <= MIN (K0 + 1, g->cn[2] - 1); K++)
            for (int J = J0; J <= MIN (J0 + 1, g->cn[1] - 1); J++)
              for (int I = I0; I <= MIN (I0 + 1, g->cn[0] - 1); I++)
                {
                  double w = weight1 (i, I, n) * weight1 (j, J, n) * (g->dim == 3 ? weight1 (k, K, n) : 1.0);
                  if (w != 0)
                    s += w * x[(gsize) I + (gsize) g->cn[0] * ((gsize) J + (gsize) g->cn[1] * K)];
                }
          y[f] = s;
        }
}

/* x (coarse) = P_s^T y, restricted to coarse boundary nodes */
static void
restrict_surface (const Grids *g, const double *y, double *x)
{
  int n = g->n;
#pragma omp parallel for schedule(static)
  for (int K = 0; K < g->cn[2]; K++)
    for (int J = 0; J < g->cn[1]; J++)
      for (int I = 0; I < g->cn[0]; I++)
        {
          gsize c = (gsize) I + (gsize) g->cn[0] * ((gsize) J + (gsize) g->cn[1] * K);
          x[c] = 0;
          if (!on_boundary (g->cn, g->dim, I, J, K))
            continue;
          double s = 0;
          for (int k = MAX (0, (K - 1) * n); k <= MIN (g->fn[2] - 1, (K + 1) * n); k++)
            for (int j = MAX (0, (J - 1) * n); j <= MIN (g->fn[1] - 1, (J + 1) * n); j++)
              for (int i = MAX (0, (I - 1) * n); i <= MIN (g->fn[0] - 1, (I + 1) * n); i++)
                {
                  if (!on_boundary (g->fn, g->dim, i, j, k))
                    continue;
                  double w = weight1 (i, I, n) * weight1 (j, J, n) * (g->dim == 3 ? weight1 (k, K, n) : 1.0);
                  if (w != 0)
                    s += w * y[(gsize) i + (gsize) g->fn[0] * ((gsize) j + (gsize) g->fn[1] * k)];
                }
          x[c] = s;
        }
}

/* solve (P_s^T P_s) c = F on the coarse boundary nodes by CG (well conditioned: a surface mass matrix) */
static void
surface_solve (const Grids *g, const double *F, double *c)
{
  gsize nc = (gsize) g->cn[0] * g->cn[1] * g->cn[2], nf = (gsize) g->fn[0] * g->fn[1] * g->fn[2];
  g_autofree double *r = g_memdup2 (F, nc * sizeof (double));
  g_autofree double *p = g_memdup2 (F, nc * sizeof (double));
  g_autofree double *q = g_new (double, nc), *t = g_new (double, nf);
  memset (c, 0, nc * sizeof (double));
  double rr = 0, r0;
  for (gsize a = 0; a < nc; a++)
    rr += r[a] * r[a];
  r0 = rr;
  for (int it = 0; it < 1000 && rr > 1e-30 * r0 && rr > 0; it++)
    {
      prolong_surface (g, p, t);
      restrict_surface (g, t, q);
      double pq = 0;
      for (gsize a = 0; a < nc; a++)
        pq += p[a] * q[a];
      double al = rr / pq, rn = 0;
      for (gsize a = 0; a < nc; a++)
        {
          c[a] += al * p[a];
          r[a] -= al * q[a];
          rn += r[a] * r[a];
        }
      for (gsize a = 0; a < nc; a++)
        p[a] = r[a] + rn / rr * p[a];
      rr = rn;
    }
}

TbFeModel *
tb_fe_localize (const TbFeSolver *whole, const TbBox *voi, int upscale, GError **error)
{
  g_return_val_if_fail (whole != NULL && voi != NULL, NULL);
  TbFeModel *W = tb_fe_solver_get_model ((TbFeSolver *) whole);
  int dim = W->dim, n = upscale;
  int bz0 = dim == 3 ? voi->z0 : 0, bnz = dim == 3 ? voi->nz : 1;
  if (n < 1 || n > 64)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "VOI upscale factor %d: use 1 to 64", n);
      return NULL;
    }
  if (voi->nx < 1 || voi->ny < 1 || bnz < 1 || voi->x0 < 0 || voi->y0 < 0 || bz0 < 0 ||
      voi->x0 + voi->nx > W->n[0] || voi->y0 + voi->ny > W->n[1] || bz0 + bnz > W->n[2])
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE,
                   "VOI (%d,%d,%d)+(%d x %d x %d) is not inside the %d x %d x %d element model: move or shrink it",
                   voi->x0, voi->y0, voi->z0, voi->nx, voi->ny, voi->nz, W->n[0], W->n[1], W->n[2]);
      return NULL;
    }
  const double *E = tb_fe_solver_moduli (whole);
  double Emax = 0;
  for (int k = 0; k < bnz; k++)
    for (int j = 0; j < voi->ny; j++)
      for (int i = 0; i < voi->nx; i++)
        Emax = MAX (Emax, E[(gsize) (voi->x0 + i) + (gsize) W->n[0] * ((gsize) (voi->y0 + j) + (gsize) W->n[1] * (bz0 + k))]);
  if (!(Emax > 1e-3 * W->E0))
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE,
                   "VOI (%d,%d,%d)+(%d x %d x %d) holds no bone (all its elements are void): place it inside the bone",
                   voi->x0, voi->y0, voi->z0, voi->nx, voi->ny, voi->nz);
      return NULL;
    }
  for (int lc = 0; lc < tb_fe_model_n_load_cases (W); lc++)
    if (tb_fe_solver_get_displacement (whole, lc) == NULL)
      {
        g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "localize: solve the whole model first");
        return NULL;
      }
  double h[3] = { W->h[0] / n, W->h[1] / n, W->h[2] / (dim == 3 ? n : 1) };
  TbFeModel *V = tb_fe_model_new (voi->nx * n, voi->ny * n, dim == 3 ? bnz * n : 1, h, error);
  if (V == NULL)
    return NULL;
  V->E0 = W->E0; V->Emin = W->Emin; V->nu = W->nu; V->penal = W->penal; V->thickness = W->thickness;
  tb_fe_element_stiffness (dim, V->h, V->nu, V->thickness, V->K0);
  double origin[3] = { W->origin[0] + voi->x0 * W->h[0], W->origin[1] + voi->y0 * W->h[1],
                       W->origin[2] + (dim == 3 ? bz0 * W->h[2] : 0) };
  tb_fe_model_set_origin (V, origin);
  for (gsize e = 0; e < V->n_el; e++)
    {
      int i = e % V->n[0], j = (e / V->n[0]) % V->n[1], k = e / ((gsize) V->n[0] * V->n[1]);
      V->rho[e] = W->rho[(gsize) (voi->x0 + i / n) + (gsize) W->n[0] *
                         ((gsize) (voi->y0 + j / n) + (gsize) W->n[1] * (bz0 + k / n))];
    }
  Grids g = { .n = n, .dim = dim };
  g.cn[0] = voi->nx + 1; g.cn[1] = voi->ny + 1; g.cn[2] = dim == 3 ? bnz + 1 : 1;
  for (int a = 0; a < 3; a++)
    g.fn[a] = V->nn[a];
  gsize nc = (gsize) g.cn[0] * g.cn[1] * g.cn[2], nf = V->n_nodes;
  g_autofree double *F = g_new (double, nc * dim);
  g_autofree double *Fc = g_new (double, nc), *cc = g_new (double, nc), *ff = g_new (double, nf);
  for (int lc = 0; lc < tb_fe_model_n_load_cases (W); lc++)
    {
      const double *u = tb_fe_solver_get_displacement (whole, lc);
      g_autofree char *name = g_strdup_printf ("%s (VOI)", tb_fe_model_load_case_name (W, lc));
      int vlc = tb_fe_model_add_load_case (V, name, tb_fe_model_load_case_weight (W, lc));
      /* F = K_VOI u at the coarse VOI nodes */
      memset (F, 0, nc * dim * sizeof (double));
      for (int k = 0; k < bnz; k++)
        for (int j = 0; j < voi->ny; j++)
          for (int i = 0; i < voi->nx; i++)
            {
              gsize e = (gsize) (voi->x0 + i) + (gsize) W->n[0] * ((gsize) (voi->y0 + j) + (gsize) W->n[1] * (bz0 + k));
              double ue[24];
              tb_fe_element_gather (W, e, u, ue);
              for (int a = 0; a < W->nen; a++)
                {
                  gsize cnode = (gsize) (i + (a & 1)) + (gsize) g.cn[0] * ((gsize) (j + ((a >> 1) & 1)) +
                                (gsize) g.cn[1] * (k + ((a >> 2) & 1)));
                  for (int c = 0; c < dim; c++)
                    {
                      double s = 0;
                      for (int b = 0; b < W->nke; b++)
                        s += W->K0[(a * dim + c) * W->nke + b] * ue[b];
                      F[cnode * dim + c] += E[e] * s;
                    }
                }
            }
      for (int c = 0; c < dim; c++)
        {
          for (gsize a = 0; a < nc; a++)
            Fc[a] = F[a * dim + c];
          double *fv = ((TbFeLoadCase *) g_ptr_array_index (V->cases, vlc))->f;
          if (n == 1)
            {
              for (gsize a = 0; a < nc; a++)
                fv[a * dim + c] = Fc[a];
              continue;
            }
          /* interior coarse nodes (external loads inside the VOI) go to the coincident fine node */
          for (int K = 0; K < g.cn[2]; K++)
            for (int J = 0; J < g.cn[1]; J++)
              for (int I = 0; I < g.cn[0]; I++)
                if (!on_boundary (g.cn, dim, I, J, K))
                  {
                    gsize a = (gsize) I + (gsize) g.cn[0] * ((gsize) J + (gsize) g.cn[1] * K);
                    fv[tb_fe_model_node (V, I * n, J * n, K * n) * dim + c] += Fc[a];
                    Fc[a] = 0;
                  }
          surface_solve (&g, Fc, cc);
          prolong_surface (&g, cc, ff);
          for (gsize a = 0; a < nf; a++)
            fv[a * dim + c] += ff[a];
        }
    }
  /* 3-2-1 (2-1 in 2D) at three corners: statically determinate, no added stiffness */
  gsize A = tb_fe_model_node (V, 0, 0, 0), B = tb_fe_model_node (V, V->n[0], 0, 0);
  tb_fe_model_fix (V, A, TB_FE_XYZ);
  tb_fe_model_fix (V, B, TB_FE_Y | TB_FE_Z);
  if (dim == 3)
    tb_fe_model_fix (V, tb_fe_model_node (V, 0, V->n[1], 0), TB_FE_Z);
  return V;
}
