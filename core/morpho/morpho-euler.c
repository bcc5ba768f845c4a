/* morpho-euler.c — Euler characteristic with 26-connected foreground, and BoneJ's edge correction.
 *
 * The bone is the union of closed unit cubes (so cubes touching at an edge or a corner are
 * connected: 26-connectivity; the background is then 6-connected). chi = V - E + F - C of that
 * cell complex, counted per lattice vertex from its 2x2x2 block of voxels (Odgaard & Gundersen
 * 1993): a vertex owns 1/2 of each of its 6 edges, 1/4 of its 12 faces and 1/8 of its 8 cubes.
 * The table is derived from that rule at first use rather than typed in, so it cannot hold a typo;
 * it reproduces skimage.measure.euler_number(connectivity=3), which pads the image with zeros. */
#include "tb-morpho.h"
#include "morpho-private.h"

#include <math.h>

static gint8 lut3[256];  /* 8 * delta-chi of each 2x2x2 configuration, bit = dx + 2 dy + 4 dz */

static gpointer
build_lut (gpointer unused)
{
  for (int c = 0; c < 256; c++)
    {
      int v = c != 0, e = 0, f = 0, cubes = 0;
      for (int b = 0; b < 8; b++)
        cubes += (c >> b) & 1;
      for (int axis = 0; axis < 3; axis++)
        {
          int abit = 1 << axis;
          /* the two edges along this axis: the 4 voxels on each side of the vertex */
          for (int side = 0; side < 2; side++)
            {
              int any = 0;
              for (int b = 0; b < 8; b++)
                if (((b & abit) != 0) == side)
                  any |= (c >> b) & 1;
              e += any;
            }
          /* the 4 faces perpendicular to this axis: between voxel b and b ^ abit */
          for (int b = 0; b < 8; b++)
            if (!(b & abit))
              f += ((c >> b) | (c >> (b ^ abit))) & 1;
        }
      lut3[c] = (gint8) (8 * v - 4 * e + 2 * f - cubes);
    }
  return NULL;
}

static inline int
voxel (const TbMask *m, const TbMask *tv, int i, int j, int k)
{
  if (i < 0 || j < 0 || k < 0 || i >= m->nx || j >= m->ny || k >= m->nz)
    return 0;
  gsize idx = i + (gsize) m->nx * (j + (gsize) m->ny * k);
  return m->data[idx] != 0 && (tv == NULL || tv->data[idx] != 0);
}

/* chi of the closed squares of a 2D binary image get(u, v), u < nu, v < nv (8-connected):
 * per lattice vertex 1 - (1/2) edges + (1/4) squares, times 4. */
typedef int (*Get2D) (const TbMask *m, const TbMask *tv, int fixed, int u, int v);

static double
euler_2d (const TbMask *m, const TbMask *tv, int fixed, Get2D get, int nu, int nv)
{
  gint64 sum4 = 0;
  for (int v = 0; v <= nv; v++)
    for (int u = 0; u <= nu; u++)
      {
        int p[4];  /* bit = du + 2 dv, pixels (u-1+du, v-1+dv) */
        for (int b = 0; b < 4; b++)
          {
            int uu = u - 1 + (b & 1), vv = v - 1 + (b >> 1);
            p[b] = (uu >= 0 && vv >= 0 && uu < nu && vv < nv) ? get (m, tv, fixed, uu, vv) : 0;
          }
        int any = p[0] | p[1] | p[2] | p[3];
        int edges = (p[0] | p[2]) + (p[1] | p[3]) + (p[0] | p[1]) + (p[2] | p[3]);
        sum4 += 4 * any - 2 * edges + p[0] + p[1] + p[2] + p[3];
      }
  return sum4 / 4.0;
}

static int get_x (const TbMask *m, const TbMask *tv, int i, int u, int v) { return voxel (m, tv, i, u, v); }
static int get_y (const TbMask *m, const TbMask *tv, int j, int u, int v) { return voxel (m, tv, u, j, v); }
static int get_z (const TbMask *m, const TbMask *tv, int k, int u, int v) { return voxel (m, tv, u, v, k); }

/* runs of foreground along a box edge: chi of closed segments on a line */
static double
euler_1d (const TbMask *m, const TbMask *tv, int i, int j, int k, int axis, int n)
{
  int runs = 0, prev = 0;
  for (int t = 0; t < n; t++)
    {
      int cur = voxel (m, tv, axis == 0 ? t : i, axis == 1 ? t : j, axis == 2 ? t : k);
      runs += cur && !prev;
      prev = cur;
    }
  return runs;
}

static double
euler_masked (const TbMask *m, const TbMask *tv, double *delta_chi)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, build_lut, NULL);
  const int nx = m->nx, ny = m->ny, nz = m->nz;

  /* a zero-padded copy of bone n TV: every 2x2x2 block is then read without bounds checks */
  const int px = nx + 2, py = ny + 2, pz = nz + 2;
  guint8 *p = g_malloc0 ((gsize) px * py * pz);
#pragma omp parallel for schedule(static)
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        const gsize src = (gsize) nx * (j + (gsize) ny * k);
        guint8 *dst = p + 1 + (gsize) px * ((j + 1) + (gsize) py * (k + 1));
        for (int i = 0; i < nx; i++)
          dst[i] = m->data[src + i] != 0 && (tv == NULL || tv->data[src + i] != 0);
      }
  /* lattice vertex (i, j, k) of the padded grid sees voxels i-1..i, j-1..j, k-1..k; a column
   * code packs the 4 voxels (dy, dz) at one x, so the block code is col(x-1) | col(x) << 1 */
  gint64 sum8 = 0;
#pragma omp parallel for reduction(+:sum8) schedule(static)
  for (int k = 0; k <= nz; k++)
    for (int j = 0; j <= ny; j++)
      {
        const guint8 *r00 = p + (gsize) px * (j + (gsize) py * k);
        const guint8 *r10 = r00 + px, *r01 = r00 + (gsize) px * py, *r11 = r01 + px;
        int prev = 0;  /* column code at x = 0 (padding): 0 */
        for (int i = 1; i < px; i++)
          {
            int col = r00[i] | (r10[i] << 2) | (r01[i] << 4) | (r11[i] << 6);
            sum8 += lut3[prev | (col << 1)];
            prev = col;
          }
      }
  g_free (p);
  double chi = sum8 / 8.0;

  if (delta_chi != NULL)
    {
      /* BoneJ (Connectivity, after Odgaard & Gundersen 1993): a cell on an open face of the box is
       * shared with 1 neighbouring box, on an open edge with 3, at a corner with 7; keeping this
       * box's share gives chi - chi(closed faces)/2 + chi(closed edges)/4 - chi(corners)/8. */
      double faces = euler_2d (m, tv, 0, get_x, ny, nz) + euler_2d (m, tv, nx - 1, get_x, ny, nz)
                     + euler_2d (m, tv, 0, get_y, nx, nz) + euler_2d (m, tv, ny - 1, get_y, nx, nz)
                     + euler_2d (m, tv, 0, get_z, nx, ny) + euler_2d (m, tv, nz - 1, get_z, nx, ny);
      double edges = 0, corners = 0;
      for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
          {
            edges += euler_1d (m, tv, 0, a * (ny - 1), b * (nz - 1), 0, nx);
            edges += euler_1d (m, tv, a * (nx - 1), 0, b * (nz - 1), 1, ny);
            edges += euler_1d (m, tv, a * (nx - 1), b * (ny - 1), 0, 2, nz);
            for (int c = 0; c < 2; c++)
              corners += voxel (m, tv, a * (nx - 1), b * (ny - 1), c * (nz - 1));
          }
      *delta_chi = chi - faces / 2.0 + edges / 4.0 - corners / 8.0;
    }
  return chi;
}

void
tb_morpho_euler (const TbMask *m, double *chi, double *delta_chi)
{
  g_return_if_fail (m != NULL);
  double c = euler_masked (m, NULL, delta_chi);
  if (chi != NULL)
    *chi = c;
}


double
tb_morpho_euler_in_region (const TbMask *m, const TbMask *tv, double *delta_chi)
{
  return euler_masked (m, tv, delta_chi);
}
