/* fe-islands.c — rigid-body modes of stiff parts that float in void.
 *
 * In a trabecular model a piece of bone that touches the rest only through void elements
 * (E_void/E_solid down to 1e-9) has six rigid-body modes of near-zero energy. A geometric coarse grid
 * cannot represent them when the piece is smaller than a coarse cell, and CG then spends hundreds of
 * iterations on them. We find the stiff connected components (elements with E >= 1e-3 E_max, joined
 * through shared faces, so a part hinged to the rest along an edge or at a corner is a piece of its own)
 * that hold no support, take their rigid-body modes Z, and wrap the multigrid
 * cycle M in the balancing preconditioner (Mandel 1993; Tang et al. 2009, "BNN"):
 *     P = Q + (I - Q A) M (I - A Q),   Q = Z E^-1 Z^T,   E = blockdiag(Z_i^T A Z_i)
 * which is symmetric positive definite for any SPD M. Z and A Z are sparse (a piece and its halo).
 * Pieces that touch each other (hinged along an edge or at a corner) couple in E; when there are few
 * enough modes (<= MAX_DENSE) E is assembled whole and factored densely (LAPACK), so chains of hinged
 * pieces are deflated exactly; otherwise E is approximated by its diagonal blocks.
 */
#define MAX_DENSE 3000
#include "fe-private.h"

#include <lapacke.h>
#undef I  /* complex.h, pulled in by lapacke.h, defines I */
#include <string.h>

typedef struct {
  gsize n_nodes;       /* nodes of the piece */
  gsize *nodes;
  gsize n_halo;        /* nodes where A Z is non-zero (piece + one layer) */
  gsize *halo;
  double *Z;           /* n_nodes * dim * nm, row-major per DOF */
  double *AZ;          /* n_halo * dim * nm */
  double L[36];        /* Cholesky factor of E_i (nm x nm, lower) */
} Island;

struct _TbFeIslands {
  int dim, nm;
  GArray *islands;     /* Island */
  double *tmp;         /* cap vectors */
  int cap;
  double *Ed;          /* the whole E, Cholesky factor (lower, column-major), or NULL */
};

static gboolean
cholesky (double *A, int n)
{
  for (int j = 0; j < n; j++)
    {
      double s = A[j * n + j];
      for (int k = 0; k < j; k++)
        s -= A[j * n + k] * A[j * n + k];
      if (!(s > 0))
        return FALSE;
      A[j * n + j] = sqrt (s);
      for (int i = j + 1; i < n; i++)
        {
          double t = A[i * n + j];
          for (int k = 0; k < j; k++)
            t -= A[i * n + k] * A[j * n + k];
          A[i * n + j] = t / A[j * n + j];
        }
      for (int i = 0; i < j; i++)
        A[i * n + j] = 0;
    }
  return TRUE;
}

static void
chol_solve (const double *L, int n, double *b)
{
  for (int i = 0; i < n; i++)
    {
      double s = b[i];
      for (int k = 0; k < i; k++)
        s -= L[i * n + k] * b[k];
      b[i] = s / L[i * n + i];
    }
  for (int i = n - 1; i >= 0; i--)
    {
      double s = b[i];
      for (int k = i + 1; k < n; k++)
        s -= L[k * n + i] * b[k];
      b[i] = s / L[i * n + i];
    }
}

void
tb_fe_islands_free (TbFeIslands *I)
{
  if (I == NULL)
    return;
  for (guint k = 0; k < I->islands->len; k++)
    {
      Island *is = &g_array_index (I->islands, Island, k);
      g_free (is->nodes); g_free (is->halo); g_free (is->Z); g_free (is->AZ);
    }
  g_array_free (I->islands, TRUE);
  g_free (I->tmp);
  g_free (I->Ed);
  g_free (I);
}

int
tb_fe_islands_count (const TbFeIslands *I)
{
  return I != NULL ? (int) I->islands->len : 0;
}

/* rigid-body mode q at position x (centred on c): translations, then rotations about x, y, z */
static void
rigid_mode (int dim, int q, const double x[3], const double c[3], double out[3])
{
  double d[3] = { x[0] - c[0], x[1] - c[1], x[2] - c[2] };
  out[0] = out[1] = out[2] = 0;
  if (q < dim)
    {
      out[q] = 1;
      return;
    }
  if (dim == 2)
    {
      out[0] = -d[1];
      out[1] = d[0];
      return;
    }
  int a = q - 3;  /* rotation about axis a: omega x d */
  double w[3] = { 0, 0, 0 };
  w[a] = 1;
  out[0] = w[1] * d[2] - w[2] * d[1];
  out[1] = w[2] * d[0] - w[0] * d[2];
  out[2] = w[0] * d[1] - w[1] * d[0];
}

static int
cmp_pair (gconstpointer a, gconstpointer b)
{
  const guint64 *x = a, *y = b;
  if (x[0] != y[0])
    return x[0] < y[0] ? -1 : 1;
  return x[1] < y[1] ? -1 : x[1] > y[1];
}

typedef struct { gsize node; guint island; gsize t; } Member;

static int
cmp_member (gconstpointer a, gconstpointer b)
{
  const Member *x = a, *y = b;
  return x->node < y->node ? -1 : x->node > y->node;
}

/* E = Z^T A Z over all pieces at once (coupled where pieces share nodes), factored densely */
static void
assemble_dense (TbFeIslands *I)
{
  int dim = I->dim, nm = I->nm;
  guint ni = I->islands->len;
  gsize nc = (gsize) ni * nm;
  if (ni < 2 || nc > MAX_DENSE)
    return;
  GArray *mem = g_array_new (FALSE, FALSE, sizeof (Member));
  for (guint k = 0; k < ni; k++)
    {
      const Island *is = &g_array_index (I->islands, Island, k);
      for (gsize t = 0; t < is->n_nodes; t++)
        {
          Member mb = { is->nodes[t], k, t };
          g_array_append_val (mem, mb);
        }
    }
  g_array_sort (mem, cmp_member);
  const Member *M = (const Member *) mem->data;
  double *E = g_new0 (double, nc * nc);  /* column-major; E[(j q) col][(i p) row] */
  for (guint j = 0; j < ni; j++)
    {
      const Island *js = &g_array_index (I->islands, Island, j);
      for (gsize h = 0; h < js->n_halo; h++)
        {
          gsize node = js->halo[h];
          /* first member with this node */
          gsize lo = 0, hi = mem->len;
          while (lo < hi)
            {
              gsize mid = (lo + hi) / 2;
              if (M[mid].node < node) lo = mid + 1; else hi = mid;
            }
          for (gsize u = lo; u < mem->len && M[u].node == node; u++)
            {
              const Island *is = &g_array_index (I->islands, Island, M[u].island);
              for (int p = 0; p < nm; p++)
                for (int q = 0; q < nm; q++)
                  {
                    double v = 0;
                    for (int c = 0; c < dim; c++)
                      v += is->Z[(M[u].t * dim + c) * nm + p] * js->AZ[(h * dim + c) * nm + q];
                    E[((gsize) j * nm + q) * nc + (gsize) M[u].island * nm + p] += v;
                  }
            }
        }
    }
  g_array_free (mem, TRUE);
  /* symmetrize the rounding, then factor; on failure keep the block-diagonal form */
  for (gsize a = 0; a < nc; a++)
    for (gsize b = a + 1; b < nc; b++)
      {
        double v = 0.5 * (E[a * nc + b] + E[b * nc + a]);
        E[a * nc + b] = E[b * nc + a] = v;
      }
  if (LAPACKE_dpotrf (LAPACK_COL_MAJOR, 'L', (int) nc, E, (int) nc) != 0)
    {
      g_free (E);
      return;
    }
  I->Ed = E;
}

TbFeIslands *
tb_fe_islands_new (const TbFeModel *m, const double *E, const guint8 *fixed, GError **error)
{
  int dim = m->dim, nm = dim == 3 ? 6 : 3, nen = m->nen, nke = m->nke;
  double Emax = 0;
  for (gsize e = 0; e < m->n_el; e++)
    Emax = MAX (Emax, E[e]);
  double thr = 1e-3 * Emax;
  /* union-find over stiff elements joined through shared FACES: parts that touch only along an edge
   * or at a corner hinge on it, and hinge rotations are near-zero-energy modes too */
  g_autofree gsize *parent = g_new (gsize, m->n_el);
  for (gsize e = 0; e < m->n_el; e++)
    parent[e] = e;
  for (gsize e = 0; e < m->n_el; e++)
    {
      if (E[e] < thr)
        continue;
      gsize ex = e % m->n[0], ey = (e / m->n[0]) % m->n[1], ez = e / ((gsize) m->n[0] * m->n[1]);
      gsize nb[3] = { ex > 0 ? e - 1 : G_MAXSIZE, ey > 0 ? e - m->n[0] : G_MAXSIZE,
                      ez > 0 ? e - (gsize) m->n[0] * m->n[1] : G_MAXSIZE };
      for (int a = 0; a < dim; a++)
        if (nb[a] != G_MAXSIZE && E[nb[a]] >= thr)
          tb_fe_uf_unite (parent, e, nb[a]);
    }
  /* components holding a support (fixed DOF or spring at one of their nodes) are anchored */
  g_autofree guint8 *anchored = g_new0 (guint8, m->n_el);
  for (gsize node = 0; node < m->n_nodes; node++)
    {
      gboolean held = FALSE;
      for (int c = 0; c < dim; c++)
        held |= fixed[node * dim + c] || (m->spring != NULL && m->spring[node * dim + c] > 0);
      if (!held)
        continue;
      gsize els[8];
      int ne = tb_fe_node_elements (m, node, els);
      for (int q = 0; q < ne; q++)
        if (E[els[q]] >= thr)
          anchored[tb_fe_uf_find (parent, els[q])] = 1;
    }
  /* (island, node) pairs of the floating components; a node on a hinge belongs to several */
  g_autofree gint32 *root_id = g_new (gint32, m->n_el);
  for (gsize e = 0; e < m->n_el; e++)
    root_id[e] = -1;
  guint n_isl = 0;
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (guint64) * 2);
  for (gsize e = 0; e < m->n_el; e++)
    {
      if (E[e] < thr)
        continue;
      gsize r = tb_fe_uf_find (parent, e);
      if (anchored[r])
        continue;
      if (root_id[r] < 0)
        root_id[r] = (gint32) n_isl++;
      gsize nodes[8];
      tb_fe_element_nodes (m, e, nodes);
      for (int a = 0; a < nen; a++)
        {
          guint64 pr[2] = { (guint64) root_id[r], nodes[a] };
          g_array_append_val (pairs, pr);
        }
    }
  g_array_sort (pairs, cmp_pair);
  TbFeIslands *I = g_new0 (TbFeIslands, 1);
  I->dim = dim;
  I->nm = nm;
  I->islands = g_array_sized_new (FALSE, TRUE, sizeof (Island), n_isl);
  g_array_set_size (I->islands, n_isl);
  for (guint q = 0; q < pairs->len; )
    {
      guint64 *p0 = &g_array_index (pairs, guint64, 2 * q);
      guint q1 = q;
      while (q1 < pairs->len && g_array_index (pairs, guint64, 2 * q1) == p0[0])
        q1++;
      Island *is = &g_array_index (I->islands, Island, p0[0]);
      is->nodes = g_new (gsize, q1 - q);
      for (guint t = q; t < q1; t++)
        {
          gsize n = g_array_index (pairs, guint64, 2 * t + 1);
          if (is->n_nodes == 0 || is->nodes[is->n_nodes - 1] != n)
            is->nodes[is->n_nodes++] = n;
        }
      q = q1;
    }
  g_array_free (pairs, TRUE);
  if (I->islands->len == 0)
    return I;
  /* Z per island (centred at the piece's centroid), and E_i, A Z_i element by element */
  g_autofree gint64 *pos = g_new (gint64, m->n_nodes);  /* index of a node within its island, -1 */
  for (gsize n = 0; n < m->n_nodes; n++)
    pos[n] = -1;
  for (guint k = 0; k < I->islands->len; k++)
    {
      Island *is = &g_array_index (I->islands, Island, k);
      double c[3] = { 0, 0, 0 };
      for (gsize t = 0; t < is->n_nodes; t++)
        {
          gsize n = is->nodes[t];
          pos[n] = (gint64) t;
          int ijk[3] = { n % m->nn[0], (n / m->nn[0]) % m->nn[1], n / ((gsize) m->nn[0] * m->nn[1]) };
          for (int a = 0; a < 3; a++)
            c[a] += ijk[a] * m->h[a] / is->n_nodes;
        }
      is->Z = g_new (double, is->n_nodes * dim * nm);
      for (gsize t = 0; t < is->n_nodes; t++)
        {
          gsize n = is->nodes[t];
          double x[3] = { (n % m->nn[0]) * m->h[0], ((n / m->nn[0]) % m->nn[1]) * m->h[1],
                          (n / ((gsize) m->nn[0] * m->nn[1])) * m->h[2] };
          for (int q = 0; q < nm; q++)
            {
              double v[3];
              rigid_mode (dim, q, x, c, v);
              for (int cc = 0; cc < dim; cc++)
                is->Z[(t * dim + cc) * nm + q] = v[cc];
            }
        }
      /* halo: nodes of every element that touches the island */
      GHashTable *halo = g_hash_table_new (g_direct_hash, g_direct_equal);
      GArray *hl = g_array_new (FALSE, FALSE, sizeof (gsize));
      for (gsize t = 0; t < is->n_nodes; t++)
        {
          gsize n = is->nodes[t];
          int i = n % m->nn[0], j = (n / m->nn[0]) % m->nn[1], kk = n / ((gsize) m->nn[0] * m->nn[1]);
          for (int dz = (dim == 3 ? -1 : 0); dz <= (dim == 3 ? 1 : 0); dz++)
            for (int dy = -1; dy <= 1; dy++)
              for (int dx = -1; dx <= 1; dx++)
                {
                  int a = i + dx, b = j + dy, c2 = kk + dz;
                  if (a < 0 || b < 0 || c2 < 0 || a >= m->nn[0] || b >= m->nn[1] || c2 >= m->nn[2])
                    continue;
                  gsize nb = tb_fe_model_node (m, a, b, c2);
                  if (!g_hash_table_contains (halo, GSIZE_TO_POINTER (nb + 1)))
                    {
                      g_hash_table_insert (halo, GSIZE_TO_POINTER (nb + 1), GSIZE_TO_POINTER (hl->len + 1));
                      g_array_append_val (hl, nb);
                    }
                }
        }
      is->n_halo = hl->len;
      is->halo = (gsize *) g_array_free (hl, FALSE);
      is->AZ = g_new0 (double, is->n_halo * dim * nm);
      double Ei[36] = { 0 };
      /* elements touching the island: those with a corner in it; visit each once via a set */
      GHashTable *seen = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (gsize t = 0; t < is->n_nodes; t++)
        {
          gsize n = is->nodes[t];
          int i = n % m->nn[0], j = (n / m->nn[0]) % m->nn[1], kk = n / ((gsize) m->nn[0] * m->nn[1]);
          for (int dz = (dim == 3 ? -1 : 0); dz <= 0; dz++)
            for (int dy = -1; dy <= 0; dy++)
              for (int dx = -1; dx <= 0; dx++)
                {
                  int ex = i + dx, ey = j + dy, ez = kk + dz;
                  if (ex < 0 || ey < 0 || ez < 0 || ex >= m->n[0] || ey >= m->n[1] || ez >= m->n[2])
                    continue;
                  gsize e = (gsize) ex + (gsize) m->n[0] * ((gsize) ey + (gsize) m->n[1] * ez);
                  if (g_hash_table_contains (seen, GSIZE_TO_POINTER (e + 1)))
                    continue;
                  g_hash_table_add (seen, GSIZE_TO_POINTER (e + 1));
                  gsize nodes[8];
                  tb_fe_element_nodes (m, e, nodes);
                  double Ze[24 * 6] = { 0 }, KZ[24 * 6] = { 0 };
                  for (int a = 0; a < nen; a++)
                    if (pos[nodes[a]] >= 0)
                      for (int cc = 0; cc < dim; cc++)
                        for (int q = 0; q < nm; q++)
                          Ze[(a * dim + cc) * nm + q] = is->Z[(pos[nodes[a]] * dim + cc) * nm + q];
                  for (int r = 0; r < nke; r++)
                    for (int q = 0; q < nm; q++)
                      {
                        double s = 0;
                        for (int p = 0; p < nke; p++)
                          s += m->K0[r * nke + p] * Ze[p * nm + q];
                        KZ[r * nm + q] = E[e] * s;
                      }
                  for (int a = 0; a < nen; a++)
                    {
                      gsize hpos = GPOINTER_TO_SIZE (g_hash_table_lookup (halo, GSIZE_TO_POINTER (nodes[a] + 1))) - 1;
                      for (int cc = 0; cc < dim; cc++)
                        {
                          if (fixed[nodes[a] * dim + cc])
                            continue;  /* the constrained operator has identity rows there */
                          for (int q = 0; q < nm; q++)
                            is->AZ[(hpos * dim + cc) * nm + q] += KZ[(a * dim + cc) * nm + q];
                        }
                    }
                  for (int p = 0; p < nm; p++)
                    for (int q = 0; q < nm; q++)
                      {
                        double s = 0;
                        for (int r = 0; r < nke; r++)
                          s += Ze[r * nm + p] * KZ[r * nm + q];
                        Ei[p * nm + q] += s;
                      }
                }
        }
      g_hash_table_destroy (seen);
      g_hash_table_destroy (halo);
      for (gsize t = 0; t < is->n_nodes; t++)
        pos[is->nodes[t]] = -1;
      memcpy (is->L, Ei, sizeof Ei);
      if (!cholesky (is->L, nm))
        {
          g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_SINGULAR,
                       "FE model is singular: a stiff part of %" G_GSIZE_FORMAT " nodes (first node %" G_GSIZE_FORMAT
                       ") is connected to nothing that holds it (Emin = 0 around it); fix it or give void a "
                       "small stiffness (Emin > 0)", is->n_nodes, is->nodes[0]);
          tb_fe_islands_free (I);
          return NULL;
        }
    }
  I->tmp = g_new (double, m->n_dofs);
  I->cap = 1;
  assemble_dense (I);
  return I;
}

/* c_i = E_i^-1 Z_i^T r (or (AZ_i)^T r when use_az), per island */
static void
project (const TbFeIslands *I, const double *r, gboolean use_az, double *coef)
{
  int dim = I->dim, nm = I->nm;
#pragma omp parallel for schedule(dynamic, 16) if (I->islands->len > 64)
  for (guint k = 0; k < I->islands->len; k++)
    {
      const Island *is = &g_array_index (I->islands, Island, k);
      double *c = coef + (gsize) k * nm;
      for (int q = 0; q < nm; q++)
        c[q] = 0;
      gsize n = use_az ? is->n_halo : is->n_nodes;
      const gsize *nodes = use_az ? is->halo : is->nodes;
      const double *V = use_az ? is->AZ : is->Z;
      for (gsize t = 0; t < n; t++)
        for (int cc = 0; cc < dim; cc++)
          {
            double rv = r[nodes[t] * dim + cc];
            for (int q = 0; q < nm; q++)
              c[q] += V[(t * dim + cc) * nm + q] * rv;
          }
      if (I->Ed == NULL)
        chol_solve (is->L, nm, c);
    }
  if (I->Ed != NULL)
    {
      int nc = (int) (I->islands->len * nm);
      /* _work: the plain call scans the whole factor for NaNs at every preconditioner application */
      LAPACKE_dpotrs_work (LAPACK_COL_MAJOR, 'L', nc, 1, I->Ed, nc, coef, nc);
    }
}

/* x += sign * V c (V = Z on the piece, or A Z on its halo); islands may share halo nodes: serial */
static void
expand (const TbFeIslands *I, const double *coef, gboolean use_az, double sign, double *x)
{
  int dim = I->dim, nm = I->nm;
  for (guint k = 0; k < I->islands->len; k++)
    {
      const Island *is = &g_array_index (I->islands, Island, k);
      const double *c = coef + (gsize) k * nm;
      gsize n = use_az ? is->n_halo : is->n_nodes;
      const gsize *nodes = use_az ? is->halo : is->nodes;
      const double *V = use_az ? is->AZ : is->Z;
      for (gsize t = 0; t < n; t++)
        for (int cc = 0; cc < dim; cc++)
          {
            double s = 0;
            for (int q = 0; q < nm; q++)
              s += V[(t * dim + cc) * nm + q] * c[q];
            x[nodes[t] * dim + cc] += sign * s;
          }
    }
}

/* z = Q r + (I - Q A) M (I - A Q) r, with M the multigrid cycle, for nv vectors (n_dofs each) */
void
tb_fe_islands_precondition (TbFeIslands *I, gsize n_dofs, int nv, const double *r, double *z,
                            void (*M) (gpointer, int, const double *, double *), gpointer data)
{
  if (I == NULL || I->islands->len == 0)
    {
      M (data, nv, r, z);
      return;
    }
  gsize nc = (gsize) I->islands->len * I->nm;
  g_autofree double *c0 = g_new (double, nc * nv), *c1 = g_new (double, nc);
  if (I->cap < nv)
    {
      g_free (I->tmp);
      I->tmp = g_new (double, n_dofs * nv);
      I->cap = nv;
    }
  memcpy (I->tmp, r, n_dofs * nv * sizeof (double));
  for (int v = 0; v < nv; v++)
    {
      project (I, r + v * n_dofs, FALSE, c0 + v * nc);           /* c0 = E^-1 Z^T r */
      expand (I, c0 + v * nc, TRUE, -1.0, I->tmp + v * n_dofs);  /* r1 = r - A Z c0 */
    }
  M (data, nv, I->tmp, z);                                      /* v = M r1 */
  for (int v = 0; v < nv; v++)
    {
      project (I, z + v * n_dofs, TRUE, c1);                     /* c1 = E^-1 (AZ)^T v */
      for (gsize q = 0; q < nc; q++)
        c1[q] = c0[v * nc + q] - c1[q];
      expand (I, c1, FALSE, 1.0, z + v * n_dofs);                 /* z = v + Z (c0 - c1) */
    }
}
