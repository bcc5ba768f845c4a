/* phantom-sample.c — point classes, voxel integration by supersampling, and the grid sampler.
 *
 * A voxel's composition is the mean over ss^3 regularly spaced sub-points (centres of an
 * ss x ss x ss split). The fast path skips the sub-points where a Lipschitz bound proves the
 * answer: |sdf(c)| > half-diagonal (|grad sdf| <= 1): wholly outside or inside the periosteum;
 * |sdf + t| likewise (bound TB_PHANTOM_CORTEX_LIPSCHITZ): wholly cortex or wholly inside it;
 * |T(c)| > G * half-diagonal (G = ph->lipschitz): wholly trabecula or wholly marrow;
 * the canal's fade at z + half-diagonal: no trabecula. Each proof gives exactly what the
 * ss^3 sub-points would give, so both paths write the same bytes (tests check it). */
#include "phantom-private.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int
tb_phantom_classify (const TbPhantom *ph, const double p[3])
{
  double shell = tb_phantom_shell_sdf (ph, p);
  if (shell > 0.0 || p[2] < ph->landmarks.shaft_distal[2])
    return TB_CLASS_SOFT;
  if (shell + tb_phantom_cortex_thickness (ph, p) >= 0.0)
    return TB_CLASS_TISSUE;
  double w[TB_N_REGIONS];
  tb_phantom_region_weights (ph, p, w);
  return tb_phantom_trabecular_value (ph, p, w) > 0.0 ? TB_CLASS_TISSUE : TB_CLASS_MARROW;
}

/* Sub-points inside the endosteal surface everywhere: only T decides. The block of sub-points is
 * resolved recursively: T at the block's centre settles the whole block when |T| exceeds the
 * Lipschitz bound times the block's half-diagonal; otherwise it splits in two along each axis.
 * A one-point block is evaluated at exactly the position integrate_full uses. */
typedef struct {
  const TbPhantom *ph;
  const TbTrabParams *par;   /* the voxel's parameters when its region weights are constant, or NULL */
  double lipschitz;
  double c[3], size[3];
  int ss;
} Resolver;

static inline double
sub_coord (const Resolver *r, int axis, double idx)
{
  return r->c[axis] + ((idx + 0.5) / r->ss - 0.5) * r->size[axis];
}

static double
resolver_eval (const Resolver *r, const double p[3])
{
  if (r->par != NULL)
    return tb_phantom_trabecular_eval (r->ph, p, r->par);
  double w[TB_N_REGIONS];
  tb_phantom_region_weights (r->ph, p, w);
  return tb_phantom_trabecular_value (r->ph, p, w);
}

static int
resolve_block (const Resolver *r, const int lo[3], const int hi[3])
{
  int n[3], count = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
  double p[3], hd2 = 0.0;
  for (int d = 0; d < 3; d++)
    {
      n[d] = hi[d] - lo[d];
      p[d] = n[d] == 1 ? sub_coord (r, d, lo[d]) : sub_coord (r, d, 0.5 * (lo[d] + hi[d] - 1));
      double e = (n[d] - 1) * r->size[d] / r->ss;
      hd2 += e * e;
    }
  if (count == 1)
    return resolver_eval (r, p) > 0.0;
  double hd = 0.5 * sqrt (hd2) * 1.001 + 1e-9;
  double t = resolver_eval (r, p), bound = r->lipschitz * hd;
  if (t > bound)
    return count;
  if (t < -bound)
    return 0;
  int total = 0;
  for (int oz = 0; oz < (n[2] > 1 ? 2 : 1); oz++)
    for (int oy = 0; oy < (n[1] > 1 ? 2 : 1); oy++)
      for (int ox = 0; ox < (n[0] > 1 ? 2 : 1); ox++)
        {
          int o[3] = { ox, oy, oz }, sl[3], sh[3];
          for (int d = 0; d < 3; d++)
            {
              int mid = lo[d] + n[d] / 2;
              sl[d] = n[d] > 1 ? (o[d] ? mid : lo[d]) : lo[d];
              sh[d] = n[d] > 1 ? (o[d] ? hi[d] : mid) : hi[d];
            }
          total += resolve_block (r, sl, sh);
        }
  return total;
}

static void
integrate_trabecular (const TbPhantom *ph, const double c[3], const double size[3], int ss, double hd,
                      double frac[3])
{
  double w[TB_N_REGIONS];
  TbTrabParams par;
  Resolver r = { ph, NULL, ph->lipschitz, { c[0], c[1], c[2] }, { size[0], size[1], size[2] }, ss };
  if (tb_phantom_region_weights_ball (ph, c, hd, w))
    {
      tb_phantom_trabecular_params (ph, w, &par);
      r.par = &par;
      r.lipschitz = tb_phantom_trabecular_lipschitz (ph, &par, tb_phantom_trabecular_rho (c) - hd);
    }
  int lo[3] = { 0, 0, 0 }, hi[3] = { ss, ss, ss };
  int n_tissue = resolve_block (&r, lo, hi);
  double inv = 1.0 / ((double) ss * ss * ss);
  frac[TB_CLASS_TISSUE] = n_tissue * inv;
  frac[TB_CLASS_MARROW] = (ss * ss * ss - n_tissue) * inv;
  frac[TB_CLASS_SOFT] = 0.0;
}

static void
integrate_full (const TbPhantom *ph, const double c[3], const double size[3], int ss, double frac[3])
{
  int count[3] = { 0, 0, 0 };
  double p[3];
  for (int a = 0; a < ss; a++)
    {
      p[2] = c[2] + ((a + 0.5) / ss - 0.5) * size[2];
      for (int b = 0; b < ss; b++)
        {
          p[1] = c[1] + ((b + 0.5) / ss - 0.5) * size[1];
          for (int d = 0; d < ss; d++)
            {
              p[0] = c[0] + ((d + 0.5) / ss - 0.5) * size[0];
              count[tb_phantom_classify (ph, p)]++;
            }
        }
    }
  double inv = 1.0 / ((double) ss * ss * ss);
  for (int i = 0; i < 3; i++)
    frac[i] = count[i] * inv;
}

static inline void
set_pure (double frac[3], int cls)
{
  frac[0] = frac[1] = frac[2] = 0.0;
  frac[cls] = 1.0;
}

void
tb_phantom_voxel_fractions (const TbPhantom *ph, const double c[3], const double size[3],
                            int ss, gboolean exact_skip, double frac[3])
{
  if (!exact_skip)
    {
      integrate_full (ph, c, size, ss, frac);
      return;
    }
  /* half-diagonal of the sub-point cloud, a little less than the voxel's */
  double hd = 0.5 * (1.0 - 1.0 / ss) * sqrt (size[0] * size[0] + size[1] * size[1] + size[2] * size[2]);
  hd = hd * 1.001 + 1e-9;
  double shell = tb_phantom_shell_sdf (ph, c);
  double sdf = MAX (shell, ph->landmarks.shaft_distal[2] - c[2]);
  if (sdf > hd)
    {
      set_pure (frac, TB_CLASS_SOFT);
      return;
    }
  if (sdf >= -hd)
    {
      integrate_full (ph, c, size, ss, frac);
      return;
    }
  double g = shell + tb_phantom_cortex_thickness (ph, c);
  if (g > TB_PHANTOM_CORTEX_LIPSCHITZ * hd)
    {
      set_pure (frac, TB_CLASS_TISSUE);
      return;
    }
  if (g >= -TB_PHANTOM_CORTEX_LIPSCHITZ * hd)
    {
      integrate_full (ph, c, size, ss, frac);
      return;
    }
  if (tb_phantom_trabecular_fade (c[2] + hd) >= TB_PHANTOM_FADE_EMPTY)
    {
      set_pure (frac, TB_CLASS_MARROW);
      return;
    }
  integrate_trabecular (ph, c, size, ss, hd, frac);
}

gboolean
tb_phantom_sample_grid (const TbPhantom *ph, const TbVolume *geom, int ss, gboolean exact_skip,
                        const double *body_lo, const double *body_hi,
                        float *tissue, float *marrow, float *soft, guint8 *mask, guint8 *labels,
                        const char *what, GCancellable *cancellable, TbProgressFunc progress,
                        gpointer user_data, GError **error)
{
  const int nx = geom->nx, ny = geom->ny, nz = geom->nz;
  const int n_rows = ny * nz;
  int rows_done = 0;
  gboolean cancelled = FALSE;
  gint64 last = g_get_monotonic_time ();

  /* rows in dynamic order: the cost is very uneven (air, cortex, trabecular bone) */
#pragma omp parallel for schedule(dynamic, 1)
  for (int row = 0; row < n_rows; row++)
    {
      if (g_atomic_int_get (&cancelled))
        continue;
      int j = row % ny, k = row / ny;
      for (int i = 0; i < nx; i++)
        {
          double c[3], frac[3];
          tb_volume_voxel_to_world (geom, i, j, k, c);
          gsize idx = tb_volume_index (geom, i, j, k);
          if (body_lo != NULL && (c[0] < body_lo[0] || c[1] < body_lo[1] || c[2] < body_lo[2]
                                  || c[0] > body_hi[0] || c[1] > body_hi[1] || c[2] > body_hi[2]))
            continue;
          tb_phantom_voxel_fractions (ph, c, geom->spacing, ss, exact_skip, frac);
          tissue[idx] = (float) frac[TB_CLASS_TISSUE];
          if (marrow != NULL)
            marrow[idx] = (float) frac[TB_CLASS_MARROW];
          if (soft != NULL)
            soft[idx] = (float) frac[TB_CLASS_SOFT];
          if (mask != NULL || labels != NULL)
            {
              guint8 label = tb_phantom_region_at (ph, c);
              if (mask != NULL)
                mask[idx] = label != TB_REGION_OUTSIDE;
              if (labels != NULL)
                labels[idx] = label;
            }
        }
      int done = g_atomic_int_add (&rows_done, 1) + 1;
      /* one thread reports and polls: the master */
#ifdef _OPENMP
      if (omp_get_thread_num () != 0)
        continue;
#endif
      if (g_cancellable_is_cancelled (cancellable))
        g_atomic_int_set (&cancelled, TRUE);
      gint64 now = g_get_monotonic_time ();
      if (progress != NULL && now - last > 200000)
        {
          last = now;
          progress ((double) done / n_rows, what, user_data);
        }
    }
  if (cancelled || g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      if (cancelled)
        g_cancellable_set_error_if_cancelled (cancellable, error);
      return FALSE;
    }
  if (progress != NULL)
    progress (1.0, what, user_data);
  return TRUE;
}
