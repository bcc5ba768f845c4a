/* topopt-mma.c — the Method of Moving Asymptotes (Svanberg 1987), as in his mmasub/subsolv (2007).
 *
 *   minimize f0(x) + a0 z + sum_i (c_i y_i + d_i y_i^2 / 2)
 *   s.t.     f_i(x) - a_i z - y_i <= 0,  xmin <= x_j <= xmax,  y >= 0, z >= 0
 * with a0 = 1, a_i = 0, c_i = 1000, d_i = 1 (Svanberg's recommendation for plain constraints).
 *
 * Each outer iteration builds the convex separable approximation around x and solves it by the
 * primal-dual interior-point Newton method of subsolv; for m < n the Newton system is reduced to
 * (m+1) x (m+1), so every step costs O(n m^2): linear in the number of design variables.
 * Sums over n run in a fixed number of blocks added in a fixed order: the result does not depend
 * on the number of threads. */
#include "topopt-private.h"

#include <math.h>
#include <string.h>

#define N_BLOCKS 64
#define M_MAX 16

struct _TbMma {
  gsize n;
  int m;
  double xmin, xmax, move;
  int iter;
  double *xold1, *xold2, *low, *upp;
  /* the subproblem */
  double *alfa, *beta, *p0, *q0, *P, *Q, b[M_MAX];
  /* the constraints' approximations: values at the expansion point (xold1 after an update) and
   * their curvature terms rho_i (GCMMA, Svanberg 2007): raised within an iteration when an
   * approximation turns out not to be conservative at the new point */
  double f[M_MAX], raa[M_MAX];
  /* the interior-point iterate and its step */
  double *x, *xsi, *eta, *dx, *xo, *xsio, *etao, *dxsi, *deta;
};

TbMma *
tb_mma_new (gsize n, int m, double xmin, double xmax, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (n < 1 || m < 1 || m > M_MAX || !(xmax > xmin))
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "MMA needs n >= 1 variables, 1 to %d constraints and xmax > xmin (got n = %" G_GSIZE_FORMAT
                   ", m = %d, bounds [%g, %g])", M_MAX, n, m, xmin, xmax);
      return NULL;
    }
  if (!tb_memory_check ((guint64) n * sizeof (double) * (15 + 2 * m), "the MMA optimizer", error))
    return NULL;
  TbMma *mma = g_new0 (TbMma, 1);
  mma->n = n;
  mma->m = m;
  mma->xmin = xmin;
  mma->xmax = xmax;
  mma->move = 0.5;
  double **vecs[] = { &mma->xold1, &mma->xold2, &mma->low, &mma->upp, &mma->alfa, &mma->beta,
                      &mma->p0, &mma->q0, &mma->x, &mma->xsi, &mma->eta, &mma->dx, &mma->xo,
                      &mma->xsio, &mma->etao, &mma->dxsi, &mma->deta };
  for (gsize v = 0; v < G_N_ELEMENTS (vecs); v++)
    *vecs[v] = g_new0 (double, n);
  mma->P = g_new0 (double, n * m);
  mma->Q = g_new0 (double, n * m);
  return mma;
}

void
tb_mma_free (TbMma *mma)
{
  if (mma == NULL)
    return;
  double *vecs[] = { mma->xold1, mma->xold2, mma->low, mma->upp, mma->alfa, mma->beta, mma->p0,
                     mma->q0, mma->x, mma->xsi, mma->eta, mma->dx, mma->xo, mma->xsio, mma->etao,
                     mma->dxsi, mma->deta, mma->P, mma->Q };
  for (gsize v = 0; v < G_N_ELEMENTS (vecs); v++)
    g_free (vecs[v]);
  g_free (mma);
}

void
tb_mma_set_move (TbMma *mma, double move)
{
  g_return_if_fail (mma != NULL && move > 0);
  mma->move = move;
}

/* Forget the asymptote history (after a load change the old curvature guesses are wrong). */
void
tb_mma_restart (TbMma *mma)
{
  g_return_if_fail (mma != NULL);
  mma->iter = 0;
}

typedef struct {
  double y[M_MAX], lam[M_MAX], mu[M_MAX], s[M_MAX], z, zet;
} Dual;

static const double c_i = 1000.0, d_i = 1.0, a0 = 1.0;

/* Residual of the perturbed KKT conditions of the subproblem: returns its 2-norm, sets the max. */
static double
residual (TbMma *mma, const double *x, const double *xsi, const double *eta, const Dual *v,
          double epsi, double *resmax)
{
  const gsize n = mma->n;
  const int m = mma->m;
  double part2[N_BLOCKS], partmax[N_BLOCKS], partg[N_BLOCKS][M_MAX];
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
      double s2 = 0, mx = 0, g[M_MAX] = { 0 };
      for (gsize j = j0; j < j1; j++)
        {
          double ux1 = mma->upp[j] - x[j], xl1 = x[j] - mma->low[j];
          double plam = mma->p0[j], qlam = mma->q0[j];
          for (int i = 0; i < m; i++)
            {
              plam += mma->P[i * n + j] * v->lam[i];
              qlam += mma->Q[i * n + j] * v->lam[i];
              g[i] += mma->P[i * n + j] / ux1 + mma->Q[i * n + j] / xl1;
            }
          double rex = plam / (ux1 * ux1) - qlam / (xl1 * xl1) - xsi[j] + eta[j];
          double rexsi = xsi[j] * (x[j] - mma->alfa[j]) - epsi;
          double reeta = eta[j] * (mma->beta[j] - x[j]) - epsi;
          s2 += rex * rex + rexsi * rexsi + reeta * reeta;
          mx = MAX (mx, MAX (fabs (rex), MAX (fabs (rexsi), fabs (reeta))));
        }
      part2[blk] = s2;
      partmax[blk] = mx;
      memcpy (partg[blk], g, sizeof g);
    }
  double s2 = 0, mx = 0, gvec[M_MAX] = { 0 };
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      s2 += part2[blk];
      mx = MAX (mx, partmax[blk]);
      for (int i = 0; i < m; i++)
        gvec[i] += partg[blk][i];
    }
  double r[4 * M_MAX + 2];
  int nr = 0;
  r[nr++] = a0 - v->zet;     /* rez, with a_i = 0 */
  r[nr++] = v->zet * v->z - epsi;
  for (int i = 0; i < m; i++)
    {
      r[nr++] = c_i + d_i * v->y[i] - v->mu[i] - v->lam[i];   /* rey */
      r[nr++] = gvec[i] - v->y[i] + v->s[i] - mma->b[i];      /* relam */
      r[nr++] = v->mu[i] * v->y[i] - epsi;
      r[nr++] = v->lam[i] * v->s[i] - epsi;
    }
  for (int q = 0; q < nr; q++)
    {
      s2 += r[q] * r[q];
      mx = MAX (mx, fabs (r[q]));
    }
  *resmax = mx;
  return sqrt (s2);
}

/* Solve A x = b (dimension k <= M_MAX + 1) by Gaussian elimination with partial pivoting. */
static void
solve_small (int k, double A[M_MAX + 1][M_MAX + 1], double *b)
{
  for (int c = 0; c < k; c++)
    {
      int p = c;
      for (int r = c + 1; r < k; r++)
        if (fabs (A[r][c]) > fabs (A[p][c]))
          p = r;
      if (p != c)
        {
          for (int q = 0; q < k; q++)
            {
              double t = A[c][q]; A[c][q] = A[p][q]; A[p][q] = t;
            }
          double t = b[c]; b[c] = b[p]; b[p] = t;
        }
      for (int r = c + 1; r < k; r++)
        {
          double f = A[r][c] / A[c][c];
          for (int q = c; q < k; q++)
            A[r][q] -= f * A[c][q];
          b[r] -= f * b[c];
        }
    }
  for (int c = k - 1; c >= 0; c--)
    {
      for (int q = c + 1; q < k; q++)
        b[c] -= A[c][q] * b[q];
      b[c] /= A[c][c];
    }
}

/* subsolv: primal-dual Newton with a decreasing barrier epsi (Svanberg 2007, subsolv.m). */
static void
subsolve (TbMma *mma)
{
  const gsize n = mma->n;
  const int m = mma->m;
  double *x = mma->x, *xsi = mma->xsi, *eta = mma->eta;
  Dual v, vo, dv;
  double epsi = 1.0;

#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize j = 0; j < n; j++)
    {
      x[j] = 0.5 * (mma->alfa[j] + mma->beta[j]);
      xsi[j] = MAX (1.0, 1.0 / (x[j] - mma->alfa[j]));
      eta[j] = MAX (1.0, 1.0 / (mma->beta[j] - x[j]));
    }
  for (int i = 0; i < m; i++)
    {
      v.y[i] = 1; v.lam[i] = 1; v.s[i] = 1;
      v.mu[i] = MAX (1.0, 0.5 * c_i);
    }
  v.z = 1; v.zet = 1;

  /* The barrier falls 1, 0.1, ... while epsi > 1e-7 (which, by rounding, includes a level at 1e-7, as in
   * subsolv). One guard is ours: a level whose residual norm has not halved in 30 Newton steps is
   * creeping (steps cut to 0.5-5 % by the fraction-to-boundary rule, the max residual growing while
   * the norm shrinks) and ends the subproblem where it stands. With 10^5..10^6 design variables the
   * last levels crept through their 200 steps and ~1200 residual evaluations in every update of the
   * bone problem (Ward's VOI at n = 8: 5.5 s of an 8.0 s iteration). */
  gboolean creeping = FALSE;
  double hist[200];
  while (epsi > 1e-7 && !creeping)
    {
      double resmax, resnorm = residual (mma, x, xsi, eta, &v, epsi, &resmax);
      for (int it = 0; it < 200 && resmax > 0.9 * epsi; it++)
        {
          hist[it] = resnorm;
          if (it >= 30 && resnorm > 0.5 * hist[it - 30])
            {
              creeping = TRUE;
              break;
            }
          /* Reduced Newton system: Alam = diag + G D^-1 G^T, bb = dellam + dely/diagy - G D^-1 delx. */
          double Ap[N_BLOCKS][M_MAX * M_MAX], bp[N_BLOCKS][M_MAX], gp[N_BLOCKS][M_MAX];
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
          for (int blk = 0; blk < N_BLOCKS; blk++)
            {
              gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
              double A[M_MAX * M_MAX] = { 0 }, bb[M_MAX] = { 0 }, g[M_MAX] = { 0 }, G[M_MAX];
              for (gsize j = j0; j < j1; j++)
                {
                  double ux1 = mma->upp[j] - x[j], xl1 = x[j] - mma->low[j];
                  double ux2 = ux1 * ux1, xl2 = xl1 * xl1;
                  double plam = mma->p0[j], qlam = mma->q0[j];
                  for (int i = 0; i < m; i++)
                    {
                      double P = mma->P[i * n + j], Q = mma->Q[i * n + j];
                      plam += P * v.lam[i];
                      qlam += Q * v.lam[i];
                      g[i] += P / ux1 + Q / xl1;
                      G[i] = P / ux2 - Q / xl2;
                    }
                  double xa = x[j] - mma->alfa[j], bx = mma->beta[j] - x[j];
                  double delx = plam / ux2 - qlam / xl2 - epsi / xa + epsi / bx;
                  double diagx = 2 * (plam / (ux2 * ux1) + qlam / (xl2 * xl1)) + xsi[j] / xa + eta[j] / bx;
                  mma->dx[j] = diagx;   /* kept for the back-substitution below */
                  for (int i = 0; i < m; i++)
                    {
                      bb[i] -= G[i] * delx / diagx;
                      for (int k = 0; k <= i; k++)
                        A[i * M_MAX + k] += G[i] * G[k] / diagx;
                    }
                }
              memcpy (Ap[blk], A, sizeof A);
              memcpy (bp[blk], bb, sizeof bb);
              memcpy (gp[blk], g, sizeof g);
            }
          double AA[M_MAX + 1][M_MAX + 1] = { { 0 } }, rhs[M_MAX + 1] = { 0 }, gvec[M_MAX] = { 0 };
          for (int blk = 0; blk < N_BLOCKS; blk++)
            for (int i = 0; i < m; i++)
              {
                rhs[i] += bp[blk][i];
                gvec[i] += gp[blk][i];
                for (int k = 0; k <= i; k++)
                  AA[i][k] += Ap[blk][i * M_MAX + k];
              }
          double diagy[M_MAX], dely[M_MAX];
          for (int i = 0; i < m; i++)
            {
              for (int k = 0; k < i; k++)
                AA[k][i] = AA[i][k];
              dely[i] = c_i + d_i * v.y[i] - v.lam[i] - epsi / v.y[i];
              diagy[i] = d_i + v.mu[i] / v.y[i];
              double dellam = gvec[i] - v.y[i] - mma->b[i] + epsi / v.lam[i];
              AA[i][i] += v.s[i] / v.lam[i] + 1.0 / diagy[i];
              rhs[i] += dellam + dely[i] / diagy[i];
              AA[i][m] = 0; AA[m][i] = 0;   /* a_i = 0 */
            }
          AA[m][m] = -v.zet / v.z;
          rhs[m] = a0 - epsi / v.z;         /* delz */
          solve_small (m + 1, AA, rhs);
          for (int i = 0; i < m; i++)
            dv.lam[i] = rhs[i];
          dv.z = rhs[m];

          /* Back-substitute dx, dxsi, deta and find the largest step keeping everything positive. */
          double stm[N_BLOCKS];
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
          for (int blk = 0; blk < N_BLOCKS; blk++)
            {
              gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
              double st = 0;
              for (gsize j = j0; j < j1; j++)
                {
                  double ux1 = mma->upp[j] - x[j], xl1 = x[j] - mma->low[j];
                  double ux2 = ux1 * ux1, xl2 = xl1 * xl1;
                  double plam = mma->p0[j], qlam = mma->q0[j], gl = 0;
                  for (int i = 0; i < m; i++)
                    {
                      double P = mma->P[i * n + j], Q = mma->Q[i * n + j];
                      plam += P * v.lam[i];
                      qlam += Q * v.lam[i];
                      gl += (P / ux2 - Q / xl2) * dv.lam[i];
                    }
                  double xa = x[j] - mma->alfa[j], bx = mma->beta[j] - x[j];
                  double delx = plam / ux2 - qlam / xl2 - epsi / xa + epsi / bx;
                  double diagx = mma->dx[j];
                  double dxj = -delx / diagx - gl / diagx;
                  mma->dx[j] = dxj;
                  mma->dxsi[j] = -xsi[j] + epsi / xa - xsi[j] * dxj / xa;
                  mma->deta[j] = -eta[j] + epsi / bx + eta[j] * dxj / bx;
                  st = MAX (st, -1.01 * mma->dxsi[j] / xsi[j]);
                  st = MAX (st, -1.01 * mma->deta[j] / eta[j]);
                  st = MAX (st, -1.01 * dxj / xa);
                  st = MAX (st, 1.01 * dxj / bx);
                }
              stm[blk] = st;
            }
          double stmax = 1.0;
          for (int blk = 0; blk < N_BLOCKS; blk++)
            stmax = MAX (stmax, stm[blk]);
          for (int i = 0; i < m; i++)
            {
              dv.y[i] = -dely[i] / diagy[i] + dv.lam[i] / diagy[i];
              dv.mu[i] = -v.mu[i] + epsi / v.y[i] - v.mu[i] * dv.y[i] / v.y[i];
              dv.s[i] = -v.s[i] + epsi / v.lam[i] - v.s[i] * dv.lam[i] / v.lam[i];
              stmax = MAX (stmax, -1.01 * dv.y[i] / v.y[i]);
              stmax = MAX (stmax, -1.01 * dv.lam[i] / v.lam[i]);
              stmax = MAX (stmax, -1.01 * dv.mu[i] / v.mu[i]);
              stmax = MAX (stmax, -1.01 * dv.s[i] / v.s[i]);
            }
          dv.zet = -v.zet + epsi / v.z - v.zet * dv.z / v.z;
          stmax = MAX (stmax, -1.01 * dv.z / v.z);
          stmax = MAX (stmax, -1.01 * dv.zet / v.zet);
          double steg = 1.0 / stmax;

          /* Backtracking until the residual decreases. */
          memcpy (mma->xo, x, n * sizeof (double));
          memcpy (mma->xsio, xsi, n * sizeof (double));
          memcpy (mma->etao, eta, n * sizeof (double));
          vo = v;
          double resnew = 2 * resnorm;
          for (int itto = 0; itto < 50 && resnew > resnorm; itto++)
            {
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
              for (gsize j = 0; j < n; j++)
                {
                  x[j] = mma->xo[j] + steg * mma->dx[j];
                  xsi[j] = mma->xsio[j] + steg * mma->dxsi[j];
                  eta[j] = mma->etao[j] + steg * mma->deta[j];
                }
              for (int i = 0; i < m; i++)
                {
                  v.y[i] = vo.y[i] + steg * dv.y[i];
                  v.lam[i] = vo.lam[i] + steg * dv.lam[i];
                  v.mu[i] = vo.mu[i] + steg * dv.mu[i];
                  v.s[i] = vo.s[i] + steg * dv.s[i];
                }
              v.z = vo.z + steg * dv.z;
              v.zet = vo.zet + steg * dv.zet;
              resnew = residual (mma, x, xsi, eta, &v, epsi, &resmax);
              steg /= 2;
            }
          resnorm = resnew;
        }
      epsi *= 0.1;
    }
}

#define RAA0 1e-5   /* the curvature term MMA adds to every approximation (mmasub.m's raa0) */

/* Build the subproblem around xval and solve it; xval <- its solution. fresh: a new outer
 * iteration (move the asymptotes, remember xval); otherwise the same point again with raised
 * curvature terms. */
static void
build_and_solve (TbMma *mma, double *xval, const double *df0dx, const double *fval, const double *dfdx,
                 gboolean fresh)
{
  const gsize n = mma->n;
  const int m = mma->m;
  const double asyinit = 0.5, asyincr = 1.2, asydecr = 0.7, albefa = 0.1, raa0 = RAA0;
  const double range = mma->xmax - mma->xmin, xmamiinv = 1.0 / MAX (range, 1e-5);
  if (fresh)
    mma->iter++;
  const int iter = mma->iter;
  double bp[N_BLOCKS][M_MAX];
  const double *x_at = fresh ? xval : mma->xold1;  /* the expansion point */

#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
      double bb[M_MAX] = { 0 };
      for (gsize j = j0; j < j1; j++)
        {
          double x = x_at[j];
          /* Asymptotes: widen where x moves steadily, tighten where it oscillates (mmasub.m). */
          if (!fresh)   /* the same iteration again: the asymptotes stay */
            ;
          else if (iter <= 2)
            {
              mma->low[j] = x - asyinit * range;
              mma->upp[j] = x + asyinit * range;
            }
          else
            {
              double zzz = (x - mma->xold1[j]) * (mma->xold1[j] - mma->xold2[j]);
              double factor = zzz > 0 ? asyincr : zzz < 0 ? asydecr : 1.0;
              double lo = x - factor * (mma->xold1[j] - mma->low[j]);
              double up = x + factor * (mma->upp[j] - mma->xold1[j]);
              mma->low[j] = CLAMP (lo, x - 10 * range, x - 0.01 * range);
              mma->upp[j] = CLAMP (up, x + 0.01 * range, x + 10 * range);
            }
          double low = mma->low[j], upp = mma->upp[j];
          mma->alfa[j] = MAX (MAX (low + albefa * (x - low), x - mma->move * range), mma->xmin);
          mma->beta[j] = MIN (MIN (upp - albefa * (upp - x), x + mma->move * range), mma->xmax);
          double ux1 = upp - x, xl1 = x - low, ux2 = ux1 * ux1, xl2 = xl1 * xl1;
          double p0 = MAX (df0dx[j], 0), q0 = MAX (-df0dx[j], 0);
          double pq0 = 0.001 * (p0 + q0) + raa0 * xmamiinv;
          mma->p0[j] = (p0 + pq0) * ux2;
          mma->q0[j] = (q0 + pq0) * xl2;
          for (int i = 0; i < m; i++)
            {
              double d = dfdx[i * n + j];
              double P = MAX (d, 0), Q = MAX (-d, 0), PQ = 0.001 * (P + Q) + mma->raa[i] * xmamiinv;
              P = (P + PQ) * ux2;
              Q = (Q + PQ) * xl2;
              mma->P[i * n + j] = P;
              mma->Q[i * n + j] = Q;
              bb[i] += P / ux1 + Q / xl1;
            }
        }
      memcpy (bp[blk], bb, sizeof bb);
    }
  for (int i = 0; i < m; i++)
    {
      mma->f[i] = fval[i];
      mma->b[i] = -fval[i];
      for (int blk = 0; blk < N_BLOCKS; blk++)
        mma->b[i] += bp[blk][i];
    }

  subsolve (mma);

  if (fresh)
    {
      memcpy (mma->xold2, mma->xold1, n * sizeof (double));
      memcpy (mma->xold1, xval, n * sizeof (double));
    }
  memcpy (xval, mma->x, n * sizeof (double));
}

void
tb_mma_update (TbMma *mma, double *xval, const double *df0dx, const double *fval, const double *dfdx)
{
  g_return_if_fail (mma != NULL && xval != NULL && df0dx != NULL && fval != NULL && dfdx != NULL);
  for (int i = 0; i < mma->m; i++)
    mma->raa[i] = RAA0;
  build_and_solve (mma, xval, df0dx, fval, dfdx, TRUE);
}

/* Sums over the design in fixed blocks (thread-count independent): the approximation of
 * constraint i at xnew, and the rate at which it grows with rho_i (GCMMA's raacof). */
static void
approx_terms (const TbMma *mma, int i, const double *xnew, double *value, double *rate)
{
  const gsize n = mma->n;
  const double range = MAX (mma->xmax - mma->xmin, 1e-5);
  double pv[N_BLOCKS], pr[N_BLOCKS];
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
      double v = 0, r = 0;
      for (gsize j = j0; j < j1; j++)
        {
          double x = mma->xold1[j], xn = xnew[j], up = mma->upp[j], lo = mma->low[j];
          v += mma->P[i * n + j] * (1.0 / (up - xn) - 1.0 / (up - x))
               + mma->Q[i * n + j] * (1.0 / (xn - lo) - 1.0 / (x - lo));
          double dx = xn - x;
          r += dx * dx / ((up - xn) * (xn - lo)) * (up - lo) / range;
        }
      pv[blk] = v;
      pr[blk] = r;
    }
  double v = mma->f[i], r = 0;
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      v += pv[blk];
      r += pr[blk];
    }
  *value = v;
  *rate = r;
}

gboolean
tb_mma_make_conservative (TbMma *mma, const double *xnew, const double *fnew)
{
  g_return_val_if_fail (mma != NULL && xnew != NULL && fnew != NULL, FALSE);
  gboolean raised = FALSE;
  for (int i = 0; i < mma->m; i++)
    {
      double appr, rate;
      approx_terms (mma, i, xnew, &appr, &rate);
      /* only where the new point breaks the constraint: an approximation that fell short at a
       * point that still satisfies it costs nothing, and each re-solve costs a subproblem */
      if (fnew[i] > 0 && fnew[i] - appr > 0.5e-7)   /* gcmmasub's 0.5 epsimin */
        {
          double delta = (fnew[i] - appr) / MAX (rate, 1e-12);
          mma->raa[i] = MIN (1.1 * (mma->raa[i] + delta), 10.0 * mma->raa[i]);
          raised = TRUE;
        }
    }
  return raised;
}

void
tb_mma_resolve (TbMma *mma, double *xval, const double *df0dx, const double *fval, const double *dfdx)
{
  g_return_if_fail (mma != NULL && xval != NULL && df0dx != NULL && fval != NULL && dfdx != NULL);
  g_return_if_fail (mma->iter > 0);
  build_and_solve (mma, xval, df0dx, fval, dfdx, FALSE);
}
