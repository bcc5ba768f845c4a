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

/* ReLU (slope 0) and LeakyReLU: y = x > 0 ? x : slope * x. */
static gboolean
relu_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  copy_shape (in[0], shape);
  return TRUE;
}

static void
relu_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  gsize n = tb_nn_tensor_size (out);
  const float *x = in[0]->data;
  float s = l->kind == TB_NN_LEAKY_RELU ? l->slope : 0.0f;
#pragma omp parallel for if (n > 65536)
  for (gsize i = 0; i < n; i++)
    out->data[i] = x[i] > 0.0f ? x[i] : s * x[i];
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

const TbNnOps nn_cpu_relu_ops = { "relu", relu_shape, relu_forward, relu_backward };

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
add_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  gsize n = tb_nn_tensor_size (out);
#pragma omp parallel for if (n > 65536)
  for (gsize i = 0; i < n; i++)
    out->data[i] = in[0]->data[i] + in[1]->data[i];
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

const TbNnOps nn_cpu_add_ops = { "add", add_shape, add_forward, add_backward };

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
concat_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  const TbNnTensor *a = in[0], *b = in[1];
  gsize sp = (gsize) a->d * a->h * a->w, na = a->c * sp, nb = b->c * sp;
  for (int n = 0; n < out->n; n++)
    {
      memcpy (out->data + n * (na + nb), a->data + n * na, na * sizeof (float));
      memcpy (out->data + n * (na + nb) + na, b->data + n * nb, nb * sizeof (float));
    }
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

const TbNnOps nn_cpu_concat_ops = { "concat", concat_shape, concat_forward, concat_backward };

/* Pixel shuffle, r = factor (Shi et al. 2016; torch.nn.PixelShuffle):
 *   2-D  out[n, c, h*r + i, w*r + j]          = in[n, c*r^2 + i*r + j, h, w]
 *   3-D  out[n, c, d*r + a, h*r + i, w*r + j] = in[n, c*r^3 + (a*r + i)*r + j, d, h, w]
 * (the 3-D form is x.view(N, C, r, r, r, D, H, W).permute(0, 1, 5, 2, 6, 3, 7, 4)). */
static gboolean
shuffle_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  const TbNnTensor *x = in[0];
  int r = l->factor, rd = x->ndim == 5 ? r : 1, rr = r * r * rd;
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

static void
shuffle_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  int r = l->factor, rd = out->ndim == 5 ? r : 1;
  int planes = out->n * out->c * out->d;
#pragma omp parallel for if (tb_nn_tensor_size (out) > 65536)
  for (int pl = 0; pl < planes; pl++)
    {
      int z = pl % out->d, c = (pl / out->d) % out->c, n = pl / (out->d * out->c);
      float *dst = out->data + (gsize) pl * out->h * out->w;
      for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++)
          dst[(gsize) y * out->w + x] = in[0]->data[shuffle_src (in[0], r, rd, n, c, z, y, x)];
    }
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

const TbNnOps nn_cpu_shuffle_ops = { "pixel_shuffle", shuffle_shape, shuffle_forward, shuffle_backward };

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
pool_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
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
            float s = 0.0f;
            for (int a = 0; a < fd; a++)
              for (int b = 0; b < f; b++)
                for (int c = 0; c < f; c++)
                  s += x->data[(((gsize) pl * x->d + z * fd + a) * x->h + y * f + b) * x->w + xx * f + c];
            out->data[(((gsize) pl * out->d + z) * out->h + y) * out->w + xx] = s * inv;
          }
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

const TbNnOps nn_cpu_pool_ops = { "avg_pool", pool_shape, pool_forward, pool_backward };

/* Upsampling by an integer factor (F.interpolate, scale_factor = f):
 *   nearest: src = floor(dst / f);
 *   linear (align_corners = False): src = (dst + 0.5) / f - 0.5 clamped at 0, between i0 = floor(src)
 *   and i1 = min(i0 + 1, n - 1) with weight src - i0; separable over the 2 or 3 axes. */
typedef struct { int i0, i1; float w1; } Tap;

static Tap *
upsample_taps (int n_in, int f, gboolean linear)
{
  Tap *t = g_new (Tap, (gsize) n_in * f);
  for (int o = 0; o < n_in * f; o++)
    {
      if (!linear)
        {
          t[o].i0 = t[o].i1 = o / f;
          t[o].w1 = 0.0f;
          continue;
        }
      float src = ((float) o + 0.5f) / (float) f - 0.5f;
      if (src < 0.0f)
        src = 0.0f;
      int i0 = (int) src;
      t[o].i0 = i0;
      t[o].i1 = i0 < n_in - 1 ? i0 + 1 : i0;
      t[o].w1 = src - (float) i0;
    }
  return t;
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

static void
upsample_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  upsample_run (l, in[0], out, in[0]->data, out->data, FALSE);
}

static void
upsample_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
                   const TbNnTensor *gy, TbNnTensor **gx)
{
  if (gx != NULL && gx[0] != NULL)
    upsample_run (l, in[0], out, gx[0]->data, gy->data, TRUE);
}

const TbNnOps nn_cpu_upsample_ops = { "upsample", upsample_shape, upsample_forward, upsample_backward };
