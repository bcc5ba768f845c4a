/* nn-tensor.c — float32 tensors, the error domain, thread settings and the backend tables. */
#include "tb-nn.h"
#include "nn-private.h"

#include <cblas.h>
#include <string.h>

G_DEFINE_QUARK (tb-nn-error-quark, tb_nn_error)

TbNnTensor *
tb_nn_tensor_new (int ndim, int n, int c, int d, int h, int w)
{
  g_return_val_if_fail (ndim == 4 || ndim == 5, NULL);
  TbNnTensor *t = g_new0 (TbNnTensor, 1);
  t->ndim = ndim;
  t->n = n; t->c = c; t->d = ndim == 4 ? 1 : d; t->h = h; t->w = w;
  t->data = g_malloc0_n (MAX (tb_nn_tensor_size (t), 1), sizeof (float));
  return t;
}

TbNnTensor *
tb_nn_tensor_new_like (const TbNnTensor *t)
{
  return tb_nn_tensor_new (t->ndim, t->n, t->c, t->d, t->h, t->w);
}

void
tb_nn_tensor_free (TbNnTensor *t)
{
  if (t == NULL)
    return;
  g_free (t->data);
  g_free (t);
}

gsize
tb_nn_tensor_size (const TbNnTensor *t)
{
  return (gsize) t->n * t->c * t->d * t->h * t->w;
}

gboolean
tb_nn_tensor_same_shape (const TbNnTensor *a, const TbNnTensor *b)
{
  return a->ndim == b->ndim && a->n == b->n && a->c == b->c && a->d == b->d && a->h == b->h && a->w == b->w;
}

/* Reuse t when its shape matches, else replace it. */
TbNnTensor *
nn_tensor_ensure (TbNnTensor *t, const int shape[6])
{
  if (t != NULL && t->ndim == shape[0] && t->n == shape[1] && t->c == shape[2] && t->d == shape[3]
      && t->h == shape[4] && t->w == shape[5])
    return t;
  tb_nn_tensor_free (t);
  return tb_nn_tensor_new (shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]);
}

void
tb_nn_init (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      /* OpenMP owns the threads (batch x column chunks); a threaded sgemm inside would oversubscribe. */
      openblas_set_num_threads (1);
      g_once_init_leave (&once, 1);
    }
}

static const TbNnOps *backend[TB_NN_N_KINDS];

void
tb_nn_set_backend (TbNnKind kind, const TbNnOps *ops)
{
  g_return_if_fail (kind < TB_NN_N_KINDS);
  backend[kind] = ops;
}

const TbNnOps *
tb_nn_get_ops (TbNnKind kind)
{
  g_return_val_if_fail (kind < TB_NN_N_KINDS, NULL);
  if (backend[kind] != NULL)
    return backend[kind];
  switch (kind)
    {
    case TB_NN_CONV: return &nn_cpu_conv_ops;
    case TB_NN_RELU: return &nn_cpu_relu_ops;
    case TB_NN_LEAKY_RELU: return &nn_cpu_relu_ops;
    case TB_NN_ADD: return &nn_cpu_add_ops;
    case TB_NN_CONCAT: return &nn_cpu_concat_ops;
    case TB_NN_PIXEL_SHUFFLE: return &nn_cpu_shuffle_ops;
    case TB_NN_AVG_POOL: return &nn_cpu_pool_ops;
    case TB_NN_UPSAMPLE_NEAREST: return &nn_cpu_upsample_ops;
    case TB_NN_UPSAMPLE_LINEAR: return &nn_cpu_upsample_ops;
    default: return NULL;
    }
}
