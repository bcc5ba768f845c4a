/* nn-net.c — a network as a list of nodes in topological order (each a layer and its 1–2 inputs),
 * forward with every activation kept for training, backward in reverse order, parameter init. */
#include "nn-private.h"

#include <math.h>
#include <string.h>

struct _TbNnNet {
  TbNnArch arch;
  char *arch_name;
  GPtrArray *layers;          /* TbNnLayer* */
  GPtrArray *outs;            /* TbNnTensor* per node (activations) */
  GPtrArray *grads;           /* TbNnTensor* per node (gradients), built on demand */
  const TbNnTensor *input;
  GHashTable *meta;           /* char* -> char* */
  gboolean trained;           /* activations of the last forward are all kept */
};

static void
layer_free (gpointer p)
{
  TbNnLayer *l = p;
  g_free (l->name);
  tb_nn_tensor_free (l->weight); tb_nn_tensor_free (l->bias);
  tb_nn_tensor_free (l->grad_weight); tb_nn_tensor_free (l->grad_bias);
  g_free (l);
}

TbNnNet *
nn_net_alloc (const TbNnArch *arch)
{
  TbNnNet *net = g_new0 (TbNnNet, 1);
  net->arch = *arch;
  net->arch_name = g_strdup (arch->arch);
  net->arch.arch = net->arch_name;
  net->layers = g_ptr_array_new_with_free_func (layer_free);
  net->outs = g_ptr_array_new_with_free_func ((GDestroyNotify) tb_nn_tensor_free);
  net->grads = g_ptr_array_new_with_free_func ((GDestroyNotify) tb_nn_tensor_free);
  net->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return net;
}

void
tb_nn_net_free (TbNnNet *net)
{
  if (net == NULL)
    return;
  g_ptr_array_unref (net->layers);
  g_ptr_array_unref (net->outs);
  g_ptr_array_unref (net->grads);
  g_hash_table_unref (net->meta);
  g_free (net->arch_name);
  g_free (net);
}

static int
add_layer (TbNnNet *net, TbNnLayer *l)
{
  l->dims = net->arch.dims;
  g_ptr_array_add (net->layers, l);
  g_ptr_array_add (net->outs, NULL);
  g_ptr_array_add (net->grads, NULL);
  return (int) net->layers->len - 1;
}

int
nn_net_conv (TbNnNet *net, int input, const char *name, int cin, int cout, int k, int stride, int pad)
{
  TbNnLayer *l = g_new0 (TbNnLayer, 1);
  l->kind = TB_NN_CONV;
  l->name = g_strdup (name);
  l->inputs[0] = input; l->n_inputs = 1;
  l->cin = cin; l->cout = cout; l->k = k; l->stride = stride; l->pad = pad;
  int d3 = net->arch.dims == 3;
  l->weight = tb_nn_tensor_new (d3 ? 5 : 4, cout, cin, k, k, k);
  l->grad_weight = tb_nn_tensor_new_like (l->weight);
  l->bias = tb_nn_tensor_new (4, cout, 1, 1, 1, 1);
  l->grad_bias = tb_nn_tensor_new_like (l->bias);
  return add_layer (net, l);
}

int
nn_net_op (TbNnNet *net, TbNnKind kind, int in0, int in1, int factor, float slope)
{
  TbNnLayer *l = g_new0 (TbNnLayer, 1);
  l->kind = kind;
  l->inputs[0] = in0; l->inputs[1] = in1;
  l->n_inputs = (kind == TB_NN_ADD || kind == TB_NN_CONCAT) ? 2 : 1;
  l->factor = factor; l->slope = slope;
  return add_layer (net, l);
}

/* PyTorch's default for Conv layers (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * for weights and biases, from a seeded GRand so that a seed gives the same net. Residual branches'
 * last convolutions are scaled by 0.1 (EDSR's residual scaling) so a deep net starts near identity. */
void
nn_net_init_params (TbNnNet *net, guint64 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (seed ^ (seed >> 32)));
  for (guint i = 0; i < net->layers->len; i++)
    {
      TbNnLayer *l = net->layers->pdata[i];
      if (l->weight == NULL)
        continue;
      gsize fan_in = tb_nn_tensor_size (l->weight) / l->cout;
      double bound = 1.0 / sqrt ((double) fan_in);
      double scale = g_str_has_suffix (l->name, "conv2") ? 0.1 : 1.0;
      for (gsize j = 0; j < tb_nn_tensor_size (l->weight); j++)
        l->weight->data[j] = (float) (scale * g_rand_double_range (rand, -bound, bound));
      for (gsize j = 0; j < tb_nn_tensor_size (l->bias); j++)
        l->bias->data[j] = (float) (scale * g_rand_double_range (rand, -bound, bound));
    }
}

TbNnNet *
tb_nn_net_new (const TbNnArch *arch, guint64 init_seed, GError **error)
{
  g_return_val_if_fail (arch != NULL && arch->arch != NULL, NULL);
  tb_nn_init ();
  g_autoptr(TbNnNet) net = nn_net_alloc (arch);
  if (!nn_net_build (net, arch, error))
    return NULL;
  nn_net_init_params (net, init_seed);
  return g_steal_pointer (&net);
}

const TbNnArch *tb_nn_net_get_arch (const TbNnNet *net) { return &net->arch; }
guint tb_nn_net_n_layers (const TbNnNet *net) { return net->layers->len; }
TbNnLayer *tb_nn_net_get_layer (TbNnNet *net, guint i) { return i < net->layers->len ? net->layers->pdata[i] : NULL; }
GHashTable *nn_net_meta (TbNnNet *net) { return net->meta; }

gsize
tb_nn_net_n_params (const TbNnNet *net)
{
  gsize n = 0;
  for (guint i = 0; i < net->layers->len; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      if (l->weight != NULL)
        n += tb_nn_tensor_size (l->weight) + tb_nn_tensor_size (l->bias);
    }
  return n;
}

/* Receptive radius in input pixels (a bound): walk the graph keeping each node's radius and scale
 * (pixels per input pixel); a k-wide convolution adds (k/2) / scale. */
int
tb_nn_net_receptive_radius (const TbNnNet *net)
{
  guint n = net->layers->len;
  g_autofree double *rad = g_new0 (double, n), *scale = g_new0 (double, n);
  double best = 0.0;
  for (guint i = 0; i < n; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      double r = 0.0, s = 1.0;
      for (int k = 0; k < l->n_inputs; k++)
        {
          int j = l->inputs[k];
          double rj = j < 0 ? 0.0 : rad[j], sj = j < 0 ? 1.0 : scale[j];
          if (rj >= r) { r = rj; s = sj; }
        }
      switch (l->kind)
        {
        case TB_NN_CONV:
          r += (double) (l->k / 2) / s;
          s /= l->stride;                              /* stride: the output grid is coarser */
          break;
        case TB_NN_PIXEL_SHUFFLE: case TB_NN_UPSAMPLE_NEAREST: s *= l->factor; break;
        case TB_NN_UPSAMPLE_LINEAR: r += 1.0 / s; s *= l->factor; break;
        case TB_NN_AVG_POOL: r += (double) l->factor / s; s /= l->factor; break;
        default: break;
        }
      rad[i] = r; scale[i] = s;
      best = MAX (best, r);
    }
  /* + 1: an output pixel sits anywhere inside its input pixel, up to one input pixel from its centre */
  return (int) ceil (best - 1e-9) + 1;
}

void
tb_nn_net_set_meta (TbNnNet *net, const char *key, const char *value)
{
  g_hash_table_replace (net->meta, g_strdup (key), g_strdup (value));
}

const char *
tb_nn_net_get_meta (const TbNnNet *net, const char *key)
{
  return g_hash_table_lookup (net->meta, key);
}

double
tb_nn_net_get_meta_double (const TbNnNet *net, const char *key, double fallback)
{
  const char *s = tb_nn_net_get_meta (net, key);
  if (s == NULL)
    return fallback;
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  return end != s ? v : fallback;
}

static const TbNnTensor *
node_out (TbNnNet *net, int j)
{
  return j < 0 ? net->input : net->outs->pdata[j];
}

/* Region inference: which part of each node's grid the output region needs (walking the graph
 * backwards), then each layer on that part only (forwards), each activation freed after its last
 * consumer. Boxes are per axis x, y, z (w, h, d); in 2-D the z axis is [0, 1) throughout. */
typedef struct { int lo[3], hi[3]; } Box;

static int
tensor_dim (const TbNnTensor *t, int a)
{
  return a == 0 ? t->w : a == 1 ? t->h : t->d;
}

/* The part of its input's grid (in_full voxels) that layer l needs for output box out. */
static void
layer_need (const TbNnLayer *l, gboolean three, const Box *out, const int in_full[3], Box *need)
{
  for (int a = 0; a < 3; a++)
    {
      int lo = out->lo[a], hi = out->hi[a], f = l->factor;
      if (a < 2 || three)
        switch (l->kind)
          {
          case TB_NN_CONV:
            lo = out->lo[a] * l->stride - l->pad;
            hi = (out->hi[a] - 1) * l->stride - l->pad + l->k;
            break;
          case TB_NN_PIXEL_SHUFFLE: case TB_NN_UPSAMPLE_NEAREST:
            lo = out->lo[a] / f;
            hi = (out->hi[a] - 1) / f + 1;
            break;
          case TB_NN_AVG_POOL:
            lo = out->lo[a] * f;
            hi = out->hi[a] * f;
            break;
          case TB_NN_UPSAMPLE_LINEAR:
            {
              int i0, i1;
              float w1;
              nn_upsample_tap (out->lo[a], in_full[a], f, TRUE, &lo, &i1, &w1);
              nn_upsample_tap (out->hi[a] - 1, in_full[a], f, TRUE, &i0, &hi, &w1);
              hi++;
            }
            break;
          default:
            break;
          }
      need->lo[a] = MAX (lo, 0);
      need->hi[a] = MIN (hi, in_full[a]);
    }
}

typedef struct {
  TbNnTensor *shape;      /* per node: its whole grid (data NULL) */
  Box *box;               /* per node: the part computed */
  gboolean *needed, *fuse_relu;   /* fuse_relu[i]: node i (a convolution) applies the ReLU after it */
  gboolean *fuse_shuffle;         /* fuse_shuffle[i]: node i (a convolution) fills node i + 1 (its shuffle) */
  gboolean *relu_done;            /* relu_done[i]: node i (a ReLU) takes its input's tensor as it is */
  int *last_use;
  gboolean regions;       /* every needed layer has forward_region */
} Plan;

static void
plan_clear (Plan *p)
{
  g_free (p->shape); g_free (p->box); g_free (p->needed); g_free (p->fuse_relu); g_free (p->relu_done);
  g_free (p->fuse_shuffle);
  g_free (p->last_use);
}

static gboolean
plan_make (TbNnNet *net, const TbNnTensor *input, const int lo[3], const int n[3], Plan *p, GError **error)
{
  guint N = net->layers->len;
  gboolean three = net->arch.dims == 3;
  memset (p, 0, sizeof *p);
  if (input->ndim != (three ? 5 : 4))
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "A %d-D net given a %d-D tensor", net->arch.dims, input->ndim - 2);
      return FALSE;
    }
  p->shape = g_new0 (TbNnTensor, N);
  p->box = g_new0 (Box, N);
  p->needed = g_new0 (gboolean, N);
  p->fuse_relu = g_new0 (gboolean, N);
  p->relu_done = g_new0 (gboolean, N);
  p->fuse_shuffle = g_new0 (gboolean, N);
  p->last_use = g_new (int, N);
  p->regions = TRUE;
  for (guint i = 0; i < N; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      const TbNnTensor *in[2] = { NULL, NULL };
      for (int k = 0; k < l->n_inputs; k++)
        in[k] = l->inputs[k] < 0 ? input : &p->shape[l->inputs[k]];
      int sh[6];
      if (!tb_nn_get_ops (l->kind)->shape (l, in, sh, error))
        return FALSE;
      p->shape[i] = (TbNnTensor) { sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], NULL };
    }
  const TbNnTensor *out = &p->shape[N - 1];
  int all_lo[3] = { 0, 0, 0 }, all_n[3] = { out->w, out->h, out->d };
  if (lo == NULL)
    {
      lo = all_lo;
      n = all_n;
    }
  for (int a = 0; a < 3; a++)
    if (n[a] < 1 || lo[a] < 0 || lo[a] + n[a] > tensor_dim (out, a))
      {
        g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                     "Output region %d+%d x %d+%d x %d+%d is not inside the %dx%dx%d output",
                     lo[0], n[0], lo[1], n[1], lo[2], n[2], out->w, out->h, out->d);
        return FALSE;
      }
  for (int a = 0; a < 3; a++)
    {
      p->box[N - 1].lo[a] = lo[a];
      p->box[N - 1].hi[a] = lo[a] + n[a];
    }
  p->needed[N - 1] = TRUE;
  for (int i = (int) N - 1; i >= 0; i--)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      p->last_use[i] = i == (int) N - 1 ? (int) N : -1;
      if (!p->needed[i])
        continue;
      if (tb_nn_get_ops (l->kind)->forward_region == NULL)
        p->regions = FALSE;
      for (int k = 0; k < l->n_inputs; k++)
        {
          int j = l->inputs[k];
          const TbNnTensor *src = j < 0 ? input : &p->shape[j];
          int full[3] = { src->w, src->h, src->d };
          Box need;
          layer_need (l, three, &p->box[i], full, &need);
          if (j < 0)
            continue;
          Box *b = &p->box[j];
          for (int a = 0; a < 3; a++)
            {
              b->lo[a] = p->needed[j] ? MIN (b->lo[a], need.lo[a]) : need.lo[a];
              b->hi[a] = p->needed[j] ? MAX (b->hi[a], need.hi[a]) : need.hi[a];
            }
          p->needed[j] = TRUE;
        }
    }
  for (guint i = 0; i < N; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      if (!p->needed[i])
        continue;
      for (int k = 0; k < l->n_inputs; k++)
        if (l->inputs[k] >= 0)
          p->last_use[l->inputs[k]] = MAX (p->last_use[l->inputs[k]], (int) i);
    }
  /* Fusions (CPU layers only). A stride-1 convolution whose only consumer is a pixel shuffle
   * writes the shuffled values straight into the shuffle's tensor. One whose only consumer is a
   * ReLU, directly or through such a shuffle (a permutation, so the ReLU may come first), stores
   * max (y, 0), and the ReLU node takes over its input's tensor. */
  gboolean cpu = tb_nn_get_ops (TB_NN_CONV) == &nn_cpu_conv_ops && tb_nn_get_ops (TB_NN_RELU) == &nn_cpu_relu_ops
                 && tb_nn_get_ops (TB_NN_PIXEL_SHUFFLE) == &nn_cpu_shuffle_ops;
  for (guint i = 0; i + 1 < N && cpu; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      if (!p->needed[i] || l->kind != TB_NN_CONV || l->stride != 1 || p->last_use[i] != (int) i + 1)
        continue;
      guint r = i + 1;
      const TbNnLayer *next = net->layers->pdata[r];
      if (next->kind == TB_NN_PIXEL_SHUFFLE && next->inputs[0] == (int) i)
        {
          p->fuse_shuffle[i] = TRUE;
          if (r + 1 < N && p->last_use[r] == (int) r + 1)
            next = net->layers->pdata[++r];
        }
      if (next->kind == TB_NN_RELU && next->inputs[0] == (int) r - 1)
        {
          p->fuse_relu[i] = TRUE;
          p->relu_done[r] = TRUE;
        }
    }
  return TRUE;
}

/* Activation buffers of one run: a freed one is reused (the smallest that fits) instead of being
 * returned to the system, so a run touches fresh pages only up to its peak (a 2048^2 pass spent a
 * third of its time in page faults otherwise); nothing is zero-filled, every layer writes all it owns. */
typedef struct { float *data; gsize cap; } Buf;

static float *
pool_take (GArray *pool, gsize n, gboolean alloc, gsize *cap)
{
  int best = -1;
  for (guint i = 0; i < pool->len; i++)
    {
      Buf *b = &g_array_index (pool, Buf, i);
      if (b->cap >= n && (best < 0 || b->cap < g_array_index (pool, Buf, best).cap))
        best = (int) i;
    }
  if (best < 0)
    {
      *cap = MAX (n, 1);
      return alloc ? g_malloc (*cap * sizeof (float)) : NULL;
    }
  Buf b = g_array_index (pool, Buf, best);
  g_array_remove_index_fast (pool, best);
  *cap = b.cap;
  return b.data;
}

/* Run (or, with run FALSE, only count) the plan; lo NULL in plan_make: the whole output. Returns
 * the output region; peak gets the most activation bytes held at once. */
static TbNnTensor *
plan_run (TbNnNet *net, const TbNnTensor *input, const Plan *p, gboolean run, gsize *peak)
{
  guint N = net->layers->len;
  g_autofree TbNnRegion *reg = g_new0 (TbNnRegion, N);
  g_autofree gsize *cap = g_new0 (gsize, N);
  g_autoptr(GArray) pool = g_array_new (FALSE, FALSE, sizeof (Buf));
  TbNnRegion whole_in = { (TbNnTensor *) input, { 0, 0, 0 }, { input->w, input->h, input->d } };
  gsize held = 0, most = 0;
  for (guint i = 0; i < N; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      if (!p->needed[i])
        continue;
      for (int a = 0; a < 3; a++)
        {
          reg[i].lo[a] = p->box[i].lo[a];
          reg[i].full[a] = tensor_dim (&p->shape[i], a);
        }
      int j0 = l->inputs[0];
      if (p->relu_done[i])
        {
          /* the convolution before did the ReLU: take over the input's tensor */
          reg[i].t = reg[j0].t;
          cap[i] = cap[j0];
          reg[j0].t = NULL;
          cap[j0] = 0;
          continue;
        }
      if (i > 0 && p->fuse_shuffle[i - 1])
        continue;   /* the convolution before filled this shuffle's tensor */
      /* the node whose tensor this step fills: this one, or the shuffle after a convolution */
      guint o = p->fuse_shuffle[i] ? i + 1 : i;
      const TbNnTensor *s = &p->shape[o];
      const Box *b = &p->box[o];
      int d = b->hi[2] - b->lo[2], h = b->hi[1] - b->lo[1], w = b->hi[0] - b->lo[0];
      for (int a = 0; a < 3; a++)
        {
          reg[o].lo[a] = b->lo[a];
          reg[o].full[a] = tensor_dim (s, a);
        }
      float *data = pool_take (pool, (gsize) s->n * s->c * d * h * w, run, &cap[o]);
      if (run)
        {
          reg[o].t = g_new0 (TbNnTensor, 1);
          *reg[o].t = (TbNnTensor) { s->ndim, s->n, s->c, d, h, w, data };
        }
      held += cap[o] * sizeof (float);
      most = MAX (most, held);
      if (run)
        {
          const TbNnRegion *in[2] = { NULL, NULL };
          for (int k = 0; k < l->n_inputs; k++)
            in[k] = l->inputs[k] < 0 ? &whole_in : &reg[l->inputs[k]];
          if (p->fuse_relu[i] || p->fuse_shuffle[i])
            {
              const Box *cb = &p->box[i];
              const TbNnTensor *cs = &p->shape[i];
              TbNnTensor shape = { cs->ndim, cs->n, cs->c, cb->hi[2] - cb->lo[2], cb->hi[1] - cb->lo[1], cb->hi[0] - cb->lo[0], NULL };
              TbNnRegion conv = reg[i];
              if (p->fuse_shuffle[i])
                conv.t = &shape;
              const TbNnLayer *sl = net->layers->pdata[o];
              gboolean done = nn_conv_forward_region_fused (l, in, &conv, p->fuse_relu[i], p->fuse_shuffle[i] ? sl->factor : 0,
                                                            &reg[o]);
              g_assert (done);   /* fusions are planned for stride 1 only */
            }
          else
            tb_nn_get_ops (l->kind)->forward_region (l, in, &reg[i]);
        }
      for (int k = 0; k < l->n_inputs; k++)
        {
          int j = l->inputs[k];
          if (j >= 0 && p->last_use[j] == (int) i && cap[j] > 0)
            {
              Buf buf = { reg[j].t != NULL ? reg[j].t->data : NULL, cap[j] };
              g_array_append_val (pool, buf);
              g_clear_pointer (&reg[j].t, g_free);
              held -= cap[j] * sizeof (float);
              cap[j] = 0;
            }
        }
    }
  for (guint i = 0; i < pool->len; i++)
    g_free (g_array_index (pool, Buf, i).data);
  if (peak != NULL)
    *peak = most;
  return reg[N - 1].t;
}

gsize
tb_nn_net_region_bytes (TbNnNet *net, const TbNnTensor *input, const int lo[3], const int n[3], GError **error)
{
  Plan p;
  gsize peak = 0;
  if (plan_make (net, input, lo, n, &p, error))
    plan_run (net, input, &p, FALSE, &peak);
  plan_clear (&p);
  return peak;
}

static TbNnTensor *
crop (const TbNnTensor *t, const int lo[3], const int n[3])
{
  TbNnTensor *o = tb_nn_tensor_new (t->ndim, t->n, t->c, n[2], n[1], n[0]);
  for (int b = 0; b < t->n * t->c; b++)
    for (int z = 0; z < n[2]; z++)
      for (int y = 0; y < n[1]; y++)
        memcpy (o->data + (((gsize) b * n[2] + z) * n[1] + y) * n[0],
                t->data + (((gsize) b * t->d + z + lo[2]) * t->h + y + lo[1]) * t->w + lo[0], n[0] * sizeof (float));
  return o;
}

TbNnTensor *
tb_nn_net_forward_region (TbNnNet *net, const TbNnTensor *input, const int lo[3], const int n[3],
                          gsize *peak_bytes, GError **error)
{
  g_return_val_if_fail (net != NULL && input != NULL && lo != NULL && n != NULL, NULL);
  tb_nn_init ();
  Plan p;
  TbNnTensor *out = NULL;
  if (plan_make (net, input, lo, n, &p, error))
    {
      if (p.regions)
        out = plan_run (net, input, &p, TRUE, peak_bytes);
      else
        {
          /* a backend without regions: the whole grids, then the part asked for */
          const TbNnTensor *y = tb_nn_net_forward (net, input, FALSE, error);
          if (y != NULL)
            out = crop (y, lo, n);
          if (peak_bytes != NULL)
            *peak_bytes = 0;
        }
    }
  plan_clear (&p);
  return out;
}

/* Training keeps every activation for backward. Inference is the region pass over the whole output
 * (activations freed once their last consumer has run, convolution + ReLU fused), or, for a backend
 * without regions, the layers in turn, each activation freed after its last consumer. */
const TbNnTensor *
tb_nn_net_forward (TbNnNet *net, const TbNnTensor *input, gboolean train, GError **error)
{
  g_return_val_if_fail (net != NULL && input != NULL, NULL);
  tb_nn_init ();
  guint n = net->layers->len;
  net->input = input;
  net->trained = train;
  if (!train)
    {
      Plan p;
      gboolean ok = plan_make (net, input, NULL, NULL, &p, error);
      TbNnTensor *y = ok && p.regions ? plan_run (net, input, &p, TRUE, NULL) : NULL;
      plan_clear (&p);
      if (!ok)
        return NULL;
      if (y != NULL)
        {
          for (guint i = 0; i < n; i++)
            g_clear_pointer (&net->outs->pdata[i], tb_nn_tensor_free);
          net->outs->pdata[n - 1] = y;
          return y;
        }
    }
  g_autofree int *last_use = g_new (int, n);
  for (guint i = 0; i < n; i++)
    last_use[i] = i == n - 1 ? (int) n : (int) i;
  for (guint i = 0; i < n; i++)
    {
      const TbNnLayer *l = net->layers->pdata[i];
      for (int k = 0; k < l->n_inputs; k++)
        if (l->inputs[k] >= 0)
          last_use[l->inputs[k]] = MAX (last_use[l->inputs[k]], (int) i);
    }
  for (guint i = 0; i < n; i++)
    {
      TbNnLayer *l = net->layers->pdata[i];
      const TbNnOps *ops = tb_nn_get_ops (l->kind);
      const TbNnTensor *in[2] = { node_out (net, l->inputs[0]), l->n_inputs > 1 ? node_out (net, l->inputs[1]) : NULL };
      int shape[6];
      if (!ops->shape (l, in, shape, error))
        return NULL;
      net->outs->pdata[i] = nn_tensor_ensure (net->outs->pdata[i], shape);
      ops->forward (l, in, net->outs->pdata[i]);
      if (!train)
        for (int k = 0; k < l->n_inputs; k++)
          if (l->inputs[k] >= 0 && last_use[l->inputs[k]] == (int) i)
            g_clear_pointer (&net->outs->pdata[l->inputs[k]], tb_nn_tensor_free);
    }
  return net->outs->pdata[n - 1];
}

void
tb_nn_net_zero_grad (TbNnNet *net)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      TbNnLayer *l = net->layers->pdata[i];
      if (l->grad_weight != NULL)
        {
          memset (l->grad_weight->data, 0, tb_nn_tensor_size (l->grad_weight) * sizeof (float));
          memset (l->grad_bias->data, 0, tb_nn_tensor_size (l->grad_bias) * sizeof (float));
        }
    }
}

void
tb_nn_net_backward (TbNnNet *net, const TbNnTensor *grad_out, TbNnTensor *grad_input)
{
  g_return_if_fail (net->trained);
  guint n = net->layers->len;
  for (guint i = 0; i < n; i++)
    {
      const TbNnTensor *o = net->outs->pdata[i];
      int shape[6] = { o->ndim, o->n, o->c, o->d, o->h, o->w };
      net->grads->pdata[i] = nn_tensor_ensure (net->grads->pdata[i], shape);
      memset (((TbNnTensor *) net->grads->pdata[i])->data, 0, tb_nn_tensor_size (o) * sizeof (float));
    }
  TbNnTensor *last = net->grads->pdata[n - 1];
  memcpy (last->data, grad_out->data, tb_nn_tensor_size (last) * sizeof (float));
  for (int i = (int) n - 1; i >= 0; i--)
    {
      TbNnLayer *l = net->layers->pdata[i];
      const TbNnTensor *in[2] = { node_out (net, l->inputs[0]), l->n_inputs > 1 ? node_out (net, l->inputs[1]) : NULL };
      TbNnTensor *gin[2] = { NULL, NULL };
      for (int k = 0; k < l->n_inputs; k++)
        gin[k] = l->inputs[k] >= 0 ? net->grads->pdata[l->inputs[k]] : grad_input;
      tb_nn_get_ops (l->kind)->backward (l, in, net->outs->pdata[i], net->grads->pdata[i], gin);
    }
}

char *
tb_nn_find_shipped_model (const char *name, const char *installed_dir, const char *source_dir)
{
  g_return_val_if_fail (name != NULL, NULL);
  const char *dirs[] = { g_getenv ("TRABECULA_MODELS_DIR"), installed_dir, source_dir };
  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      if (dirs[i] == NULL || dirs[i][0] == '\0')
        continue;
      char *path = g_build_filename (dirs[i], name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}
