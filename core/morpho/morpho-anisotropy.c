/* morpho-anisotropy.c — degree of anisotropy by mean intercept length (Harrigan & Mann 1984,
 * J Mater Sci 19:761; Odgaard 1997, Bone 20:315).
 *
 * Along each of n directions (a Fibonacci lattice on the half sphere, deterministic), a grid of
 * parallel lines 2 voxels apart (offset by the seed) covers the image; each line is walked voxel
 * by voxel (Amanatides & Woo 1987) and MIL(w) = total line length in TV / number of entries
 * into bone (background -> bone transitions along the line; starting in bone is no entry). The fabric tensor M is the symmetric matrix fitted by least squares to
 * w^T M w = 1 / MIL(w)^2 (the MIL ellipsoid); DA = 1 - min/max eigenvalue of M (BoneJ's
 * definition: 0 isotropic, 1 a single preferred plane). Eigenvalues by LAPACKE_dsyev. */
#include "tb-morpho.h"
#include "morpho-private.h"

#include <lapacke.h>
#include <math.h>
#include <omp.h>

#define LINE_SPACING 2.0  /* voxels */

/* Walk one line p + t w (voxel coordinates, w in voxels per mm) through the image. */
static void
walk_line (const TbMask *m, const TbMask *tv, const double p0[3], const double w[3],
           double *length, guint64 *entries)
{
  const int n[3] = { m->nx, m->ny, m->nz };
  /* clip t to the box [-0.5, n - 0.5] on each axis */
  double t0 = -HUGE_VAL, t1 = HUGE_VAL;
  for (int d = 0; d < 3; d++)
    {
      if (fabs (w[d]) < 1e-15)
        {
          if (p0[d] < -0.5 || p0[d] >= n[d] - 0.5)
            return;
          continue;
        }
      double ta = (-0.5 - p0[d]) / w[d], tb = (n[d] - 0.5 - p0[d]) / w[d];
      t0 = MAX (t0, MIN (ta, tb));
      t1 = MIN (t1, MAX (ta, tb));
    }
  if (!(t1 > t0))
    return;
  double t = t0 + 1e-9;
  int idx[3], step[3];
  double tnext[3], tdelta[3];
  for (int d = 0; d < 3; d++)
    {
      double x = p0[d] + t * w[d];
      idx[d] = CLAMP ((int) floor (x + 0.5), 0, n[d] - 1);
      if (fabs (w[d]) < 1e-15)
        {
          step[d] = 0;
          tnext[d] = HUGE_VAL;
          tdelta[d] = HUGE_VAL;
        }
      else
        {
          step[d] = w[d] > 0 ? 1 : -1;
          double boundary = idx[d] + 0.5 * step[d];
          tnext[d] = (boundary - p0[d]) / w[d];
          tdelta[d] = 1.0 / fabs (w[d]);
        }
    }
  int prev_bone = -1;  /* unknown: a line that starts in bone has not entered it */
  double len = 0.0;
  guint64 ent = 0;
  while (t < t1)
    {
      int d = tnext[0] < tnext[1] ? (tnext[0] < tnext[2] ? 0 : 2) : (tnext[1] < tnext[2] ? 1 : 2);
      double te = MIN (tnext[d], t1);
      gsize vi = idx[0] + (gsize) m->nx * (idx[1] + (gsize) m->ny * idx[2]);
      gboolean in_tv = tv == NULL || tv->data[vi] != 0;
      gboolean bone = in_tv && m->data[vi] != 0;
      if (in_tv)
        len += te - t;
      if (bone && prev_bone == 0)
        ent++;
      prev_bone = bone;
      t = te;
      idx[d] += step[d];
      tnext[d] += tdelta[d];
      if (idx[d] < 0 || idx[d] >= n[d])
        break;
    }
  *length += len;
  *entries += ent;
}

double
tb_morpho_anisotropy_in_region (const TbMask *m, const TbMask *tv, int n_directions, guint32 seed,
                                double eigenvalues[3], double axes[9],
                                TbProgressFunc progress, gpointer user_data, GError **error)
{
  n_directions = MAX (n_directions, 9);
  const double *sp = m->spacing;
  const double c[3] = { (m->nx - 1) * sp[0] / 2, (m->ny - 1) * sp[1] / 2, (m->nz - 1) * sp[2] / 2 };
  const double radius = sqrt (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]) + sp[0] + sp[1] + sp[2];
  const double h = LINE_SPACING * MIN (sp[0], MIN (sp[1], sp[2]));
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  double *dirs = g_new (double, 3 * n_directions), *inv_mil2 = g_new (double, n_directions);
  double *offsets = g_new (double, 2 * n_directions);
  for (int q = 0; q < 2 * n_directions; q++)
    offsets[q] = g_rand_double (rand) * h;
  int usable = 0;

#pragma omp parallel for schedule(dynamic, 1) reduction(+:usable)
  for (int q = 0; q < n_directions; q++)
    {
      /* Fibonacci lattice on the upper half sphere (z >= 0) */
      double z = 1.0 - (q + 0.5) / n_directions, r = sqrt (1 - z * z);
      double phi = q * G_PI * (3.0 - sqrt (5.0));
      double w[3] = { r * cos (phi), r * sin (phi), z };
      memcpy (dirs + 3 * q, w, sizeof w);
      /* two unit vectors across the lines */
      double a[3] = { 1, 0, 0 };
      if (fabs (w[0]) > 0.9)
        a[0] = 0, a[1] = 1;
      double u[3] = { w[1] * a[2] - w[2] * a[1], w[2] * a[0] - w[0] * a[2], w[0] * a[1] - w[1] * a[0] };
      double ul = sqrt (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
      for (int d = 0; d < 3; d++) u[d] /= ul;
      double v[3] = { w[1] * u[2] - w[2] * u[1], w[2] * u[0] - w[0] * u[2], w[0] * u[1] - w[1] * u[0] };
      double wv[3] = { w[0] / sp[0], w[1] / sp[1], w[2] / sp[2] };  /* voxels per mm */
      double length = 0.0;
      guint64 entries = 0;
      for (double s = -radius + offsets[2 * q]; s <= radius; s += h)
        for (double tt = -radius + offsets[2 * q + 1]; tt <= radius; tt += h)
          {
            if (s * s + tt * tt > radius * radius)
              continue;
            double p[3];
            for (int d = 0; d < 3; d++)
              p[d] = (c[d] + s * u[d] + tt * v[d]) / sp[d];
            walk_line (m, tv, p, wv, &length, &entries);
          }
      /* 1/MIL^2 = (entries / length)^2; no entry: MIL infinite, 0 */
      inv_mil2[q] = length > 0 ? ((double) entries / length) * ((double) entries / length) : NAN;
      usable += entries > 0;
      if (progress != NULL && omp_get_thread_num () == 0)
        progress ((q + 1.0) / n_directions, "Anisotropy: mean intercept lengths", user_data);
    }
  g_free (offsets);

  double da = NAN;
  if (usable == 0)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_EMPTY,
                   "Anisotropy is undefined: no test line enters bone in the region");
      goto out;
    }
  /* least squares for M (6 unknowns: xx yy zz xy yz zx) from w^T M w = 1/MIL^2 */
  {
    double ata[36] = { 0 }, atb[6] = { 0 };
    for (int q = 0; q < n_directions; q++)
      {
        if (isnan (inv_mil2[q]))
          continue;
        const double *w = dirs + 3 * q;
        double row[6] = { w[0] * w[0], w[1] * w[1], w[2] * w[2], 2 * w[0] * w[1], 2 * w[1] * w[2], 2 * w[2] * w[0] };
        for (int i = 0; i < 6; i++)
          {
            atb[i] += row[i] * inv_mil2[q];
            for (int j = 0; j < 6; j++)
              ata[6 * i + j] += row[i] * row[j];
          }
      }
    lapack_int ipiv[6];
    if (LAPACKE_dsysv (LAPACK_ROW_MAJOR, 'U', 6, 1, ata, 6, ipiv, atb, 1) != 0)
      {
        g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL,
                     "Anisotropy: the MIL fit is singular; use more directions");
        goto out;
      }
    double mt[9] = { atb[0], atb[3], atb[5],
                     atb[3], atb[1], atb[4],
                     atb[5], atb[4], atb[2] };
    double ev[3];
    if (LAPACKE_dsyev (LAPACK_ROW_MAJOR, 'V', 'U', 3, mt, 3, ev) != 0)
      {
        g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL, "Anisotropy: eigen-decomposition failed");
        goto out;
      }
    /* noise can push a zero eigenvalue slightly negative: clamp at 0 (DA then 1) */
    for (int i = 0; i < 3; i++)
      {
        eigenvalues[i] = MAX (ev[i], 0.0);
        for (int d = 0; d < 3; d++)
          axes[3 * i + d] = mt[3 * d + i];  /* column i of the row-major result */
      }
    da = eigenvalues[2] > 0 ? 1.0 - eigenvalues[0] / eigenvalues[2] : NAN;
  }
out:
  g_free (dirs);
  g_free (inv_mil2);
  return da;
}

double
tb_morpho_anisotropy (const TbMask *m, int n_directions, guint32 seed,
                      double eigenvalues[3], double axes[9], GError **error)
{
  g_return_val_if_fail (m != NULL && eigenvalues != NULL && axes != NULL, NAN);
  return tb_morpho_anisotropy_in_region (m, NULL, n_directions, seed, eigenvalues, axes, NULL, NULL, error);
}
