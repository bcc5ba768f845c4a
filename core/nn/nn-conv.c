/* nn-conv.c — 2-D and 3-D convolution (any kernel, stride, padding) as im2col + cblas_sgemm.
 * A 2-D convolution is the 3-D one with depth 1 and a 1-deep kernel. The forward pass splits
 * (sample, block of output positions) among OpenMP threads; each block is one sgemm
 * W[Cout x K] * col[K x cols], K = Cin * kd * kh * kw, written straight into the output. */
#include "nn-private.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

typedef struct {
  int cin, d, h, w;            /* input */
  int cout, od, oh, ow;        /* output */
  int kd, kh, kw, sd, sh, sw, pd, ph, pw;
  int K;                       /* rows of the column matrix */
  gsize P;                     /* output positions per sample */
} ConvGeom;

static void
conv_geom (const TbNnLayer *l, const TbNnTensor *in, ConvGeom *g)
{
  gboolean three = l->dims == 3;
  g->cin = in->c; g->d = in->d; g->h = in->h; g->w = in->w;
  g->kd = three ? l->k : 1; g->kh = g->kw = l->k;
  g->sd = three ? l->stride : 1; g->sh = g->sw = l->stride;
  g->pd = three ? l->pad : 0; g->ph = g->pw = l->pad;
  g->cout = l->cout;
  g->od = (g->d + 2 * g->pd - g->kd) / g->sd + 1;
  g->oh = (g->h + 2 * g->ph - g->kh) / g->sh + 1;
  g->ow = (g->w + 2 * g->pw - g->kw) / g->sw + 1;
  g->K = g->cin * g->kd * g->kh * g->kw;
  g->P = (gsize) g->od * g->oh * g->ow;
}

static gboolean
conv_shape (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error)
{
  const TbNnTensor *x = in[0];
  if (x->ndim != (l->dims == 3 ? 5 : 4) || x->c != l->cin)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                   "Layer %s expects %d channels in %d-D, got %d channels in a %d-D tensor",
                   l->name, l->cin, l->dims, x->c, x->ndim - 2);
      return FALSE;
    }
  ConvGeom g;
  conv_geom (l, x, &g);
  if (g.od < 1 || g.oh < 1 || g.ow < 1)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                   "Layer %s: input %dx%dx%d is smaller than its %d-wide kernel", l->name, x->w, x->h, x->d, l->k);
      return FALSE;
    }
  shape[0] = x->ndim; shape[1] = x->n; shape[2] = l->cout; shape[3] = g.od; shape[4] = g.oh; shape[5] = g.ow;
  return TRUE;
}

/* Columns [p0, p0 + cols) of sample x (one sample's C,D,H,W data) into rows of length ld >= cols,
 * zero beyond cols. */
static void
im2col (const ConvGeom *g, const float *x, gsize p0, int cols, int ld, float *col)
{
  gsize plane = (gsize) g->h * g->w, vol = plane * g->d;
  for (int r = 0; r < g->K; r++)
    {
      int c = r % g->kw, t = r / g->kw;
      int b = t % g->kh; t /= g->kh;
      int a = t % g->kd, ci = t / g->kd;
      const float *xc = x + (gsize) ci * vol;
      float *dst = col + (gsize) r * ld;
      for (int j = cols; j < ld; j++)
        dst[j] = 0.0f;
      gsize p = p0;
      int ow = (int) (p % g->ow), oh = (int) ((p / g->ow) % g->oh), od = (int) (p / ((gsize) g->ow * g->oh));
      for (int j = 0; j < cols; j++)
        {
          int id = od * g->sd - g->pd + a, ih = oh * g->sh - g->ph + b, iw = ow * g->sw - g->pw + c;
          dst[j] = (id >= 0 && id < g->d && ih >= 0 && ih < g->h && iw >= 0 && iw < g->w)
                   ? xc[(gsize) id * plane + (gsize) ih * g->w + iw] : 0.0f;
          if (++ow == g->ow)
            {
              ow = 0;
              if (++oh == g->oh) { oh = 0; od++; }
            }
        }
    }
}

static void
col2im_add (const ConvGeom *g, const float *col, gsize p0, int cols, float *dx)
{
  gsize plane = (gsize) g->h * g->w, vol = plane * g->d;
  for (int r = 0; r < g->K; r++)
    {
      int c = r % g->kw, t = r / g->kw;
      int b = t % g->kh; t /= g->kh;
      int a = t % g->kd, ci = t / g->kd;
      float *xc = dx + (gsize) ci * vol;
      const float *src = col + (gsize) r * cols;
      gsize p = p0;
      int ow = (int) (p % g->ow), oh = (int) ((p / g->ow) % g->oh), od = (int) (p / ((gsize) g->ow * g->oh));
      for (int j = 0; j < cols; j++)
        {
          int id = od * g->sd - g->pd + a, ih = oh * g->sh - g->ph + b, iw = ow * g->sw - g->pw + c;
          if (id >= 0 && id < g->d && ih >= 0 && ih < g->h && iw >= 0 && iw < g->w)
            xc[(gsize) id * plane + (gsize) ih * g->w + iw] += src[j];
          if (++ow == g->ow)
            {
              ow = 0;
              if (++oh == g->oh) { oh = 0; od++; }
            }
        }
    }
}

/* Columns per block: always 256, the last block padded with zeros, so every sgemm of a layer has the
 * same shape. OpenBLAS picks its kernel (and so the summation order) by shape; with one shape, an
 * output voxel gets the same bits whatever the image size, which makes overlap-tile inference
 * identical to a whole-image pass. 256 columns x K rows (K <= 1728 here) stay in L2. */
#define CONV_BLOCK 256

static int
conv_block_cols (const ConvGeom *g)
{
  return CONV_BLOCK;
}

static void
conv_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  const TbNnTensor *x = in[0];
  ConvGeom g;
  conv_geom (l, x, &g);
  int bc = conv_block_cols (&g);
  gsize n_blocks = (g.P + bc - 1) / bc, n_tasks = n_blocks * x->n;
  gsize in_stride = (gsize) g.cin * g.d * g.h * g.w, out_stride = (gsize) g.cout * g.P;
  const float *W = l->weight->data, *bias = l->bias != NULL ? l->bias->data : NULL;

  /* threads only for work worth waking them for (~2 MFLOP); on a busy machine a barrier costs ms */
  double flops = 2.0 * g.cout * g.K * (double) g.P * x->n;
#pragma omp parallel if (n_tasks > 1 && flops > 2e6)
  {
    float *col = g_malloc ((gsize) g.K * bc * sizeof (float));
    float *tmp = g_malloc ((gsize) g.cout * bc * sizeof (float));
#pragma omp for schedule(dynamic, 1)
    for (gsize task = 0; task < n_tasks; task++)
      {
        gsize n = task / n_blocks, p0 = (task % n_blocks) * bc;
        int cols = (int) MIN ((gsize) bc, g.P - p0);
        float *y = out->data + n * out_stride + p0;
        im2col (&g, x->data + n * in_stride, p0, cols, bc, col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g.cout, bc, g.K,
                     1.0f, W, g.K, col, bc, 0.0f, tmp, bc);
        for (int co = 0; co < g.cout; co++)
          {
            float *yr = y + (gsize) co * g.P, b = bias != NULL ? bias[co] : 0.0f;
            const float *tr = tmp + (gsize) co * bc;
            for (int j = 0; j < cols; j++)
              yr[j] = tr[j] + b;
          }
      }
    g_free (col);
    g_free (tmp);
  }
}

static void
conv_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
               const TbNnTensor *grad_out, TbNnTensor **grad_in)
{
  const TbNnTensor *x = in[0];
  ConvGeom g;
  conv_geom (l, x, &g);
  int bc = conv_block_cols (&g);
  gsize in_stride = (gsize) g.cin * g.d * g.h * g.w, out_stride = (gsize) g.cout * g.P;
  gsize wsize = (gsize) g.cout * g.K;
  const float *W = l->weight->data;
  TbNnTensor *dx = grad_in != NULL ? grad_in[0] : NULL;
  int nthreads = MIN (omp_get_max_threads (), x->n);
  float *dw_all = g_malloc0_n ((gsize) nthreads * (wsize + g.cout), sizeof (float));

  /* One sample per thread (static: the same thread sums the same samples, so gradients are
   * reproducible); col2im of different blocks of one sample would race on dx. */
#pragma omp parallel num_threads(nthreads) if (nthreads > 1 && 4.0 * g.cout * g.K * (double) g.P * x->n > 4e6)
  {
    float *col = g_malloc ((gsize) g.K * bc * sizeof (float));
    float *dcol = dx != NULL ? g_malloc ((gsize) g.K * bc * sizeof (float)) : NULL;
    float *dw = dw_all + (gsize) omp_get_thread_num () * (wsize + g.cout), *db = dw + wsize;
#pragma omp for schedule(static)
    for (int n = 0; n < x->n; n++)
      for (gsize p0 = 0; p0 < g.P; p0 += bc)
        {
          int cols = (int) MIN ((gsize) bc, g.P - p0);
          const float *dy = grad_out->data + n * out_stride + p0;
          im2col (&g, x->data + n * in_stride, p0, cols, cols, col);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, g.cout, g.K, cols,
                       1.0f, dy, (int) g.P, col, cols, 1.0f, dw, g.K);
          for (int co = 0; co < g.cout; co++)
            {
              const float *dyr = dy + (gsize) co * g.P;
              float s = 0.0f;
              for (int j = 0; j < cols; j++)
                s += dyr[j];
              db[co] += s;
            }
          if (dcol != NULL)
            {
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, g.K, cols, g.cout,
                           1.0f, W, g.K, dy, (int) g.P, 0.0f, dcol, cols);
              col2im_add (&g, dcol, p0, cols, dx->data + n * in_stride);
            }
        }
    g_free (col);
    g_free (dcol);
  }
  /* Fixed thread order: the same inputs give the same gradients. */
  for (int t = 0; t < nthreads; t++)
    {
      const float *dw = dw_all + (gsize) t * (wsize + g.cout);
      for (gsize i = 0; i < wsize; i++)
        l->grad_weight->data[i] += dw[i];
      if (l->grad_bias != NULL)
        for (int co = 0; co < g.cout; co++)
          l->grad_bias->data[co] += dw[wsize + co];
    }
  g_free (dw_all);
}

const TbNnOps nn_cpu_conv_ops = { "conv", conv_shape, conv_forward, conv_backward };
