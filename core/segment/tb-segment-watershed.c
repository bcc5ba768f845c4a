/* tb-segment-watershed.c — marker-controlled watershed by priority flood (Meyer 1991; Beucher & Meyer 1993).
 *
 * The flood follows scikit-image's watershed (connectivity 1, compactness 0) step for step, so the two
 * can be compared voxel by voxel: markers enter a binary heap in raster order with age 0; popping the
 * lowest (value, age) element labels each unlabelled 6-neighbour with its label and pushes it with the
 * neighbour's own value and the next age. Equal values therefore flood first-come first-served and the
 * result is deterministic. Written here: GLib has no heap, and no Debian C library floods 3D labels. */
#include "tb-segment.h"
#include "tb-segment-private.h"

typedef struct {
  float value;
  guint32 index;     /* volumes up to 2^32 voxels; checked below */
  guint64 age;
} HeapItem;

typedef struct {
  HeapItem *items;
  gsize n, cap;
} Heap;

static inline gboolean
item_less (const HeapItem *a, const HeapItem *b)
{
  if (a->value == b->value)
    return a->age < b->age;
  return a->value < b->value;
}

static inline void
heap_push (Heap *h, HeapItem it)
{
  if (h->n == h->cap)
    {
      h->cap = MAX (1024, h->cap * 2);
      h->items = g_renew (HeapItem, h->items, h->cap);
    }
  gsize i = h->n++;
  while (i > 0)
    {
      gsize p = (i - 1) / 2;
      if (!item_less (&it, &h->items[p]))
        break;
      h->items[i] = h->items[p];
      i = p;
    }
  h->items[i] = it;
}

static inline HeapItem
heap_pop (Heap *h)
{
  HeapItem top = h->items[0];
  HeapItem last = h->items[--h->n];
  gsize i = 0, n = h->n;
  for (;;)
    {
      gsize c = 2 * i + 1;
      if (c >= n)
        break;
      if (c + 1 < n && item_less (&h->items[c + 1], &h->items[c]))
        c++;
      if (!item_less (&h->items[c], &last))
        break;
      h->items[i] = h->items[c];
      i = c;
    }
  if (n > 0)
    h->items[i] = last;
  return top;
}

TbMask *
tb_segment_watershed (const TbVolume *relief, const TbMask *markers, GCancellable *cancellable,
                      TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (relief != NULL && markers != NULL, NULL);
  if (markers->nx != relief->nx || markers->ny != relief->ny || markers->nz != relief->nz)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_SIZE,
                   "Marker volume is %dx%dx%d but the image is %dx%dx%d: give markers on the image's grid",
                   markers->nx, markers->ny, markers->nz, relief->nx, relief->ny, relief->nz);
      return NULL;
    }
  if (!tb_volume_check_finite (relief, "watershed relief", error))
    return NULL;
  gsize n = tb_volume_n_voxels (relief);
  if (n >= G_MAXUINT32)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "The image has %zu voxels; the watershed takes at most 2^32: crop it", n);
      return NULL;
    }
  if (!tb_memory_check (n * (sizeof (HeapItem) + 1), "watershed", error))
    return NULL;
  TbMask *out = tb_mask_new (relief->nx, relief->ny, relief->nz, relief->spacing, error);
  if (out == NULL)
    return NULL;
  memcpy (out->origin, relief->origin, sizeof out->origin);
  const int nx = relief->nx, ny = relief->ny, nz = relief->nz;
  const gsize sxy = (gsize) nx * ny;
  Heap heap = { 0 };
  gsize n_markers = 0;
  for (gsize i = 0; i < n; i++)
    out->data[i] = markers->data[i];
  /* Only marker voxels with an unlabelled neighbour enter the heap: popping one whose neighbours are all
   * marked pushes nothing, so leaving it out changes neither the flood order nor the ages (scikit-image
   * pushes every marker voxel; the result is the same). */
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        {
          gsize idx = i + (gsize) nx * (j + (gsize) ny * k);
          if (!markers->data[idx])
            continue;
          n_markers++;
          if ((k > 0 && !markers->data[idx - sxy]) || (j > 0 && !markers->data[idx - nx])
              || (i > 0 && !markers->data[idx - 1]) || (i < nx - 1 && !markers->data[idx + 1])
              || (j < ny - 1 && !markers->data[idx + nx]) || (k < nz - 1 && !markers->data[idx + sxy]))
            heap_push (&heap, (HeapItem) { relief->data[idx], (guint32) idx, 0 });
        }
  if (n_markers == 0)
    {
      g_free (heap.items);
      tb_mask_unref (out);
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                   "The watershed got no markers: give a marker volume with labelled voxels");
      return NULL;
    }
  TbSegmentTicker ticker = { cancellable, progress, user_data, g_get_monotonic_time () };
  guint64 age = 0;
  gsize done = 0;
  while (heap.n > 0)
    {
      HeapItem it = heap_pop (&heap);
      gsize idx = it.index;
      int i = idx % nx, j = (idx / nx) % ny, k = idx / sxy;
      /* scikit-image's neighbour order for connectivity 1: -z, -y, -x, +x, +y, +z */
      gsize nb[6];
      int m = 0;
      if (k > 0) nb[m++] = idx - sxy;
      if (j > 0) nb[m++] = idx - nx;
      if (i > 0) nb[m++] = idx - 1;
      if (i < nx - 1) nb[m++] = idx + 1;
      if (j < ny - 1) nb[m++] = idx + nx;
      if (k < nz - 1) nb[m++] = idx + sxy;
      for (int t = 0; t < m; t++)
        {
          gsize q = nb[t];
          if (out->data[q])
            continue;
          out->data[q] = out->data[idx];
          heap_push (&heap, (HeapItem) { relief->data[q], (guint32) q, ++age });
        }
      if ((++done & 0xffff) == 0
          && !tb_segment_tick (&ticker, (double) done / n, "Watershed flood", error))
        {
          g_free (heap.items);
          tb_mask_unref (out);
          return NULL;
        }
    }
  g_free (heap.items);
  return out;
}
