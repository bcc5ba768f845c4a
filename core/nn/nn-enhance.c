/* nn-enhance.c — patchwise inference on a CT volume and the three ways to stitch patches:
 *  tile   the box plus a halo >= the receptive radius read around it is the image; tiles of the box
 *         (all of it, when its activations fit the memory budget) are computed by
 *         tb_nn_net_forward_region, each layer only on the part of its grid the tile needs, so
 *         no halo is recomputed through the net and the result equals one pass over the whole
 *         image, bit for bit;
 *  quilt  patches overlap and are cut along minimum-error seams (nn-quilt.c): rows of patches are
 *         joined along x, rows along y, planes along z, each 2-D overlap slice by its own seam;
 *  cut    the same joins, each 3-D overlap cut whole by a minimum-error surface (a graph cut; in 2-D
 *         the seams of quilt);
 *  blend  overlapping patches averaged with linear ramps (the baseline).
 * 2-D networks run slice by slice along z; 3-D networks on blocks. */
#include "nn-private.h"

#include <math.h>
#include <string.h>

void
tb_nn_enhance_params_init (TbNnEnhanceParams *p)
{
  p->stitch = TB_NN_STITCH_TILE;
  p->patch = 0;     /* 0: tile, as large as memory_mb allows; quilt, blend: 96 */
  p->overlap = 0;   /* 0: the receptive radius (tile) or 8 voxels (quilt, blend) */
  p->batch = 1;
  p->memory_mb = 512;
}

#define PATCH_QUILT 96

typedef struct {
  int lo[3], n[3];   /* output (HR) voxels relative to the image */
  float *d;
} Block;

static void
block_clear (Block *b)
{
  g_clear_pointer (&b->d, g_free);
}

/* the image being enhanced: normalized input, its size, and what the net needs */
typedef struct {
  TbNnNet *net;
  const float *x;     /* nx * ny * nz normalized input */
  int n[3];
  int s, dims;
  int sc[3];          /* scale per axis (1 along z for 2-D nets) */
} Image;

/* Run the net on input voxels [lo, lo + n) of the image; returns the HR block. */
static gboolean
run_patch (Image *im, const int lo[3], const int n[3], Block *out, GError **error)
{
  g_autoptr(TbNnTensor) t = tb_nn_tensor_new (im->dims == 3 ? 5 : 4, 1, 1, n[2], n[1], n[0]);
  for (int z = 0; z < n[2]; z++)
    for (int y = 0; y < n[1]; y++)
      memcpy (t->data + ((gsize) z * n[1] + y) * n[0],
              im->x + ((gsize) (lo[2] + z) * im->n[1] + lo[1] + y) * im->n[0] + lo[0], n[0] * sizeof (float));
  const TbNnTensor *y = tb_nn_net_forward (im->net, t, FALSE, error);
  if (y == NULL)
    return FALSE;
  for (int a = 0; a < 3; a++)
    {
      out->lo[a] = lo[a] * im->sc[a];
      out->n[a] = n[a] * im->sc[a];
    }
  g_assert (tb_nn_tensor_size (y) == (gsize) out->n[0] * out->n[1] * out->n[2]);
  out->d = g_memdup2 (y->data, tb_nn_tensor_size (y) * sizeof (float));
  return TRUE;
}

/* Copy the part of block b inside [lo, lo+n) (HR) into the output volume o (HR image coordinates). */
static void
block_put (const Block *b, const int lo[3], const int n[3], float *o, const int on[3])
{
  for (int z = lo[2]; z < lo[2] + n[2]; z++)
    for (int y = lo[1]; y < lo[1] + n[1]; y++)
      memcpy (o + ((gsize) z * on[1] + y) * on[0] + lo[0],
              b->d + ((gsize) (z - b->lo[2]) * b->n[1] + (y - b->lo[1])) * b->n[0] + (lo[0] - b->lo[0]),
              n[0] * sizeof (float));
}

/* Patch starts along one axis: 0, T, 2T, ... each patch P = T + ov long, the last one moved back to
 * end at the image edge (so every overlap is at least ov). */
static GArray *
patch_starts (int n, int T, int P)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (int));
  if (P >= n)
    {
      int z = 0;
      g_array_append_val (a, z);
      return a;
    }
  for (int p = 0;; p += T)
    {
      int q = MIN (p, n - P);
      g_array_append_val (a, q);
      if (q + P >= n)
        break;
    }
  return a;
}

/* Join B onto A along axis (B starts inside A); the overlap of each 2-D slice is cut by its own seam,
 * or (surface, 3-D) the whole overlap by one minimum cut. */
static Block
join (Block *A, Block *B, int axis, gboolean surface)
{
  Block R;
  memcpy (R.lo, A->lo, sizeof R.lo);
  memcpy (R.n, A->n, sizeof R.n);
  int off = B->lo[axis] - A->lo[axis], ov = A->n[axis] - off;
  R.n[axis] = off + B->n[axis];
  R.d = g_new (float, (gsize) R.n[0] * R.n[1] * R.n[2]);
#define AT(blk, x, y, z) (blk)->d[((gsize) (z) * (blk)->n[1] + (y)) * (blk)->n[0] + (x)]
  for (int z = 0; z < R.n[2]; z++)
    for (int y = 0; y < R.n[1]; y++)
      for (int x = 0; x < R.n[0]; x++)
        {
          int c[3] = { x, y, z };
          gboolean inb = c[axis] >= A->n[axis];
          if (inb)
            {
              c[axis] -= off;
              AT (&R, x, y, z) = AT (B, c[0], c[1], c[2]);
            }
          else
            AT (&R, x, y, z) = AT (A, x, y, z);
        }
  /* seams: axis x -> slices z, seam along y; axis y -> slices z, along x; axis z -> slices y, along x */
  int along = axis == 0 ? 1 : 0, slice_ax = axis == 2 ? 1 : 2;
  int len = R.n[along], ns = R.n[slice_ax];
  gsize nslab = (gsize) ns * len * ov;
  g_autofree float *a = g_new (float, nslab), *b = g_new (float, nslab);
  g_autofree guint8 *take = g_new (guint8, nslab);
  for (int s = 0; s < ns; s++)
    for (int l = 0; l < len; l++)
      for (int o = 0; o < ov; o++)
        {
          int c[3];
          c[axis] = off + o; c[along] = l; c[slice_ax] = s;
          a[((gsize) s * len + l) * ov + o] = AT (A, c[0], c[1], c[2]);
          c[axis] = o;
          b[((gsize) s * len + l) * ov + o] = AT (B, c[0], c[1], c[2]);
        }
  if (surface && ns > 1)
    tb_nn_quilt_cut (a, b, ns, len, ov, take);
  else
    for (int s = 0; s < ns; s++)
      tb_nn_quilt_seam (a + (gsize) s * len * ov, b + (gsize) s * len * ov, len, ov, take + (gsize) s * len * ov);
  for (int s = 0; s < ns; s++)
    for (int l = 0; l < len; l++)
      for (int o = 0; o < ov; o++)
        {
          int c[3];
          gsize i = ((gsize) s * len + l) * ov + o;
          c[axis] = off + o; c[along] = l; c[slice_ax] = s;
          AT (&R, c[0], c[1], c[2]) = take[i] ? b[i] : a[i];
        }
#undef AT
  return R;
}

typedef struct {
  GCancellable *cancellable;
  TbProgressFunc progress;
  gpointer user_data;
  guint done, total;
  gint64 last;
} Prog;

static gboolean
tick (Prog *p, GError **error)
{
  p->done++;
  if (p->progress != NULL)
    p->progress ((double) p->done / MAX (1u, p->total), "enhancing patches", p->user_data);
  return !g_cancellable_set_error_if_cancelled (p->cancellable, error);
}

static guint
count_patches (const Image *im, const TbNnEnhanceParams *p, int T, int P)
{
  guint n = 1;
  for (int a = 0; a < 3; a++)
    {
      if (im->sc[a] == 1 && im->dims == 2)
        continue;
      g_autoptr(GArray) s = patch_starts (im->n[a], T, P);
      n *= s->len;
    }
  return n;
}

/* Quilt or blend one image (a 2-D slice with n[2] = 1, or a 3-D block) into o (HR, on[] voxels). */
static gboolean
enhance_image (Image *im, const TbNnEnhanceParams *p, int T, int ov, float *o, const int on[3],
               Prog *prog, GError **error)
{
  int tiled[3] = { 1, 1, im->dims == 3 };
  int P = T + ov;
  g_autoptr(GArray) sx = patch_starts (im->n[0], T, P), sy = patch_starts (im->n[1], T, P);
  g_autoptr(GArray) sz = tiled[2] ? patch_starts (im->n[2], T, P) : g_array_new (FALSE, TRUE, sizeof (int));
  if (!tiled[2])
    g_array_set_size (sz, 1);
  int Pz = tiled[2] ? MIN (P, im->n[2]) : im->n[2];
  if (p->stitch == TB_NN_STITCH_BLEND)
    {
      gsize on_all = (gsize) on[0] * on[1] * on[2];
      g_autofree float *wsum = g_new0 (float, on_all);
      memset (o, 0, on_all * sizeof (float));
      for (guint k = 0; k < sz->len; k++)
        for (guint j = 0; j < sy->len; j++)
          for (guint i = 0; i < sx->len; i++)
            {
              int lo[3] = { g_array_index (sx, int, i), g_array_index (sy, int, j), g_array_index (sz, int, k) };
              int n[3] = { MIN (P, im->n[0]), MIN (P, im->n[1]), Pz };
              Block b = { 0 };
              if (!run_patch (im, lo, n, &b, error))
                return FALSE;
              double ramp = MAX (1.0, (double) ov * im->s);   /* linear ramp over the overlap */
              for (int z = 0; z < b.n[2]; z++)
                for (int y = 0; y < b.n[1]; y++)
                  for (int x = 0; x < b.n[0]; x++)
                    {
                      int c[3] = { x, y, z };
                      double w = 1.0;
                      for (int a = 0; a < 3; a++)
                        if (tiled[a])
                          w *= MIN (1.0, MIN (c[a] + 0.5, b.n[a] - c[a] - 0.5) / ramp);
                      gsize oi = ((gsize) (b.lo[2] + z) * on[1] + b.lo[1] + y) * on[0] + b.lo[0] + x;
                      o[oi] += (float) (w * b.d[((gsize) z * b.n[1] + y) * b.n[0] + x]);
                      wsum[oi] += (float) w;
                    }
              block_clear (&b);
              if (!tick (prog, error))
                return FALSE;
            }
      for (gsize i = 0; i < on_all; i++)
        o[i] /= wsum[i];
      return TRUE;
    }
  /* quilt: rows along x, then planes along y, then the volume along z */
  gboolean surface = p->stitch == TB_NN_STITCH_CUT;
  Block vol = { 0 };
  for (guint k = 0; k < sz->len; k++)
    {
      Block plane = { 0 };
      for (guint j = 0; j < sy->len; j++)
        {
          Block row = { 0 };
          for (guint i = 0; i < sx->len; i++)
            {
              int lo[3] = { g_array_index (sx, int, i), g_array_index (sy, int, j), g_array_index (sz, int, k) };
              int n[3] = { MIN (P, im->n[0]), MIN (P, im->n[1]), Pz };
              Block b = { 0 };
              if (!run_patch (im, lo, n, &b, error) || !tick (prog, error))
                {
                  block_clear (&b); block_clear (&row); block_clear (&plane); block_clear (&vol);
                  return FALSE;
                }
              if (i == 0)
                row = b;
              else
                {
                  Block r = join (&row, &b, 0, surface);
                  block_clear (&row); block_clear (&b);
                  row = r;
                }
            }
          if (j == 0)
            plane = row;
          else
            {
              Block r = join (&plane, &row, 1, surface);
              block_clear (&plane); block_clear (&row);
              plane = r;
            }
        }
      if (k == 0)
        vol = plane;
      else
        {
          Block r = join (&vol, &plane, 2, surface);
          block_clear (&vol); block_clear (&plane);
          vol = r;
        }
    }
  int zero[3] = { 0, 0, 0 };
  block_put (&vol, zero, on, o, on);
  block_clear (&vol);
  return TRUE;
}

/* Tile size (input voxels per axis) for the tile mode: patch per axis when given, else the whole box,
 * halved along its longest axis while one tile's activations would exceed memory_mb. */
static void
tile_size (TbNnNet *net, const TbNnTensor *input, const int bo[3], const int bn[3], const int sc[3],
           const int tiled[3], const TbNnEnhanceParams *p, int T[3])
{
  for (int a = 0; a < 3; a++)
    T[a] = tiled[a] && p->patch > 0 ? MIN (p->patch, bn[a]) : bn[a];
  if (p->patch > 0 || p->memory_mb <= 0)
    return;
  for (;;)
    {
      int lo[3], n[3];
      for (int a = 0; a < 3; a++)
        {
          lo[a] = bo[a] * sc[a];
          n[a] = T[a] * sc[a];
        }
      gsize bytes = tb_nn_net_region_bytes (net, input, lo, n, NULL);
      int a = -1;
      for (int k = 0; k < 3; k++)
        if (tiled[k] && T[k] > 1 && (a < 0 || T[k] > T[a]))
          a = k;
      if (bytes <= (gsize) p->memory_mb << 20 || a < 0)
        return;
      T[a] = (T[a] + 1) / 2;
    }
}

/* The box (at bo of the image x, bn voxels) in tiles by tb_nn_net_forward_region, into o (HR voxels
 * of the box, on[] of them; 2-D: slice z0 of o). */
static gboolean
enhance_tiles (Image *im, const int bo[3], const int bn[3], const int T[3], float *o, const int on[3], int z0,
               Prog *prog, GError **error)
{
  TbNnTensor in = { im->dims == 3 ? 5 : 4, 1, 1, im->n[2], im->n[1], im->n[0], (float *) im->x };
  int t0[3];
  for (t0[2] = 0; t0[2] < bn[2]; t0[2] += T[2])
    for (t0[1] = 0; t0[1] < bn[1]; t0[1] += T[1])
      for (t0[0] = 0; t0[0] < bn[0]; t0[0] += T[0])
        {
          int lo[3], n[3];
          for (int a = 0; a < 3; a++)
            {
              lo[a] = (bo[a] + t0[a]) * im->sc[a];
              n[a] = MIN (T[a], bn[a] - t0[a]) * im->sc[a];
            }
          g_autoptr(TbNnTensor) y = tb_nn_net_forward_region (im->net, &in, lo, n, NULL, error);
          if (y == NULL)
            return FALSE;
          for (int z = 0; z < n[2]; z++)
            for (int yy = 0; yy < n[1]; yy++)
              memcpy (o + ((gsize) (z0 + t0[2] * im->sc[2] + z) * on[1] + t0[1] * im->sc[1] + yy) * on[0] + t0[0] * im->sc[0],
                      y->data + ((gsize) z * n[1] + yy) * n[0], n[0] * sizeof (float));
          if (!tick (prog, error))
            return FALSE;
        }
  return TRUE;
}

TbVolume *
tb_nn_enhance (TbNnNet *net, const TbVolume *ct, const TbBox *box, const TbNnEnhanceParams *params,
               GCancellable *cancellable, TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (net != NULL && ct != NULL && params != NULL, NULL);
  const TbNnArch *arch = tb_nn_net_get_arch (net);
  if (strcmp (arch->arch, "patchgan") == 0 || arch->in_channels != 1)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "A %s network is not a one-channel generator", arch->arch);
      return NULL;
    }
  double want = tb_nn_net_get_meta_double (net, "input_spacing_mm", 0.0);
  for (int a = 0; a < arch->dims && want > 0.0; a++)
    if (fabs (ct->spacing[a] - want) > 0.02 * want)
      {
        g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                     "The image's voxels are %.4g mm along %c, the model was trained on %.4g mm: resample the image "
                     "to %.4g mm first (enhance_nn --resample)", ct->spacing[a], "xyz"[a], want, want);
        return NULL;
      }
  TbBox whole = { 0, 0, 0, ct->nx, ct->ny, ct->nz };
  if (box == NULL)
    box = &whole;
  if (!tb_box_check (box, ct->nx, ct->ny, ct->nz, error) || !tb_volume_check_finite (ct, "the CT", error))
    return NULL;
  gboolean tile = params->stitch == TB_NN_STITCH_TILE;
  int patch = params->patch > 0 || tile ? params->patch : PATCH_QUILT;
  if ((patch != 0 && patch < 4) || patch < 0 || params->overlap < 0 || (!tile && params->overlap >= patch))
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "Patch %d and overlap %d: need patch >= 4 and overlap < patch",
                   params->patch, params->overlap);
      return NULL;
    }
  if (params->memory_mb < 0)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "A memory budget of %d MB (0 is no limit)", params->memory_mb);
      return NULL;
    }
  int s = arch->scale, rad = tb_nn_net_receptive_radius (net);
  int ov = params->overlap > 0 ? params->overlap : (tile ? rad : 8);
  if (tile && ov < rad)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                   "A halo of %d voxels is less than the network's receptive radius %d: tiles would differ", ov, rad);
      return NULL;
    }
  int sc[3] = { s, s, arch->dims == 3 ? s : 1 };
  double sp[3] = { ct->spacing[0] / sc[0], ct->spacing[1] / sc[1], ct->spacing[2] / sc[2] };
  g_autoptr(TbVolume) out = tb_volume_new (box->nx * sc[0], box->ny * sc[1], box->nz * sc[2], sp, error);
  if (out == NULL)
    return NULL;
  for (int a = 0; a < 3; a++)
    {
      int first[3] = { box->x0, box->y0, box->z0 };
      out->origin[a] = ct->origin[a] + first[a] * ct->spacing[a] - ct->spacing[a] / 2 + sp[a] / 2;
    }
  /* context: in tile mode the halo around the box is read from the volume where it has data */
  int ctx = tile ? ov : 0;
  int blo[3] = { box->x0, box->y0, box->z0 }, bn[3] = { box->nx, box->ny, box->nz }, dims_ct[3] = { ct->nx, ct->ny, ct->nz };
  int elo[3], en[3];
  for (int a = 0; a < 3; a++)
    {
      int c = (a < 2 || arch->dims == 3) ? ctx : 0;
      elo[a] = MAX (0, blo[a] - c);
      en[a] = MIN (dims_ct[a], blo[a] + bn[a] + c) - elo[a];
    }
  double off = tb_nn_net_get_meta_double (net, "input_offset", 0.0), scl = tb_nn_net_get_meta_double (net, "input_scale", 1.0);
  int nslices = arch->dims == 3 ? 1 : box->nz;
  Image im = { .net = net, .s = s, .dims = arch->dims, .sc = { sc[0], sc[1], sc[2] },
               .n = { en[0], en[1], arch->dims == 3 ? en[2] : 1 } };
  gsize in_n = (gsize) im.n[0] * im.n[1] * im.n[2];
  g_autofree float *x = g_new (float, in_n);
  im.x = x;
  /* tile mode: the box's place in the image (one slice of it in 2-D) and the tile size */
  int tiled[3] = { 1, 1, arch->dims == 3 };
  int bo[3] = { blo[0] - elo[0], blo[1] - elo[1], arch->dims == 3 ? blo[2] - elo[2] : 0 };
  int bs[3] = { bn[0], bn[1], arch->dims == 3 ? bn[2] : 1 }, T[3] = { 0, 0, 0 };
  Prog prog = { cancellable, progress, user_data, 0, 0, 0 };
  if (tile)
    {
      TbNnTensor shape = { arch->dims == 3 ? 5 : 4, 1, 1, im.n[2], im.n[1], im.n[0], NULL };
      tile_size (net, &shape, bo, bs, sc, tiled, params, T);
      prog.total = nslices;
      for (int a = 0; a < 3; a++)
        prog.total *= (bs[a] + T[a] - 1) / T[a];
    }
  else
    prog.total = count_patches (&im, params, patch, patch + ov) * nslices;
  int on[3] = { im.n[0] * sc[0], im.n[1] * sc[1], im.n[2] * sc[2] };
  g_autofree float *o = tile ? NULL : g_new (float, (gsize) on[0] * on[1] * on[2]);
  for (int sl = 0; sl < nslices; sl++)
    {
      int z0 = arch->dims == 3 ? elo[2] : box->z0 + sl;
      for (int z = 0; z < im.n[2]; z++)
        for (int y = 0; y < im.n[1]; y++)
          for (int xx = 0; xx < im.n[0]; xx++)
            x[((gsize) z * im.n[1] + y) * im.n[0] + xx] =
              (float) ((tb_volume_get (ct, elo[0] + xx, elo[1] + y, z0 + z) - off) / scl);
      if (tile)
        {
          int oon[3] = { out->nx, out->ny, out->nz };
          if (!enhance_tiles (&im, bo, bs, T, out->data, oon, arch->dims == 3 ? 0 : sl, &prog, error))
            return NULL;
          continue;
        }
      if (!enhance_image (&im, params, patch, ov, o, on, &prog, error))
        return NULL;
      /* crop the box out of the extended image */
      int cz = arch->dims == 3 ? (blo[2] - elo[2]) * sc[2] : 0, nz = arch->dims == 3 ? out->nz : 1;
      for (int z = 0; z < nz; z++)
        for (int y = 0; y < out->ny; y++)
          memcpy (out->data + ((gsize) (arch->dims == 3 ? z : sl) * out->ny + y) * out->nx,
                  o + ((gsize) (z + cz) * on[1] + y + (blo[1] - elo[1]) * sc[1]) * on[0] + (blo[0] - elo[0]) * sc[0],
                  out->nx * sizeof (float));
    }
  return g_steal_pointer (&out);
}
