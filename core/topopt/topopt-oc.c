/* topopt-oc.c — the optimality-criteria update of the 88-line code (Andreassen et al. 2011, lines 38–45).
 *
 *   x_new = clamp(x * sqrt(-dc / (dv lambda)), x - move, x + move, xmin, 1)
 * with lambda found by bisection so that the PHYSICAL volume (after filter and projection, which the
 * caller computes) meets the target: the density filter makes the volume depend on all of x. */
#include "topopt-private.h"

#include <math.h>

void
tb_topopt_oc_update (gsize n, const double *x, const double *dc, const double *dv,
                     const guint8 *passive, double move, double xmin, double target,
                     TbTopoptVolumeFunc volume, gpointer user_data, double *xnew)
{
  double l1 = 0, l2 = 1e9;
  /* x_e sqrt(-dc_e / (dv_e lambda)) = q_e / sqrt(lambda): the square roots once, not per bisection step */
  double *q = g_new (double, n);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
  for (gsize e = 0; e < n; e++)
    q[e] = x[e] * sqrt (MAX (-dc[e] / dv[e], 0.0));
  /* 88-line: while (l2 - l1) / (l1 + l2) > 1e-3 */
  while ((l2 - l1) / (l1 + l2) > 1e-3)
    {
      double lmid = 0.5 * (l2 + l1), s = 1.0 / sqrt (lmid);
#pragma omp parallel for schedule(static) if (n > TB_TOPOPT_OMP_MIN)
      for (gsize e = 0; e < n; e++)
        {
          if (passive != NULL && passive[e])
            {
              xnew[e] = x[e];
              continue;
            }
          double xe = q[e] * s;
          xe = MIN (xe, MIN (1.0, x[e] + move));
          xe = MAX (xe, MAX (xmin, x[e] - move));
          xnew[e] = xe;
        }
      if (volume (xnew, user_data) > target)
        l1 = lmid;
      else
        l2 = lmid;
    }
  g_free (q);
}
