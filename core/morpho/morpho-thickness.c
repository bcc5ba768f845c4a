/* morpho-thickness.c — local thickness by maximal spheres (Hildebrand & Ruegsegger 1997).
 *
 * 1. s = squared EDT of the structure (mm^2): each voxel's largest inscribed sphere.
 * 2. Distance ridge: drop the spheres whose voxels all lie inside a 26-neighbour's sphere
 *    (see need_table_init). Dropping them cannot change the result, since a contained sphere
 *    never raises the maximum; it only saves time (about 10x on trabecular bone).
 * 3. Every voxel takes the largest s of the ridge spheres that contain it (|v - p|^2 <= s_p,
 *    as Dougherty's Local Thickness does); the thickness is 2 sqrt (s).
 * Step 3 is split into z slabs, one per thread (cut at equal shares of the sphere work), each
 * visiting the spheres that reach it, so no two threads write the same voxel; within a sphere
 * each (y, z) row is one contiguous x-run. */
#include "tb-morpho.h"

#include <math.h>
#include <omp.h>

#define BIG 1e30f

typedef struct {
  int i, j, k;
  float s;
} Ridge;

/* Discrete containment (isotropic voxels, squared radii in voxel units are integers): the voxel
 * set of the sphere s at p lies inside the set of the sphere s' at p + d iff
 * s' >= need(s, d) = max over integer o with |o|^2 <= s of |o - d|^2. The ball is symmetric under
 * axis permutations and sign changes, so need depends on d only through its sorted absolute
 * components: a class. The 26 neighbours are tested (NEAR = 2, the 5x5x5 block, dropped only 2 %
 * more spheres on the micro-CT, not worth its cost). This is Dougherty's Distance Ridge idea made exact: far more spheres drop
 * than by the continuous test, and none whose voxels another sphere misses. */
#define NEAR 1
#define N_CLASSES 3  /* sorted (a <= b <= c) in 0..NEAR, not all 0: face, edge, corner */

typedef struct {
  int smax;
  int *need;             /* need[N_CLASSES * s + class] */
} NeedTable;

static int
offset_class (int dx, int dy, int dz)
{
  int v[3] = { ABS (dx), ABS (dy), ABS (dz) };
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2 - i; j++)
      if (v[j] > v[j + 1])
        {
          int t = v[j]; v[j] = v[j + 1]; v[j + 1] = t;
        }
  /* enumerate sorted triples in the same order as need_table_init */
  int c = 0;
  for (int x = 0; x <= NEAR; x++)
    for (int y = x; y <= NEAR; y++)
      for (int z = y; z <= NEAR; z++)
        {
          if (x == 0 && y == 0 && z == 0)
            continue;
          if (x == v[0] && y == v[1] && z == v[2])
            return c;
          c++;
        }
  g_assert_not_reached ();
  return -1;
}

static void
need_table_init (NeedTable *t, int smax)
{
  int d[N_CLASSES][3], nc = 0;
  for (int x = 0; x <= NEAR; x++)
    for (int y = x; y <= NEAR; y++)
      for (int z = y; z <= NEAR; z++)
        if (x || y || z)
          {
            d[nc][0] = x; d[nc][1] = y; d[nc][2] = z;
            nc++;
          }
  g_assert (nc == N_CLASSES);
  t->smax = smax;
  t->need = g_new (int, N_CLASSES * (gsize) (smax + 1));
  int r = (int) ceil (sqrt ((double) smax));
  /* the max over the ball's points with |o|^2 == q, then a running max over q <= s */
  int *best = g_new (int, N_CLASSES * (gsize) (smax + 1));
  for (gsize q = 0; q < N_CLASSES * (gsize) (smax + 1); q++)
    best[q] = G_MININT;
  for (int z = -r; z <= r; z++)
    for (int y = -r; y <= r; y++)
      for (int x = -r; x <= r; x++)
        {
          int o2 = x * x + y * y + z * z;
          if (o2 > smax)
            continue;
          for (int c = 0; c < N_CLASSES; c++)
            {
              int e = (x - d[c][0]) * (x - d[c][0]) + (y - d[c][1]) * (y - d[c][1]) + (z - d[c][2]) * (z - d[c][2]);
              best[N_CLASSES * o2 + c] = MAX (best[N_CLASSES * o2 + c], e);
            }
        }
  int run[N_CLASSES];
  for (int c = 0; c < N_CLASSES; c++)
    run[c] = G_MININT;
  for (int s = 0; s <= smax; s++)
    for (int c = 0; c < N_CLASSES; c++)
      t->need[N_CLASSES * s + c] = run[c] = MAX (run[c], best[N_CLASSES * s + c]);
  g_free (best);
}

typedef struct {
  gssize offset;
  int dx, dy, dz, cls;
} Neighbour;

/* The ridge points of slice k for isotropic voxels (integer squared radii si). */
static void
ridge_slice_int (const gint32 *si, int nx, int ny, int nz, int k, const NeedTable *table,
                 const Neighbour *nb, int n_nb, float unit, GArray *out)
{
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++)
      {
        gsize idx = i + (gsize) nx * (j + (gsize) ny * k);
        const gint32 sp = si[idx];
        if (sp <= 0)
          continue;
        const int *need = table->need + N_CLASSES * (gsize) sp;
        const gboolean interior = i >= NEAR && j >= NEAR && k >= NEAR
                                  && i < nx - NEAR && j < ny - NEAR && k < nz - NEAR;
        gboolean contained = FALSE;
        for (int q = 0; q < n_nb && !contained; q++)
          {
            if (!interior && (i + nb[q].dx < 0 || j + nb[q].dy < 0 || k + nb[q].dz < 0
                              || i + nb[q].dx >= nx || j + nb[q].dy >= ny || k + nb[q].dz >= nz))
              continue;
            contained = si[idx + nb[q].offset] >= need[nb[q].cls];
          }
        if (!contained)
          {
            Ridge r = { i, j, k, (float) (sp * unit) };
            g_array_append_val (out, r);
          }
      }
}

/* Anisotropic voxels: the continuous test r_q >= r_p + |p - q| over the 26 neighbours (ball
 * inside ball), exact but it drops fewer spheres. */
static void
ridge_slice (const float *s, int nx, int ny, int nz, int k, const double sp[3], GArray *out)
{
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++)
      {
        gsize idx = i + (gsize) nx * (j + (gsize) ny * k);
        float sq = s[idx];
        if (sq <= 0.0f)
          continue;
        double rp = sqrt ((double) sq);
        gboolean contained = FALSE;
        for (int dz = -1; dz <= 1 && !contained; dz++)
          for (int dy = -1; dy <= 1 && !contained; dy++)
            for (int dx = -1; dx <= 1 && !contained; dx++)
              {
                int x = i + dx, y = j + dy, z = k + dz;
                if ((dx | dy | dz) == 0 || x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz)
                  continue;
                float sq2 = s[x + (gsize) nx * (y + (gsize) ny * z)];
                if (sq2 <= sq)
                  continue;
                double dist = sqrt (dx * dx * sp[0] * sp[0] + dy * dy * sp[1] * sp[1] + dz * dz * sp[2] * sp[2]);
                /* 1e-9 relative: equal radii + distance means internal tangency: contained */
                contained = sqrt ((double) sq2) >= (rp + dist) * (1.0 - 1e-9);
              }
        if (!contained)
          {
            Ridge r = { i, j, k, sq };
            g_array_append_val (out, r);
          }
      }
}

/* x half-width of the run of voxels with dx^2 wx <= rem, exact in the face of rounding */
static inline int
half_width (double rem, double wx)
{
  int h = (int) floor (sqrt (rem / wx));
  while ((double) (h + 1) * (h + 1) * wx <= rem)
    h++;
  while (h > 0 && (double) h * h * wx > rem)
    h--;
  return h;
}

/* One row of a sphere: its first voxel's offset from the centre voxel, and its length. */
typedef struct {
  gssize offset;
  int len;
} Row;

/* Squared radii (in voxels) with a row list: up to r = 20, the spheres of trabecular bone, whose short
 * rows cost more to work out than to fill (the lists took the micro-CT's fill from 38 % to 29 % of
 * the profile); larger spheres' longer rows pay for their setup. At most ~250 000 rows (4 MB). */
#define ROW_TABLE_MAX 400

/* The first slice of thread t's slab: where the work before it reaches t / nt of the total. */
static int
slab_start (const double *work, int nz, int t, int nt)
{
  if (t >= nt)
    return nz;  /* the last slab ends at the top, even when the top slices hold no sphere centre */
  const double target = work[nz] * t / nt;
  int k = 0;
  while (k < nz && work[k] < target)
    k++;
  return k;
}

TbVolume *
tb_morpho_local_thickness (const TbMask *m, gboolean value, const TbMask *tv,
                           double *mean, double *sd, double *max, GCancellable *cancellable,
                           TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (mean) *mean = NAN;
  if (sd) *sd = NAN;
  if (max) *max = NAN;
  if (tv != NULL && (tv->nx != m->nx || tv->ny != m->ny || tv->nz != m->nz))
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_GRID,
                   "The region mask is %d x %d x %d but the image is %d x %d x %d",
                   tv->nx, tv->ny, tv->nz, m->nx, m->ny, m->nz);
      return NULL;
    }
  const int nx = m->nx, ny = m->ny, nz = m->nz;
  const gsize n = tb_mask_n_voxels (m), plane = (gsize) nx * ny;
  const double *sp = m->spacing;

  g_autofree float *s = tb_morpho_edt_squared (m, value, error);
  if (s == NULL)
    return NULL;
  gboolean unbounded = FALSE;
#pragma omp parallel for reduction(||:unbounded) schedule(static)
  for (gsize i = 0; i < n; i++)
    unbounded = unbounded || s[i] >= BIG;
  if (unbounded)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_EMPTY,
                   "Local thickness is undefined: the image holds no %s voxel to bound the %s",
                   value ? "background" : "bone", value ? "bone" : "background");
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* 2. ridge, slice by slice in parallel, then in z order */
  const gboolean isotropic = fabs (sp[1] - sp[0]) <= 1e-9 * sp[0] && fabs (sp[2] - sp[0]) <= 1e-9 * sp[0];
  const double unit = sp[0] * sp[0];
  NeedTable table = { 0, NULL };
  if (isotropic)
    {
      float smax_all = 0.0f;
#pragma omp parallel for reduction(max:smax_all) schedule(static)
      for (gsize i = 0; i < n; i++)
        smax_all = MAX (smax_all, s[i]);
      need_table_init (&table, (int) lrint (smax_all / unit));
    }
  gint32 *si = NULL;  /* isotropic: squared radii in voxel units, exact integers */
  if (isotropic)
    {
      si = g_new (gint32, n);
      const float inv = (float) (1.0 / unit);
#pragma omp parallel for schedule(static)
      for (gsize i = 0; i < n; i++)
        si[i] = (gint32) (s[i] * inv + 0.5f);
    }
  /* the neighbour offsets, nearest first (most spheres drop at the first few) */
  Neighbour nb[(2 * NEAR + 1) * (2 * NEAR + 1) * (2 * NEAR + 1)];
  int n_nb = 0;
  for (int ring = 1; ring <= 3 * NEAR * NEAR; ring++)
    for (int dz = -NEAR; dz <= NEAR; dz++)
      for (int dy = -NEAR; dy <= NEAR; dy++)
        for (int dx = -NEAR; dx <= NEAR; dx++)
          if (dx * dx + dy * dy + dz * dz == ring)
            {
              nb[n_nb] = (Neighbour) { dx + (gssize) nx * (dy + (gssize) ny * dz), dx, dy, dz, offset_class (dx, dy, dz) };
              n_nb++;
            }
  GArray **slices = g_new0 (GArray *, nz);
#pragma omp parallel for schedule(dynamic, 4)
  for (int k = 0; k < nz; k++)
    {
      slices[k] = g_array_new (FALSE, FALSE, sizeof (Ridge));
      if (isotropic)
        ridge_slice_int (si, nx, ny, nz, k, &table, nb, n_nb, (float) unit, slices[k]);
      else
        ridge_slice (s, nx, ny, nz, k, sp, slices[k]);
    }
  g_free (si);
  gsize *first = g_new0 (gsize, nz + 1);  /* ridge points of slice k: first[k] .. first[k+1]-1 */
  /* the fill's work before slice k (each sphere counted at its centre: ~r^3 voxels + ~r^2 rows) */
  double *work = g_new0 (double, nz + 1);
  GArray *ridge = g_array_new (FALSE, FALSE, sizeof (Ridge));
  float smax = 0.0f;
  for (int k = 0; k < nz; k++)
    {
      first[k] = ridge->len;
      work[k + 1] = work[k];
      for (guint r = 0; r < slices[k]->len; r++)
        {
          const float sq = g_array_index (slices[k], Ridge, r).s;
          const double q = sq / unit;  /* squared radius in voxels (of x spacing) */
          smax = MAX (smax, sq);
          work[k + 1] += q * (sqrt (q) + 2.0);
        }
      g_array_append_vals (ridge, slices[k]->data, slices[k]->len);
      g_array_free (slices[k], TRUE);
    }
  first[nz] = ridge->len;
  g_free (slices);
  g_free (table.need);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_array_free (ridge, TRUE);
      g_free (first);
      g_free (work);
      return NULL;
    }

  /* 3. spheres, one z slab per thread, the slabs cut at equal shares of the work (the bone is
   * seldom spread evenly along z: equal slab heights left one thread 1.5x the other's fill) */
  TbVolume *map = tb_volume_new (nx, ny, nz, sp, error);
  if (map == NULL)
    {
      g_array_free (ridge, TRUE);
      g_free (first);
      g_free (work);
      return NULL;
    }
  for (int d = 0; d < 3; d++)
    map->origin[d] = m->origin[d];
  float *out = map->data;  /* holds the squared radius until the end */
  const int reach = (int) ceil (sqrt ((double) smax) / sp[2]);
  const Ridge *rp = (const Ridge *) ridge->data;
  int *isqrt = NULL;  /* floor (sqrt (n)), exact, for isotropic voxels */
  if (isotropic)
    {
      int nmax = (int) lrint (smax / unit);
      isqrt = g_new (int, nmax + 1);
      for (int q = 0, r = 0; q <= nmax; q++)
        {
          while ((r + 1) * (r + 1) <= q)
            r++;
          isqrt[q] = r;
        }
    }

  /* isotropic: each squared radius up to ROW_TABLE_MAX that the ridge holds gets its list of rows,
   * so a sphere inside its slab and the image walks a list instead of working out each row */
  GArray *rows = NULL;
  guint *row_first = NULL;  /* rows of squared radius q: row_first[q] .. row_first[q + 1] - 1 */
  if (isotropic)
    {
      const int nmax = MIN ((int) lrint (smax / unit), ROW_TABLE_MAX);
      gboolean *present = g_new0 (gboolean, nmax + 1);
      for (guint r = 0; r < ridge->len; r++)
        {
          const int q = (int) lrint (rp[r].s / unit);
          if (q <= nmax)
            present[q] = TRUE;
        }
      rows = g_array_new (FALSE, FALSE, sizeof (Row));
      row_first = g_new (guint, nmax + 2);
      for (int q = 0; q <= nmax; q++)
        {
          row_first[q] = rows->len;
          if (!present[q])
            continue;
          const int h = isqrt[q];
          for (int dz = -h; dz <= h; dz++)
            {
              const int remz = q - dz * dz, hy = isqrt[remz];
              for (int dy = -hy; dy <= hy; dy++)
                {
                  const int hx = isqrt[remz - dy * dy];
                  Row row = { (gssize) dz * (gssize) plane + (gssize) dy * nx - hx, 2 * hx + 1 };
                  g_array_append_val (rows, row);
                }
            }
        }
      row_first[nmax + 1] = rows->len;
      g_free (present);
    }
  const Row *row_list = rows != NULL ? (const Row *) rows->data : NULL;

#pragma omp parallel
  {
    int nt = omp_get_num_threads (), t = omp_get_thread_num ();
    int z0 = slab_start (work, nz, t, nt), z1 = slab_start (work, nz, t + 1, nt);
    int kc0 = MAX (0, z0 - reach), kc1 = MIN (nz, z1 + reach);
    gint64 last_report = g_get_monotonic_time ();
    for (gsize r = first[kc0]; r < first[kc1]; r++)
      {
        if ((r & 0xff) == 0)
          {
            if (g_cancellable_is_cancelled (cancellable))
              break;  /* every thread checks: GCancellable is thread-safe */
            gint64 now;
            /* thread 0 reports its share done, at most every 0.2 s (its slab is half the work) */
            if (t == 0 && progress != NULL && (now = g_get_monotonic_time ()) - last_report > 200000)
              {
                last_report = now;
                progress ((double) (r - first[kc0]) / MAX (1, first[kc1] - first[kc0]),
                          value ? "Local thickness of bone" : "Local thickness of the background", user_data);
              }
          }
        const Ridge *c = rp + r;
        const float v = c->s;
        if (isqrt != NULL)
          {
            /* isotropic: integer squared radius, row half-widths from the integer square roots */
            const int si = (int) lrint (c->s / unit), h = isqrt[si];
            if (si <= ROW_TABLE_MAX && c->k - h >= z0 && c->k + h < z1 && c->j - h >= 0 && c->j + h < ny
                && c->i - h >= 0 && c->i + h < nx)
              {
                float *centre = out + (gsize) c->k * plane + (gsize) c->j * nx + c->i;
                for (const Row *w = row_list + row_first[si], *end = row_list + row_first[si + 1]; w < end; w++)
                  {
                    float *row = centre + w->offset;
                    const int len = w->len;
#pragma omp simd
                    for (int x = 0; x < len; x++)
                      row[x] = MAX (row[x], v);
                  }
                continue;
              }
            const int za = MAX (z0, c->k - h), zb = MIN (z1 - 1, c->k + h);
            for (int z = za; z <= zb; z++)
              {
                const int remz = si - (z - c->k) * (z - c->k), hy = isqrt[remz];
                const int ya = MAX (0, c->j - hy), yb = MIN (ny - 1, c->j + hy);
                for (int y = ya; y <= yb; y++)
                  {
                    const int hx = isqrt[remz - (y - c->j) * (y - c->j)];
                    const int xa = MAX (0, c->i - hx), xb = MIN (nx - 1, c->i + hx);
                    float *row = out + (gsize) z * plane + (gsize) y * nx;
#pragma omp simd
                    for (int x = xa; x <= xb; x++)
                      row[x] = MAX (row[x], v);
                  }
              }
            continue;
          }
        const double sq = c->s;
        int hz = (int) floor (sqrt (sq) / sp[2]);
        int za = MAX (z0, c->k - hz), zb = MIN (z1 - 1, c->k + hz);
        for (int z = za; z <= zb; z++)
          {
            double remz = sq - (double) (z - c->k) * (z - c->k) * sp[2] * sp[2];
            if (remz < 0)
              continue;
            int hy = half_width (remz, sp[1] * sp[1]);
            int ya = MAX (0, c->j - hy), yb = MIN (ny - 1, c->j + hy);
            for (int y = ya; y <= yb; y++)
              {
                double remy = remz - (double) (y - c->j) * (y - c->j) * sp[1] * sp[1];
                if (remy < 0)
                  continue;
                int hx = half_width (remy, sp[0] * sp[0]);
                int xa = MAX (0, c->i - hx), xb = MIN (nx - 1, c->i + hx);
                float *row = out + (gsize) z * plane + (gsize) y * nx;
#pragma omp simd
                for (int x = xa; x <= xb; x++)
                  row[x] = MAX (row[x], v);
              }
          }
      }
  }
  g_free (isqrt);
  if (rows != NULL)
    g_array_free (rows, TRUE);
  g_free (row_first);
  g_array_free (ridge, TRUE);
  g_free (first);
  g_free (work);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      tb_volume_unref (map);
      return NULL;
    }

  /* thickness = 2 r on the structure, 0 elsewhere; statistics over the structure in tv */
  double sum = 0.0, sum2 = 0.0, vmax = 0.0;
  guint64 count = 0;
#pragma omp parallel for reduction(+:sum, sum2, count) reduction(max:vmax) schedule(static)
  for (gsize i = 0; i < n; i++)
    {
      if ((m->data[i] != 0) != value)
        {
          out[i] = 0.0f;
          continue;
        }
      double t = 2.0 * sqrt ((double) out[i]);
      out[i] = (float) t;
      if (tv != NULL && tv->data[i] == 0)
        continue;
      sum += t;
      sum2 += t * t;
      count++;
      vmax = MAX (vmax, t);
    }
  if (count == 0)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_EMPTY,
                   "Local thickness is undefined: no %s voxel lies in the region", value ? "bone" : "background");
      tb_volume_unref (map);
      return NULL;
    }
  double mu = sum / (double) count;
  if (mean) *mean = mu;
  if (sd) *sd = sqrt (MAX (0.0, sum2 / (double) count - mu * mu));
  if (max) *max = vmax;
  return map;
}
