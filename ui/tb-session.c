/* tb-session.c — session files: JSON with the input by path and checksum, the calibration, VOIs,
 * load cases, settings, and results as volume files next to the session (by relative path, with
 * their checksum and geometry, since a TIFF does not keep the world origin). */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include "tb-document.h"

#define SESSION_FORMAT 1

static JsonNode *
doubles_node (const double *v, int n)
{
  JsonArray *a = json_array_new ();
  for (int i = 0; i < n; i++)
    json_array_add_double_element (a, v[i]);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, a);
  return node;
}

static gboolean
read_doubles (JsonObject *o, const char *member, double *out, guint n, GError **error)
{
  JsonNode *node = json_object_get_member (o, member);
  JsonArray *a = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (a == NULL || json_array_get_length (a) != n)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                   _("The session's “%s” is not a list of %u numbers"), member, n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    out[i] = json_array_get_double_element (a, i);
  return TRUE;
}

/* Writes v as results_dir/name through save_volume and describes it. */
static JsonNode *
save_result (const TbVolume *v, const char *dir, const char *name, TbSaveVolumeFunc save_volume, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (!save_volume (v, path, error))
    return NULL;
  g_autofree char *sum = tb_checksum_file (path, error);
  if (sum == NULL)
    return NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  g_autofree char *dirname = g_path_get_basename (dir);
  g_autofree char *rel = g_build_filename (dirname, name, NULL);
  json_builder_add_string_value (b, rel);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, sum);
  json_builder_set_member_name (b, "spacing");
  json_builder_add_value (b, doubles_node (v->spacing, 3));
  json_builder_set_member_name (b, "origin");
  json_builder_add_value (b, doubles_node (v->origin, 3));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
tb_document_save_session (TbDocument *doc, const char *path, TbSaveVolumeFunc save_volume, GError **error)
{
  g_return_val_if_fail (TB_IS_DOCUMENT (doc), FALSE);
  TbVolume *image = tb_document_get_image (doc);
  if (image == NULL)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, _("There is nothing to save: open an image first"));
      return FALSE;
    }

  /* Results go to a folder beside the session: NAME.results/ */
  g_autofree char *results_dir = g_strconcat (path, ".results", NULL);
  if (g_mkdir_with_parents (results_dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), _("Could not create the folder %s: %s"),
                   results_dir, g_strerror (e));
      return FALSE;
    }

  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "trabecula-session");
  json_builder_add_int_value (b, SESSION_FORMAT);

  json_builder_set_member_name (b, "input");
  json_builder_begin_object (b);
  g_autofree char *vsum = tb_checksum_volume (image);
  if (tb_document_get_phantom (doc) != NULL)
    {
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, "demo");
      json_builder_set_member_name (b, "spacing");
      json_builder_add_double_value (b, tb_document_get_demo_spacing (doc));
    }
  else
    {
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, "file");
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, tb_document_get_source_path (doc));
      /* the file's checksum (a folder of slices: none; its voxels' checksum below covers it) */
      g_autofree char *sum = g_strdup (tb_document_get_source_checksum (doc));
      const char *src = tb_document_get_source_path (doc);
      if (sum == NULL && src != NULL && g_file_test (src, G_FILE_TEST_IS_REGULAR))
        sum = tb_checksum_file (src, NULL);
      if (sum != NULL)
        {
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, sum);
        }
    }
  json_builder_set_member_name (b, "voxels-sha256");
  json_builder_add_string_value (b, vsum);
  json_builder_end_object (b);

  double a, bb;
  tb_document_get_calibration (doc, &a, &bb);
  json_builder_set_member_name (b, "calibration");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "done");
  json_builder_add_boolean_value (b, tb_document_is_calibrated (doc));
  json_builder_set_member_name (b, "a");
  json_builder_add_double_value (b, a);
  json_builder_set_member_name (b, "b");
  json_builder_add_double_value (b, bb);
  json_builder_end_object (b);

  double cursor[3];
  tb_document_get_cursor (doc, cursor);
  json_builder_set_member_name (b, "cursor");
  json_builder_add_value (b, doubles_node (cursor, 3));

  json_builder_set_member_name (b, "vois");
  json_builder_begin_array (b);
  for (guint i = 0; i < tb_document_get_n_vois (doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (doc, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, voi->name);
      json_builder_set_member_name (b, "centre");
      json_builder_add_value (b, doubles_node (voi->centre, 3));
      json_builder_set_member_name (b, "size");
      json_builder_add_value (b, doubles_node (voi->size, 3));
      json_builder_set_member_name (b, "rgba");
      json_builder_add_value (b, doubles_node (voi->rgba, 4));
      json_builder_set_member_name (b, "results");
      json_builder_begin_object (b);
      for (TbMethod m = 0; m < TB_N_METHODS; m++)
        {
          TbVolume *r = tb_document_get_result (doc, voi->id, m);
          if (r == NULL)
            continue;
          g_autofree char *name = g_strdup_printf ("voi%u-%s.tif", i + 1, tb_method_get_name (m));
          JsonNode *node = save_result (r, results_dir, name, save_volume, error);
          if (node == NULL)
            return FALSE;
          json_builder_set_member_name (b, tb_method_get_name (m));
          json_builder_add_value (b, node);
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "measures");
      json_builder_begin_object (b);
      static const char *quantities[] = { "bv_tv", "tb_th", "tb_sp", "tb_n", "smi", "conn_d", "da",
                                          "stiffness", "ssim", "psnr" };
      for (TbMethod m = 0; m < TB_N_METHODS; m++)
        for (guint q = 0; q < G_N_ELEMENTS (quantities); q++)
          {
            double v = tb_document_get_measure (doc, voi->id, m, quantities[q]);
            if (isnan (v))
              continue;
            g_autofree char *key = g_strdup_printf ("%s/%s", tb_method_get_name (m), quantities[q]);
            json_builder_set_member_name (b, key);
            json_builder_add_double_value (b, v);
          }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "load-cases");
  json_builder_begin_array (b);
  for (guint c = 0; c < tb_document_get_n_load_cases (doc); c++)
    {
      const TbDocLoadCase *lc = tb_document_get_load_case (doc, c);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, lc->name);
      json_builder_set_member_name (b, "weight");
      json_builder_add_double_value (b, lc->weight);
      json_builder_set_member_name (b, "loads");
      json_builder_begin_array (b);
      for (guint l = 0; l < lc->loads->len; l++)
        {
          const TbDocLoad *load = &g_array_index (lc->loads, TbDocLoad, l);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "kind");
          json_builder_add_string_value (b, load->kind == TB_LOAD_FORCE ? "force" : "support");
          json_builder_set_member_name (b, "point");
          json_builder_add_value (b, doubles_node (load->point, 3));
          json_builder_set_member_name (b, "vector");
          json_builder_add_value (b, doubles_node (load->vector, 3));
          json_builder_set_member_name (b, "radius");
          json_builder_add_double_value (b, load->radius);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  /* Derived volumes of the whole image: the mask and the density, so reopening needs no rerun. */
  json_builder_set_member_name (b, "volumes");
  json_builder_begin_object (b);
  if (tb_document_get_density (doc) != NULL)
    {
      JsonNode *node = save_result (tb_document_get_density (doc), results_dir, "density.tif", save_volume, error);
      if (node == NULL)
        return FALSE;
      json_builder_set_member_name (b, "density");
      json_builder_add_value (b, node);
    }
  if (tb_document_get_mask (doc) != NULL)
    {
      g_autoptr(TbVolume) mv = tb_mask_to_volume (tb_document_get_mask (doc), error);
      if (mv == NULL)
        return FALSE;
      memcpy (mv->origin, image->origin, sizeof mv->origin);
      JsonNode *node = save_result (mv, results_dir, "mask.tif", save_volume, error);
      if (node == NULL)
        return FALSE;
      json_builder_set_member_name (b, "mask");
      json_builder_add_value (b, node);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "settings");
  json_builder_begin_object (b);
  static const char *setting_keys[] = { "cal-a", "cal-b", "seg-sigma", "fe-e0", "fe-body-scale", "to-upscale",
                                        "to-iterations", "to-penal", "to-rmin", "to-eps1", "to-eps2",
                                        "nn-upscale", "measure-threshold", "bmd-min", "bmd-max" };
  for (guint i = 0; i < G_N_ELEMENTS (setting_keys); i++)
    {
      double v = tb_document_get_setting (doc, setting_keys[i], NAN);
      if (isnan (v))
        continue;
      json_builder_set_member_name (b, setting_keys[i]);
      json_builder_add_double_value (b, v);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "texts");
  json_builder_begin_object (b);
  if (tb_document_get_text (doc, "nn-model") != NULL)
    {
      json_builder_set_member_name (b, "nn-model");
      json_builder_add_string_value (b, tb_document_get_text (doc, "nn-model"));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);

  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  /* g_file_set_contents writes a temporary file and renames it: nothing half-written. */
  return g_file_set_contents (path, text, -1, error);
}

JsonNode *
tb_session_read (const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                   _("%s is not a Trabecula session: %s"), path, local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (o == NULL || json_object_get_int_member_with_default (o, "trabecula-session", 0) != SESSION_FORMAT
      || !json_object_has_member (o, "input"))
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                   _("%s is not a Trabecula session (format %d expected)"), path, SESSION_FORMAT);
      return NULL;
    }
  return json_node_copy (root);
}

/* A result file: present, unchanged, and read with its geometry. */
static TbVolume *
load_result (JsonObject *r, const char *session_dir, TbLoadVolumeFunc load_volume, GError **error)
{
  const char *rel = json_object_get_string_member_with_default (r, "path", NULL);
  const char *sum = json_object_get_string_member_with_default (r, "sha256", NULL);
  if (rel == NULL)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID, _("A result in the session has no path"));
      return NULL;
    }
  g_autofree char *path = g_build_filename (session_dir, rel, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_MOVED,
                   _("The session's result file %s is missing: move it back beside the session, or rerun that step"), path);
      return NULL;
    }
  g_autofree char *actual = tb_checksum_file (path, error);
  if (actual == NULL)
    return NULL;
  if (sum != NULL && g_strcmp0 (sum, actual) != 0)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_MOVED,
                   _("The result file %s changed since the session was saved: rerun that step"), path);
      return NULL;
    }
  TbVolume *v = load_volume (path, error);
  if (v == NULL)
    return NULL;
  if (!read_doubles (r, "spacing", v->spacing, 3, error) || !read_doubles (r, "origin", v->origin, 3, error))
    {
      tb_volume_unref (v);
      return NULL;
    }
  return v;
}

gboolean
tb_document_apply_session (TbDocument *doc, JsonNode *session, const char *session_path,
                           TbLoadVolumeFunc load_volume, GError **error)
{
  g_return_val_if_fail (TB_IS_DOCUMENT (doc), FALSE);
  JsonObject *o = json_node_get_object (session);
  TbVolume *image = tb_document_get_image (doc);
  g_return_val_if_fail (image != NULL, FALSE);
  g_autofree char *dir = g_path_get_dirname (session_path);

  JsonObject *input = json_object_get_object_member (o, "input");
  const char *vsum = json_object_get_string_member_with_default (input, "voxels-sha256", NULL);
  g_autofree char *actual = tb_checksum_volume (image);
  if (vsum != NULL && g_strcmp0 (vsum, actual) != 0)
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_MOVED,
                   _("The image differs from the one this session was saved with"));
      return FALSE;
    }

  /* Read everything first, so a failure leaves the document as it was. */
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) tb_volume_unref);
  g_autoptr(GArray) result_keys = g_array_new (FALSE, FALSE, sizeof (guint));  /* voi index * 16 + method */
  JsonArray *vois = json_object_has_member (o, "vois") ? json_object_get_array_member (o, "vois") : NULL;
  for (guint i = 0; vois != NULL && i < json_array_get_length (vois); i++)
    {
      JsonObject *vo = json_array_get_object_element (vois, i);
      JsonObject *ro = json_object_has_member (vo, "results") ? json_object_get_object_member (vo, "results") : NULL;
      for (TbMethod m = 0; ro != NULL && m < TB_N_METHODS; m++)
        if (json_object_has_member (ro, tb_method_get_name (m)))
          {
            TbVolume *v = load_result (json_object_get_object_member (ro, tb_method_get_name (m)), dir, load_volume, error);
            if (v == NULL)
              return FALSE;
            g_ptr_array_add (results, v);
            guint key = i * 16 + m;
            g_array_append_val (result_keys, key);
          }
    }
  g_autoptr(TbVolume) density = NULL;
  g_autoptr(TbVolume) mask_volume = NULL;
  JsonObject *vol = json_object_has_member (o, "volumes") ? json_object_get_object_member (o, "volumes") : NULL;
  if (vol != NULL && json_object_has_member (vol, "density"))
    if ((density = load_result (json_object_get_object_member (vol, "density"), dir, load_volume, error)) == NULL)
      return FALSE;
  if (vol != NULL && json_object_has_member (vol, "mask"))
    if ((mask_volume = load_result (json_object_get_object_member (vol, "mask"), dir, load_volume, error)) == NULL)
      return FALSE;
  if ((density != NULL && !tb_volume_same_grid (density, image))
      || (mask_volume != NULL && (mask_volume->nx != image->nx || mask_volume->ny != image->ny || mask_volume->nz != image->nz)))
    {
      g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                   _("The session's density or mask does not match the image's grid"));
      return FALSE;
    }

  /* Apply */
  JsonObject *cal = json_object_get_object_member (o, "calibration");
  if (cal != NULL && json_object_get_boolean_member_with_default (cal, "done", FALSE))
    tb_document_set_calibration (doc, json_object_get_double_member (cal, "a"), json_object_get_double_member (cal, "b"));
  JsonObject *settings = json_object_has_member (o, "settings") ? json_object_get_object_member (o, "settings") : NULL;
  if (settings != NULL)
    {
      g_autoptr(GList) members = json_object_get_members (settings);
      for (GList *l = members; l != NULL; l = l->next)
        tb_document_set_setting (doc, l->data, json_object_get_double_member (settings, l->data));
    }
  JsonObject *texts = json_object_has_member (o, "texts") ? json_object_get_object_member (o, "texts") : NULL;
  if (texts != NULL && json_object_has_member (texts, "nn-model"))
    tb_document_set_text (doc, "nn-model", json_object_get_string_member (texts, "nn-model"));
  if (density != NULL)
    tb_document_set_density (doc, density);
  if (mask_volume != NULL)
    {
      g_autoptr(TbMask) mask = tb_mask_new_like_volume (image, error);
      if (mask == NULL)
        return FALSE;
      gsize n = tb_mask_n_voxels (mask);
      for (gsize i = 0; i < n; i++)
        mask->data[i] = mask_volume->data[i] > 0.5f;
      tb_document_set_mask (doc, mask);
    }

  guint first_id = 0;
  for (guint i = 0; vois != NULL && i < json_array_get_length (vois); i++)
    {
      JsonObject *vo = json_array_get_object_element (vois, i);
      double centre[3], size[3], rgba[4];
      if (!read_doubles (vo, "centre", centre, 3, error) || !read_doubles (vo, "size", size, 3, error)
          || !read_doubles (vo, "rgba", rgba, 4, error))
        return FALSE;
      guint id = tb_document_add_voi (doc, json_object_get_string_member_with_default (vo, "name", NULL), centre, size);
      if (first_id == 0)
        first_id = id;
      tb_document_set_voi_color (doc, id, rgba);
      for (guint r = 0; r < result_keys->len; r++)
        if (g_array_index (result_keys, guint, r) / 16 == i)
          tb_document_set_result (doc, id, g_array_index (result_keys, guint, r) % 16, g_ptr_array_index (results, r));
      JsonObject *mo = json_object_has_member (vo, "measures") ? json_object_get_object_member (vo, "measures") : NULL;
      if (mo != NULL)
        {
          g_autoptr(GList) members = json_object_get_members (mo);
          for (GList *l = members; l != NULL; l = l->next)
            {
              g_auto(GStrv) parts = g_strsplit (l->data, "/", 2);
              for (TbMethod m = 0; parts[1] != NULL && m < TB_N_METHODS; m++)
                if (g_strcmp0 (parts[0], tb_method_get_name (m)) == 0)
                  tb_document_set_measure (doc, id, m, parts[1], json_object_get_double_member (mo, l->data));
            }
        }
    }

  JsonArray *cases = json_object_has_member (o, "load-cases") ? json_object_get_array_member (o, "load-cases") : NULL;
  for (guint c = 0; cases != NULL && c < json_array_get_length (cases); c++)
    {
      JsonObject *co = json_array_get_object_element (cases, c);
      guint ci = tb_document_add_load_case (doc, json_object_get_string_member_with_default (co, "name", _("Load case")),
                                            json_object_get_double_member_with_default (co, "weight", 1));
      JsonArray *loads = json_object_get_array_member (co, "loads");
      for (guint l = 0; loads != NULL && l < json_array_get_length (loads); l++)
        {
          JsonObject *lo = json_array_get_object_element (loads, l);
          TbDocLoad load = { 0 };
          load.kind = g_strcmp0 (json_object_get_string_member_with_default (lo, "kind", "force"), "support") == 0
                      ? TB_LOAD_SUPPORT : TB_LOAD_FORCE;
          if (!read_doubles (lo, "point", load.point, 3, error) || !read_doubles (lo, "vector", load.vector, 3, error))
            return FALSE;
          load.radius = json_object_get_double_member_with_default (lo, "radius", 0);
          tb_document_add_load (doc, ci, &load);
        }
    }
  double cursor[3];
  if (json_object_has_member (o, "cursor") && read_doubles (o, "cursor", cursor, 3, NULL))
    tb_document_set_cursor (doc, cursor);
  /* Reopening is not an edit: start with an empty history. */
  tb_document_clear_history (doc);
  return TRUE;
}
