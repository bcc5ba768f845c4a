/* morpho-smi.c — structure model index from the surface mesh (Hildebrand & Ruegsegger 1997,
 * CMBBE 1:15): SMI = 6 V (dS/dr) / S^2, where dS/dr is the rate at which the surface area grows
 * when the surface moves outwards along its normals.
 *
 * The marching-cubes mesh of a binary image is a staircase whose corners would dominate dS/dr,
 * so the mesh is first smoothed by Taubin's lambda|mu filter (Taubin 1995, SIGGRAPH: shrinkage-free),
 * which keeps the topology and the enclosed volume nearly unchanged. dS/dr is then the exact
 * derivative of the area when every vertex moves along its (area-weighted) normal, and V is the
 * volume the smoothed mesh encloses. BoneJ moves its mesh vertices along normals the same way. */
#include "tb-morpho.h"
#include "morpho-private.h"

#include <math.h>

#define TAUBIN_ITERATIONS 20
#define TAUBIN_LAMBDA 0.5
#define TAUBIN_MU (-0.53)

static inline void
cross (const double a[3], const double b[3], double c[3])
{
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}

/* one umbrella step v += f * (mean of edge neighbours - v) */
static void
laplace_step (TbMorphoMesh *mesh, double f, double *sum, guint32 *count)
{
  gsize nv = mesh->n_vertices;
  memset (sum, 0, 3 * nv * sizeof (double));
  memset (count, 0, nv * sizeof (guint32));
  for (gsize t = 0; t < mesh->n_triangles; t++)
    for (int q = 0; q < 3; q++)
      {
        guint32 a = mesh->triangles[3 * t + q], b = mesh->triangles[3 * t + (q + 1) % 3];
        for (int d = 0; d < 3; d++)
          {
            sum[3 * (gsize) a + d] += mesh->vertices[3 * (gsize) b + d];
            sum[3 * (gsize) b + d] += mesh->vertices[3 * (gsize) a + d];
          }
        count[a]++;
        count[b]++;
      }
#pragma omp parallel for schedule(static)
  for (gsize v = 0; v < nv; v++)
    if (count[v] > 0)
      for (int d = 0; d < 3; d++)
        {
          double *p = mesh->vertices + 3 * v + d;
          *p += f * (sum[3 * v + d] / count[v] - *p);
        }
}

double
tb_morpho_mesh_smi (TbMorphoMesh *mesh, TbProgressFunc progress, gpointer user_data)
{
  gsize nv = mesh->n_vertices;
  if (mesh->n_triangles == 0)
    return NAN;
  double *sum = g_new (double, 3 * nv);
  guint32 *count = g_new (guint32, nv);
  for (int it = 0; it < TAUBIN_ITERATIONS; it++)
    {
      laplace_step (mesh, TAUBIN_LAMBDA, sum, count);
      laplace_step (mesh, TAUBIN_MU, sum, count);
      if (progress != NULL)
        progress ((it + 1.0) / (TAUBIN_ITERATIONS + 1), "Structure model index: smoothing the surface", user_data);
    }
  g_free (count);

  /* vertex normals: sum of the adjacent triangles' area vectors, normalized */
  double *normal = sum;
  memset (normal, 0, 3 * nv * sizeof (double));
  for (gsize t = 0; t < mesh->n_triangles; t++)
    {
      const guint32 *tri = mesh->triangles + 3 * t;
      const double *a = mesh->vertices + 3 * (gsize) tri[0];
      const double *b = mesh->vertices + 3 * (gsize) tri[1];
      const double *c = mesh->vertices + 3 * (gsize) tri[2];
      double ab[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] }, ac[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] }, n[3];
      cross (ab, ac, n);
      for (int q = 0; q < 3; q++)
        for (int d = 0; d < 3; d++)
          normal[3 * (gsize) tri[q] + d] += n[d];
    }
#pragma omp parallel for schedule(static)
  for (gsize v = 0; v < nv; v++)
    {
      double *n = normal + 3 * v, len = sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      if (len > 0)
        for (int d = 0; d < 3; d++)
          n[d] /= len;
    }

  /* dS/dr = sum over triangles of d|N|/2 / dr with N = (b - a) x (c - a), vertices p + r n_p */
  double area = 0.0, darea = 0.0, volume = 0.0;
#pragma omp parallel for reduction(+:area, darea, volume) schedule(static)
  for (gsize t = 0; t < mesh->n_triangles; t++)
    {
      const guint32 *tri = mesh->triangles + 3 * t;
      const double *a = mesh->vertices + 3 * (gsize) tri[0];
      const double *b = mesh->vertices + 3 * (gsize) tri[1];
      const double *c = mesh->vertices + 3 * (gsize) tri[2];
      const double *na = normal + 3 * (gsize) tri[0];
      const double *nb = normal + 3 * (gsize) tri[1];
      const double *nc = normal + 3 * (gsize) tri[2];
      double ab[3], ac[3], dab[3], dac[3], n[3], d1[3], d2[3], bc[3];
      for (int d = 0; d < 3; d++)
        {
          ab[d] = b[d] - a[d];
          ac[d] = c[d] - a[d];
          dab[d] = nb[d] - na[d];
          dac[d] = nc[d] - na[d];
        }
      cross (ab, ac, n);
      cross (dab, ac, d1);
      cross (ab, dac, d2);
      double len = sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      if (len <= 0)
        continue;
      area += 0.5 * len;
      darea += 0.5 * (n[0] * (d1[0] + d2[0]) + n[1] * (d1[1] + d2[1]) + n[2] * (d1[2] + d2[2])) / len;
      cross (b, c, bc);
      volume += (a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]) / 6.0;
    }
  g_free (sum);
  return 6.0 * volume * darea / (area * area);
}
