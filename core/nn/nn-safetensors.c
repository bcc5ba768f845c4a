/* nn-safetensors.c — the safetensors format (github.com/huggingface/safetensors, "format"):
 * 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets [b, e]},
 * "__metadata__": {string: string}}, then the raw little-endian tensor bytes. Only F32 is used.
 * Model files: tb_nn_net_save / tb_nn_net_load (architecture from the metadata, every tensor checked). */
#include "nn-private.h"

#include <json-glib/json-glib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "safetensors data is little-endian; add byte swapping for this platform"
#endif

/* Tensors of up to 5 dimensions; 1-D (biases) read as ndim 4 [n, 1, 1, 1]. */
static TbNnTensor *
tensor_from_shape (JsonArray *shape, GError **error, const char *name)
{
  guint nd = json_array_get_length (shape);
  gint64 dim[5] = { 1, 1, 1, 1, 1 };
  if (nd < 1 || nd > 5)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "Tensor %s has %u dimensions (1 to 5 allowed)", name, nd);
      return NULL;
    }
  for (guint i = 0; i < nd; i++)
    {
      dim[i] = json_array_get_int_element (shape, i);
      if (dim[i] < 1 || dim[i] > (1 << 24))
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "Tensor %s has a bad dimension %" G_GINT64_FORMAT, name, dim[i]);
          return NULL;
        }
    }
  if (nd == 5)
    return tb_nn_tensor_new (5, dim[0], dim[1], dim[2], dim[3], dim[4]);
  if (nd == 4)
    return tb_nn_tensor_new (4, dim[0], dim[1], 1, dim[2], dim[3]);
  /* fewer dimensions: n holds the leading one, the others follow in c, h, w */
  return tb_nn_tensor_new (4, dim[0], dim[1], 1, dim[2], 1);
}

gboolean
tb_nn_safetensors_read (const char *path, GHashTable **tensors, GHashTable **meta, GError **error)
{
  g_return_val_if_fail (path != NULL && tensors != NULL, FALSE);
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &contents, &len, error))
    return FALSE;
  guint64 hlen = 0;
  if (len >= 8)
    memcpy (&hlen, contents, 8);
  hlen = GUINT64_FROM_LE (hlen);
  if (len < 8 || hlen == 0 || hlen > len - 8 || hlen > 100 * 1024 * 1024 || contents[8] != '{')
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT,
                   "%s is not a safetensors file (bad header length or no JSON header)", path);
      return FALSE;
    }
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) jerr = NULL;
  if (!json_parser_load_from_data (parser, contents + 8, (gssize) hlen, &jerr)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "%s: the safetensors JSON header is broken: %s",
                   path, jerr != NULL ? jerr->message : "not an object");
      return FALSE;
    }
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  const char *data = contents + 8 + hlen;
  gsize data_len = len - 8 - hlen;
  g_autoptr(GHashTable) t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) tb_nn_tensor_free);
  g_autoptr(GHashTable) m = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GList) members = json_object_get_members (root);
  for (GList *it = members; it != NULL; it = it->next)
    {
      const char *name = it->data;
      JsonNode *node = json_object_get_member (root, name);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        goto bad_entry;
      JsonObject *o = json_node_get_object (node);
      if (strcmp (name, "__metadata__") == 0)
        {
          g_autoptr(GList) keys = json_object_get_members (o);
          for (GList *k = keys; k != NULL; k = k->next)
            {
              JsonNode *v = json_object_get_member (o, k->data);
              if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
                g_hash_table_replace (m, g_strdup (k->data), g_strdup (json_node_get_string (v)));
            }
          continue;
        }
      if (!json_object_has_member (o, "dtype") || !json_object_has_member (o, "shape")
          || !json_object_has_member (o, "data_offsets"))
        goto bad_entry;
      const char *dtype = json_object_get_string_member (o, "dtype");
      if (dtype == NULL || strcmp (dtype, "F32") != 0)
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "%s: tensor %s is %s; only F32 is supported",
                       path, name, dtype != NULL ? dtype : "(no dtype)");
          return FALSE;
        }
      JsonArray *off = json_object_get_array_member (o, "data_offsets");
      JsonArray *shape = json_object_get_array_member (o, "shape");
      if (off == NULL || shape == NULL || json_array_get_length (off) != 2)
        goto bad_entry;
      gint64 b = json_array_get_int_element (off, 0), e = json_array_get_int_element (off, 1);
      TbNnTensor *tensor = tensor_from_shape (shape, error, name);
      if (tensor == NULL)
        return FALSE;
      if (b < 0 || e < b || (guint64) e > data_len || (guint64) (e - b) != tb_nn_tensor_size (tensor) * 4)
        {
          tb_nn_tensor_free (tensor);
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT,
                       "%s: tensor %s's data offsets do not match its shape or the file size", path, name);
          return FALSE;
        }
      memcpy (tensor->data, data + b, (gsize) (e - b));
      g_hash_table_replace (t, g_strdup (name), tensor);
      continue;
    bad_entry:
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT,
                   "%s: header entry %s lacks dtype, shape or data_offsets", path, name);
      return FALSE;
    }
  *tensors = g_steal_pointer (&t);
  if (meta != NULL)
    *meta = g_steal_pointer (&m);
  return TRUE;
}

static int
compare_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Shape as written: 5-D stays 5-D; 4-D with d = 1 is [n, c, h, w]; a bias [n,1,1,1,1] is [n]. */
static void
add_shape (JsonBuilder *b, const TbNnTensor *t)
{
  json_builder_begin_array (b);
  if (t->ndim == 5)
    {
      int d[5] = { t->n, t->c, t->d, t->h, t->w };
      for (int i = 0; i < 5; i++)
        json_builder_add_int_value (b, d[i]);
    }
  else if (t->c == 1 && t->h == 1 && t->w == 1)
    json_builder_add_int_value (b, t->n);
  else
    {
      int d[4] = { t->n, t->c, t->h, t->w };
      for (int i = 0; i < 4; i++)
        json_builder_add_int_value (b, d[i]);
    }
  json_builder_end_array (b);
}

gboolean
tb_nn_safetensors_write (const char *path, GHashTable *tensors, GHashTable *meta, GError **error)
{
  g_return_val_if_fail (path != NULL && tensors != NULL, FALSE);
  g_autofree gpointer *names = (gpointer *) g_hash_table_get_keys_as_array (tensors, NULL);
  guint n = g_hash_table_size (tensors);
  qsort (names, n, sizeof (gpointer), compare_str);  /* sorted: the same net gives the same bytes */
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  if (meta != NULL && g_hash_table_size (meta) > 0)
    {
      g_autofree gpointer *keys = (gpointer *) g_hash_table_get_keys_as_array (meta, NULL);
      guint nk = g_hash_table_size (meta);
      qsort (keys, nk, sizeof (gpointer), compare_str);
      json_builder_set_member_name (b, "__metadata__");
      json_builder_begin_object (b);
      for (guint i = 0; i < nk; i++)
        {
          json_builder_set_member_name (b, keys[i]);
          json_builder_add_string_value (b, g_hash_table_lookup (meta, keys[i]));
        }
      json_builder_end_object (b);
    }
  guint64 off = 0;
  for (guint i = 0; i < n; i++)
    {
      const TbNnTensor *t = g_hash_table_lookup (tensors, names[i]);
      json_builder_set_member_name (b, names[i]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "F32");
      json_builder_set_member_name (b, "shape");
      add_shape (b, t);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) off);
      off += tb_nn_tensor_size (t) * 4;
      json_builder_add_int_value (b, (gint64) off);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  g_autofree char *json = json_generator_to_data (gen, NULL);
  GString *header = g_string_new (json);
  while (header->len % 8 != 0)  /* pad with spaces so the data starts 8-byte aligned */
    g_string_append_c (header, ' ');

  g_autofree char *tmp = g_strdup_printf ("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      g_string_free (header, TRUE);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Cannot write %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  fchmod (fd, 0644);   /* mkstemp makes 0600; a model or dataset is meant to be shared */
  FILE *f = fdopen (fd, "wb");
  guint64 hl = GUINT64_TO_LE ((guint64) header->len);
  gboolean ok = fwrite (&hl, 8, 1, f) == 1 && fwrite (header->str, 1, header->len, f) == header->len;
  g_string_free (header, TRUE);
  for (guint i = 0; ok && i < n; i++)
    {
      const TbNnTensor *t = g_hash_table_lookup (tensors, names[i]);
      ok = fwrite (t->data, 4, tb_nn_tensor_size (t), f) == tb_nn_tensor_size (t);
    }
  ok = (fclose (f) == 0) && ok;
  if (!ok || g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot write %s: %s", path, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

/* The architecture as metadata strings, so a file says what to build. */
static void
arch_to_meta (TbNnNet *net)
{
  const TbNnArch *a = tb_nn_net_get_arch (net);
  char buf[32];
  tb_nn_net_set_meta (net, "format", "trabecula-nn-1");
  tb_nn_net_set_meta (net, "arch", a->arch);
#define SET_INT(key, v) (g_snprintf (buf, sizeof buf, "%d", (v)), tb_nn_net_set_meta (net, key, buf))
  SET_INT ("dims", a->dims);
  SET_INT ("in_channels", a->in_channels);
  SET_INT ("features", a->features);
  SET_INT ("blocks", a->blocks);
  SET_INT ("depth", a->depth);
  SET_INT ("layers", a->layers);
  SET_INT ("scale", a->scale);
#undef SET_INT
}

gboolean
tb_nn_net_save (TbNnNet *net, const char *path, GError **error)
{
  g_return_val_if_fail (net != NULL && path != NULL, FALSE);
  arch_to_meta (net);
  g_autoptr(GHashTable) t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < tb_nn_net_n_layers (net); i++)
    {
      TbNnLayer *l = tb_nn_net_get_layer (net, i);
      if (l->weight == NULL)
        continue;
      g_hash_table_insert (t, g_strconcat (l->name, ".weight", NULL), l->weight);
      g_hash_table_insert (t, g_strconcat (l->name, ".bias", NULL), l->bias);
    }
  return tb_nn_safetensors_write (path, t, nn_net_meta (net), error);
}

static gboolean
meta_int (GHashTable *meta, const char *key, int fallback, int *out, const char *path, GError **error)
{
  const char *s = g_hash_table_lookup (meta, key);
  if (s == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  gint64 v;
  if (!g_ascii_string_to_signed (s, 10, 0, 1 << 20, &v, NULL))
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "%s: metadata %s = '%s' is not a whole number", path, key, s);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

TbNnNet *
tb_nn_net_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr(GHashTable) tensors = NULL, meta = NULL;
  if (!tb_nn_safetensors_read (path, &tensors, &meta, error))
    return NULL;
  const char *arch_name = g_hash_table_lookup (meta, "arch");
  if (arch_name == NULL)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_FORMAT,
                   "%s has no 'arch' in its __metadata__: not a Trabecula model (see tb-nn.h)", path);
      return NULL;
    }
  TbNnArch a = { .arch = arch_name };
  if (!meta_int (meta, "dims", 2, &a.dims, path, error) || !meta_int (meta, "in_channels", 1, &a.in_channels, path, error)
      || !meta_int (meta, "features", 32, &a.features, path, error) || !meta_int (meta, "blocks", 4, &a.blocks, path, error)
      || !meta_int (meta, "depth", 3, &a.depth, path, error) || !meta_int (meta, "layers", 3, &a.layers, path, error)
      || !meta_int (meta, "scale", 1, &a.scale, path, error))
    return NULL;
  g_autoptr(TbNnNet) net = nn_net_alloc (&a);
  if (!nn_net_build (net, &a, error))
    return NULL;
  guint used = 0;
  for (guint i = 0; i < tb_nn_net_n_layers (net); i++)
    {
      TbNnLayer *l = tb_nn_net_get_layer (net, i);
      if (l->weight == NULL)
        continue;
      TbNnTensor *want[2] = { l->weight, l->bias };
      const char *suffix[2] = { ".weight", ".bias" };
      for (int k = 0; k < 2; k++)
        {
          g_autofree char *name = g_strconcat (l->name, suffix[k], NULL);
          const TbNnTensor *got = g_hash_table_lookup (tensors, name);
          if (got == NULL)
            {
              g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                           "%s: tensor %s is missing (architecture %s)", path, name, a.arch);
              return NULL;
            }
          if (tb_nn_tensor_size (got) != tb_nn_tensor_size (want[k]) || got->n != want[k]->n
              || (k == 0 && (got->c != want[k]->c || got->h != want[k]->h || got->w != want[k]->w
                             || got->ndim != want[k]->ndim)))
            {
              g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                           "%s: tensor %s has shape [%d,%d,%d,%d,%d], the architecture needs [%d,%d,%d,%d,%d]",
                           path, name, got->n, got->c, got->d, got->h, got->w,
                           want[k]->n, want[k]->c, want[k]->d, want[k]->h, want[k]->w);
              return NULL;
            }
          memcpy (want[k]->data, got->data, tb_nn_tensor_size (got) * sizeof (float));
          used++;
        }
    }
  if (used != g_hash_table_size (tensors))
    {
      /* name the first tensor (in sorted order) that the architecture does not use */
      g_autofree gpointer *names = (gpointer *) g_hash_table_get_keys_as_array (tensors, NULL);
      qsort (names, g_hash_table_size (tensors), sizeof (gpointer), compare_str);
      const char *extra = NULL;
      for (guint i = 0; i < g_hash_table_size (tensors) && extra == NULL; i++)
        {
          gboolean known = FALSE;
          for (guint j = 0; j < tb_nn_net_n_layers (net) && !known; j++)
            {
              TbNnLayer *l = tb_nn_net_get_layer (net, j);
              known = l->name != NULL && g_str_has_prefix (names[i], l->name)
                      && (strcmp ((char *) names[i] + strlen (l->name), ".weight") == 0
                          || strcmp ((char *) names[i] + strlen (l->name), ".bias") == 0);
            }
          if (!known)
            extra = names[i];
        }
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                   "%s: tensor %s is not part of architecture %s at scale %d: the metadata (scale, blocks, "
                   "features) does not describe these tensors", path, extra != NULL ? extra : "?", a.arch, a.scale);
      return NULL;
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, meta);
  while (g_hash_table_iter_next (&it, &k, &v))
    tb_nn_net_set_meta (net, k, v);
  return g_steal_pointer (&net);
}
