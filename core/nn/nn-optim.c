/* nn-optim.c — losses (L1, L2, least-squares GAN) and the AdamW optimizer with gradient clipping
 * and a cosine learning-rate schedule. */
#include "nn-private.h"

#include <math.h>
#include <string.h>

/* Sums in double, then one division: the loss does not depend on the thread count. */
double
tb_nn_loss_l1 (const TbNnTensor *pred, const TbNnTensor *target, TbNnTensor *grad)
{
  gsize n = tb_nn_tensor_size (pred);
  double s = 0.0, inv = 1.0 / (double) n;
  for (gsize i = 0; i < n; i++)
    {
      double d = (double) pred->data[i] - target->data[i];
      s += fabs (d);
      if (grad != NULL)
        grad->data[i] = (float) ((d > 0) - (d < 0)) * (float) inv;  /* torch's sign(0) = 0 */
    }
  return s * inv;
}

double
tb_nn_loss_l2 (const TbNnTensor *pred, const TbNnTensor *target, TbNnTensor *grad)
{
  gsize n = tb_nn_tensor_size (pred);
  double s = 0.0, inv = 1.0 / (double) n;
  for (gsize i = 0; i < n; i++)
    {
      double d = (double) pred->data[i] - target->data[i];
      s += d * d;
      if (grad != NULL)
        grad->data[i] = (float) (2.0 * d * inv);
    }
  return s * inv;
}

double
tb_nn_loss_lsgan (const TbNnTensor *pred, float label, TbNnTensor *grad)
{
  gsize n = tb_nn_tensor_size (pred);
  double s = 0.0, inv = 1.0 / (double) n;
  for (gsize i = 0; i < n; i++)
    {
      double d = (double) pred->data[i] - label;
      s += d * d;
      if (grad != NULL)
        grad->data[i] = (float) (d * inv);
    }
  return 0.5 * s * inv;
}

struct _TbNnAdam {
  TbNnNet *net;
  double beta1, beta2, eps, weight_decay;
  guint64 t;
  GPtrArray *params, *grads, *m, *v;   /* TbNnTensor*, parallel arrays; m, v owned */
  GPtrArray *names;
};

TbNnAdam *
tb_nn_adam_new (TbNnNet *net, double beta1, double beta2, double eps, double weight_decay)
{
  TbNnAdam *a = g_new0 (TbNnAdam, 1);
  a->net = net;
  a->beta1 = beta1; a->beta2 = beta2; a->eps = eps; a->weight_decay = weight_decay;
  a->params = g_ptr_array_new ();
  a->grads = g_ptr_array_new ();
  a->m = g_ptr_array_new_with_free_func ((GDestroyNotify) tb_nn_tensor_free);
  a->v = g_ptr_array_new_with_free_func ((GDestroyNotify) tb_nn_tensor_free);
  a->names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < tb_nn_net_n_layers (net); i++)
    {
      TbNnLayer *l = tb_nn_net_get_layer (net, i);
      if (l->weight == NULL)
        continue;
      TbNnTensor *p[2] = { l->weight, l->bias }, *g[2] = { l->grad_weight, l->grad_bias };
      for (int k = 0; k < 2; k++)
        {
          g_ptr_array_add (a->params, p[k]);
          g_ptr_array_add (a->grads, g[k]);
          g_ptr_array_add (a->m, tb_nn_tensor_new_like (p[k]));
          g_ptr_array_add (a->v, tb_nn_tensor_new_like (p[k]));
          g_ptr_array_add (a->names, g_strconcat (l->name, k == 0 ? ".weight" : ".bias", NULL));
        }
    }
  return a;
}

void
tb_nn_adam_free (TbNnAdam *a)
{
  if (a == NULL)
    return;
  g_ptr_array_unref (a->params); g_ptr_array_unref (a->grads);
  g_ptr_array_unref (a->m); g_ptr_array_unref (a->v); g_ptr_array_unref (a->names);
  g_free (a);
}

/* torch.optim.AdamW: p -= lr*wd*p; m, v moving averages; p -= lr * m_hat / (sqrt(v_hat) + eps).
 * Gradients are first scaled so that their global L2 norm is at most clip_norm (0 = no clipping),
 * as torch.nn.utils.clip_grad_norm_ does. Weight decay applies to weights only, not biases. */
double
tb_nn_adam_step (TbNnAdam *a, double lr, double clip_norm)
{
  double norm2 = 0.0;
  for (guint i = 0; i < a->grads->len; i++)
    {
      const TbNnTensor *g = a->grads->pdata[i];
      for (gsize j = 0; j < tb_nn_tensor_size (g); j++)
        norm2 += (double) g->data[j] * g->data[j];
    }
  double norm = sqrt (norm2);
  double clip = (clip_norm > 0.0 && norm > clip_norm) ? clip_norm / (norm + 1e-6) : 1.0;
  a->t++;
  double bc1 = 1.0 - pow (a->beta1, (double) a->t), bc2 = 1.0 - pow (a->beta2, (double) a->t);
  for (guint i = 0; i < a->params->len; i++)
    {
      TbNnTensor *p = a->params->pdata[i], *m = a->m->pdata[i], *v = a->v->pdata[i];
      const TbNnTensor *g = a->grads->pdata[i];
      gboolean decay = g_str_has_suffix (a->names->pdata[i], ".weight");
      for (gsize j = 0; j < tb_nn_tensor_size (p); j++)
        {
          double gj = g->data[j] * clip;
          if (decay)
            p->data[j] -= (float) (lr * a->weight_decay * p->data[j]);
          m->data[j] = (float) (a->beta1 * m->data[j] + (1.0 - a->beta1) * gj);
          v->data[j] = (float) (a->beta2 * v->data[j] + (1.0 - a->beta2) * gj * gj);
          p->data[j] -= (float) (lr * (m->data[j] / bc1) / (sqrt (v->data[j] / bc2) + a->eps));
        }
    }
  return norm;
}

/* Moments and the step count in a safetensors file beside the checkpoint, for exact resume. */
gboolean
tb_nn_adam_save (TbNnAdam *a, const char *path, GHashTable *meta, GError **error)
{
  g_autoptr(GHashTable) t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < a->params->len; i++)
    {
      g_hash_table_insert (t, g_strconcat ("m.", a->names->pdata[i], NULL), a->m->pdata[i]);
      g_hash_table_insert (t, g_strconcat ("v.", a->names->pdata[i], NULL), a->v->pdata[i]);
    }
  g_autoptr(GHashTable) m = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (meta != NULL)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, meta);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_replace (m, g_strdup (k), g_strdup (v));
    }
  g_hash_table_replace (m, g_strdup ("adam_t"), g_strdup_printf ("%" G_GUINT64_FORMAT, a->t));
  return tb_nn_safetensors_write (path, t, m, error);
}

gboolean
tb_nn_adam_load (TbNnAdam *a, const char *path, GError **error)
{
  g_autoptr(GHashTable) t = NULL, meta = NULL;
  if (!tb_nn_safetensors_read (path, &t, &meta, error))
    return FALSE;
  for (guint i = 0; i < a->params->len; i++)
    for (int k = 0; k < 2; k++)
      {
        g_autofree char *name = g_strconcat (k == 0 ? "m." : "v.", a->names->pdata[i], NULL);
        TbNnTensor *dst = (k == 0 ? a->m : a->v)->pdata[i];
        const TbNnTensor *src = g_hash_table_lookup (t, name);
        if (src == NULL || tb_nn_tensor_size (src) != tb_nn_tensor_size (dst))
          {
            g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "%s: optimizer state %s is missing or has the wrong size", path, name);
            return FALSE;
          }
        memcpy (dst->data, src->data, tb_nn_tensor_size (src) * sizeof (float));
      }
  const char *ts = g_hash_table_lookup (meta, "adam_t");
  a->t = ts != NULL ? g_ascii_strtoull (ts, NULL, 10) : 0;
  return TRUE;
}

double
tb_nn_lr_cosine (double lr, double lr_min, guint64 warmup, guint64 t, guint64 total)
{
  if (t < warmup)
    return lr * (double) (t + 1) / (double) warmup;
  if (total <= warmup)
    return lr;
  double p = MIN (1.0, (double) (t - warmup) / (double) (total - warmup));
  return lr_min + 0.5 * (lr - lr_min) * (1.0 + cos (G_PI * p));
}
