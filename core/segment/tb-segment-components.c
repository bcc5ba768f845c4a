/* tb-segment-components.c — connected components, hole filling, and keeping the objects a user picks.
 * Breadth-first labelling with an explicit queue: linear in the voxels, no recursion. */
#include "tb-segment.h"
#include "tb-segment-private.h"

#include <stdlib.h>
#include <string.h>

gboolean
tb_segment_same_grid_mask (const TbVolume *v, const TbMask *m, const char *what, GError **error)
{
  if (m->nx != v->nx || m->ny != v->ny || m->nz != v->nz)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_SIZE,
                   "The %s is %dx%dx%d but the image is %dx%dx%d: give one on the image's grid",
                   what, m->nx, m->ny, m->nz, v->nx, v->ny, v->nz);
      return FALSE;
    }
  return TRUE;
}

TbMask *
tb_segment_mask_like (const TbVolume *v, GError **error)
{
  TbMask *m = tb_mask_new (v->nx, v->ny, v->nz, v->spacing, error);
  if (m != NULL)
    memcpy (m->origin, v->origin, sizeof m->origin);
  return m;
}

/* Label the voxels where (data != 0) == !background, connectivity 6 or 26; labels 1..n in raster order of
 * first voxel; sizes[l] filled (index 0 unused). touches_border[l] set when given. */
static guint32 *
label_raw (const guint8 *data, int nx, int ny, int nz, int connectivity, gboolean background,
           guint *n_out, GArray **sizes_out, GArray **border_out)
{
  gsize n = (gsize) nx * ny * nz, sxy = (gsize) nx * ny;
  guint32 *lab = g_new0 (guint32, n);
  gsize *queue = g_new (gsize, n);
  GArray *sizes = g_array_new (FALSE, TRUE, sizeof (gsize));
  GArray *border = g_array_new (FALSE, TRUE, sizeof (gboolean));
  gsize zero = 0;
  gboolean no = FALSE;
  g_array_append_val (sizes, zero);
  g_array_append_val (border, no);
  guint32 next = 0;
  for (gsize s = 0; s < n; s++)
    {
      if (lab[s] || ((data[s] != 0) == background))
        continue;
      next++;
      gsize head = 0, tail = 0, count = 0;
      gboolean touches = FALSE;
      queue[tail++] = s;
      lab[s] = next;
      while (head < tail)
        {
          gsize idx = queue[head++];
          count++;
          int i = idx % nx, j = (idx / nx) % ny, k = idx / sxy;
          if (i == 0 || i == nx - 1 || (ny > 1 && (j == 0 || j == ny - 1)) || (nz > 1 && (k == 0 || k == nz - 1)))
            touches = TRUE;
          if (connectivity == 6)
            {
              /* the hot case (hole filling, background): the six face neighbours directly */
              gsize nb[6];
              int c = tb_segment_face_neighbours (idx, i, j, k, nx, ny, nz, nb);
              for (int t = 0; t < c; t++)
                {
                  gsize q = nb[t];
                  if (lab[q] || ((data[q] != 0) == background))
                    continue;
                  lab[q] = next;
                  queue[tail++] = q;
                }
              continue;
            }
          for (int dk = -1; dk <= 1; dk++)
            for (int dj = -1; dj <= 1; dj++)
              for (int di = -1; di <= 1; di++)
                {
                  if (di == 0 && dj == 0 && dk == 0)
                    continue;
                  int a = i + di, b = j + dj, c = k + dk;
                  if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz)
                    continue;
                  gsize q = a + (gsize) nx * (b + (gsize) ny * c);
                  if (lab[q] || ((data[q] != 0) == background))
                    continue;
                  lab[q] = next;
                  queue[tail++] = q;
                }
        }
      g_array_append_val (sizes, count);
      g_array_append_val (border, touches);
    }
  g_free (queue);
  *n_out = next;
  *sizes_out = sizes;
  if (border_out != NULL)
    *border_out = border;
  else
    g_array_unref (border);
  return lab;
}

typedef struct {
  gsize size;
  guint32 label;
} SizeLabel;

static int
by_size_desc (const void *a, const void *b)
{
  const SizeLabel *x = a, *y = b;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return (x->label > y->label) - (x->label < y->label);  /* ties: first in raster order first */
}

/* Map raw labels to 1..min(n,255) by decreasing size; map[raw] = 0 for dropped ones. */
static guint8 *
rank_labels (const GArray *sizes, guint n)
{
  SizeLabel *sl = g_new (SizeLabel, n + 1);
  for (guint l = 1; l <= n; l++)
    sl[l - 1] = (SizeLabel) { g_array_index (sizes, gsize, l), l };
  qsort (sl, n, sizeof (SizeLabel), by_size_desc);
  guint8 *map = g_new0 (guint8, n + 1);
  for (guint r = 0; r < MIN (n, 255u); r++)
    map[sl[r].label] = (guint8) (r + 1);
  g_free (sl);
  return map;
}

TbMask *
tb_segment_components (const TbMask *mask, int connectivity, guint *n_components, GError **error)
{
  g_return_val_if_fail (mask != NULL, NULL);
  if (connectivity != 6 && connectivity != 26)
    {
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                   "Connectivity must be 6 or 26, not %d", connectivity);
      return NULL;
    }
  gsize n = tb_mask_n_voxels (mask);
  if (!tb_memory_check (n * (sizeof (guint32) + sizeof (gsize) + 1), "connected components", error))
    return NULL;
  TbMask *out = tb_mask_new (mask->nx, mask->ny, mask->nz, mask->spacing, error);
  if (out == NULL)
    return NULL;
  memcpy (out->origin, mask->origin, sizeof out->origin);
  guint nl;
  GArray *sizes;
  g_autofree guint32 *lab = label_raw (mask->data, mask->nx, mask->ny, mask->nz, connectivity, FALSE,
                                       &nl, &sizes, NULL);
  g_autofree guint8 *map = rank_labels (sizes, nl);
  for (gsize i = 0; i < n; i++)
    out->data[i] = map[lab[i]];
  g_array_unref (sizes);
  if (n_components != NULL)
    *n_components = nl;
  return out;
}

/* Fill the background components of one box (3D or one slice) that do not touch its border with the
 * label met first around them. One breadth-first pass from the border marks the outside; only what it
 * does not reach (the holes, usually few voxels) is labelled component by component. */
static void
fill_block (guint8 *data, int nx, int ny, int nz)
{
  gsize n = (gsize) nx * ny * nz, sxy = (gsize) nx * ny;
  guint8 *outside = g_new0 (guint8, n);
  guint32 *queue = g_new (guint32, n);
  gsize head = 0, tail = 0;
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        {
          gboolean border = i == 0 || i == nx - 1 || (ny > 1 && (j == 0 || j == ny - 1))
                            || (nz > 1 && (k == 0 || k == nz - 1));
          if (!border)
            continue;
          gsize idx = i + (gsize) nx * (j + (gsize) ny * k);
          if (data[idx] == 0 && !outside[idx])
            {
              outside[idx] = 1;
              queue[tail++] = (guint32) idx;
            }
        }
  while (head < tail)
    {
      gsize idx = queue[head++];
      int i = idx % nx, j = (idx / nx) % ny, k = idx / sxy;
      gsize nb[6];
      int c = tb_segment_face_neighbours (idx, i, j, k, nx, ny, nz, nb);
      for (int t = 0; t < c; t++)
        if (data[nb[t]] == 0 && !outside[nb[t]])
          {
            outside[nb[t]] = 1;
            queue[tail++] = (guint32) nb[t];
          }
    }
  g_free (queue);
  /* holes: background the border flood did not reach */
  gsize n_holes = 0;
  for (gsize idx = 0; idx < n; idx++)
    {
      outside[idx] = data[idx] == 0 && !outside[idx];
      n_holes += outside[idx];
    }
  if (n_holes > 0)
    {
      guint nl;
      GArray *sizes;
      guint32 *lab = label_raw (outside, nx, ny, nz, 6, FALSE, &nl, &sizes, NULL);
      guint8 *fill = g_new0 (guint8, nl + 1);
      /* the first object label next to each hole, in raster order */
      for (gsize idx = 0; idx < n; idx++)
        {
          guint32 l = lab[idx];
          if (l == 0 || fill[l])
            continue;
          int i = idx % nx, j = (idx / nx) % ny, k = idx / sxy;
          int nbr[6][3] = { { i - 1, j, k }, { i + 1, j, k }, { i, j - 1, k }, { i, j + 1, k }, { i, j, k - 1 }, { i, j, k + 1 } };
          for (int t = 0; t < 6 && !fill[l]; t++)
            {
              int a = nbr[t][0], b = nbr[t][1], c = nbr[t][2];
              if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz)
                continue;
              fill[l] = data[a + (gsize) nx * (b + (gsize) ny * c)];
            }
        }
      for (gsize idx = 0; idx < n; idx++)
        if (lab[idx] && fill[lab[idx]])
          data[idx] = fill[lab[idx]];
      g_free (fill);
      g_free (lab);
      g_array_unref (sizes);
    }
  g_free (outside);
}

void
tb_segment_fill_holes (TbMask *labels, TbFillMode mode)
{
  g_return_if_fail (labels != NULL);
  if (mode & TB_FILL_3D)
    fill_block (labels->data, labels->nx, labels->ny, labels->nz);
  if (mode & TB_FILL_AXIAL)
    {
      gsize sxy = (gsize) labels->nx * labels->ny;
#pragma omp parallel for schedule(dynamic)
      for (int k = 0; k < labels->nz; k++)
        fill_block (labels->data + k * sxy, labels->nx, labels->ny, 1);
    }
}

TbMask *
tb_segment_keep (const TbMask *labels, const TbKeep *keep, GError **error)
{
  g_return_val_if_fail (labels != NULL && keep != NULL, NULL);
  gsize n = tb_mask_n_voxels (labels);
  gsize counts[256] = { 0 };
  for (gsize i = 0; i < n; i++)
    counts[labels->data[i]]++;
  gboolean wanted[256] = { FALSE };
  switch (keep->mode)
    {
    case TB_KEEP_ALL:
      for (guint l = 1; l < 256; l++)
        wanted[l] = counts[l] > 0;
      break;
    case TB_KEEP_LARGEST:
      {
        if (keep->n == 0)
          {
            g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID, "Keep at least one object");
            return NULL;
          }
        for (guint r = 0; r < keep->n; r++)
          {
            guint best = 0;
            for (guint l = 1; l < 256; l++)
              if (!wanted[l] && counts[l] > 0 && (best == 0 || counts[l] > counts[best]))
                best = l;
            if (best == 0)
              break;
            wanted[best] = TRUE;
          }
        break;
      }
    case TB_KEEP_SEED:
      {
        const int *s = keep->seed;
        if (s[0] < 0 || s[1] < 0 || s[2] < 0 || s[0] >= labels->nx || s[1] >= labels->ny || s[2] >= labels->nz)
          {
            g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_INVALID,
                         "Seed voxel (%d,%d,%d) is outside the %dx%dx%d image", s[0], s[1], s[2],
                         labels->nx, labels->ny, labels->nz);
            return NULL;
          }
        guint8 l = labels->data[s[0] + (gsize) labels->nx * (s[1] + (gsize) labels->ny * s[2])];
        if (l == 0)
          {
            g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                         "Seed voxel (%d,%d,%d) lies in the background: pick a voxel inside the bone",
                         s[0], s[1], s[2]);
            return NULL;
          }
        wanted[l] = TRUE;
        break;
      }
    case TB_KEEP_LABEL:
      if (keep->n == 0 || keep->n > 255 || counts[keep->n] == 0)
        {
          g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY,
                       "There is no object with label %u", keep->n);
          return NULL;
        }
      wanted[keep->n] = TRUE;
      break;
    }
  /* relabel the kept ones 1..m by decreasing size */
  GArray *sizes = g_array_new (FALSE, TRUE, sizeof (gsize));
  guint8 raw_of[256] = { 0 };
  gsize zero = 0;
  g_array_append_val (sizes, zero);
  guint m = 0;
  for (guint l = 1; l < 256; l++)
    if (wanted[l] && counts[l] > 0)
      {
        g_array_append_val (sizes, counts[l]);
        raw_of[l] = (guint8) ++m;
      }
  if (m == 0)
    {
      g_array_unref (sizes);
      g_set_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY, "No object to keep: the label volume is empty");
      return NULL;
    }
  g_autofree guint8 *rank = rank_labels (sizes, m);
  g_array_unref (sizes);
  TbMask *out = tb_mask_new (labels->nx, labels->ny, labels->nz, labels->spacing, error);
  if (out == NULL)
    return NULL;
  memcpy (out->origin, labels->origin, sizeof out->origin);
  for (gsize i = 0; i < n; i++)
    out->data[i] = raw_of[labels->data[i]] ? rank[raw_of[labels->data[i]]] : 0;
  return out;
}

/* Fragments (voxels labelled `fragment`) join the object they touch most; fragments that touch none get a
 * label of their own while labels last (else they become `background`). Used after the watershed for the
 * small pieces of bone that had no marker of their own. */
void
tb_segment_absorb_fragments (TbMask *labels, guint8 fragment, guint8 background)
{
  const int nx = labels->nx, ny = labels->ny, nz = labels->nz;
  gsize n = tb_mask_n_voxels (labels), sxy = (gsize) nx * ny;
  g_autofree guint8 *is_frag = g_new (guint8, n);
  gboolean used[256] = { FALSE };
  for (gsize i = 0; i < n; i++)
    {
      is_frag[i] = labels->data[i] == fragment;
      used[labels->data[i]] = TRUE;
    }
  guint nl;
  GArray *sizes;
  g_autofree guint32 *lab = label_raw (is_frag, nx, ny, nz, 6, FALSE, &nl, &sizes, NULL);
  if (nl == 0)
    {
      g_array_unref (sizes);
      return;
    }
  /* voxels of each fragment together (counting sort by component) */
  g_autofree gsize *start = g_new0 (gsize, nl + 2);
  for (guint l = 1; l <= nl; l++)
    start[l + 1] = start[l] + g_array_index (sizes, gsize, l);
  g_autofree gsize *fill = g_memdup2 (start, (nl + 2) * sizeof (gsize));
  g_autofree gsize *vox = g_new (gsize, start[nl + 1]);
  for (gsize i = 0; i < n; i++)
    if (lab[i])
      vox[fill[lab[i]]++] = i;
  guint next_free = 1;
  for (guint l = 1; l <= nl; l++)
    {
      guint32 counts[256] = { 0 };
      for (gsize e = start[l]; e < start[l + 1]; e++)
        {
          gsize idx = vox[e];
          int i = idx % nx, j = (idx / nx) % ny, k = idx / sxy;
          gsize nb[6];
          int c = tb_segment_face_neighbours (idx, i, j, k, nx, ny, nz, nb);
          for (int t = 0; t < c; t++)
            counts[labels->data[nb[t]]]++;
        }
      guint best = 0;
      for (guint L = 1; L < 256; L++)
        if (L != fragment && L != background && counts[L] > counts[best])
          best = L;
      if (best == 0 || counts[best] == 0)
        {
          while (next_free < 256 && (used[next_free] || next_free == fragment || next_free == background))
            next_free++;
          best = next_free < 256 ? next_free : background;
          if (next_free < 256)
            used[next_free] = TRUE;
        }
      for (gsize e = start[l]; e < start[l + 1]; e++)
        labels->data[vox[e]] = (guint8) best;
    }
  g_array_unref (sizes);
}
