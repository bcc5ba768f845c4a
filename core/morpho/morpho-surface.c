/* morpho-surface.c — marching-cubes surface of a binary volume: BS, and SMI from it.
 *
 * No Debian C library fits: VTK is C++ and huge, and libigl/CGAL are C++ too; the cube
 * triangulation is small enough to derive here. Instead of a typed-in 256-case table (a classic
 * source of typos), each case is traced from its faces at first use: on every cube face, a segment
 * joins the edge where the CCW walk (seen from outside) enters the bone to the edge where it
 * leaves; on an ambiguous face (diagonal corners) the bone corners are joined, matching the
 * 26-connected bone of the Euler number. Segments of the six faces chain into closed loops,
 * each fanned into triangles whose normals point out of the bone. Neighbouring cubes trace
 * each shared face the same way, so the mesh is closed and consistently oriented.
 * Vertices sit at the mid-points between a bone and a background voxel centre (iso-value 1/2 of
 * the binary image) and are shared between cubes, so the mesh can be moved along its normals. */
#include "tb-morpho.h"
#include "morpho-private.h"

#include <math.h>

#define MAX_TRI 16

typedef struct {
  guint8 n;                    /* triangles */
  guint8 edge[MAX_TRI][3];     /* cube edge of each triangle vertex */
} CubeCase;

static CubeCase cases[256];
/* cube edges: corner bit = dx + 2 dy + 4 dz; edge e = 4 * axis + the other two bits in order */
static guint8 edge_corner[12][2];

static int
edge_of (int a, int b)
{
  for (int e = 0; e < 12; e++)
    if ((edge_corner[e][0] == a && edge_corner[e][1] == b) || (edge_corner[e][0] == b && edge_corner[e][1] == a))
      return e;
  g_assert_not_reached ();
  return -1;
}

static gpointer
build_cases (gpointer unused)
{
  for (int axis = 0, e = 0; axis < 3; axis++)
    for (int b = 0; b < 8; b++)
      if (!(b & (1 << axis)))
        {
          edge_corner[e][0] = b;
          edge_corner[e][1] = b | (1 << axis);
          e++;
        }
  for (int c = 0; c < 256; c++)
    {
      int next[12];
      for (int e = 0; e < 12; e++)
        next[e] = -1;
      for (int axis = 0; axis < 3; axis++)
        for (int s = 0; s < 2; s++)
          {
            /* the face's corners counter-clockwise seen from outside (right-handed u, v) */
            static const int uv_pos[4][2] = { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 0, 1 } };
            static const int uv_neg[4][2] = { { 0, 0 }, { 0, 1 }, { 1, 1 }, { 1, 0 } };
            int u = (axis + 1) % 3, v = (axis + 2) % 3, corner[4], in[4];
            for (int q = 0; q < 4; q++)
              {
                const int *uv = s ? uv_pos[q] : uv_neg[q];
                corner[q] = (s << axis) | (uv[0] << u) | (uv[1] << v);
                in[q] = (c >> corner[q]) & 1;
              }
            int entering[2], leaving[2], ne = 0, nl = 0;
            for (int q = 0; q < 4; q++)
              {
                int q1 = (q + 1) % 4;
                if (!in[q] && in[q1])
                  entering[ne++] = edge_of (corner[q], corner[q1]);
                else if (in[q] && !in[q1])
                  leaving[nl++] = edge_of (corner[q], corner[q1]);
              }
            if (ne == 1)
              next[entering[0]] = leaving[0];
            else if (ne == 2)
              {
                /* ambiguous face: join the bone corners, i.e. cut off each background corner,
                 * whose leaving edge (into it) precedes its entering edge (out of it) */
                for (int q = 0; q < 4; q++)
                  if (!in[q])
                    {
                      int qm = (q + 3) % 4, q1 = (q + 1) % 4;
                      next[edge_of (corner[q], corner[q1])] = edge_of (corner[qm], corner[q]);
                    }
              }
          }
      /* chain the segments into loops and fan each loop */
      gboolean used[12] = { FALSE };
      CubeCase *cc = &cases[c];
      for (int e0 = 0; e0 < 12; e0++)
        {
          if (next[e0] < 0 || used[e0])
            continue;
          int loop[12], n = 0;
          for (int e = e0; !used[e]; e = next[e])
            {
              used[e] = TRUE;
              loop[n++] = e;
            }
          for (int t = 1; t + 1 < n; t++)
            {
              g_assert (cc->n < MAX_TRI);
              cc->edge[cc->n][0] = loop[0];
              cc->edge[cc->n][1] = loop[t];
              cc->edge[cc->n][2] = loop[t + 1];
              cc->n++;
            }
        }
    }
  return NULL;
}

static inline int
inside (const TbMask *m, const TbMask *tv, int i, int j, int k)
{
  if (i < 0 || j < 0 || k < 0 || i >= m->nx || j >= m->ny || k >= m->nz)
    return 0;
  gsize idx = i + (gsize) m->nx * (j + (gsize) m->ny * k);
  return m->data[idx] != 0 && (tv == NULL || tv->data[idx] != 0);
}

/* Padded grid: voxel (i, j, k) for i in -1 .. nx-1 (the lower end of lattice edges) -> index. */
static inline gsize
pad_index (const TbMask *m, int i, int j, int k)
{
  return (gsize) (i + 1) + (gsize) (m->nx + 1) * ((gsize) (j + 1) + (gsize) (m->ny + 1) * (gsize) (k + 1));
}

gboolean
tb_morpho_mesh_build (const TbMask *m, const TbMask *tv, TbMorphoMesh *mesh, GError **error)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, build_cases, NULL);
  const int nx = m->nx, ny = m->ny, nz = m->nz;
  const gsize np = (gsize) (nx + 1) * (ny + 1) * (nz + 1);
  memset (mesh, 0, sizeof *mesh);
  if (!tb_memory_check ((guint64) np * sizeof (guint32), "surface mesh index", error))
    return FALSE;

  /* 1. crossing lattice edges from each padded voxel along +x, +y, +z; their first vertex id */
  guint32 *first = g_try_new (guint32, np + 1);
  if (first == NULL)
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL, "Out of memory for the surface mesh");
      return FALSE;
    }
  guint64 nv = 0;
  for (int k = -1; k < nz; k++)
    for (int j = -1; j < ny; j++)
      for (int i = -1; i < nx; i++)
        {
          int a = inside (m, tv, i, j, k);
          first[pad_index (m, i, j, k)] = (guint32) nv;
          nv += (a != inside (m, tv, i + 1, j, k)) + (a != inside (m, tv, i, j + 1, k))
                + (a != inside (m, tv, i, j, k + 1));
          if (nv > G_MAXUINT32 / 2)
            {
              g_free (first);
              g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL,
                           "The surface has too many vertices; measure a smaller region");
              return FALSE;
            }
        }
  mesh->n_vertices = nv;
  mesh->vertices = g_try_new (double, 3 * MAX (nv, 1));
  if (mesh->vertices == NULL)
    {
      g_free (first);
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_TOO_SMALL, "Out of memory for the surface mesh");
      return FALSE;
    }
#pragma omp parallel for schedule(static)
  for (int k = -1; k < nz; k++)
    for (int j = -1; j < ny; j++)
      for (int i = -1; i < nx; i++)
        {
          int a = inside (m, tv, i, j, k);
          guint32 id = first[pad_index (m, i, j, k)];
          const int nb[3][3] = { { i + 1, j, k }, { i, j + 1, k }, { i, j, k + 1 } };
          for (int axis = 0; axis < 3; axis++)
            if (a != inside (m, tv, nb[axis][0], nb[axis][1], nb[axis][2]))
              {
                double *p = mesh->vertices + 3 * (gsize) id++;
                p[0] = m->origin[0] + (i + (axis == 0 ? 0.5 : 0.0)) * m->spacing[0];
                p[1] = m->origin[1] + (j + (axis == 1 ? 0.5 : 0.0)) * m->spacing[1];
                p[2] = m->origin[2] + (k + (axis == 2 ? 0.5 : 0.0)) * m->spacing[2];
              }
        }

  /* 2. triangles, cube by cube (cube (i,j,k) has corners i..i+1, ...), per z layer in parallel */
  GArray **layers = g_new0 (GArray *, nz + 1);
#pragma omp parallel for schedule(dynamic, 2)
  for (int k = -1; k < nz; k++)
    {
      GArray *tris = layers[k + 1] = g_array_new (FALSE, FALSE, sizeof (guint32) * 3);
      for (int j = -1; j < ny; j++)
        for (int i = -1; i < nx; i++)
          {
            int c = 0;
            for (int b = 0; b < 8; b++)
              c |= inside (m, tv, i + (b & 1), j + ((b >> 1) & 1), k + (b >> 2)) << b;
            const CubeCase *cc = &cases[c];
            for (int t = 0; t < cc->n; t++)
              {
                guint32 tri[3];
                for (int q = 0; q < 3; q++)
                  {
                    int e = cc->edge[t][q], c0 = edge_corner[e][0], c1 = edge_corner[e][1];
                    int axis = (c0 ^ c1) == 1 ? 0 : (c0 ^ c1) == 2 ? 1 : 2;
                    int vi = i + (c0 & 1), vj = j + ((c0 >> 1) & 1), vk = k + (c0 >> 2);
                    /* the vertex id: rank of this axis among the crossing edges of voxel (vi,vj,vk) */
                    guint32 id = first[pad_index (m, vi, vj, vk)];
                    int a = inside (m, tv, vi, vj, vk);
                    if (axis > 0 && a != inside (m, tv, vi + 1, vj, vk)) id++;
                    if (axis > 1 && a != inside (m, tv, vi, vj + 1, vk)) id++;
                    tri[q] = id;
                  }
                g_array_append_val (tris, tri);
              }
          }
    }
  g_free (first);
  gsize nt = 0;
  for (int l = 0; l <= nz; l++)
    nt += layers[l]->len;
  mesh->n_triangles = nt;
  mesh->triangles = g_new (guint32, 3 * MAX (nt, 1));
  gsize off = 0;
  for (int l = 0; l <= nz; l++)
    {
      if (layers[l]->len > 0)  /* an empty GArray's data may be NULL, which memcpy must not get */
        memcpy (mesh->triangles + 3 * off, layers[l]->data, layers[l]->len * 3 * sizeof (guint32));
      off += layers[l]->len;
      g_array_free (layers[l], TRUE);
    }
  g_free (layers);
  return TRUE;
}

void
tb_morpho_mesh_clear (TbMorphoMesh *mesh)
{
  g_clear_pointer (&mesh->vertices, g_free);
  g_clear_pointer (&mesh->triangles, g_free);
  mesh->n_vertices = mesh->n_triangles = 0;
}

static inline void
cross (const double a[3], const double b[3], double c[3])
{
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}

double
tb_morpho_mesh_area (const TbMorphoMesh *mesh, double *volume)
{
  double area = 0.0, vol = 0.0;
#pragma omp parallel for reduction(+:area, vol) schedule(static)
  for (gsize t = 0; t < mesh->n_triangles; t++)
    {
      const double *a = mesh->vertices + 3 * (gsize) mesh->triangles[3 * t];
      const double *b = mesh->vertices + 3 * (gsize) mesh->triangles[3 * t + 1];
      const double *c = mesh->vertices + 3 * (gsize) mesh->triangles[3 * t + 2];
      double ab[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
      double ac[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] }, n[3], bc[3];
      cross (ab, ac, n);
      area += 0.5 * sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      cross (b, c, bc);
      vol += (a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]) / 6.0;  /* divergence theorem */
    }
  if (volume != NULL)
    *volume = vol;
  return area;
}
