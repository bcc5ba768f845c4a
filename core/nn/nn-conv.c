/* nn-conv.c — 2-D and 3-D convolution (any kernel, stride, padding). A 2-D convolution is the 3-D
 * one with depth 1 and a 1-deep kernel.
 *
 * Forward with stride 1 (every generator layer) is a direct convolution: a band of output rows gets
 * its input rows copied once into a zero-padded buffer, rows W + kw - 1 wide, so that for every tap
 * k = (ci, a, b, c) the inputs of consecutive output positions are consecutive floats at a fixed
 * offset; a register-blocked kernel (nn-conv-kernels.c: AVX-512, AVX2 + FMA or plain C, chosen by
 * the CPU) accumulates W[co, k] * x over k in order, then adds the bias. Every output voxel gets the
 * same sequence of operations wherever it sits in the image, band or tile, so the result of part of
 * an image (tb_nn_net_forward_region) is bit-identical to a whole-image pass.
 * Measured (perf, 256^2 -> 2048^2 x8 SR-ResNet) before this: im2col 54 % of the time, sgemm 15 %.
 * Debian 12's OpenBLAS 0.3.21 does not know this Xeon (family 6, model 207) and falls back to its
 * SSE3 "Prescott" kernels, so its sgemm ran at a quarter of the vector width too.
 *
 * Other strides (PatchGAN) and backward use im2col + cblas_sgemm. OpenMP splits (sample, band) or
 * (sample, column block) among threads; OpenBLAS is held at one thread (tb_nn_init). */
#include "nn-private.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

typedef struct {
  int cin, d, h, w;            /* input tensor */
  int cout, od, oh, ow;        /* output tensor */
  int kd, kh, kw, sd, sh, sw;
  int pd, ph, pw;              /* output o, tap a reads input o * s - p + a (tensor coordinates) */
  int K;                       /* taps per output channel: cin * kd * kh * kw */
  gsize P;                     /* output positions per sample */
} ConvGeom;

/* The layer over whole tensors: output size from the input, padding as the layer says. */
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

/* Part of the grid: out->t holds output voxels from out->lo, in->t input voxels from in->lo. Output
 * o (of the tensor) is o + out->lo of the grid, which reads grid input (o + out->lo) s - p + a, that
 * is tensor input o s - (p + in->lo - out->lo s) + a. Grid voxels outside [0, full) are the zero
 * padding; in->t lies inside the grid, so they fall outside it and read as zero here too. */
static void
conv_geom_region (const TbNnLayer *l, const TbNnRegion *in, const TbNnRegion *out, ConvGeom *g)
{
  conv_geom (l, in->t, g);
  g->od = out->t->d; g->oh = out->t->h; g->ow = out->t->w;
  g->P = (gsize) g->od * g->oh * g->ow;
  g->pw += in->lo[0] - out->lo[0] * g->sw;
  g->ph += in->lo[1] - out->lo[1] * g->sh;
  g->pd += in->lo[2] - out->lo[2] * g->sd;
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
 * zero beyond cols. Output positions are walked one output-row segment at a time; with stride 1
 * a segment reads one run of an input row. */
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
      memset (dst + cols, 0, (gsize) (ld - cols) * sizeof (float));
      int ow0 = (int) (p0 % g->ow), oh = (int) ((p0 / g->ow) % g->oh), od = (int) (p0 / ((gsize) g->ow * g->oh));
      for (int j = 0; j < cols;)
        {
          int seg = MIN (cols - j, g->ow - ow0);
          int id = od * g->sd - g->pd + a, ih = oh * g->sh - g->ph + b;
          if (id < 0 || id >= g->d || ih < 0 || ih >= g->h)
            memset (dst + j, 0, (gsize) seg * sizeof (float));
          else if (g->sw == 1)
            {
              /* iw = ow0 + t - pw + c is inside [0, w) for t in [t0, t1): one copy, zeros around */
              const float *row = xc + (gsize) id * plane + (gsize) ih * g->w + ow0 - g->pw + c;
              int t0 = CLAMP (g->pw - c - ow0, 0, seg), t1 = CLAMP (g->w + g->pw - c - ow0, t0, seg);
              memset (dst + j, 0, (gsize) t0 * sizeof (float));
              memcpy (dst + j + t0, row + t0, (gsize) (t1 - t0) * sizeof (float));
              memset (dst + j + t1, 0, (gsize) (seg - t1) * sizeof (float));
            }
          else
            {
              const float *row = xc + (gsize) id * plane + (gsize) ih * g->w;
              for (int t2 = 0; t2 < seg; t2++)
                {
                  int iw = (ow0 + t2) * g->sw - g->pw + c;
                  dst[j + t2] = iw >= 0 && iw < g->w ? row[iw] : 0.0f;
                }
            }
          j += seg;
          ow0 = 0;
          if (++oh == g->oh) { oh = 0; od++; }
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
      int ow0 = (int) (p0 % g->ow), oh = (int) ((p0 / g->ow) % g->oh), od = (int) (p0 / ((gsize) g->ow * g->oh));
      for (int j = 0; j < cols;)
        {
          int seg = MIN (cols - j, g->ow - ow0);
          int id = od * g->sd - g->pd + a, ih = oh * g->sh - g->ph + b;
          if (id >= 0 && id < g->d && ih >= 0 && ih < g->h && g->sw == 1)
            {
              float *row = xc + (gsize) id * plane + (gsize) ih * g->w + ow0 - g->pw + c;
              int t0 = CLAMP (g->pw - c - ow0, 0, seg), t1 = CLAMP (g->w + g->pw - c - ow0, t0, seg);
              for (int t2 = t0; t2 < t1; t2++)
                row[t2] += src[j + t2];
            }
          else if (id >= 0 && id < g->d && ih >= 0 && ih < g->h)
            {
              float *row = xc + (gsize) id * plane + (gsize) ih * g->w;
              for (int t2 = 0; t2 < seg; t2++)
                {
                  int iw = (ow0 + t2) * g->sw - g->pw + c;
                  if (iw >= 0 && iw < g->w)
                    row[iw] += src[j + t2];
                }
            }
          j += seg;
          ow0 = 0;
          if (++oh == g->oh) { oh = 0; od++; }
        }
    }
}

/* im2col forward (strides other than 1). Columns per block: always 256, the last block padded with
 * zeros, so every sgemm of a layer has the same shape: OpenBLAS picks its kernel (and so the
 * summation order) by shape, and one shape gives an output voxel the same bits wherever it is. */
#define CONV_BLOCK 256

static void
conv_forward_im2col (const TbNnLayer *l, const TbNnTensor *x, const ConvGeom *g, TbNnTensor *out)
{
  int bc = CONV_BLOCK;
  gsize n_blocks = (g->P + bc - 1) / bc, n_tasks = n_blocks * x->n;
  gsize in_stride = (gsize) g->cin * g->d * g->h * g->w, out_stride = (gsize) g->cout * g->P;
  const float *W = l->weight->data, *bias = l->bias != NULL ? l->bias->data : NULL;
  double flops = 2.0 * g->cout * g->K * (double) g->P * x->n;
#pragma omp parallel if (n_tasks > 1 && flops > 2e6)
  {
    float *col = g_malloc ((gsize) g->K * bc * sizeof (float));
    float *tmp = g_malloc ((gsize) g->cout * bc * sizeof (float));
#pragma omp for schedule(dynamic, 1)
    for (gsize task = 0; task < n_tasks; task++)
      {
        gsize n = task / n_blocks, p0 = (task % n_blocks) * bc;
        int cols = (int) MIN ((gsize) bc, g->P - p0);
        float *y = out->data + n * out_stride + p0;
        im2col (g, x->data + n * in_stride, p0, cols, bc, col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, bc, g->K,
                     1.0f, W, g->K, col, bc, 0.0f, tmp, bc);
        for (int co = 0; co < g->cout; co++)
          {
            float *yr = y + (gsize) co * g->P, b = bias != NULL ? bias[co] : 0.0f;
            const float *tr = tmp + (gsize) co * bc;
            for (int j = 0; j < cols; j++)
              yr[j] = tr[j] + b;
          }
      }
    g_free (col);
    g_free (tmp);
  }
}

/* Direct forward (all strides 1). A task is (sample, output plane, band of R output rows); its
 * input rows (cin x kd planes x R + kh - 1 rows) go into buf, each row W + kw - 1 = WP wide with
 * the padding as zeros. Output position (r, j) of the band is buf offset q = r WP + j, and tap
 * (ci, a, b, c) adds off[k] = ((ci kd + a) rows + b) WP + c: the kernel runs over q in [0, R WP)
 * (the kw - 1 positions past each row's end are computed and dropped). */
#define BAND_FLOATS (32 * 1024)   /* ~128 KB of input rows per band: stays in L2 */
#define Q_CHUNK 128               /* columns per kernel call: its input windows stay in L1 */

/* Where a fused pixel shuffle (factor r, rd = r in 3-D, 1 in 2-D) puts the convolution's output:
 * output channel c r^2 rd + (a r + i) r + j at grid (z, y, x) goes to shuffled channel c at
 * (z rd + a, y r + i, x r + j); clo is the convolution's region, out the shuffle's. */
typedef struct {
  int r, rd;
  const int *clo;
  const TbNnRegion *out;
} Shuffle;

static void
store_shuffled (const Shuffle *sh, const ConvGeom *g, gsize n, int od, int oh0, int rows, const float *ob, gsize QP,
                int WP)
{
  const TbNnTensor *y = sh->out->t;
  const int *slo = sh->out->lo, *clo = sh->clo;
  int r = sh->r, rr = r * r * sh->rd;
  /* output x = tx0 + r xx + j for convolution column xx and sub-pixel j: whole groups of r for xx
   * in [x0, x1), the partial groups at the region's ends one by one */
  int tx0 = clo[0] * r - slo[0];
  int x0 = MIN (tx0 >= 0 ? 0 : (-tx0 + r - 1) / r, g->ow);
  int x1 = CLAMP (y->w - tx0 <= 0 ? 0 : (y->w - tx0) / r, x0, g->ow);
  for (int co0 = 0; co0 < g->cout; co0 += r)
    {
      int c = co0 / rr, a = co0 % rr / (r * r), i = co0 / r % r;
      int tz = (od + clo[2]) * sh->rd + a - slo[2];
      if (tz < 0 || tz >= y->d)
        continue;
      for (int row = 0; row < rows; row++)
        {
          int ty = (oh0 + row + clo[1]) * r + i - slo[1];
          if (ty < 0 || ty >= y->h)
            continue;
          float *dst = y->data + (((n * y->c + c) * y->d + tz) * y->h + ty) * y->w + tx0;
          const float *src[16];
          for (int j = 0; j < r; j++)
            src[j] = ob + (gsize) (co0 + j) * QP + (gsize) row * WP;
          if (r == 2)   /* the SR-ResNet's x2 stages */
            {
              const float *s0 = src[0], *s1 = src[1];
              for (int xx = x0; xx < x1; xx++)
                {
                  dst[2 * xx] = s0[xx];
                  dst[2 * xx + 1] = s1[xx];
                }
            }
          else
            for (int xx = x0; xx < x1; xx++)
              for (int j = 0; j < r; j++)
                dst[xx * r + j] = src[j][xx];
          for (int xx = 0; xx < g->ow; xx++)
            if (xx < x0 || xx >= x1)
              for (int j = 0; j < r; j++)
                if (tx0 + xx * r + j >= 0 && tx0 + xx * r + j < y->w)
                  dst[xx * r + j] = src[j][xx];
        }
    }
}

static void
conv_forward_direct (const TbNnLayer *l, const TbNnTensor *x, const ConvGeom *g, TbNnTensor *out,
                     gboolean relu, const Shuffle *sh)
{
  const NnConvKernels *ks = nn_conv_kernels ();
  int WP = g->ow + g->kw - 1;
  gsize slab = (gsize) g->kd * WP;                 /* floats per input channel and buffer row */
  int R = (int) MIN ((gsize) g->oh, MAX ((gsize) 1, BAND_FLOATS / (g->cin * slab)));
  int nrows = R + g->kh - 1, n_bands = (g->oh + R - 1) / R;
  gsize buf_n = (gsize) g->cin * g->kd * nrows * WP + WP + NN_CONV_NC_MAX;
  gsize QP = ((gsize) R * WP + NN_CONV_NC_MAX - 1) / NN_CONV_NC_MAX * NN_CONV_NC_MAX;
  gsize n_tasks = (gsize) x->n * g->od * n_bands;
  gsize in_stride = (gsize) g->cin * g->d * g->h * g->w, out_stride = (gsize) g->cout * g->P;
  gsize plane = (gsize) g->h * g->w, vol = plane * g->d;

  /* taps in weight order [cin][kd][kh][kw]; weights packed per block of mr output channels as
   * [k][mr], the blocks mr = the widest the kernel set has, then the powers of two below */
  g_autofree int *off = g_new (int, g->K);
  for (int ci = 0, k = 0; ci < g->cin; ci++)
    for (int a = 0; a < g->kd; a++)
      for (int b = 0; b < g->kh; b++)
        for (int c = 0; c < g->kw; c++)
          off[k++] = ((ci * g->kd + a) * nrows + b) * WP + c;
  g_autofree float *wp = g_new (float, (gsize) g->cout * g->K);
  g_autofree float *bias = g_new0 (float, g->cout);
  g_autofree int *blk_co = g_new (int, g->cout), *blk_mr = g_new (int, g->cout);
  int n_blk = 0;
  for (int co = 0, mr = ks->mr_max; co < g->cout;)
    {
      while (mr > g->cout - co)
        mr /= 2;
      blk_co[n_blk] = co; blk_mr[n_blk++] = mr;
      for (int k = 0; k < g->K; k++)
        for (int m = 0; m < mr; m++)
          wp[(gsize) co * g->K + (gsize) k * mr + m] = l->weight->data[(gsize) (co + m) * g->K + k];
      co += mr;
    }
  if (l->bias != NULL)
    memcpy (bias, l->bias->data, g->cout * sizeof (float));

  double flops = 2.0 * g->cout * g->K * (double) g->P * x->n;
#pragma omp parallel if (n_tasks > 1 && flops > 2e6)
  {
    float *buf = g_malloc0 (buf_n * sizeof (float));
    float *ob = g_malloc ((gsize) g->cout * QP * sizeof (float));
#pragma omp for schedule(dynamic, 1)
    for (gsize task = 0; task < n_tasks; task++)
      {
        int band = (int) (task % n_bands), od = (int) ((task / n_bands) % g->od);
        gsize n = task / ((gsize) n_bands * g->od);
        int oh0 = band * R, rows = MIN (R, g->oh - oh0);
        const float *xs = x->data + n * in_stride;
        /* input rows: iw = j - pw for buffer column j; zeros outside the tensor */
        int j0 = MAX (0, g->pw), j1 = MIN (WP, g->w + g->pw);   /* columns that hold data */
        for (int ci = 0; ci < g->cin; ci++)
          for (int a = 0; a < g->kd; a++)
            for (int rr = 0; rr < rows + g->kh - 1; rr++)
              {
                float *dst = buf + ((gsize) (ci * g->kd + a) * nrows + rr) * WP;
                int id = od - g->pd + a, ih = oh0 + rr - g->ph;
                if (id < 0 || id >= g->d || ih < 0 || ih >= g->h || j1 <= j0)
                  {
                    memset (dst, 0, WP * sizeof (float));
                    continue;
                  }
                const float *src = xs + ci * vol + (gsize) id * plane + (gsize) ih * g->w;
                memset (dst, 0, j0 * sizeof (float));
                memcpy (dst + j0, src + j0 - g->pw, (gsize) (j1 - j0) * sizeof (float));
                memset (dst + j1, 0, (gsize) (WP - j1) * sizeof (float));
              }
        int nq = rows * WP;
        for (int q0 = 0; q0 < nq; q0 += Q_CHUNK)
          for (int bl = 0; bl < n_blk; bl++)
            {
              int co = blk_co[bl];
              ks->fn[blk_mr[bl]] (g->K, wp + (gsize) co * g->K, bias + co, buf + q0, off, MIN (Q_CHUNK, nq - q0),
                                  ob + (gsize) co * QP + q0, QP, relu);
            }
        if (sh != NULL)
          {
            store_shuffled (sh, g, n, od, oh0, rows, ob, QP, WP);
            continue;
          }
        float *y = out->data + n * out_stride;
        for (int co = 0; co < g->cout; co++)
          for (int r = 0; r < rows; r++)
            memcpy (y + (gsize) co * g->P + ((gsize) od * g->oh + oh0 + r) * g->ow, ob + (gsize) co * QP + (gsize) r * WP,
                    g->ow * sizeof (float));
      }
    g_free (buf);
    g_free (ob);
  }
}

static void
conv_run (const TbNnLayer *l, const TbNnTensor *x, const ConvGeom *g, TbNnTensor *out, gboolean relu)
{
  if (g->sd == 1 && g->sh == 1 && g->sw == 1)
    conv_forward_direct (l, x, g, out, relu, NULL);
  else
    {
      g_return_if_fail (!relu);
      conv_forward_im2col (l, x, g, out);
    }
}

static void
conv_forward (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out)
{
  ConvGeom g;
  conv_geom (l, in[0], &g);
  conv_run (l, in[0], &g, out, FALSE);
}

static void
conv_forward_region (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out)
{
  ConvGeom g;
  conv_geom_region (l, in[0], out, &g);
  conv_run (l, in[0]->t, &g, out->t, FALSE);
}

/* Inference: the convolution with the ReLU after it (max (y, 0) as the kernel stores) and/or the
 * pixel shuffle after it (shuffle > 0: its output region, which conv_out's covers, gets the values);
 * conv_out->t gives the convolution region's shape only. */
gboolean
nn_conv_forward_region_fused (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *conv_out,
                              gboolean relu, int shuffle, const TbNnRegion *shuffled)
{
  ConvGeom g;
  conv_geom_region (l, in[0], conv_out, &g);
  if (g.sd != 1 || g.sh != 1 || g.sw != 1)
    return FALSE;
  Shuffle sh = { shuffle, l->dims == 3 ? shuffle : 1, conv_out->lo, shuffled };
  conv_forward_direct (l, in[0]->t, &g, conv_out->t, relu, shuffle > 0 ? &sh : NULL);
  return TRUE;
}

static void
conv_backward (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
               const TbNnTensor *grad_out, TbNnTensor **grad_in)
{
  const TbNnTensor *x = in[0];
  ConvGeom g;
  conv_geom (l, x, &g);
  int bc = CONV_BLOCK;
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

const TbNnOps nn_cpu_conv_ops = { "conv", conv_shape, conv_forward, conv_backward, conv_forward_region };
