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

/* Inference frees each activation once its last consumer has run, so a 2048^2 slice fits easily. */
const TbNnTensor *
tb_nn_net_forward (TbNnNet *net, const TbNnTensor *input, gboolean train, GError **error)
{
  g_return_val_if_fail (net != NULL && input != NULL, NULL);
  tb_nn_init ();
  guint n = net->layers->len;
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
  net->input = input;
  net->trained = train;
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
            {
              tb_nn_tensor_free (net->outs->pdata[l->inputs[k]]);
              net->outs->pdata[l->inputs[k]] = NULL;
            }
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
