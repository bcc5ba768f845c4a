/* nn-layers.c — the parameter-free layers: ReLU / LeakyReLU, residual add, channel concat,
 * pixel shuffle (2-D and its 3-D analogue), average pooling, nearest and (bi/tri)linear upsampling.
 * Each follows PyTorch's definition exactly (named per function) so reference tensors agree. */
#include "nn-private.h"

#include <math.h>
#include <string.h>

static void
copy_shape (const TbNnTensor *x, int shape[6])
{
  shape[0] = x->ndim; shape[1] = x->n; shape[2] = x->c; shape[3] = x->d; shape[4] = x->h; shape[5] = x->w;
}

/* Inference on regions (TbNnRegion): every layer here computes each output voxel from its grid
 * coordinates alone, so a region gets the bits of the whole grid; forward is the region of the
 * whole grid. */
static void
whole (const TbNnTensor *t, TbNnRegion *r)
{
  r->t = (TbNnTensor *) t;
  r->lo[0] = r->lo[1] = r->lo[2] = 0;
  r->full[0] = t->w; r->full[1] = t->h; r->full[2] = t->d;
}

/* Input row of in (same grid as out) under output row (n, c, z, y) of out, at out's first x. */
static inline const float *
src_row (const TbNnRegion *in, const TbNnRegion *out, int n, int c, int z, int y)
{
  const TbNnTensor *t = in->t;
  return t->data + ((((gsize) n * t->c + c) * t->d + z + out->lo[2] - in->lo[2]) * t->h
                    + y + out->lo[1] - in->lo[1]) * t->w + out->lo[0] - in->lo[0];
}

static inline gboolean
same_region (const TbNnRegion *a, const TbNnRegion *b)
{
  return tb_nn_tensor_same_shape (a->t, b->t) && a->lo[0] == b->lo[0] && a->lo[1] == b->lo[1] && a->lo[2] == b->lo[2];
}

static inline float *
out_row (const TbNnRegion *out, gsize row)
{
  return out->t->data + row * out->t->w;
}

#define N_ROWS(t) ((gsize) (t)->n * (t)->c * (t)->d * (t)->h)
#define ROW_NCZY(t, row, n, c, z, y)                                                               \
  int y = (int) ((row) % (t)->h), z = (int) (((row) / (t)->h) % (t)->d);                            \
  int c = (int) (((row) / ((gsize) (t)->h * (t)->d)) % (t)->c), n = (int) ((row) / ((gsize) (t)->h * (t)->d * (t)->c))

/* ReLU (slope 0) and LeakyReLU: y = x > 0 ? x : slope * x (ReLU: +0 for x <= 0, like
 * torch.relu and the fused convolution + ReLU of nn-conv.c). */
static gboolean
relu_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  copy_shape (in[0], shape);
  return TRUE;
}

static inline float
relu1 (float x, gboolean leaky, float s)
{
  return x > 0.0f ? x : (leaky ? s * x : 0.0f);
}

static void
relu_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  gboolean leaky = l->kind == TB_NN_LEAKY_RELU;
  float s = l->slope;
  TbNnTensor *y = out->t;
  if (same_region (in[0], out))
    {
      gsize n = tb_nn_tensor_size (y);
      const float *x = in[0]->t->data;
#pragma omp parallel for if (n > 65536)
      for (gsize i = 0; i < n; i++)
        y->data[i] = relu1 (x[i], leaky, s);
      return;
    }
  gsize rows = N_ROWS (y);
#pragma omp parallel for if (tb_nn_tensor_size (y) > 65536)
  for (gsize row = 0; row < rows; row++)
    {
      ROW_NCZY (y, row, n, c, z, yy);
      const float *x = src_row (in[0], out, n, c, z, yy);
      float *o = out_row (out, row);
      for (int i = 0; i < y->w; i++)
        o[i] = relu1 (x[i], leaky, s);
    }
}

static void
relu_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  TbNnRegion ri, ro;
  whole (in[0], &ri);
  whole (out, &ro);
  const TbNnRegion *rin[1] = { &ri };
  relu_forward_region (l, rin, &ro);
}

static void
relu_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
               const TbNnTensor *gy, TbNnTensor **gx)
{
  if (gx == NULL || gx[0] == NULL)
    return;
  gsize n = tb_nn_tensor_size (out);
  const float *x = in[0]->data;
  float s = l->kind == TB_NN_LEAKY_RELU ? l->slope : 0.0f;
#pragma omp parallel for if (n > 65536)
  for (gsize i = 0; i < n; i++)
    gx[0]->data[i] += x[i] > 0.0f ? gy->data[i] : s * gy->data[i];
}

const TbNnOps nn_cpu_relu_ops = { "relu", relu_shape, relu_forward, relu_backward, relu_forward_region };

/* Residual add of two tensors of the same shape. */
static gboolean
add_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  if (!tb_nn_tensor_same_shape (in[0], in[1]))
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "Residual add of tensors of different shapes");
      return FALSE;
    }
  copy_shape (in[0], shape);
  return TRUE;
}

static void
add_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  TbNnTensor *y = out->t;
  if (same_region (in[0], out) && same_region (in[1], out))
    {
      gsize n = tb_nn_tensor_size (y);
      const float *a = in[0]->t->data, *b = in[1]->t->data;
#pragma omp parallel for if (n > 65536)
      for (gsize i = 0; i < n; i++)
        y->data[i] = a[i] + b[i];
      return;
    }
  gsize rows = N_ROWS (y);
#pragma omp parallel for if (tb_nn_tensor_size (y) > 65536)
  for (gsize row = 0; row < rows; row++)
    {
      ROW_NCZY (y, row, n, c, z, yy);
      const float *a = src_row (in[0], out, n, c, z, yy), *b = src_row (in[1], out, n, c, z, yy);
      float *o = out_row (out, row);
      for (int i = 0; i < y->w; i++)
        o[i] = a[i] + b[i];
    }
}

static void
add_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  TbNnRegion r0, r1, ro;
  whole (in[0], &r0);
  whole (in[1], &r1);
  whole (out, &ro);
  const TbNnRegion *rin[2] = { &r0, &r1 };
  add_forward_region (l, rin, &ro);
}

static void
add_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
              const TbNnTensor *gy, TbNnTensor **gx)
{
  gsize n = tb_nn_tensor_size (out);
  for (int k = 0; k < 2; k++)
    if (gx != NULL && gx[k] != NULL)
      for (gsize i = 0; i < n; i++)
        gx[k]->data[i] += gy->data[i];
}

const TbNnOps nn_cpu_add_ops = { "add", add_shape, add_forward, add_backward, add_forward_region };

/* torch.cat ([a, b], dim = 1) */
static gboolean
concat_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  const TbNnTensor *a = in[0], *b = in[1];
  if (a->ndim != b->ndim || a->n != b->n || a->d != b->d || a->h != b->h || a->w != b->w)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "Channel concat of tensors of different sizes");
      return FALSE;
    }
  copy_shape (a, shape);
  shape[2] = a->c + b->c;
  return TRUE;
}

static void
concat_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  TbNnTensor *y = out->t;
  int ca = in[0]->t->c;
  gsize rows = N_ROWS (y);
#pragma omp parallel for if (tb_nn_tensor_size (y) > 65536)
  for (gsize row = 0; row < rows; row++)
    {
      ROW_NCZY (y, row, n, c, z, yy);
      const float *x = c < ca ? src_row (in[0], out, n, c, z, yy) : src_row (in[1], out, n, c - ca, z, yy);
      memcpy (out_row (out, row), x, y->w * sizeof (float));
    }
}

static void
concat_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  TbNnRegion r0, r1, ro;
  whole (in[0], &r0);
  whole (in[1], &r1);
  whole (out, &ro);
  const TbNnRegion *rin[2] = { &r0, &r1 };
  concat_forward_region (l, rin, &ro);
}

static void
concat_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
                 const TbNnTensor *gy, TbNnTensor **gx)
{
  const TbNnTensor *a = in[0], *b = in[1];
  gsize sp = (gsize) a->d * a->h * a->w, na = a->c * sp, nb = b->c * sp;
  for (int n = 0; n < out->n; n++)
    {
      const float *g = gy->data + n * (na + nb);
      if (gx[0] != NULL)
        for (gsize i = 0; i < na; i++)
          gx[0]->data[n * na + i] += g[i];
      if (gx[1] != NULL)
        for (gsize i = 0; i < nb; i++)
          gx[1]->data[n * nb + i] += g[na + i];
    }
}

const TbNnOps nn_cpu_concat_ops = { "concat", concat_shape, concat_forward, concat_backward, concat_forward_region };

/* Pixel shuffle, r = factor (Shi et al. 2016; torch.nn.PixelShuffle):
 *   2-D  out[n, c, h*r + i, w*r + j]          = in[n, c*r^2 + i*r + j, h, w]
 *   3-D  out[n, c, d*r + a, h*r + i, w*r + j] = in[n, c*r^3 + (a*r + i)*r + j, d, h, w]
 * (the 3-D form is x.view(N, C, r, r, r, D, H, W).permute(0, 1, 5, 2, 6, 3, 7, 4)). */
static gboolean
shuffle_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  const TbNnTensor *x = in[0];
  int r = l->factor, rd = x->ndim == 5 ? r : 1, rr = r * r * rd;
  if (r < 1 || r > 16)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "Pixel shuffle by %d: the factor is 1 to 16", r);
      return FALSE;
    }
  if (x->c % rr != 0)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                   "Pixel shuffle by %d needs channels divisible by %d, got %d", r, rr, x->c);
      return FALSE;
    }
  copy_shape (x, shape);
  shape[2] = x->c / rr; shape[3] = x->d * rd; shape[4] = x->h * r; shape[5] = x->w * r;
  return TRUE;
}

/* Index of the input element feeding out[n, c, z, y, x]; shared by forward and backward. */
static inline gsize
shuffle_src (const TbNnTensor *in, int r, int rd, int n, int c, int z, int y, int x)
{
  int a = z % rd, i = y % r, j = x % r;
  int ci = c * r * r * rd + (a * r + i) * r + j;
  return ((((gsize) n * in->c + ci) * in->d + z / rd) * in->h + y / r) * in->w + x / r;
}

/* out[n, c, z, y, x] (grid coordinates) = in[n, c r^2 rd + ((z % rd) r + y % r) r + x % r, z / rd, y / r, x / r] */
static void
shuffle_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  const TbNnTensor *x = in[0]->t;
  TbNnTensor *y = out->t;
  int r = l->factor, rd = y->ndim == 5 ? r : 1, rr = r * r * rd;
  const int *il = in[0]->lo, *ol = out->lo;
  gsize rows = N_ROWS (y);
#pragma omp parallel for if (tb_nn_tensor_size (y) > 65536)
  for (gsize row = 0; row < rows; row++)
    {
      ROW_NCZY (y, row, n, c, z, yy);
      int gz = z + ol[2], gy = yy + ol[1];
      const float *src[16];
      for (int j = 0; j < r; j++)
        {
          int ci = c * rr + ((gz % rd) * r + gy % r) * r + j;
          src[j] = x->data + ((((gsize) n * x->c + ci) * x->d + gz / rd - il[2]) * x->h + gy / r - il[1]) * x->w - il[0];
        }
      float *o = out_row (out, row);
      int gx = ol[0], j = gx % r, ix = gx / r;
      for (int i = 0; i < y->w; i++)
        {
          o[i] = src[j][ix];
          if (++j == r)
            {
              j = 0;
              ix++;
            }
        }
    }
}

static void
shuffle_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  TbNnRegion ri, ro;
  whole (in[0], &ri);
  whole (out, &ro);
  const TbNnRegion *rin[1] = { &ri };
  shuffle_forward_region (l, rin, &ro);
}

static void
shuffle_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
                  const TbNnTensor *gy, TbNnTensor **gx)
{
  if (gx == NULL || gx[0] == NULL)
    return;
  int r = l->factor, rd = out->ndim == 5 ? r : 1;
  int planes = out->n * out->c * out->d;
  /* a permutation: every input element is written by exactly one output element, no race */
#pragma omp parallel for if (tb_nn_tensor_size (out) > 65536)
  for (int pl = 0; pl < planes; pl++)
    {
      int z = pl % out->d, c = (pl / out->d) % out->c, n = pl / (out->d * out->c);
      const float *src = gy->data + (gsize) pl * out->h * out->w;
      for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++)
          gx[0]->data[shuffle_src (in[0], r, rd, n, c, z, y, x)] += src[(gsize) y * out->w + x];
    }
}

const TbNnOps nn_cpu_shuffle_ops = { "pixel_shuffle", shuffle_shape, shuffle_forward, shuffle_backward,
                                      shuffle_forward_region };

/* Average pooling, kernel = stride = factor, no padding, floor (F.avg_pool2d / avg_pool3d). */
static gboolean
pool_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  const TbNnTensor *x = in[0];
  int f = l->factor, fd = x->ndim == 5 ? f : 1;
  if (x->h < f || x->w < f || x->d < fd)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "Average pooling by %d of a %dx%dx%d input", f, x->w, x->h, x->d);
      return FALSE;
    }
  copy_shape (x, shape);
  shape[3] = x->d / fd; shape[4] = x->h / f; shape[5] = x->w / f;
  return TRUE;
}

static void
pool_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  const TbNnTensor *x = in[0]->t;
  TbNnTensor *y = out->t;
  int f = l->factor, fd = x->ndim == 5 ? f : 1;
  float inv = 1.0f / (float) (f * f * fd);
  const int *il = in[0]->lo, *ol = out->lo;
  gsize rows = N_ROWS (y);
#pragma omp parallel for if (tb_nn_tensor_size (y) > 16384)
  for (gsize row = 0; row < rows; row++)
    {
      ROW_NCZY (y, row, n, c, z, yy);
      float *o = out_row (out, row);
      for (int xx = 0; xx < y->w; xx++)
        {
          float s = 0.0f;
          for (int a = 0; a < fd; a++)
            for (int b = 0; b < f; b++)
              for (int e = 0; e < f; e++)
                s += x->data[((((gsize) n * x->c + c) * x->d + (z + ol[2]) * fd + a - il[2]) * x->h
                              + (yy + ol[1]) * f + b - il[1]) * x->w + (xx + ol[0]) * f + e - il[0]];
          o[xx] = s * inv;
        }
    }
}

static void
pool_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  TbNnRegion ri, ro;
  whole (in[0], &ri);
  whole (out, &ro);
  const TbNnRegion *rin[1] = { &ri };
  pool_forward_region (l, rin, &ro);
}

static void
pool_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
               const TbNnTensor *gy, TbNnTensor **gx)
{
  if (gx == NULL || gx[0] == NULL)
    return;
  const TbNnTensor *x = in[0];
  int f = l->factor, fd = x->ndim == 5 ? f : 1;
  float inv = 1.0f / (float) (f * f * fd);
  int planes = out->n * out->c;
#pragma omp parallel for if (tb_nn_tensor_size (out) > 16384)
  for (int pl = 0; pl < planes; pl++)
    for (int z = 0; z < out->d; z++)
      for (int y = 0; y < out->h; y++)
        for (int xx = 0; xx < out->w; xx++)
          {
            float g = gy->data[(((gsize) pl * out->d + z) * out->h + y) * out->w + xx] * inv;
            for (int a = 0; a < fd; a++)
              for (int b = 0; b < f; b++)
                for (int c = 0; c < f; c++)
                  gx[0]->data[(((gsize) pl * x->d + z * fd + a) * x->h + y * f + b) * x->w + xx * f + c] += g;
          }
}

const TbNnOps nn_cpu_pool_ops = { "avg_pool", pool_shape, pool_forward, pool_backward, pool_forward_region };

/* Upsampling by an integer factor (F.interpolate, scale_factor = f):
 *   nearest: src = floor(dst / f);
 *   linear (align_corners = False): src = (dst + 0.5) / f - 0.5 clamped at 0, between i0 = floor(src)
 *   and i1 = min(i0 + 1, n - 1) with weight src - i0; separable over the 2 or 3 axes. */
typedef struct { int i0, i1; float w1; } Tap;

void
nn_upsample_tap (int o, int n_in, int f, gboolean linear, int *i0, int *i1, float *w1)
{
  if (!linear)
    {
      *i0 = *i1 = o / f;
      *w1 = 0.0f;
      return;
    }
  float src = ((float) o + 0.5f) / (float) f - 0.5f;
  if (src < 0.0f)
    src = 0.0f;
  int a = (int) src;
  *i0 = a;
  *i1 = a < n_in - 1 ? a + 1 : a;
  *w1 = src - (float) a;
}

/* taps of outputs [lo, lo + n) of a grid upsampled from n_in, indices relative to in_lo */
static Tap *
upsample_taps_at (int lo, int n, int n_in, int f, gboolean linear, int in_lo)
{
  Tap *t = g_new (Tap, MAX (n, 1));
  for (int o = 0; o < n; o++)
    {
      nn_upsample_tap (lo + o, n_in, f, linear, &t[o].i0, &t[o].i1, &t[o].w1);
      t[o].i0 -= in_lo;
      t[o].i1 -= in_lo;
    }
  return t;
}

static Tap *
upsample_taps (int n_in, int f, gboolean linear)
{
  return upsample_taps_at (0, n_in * f, n_in, f, linear, 0);
}

static gboolean
upsample_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  const TbNnTensor *x = in[0];
  copy_shape (x, shape);
  shape[3] = x->ndim == 5 ? x->d * l->factor : 1;
  shape[4] = x->h * l->factor; shape[5] = x->w * l->factor;
  return TRUE;
}

static void
upsample_run (const TbNnLayer *l, const TbNnTensor *x, const TbNnTensor *y, float *xdata,
              const float *ydata, gboolean backward)
{
  gboolean linear = l->kind == TB_NN_UPSAMPLE_LINEAR, three = x->ndim == 5;
  int f = l->factor;
  Tap *tz = upsample_taps (x->d, three ? f : 1, linear);
  Tap *ty = upsample_taps (x->h, f, linear), *tx = upsample_taps (x->w, f, linear);
  int planes = x->n * x->c;
  /* backward: each (n, c) plane of the input gradient belongs to one thread */
#pragma omp parallel for if (tb_nn_tensor_size (y) > 65536)
  for (int pl = 0; pl < planes; pl++)
    {
      const float *xin = xdata + (gsize) pl * x->d * x->h * x->w;
      float *xg = xdata + (gsize) pl * x->d * x->h * x->w;
      for (int z = 0; z < y->d; z++)
        for (int yy = 0; yy < y->h; yy++)
          for (int xx = 0; xx < y->w; xx++)
            {
              gsize o = (((gsize) pl * y->d + z) * y->h + yy) * y->w + xx;
              int zs[2] = { tz[z].i0, tz[z].i1 }, ys[2] = { ty[yy].i0, ty[yy].i1 }, xs[2] = { tx[xx].i0, tx[xx].i1 };
              float wz[2] = { 1.0f - tz[z].w1, tz[z].w1 }, wy[2] = { 1.0f - ty[yy].w1, ty[yy].w1 };
              float wx[2] = { 1.0f - tx[xx].w1, tx[xx].w1 };
              float s = 0.0f;
              for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                  for (int c = 0; c < 2; c++)
                    {
                      float w = wz[a] * wy[b] * wx[c];
                      if (w == 0.0f)
                        continue;
                      gsize i = ((gsize) zs[a] * x->h + ys[b]) * x->w + xs[c];
                      if (backward)
                        xg[i] += w * ydata[o];
                      else
                        s += w * xin[i];
                    }
              if (!backward)
                ((float *) ydata)[o] = s;
            }
    }
  g_free (tz); g_free (ty); g_free (tx);
}

/* Forward as PyTorch's upsample_{bi,tri}linear kernels nest it: w0z (w0y (w0x a + w1x b) + ...) + ...;
 * nearest copies. */
static void
upsample_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  const TbNnTensor *x = in[0]->t;
  TbNnTensor *y = out->t;
  gboolean linear = l->kind == TB_NN_UPSAMPLE_LINEAR, three = x->ndim == 5;
  int f = l->factor;
  Tap *tz = upsample_taps_at (out->lo[2], y->d, in[0]->full[2], three ? f : 1, linear, in[0]->lo[2]);
  Tap *ty = upsample_taps_at (out->lo[1], y->h, in[0]->full[1], f, linear, in[0]->lo[1]);
  Tap *tx = upsample_taps_at (out->lo[0], y->w, in[0]->full[0], f, linear, in[0]->lo[0]);
  gsize rows = N_ROWS (y);
#pragma omp parallel for if (tb_nn_tensor_size (y) > 65536)
  for (gsize row = 0; row < rows; row++)
    {
      ROW_NCZY (y, row, n, c, z, yy);
      const float *pl = x->data + ((gsize) n * x->c + c) * x->d * x->h * x->w;
      float *o = out_row (out, row);
      const Tap *a = &tz[z], *b = &ty[yy];
      const float *r00 = pl + ((gsize) a->i0 * x->h + b->i0) * x->w, *r01 = pl + ((gsize) a->i0 * x->h + b->i1) * x->w;
      const float *r10 = pl + ((gsize) a->i1 * x->h + b->i0) * x->w, *r11 = pl + ((gsize) a->i1 * x->h + b->i1) * x->w;
      if (!linear)
        {
          for (int i = 0; i < y->w; i++)
            o[i] = r00[tx[i].i0];
          continue;
        }
      float wy1 = b->w1, wy0 = 1.0f - wy1, wz1 = a->w1, wz0 = 1.0f - wz1;
      for (int i = 0; i < y->w; i++)
        {
          float wx1 = tx[i].w1, wx0 = 1.0f - wx1;
          int i0 = tx[i].i0, i1 = tx[i].i1;
          float v0 = wy0 * (wx0 * r00[i0] + wx1 * r00[i1]) + wy1 * (wx0 * r01[i0] + wx1 * r01[i1]);
          if (three)
            {
              float v1 = wy0 * (wx0 * r10[i0] + wx1 * r10[i1]) + wy1 * (wx0 * r11[i0] + wx1 * r11[i1]);
              v0 = wz0 * v0 + wz1 * v1;
            }
          o[i] = v0;
        }
    }
  g_free (tz); g_free (ty); g_free (tx);
}

static void
upsample_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  TbNnRegion ri, ro;
  whole (in[0], &ri);
  whole (out, &ro);
  const TbNnRegion *rin[1] = { &ri };
  upsample_forward_region (l, rin, &ro);
}

static void
upsample_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
                   const TbNnTensor *gy, TbNnTensor **gx)
{
  if (gx != NULL && gx[0] != NULL)
    upsample_run (l, in[0], out, gx[0]->data, gy->data, TRUE);
}

const TbNnOps nn_cpu_upsample_ops = { "upsample", upsample_shape, upsample_forward, upsample_backward,
                                       upsample_forward_region };
