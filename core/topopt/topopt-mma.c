/* topopt-mma.c — the Method of Moving Asymptotes (Svanberg 1987), the approximation as in his mmasub (2007).
 *
 *   minimize f0(x) + a0 z + sum_i (c_i y_i + d_i y_i^2 / 2)
 *   s.t.     f_i(x) - a_i z - y_i <= 0,  xmin <= x_j <= xmax,  y >= 0, z >= 0
 * with a0 = 1, a_i = 0, c_i = 1000, d_i = 1 (Svanberg's recommendation for plain constraints).
 *
 * Each outer iteration builds the convex separable approximation around x and solves it exactly
 * through its dual (Svanberg 1987): a concave function of the m multipliers, maximized by projected
 * Newton steps, each one pass over the design, so every step costs O(n m^2): linear in the number
 * of design variables. (Until session 9 it was subsolv's primal-dual interior-point method: the
 * same subproblem, ~10x the passes, and a barrier that never reached the bounds.)
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
  double *alfa, *beta, *p0, *q0, *P, *Q;
  /* the constraints' approximations: values at the expansion point (xold1 after an update) and
   * their curvature terms rho_i (GCMMA, Svanberg 2007): raised within an iteration when an
   * approximation turns out not to be conservative at the new point */
  double f[M_MAX], raa[M_MAX];
  /* the dual's solution, x(lam), and lam (the next subproblem starts from it); lam_scale_i =
   * |df0/dx|_1 / |df_i/dx|_1, the size a multiplier must reach to matter, bounds its steps */
  double *x, lam[M_MAX], lam_scale[M_MAX];
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
  if (!tb_memory_check ((guint64) n * sizeof (double) * (9 + 2 * m), "the MMA optimizer", error))
    return NULL;
  TbMma *mma = g_new0 (TbMma, 1);
  mma->n = n;
  mma->m = m;
  mma->xmin = xmin;
  mma->xmax = xmax;
  mma->move = 0.5;
  double **vecs[] = { &mma->xold1, &mma->xold2, &mma->low, &mma->upp, &mma->alfa, &mma->beta,
                      &mma->p0, &mma->q0, &mma->x };
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
                     mma->q0, mma->x, mma->P, mma->Q };
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

static const double c_i = 1000.0, d_i = 1.0;

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

/* The subproblem's dual (Svanberg 1987, section 5). For multipliers lam >= 0 the Lagrangian
 *   sum_j [p_j(lam) / (U_j - x_j) + q_j(lam) / (x_j - L_j)] + sum_i (c_i y_i + d_i y_i^2 / 2 - lam_i y_i) - lam.b,
 * p_j(lam) = p0_j + sum_i lam_i P_ij (q likewise), is minimized in closed form: each x_j at
 *   x_j = (sqrt(p_j) L_j + sqrt(q_j) U_j) / (sqrt(p_j) + sqrt(q_j)), clamped to [alfa_j, beta_j],
 * y_i = max(0, (lam_i - c_i) / d_i) and z = 0 (a_i = 0). The dual function W(lam) is concave and
 * continuously differentiable; its gradient is the approximated constraint at x(lam) minus y, and
 * its Hessian -sum_{j free} G_j G_j^T / psi''_j - diag(d^-1 [lam > c]), G_ij = P_ij / (U - x)^2 -
 * Q_ij / (x - L)^2, psi''_j the curvature of the Lagrangian in x_j. It is maximized over lam >= 0
 * by projected Newton steps (Bertsekas 1982) with an Armijo line search: m unknowns, each step one
 * pass over the design (O(n m^2)), and the multipliers of the previous update as the start.
 *
 * Sums are formed as differences from the expansion point x0 (1/(U - x) - 1/(U - x0) =
 * (x - x0) / ((U - x)(U - x0))), not as the difference of two sums of n large terms: the gradient
 * is then the constraint's change itself, exact to rounding of its own size, and the tolerance on
 * it can be absolute. */
/* The approximation's terms change from x0 to x by P_ij ru - Q_ij rl (p0, q0 likewise):
 * ru = 1/(U - x) - 1/(U - x0), rl = 1/(x0 - L) - 1/(x - L), each formed as one quotient. */
static inline void
reciprocal_changes (double U, double L, double x0, double x, double *ru, double *rl)
{
  double dx = x - x0;
  *ru = dx / ((U - x) * (U - x0));
  *rl = dx / ((x - L) * (x0 - L));
}

typedef struct {
  double W;                 /* the dual function (up to a constant) */
  double W_size;            /* sum of its terms' magnitudes: W's rounding scale */
  double g[M_MAX];          /* its gradient: approximated f_i at x(lam) minus y_i */
  double size[M_MAX];       /* sum_j |change of the approximation of f_i|: the gradient's rounding scale */
  double H[M_MAX][M_MAX];   /* its Hessian (lower triangle used) */
} DualPoint;

#define DUAL_TOL 1e-10      /* on the projected gradient, constraints scaled to order 1 */

static void
dual_point (TbMma *mma, const double *x0, const double *lam, DualPoint *dp)
{
  const gsize n = mma->n;
  const int m = mma->m;
  double pW[N_BLOCKS], pWs[N_BLOCKS], pg[N_BLOCKS][M_MAX], ps[N_BLOCKS][M_MAX], pH[N_BLOCKS][M_MAX * M_MAX];
  double *x = mma->x;
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
      double W = 0, Ws = 0, g[M_MAX] = { 0 }, s[M_MAX] = { 0 }, H[M_MAX * M_MAX] = { 0 }, G[M_MAX];
      for (gsize j = j0; j < j1; j++)
        {
          double p = mma->p0[j], q = mma->q0[j];
          for (int i = 0; i < m; i++)
            {
              p += lam[i] * mma->P[i * n + j];
              q += lam[i] * mma->Q[i * n + j];
            }
          double sp = sqrt (p), sq = sqrt (q), U = mma->upp[j], L = mma->low[j];
          double xj = (sp * L + sq * U) / (sp + sq);
          gboolean free_x = TRUE;
          if (!(xj > mma->alfa[j]))
            xj = mma->alfa[j], free_x = FALSE;
          else if (!(xj < mma->beta[j]))
            xj = mma->beta[j], free_x = FALSE;
          x[j] = xj;
          double ux = U - xj, xl = xj - L, ru, rl;
          reciprocal_changes (U, L, x0[j], xj, &ru, &rl);
          W += p * ru - q * rl;
          Ws += fabs (p * ru) + fabs (q * rl);
          for (int i = 0; i < m; i++)
            {
              double t = mma->P[i * n + j] * ru - mma->Q[i * n + j] * rl;
              g[i] += t;
              s[i] += fabs (t);
            }
          if (free_x)
            {
              double ux2 = ux * ux, xl2 = xl * xl;
              double psi2 = 2 * (p / (ux2 * ux) + q / (xl2 * xl));
              for (int i = 0; i < m; i++)
                G[i] = mma->P[i * n + j] / ux2 - mma->Q[i * n + j] / xl2;
              for (int i = 0; i < m; i++)
                for (int k = 0; k <= i; k++)
                  H[i * M_MAX + k] -= G[i] * G[k] / psi2;
            }
        }
      pW[blk] = W;
      pWs[blk] = Ws;
      memcpy (pg[blk], g, sizeof g);
      memcpy (ps[blk], s, sizeof s);
      memcpy (pH[blk], H, sizeof H);
    }
  memset (dp, 0, sizeof *dp);
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      dp->W += pW[blk];
      dp->W_size += pWs[blk];
      for (int i = 0; i < m; i++)
        {
          dp->g[i] += pg[blk][i];
          dp->size[i] += ps[blk][i];
          for (int k = 0; k <= i; k++)
            dp->H[i][k] += pH[blk][i * M_MAX + k];
        }
    }
  for (int i = 0; i < m; i++)
    {
      double y = MAX (0.0, (lam[i] - c_i) / d_i);
      dp->g[i] += mma->f[i] - y;
      double Wi = lam[i] * mma->f[i] - lam[i] * y + c_i * y + 0.5 * d_i * y * y;
      dp->W += Wi;
      dp->W_size += fabs (Wi);
      dp->size[i] += fabs (mma->f[i]);
      if (lam[i] > c_i)
        dp->H[i][i] -= 1.0 / d_i;
    }
}

/* Where W is (nearly) linear the Newton step is unbounded: scale the step so that no multiplier
 * moves by more than ten times its size (or its natural scale) at once. */
static void
bound_step (const TbMma *mma, const double *lam, double *step)
{
  double cut = 1.0;
  for (int i = 0; i < mma->m; i++)
    {
      double cap = 10 * MAX (lam[i], mma->lam_scale[i]);
      if (fabs (step[i]) > cap)
        cut = MIN (cut, cap / fabs (step[i]));
    }
  for (int i = 0; i < mma->m; i++)
    step[i] *= cut;
}

/* Maximize the dual over lam >= 0; mma->x ends at x(lam). */
static void
subsolve (TbMma *mma, const double *x0)
{
  const int m = mma->m;
  double *lam = mma->lam;
  DualPoint dp, trial;
  dual_point (mma, x0, lam, &dp);
  for (int it = 0; it < 100; it++)
    {
      /* Free multipliers: all but those at zero whose constraint holds there. */
      int fi[M_MAX], nf = 0;
      gboolean done = TRUE;
      for (int i = 0; i < m; i++)
        {
          if (lam[i] <= 0 && dp.g[i] <= 0)
            continue;
          fi[nf++] = i;
          if (fabs (dp.g[i]) > DUAL_TOL * (1 + dp.size[i]))
            done = FALSE;
        }
      if (done)
        break;
      /* Newton direction on the free set: (-H_FF) d = g_F. -H is positive semidefinite; a relative
       * shift keeps it definite where every x_j the constraint touches sits at a bound (W is
       * linear there), and the line search bounds the step. */
      double A[M_MAX + 1][M_MAX + 1], d[M_MAX + 1], shift = 0;
      for (int a = 0; a < nf; a++)
        shift = MAX (shift, -dp.H[fi[a]][fi[a]]);
      shift = 1e-12 * shift + 1e-300;
      for (int a = 0; a < nf; a++)
        {
          for (int b = 0; b < nf; b++)
            {
              int i = MAX (fi[a], fi[b]), k = MIN (fi[a], fi[b]);
              A[a][b] = -dp.H[i][k];
            }
          A[a][a] += shift;
          d[a] = dp.g[fi[a]];
        }
      solve_small (nf, A, d);
      double step[M_MAX] = { 0 };
      for (int a = 0; a < nf; a++)
        step[fi[a]] = isfinite (d[a]) ? d[a] : dp.g[fi[a]];
      bound_step (mma, lam, step);
      /* Armijo on the projected path lam(t) = max(0, lam + t step). Where the projection bends the
       * Newton step out of ascent (a multiplier near zero), a diagonally scaled gradient step is
       * tried before giving up. */
      double lam_new[M_MAX];
      gboolean moved = FALSE;
      for (int attempt = 0; attempt < 2 && !moved; attempt++)
        {
          if (attempt == 1)
            {
              for (int a = 0; a < nf; a++)
                step[fi[a]] = dp.g[fi[a]] / (-dp.H[fi[a]][fi[a]] + shift);
              bound_step (mma, lam, step);
            }
          double t = 1.0;
          for (int ls = 0; ls < 60; ls++, t *= 0.5)
            {
              double rise = 0;
              gboolean same = TRUE;
              for (int i = 0; i < m; i++)
                {
                  lam_new[i] = MAX (0.0, lam[i] + t * step[i]);
                  rise += dp.g[i] * (lam_new[i] - lam[i]);
                  if (lam_new[i] != lam[i])
                    same = FALSE;
                }
              /* a rise below W's rounding cannot be seen: the gradient is at its own precision
               * floor, and halving further only repeats passes (up to 120 in a head VOI update) */
              if (same || !(rise > 1e-13 * dp.W_size))
                break;
              dual_point (mma, x0, lam_new, &trial);
              if (isfinite (trial.W) && trial.W >= dp.W + 1e-4 * rise)
                {
                  moved = TRUE;
                  break;
                }
            }
        }
      if (!moved)
        {
          /* no ascent left at this precision: lam stands, and x goes back to x(lam) */
          dual_point (mma, x0, lam, &trial);
          break;
        }
      /* the accepted trial is the next point, Hessian included: no second pass at it */
      memcpy (lam, lam_new, m * sizeof (double));
      dp = trial;
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
  const double *x_at = fresh ? xval : mma->xold1;  /* the expansion point */
  double sp[N_BLOCKS][M_MAX + 1];

#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (int blk = 0; blk < N_BLOCKS; blk++)
    {
      gsize j0 = n * blk / N_BLOCKS, j1 = n * (blk + 1) / N_BLOCKS;
      double sums[M_MAX + 1] = { 0 };
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
          sums[m] += p0 + q0;
          double pq0 = 0.001 * (p0 + q0) + raa0 * xmamiinv;
          mma->p0[j] = (p0 + pq0) * ux2;
          mma->q0[j] = (q0 + pq0) * xl2;
          for (int i = 0; i < m; i++)
            {
              double d = dfdx[i * n + j];
              double P = MAX (d, 0), Q = MAX (-d, 0), PQ = 0.001 * (P + Q) + mma->raa[i] * xmamiinv;
              sums[i] += P + Q;
              P = (P + PQ) * ux2;
              Q = (Q + PQ) * xl2;
              mma->P[i * n + j] = P;
              mma->Q[i * n + j] = Q;
            }
        }
      memcpy (sp[blk], sums, sizeof sums);
    }
  double s0 = 0;
  for (int blk = 0; blk < N_BLOCKS; blk++)
    s0 += sp[blk][m];
  for (int i = 0; i < m; i++)
    {
      double si = 0;
      for (int blk = 0; blk < N_BLOCKS; blk++)
        si += sp[blk][i];
      mma->f[i] = fval[i];
      mma->lam_scale[i] = (s0 + 1e-30) / (si + 1e-30);
    }

  subsolve (mma, x_at);

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
          double x = mma->xold1[j], xn = xnew[j], up = mma->upp[j], lo = mma->low[j], ru, rl;
          reciprocal_changes (up, lo, x, xn, &ru, &rl);
          v += mma->P[i * n + j] * ru - mma->Q[i * n + j] * rl;
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
