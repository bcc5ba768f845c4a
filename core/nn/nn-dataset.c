/* nn-dataset.c — a training-pair folder: manifest.json and SPLIT.safetensors ("lr", "hr"). */
#include "nn-private.h"

#include <string.h>

struct _TbNnDataset {
  JsonParser *parser;
  JsonObject *manifest;
  GHashTable *tensors;
  const TbNnTensor *lr, *hr;
};

TbNnDataset *
tb_nn_dataset_load (const char *dir, const char *split, GError **error)
{
  g_return_val_if_fail (dir != NULL && split != NULL, NULL);
  g_autoptr(TbNnDataset) ds = g_new0 (TbNnDataset, 1);
  g_autofree char *mpath = g_build_filename (dir, "manifest.json", NULL);
  ds->parser = json_parser_new ();
  if (!json_parser_load_from_file (ds->parser, mpath, error))
    return NULL;
  JsonNode *root = json_parser_get_root (ds->parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "format", ""),
                    "trabecula-pairs-1") != 0)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT,
                   "%s is not a Trabecula pair manifest (format trabecula-pairs-1); make one with make-pairs", mpath);
      return NULL;
    }
  ds->manifest = json_node_get_object (root);
  g_autofree char *name = g_strconcat (split, ".safetensors", NULL);
  g_autofree char *tpath = g_build_filename (dir, name, NULL);
  if (!tb_nn_safetensors_read (tpath, &ds->tensors, NULL, error))
    return NULL;
  ds->lr = g_hash_table_lookup (ds->tensors, "lr");
  ds->hr = g_hash_table_lookup (ds->tensors, "hr");
  if (ds->lr == NULL || ds->hr == NULL || ds->lr->n != ds->hr->n || ds->lr->n < 1
      || ds->lr->h != ds->lr->w || ds->hr->h != ds->hr->w || ds->hr->h % ds->lr->h != 0)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT,
                   "%s must hold square 'lr' and 'hr' patches, as many of each, hr an integer multiple of lr", tpath);
      return NULL;
    }
  return g_steal_pointer (&ds);
}

void
tb_nn_dataset_free (TbNnDataset *ds)
{
  if (ds == NULL)
    return;
  g_clear_object (&ds->parser);
  g_clear_pointer (&ds->tensors, g_hash_table_unref);
  g_free (ds);
}

guint tb_nn_dataset_size (const TbNnDataset *ds) { return (guint) ds->lr->n; }
JsonObject *tb_nn_dataset_manifest (const TbNnDataset *ds) { return ds->manifest; }
const TbNnTensor *tb_nn_dataset_tensor (const TbNnDataset *ds, const char *name)
{
  return g_hash_table_lookup (ds->tensors, name);
}

/* Symmetry a of the square (bit 0 flip x, bit 1 flip y, bit 2 transpose) applied to one n x n image. */
static void
transform (const float *src, float *dst, int n, guint8 a)
{
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      {
        int sx = (a & 1) ? n - 1 - x : x, sy = (a & 2) ? n - 1 - y : y;
        if (a & 4)
          {
            int t = sx; sx = sy; sy = t;
          }
        dst[(gsize) y * n + x] = src[(gsize) sy * n + sx];
      }
}

void
tb_nn_dataset_batch (const TbNnDataset *ds, const guint *idx, const guint8 *aug, guint n,
                     TbNnTensor *lr, TbNnTensor *hr)
{
  gsize ls = (gsize) ds->lr->c * ds->lr->h * ds->lr->w, hs = (gsize) ds->hr->c * ds->hr->h * ds->hr->w;
  for (guint i = 0; i < n; i++)
    {
      guint8 a = aug != NULL ? aug[i] : 0;
      for (int c = 0; c < ds->lr->c; c++)
        transform (ds->lr->data + idx[i] * ls + (gsize) c * ds->lr->h * ds->lr->w,
                   lr->data + i * ls + (gsize) c * ds->lr->h * ds->lr->w, ds->lr->w, a);
      transform (ds->hr->data + idx[i] * hs, hr->data + i * hs, ds->hr->w, a);
    }
}
