/* nn-quilt.c — minimum-error boundary cut between overlapping patches (Efros & Freeman 2001 image
 * quilting; paper 001 finds the path with Dijkstra's algorithm). */
#include "nn-private.h"

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
