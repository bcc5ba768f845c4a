/* fe-multigrid.c — the CPU multigrid hierarchy behind TbFeOps: matrix-free fine level, coarse levels as
 * assembled 27-point (9-point in 2D) block stencils, trilinear transfers, banded Cholesky at the bottom.
 *
 * Coarse grids: the fine grid is padded with zero-stiffness cells to a multiple of 2^(levels-1), so every
 * coarse cell has exactly 2^dim children and nested trilinear interpolation is trilinear from any coarse
 * level straight to the fine nodes. That makes the Galerkin operator P^T K P an element-by-element sum:
 * coarse cell matrix = sum over its fine elements of E_e * W_p^T K0 W_p, where W_p (the interpolation from
 * the coarse cell's corners to a fine element at position p inside it) depends only on p, so the
 * matrices W_p^T K0 W_p are tabulated once. Fine elements that touch a constrained DOF use W with those rows
 * zeroed (exact Galerkin of the constrained operator). Deep levels are built from the stored cell matrices
 * one level up (Pc^T Kc Pc over the children). Rediscretization (for comparison): cell modulus = mean of
 * its fine moduli times K0 of the coarse cell size.
 *
 * Layout: the fine level keeps the model's interleaved DOFs (node*dim + c). Coarse levels store their
 * vectors component by component (c*stride + guard + node) and their stencils in float, in blocks of
 * SW nodes along a row (one SIMD vector; rows padded with zeros to whole blocks), each block's
 * (neighbour, c1, c2) vectors one after another: the apply reads the stencil, the largest array of the
 * hierarchy, as one sequential stream (the hardware prefetcher follows it; one array per (neighbour,
 * c1, c2) made 243 streams, and the 128^3 model's level 1 ran at half the memory bandwidth), at half
 * the bytes of double. The stencils are summed in double and rounded once to float: a preconditioner needs no more
 * (PETSc and hypre run mixed-precision multigrid the same way); the coarsest level is factored from the
 * double sums. The guard (one node layer + one row each side, zero, fixed) lets shifted loads at the
 * grid's edges read harmless zeros instead of testing bounds.
 */
#include "fe-private.h"

#include <lapacke.h>
#undef I  /* complex.h, pulled in by lapacke.h, defines I */
#include <math.h>
#include <string.h>

#define MAX_LEVELS 10
#ifdef TB_FE_VARIANT_AVX512
#define SW 8   /* doubles per SIMD vector: the coarse stencil's block of nodes */
#else
#define SW 2   /* SSE2: the portable build's widest vector */
#endif
#define TAB_LEVELS_3D 3  /* tabulate W^T K0 W up to 8^3 positions; deeper levels recurse over children */
#define TAB_LEVELS_2D 5

typedef struct {
  int nc[3], nn[3];
  int nb;             /* coarse: stencil blocks of SW nodes per row */
  gsize n_nodes, n_dofs;  /* n_dofs: the vector length (coarse levels: dim * stride) */
  gboolean soa;       /* coarse levels: component-major vectors with guards */
  gsize guard, stride;
  float *A;           /* coarse: stencil, [row][block][s][c1][c2][lane] (file comment) */
  double *Ad;         /* the same in double while (re)building */
  double *cells;      /* stored full cell matrices (levels >= tab level), n_cells * nke * nke */
  double *dinv;
  guint8 *fixed;
  double lmax;
  double *t1, *t2;    /* work vectors for cap right-hand sides */
  int cap;
  gsize *fixed_list;  /* indices d with fixed[d] (guards included) */
  gsize n_fixed;
  double *eig;        /* last power-iteration vector (warm start after a density change) */
  double *band;       /* coarsest: banded Cholesky factor */
  gsize *bnode;       /* coarsest: node -> its number in the band ordering */
  int kd;
  int *rlo, *rhi;     /* per node row (j, k): its active nodes lie in [rlo, rhi) (none: rlo == rhi) */
  TbFeActiveBuf act;  /* the active entries of the level's vectors (tb-fe.h) */
} Level;

struct _TbFeHierarchy {
  TbFeModel *model;
  TbFeSettings s;
  int dim, nen, nke, S, nl, nt;
  int pad[3];
  double *E;          /* fine element moduli */
  guint8 *el_fixed;   /* fine elements with a constrained DOF (their Galerkin rows are masked) */
  double mu_elem;     /* rigorous bound of lambda_max(D^-1 A) on the fine level */
  int *erange;        /* per fine element row: [lo, hi) holds its elements with E != 0 */
  gboolean keep_ad;   /* densities have changed once: expect more updates, keep the double stencils */
  Level lv[MAX_LEVELS];
};

static void make_fixed_list (Level *L);

/* q over the active entries of level L, vector by vector (FOR_VECTORS) or once: the loops of this
 * file touch nothing else (tb-fe.h, TbFeActive) */
#define ACTIVE_FOR(L, q) TB_FE_ACTIVE_FOR (&(L)->act.a, q)
#define PAR_IF(L) if ((L)->act.a.n_active > 50000)

/* ---- geometry helpers ---- */

static inline gsize
lnode (const Level *L, int i, int j, int k)
{
  return (gsize) i + (gsize) L->nn[0] * ((gsize) j + (gsize) L->nn[1] * (gsize) k);
}

/* index of (node, component) in a level's vectors */
static inline gsize
vidx (const Level *L, gsize n, int c, int dim)
{
  return L->soa ? L->guard + (gsize) c * L->stride + n : n * dim + c;
}

/* index of stencil entry (node, neighbour s, c1, c2) in the double stencil being built: node-major,
 * so the cell-by-cell scatter stays in cache (the float copy is transposed once at the end) */
static inline gsize
adidx (gsize n, int s, int c1, int c2, int dim)
{
  return (((n * (dim == 3 ? 27 : 9) + s) * dim + c1) * dim + c2);
}

/* trilinear weights of the 2^dim corners of a unit cell at local coordinates xi */
static void
corner_weights (int dim, const double xi[3], double w[8])
{
  int nen = dim == 2 ? 4 : 8;
  for (int b = 0; b < nen; b++)
    {
      double v = 1;
      for (int a = 0; a < dim; a++)
        v *= ((b >> a) & 1) ? xi[a] : 1.0 - xi[a];
      w[b] = v;
    }
}

/* Kout += scale * W^T Kin W; W[a][b] = weight of coarse corner b at fine node a, per component;
 * mask (may be NULL) zeroes fine DOFs a*dim+c. */
static void
galerkin_add (int dim, const double *Kin, const double W[8][8], const guint8 *mask, double scale, double *Kout)
{
  int nen = dim == 2 ? 4 : 8, nke = nen * dim;
  double T[24 * 24];
  /* T[(a c1),(b' c2)] = sum_a' Kin[(a c1),(a' c2)] m W[a'][b'] */
  for (int r = 0; r < nke; r++)
    for (int bp = 0; bp < nen; bp++)
      for (int c2 = 0; c2 < dim; c2++)
        {
          double s = 0;
          for (int ap = 0; ap < nen; ap++)
            if (mask == NULL || !mask[ap * dim + c2])
              s += Kin[r * nke + ap * dim + c2] * W[ap][bp];
          T[r * nke + bp * dim + c2] = s;
        }
  for (int b = 0; b < nen; b++)
    for (int c1 = 0; c1 < dim; c1++)
      for (int q = 0; q < nke; q++)
        {
          double s = 0;
          for (int a = 0; a < nen; a++)
            if (mask == NULL || !mask[a * dim + c1])
              s += W[a][b] * T[(a * dim + c1) * nke + q];
          Kout[(b * dim + c1) * nke + q] += scale * s;
        }
}

/* W for a child at integer position p inside a parent of 2^l children per axis */
static void
child_weights (int dim, int l, const int p[3], double W[8][8])
{
  int nen = dim == 2 ? 4 : 8;
  double f = 1.0 / (double) (1 << l);
  for (int a = 0; a < nen; a++)
    {
      double xi[3] = { 0, 0, 0 };
      for (int ax = 0; ax < dim; ax++)
        xi[ax] = (p[ax] + ((a >> ax) & 1)) * f;
      corner_weights (dim, xi, W[a]);
    }
}

/* ---- stencil scatter and apply ---- */

static void
scatter_cell (TbFeHierarchy *H, Level *L, int I, int J, int K, const double *Kc)
{
  int dim = H->dim, nen = H->nen, nke = H->nke;
  for (int b1 = 0; b1 < nen; b1++)
    {
      int i1 = I + (b1 & 1), j1 = J + ((b1 >> 1) & 1), k1 = K + ((b1 >> 2) & 1);
      gsize n1 = lnode (L, i1, j1, k1);
      for (int b2 = 0; b2 < nen; b2++)
        {
          int dx = (b2 & 1) - (b1 & 1), dy = ((b2 >> 1) & 1) - ((b1 >> 1) & 1), dz = ((b2 >> 2) & 1) - ((b1 >> 2) & 1);
          int s = (dx + 1) + 3 * (dy + 1) + (dim == 3 ? 9 * (dz + 1) : 0);
          for (int c1 = 0; c1 < dim; c1++)
            for (int c2 = 0; c2 < dim; c2++)
              L->Ad[adidx (n1, s, c1, c2, dim)] += Kc[(b1 * dim + c1) * nke + b2 * dim + c2];
        }
    }
}

/* y = A x on a coarse level. The rows are cut into blocks of SW nodes (one SIMD vector); for each
 * block, the dim x nv sums stay in registers while the 27 (9) neighbours' coefficient vectors stream
 * past: one load of x serves dim multiply-adds, one load of A serves every right-hand side. Entries
 * towards missing neighbours are zero and the guards keep the shifted reads of x inside the vector;
 * lanes past the row's end read the next row's x against zero coefficients and are dropped. The stencil,
 * the level's largest array, is read once for all nv vectors: this is where solving the load cases
 * together pays (the apply is memory-bound). */
#define STENCIL_NVB 3  /* right-hand sides per pass: dim x 3 sums + loads fit the register file */
typedef double vecd __attribute__ ((vector_size (SW * sizeof (double))));
typedef float vecf __attribute__ ((vector_size (SW * sizeof (float))));

static inline __attribute__ ((always_inline)) void
stencil_row (const int dim, const int nvb, const Level *L, int ns, const int *sl, const gssize *so,
             const double *x, gsize nd, gsize n0, int ib, int nx, const float *arow, double *y)
{
  const int nsc = (dim == 3 ? 27 : 9) * dim * dim;
  for (int i0 = ib; i0 < nx; i0 += SW)
    {
      vecd acc[STENCIL_NVB][3];
      for (int v = 0; v < nvb; v++)
        for (int c = 0; c < dim; c++)
          acc[v][c] = (vecd) { 0 };
      for (int t = 0; t < ns; t++)
        {
          const float *a0 = arow + ((gsize) (i0 / SW) * nsc + sl[t] * dim * dim) * SW;
          const double *x0 = x + L->guard + n0 + i0 + so[t];
          for (int c2 = 0; c2 < dim; c2++)
            {
              vecd xv[STENCIL_NVB];
              for (int v = 0; v < nvb; v++)
                memcpy (&xv[v], x0 + v * nd + c2 * L->stride, sizeof (vecd));
              for (int c1 = 0; c1 < dim; c1++)
                {
                  vecf af;
                  memcpy (&af, a0 + (c1 * dim + c2) * SW, sizeof (vecf));
                  vecd ad = __builtin_convertvector (af, vecd);
                  for (int v = 0; v < nvb; v++)
                    acc[v][c1] += ad * xv[v];
                }
            }
        }
      const int m = MIN (SW, nx - i0);
      for (int v = 0; v < nvb; v++)
        for (int c = 0; c < dim; c++)
          memcpy (y + v * nd + L->guard + c * L->stride + n0 + i0, &acc[v][c], sizeof (double) * m);
    }
}

static void
stencil_apply (TbFeHierarchy *H, Level *L, int nv, const double *x, double *y)
{
  const int dim = H->dim, S = H->S;
  const int nx = L->nn[0], ny = L->nn[1], nz = L->nn[2];
  const gsize nd = L->n_dofs;
#pragma omp parallel for collapse(2) schedule(dynamic, 16) num_threads(H->nt)
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        /* the row's active nodes, from the start of their first block (the rest of the row stays zero) */
        const gsize row = (gsize) j + (gsize) ny * k;
        const int lo = L->rlo[row] / SW * SW, hi = L->rhi[row];
        if (L->rlo[row] >= hi)
          continue;
        /* the neighbours inside the grid (rows above and below the ends are skipped) */
        int sl[27], ns = 0;
        gssize so[27];
        for (int s = 0; s < S; s++)
          {
            int dx = s % 3 - 1, dy = (s / 3) % 3 - 1, dz = dim == 3 ? s / 9 - 1 : 0;
            if (j + dy < 0 || j + dy >= ny || k + dz < 0 || k + dz >= nz)
              continue;
            sl[ns] = s;
            so[ns++] = dx + (gssize) nx * (dy + (gssize) ny * dz);
          }
        const gsize n0 = lnode (L, 0, j, k);
        const float *arow = L->A + ((gsize) j + (gsize) ny * k) * L->nb * SW * S * dim * dim;
        for (int v0 = 0; v0 < nv; v0 += STENCIL_NVB)
          {
            const double *xv = x + v0 * nd;
            double *yv = y + v0 * nd;
            const int nvb = MIN (STENCIL_NVB, nv - v0);
            if (dim == 3)
              {
                if (nvb == 1) stencil_row (3, 1, L, ns, sl, so, xv, nd, n0, lo, hi, arow, yv);
                else if (nvb == 2) stencil_row (3, 2, L, ns, sl, so, xv, nd, n0, lo, hi, arow, yv);
                else stencil_row (3, 3, L, ns, sl, so, xv, nd, n0, lo, hi, arow, yv);
              }
            else
              {
                if (nvb == 1) stencil_row (2, 1, L, ns, sl, so, xv, nd, n0, lo, hi, arow, yv);
                else if (nvb == 2) stencil_row (2, 2, L, ns, sl, so, xv, nd, n0, lo, hi, arow, yv);
                else stencil_row (2, 3, L, ns, sl, so, xv, nd, n0, lo, hi, arow, yv);
              }
          }
      }
}

/* y = A x; single: the fine level's element products in float (smoothing only, settings) */
static void
level_apply (TbFeHierarchy *H, int l, int nv, const double *x, double *y, gboolean single)
{
  Level *L = &H->lv[l];
  const gsize nd = L->n_dofs;
  if (l == 0)
    for (int v = 0; v < nv; v++)  /* the element kernel is compute-bound: nothing to share */
      tb_fe_apply_kernel_active (H->model, H->E, H->erange, &L->act.a, single, x + v * nd, y + v * nd, H->nt);
  else
    stencil_apply (H, L, nv, x, y);
  for (int v = 0; v < nv; v++)
    for (gsize q = 0; q < L->n_fixed; q++)
      y[v * nd + L->fixed_list[q]] = x[v * nd + L->fixed_list[q]];
}

static void
cpu_apply (TbFeHierarchy *H, int l, int nv, const double *x, double *y)
{
  level_apply (H, l, nv, x, y, FALSE);
}

/* the operator as the smoother and the V-cycle's residual see it */
static void
smooth_apply (TbFeHierarchy *H, int l, int nv, const double *x, double *y)
{
  level_apply (H, l, nv, x, y, H->s.single_smoothing);
}

/* the level's work vectors hold nv right-hand sides */
static void
level_reserve (Level *L, int nv)
{
  if (L->cap >= nv)
    return;
  g_free (L->t1);
  g_free (L->t2);
  L->t1 = g_new0 (double, L->n_dofs * nv);
  L->t2 = g_new0 (double, L->n_dofs * nv);
  L->cap = nv;
}

/* ---- building the coarse levels ---- */

static void
level_alloc (TbFeHierarchy *H, Level *L, gboolean stencil)
{
  L->n_nodes = (gsize) L->nn[0] * L->nn[1] * L->nn[2];
  L->n_dofs = L->n_nodes * H->dim;
  if (stencil)
    {
      L->soa = TRUE;
      L->guard = (gsize) L->nn[0] * L->nn[1] + L->nn[0] + 1;
      L->stride = L->n_nodes + 2 * L->guard;
      L->n_dofs = L->stride * H->dim;
      L->nb = (L->nn[0] + SW - 1) / SW;
      L->A = g_new0 (float, (gsize) L->nn[1] * L->nn[2] * L->nb * SW * H->S * H->dim * H->dim);
    }
  L->dinv = g_new0 (double, L->n_dofs);
  L->fixed = g_new0 (guint8, L->n_dofs);
  level_reserve (L, 1);
}

static void
level_clear (Level *L)
{
  g_free (L->A); g_free (L->Ad); g_free (L->cells); g_free (L->dinv); g_free (L->fixed);
  g_free (L->fixed_list); g_free (L->eig);
  g_free (L->t1); g_free (L->t2); g_free (L->band); g_free (L->bnode);
  g_free (L->rlo); g_free (L->rhi);
  tb_fe_active_clear (&L->act);
  memset (L, 0, sizeof *L);
}

/* Tabulated W_p^T K0 W_p for all 2^(l*dim) positions p (full nke x nke each). */
static double *
make_table (TbFeHierarchy *H, int l)
{
  int dim = H->dim, nke = H->nke, m = 1 << l;
  gsize npos = (gsize) m * m * (dim == 3 ? m : 1);
  double *tab = g_new0 (double, npos * nke * nke);
#pragma omp parallel for schedule(static) num_threads(H->nt)
  for (gsize q = 0; q < npos; q++)
    {
      int p[3] = { q % m, (q / m) % m, dim == 3 ? (int) (q / ((gsize) m * m)) : 0 };
      double W[8][8];
      child_weights (dim, l, p, W);
      galerkin_add (dim, H->model->K0, W, NULL, 1.0, tab + q * nke * nke);
    }
  return tab;
}

/* cell matrix of level l cell (I,J,K), Galerkin from the fine elements (l <= tab level) */
static void
cell_from_fine (TbFeHierarchy *H, int l, const double *tab, int I, int J, int K, double *Kc)
{
  TbFeModel *M = H->model;
  int dim = H->dim, nke = H->nke, nen = H->nen, m = 1 << l;
  memset (Kc, 0, sizeof (double) * nke * nke);
  for (int pz = 0; pz < (dim == 3 ? m : 1); pz++)
    for (int py = 0; py < m; py++)
      for (int px = 0; px < m; px++)
        {
          int ex = I * m + px, ey = J * m + py, ez = dim == 3 ? K * m + pz : 0;
          if (ex >= M->n[0] || ey >= M->n[1] || ez >= M->n[2])
            continue;  /* padding: zero stiffness */
          gsize e = (gsize) ex + (gsize) M->n[0] * ((gsize) ey + (gsize) M->n[1] * ez);
          double Ee = H->E[e];
          if (Ee == 0)
            continue;
          if (H->el_fixed[e])
            {
              gsize nodes[8];
              guint8 mask[24];
              tb_fe_element_nodes (M, e, nodes);
              for (int a = 0; a < nen; a++)
                for (int c = 0; c < dim; c++)
                  mask[a * dim + c] = H->lv[0].fixed[nodes[a] * dim + c];
              int p[3] = { px, py, pz };
              double W[8][8];
              child_weights (dim, l, p, W);
              galerkin_add (dim, M->K0, W, mask, Ee, Kc);
              continue;
            }
          const double *T = tab + ((gsize) px + m * ((gsize) py + m * pz)) * nke * nke;
#pragma omp simd
          for (int q = 0; q < nke * nke; q++)
            Kc[q] += Ee * T[q];
        }
}

static void
cell_from_children (TbFeHierarchy *H, int l, int I, int J, int K, double *Kc)
{
  Level *P = &H->lv[l - 1];
  int dim = H->dim, nke = H->nke;
  memset (Kc, 0, sizeof (double) * nke * nke);
  for (int qz = 0; qz < (dim == 3 ? 2 : 1); qz++)
    for (int qy = 0; qy < 2; qy++)
      for (int qx = 0; qx < 2; qx++)
        {
          gsize c = (gsize) (2 * I + qx) + (gsize) P->nc[0] * ((gsize) (2 * J + qy) + (gsize) P->nc[1] * (2 * K + qz));
          int p[3] = { qx, qy, qz };
          double W[8][8];
          child_weights (dim, 1, p, W);
          galerkin_add (dim, P->cells + c * nke * nke, W, NULL, 1.0, Kc);
        }
}

static void
cell_rediscretized (TbFeHierarchy *H, int l, const double *K0l, int I, int J, int K, double *Kc)
{
  TbFeModel *M = H->model;
  int dim = H->dim, nke = H->nke, m = 1 << l;
  double sum = 0;
  for (int pz = 0; pz < (dim == 3 ? m : 1); pz++)
    for (int py = 0; py < m; py++)
      for (int px = 0; px < m; px++)
        {
          int ex = I * m + px, ey = J * m + py, ez = dim == 3 ? K * m + pz : 0;
          if (ex < M->n[0] && ey < M->n[1] && ez < M->n[2])
            sum += H->E[(gsize) ex + (gsize) M->n[0] * ((gsize) ey + (gsize) M->n[1] * ez)];
        }
  double Ec = sum / ((double) m * m * (dim == 3 ? m : 1));
  for (int q = 0; q < nke * nke; q++)
    Kc[q] = Ec * K0l[q];
}

static void
build_level (TbFeHierarchy *H, int l)
{
  Level *L = &H->lv[l];
  int dim = H->dim, nke = H->nke, tabl = dim == 3 ? TAB_LEVELS_3D : TAB_LEVELS_2D;
  /* kept between updates (keep_ad): a fresh 70 MB (64^3 model's level 1) array every TO iteration
   * cost a page fault per 4 KB on first write and a TLB shootdown on each free (~9 % of a bone
   * iteration) */
  gsize n_ad = L->n_nodes * H->S * dim * dim;
  if (L->Ad == NULL)
    L->Ad = g_new0 (double, n_ad);
  else
    memset (L->Ad, 0, n_ad * sizeof (double));
  gboolean galerkin = H->s.coarse == TB_FE_COARSE_GALERKIN;
  gboolean store = galerkin && l >= tabl && l < H->nl - 1;
  gsize n_cells = (gsize) L->nc[0] * L->nc[1] * L->nc[2];
  if (store && L->cells == NULL)
    L->cells = g_new (double, n_cells * nke * nke);
  g_autofree double *tab = NULL;
  double K0l[24 * 24];
  if (galerkin && l <= tabl)
    tab = make_table (H, l);
  if (!galerkin)
    {
      double hl[3];
      for (int a = 0; a < 3; a++)
        hl[a] = H->model->h[a] * (a < dim ? (1 << l) : 1);
      tb_fe_element_stiffness (dim, hl, H->model->nu, H->model->thickness, K0l);
    }
  /* colour cells by parity so cells of one colour share no node */
  for (int colour = 0; colour < (dim == 3 ? 8 : 4); colour++)
    {
      int cx = colour & 1, cy = (colour >> 1) & 1, cz = (colour >> 2) & 1;
      int mx = (L->nc[0] - cx + 1) / 2, my = (L->nc[1] - cy + 1) / 2, mz = dim == 3 ? (L->nc[2] - cz + 1) / 2 : 1;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(H->nt)
      for (int kk = 0; kk < mz; kk++)
        for (int jj = 0; jj < my; jj++)
          {
            double Kc[24 * 24];
            for (int ii = 0; ii < mx; ii++)
              {
                int I = 2 * ii + cx, J = 2 * jj + cy, K = dim == 3 ? 2 * kk + cz : 0;
                if (!galerkin)
                  cell_rediscretized (H, l, K0l, I, J, K, Kc);
                else if (l <= tabl)
                  cell_from_fine (H, l, tab, I, J, K, Kc);
                else
                  cell_from_children (H, l, I, J, K, Kc);
                if (store)
                  memcpy (L->cells + ((gsize) I + (gsize) L->nc[0] * ((gsize) J + (gsize) L->nc[1] * K)) * nke * nke,
                          Kc, sizeof (double) * nke * nke);  /* 2D cells are 8x8 */
                scatter_cell (H, L, I, J, K, Kc);
              }
          }
    }
  /* springs: P^T S P restricted to the diagonal blocks' own component (exact for Galerkin up to the
   * off-node couplings, which the preconditioner may drop) */
  /* constrained coarse DOFs: Galerkin -> empty rows; rediscretized -> any fine DOF they feed is fixed */
  Level *F = &H->lv[l - 1];
  memset (L->fixed, 1, L->n_dofs);  /* guards stay fixed */
  for (gsize n = 0; n < L->n_nodes; n++)
    for (int c = 0; c < dim; c++)
      L->fixed[vidx (L, n, c, dim)] = 0;
  if (!galerkin)
    {
      for (int k = 0; k < F->nn[2]; k++)
        for (int j = 0; j < F->nn[1]; j++)
          for (int i = 0; i < F->nn[0]; i++)
            for (int c = 0; c < dim; c++)
              if (F->fixed[vidx (F, lnode (F, i, j, k), c, dim)])
                for (int b = 0; b < H->nen; b++)
                  {
                    int I = i / 2 + ((b & 1) && (i & 1)), J = j / 2 + (((b >> 1) & 1) && (j & 1));
                    int K = k / 2 + (((b >> 2) & 1) && (k & 1));
                    L->fixed[vidx (L, lnode (L, I, J, K), c, dim)] = 1;
                  }
    }
  int centre = dim == 3 ? 13 : 4;
  for (gsize n = 0; n < L->n_nodes; n++)
    for (int c = 0; c < dim; c++)
      {
        double dg = L->Ad[adidx (n, centre, c, c, dim)];
        gsize d = vidx (L, n, c, dim);
        if (!(dg > 0))
          L->fixed[d] = 1;
        L->dinv[d] = L->fixed[d] ? 0.0 : 1.0 / dg;
      }
}

/* spring contributions P^T S P, level by level (diagonal of the coarse spring operator) */
static void
add_springs (TbFeHierarchy *H)
{
  TbFeModel *M = H->model;
  if (M->spring == NULL)
    return;
  int dim = H->dim, centre = dim == 3 ? 13 : 4;
  g_autofree double *s = g_memdup2 (M->spring, sizeof (double) * M->n_dofs);
  for (int l = 1; l < H->nl; l++)
    {
      Level *F = &H->lv[l - 1], *L = &H->lv[l];
      g_autofree double *sc = g_new0 (double, L->n_nodes * dim);
      for (int k = 0; k < F->nn[2]; k++)
        for (int j = 0; j < F->nn[1]; j++)
          for (int i = 0; i < F->nn[0]; i++)
            for (int c = 0; c < dim; c++)
              {
                double v = s[lnode (F, i, j, k) * dim + c];
                if (v == 0 || F->fixed[vidx (F, lnode (F, i, j, k), c, dim)])
                  continue;
                for (int b = 0; b < H->nen; b++)
                  {
                    int bx = b & 1, by = (b >> 1) & 1, bz = (b >> 2) & 1;
                    if ((bx && !(i & 1)) || (by && !(j & 1)) || (bz && !(k & 1)))
                      continue;
                    double w = ((i & 1) ? 0.5 : 1.0) * ((j & 1) ? 0.5 : 1.0) * ((dim == 3 && (k & 1)) ? 0.5 : 1.0);
                    sc[lnode (L, i / 2 + bx, j / 2 + by, k / 2 + bz) * dim + c] += w * w * v;
                  }
              }
      for (gsize n = 0; n < L->n_nodes; n++)
        for (int c = 0; c < dim; c++)
          if (sc[n * dim + c] != 0)
            {
              double *dg = &L->Ad[adidx (n, centre, c, c, dim)];
              *dg += sc[n * dim + c];
              L->fixed[vidx (L, n, c, dim)] = 0;
              L->dinv[vidx (L, n, c, dim)] = 1.0 / *dg;
            }
      g_free (s);
      s = g_steal_pointer (&sc);
    }
}

/* The coarsest level's band ordering: nodes numbered along the shortest axes first (ax, fastest
 * first), since the two fastest axes set the bandwidth; returns that bandwidth kd (in DOFs). */
static int
band_order (int dim, const int nn[3], int ax[3])
{
  ax[0] = 0; ax[1] = 1; ax[2] = 2;
  for (int a = 0; a < dim; a++)
    for (int b = a + 1; b < dim; b++)
      if (nn[ax[b]] < nn[ax[a]])
        {
          int t = ax[a]; ax[a] = ax[b]; ax[b] = t;
        }
  gsize maxoff = 1 + (gsize) nn[ax[0]] + (dim == 3 ? (gsize) nn[ax[0]] * nn[ax[1]] : 0);
  return (int) (dim * maxoff + dim - 1);
}

static gboolean
factor_coarsest (TbFeHierarchy *H, GError **error)
{
  Level *L = &H->lv[H->nl - 1];
  int dim = H->dim;
  int ax[3];
  int kd = band_order (dim, L->nn, ax);
  g_free (L->bnode);
  L->bnode = g_new (gsize, L->n_nodes);
  for (int k = 0; k < L->nn[2]; k++)
    for (int j = 0; j < L->nn[1]; j++)
      for (int i = 0; i < L->nn[0]; i++)
        {
          int ijk[3] = { i, j, k };
          L->bnode[lnode (L, i, j, k)] = (gsize) ijk[ax[0]]
            + (gsize) L->nn[ax[0]] * ((gsize) ijk[ax[1]] + (gsize) L->nn[ax[1]] * (gsize) ijk[ax[2]]);
        }
  int n = (int) (L->n_nodes * dim), ld = kd + 1;
  L->kd = kd;
  g_free (L->band);
  L->band = g_new0 (double, (gsize) n * ld);
  double dmax = 0;
  for (int k = 0; k < L->nn[2]; k++)
    for (int j = 0; j < L->nn[1]; j++)
      for (int i = 0; i < L->nn[0]; i++)
        {
          gsize n1 = lnode (L, i, j, k);
          for (int s = 0; s < H->S; s++)
            {
              int dx = s % 3 - 1, dy = (s / 3) % 3 - 1, dz = dim == 3 ? s / 9 - 1 : 0;
              int i2 = i + dx, j2 = j + dy, k2 = k + dz;
              if (i2 < 0 || j2 < 0 || k2 < 0 || i2 >= L->nn[0] || j2 >= L->nn[1] || k2 >= L->nn[2])
                continue;
              gsize n2 = lnode (L, i2, j2, k2);
              for (int c1 = 0; c1 < dim; c1++)
                for (int c2 = 0; c2 < dim; c2++)
                  {
                    gsize r = L->bnode[n1] * dim + c1, c = L->bnode[n2] * dim + c2;
                    if (r > c || L->fixed[vidx (L, n1, c1, dim)] || L->fixed[vidx (L, n2, c2, dim)])
                      continue;
                    double v = L->Ad[adidx (n1, s, c1, c2, dim)];
                    L->band[c * ld + kd + r - c] = v;
                    if (r == c)
                      dmax = MAX (dmax, v);
                  }
            }
        }
  for (gsize q = 0; q < L->n_nodes; q++)
    for (int c = 0; c < dim; c++)
      if (L->fixed[vidx (L, q, c, dim)])
        L->band[(L->bnode[q] * dim + c) * ld + kd] = 1.0;
  int info = LAPACKE_dpbtrf_work (LAPACK_COL_MAJOR, 'U', n, kd, L->band, ld);  /* _work: no NaN scan */
  if (info != 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_SINGULAR,
                   "FE model is singular (coarse grid pivot %d of %d fails): the supports do not stop "
                   "rigid-body motion of every connected part; fix more DOFs", info, n);
      return FALSE;
    }
  (void) dmax;
  return TRUE;
}

/* nv right-hand sides in one banded solve (the factor is read once for all) */
static void
cpu_coarse_solve (TbFeHierarchy *H, int nv, const double *b, double *x)
{
  Level *L = &H->lv[H->nl - 1];
  int dim = H->dim;
  gsize n = L->n_nodes * dim, nd = L->n_dofs;
  level_reserve (L, nv);
  double *t = L->t1;  /* the band solve numbers DOFs node-major; n <= n_dofs, so nv columns fit */
  for (int v = 0; v < nv; v++)
    for (gsize q = 0; q < L->n_nodes; q++)
      for (int c = 0; c < dim; c++)
        t[v * n + L->bnode[q] * dim + c] = b[v * nd + vidx (L, q, c, dim)];
  LAPACKE_dpbtrs_work (LAPACK_COL_MAJOR, 'U', (int) n, L->kd, nv, L->band, L->kd + 1, t, (int) n);
  memset (x, 0, sizeof (double) * nd * nv);
  for (int v = 0; v < nv; v++)
    for (gsize q = 0; q < L->n_nodes; q++)
      for (int c = 0; c < dim; c++)
        {
          gsize d = vidx (L, q, c, dim);
          x[v * nd + d] = L->fixed[d] ? 0.0 : t[v * n + L->bnode[q] * dim + c];
        }
}

/* ---- smoothing ---- */

/* the list of constrained entries, so cpu_apply touches only those */
static void
make_fixed_list (Level *L)
{
  gsize n = 0;
  ACTIVE_FOR (L, d)
    n += L->fixed[d] != 0;
  g_free (L->fixed_list);
  L->fixed_list = g_new (gsize, MAX (n, 1));
  L->n_fixed = 0;
  ACTIVE_FOR (L, d)
    if (L->fixed[d])
      L->fixed_list[L->n_fixed++] = d;
}

/* The level's active entries from its active nodes on[]: per row the range from the first to the
 * last, as spans of the level's vectors (level 0 interleaved, coarse levels component by component). */
static void
level_activity (TbFeHierarchy *H, Level *L, const guint8 *on)
{
  const int nx = L->nn[0];
  const gsize rows = (gsize) L->nn[1] * L->nn[2];
  if (L->rlo == NULL)
    {
      L->rlo = g_new (int, rows);
      L->rhi = g_new (int, rows);
    }
  GArray *sp = g_array_new (FALSE, FALSE, sizeof (TbFeSpan));
  for (gsize r = 0; r < rows; r++)
    {
      const guint8 *o = on + r * nx;
      int lo = 0, hi = nx;
      while (lo < hi && !o[lo])
        lo++;
      while (hi > lo && !o[hi - 1])
        hi--;
      L->rlo[r] = lo;
      L->rhi[r] = hi;
    }
  for (int c = 0; c < (L->soa ? H->dim : 1); c++)
    for (gsize r = 0; r < rows; r++)
      if (L->rlo[r] < L->rhi[r])
        {
          gsize n0 = r * nx;   /* lnode (L, 0, j, k) */
          TbFeSpan t = L->soa ? (TbFeSpan) { L->guard + c * L->stride + n0 + L->rlo[r], L->guard + c * L->stride + n0 + L->rhi[r] }
                              : (TbFeSpan) { (n0 + L->rlo[r]) * H->dim, (n0 + L->rhi[r]) * H->dim };
          g_array_append_val (sp, t);
        }
  tb_fe_active_build (&L->act, (const TbFeSpan *) sp->data, sp->len, H->nt);
  g_array_free (sp, TRUE);
}

/* coarse level: a node is active when its stencil has a diagonal (PSD: else its row is empty) */
static void
coarse_activity (TbFeHierarchy *H, Level *L)
{
  const int dim = H->dim, centre = dim == 3 ? 13 : 4;
  g_autofree guint8 *on = g_new0 (guint8, L->n_nodes);
  for (gsize n = 0; n < L->n_nodes; n++)
    for (int c = 0; c < dim; c++)
      if (L->Ad[adidx (n, centre, c, c, dim)] > 0)
        on[n] = 1;
  level_activity (H, L, on);
}

/* lambda_max of D^-1 A by power iteration: 12 steps from a random start, or 4 from the previous
 * eigenvector after a density change (TO changes densities a little per iteration). */
static double
estimate_lmax (TbFeHierarchy *H, int l)
{
  Level *L = &H->lv[l];
  const gsize n = L->n_dofs;
  double *v = L->t1, *w = L->t2;
  int steps = 12;
  /* after a density change: the last eigenvector plus a random part (a new dominant mode can be
   * orthogonal to the old one), 6 steps; the caller keeps the estimate from falling fast */
  gboolean warm = L->eig != NULL;
  double enorm = 0;
  if (warm)
    {
      steps = 6;
      ACTIVE_FOR (L, d)
        enorm += L->eig[d] * L->eig[d];
      enorm = sqrt (enorm / MAX (L->act.a.n_active, 1));
    }
  else
    L->eig = g_new0 (double, n);
  guint32 seed = 12345u;
  ACTIVE_FOR (L, d)
    {
      seed = seed * 1664525u + 1013904223u;
      double rnd = (double) (seed >> 8) / 16777216.0 - 0.5;
      v[d] = L->fixed[d] ? 0 : warm ? L->eig[d] + 0.5 * enorm * rnd : rnd;
    }
  double lam = 1;
  for (int it = 0; it < steps; it++)
    {
      double nv = 0, vw = 0, nn = 0;
#pragma omp parallel for reduction(+:nv) schedule(static) num_threads(H->nt) PAR_IF (L)
      ACTIVE_FOR (L, d)
        nv += v[d] * v[d] / (L->dinv[d] > 0 ? L->dinv[d] : 1);
      cpu_apply (H, l, 1, v, w);
#pragma omp parallel for reduction(+:vw) schedule(static) num_threads(H->nt) PAR_IF (L)
      ACTIVE_FOR (L, d)
        vw += L->fixed[d] ? 0.0 : v[d] * w[d];
      lam = nv > 0 ? vw / nv : 1;  /* Rayleigh quotient of D^-1 A in the D inner product */
#pragma omp parallel for reduction(+:nn) schedule(static) num_threads(H->nt) PAR_IF (L)
      ACTIVE_FOR (L, d)
        {
          w[d] *= L->dinv[d];
          nn += w[d] * w[d];
        }
      nn = sqrt (nn);
      if (!(nn > 0))
        break;
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
      ACTIVE_FOR (L, d)
        v[d] = w[d] / nn;
    }
  ACTIVE_FOR (L, d)
    L->eig[d] = v[d];
  return lam;
}

/* loops over nv vectors of a level: entry q of vector v is [v * nd + q]; the per-DOF data (dinv) is
 * shared, so the loop runs vector by vector */
#define FOR_VECTORS(nv, nd) for (gsize v0 = 0; v0 < (gsize) (nv) * (nd); v0 += (nd))

/* r = b - A x on level l, nv vectors, with the smoother's operator */
static void
cpu_residual (TbFeHierarchy *H, int l, int nv, const double *b, const double *x, double *r)
{
  Level *L = &H->lv[l];
  smooth_apply (H, l, nv, x, r);
  FOR_VECTORS (nv, L->n_dofs)
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
    ACTIVE_FOR (L, q)
      r[v0 + q] = b[v0 + q] - r[v0 + q];
}

static void
cpu_smooth (TbFeHierarchy *H, int l, int nv, const double *b, double *x, gboolean zero_guess)
{
  Level *L = &H->lv[l];
  const gsize n = L->n_dofs;
  level_reserve (L, nv);
  double *r = L->t1, *d = L->t2;
  const double *dinv = L->dinv;
  int steps = MAX (H->s.smooth_steps, 1);
  if (H->s.smoother == TB_FE_SMOOTHER_JACOBI)
    {
      double om = H->s.jacobi_omega > 0 ? H->s.jacobi_omega : 4.0 / (3.0 * L->lmax);
      for (int it = 0; it < steps; it++)
        {
          if (zero_guess && it == 0)
            {
              FOR_VECTORS (nv, n)
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
                ACTIVE_FOR (L, q)
                  x[v0 + q] = om * dinv[q] * b[v0 + q];
              continue;
            }
          cpu_residual (H, l, nv, b, x, r);
          FOR_VECTORS (nv, n)
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
            ACTIVE_FOR (L, q)
              x[v0 + q] += om * dinv[q] * r[v0 + q];
        }
      return;
    }
  /* Chebyshev on D^-1 A over [0.1, 1.1] * lambda_max (the interval PETSc uses), Saad Alg. 12.1.
   * The steps are fused so that each sweeps the vectors once after its operator apply: the
   * residual b - A x is formed inside the direction update, and x takes the new direction in the
   * same pass (the arithmetic of the textbook order, element by element: the same numbers). */
  double beta = 1.1 * L->lmax, alpha = 0.1 * L->lmax;
  double theta = 0.5 * (beta + alpha), delta = 0.5 * (beta - alpha), sigma = theta / delta;
  double rho_old = 1.0 / sigma;
  if (zero_guess)
    {
      /* x = 0, r = b: the first direction is D^-1 b / theta, and x is just that */
      FOR_VECTORS (nv, n)
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
        ACTIVE_FOR (L, q)
          {
            double dq = dinv[q] * b[v0 + q] / theta;
            d[v0 + q] = dq;
            x[v0 + q] = dq;
          }
    }
  else
    {
      smooth_apply (H, l, nv, x, r);
      FOR_VECTORS (nv, n)
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
        ACTIVE_FOR (L, q)
          {
            double dq = dinv[q] * (b[v0 + q] - r[v0 + q]) / theta;
            d[v0 + q] = dq;
            x[v0 + q] += dq;
          }
    }
  for (int it = 1; it < steps; it++)
    {
      smooth_apply (H, l, nv, x, r);   /* r = A x; the residual is b - r */
      double rho = 1.0 / (2.0 * sigma - rho_old);
      FOR_VECTORS (nv, n)
#pragma omp parallel for schedule(static) num_threads(H->nt) PAR_IF (L)
        ACTIVE_FOR (L, q)
          {
            double dq = rho * rho_old * d[v0 + q] + 2.0 * rho / delta * dinv[q] * (b[v0 + q] - r[v0 + q]);
            d[v0 + q] = dq;
            x[v0 + q] += dq;
          }
      rho_old = rho;
    }
}

/* ---- transfers ---- */

/* vectors of a level: entry of (node n, component c) = base[c] + n * sn */
static inline void
layout (const Level *L, int dim, gsize base[3], gsize *sn)
{
  for (int c = 0; c < 3; c++)
    base[c] = L->soa ? L->guard + (gsize) c * L->stride : (gsize) c;
  *sn = L->soa ? 1 : (gsize) dim;
}

/* x += P e on the free fine DOFs; trilinear P, done row by row: a fine row (j, k) takes its values
 * from up to four coarse rows, and along the row even nodes copy a coarse node, odd ones average two. */
static void
prolong_add1 (TbFeHierarchy *H, int f, const double *e, double *x)
{
  Level *F = &H->lv[f], *C = &H->lv[f + 1];
  const int dim = H->dim;
  gsize fb[3], cb[3], fs, cs;
  layout (F, dim, fb, &fs);
  layout (C, dim, cb, &cs);
#pragma omp parallel for collapse(2) schedule(dynamic, 16) num_threads(H->nt)
  for (int k = 0; k < F->nn[2]; k++)
    for (int j = 0; j < F->nn[1]; j++)
      {
        /* only the row's active nodes: the coarse nodes they take from are active too (each fine
         * element with stiffness lies in a coarse cell, which gives all its corners stiffness) */
        const gsize row = (gsize) j + (gsize) F->nn[1] * k;
        const int lo = F->rlo[row], hi = F->rhi[row];
        if (lo >= hi)
          continue;
        gsize rows[4];
        double wr[4];
        int nr = 0;
        for (int bz = 0; bz <= (k & 1); bz++)
          for (int by = 0; by <= (j & 1); by++)
            {
              rows[nr] = lnode (C, 0, j / 2 + by, k / 2 + bz);
              wr[nr++] = ((j & 1) ? 0.5 : 1.0) * ((k & 1) ? 0.5 : 1.0);
            }
        gsize n0 = lnode (F, 0, j, k);
        for (int c = 0; c < dim; c++)
          {
            const double *ec = e + cb[c];
            double *xc = x + fb[c];
            const guint8 *fx = F->fixed + fb[c];
            for (int i = lo; i < hi; i++)
              {
                int I = i / 2;
                double v = 0;
                for (int q = 0; q < nr; q++)
                  v += wr[q] * ((i & 1) ? 0.5 * (ec[(rows[q] + I) * cs] + ec[(rows[q] + I + 1) * cs])
                                        : ec[(rows[q] + I) * cs]);
                gsize d = (n0 + i) * fs;
                if (!fx[d])
                  xc[d] += v;
              }
          }
      }
}

/* rc = P^T r (free fine DOFs only, zero on fixed coarse DOFs), coarse row by coarse row: each takes the
 * nine fine rows around it with weights (1/2, 1, 1/2)^2, and along the row (1/2, 1, 1/2). */
static void
restrict1 (TbFeHierarchy *H, int f, const double *r, double *rc)
{
  Level *F = &H->lv[f], *C = &H->lv[f + 1];
  const int dim = H->dim, fnx = F->nn[0], cnx = C->nn[0];
  gsize fb[3], cb[3], fs, cs;
  layout (F, dim, fb, &fs);
  layout (C, dim, cb, &cs);
#pragma omp parallel num_threads(H->nt)
  {
    double *acc = g_new (double, (gsize) 3 * cnx);
#pragma omp for collapse(2) schedule(dynamic, 16)
    for (int K = 0; K < C->nn[2]; K++)
      for (int J = 0; J < C->nn[1]; J++)
        {
          /* the coarse row's active nodes (the rest of rc stays zero: no active fine node feeds them) */
          const gsize row = (gsize) J + (gsize) C->nn[1] * K;
          const int lo = C->rlo[row], hi = C->rhi[row];
          if (lo >= hi)
            continue;
          memset (acc, 0, sizeof (double) * 3 * cnx);
          for (int k = 2 * K - 1; k <= 2 * K + 1; k++)
            {
              if (k < 0 || k >= F->nn[2]) continue;
              for (int j = 2 * J - 1; j <= 2 * J + 1; j++)
                {
                  if (j < 0 || j >= F->nn[1]) continue;
                  double w = (k == 2 * K ? 1.0 : 0.5) * (j == 2 * J ? 1.0 : 0.5);
                  gsize n0 = lnode (F, 0, j, k);
                  for (int c = 0; c < dim; c++)
                    {
                      const double *rr = r + fb[c];
                      const guint8 *fx = F->fixed + fb[c];
                      double *ac = acc + (gsize) c * cnx;
#define RM(i) (fx[(n0 + (i)) * fs] ? 0.0 : rr[(n0 + (i)) * fs])
                      for (int I = lo; I < hi; I++)
                        {
                          int i = 2 * I;
                          double sum = 0;
                          if (i < fnx) sum += RM (i);
                          if (i >= 1 && i - 1 < fnx) sum += 0.5 * RM (i - 1);
                          if (i + 1 < fnx) sum += 0.5 * RM (i + 1);
                          ac[I] += w * sum;
                        }
#undef RM
                    }
                }
            }
          gsize m0 = lnode (C, 0, J, K);
          for (int c = 0; c < dim; c++)
            for (int I = lo; I < hi; I++)
              {
                gsize d = cb[c] + (m0 + I) * cs;
                rc[d] = C->fixed[d] ? 0.0 : acc[(gsize) c * cnx + I];
              }
        }
    g_free (acc);
  }
}

static void
cpu_prolong_add (TbFeHierarchy *H, int f, int nv, const double *e, double *x)
{
  for (int v = 0; v < nv; v++)
    prolong_add1 (H, f, e + v * H->lv[f + 1].n_dofs, x + v * H->lv[f].n_dofs);
}

static void
cpu_restrict (TbFeHierarchy *H, int f, int nv, const double *r, double *rc)
{
  for (int v = 0; v < nv; v++)
    restrict1 (H, f, r + v * H->lv[f].n_dofs, rc + v * H->lv[f + 1].n_dofs);
}

/* ---- setup ---- */

/* diagonal of the fine operator, its constrained DOFs, and which elements touch one; element rows
 * walked in order (no index division per element) */
static void
fine_diagonal (TbFeHierarchy *H)
{
  TbFeModel *M = H->model;
  Level *L = &H->lv[0];
  const int dim = H->dim, nke = H->nke, nen = H->nen;
  const gsize nx = M->n[0], ny = M->n[1], nz = M->n[2], nnx = M->nn[0], nny = M->nn[1];
  double kd[24];
  gsize off[8];
  for (int q = 0; q < nke; q++)
    kd[q] = M->K0[q * nke + q];
  for (int a = 0; a < nen; a++)
    off[a] = (a & 1) + nnx * (((a >> 1) & 1) + nny * ((a >> 2) & 1));
  memset (L->dinv, 0, sizeof (double) * L->n_dofs);
  for (gsize k = 0; k < nz; k++)
    for (gsize j = 0; j < ny; j++)
      {
        const double *Er = H->E + nx * (j + ny * k);
        gsize base = nnx * (j + nny * k);
        for (gsize i = 0; i < nx; i++)
          for (int a = 0; a < nen; a++)
            for (int c = 0; c < dim; c++)
              L->dinv[(base + i + off[a]) * dim + c] += Er[i] * kd[a * dim + c];
      }
  g_autofree guint8 *on = g_new0 (guint8, L->n_nodes);
  for (gsize d = 0; d < L->n_dofs; d++)
    {
      double dg = L->dinv[d] + (M->spring != NULL ? M->spring[d] : 0.0);
      /* a DOF with no stiffness at all (Emin = 0 and only empty elements) is held at zero */
      L->fixed[d] = M->fixed[d] || !(dg > 0);
      L->dinv[d] = L->fixed[d] ? 0.0 : 1.0 / dg;
      if (dg > 0)
        on[d / dim] = 1;
    }
  /* the empty space (nodes and element rows with no stiffness) that every pass may skip */
  if (H->erange == NULL)
    H->erange = g_new (int, 2 * ny * nz);
  for (gsize r = 0; r < ny * nz; r++)
    {
      const double *Er = H->E + nx * r;
      int lo = 0, hi = (int) nx;
      while (lo < hi && Er[lo] == 0)
        lo++;
      while (hi > lo && Er[hi - 1] == 0)
        hi--;
      H->erange[2 * r] = lo;
      H->erange[2 * r + 1] = hi;
    }
  level_activity (H, L, on);
  make_fixed_list (L);
  if (H->el_fixed == NULL)
    H->el_fixed = g_new (guint8, M->n_el);
  memset (H->el_fixed, 0, M->n_el);
  for (gsize q = 0; q < L->n_fixed; q++)
    {
      gsize els[8];
      int ne = tb_fe_node_elements (M, L->fixed_list[q] / dim, els);
      for (int t = 0; t < ne; t++)
        H->el_fixed[els[t]] = 1;
    }
}

/* bound on lambda_max(D^-1 A) on the fine level: max eigenvalue of diag(K0)^-1 K0 (element-by-element) */
static double
element_bound (TbFeHierarchy *H)
{
  int nke = H->nke;
  double A[24 * 24], w[24];
  for (int a = 0; a < nke; a++)
    for (int b = 0; b < nke; b++)
      A[a * nke + b] = H->model->K0[a * nke + b] / sqrt (H->model->K0[a * nke + a] * H->model->K0[b * nke + b]);
  if (LAPACKE_dsyev (LAPACK_ROW_MAJOR, 'N', 'U', nke, A, nke, w) != 0)
    return 1e300;
  return w[nke - 1];
}

/* A (float, blocked by rows, file comment) from the double stencil built node-major, which is freed
 * after the first build (a one-off solve's batches may use its memory) and kept once densities have
 * changed (TO: the next update needs it again) */
static void
store_float_stencil (TbFeHierarchy *H, Level *L)
{
  const int nsc = H->S * H->dim * H->dim, nx = L->nn[0];
  const gsize rows = (gsize) L->nn[1] * L->nn[2];
#pragma omp parallel for schedule(static) num_threads(H->nt)
  for (gsize r = 0; r < rows; r++)
    for (int i = 0; i < nx; i++)
      {
        const double *ad = L->Ad + (r * nx + i) * nsc;
        float *a = L->A + ((r * L->nb + i / SW) * nsc) * SW + i % SW;
        for (int sc = 0; sc < nsc; sc++)
          a[(gsize) sc * SW] = (float) ad[sc];
      }
  if (!H->keep_ad)
    g_clear_pointer (&L->Ad, g_free);
}

/* the moduli the hierarchy is built for: the solver's (NULL: the model's own) */
static void
take_moduli (TbFeHierarchy *H, const double *E)
{
  g_free (H->E);
  H->E = E != NULL ? g_memdup2 (E, H->model->n_el * sizeof (double)) : tb_fe_model_moduli (H->model);
}

static gboolean
cpu_update (TbFeHierarchy *H, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  fine_diagonal (H);
  gint64 t1 = g_get_monotonic_time ();
  for (int l = 1; l < H->nl; l++)
    build_level (H, l);
  add_springs (H);
  gint64 t2 = g_get_monotonic_time ();
  if (!factor_coarsest (H, error))
    return FALSE;
  gint64 t3 = g_get_monotonic_time ();
  for (int l = 1; l < H->nl; l++)
    {
      coarse_activity (H, &H->lv[l]);
      store_float_stencil (H, &H->lv[l]);
      make_fixed_list (&H->lv[l]);   /* level 0's is made by fine_diagonal */
    }
  /* the work vectors must be zero outside the (possibly changed) active entries */
  for (int l = 0; l < H->nl; l++)
    {
      Level *L = &H->lv[l];
      if (L->t1 != NULL)
        {
          memset (L->t1, 0, sizeof (double) * L->n_dofs * L->cap);
          memset (L->t2, 0, sizeof (double) * L->n_dofs * L->cap);
        }
    }
  gint64 t4 = g_get_monotonic_time ();
  for (int l = 0; l < H->nl - 1; l++)
    {
      /* power iteration only ever underestimates, and a Chebyshev interval below the spectrum's top
       * amplifies those modes: the V-cycle stops being positive definite and CG diverges (seen in TO
       * when the estimate fell from 3.8 to 2.4 in one update). Falling estimates are trusted 10 % per
       * update; too high an estimate only smooths a little less. */
      double prev = H->lv[l].lmax;
      H->lv[l].lmax = estimate_lmax (H, l);
      if (prev > 0)
        H->lv[l].lmax = MAX (H->lv[l].lmax, 0.9 * prev);
      if (l == 0)
        H->lv[0].lmax = MIN (H->lv[0].lmax, H->mu_elem / 1.1);
    }
  if (H->nl == 1)
    H->lv[0].lmax = estimate_lmax (H, 0);
  if (H->s.verbose)
    {
      for (int l = 0; l < H->nl - 1; l++)
        g_print ("FE: level %d: lambda_max(D^-1 A) taken as %.4g\n", l, H->lv[l].lmax);
      g_print ("FE: hierarchy: fine diagonal %.2f ms, Galerkin levels %.2f ms, coarsest factor %.2f ms, "
               "float stencils %.2f ms, eigenvalue estimates %.2f ms\n", (t1 - t0) / 1e3, (t2 - t1) / 1e3,
               (t3 - t2) / 1e3, (t4 - t3) / 1e3, (g_get_monotonic_time () - t4) / 1e3);
    }
  return TRUE;
}

static int
auto_levels (const TbFeModel *M)
{
  int dim = M->dim;
  for (int L = 1; L < MAX_LEVELS - 1; L++)
    {
      int nn[3] = { 1, 1, 1 };
      gboolean can = TRUE;
      for (int a = 0; a < dim; a++)
        {
          int step = 1 << L;
          int pad = (M->n[a] + step - 1) / step;
          nn[a] = pad + 1;
          if (pad < 1)
            can = FALSE;
        }
      double n = (double) nn[0] * nn[1] * nn[2] * dim;
      int ax[3];
      double kd = band_order (dim, nn, ax) - (dim - 1);  /* the estimate this rule was tuned with */
      if (!can)
        return L;
      /* the fewest levels whose coarsest factor (n kd^2 flops) costs no more than about 5 ms or eight
       * fine operator applies, whichever is more, and whose band solve (4 n kd flops, once per V-cycle,
       * at level-2 BLAS speed) costs no more than one fine apply: every level added costs multigrid
       * iterations on thresholded bone (32^3: 21, 30, 82 iterations with 2, 3, 4 levels), but TO
       * refactors and solves every iteration (MBB 300x100: 2 levels spent 40 % of each iteration in
       * the band factor and solves). The second bound matters for large one-off solves: 128^3 and the
       * whole femur take four levels instead of five and six. (The floor was 3e8 flops, ~0.1 s, until
       * session 9: the 2D 256x256 live TO model then kept three levels and spent 21 ms of its 75 ms
       * iterations refactoring a 65x65-node coarsest grid; with four, 51 ms.) */
      double apply = 2.0 * (dim == 3 ? 576 : 64) * M->n[0] * M->n[1] * (dim == 3 ? M->n[2] : 1);
      if ((n * kd * kd < MAX (3e7, 8 * apply) && 4 * n * kd <= apply && n * (kd + 1) * 8 < 1e9) || n < 2000)
        return L + 1;
    }
  return MAX_LEVELS - 1;
}

static void cpu_free (TbFeHierarchy *H);

static TbFeHierarchy *
cpu_setup (TbFeModel *M, const double *E, const TbFeSettings *s, GError **error)
{
  TbFeHierarchy *H = g_new0 (TbFeHierarchy, 1);
  H->model = tb_fe_model_ref (M);
  H->s = *s;
  H->dim = M->dim;
  H->nen = M->nen;
  H->nke = M->nke;
  H->S = M->dim == 3 ? 27 : 9;
  H->nt = s->n_threads > 0 ? s->n_threads : omp_get_max_threads ();
  H->nl = s->levels > 0 ? MIN (s->levels, MAX_LEVELS) : auto_levels (M);
  int step = 1 << (H->nl - 1);
  for (int a = 0; a < 3; a++)
    H->pad[a] = a < H->dim ? (M->n[a] + step - 1) / step * step : 1;
  Level *L0 = &H->lv[0];
  for (int a = 0; a < 3; a++)
    {
      L0->nc[a] = M->n[a];
      L0->nn[a] = M->nn[a];
    }
  level_alloc (H, L0, FALSE);
  for (int l = 1; l < H->nl; l++)
    {
      Level *L = &H->lv[l];
      for (int a = 0; a < 3; a++)
        {
          L->nc[a] = a < H->dim ? H->pad[a] >> l : 1;
          L->nn[a] = a < H->dim ? L->nc[a] + 1 : 1;
        }
      level_alloc (H, L, TRUE);
    }
  H->mu_elem = element_bound (H);
  take_moduli (H, E);
  H->keep_ad = TRUE;
  if (H->nl == 1)
    {
      /* one level: Jacobi-preconditioned CG (no coarse solve) */
      fine_diagonal (H);
      return H;
    }
  if (!cpu_update (H, error))
    {
      cpu_free (H);
      return NULL;
    }
  return H;
}

static void
cpu_free (TbFeHierarchy *H)
{
  if (H == NULL)
    return;
  for (int l = 0; l < H->nl; l++)
    level_clear (&H->lv[l]);
  g_free (H->E);
  g_free (H->el_fixed);
  g_free (H->erange);
  tb_fe_model_unref (H->model);
  g_free (H);
}

static gboolean
cpu_update_public (TbFeHierarchy *H, const double *E, GError **error)
{
  take_moduli (H, E);
  H->keep_ad = TRUE;
  if (H->nl == 1)
    {
      fine_diagonal (H);
      return TRUE;
    }
  return cpu_update (H, error);
}

static int cpu_n_levels (TbFeHierarchy *H) { return H->nl; }
static const TbFeActive *cpu_active (TbFeHierarchy *H, int l) { return &H->lv[l].act.a; }
static gsize cpu_n_dofs (TbFeHierarchy *H, int l) { return H->lv[l].n_dofs; }

static void
cpu_coarse_or_jacobi (TbFeHierarchy *H, int nv, const double *b, double *x)
{
  if (H->nl == 1)
    {
      const gsize n = H->lv[0].n_dofs;
      FOR_VECTORS (nv, n)
        for (gsize d = 0; d < n; d++)
          x[v0 + d] = H->lv[0].dinv[d] * b[v0 + d];
      return;
    }
  cpu_coarse_solve (H, nv, b, x);
}

#ifdef TB_FE_VARIANT_AVX512
/* this file compiled a second time for AVX-512 (core/fe/meson.build): only the table is exported */
static const TbFeOps cpu_ops = {
  .name = "cpu-avx512",
#else
static const TbFeOps cpu_ops = {
  .name = "cpu",
#endif
  .setup = cpu_setup,
  .update = cpu_update_public,
  .free = cpu_free,
  .n_levels = cpu_n_levels,
  .n_dofs = cpu_n_dofs,
  .apply = cpu_apply,
  .residual = cpu_residual,
  .smooth = cpu_smooth,
  .restrict_ = cpu_restrict,
  .prolong_add = cpu_prolong_add,
  .coarse_solve = cpu_coarse_or_jacobi,
  .active = cpu_active,
};

#ifdef TB_FE_VARIANT_AVX512
const TbFeOps *tb_fe_ops_cpu_avx512 (void);

const TbFeOps *
tb_fe_ops_cpu_avx512 (void)
{
  return &cpu_ops;
}
#else
#ifdef TB_HAVE_FE_AVX512
const TbFeOps *tb_fe_ops_cpu_avx512 (void);
#endif

/* The CPU table: the AVX-512 build of this file where the processor has it (the library itself is
 * built for any x86-64, where the compiler may use SSE2 only; here the stencil, transfer, smoother and
 * Galerkin loops are all vector loops), else the portable one. TB_FE_NO_SIMD=1 forces the portable. */
const TbFeOps *
tb_fe_ops_cpu (void)
{
#ifdef TB_HAVE_FE_AVX512
  if (tb_fe_cpu_avx512 ())
    return tb_fe_ops_cpu_avx512 ();
#endif
  return &cpu_ops;
}

/* fixed flags of the fine level (model supports + DOFs with no stiffness) */
const guint8 *
tb_fe_hierarchy_fixed (TbFeHierarchy *H)
{
  return H->lv[0].fixed;
}

const double *
tb_fe_hierarchy_moduli (TbFeHierarchy *H)
{
  return H->E;
}
#endif
