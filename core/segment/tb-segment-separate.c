/* tb-segment-separate.c — the regional half of the complementary scheme (Kim et al. 2018, paper 000):
 * the lowest thresholds that separate bones touching at a joint.
 *
 * Kim et al. raise a global threshold (golden-section search, checked by a "load path" between femur and
 * pelvis) until the femur comes apart from the pelvis while losing as little bone as possible. The same
 * answer, exact and for every contact at once, comes from a max-tree: add the voxels above t_bone from the
 * brightest down, joining neighbours with union-find. When two parts that are each at least
 * min_split_voxels big meet at level h, h is the lowest threshold that keeps them apart, and each part
 * becomes a marker made of its voxels above h. Parts that never meet another big part become markers whole.
 * Small parts (noise, a thin bridge of partial volume) join silently, so only bone-sized pieces split. */
#include "tb-segment.h"
#include "tb-segment-private.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  float value;
  guint32 index;
} Entry;

static int
by_value_desc (const void *a, const void *b)
{
  const Entry *x = a, *y = b;
  if (x->value != y->value)
    return x->value < y->value ? 1 : -1;
  return (x->index > y->index) - (x->index < y->index);
}

static inline guint32
find_root (guint32 *parent, guint32 x)
{
  while (parent[x] != x)
    {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
  return x;
}

typedef struct {
  guint32 *parent, *size, *next, *tail;
  guint8 *frozen;
  TbMask *markers;
  guint next_label;
  guint n_dropped;
} Forest;

/* give every voxel of the part rooted at r a fresh marker label */
static void
freeze (Forest *f, guint32 r, gboolean fragment)
{
  f->frozen[r] = 1;
  guint8 label = TB_SEGMENT_FRAGMENT;
  if (!fragment && f->next_label < TB_SEGMENT_FRAGMENT)
    label = (guint8) f->next_label++;
  else if (!fragment)
    f->n_dropped++;
  for (guint32 v = r; v != G_MAXUINT32; v = f->next[v])
    f->markers->data[v] = label;
}

TbMask *
tb_segment_separation_markers (const TbVolume *ct, double t_bone, gsize min_split, double *t_split_min,
                               double *t_split_max, guint *n_splits, guint *n_markers,
                               TbSegmentTicker *ticker, GError **error)
{
  gsize n = tb_volume_n_voxels (ct);
  const int nx = ct->nx, ny = ct->ny, nz = ct->nz;
  const gsize sxy = (gsize) nx * ny;
  gsize m = 0;
  for (gsize i = 0; i < n; i++)
    m += ct->data[i] > t_bone;
  if (!tb_memory_check (m * (sizeof (Entry) + 4 * sizeof (guint32) + 1) + n * sizeof (guint32),
                        "separation max-tree", error))
    return NULL;
  TbMask *markers = tb_segment_mask_like (ct, error);
  if (markers == NULL)
    return NULL;
  Entry *order = g_new (Entry, MAX (m, 1));
  m = 0;
  for (gsize i = 0; i < n; i++)
    if (ct->data[i] > t_bone)
      order[m++] = (Entry) { ct->data[i], (guint32) i };
  qsort (order, m, sizeof (Entry), by_value_desc);
  /* union-find over voxel indices; parent == G_MAXUINT32: not yet added */
  Forest f = { 0 };
  f.parent = g_new (guint32, n);
  memset (f.parent, 0xff, n * sizeof (guint32));
  f.size = g_new (guint32, n);
  f.next = g_new (guint32, n);
  f.tail = g_new (guint32, n);
  f.frozen = g_new0 (guint8, n);
  f.markers = markers;
  f.next_label = 2;
  double lo = INFINITY, hi = -INFINITY;
  guint splits = 0;
  gboolean ok = TRUE;
  for (gsize e = 0; e < m && ok; e++)
    {
      guint32 v = order[e].index;
      f.parent[v] = v;
      f.size[v] = 1;
      f.next[v] = G_MAXUINT32;
      f.tail[v] = v;
      int i = v % nx, j = (v / nx) % ny, k = v / sxy;
      guint32 nb[6];
      int c = 0;
      if (i > 0) nb[c++] = v - 1;
      if (i < nx - 1) nb[c++] = v + 1;
      if (j > 0) nb[c++] = v - nx;
      if (j < ny - 1) nb[c++] = v + nx;
      if (k > 0) nb[c++] = v - sxy;
      if (k < nz - 1) nb[c++] = v + sxy;
      for (int t = 0; t < c; t++)
        {
          if (f.parent[nb[t]] == G_MAXUINT32)
            continue;
          guint32 ra = find_root (f.parent, v), rb = find_root (f.parent, nb[t]);
          if (ra == rb)
            continue;
          if (f.size[ra] >= min_split && f.size[rb] >= min_split)
            {
              /* two bone-sized parts meet at this level: keep them apart above it */
              if (!f.frozen[ra])
                freeze (&f, ra, FALSE);
              if (!f.frozen[rb])
                freeze (&f, rb, FALSE);
              lo = MIN (lo, order[e].value);
              hi = MAX (hi, order[e].value);
              splits++;
            }
          if (f.size[ra] < f.size[rb])
            {
              guint32 tmp = ra;
              ra = rb;
              rb = tmp;
            }
          f.parent[rb] = ra;
          f.size[ra] += f.size[rb];
          f.frozen[ra] |= f.frozen[rb];
          f.next[f.tail[ra]] = rb;
          f.tail[ra] = f.tail[rb];
        }
      if ((e & 0xffff) == 0)
        ok = tb_segment_tick (ticker, 0.2 * e / m, "Separating touching bones", error);
    }
  if (ok)
    {
      /* parts that never met another big part: markers whole, biggest first */
      GArray *roots = g_array_new (FALSE, FALSE, sizeof (Entry));
      for (gsize e = 0; e < m; e++)
        {
          guint32 v = order[e].index;
          if (f.parent[v] == v && !f.frozen[v])
            {
              Entry r = { (float) f.size[v], v };
              g_array_append_val (roots, r);
            }
        }
      g_array_sort (roots, by_value_desc);
      /* bone-sized ones get a label of their own, small ones the shared fragment label */
      for (guint r = 0; r < roots->len; r++)
        {
          const Entry *e = &g_array_index (roots, Entry, r);
          freeze (&f, e->index, e->value < min_split);
        }
      g_array_unref (roots);
    }
  g_free (order);
  g_free (f.parent);
  g_free (f.size);
  g_free (f.next);
  g_free (f.tail);
  g_free (f.frozen);
  if (!ok)
    {
      tb_mask_unref (markers);
      return NULL;
    }
  if (f.n_dropped > 0)
    g_debug ("separation: %u bone-sized parts share the fragment label (labels exhausted)", f.n_dropped);
  *t_split_min = splits ? lo : NAN;
  *t_split_max = splits ? hi : NAN;
  *n_splits = splits;
  *n_markers = f.next_label - 2;
  return markers;
}
