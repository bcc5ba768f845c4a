/* tb-segment-private.h — what the segment stage's files share and nobody else needs. */
#pragma once

#include "tb-segment.h"

/* Reports progress at most every 0.2 s and answers "cancelled?" cheaply from a hot loop. */
typedef struct {
  GCancellable *cancellable;
  TbProgressFunc progress;
  gpointer user_data;
  gint64 last;
} TbSegmentTicker;

static inline gboolean
tb_segment_tick (TbSegmentTicker *t, double fraction, const char *message, GError **error)
{
  gint64 now = g_get_monotonic_time ();
  if (now - t->last < 200000)
    return TRUE;
  t->last = now;
  if (t->progress != NULL)
    t->progress (fraction, message, t->user_data);
  return !g_cancellable_set_error_if_cancelled (t->cancellable, error);
}

/* The face (6-connected) neighbours of voxel idx = i + nx (j + ny k) that lie inside the grid;
 * returns how many were written to nb. */
static inline int
tb_segment_face_neighbours (gsize idx, int i, int j, int k, int nx, int ny, int nz, gsize nb[6])
{
  gsize sxy = (gsize) nx * ny;
  int c = 0;
  if (i > 0) nb[c++] = idx - 1;
  if (i < nx - 1) nb[c++] = idx + 1;
  if (j > 0) nb[c++] = idx - nx;
  if (j < ny - 1) nb[c++] = idx + nx;
  if (k > 0) nb[c++] = idx - sxy;
  if (k < nz - 1) nb[c++] = idx + sxy;
  return c;
}

gboolean tb_segment_same_grid_mask (const TbVolume *v, const TbMask *m, const char *what, GError **error);
TbMask  *tb_segment_mask_like      (const TbVolume *v, GError **error);

/* Max-tree separation markers (complementary scheme): labels 2.. for each part, 0 elsewhere. */
TbMask  *tb_segment_separation_markers (const TbVolume *ct, double t_bone, gsize min_split_voxels,
                                        double *t_split_min, double *t_split_max, guint *n_splits,
                                        guint *n_markers, TbSegmentTicker *ticker, GError **error);

/* Label of the small bone pieces that get no marker of their own; they join a neighbour after the flood. */
#define TB_SEGMENT_FRAGMENT 255
void     tb_segment_absorb_fragments   (TbMask *labels, guint8 fragment, guint8 background);
