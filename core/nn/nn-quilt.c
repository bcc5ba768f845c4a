/* nn-quilt.c — minimum-error boundary cut between overlapping patches: a seam path (Efros & Freeman
 * 2001 image quilting; paper 001 finds the path with Dijkstra's algorithm) and a seam surface, the
 * minimum graph cut through a 3-D overlap (Kwatra et al. 2003, "Graphcut textures"). */
#include "nn-private.h"

#include <math.h>
#include <string.h>

typedef struct {
  double d;
  int node;
} HeapItem;

static void
heap_push (GArray *h, double d, int node)
{
  HeapItem it = { d, node };
  g_array_append_val (h, it);
  HeapItem *a = (HeapItem *) h->data;
  for (guint i = h->len - 1; i > 0;)
    {
      guint p = (i - 1) / 2;
      if (a[p].d < a[i].d || (a[p].d == a[i].d && a[p].node <= a[i].node))
        break;
      HeapItem t = a[p]; a[p] = a[i]; a[i] = t;
      i = p;
    }
}

static HeapItem
heap_pop (GArray *h)
{
  HeapItem *a = (HeapItem *) h->data, top = a[0];
  a[0] = a[h->len - 1];
  g_array_set_size (h, h->len - 1);
  for (guint i = 0;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      if (l < h->len && (a[l].d < a[m].d || (a[l].d == a[m].d && a[l].node < a[m].node)))
        m = l;
      if (r < h->len && (a[r].d < a[m].d || (a[r].d == a[m].d && a[r].node < a[m].node)))
        m = r;
      if (m == i)
        break;
      HeapItem t = a[m]; a[m] = a[i]; a[i] = t;
      i = m;
    }
  return top;
}

void
tb_nn_quilt_seam (const float *a, const float *b, int len, int ov, guint8 *take_b)
{
  g_return_if_fail (len > 0 && ov > 0);
  int n = len * ov;
  g_autofree double *cost = g_new (double, n), *dist = g_new (double, n);
  g_autofree int *prev = g_new (int, n);
  g_autofree guint8 *done = g_new0 (guint8, n), *path = g_new0 (guint8, n);
  for (int i = 0; i < n; i++)
    {
      double d = (double) a[i] - b[i];
      cost[i] = d * d;
      dist[i] = G_MAXDOUBLE;
      prev[i] = -1;
    }
  g_autoptr(GArray) heap = g_array_new (FALSE, FALSE, sizeof (HeapItem));
  for (int c = 0; c < ov; c++)
    {
      dist[c] = cost[c];
      heap_push (heap, dist[c], c);
    }
  int end = -1;
  while (heap->len > 0)
    {
      HeapItem it = heap_pop (heap);
      int u = it.node;
      if (done[u])
        continue;
      done[u] = 1;
      int r = u / ov, c = u % ov;
      if (r == len - 1)
        {
          end = u;
          break;
        }
      const int nb[4][2] = { { r + 1, c }, { r, c - 1 }, { r, c + 1 }, { r - 1, c } };
      for (int k = 0; k < 4; k++)
        {
          int rr = nb[k][0], cc = nb[k][1];
          if (rr < 0 || rr >= len || cc < 0 || cc >= ov)
            continue;
          int v = rr * ov + cc;
          double nd = dist[u] + cost[v];
          if (!done[v] && nd < dist[v])
            {
              dist[v] = nd;
              prev[v] = u;
              heap_push (heap, nd, v);
            }
        }
    }
  for (int u = end; u >= 0; u = prev[u])
    path[u] = 1;
  /* side a: what column 0 reaches without crossing the path (4-connected flood fill); the path is
   * 4-connected from the first row to the last, so it separates the two sides */
  memset (take_b, 1, n);
  g_autofree int *stack = g_new (int, n);
  int sp = 0;
  for (int r = 0; r < len; r++)
    if (!path[r * ov])
      {
        take_b[r * ov] = 0;
        stack[sp++] = r * ov;
      }
  while (sp > 0)
    {
      int u = stack[--sp], r = u / ov, c = u % ov;
      const int nb[4][2] = { { r + 1, c }, { r - 1, c }, { r, c - 1 }, { r, c + 1 } };
      for (int k = 0; k < 4; k++)
        {
          int rr = nb[k][0], cc = nb[k][1];
          if (rr < 0 || rr >= len || cc < 0 || cc >= ov)
            continue;
          int v = rr * ov + cc;
          if (take_b[v] && !path[v])
            {
              take_b[v] = 0;
              stack[sp++] = v;
            }
        }
    }
}

/* Minimum s-t cut by the Boykov-Kolmogorov max-flow algorithm (IEEE PAMI 26, 2004; the algorithm
 * "Graphcut textures" used), which on grid graphs beats augmenting along shortest paths by far
 * (Dinic's took 13 s for a 512k-voxel overlap). Arcs in compressed rows: node u's are
 * [first[u], first[u + 1]); arc i goes to to[i], residual capacity cap[i], rev[i] its reverse.
 * Terminal arcs are folded into tr (> 0: residual from the source; < 0: to the sink). Two search
 * trees grow from the terminals; parent[v] is the arc from v to its parent in either tree. */
enum { FREE, SOURCE, SINK };
#define NO_PARENT (-1)
#define TERMINAL (-2)

typedef struct {
  int n;
  int *first, *to, *rev;
  gint64 *cap, *tr;
  guint8 *tree, *active;
  int *parent, *ts, *dist;
  int *queue, qhead, qlen;    /* active nodes, a ring */
  int *orphans, norph;
  int time;
} Bk;

static void
bk_activate (Bk *g, int v)
{
  if (g->active[v])
    return;
  g->active[v] = 1;
  g->queue[(g->qhead + g->qlen++) % g->n] = v;
}

static int
bk_next_active (Bk *g)
{
  while (g->qlen > 0)
    {
      int v = g->queue[g->qhead];
      g->qhead = (g->qhead + 1) % g->n;
      g->qlen--;
      g->active[v] = 0;
      if (g->parent[v] != NO_PARENT)
        return v;
    }
  return -1;
}

static void
bk_orphan (Bk *g, int v)
{
  g->parent[v] = NO_PARENT;
  g->orphans[g->norph++] = v;
}

/* Push the bottleneck along source -> ... -> tail (m) -> head (m) -> ... -> sink. */
static void
bk_augment (Bk *g, int m)
{
  int p = g->to[g->rev[m]], q = g->to[m], x;
  gint64 f = g->cap[m];
  for (x = p; g->parent[x] != TERMINAL; x = g->to[g->parent[x]])
    f = MIN (f, g->cap[g->rev[g->parent[x]]]);
  f = MIN (f, g->tr[x]);
  for (x = q; g->parent[x] != TERMINAL; x = g->to[g->parent[x]])
    f = MIN (f, g->cap[g->parent[x]]);
  f = MIN (f, -g->tr[x]);
  g->cap[m] -= f;
  g->cap[g->rev[m]] += f;
  for (x = p; g->parent[x] != TERMINAL;)
    {
      int pa = g->parent[x], y = g->to[pa];
      g->cap[pa] += f;
      g->cap[g->rev[pa]] -= f;
      if (g->cap[g->rev[pa]] == 0)
        bk_orphan (g, x);
      x = y;
    }
  g->tr[x] -= f;
  if (g->tr[x] == 0)
    bk_orphan (g, x);
  for (x = q; g->parent[x] != TERMINAL;)
    {
      int pa = g->parent[x], y = g->to[pa];
      g->cap[g->rev[pa]] += f;
      g->cap[pa] -= f;
      if (g->cap[pa] == 0)
        bk_orphan (g, x);
      x = y;
    }
  g->tr[x] += f;
  if (g->tr[x] == 0)
    bk_orphan (g, x);
}

/* Residual capacity from v towards the root of its tree along arc a (a leaves v). */
static inline gint64
bk_toward_root (const Bk *g, int t, int a)
{
  return t == SOURCE ? g->cap[g->rev[a]] : g->cap[a];
}

/* Find orphan x a new parent among its tree's nodes that still reach the terminal (nearest by the
 * distance marks), or free it and orphan its children. */
static void
bk_adopt (Bk *g, int x)
{
  int t = g->tree[x], best = -1, dmin = G_MAXINT;
  for (int a = g->first[x]; a < g->first[x + 1]; a++)
    {
      int j = g->to[a];
      if (g->tree[j] != t || g->parent[j] == NO_PARENT || bk_toward_root (g, t, a) <= 0)
        continue;
      int d = 0, y = j;
      for (;;)
        {
          if (g->ts[y] == g->time)
            {
              d += g->dist[y];
              break;
            }
          int pa = g->parent[y];
          d++;
          if (pa == TERMINAL)
            {
              g->ts[y] = g->time;
              g->dist[y] = 1;
              break;
            }
          if (pa == NO_PARENT)
            {
              d = G_MAXINT;
              break;
            }
          y = g->to[pa];
        }
      if (d == G_MAXINT)
        continue;
      if (d < dmin)
        {
          dmin = d;
          best = a;
        }
      for (y = j; g->ts[y] != g->time; y = g->to[g->parent[y]])
        {
          g->ts[y] = g->time;
          g->dist[y] = d--;
        }
    }
  if (best >= 0)
    {
      g->parent[x] = best;
      g->ts[x] = g->time;
      g->dist[x] = dmin + 1;
      return;
    }
  for (int a = g->first[x]; a < g->first[x + 1]; a++)
    {
      int j = g->to[a];
      if (g->tree[j] != t || g->parent[j] == NO_PARENT)
        continue;
      if (bk_toward_root (g, t, a) > 0)
        bk_activate (g, j);
      if (g->parent[j] != TERMINAL && g->to[g->parent[j]] == x)
        bk_orphan (g, j);
    }
  g->tree[x] = FREE;
}

static void
bk_maxflow (Bk *g)
{
  for (int v = 0; v < g->n; v++)
    {
      g->tree[v] = g->tr[v] > 0 ? SOURCE : g->tr[v] < 0 ? SINK : FREE;
      g->parent[v] = g->tree[v] != FREE ? TERMINAL : NO_PARENT;
      g->ts[v] = 0;
      g->dist[v] = 1;
      if (g->tree[v] != FREE)
        bk_activate (g, v);
    }
  int cur = -1;
  for (;;)
    {
      int i = cur >= 0 && g->parent[cur] != NO_PARENT ? cur : bk_next_active (g);
      if (i < 0)
        break;
      int t = g->tree[i], meet = -1;
      for (int a = g->first[i]; a < g->first[i + 1] && meet < 0; a++)
        {
          /* residual away from the root: i -> j in the source tree, j -> i in the sink tree */
          if ((t == SOURCE ? g->cap[a] : g->cap[g->rev[a]]) <= 0)
            continue;
          int j = g->to[a];
          if (g->tree[j] == FREE)
            {
              g->tree[j] = t;
              g->parent[j] = g->rev[a];
              g->ts[j] = g->ts[i];
              g->dist[j] = g->dist[i] + 1;
              bk_activate (g, j);
            }
          else if (g->tree[j] != t)
            meet = t == SOURCE ? a : g->rev[a];
          else if (g->ts[j] <= g->ts[i] && g->dist[j] > g->dist[i])
            {
              g->parent[j] = g->rev[a];
              g->ts[j] = g->ts[i];
              g->dist[j] = g->dist[i] + 1;
            }
        }
      g->time++;
      if (meet < 0)
        {
          cur = -1;
          continue;
        }
      cur = i;
      bk_augment (g, meet);
      while (g->norph > 0)
        bk_adopt (g, g->orphans[--g->norph]);
    }
}

/* The minimum cut of an n0 x n1 x ov slab of voxel errors e (see tb_nn_quilt_cut). fixed (may be
 * NULL) pins voxels: 1 to A, 2 to B; only the others are nodes, an edge to a pinned neighbour
 * becomes a tie to that side's terminal. */
static void
cut_errors (const float *e, int n0, int n1, int ov, const guint8 *fixed, guint8 *take_b)
{
  int nv = n0 * n1 * ov, step[3] = { n1 * ov, ov, 1 }, size[3] = { n0, n1, ov };
  g_autofree int *node = g_new (int, (guint) nv);
  int nn = 0;
  double emax = 0.0;
  for (int v = 0; v < nv; v++)
    {
      node[v] = fixed != NULL && fixed[v] != 0 ? -1 : nn++;
      emax = MAX (emax, e[v]);
    }
  for (int v = 0; v < nv; v++)
    take_b[v] = fixed != NULL && fixed[v] == 2;
  if (nn == 0)
    return;
  /* integer capacities (exact sums, a flow that terminates): the largest edge, 2 emax, is 2^31 */
  double q = emax > 0.0 ? 1073741824.0 / emax : 0.0;
  guint un = (guint) nn;
  Bk g = { .n = nn };
  g.first = g_new0 (int, un + 1);
  for (int v = 0; v < nv; v++)
    if (node[v] >= 0)
      {
        int c[3] = { v / step[0], (v / ov) % n1, v % ov };
        for (int ax = 0; ax < 3; ax++)
          for (int sg = -1; sg <= 1; sg += 2)
            if (c[ax] + sg >= 0 && c[ax] + sg < size[ax] && node[v + sg * step[ax]] >= 0)
              g.first[node[v] + 1]++;
      }
  for (int u = 0; u < nn; u++)
    g.first[u + 1] += g.first[u];
  guint na = (guint) g.first[nn];
  g.to = g_new (int, na);
  g.rev = g_new (int, na);
  g.cap = g_new (gint64, na);
  g.tr = g_new0 (gint64, un);
  g_autofree int *fill = g_memdup2 (g.first, un * sizeof (int));
  for (int v = 0; v < nv; v++)
    {
      int u = node[v];
      if (u < 0)
        continue;
      int c[3] = { v / step[0], (v / ov) % n1, v % ov };
      for (int ax = 0; ax < 3; ax++)
        for (int sg = -1; sg <= 1; sg += 2)
          {
            if (c[ax] + sg < 0 || c[ax] + sg >= size[ax])
              continue;
            int w = v + sg * step[ax];
            gint64 cw = (gint64) llround (((double) e[v] + e[w]) * q);
            if (node[w] < 0)
              g.tr[u] += fixed[w] == 1 ? cw : -cw;
            else if (sg > 0)
              {
                int i = fill[u]++, k = fill[node[w]]++;
                g.to[i] = node[w]; g.cap[i] = cw; g.rev[i] = k;
                g.to[k] = u; g.cap[k] = cw; g.rev[k] = i;
              }
          }
      /* the faces: o = 0 tied to A (source), o = ov - 1 to B (sink), at cost e; a node tied to both
       * carries the smaller tie as flow already */
      gint64 ce = (gint64) llround (e[v] * q);
      g.tr[u] += (c[2] == 0 ? ce : 0) - (c[2] == ov - 1 ? ce : 0);
    }
  g.tree = g_new (guint8, un);
  g.active = g_new0 (guint8, un);
  g.parent = g_new (int, un);
  g.ts = g_new (int, un);
  g.dist = g_new (int, un);
  g.queue = g_new (int, un);
  g.orphans = g_new (int, un);
  bk_maxflow (&g);
  /* the source's tree is what the source still reaches: A's side */
  for (int v = 0; v < nv; v++)
    if (node[v] >= 0)
      take_b[v] = g.tree[node[v]] != SOURCE;
  g_free (g.first); g_free (g.to); g_free (g.rev); g_free (g.cap); g_free (g.tr);
  g_free (g.tree); g_free (g.active); g_free (g.parent); g_free (g.ts); g_free (g.dist);
  g_free (g.queue); g_free (g.orphans);
}

/* Above this many voxels the cut is found coarse to fine (Boykov-Kolmogorov took 0.1 s for the 65k
 * voxels of a 64 x 64 x 16 overlap, 8.5 s for 512k: its augmenting paths lengthen with the overlap). */
#define CUT_MAX_NODES (1 << 17)

/* Coarse to fine: the cut of cells of 2^3 voxels, then of the voxels in and next to the cells it
 * parts (26-neighbours), all others pinned to their cell's side. A cell's error is its least voxel
 * error: a seam needs one good voxel per cell to pass, and the sum hid them (a 48 x 64 x 48 test
 * overlap: across-seam energy 2.1x inside with sums, 1.31x with minima, 1.31x cut voxel by voxel). */
static void
cut_level (const float *e, int n0, int n1, int ov, int max_nodes, guint8 *take_b)
{
  int nv = n0 * n1 * ov;
  if (nv <= max_nodes || (n0 == 1 && n1 == 1) || ov == 1)
    {
      cut_errors (e, n0, n1, ov, NULL, take_b);
      return;
    }
  int m[3] = { (n0 + 1) / 2, (n1 + 1) / 2, (ov + 1) / 2 }, mc = m[0] * m[1] * m[2];
#define CELL(v) ((((v) / (n1 * ov) / 2) * m[1] + (v) / ov % n1 / 2) * m[2] + (v) % ov / 2)
  g_autofree float *ec = g_new (float, (guint) mc);
  g_autofree guint8 *tc = g_new (guint8, (guint) mc), *edge = g_new0 (guint8, (guint) mc);
  for (int k = 0; k < mc; k++)
    ec[k] = G_MAXFLOAT;
  for (int v = 0; v < nv; v++)
    ec[CELL (v)] = MIN (ec[CELL (v)], e[v]);
  cut_level (ec, m[0], m[1], m[2], max_nodes, tc);
  /* cells on the cut: a 6-neighbour on the other side, or A at B's face, B at A's face */
  int st[3] = { m[1] * m[2], m[2], 1 };
  for (int k = 0; k < mc; k++)
    {
      int c[3] = { k / st[0], k / m[2] % m[1], k % m[2] };
      gboolean on = (c[2] == 0 && tc[k]) || (c[2] == m[2] - 1 && !tc[k]);
      for (int ax = 0; ax < 3 && !on; ax++)
        on = (c[ax] > 0 && tc[k - st[ax]] != tc[k]) || (c[ax] + 1 < m[ax] && tc[k + st[ax]] != tc[k]);
      if (!on)
        continue;
      for (int d0 = MAX (c[0] - 1, 0); d0 <= MIN (c[0] + 1, m[0] - 1); d0++)
        for (int d1 = MAX (c[1] - 1, 0); d1 <= MIN (c[1] + 1, m[1] - 1); d1++)
          for (int d2 = MAX (c[2] - 1, 0); d2 <= MIN (c[2] + 1, m[2] - 1); d2++)
            edge[(d0 * m[1] + d1) * m[2] + d2] = 1;
    }
  g_autofree guint8 *fixed = g_new (guint8, (guint) nv);
  for (int v = 0; v < nv; v++)
    {
      int k = CELL (v);
      fixed[v] = edge[k] ? 0 : tc[k] ? 2 : 1;
    }
#undef CELL
  cut_errors (e, n0, n1, ov, fixed, take_b);
}

void
nn_quilt_cut_levels (const float *a, const float *b, int n0, int n1, int ov, int max_nodes, guint8 *take_b)
{
  g_return_if_fail (n0 > 0 && n1 > 0 && ov > 0);
  int nv = n0 * n1 * ov;
  g_autofree float *e = g_new (float, (guint) nv);
  for (int i = 0; i < nv; i++)
    e[i] = (a[i] - b[i]) * (a[i] - b[i]);
  cut_level (e, n0, n1, ov, MAX (max_nodes, 8), take_b);
}

void
tb_nn_quilt_cut (const float *a, const float *b, int n0, int n1, int ov, guint8 *take_b)
{
  nn_quilt_cut_levels (a, b, n0, n1, ov, CUT_MAX_NODES, take_b);
}
