/* tb-document.c — the session's state, its undo stack and its signals. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-document.h"

G_DEFINE_QUARK (tb-document-error-quark, tb_document_error)

/* What undo restores: the editable part of the document (VOIs and load cases). */
typedef struct {
  char *label;
  GPtrArray *vois;        /* TbDocVoi * */
  GPtrArray *load_cases;  /* TbDocLoadCase * */
} TbEditState;

struct _TbDocument
{
  GObject parent_instance;

  TbVolume *image;
  char *source_path;
  char *source_checksum;
  gpointer phantom;
  GDestroyNotify phantom_free;
  double demo_spacing;
  double cal_a, cal_b;        /* BMD = a + b HU */
  gboolean calibrated;
  TbVolume *density;
  TbMask *mask;
  TbMask *truth_mask;
  gboolean fe_done;
  char *fe_summary;
  double cursor[3];

  GPtrArray *vois;
  GPtrArray *load_cases;
  guint next_voi_id;
  guint selected_voi;

  GPtrArray *undo;        /* TbEditState * */
  GPtrArray *redo;
  TbEditState *pending;   /* between begin_edit and end_edit */

  GHashTable *results;    /* "id/method" -> TbVolume * */
  GHashTable *measures;   /* "id/method/quantity" -> double * */
  GHashTable *settings;   /* key -> double * */
  char *notes[8];         /* per pipeline step */
  GHashTable *texts;      /* key -> string */
};

G_DEFINE_FINAL_TYPE (TbDocument, tb_document, G_TYPE_OBJECT)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const char *method_names[TB_N_METHODS] = { "clinical", "trilinear", "to", "nn", "truth" };

const char *
tb_method_get_name (TbMethod method)
{
  g_return_val_if_fail (method < TB_N_METHODS, NULL);
  return method_names[method];
}

const char *
tb_method_get_label (TbMethod method)
{
  switch (method)
    {
    case TB_METHOD_CLINICAL: return _("Clinical (nearest)");
    case TB_METHOD_TRILINEAR: return _("Clinical (trilinear)");
    case TB_METHOD_TO: return _("Topology optimization");
    case TB_METHOD_NN: return _("Neural network");
    case TB_METHOD_TRUTH: return _("Phantom truth");
    default: return NULL;
    }
}

const char *
tb_method_get_short_label (TbMethod method)
{
  switch (method)
    {
    case TB_METHOD_CLINICAL: return _("Clinical");
    case TB_METHOD_TRILINEAR: return _("Trilinear");
    case TB_METHOD_TO: return C_("method", "TO");
    case TB_METHOD_NN: return C_("method", "NN");
    case TB_METHOD_TRUTH: return _("Truth");
    default: return NULL;
    }
}

static void
emit_changed (TbDocument *doc, TbChange what)
{
  g_signal_emit (doc, signals[CHANGED], 0, (guint) what);
}

/* Copies for snapshots */

static TbDocVoi *
voi_copy (const TbDocVoi *v)
{
  TbDocVoi *c = g_new (TbDocVoi, 1);
  *c = *v;
  c->name = g_strdup (v->name);
  return c;
}

static void
voi_free (TbDocVoi *v)
{
  g_free (v->name);
  g_free (v);
}

static TbDocLoadCase *
load_case_new (const char *name, double weight)
{
  TbDocLoadCase *lc = g_new0 (TbDocLoadCase, 1);
  lc->name = g_strdup (name);
  lc->weight = weight;
  lc->loads = g_array_new (FALSE, TRUE, sizeof (TbDocLoad));
  return lc;
}

static TbDocLoadCase *
load_case_copy (const TbDocLoadCase *lc)
{
  TbDocLoadCase *c = load_case_new (lc->name, lc->weight);
  g_array_append_vals (c->loads, lc->loads->data, lc->loads->len);
  return c;
}

static void
load_case_free (TbDocLoadCase *lc)
{
  g_free (lc->name);
  g_array_unref (lc->loads);
  g_free (lc);
}

static GPtrArray *
copy_array (GPtrArray *a, GCopyFunc copy, GDestroyNotify free_func)
{
  GPtrArray *c = g_ptr_array_new_with_free_func (free_func);
  for (guint i = 0; i < a->len; i++)
    g_ptr_array_add (c, copy (g_ptr_array_index (a, i), NULL));
  return c;
}

static gpointer voi_copy_func (gconstpointer p, gpointer d) { return voi_copy (p); }
static gpointer load_case_copy_func (gconstpointer p, gpointer d) { return load_case_copy (p); }

static TbEditState *
edit_state_capture (TbDocument *doc, const char *label)
{
  TbEditState *s = g_new0 (TbEditState, 1);
  s->label = g_strdup (label);
  s->vois = copy_array (doc->vois, voi_copy_func, (GDestroyNotify) voi_free);
  s->load_cases = copy_array (doc->load_cases, load_case_copy_func, (GDestroyNotify) load_case_free);
  return s;
}

static void
edit_state_free (TbEditState *s)
{
  g_free (s->label);
  g_ptr_array_unref (s->vois);
  g_ptr_array_unref (s->load_cases);
  g_free (s);
}

/* Replaces the live state by the snapshot's contents (the snapshot keeps its own copies). */
static void
edit_state_restore (TbDocument *doc, TbEditState *s)
{
  g_ptr_array_unref (doc->vois);
  g_ptr_array_unref (doc->load_cases);
  doc->vois = copy_array (s->vois, voi_copy_func, (GDestroyNotify) voi_free);
  doc->load_cases = copy_array (s->load_cases, load_case_copy_func, (GDestroyNotify) load_case_free);
  if (tb_document_find_voi (doc, doc->selected_voi) == NULL)
    doc->selected_voi = 0;
}

/* Every edit calls this before changing anything: one undo step unless a drag is in progress. */
static void
record_step (TbDocument *doc, const char *label)
{
  if (doc->pending != NULL)
    return;
  g_ptr_array_add (doc->undo, edit_state_capture (doc, label));
  g_ptr_array_set_size (doc->redo, 0);
}

static void
tb_document_finalize (GObject *object)
{
  TbDocument *doc = TB_DOCUMENT (object);

  g_clear_pointer (&doc->image, tb_volume_unref);
  g_clear_pointer (&doc->density, tb_volume_unref);
  g_clear_pointer (&doc->mask, tb_mask_unref);
  g_clear_pointer (&doc->truth_mask, tb_mask_unref);
  if (doc->phantom != NULL && doc->phantom_free != NULL)
    doc->phantom_free (doc->phantom);
  g_free (doc->source_path);
  g_free (doc->source_checksum);
  g_free (doc->fe_summary);
  g_ptr_array_unref (doc->vois);
  g_ptr_array_unref (doc->load_cases);
  g_ptr_array_unref (doc->undo);
  g_ptr_array_unref (doc->redo);
  g_clear_pointer (&doc->pending, edit_state_free);
  g_hash_table_unref (doc->results);
  g_hash_table_unref (doc->measures);
  g_hash_table_unref (doc->settings);
  g_hash_table_unref (doc->texts);
  for (guint i = 0; i < G_N_ELEMENTS (doc->notes); i++)
    g_free (doc->notes[i]);

  G_OBJECT_CLASS (tb_document_parent_class)->finalize (object);
}

static void
tb_document_class_init (TbDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tb_document_finalize;

  /* TbDocument::changed (doc, TbChange what) */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
tb_document_init (TbDocument *doc)
{
  doc->vois = g_ptr_array_new_with_free_func ((GDestroyNotify) voi_free);
  doc->load_cases = g_ptr_array_new_with_free_func ((GDestroyNotify) load_case_free);
  doc->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) edit_state_free);
  doc->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) edit_state_free);
  doc->results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) tb_volume_unref);
  doc->measures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  doc->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  doc->texts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  doc->next_voi_id = 1;
  doc->cal_b = 1.0;
}

TbDocument *
tb_document_new (void)
{
  return g_object_new (TB_TYPE_DOCUMENT, NULL);
}

/* Volumes */

void
tb_document_set_image (TbDocument *doc, TbVolume *hu, const char *source_path, const char *source_checksum)
{
  g_return_if_fail (TB_IS_DOCUMENT (doc));

  if (hu != NULL)
    tb_volume_ref (hu);
  g_clear_pointer (&doc->image, tb_volume_unref);
  doc->image = hu;
  g_free (doc->source_path);
  doc->source_path = g_strdup (source_path);
  g_free (doc->source_checksum);
  doc->source_checksum = g_strdup (source_checksum);
  /* A new image invalidates everything derived from the old one. */
  g_clear_pointer (&doc->density, tb_volume_unref);
  g_clear_pointer (&doc->mask, tb_mask_unref);
  g_clear_pointer (&doc->truth_mask, tb_mask_unref);
  if (doc->phantom != NULL && doc->phantom_free != NULL)
    doc->phantom_free (doc->phantom);
  doc->phantom = NULL;
  doc->calibrated = FALSE;
  doc->cal_a = 0;
  doc->cal_b = 1;
  doc->fe_done = FALSE;
  g_hash_table_remove_all (doc->results);
  g_hash_table_remove_all (doc->measures);
  g_ptr_array_set_size (doc->vois, 0);
  g_ptr_array_set_size (doc->load_cases, 0);
  g_ptr_array_set_size (doc->undo, 0);
  g_ptr_array_set_size (doc->redo, 0);
  doc->selected_voi = 0;
  for (guint i = 0; i < G_N_ELEMENTS (doc->notes); i++)
    g_clear_pointer (&doc->notes[i], g_free);
  if (hu != NULL)
    {
      /* Start the crosshair at the centre of the image. */
      tb_volume_voxel_to_world (hu, (hu->nx - 1) / 2.0, (hu->ny - 1) / 2.0, (hu->nz - 1) / 2.0, doc->cursor);
    }
  emit_changed (doc, TB_CHANGE_VOLUMES | TB_CHANGE_VOIS | TB_CHANGE_LOADS | TB_CHANGE_RESULTS
                | TB_CHANGE_CURSOR | TB_CHANGE_HISTORY);
}

TbVolume *tb_document_get_image (TbDocument *doc) { return doc->image; }
const char *tb_document_get_source_path (TbDocument *doc) { return doc->source_path; }
const char *tb_document_get_source_checksum (TbDocument *doc) { return doc->source_checksum; }

void
tb_document_set_demo (TbDocument *doc, gpointer phantom, GDestroyNotify free_func, double spacing)
{
  if (doc->phantom != NULL && doc->phantom_free != NULL)
    doc->phantom_free (doc->phantom);
  doc->phantom = phantom;
  doc->phantom_free = free_func;
  doc->demo_spacing = spacing;
}

gpointer tb_document_get_phantom (TbDocument *doc) { return doc->phantom; }
double tb_document_get_demo_spacing (TbDocument *doc) { return doc->demo_spacing; }

void
tb_document_set_calibration (TbDocument *doc, double a, double b)
{
  g_return_if_fail (TB_IS_DOCUMENT (doc));
  g_return_if_fail (b != 0.0);
  doc->cal_a = a;
  doc->cal_b = b;
  doc->calibrated = TRUE;
  emit_changed (doc, TB_CHANGE_VOLUMES);
}

void
tb_document_get_calibration (TbDocument *doc, double *a, double *b)
{
  *a = doc->cal_a;
  *b = doc->cal_b;
}

gboolean tb_document_is_calibrated (TbDocument *doc) { return doc->calibrated; }

void
tb_document_set_density (TbDocument *doc, TbVolume *rho)
{
  if (rho != NULL)
    tb_volume_ref (rho);
  g_clear_pointer (&doc->density, tb_volume_unref);
  doc->density = rho;
  emit_changed (doc, TB_CHANGE_VOLUMES);
}

TbVolume *tb_document_get_density (TbDocument *doc) { return doc->density; }

void
tb_document_set_mask (TbDocument *doc, TbMask *mask)
{
  if (mask != NULL)
    tb_mask_ref (mask);
  g_clear_pointer (&doc->mask, tb_mask_unref);
  doc->mask = mask;
  emit_changed (doc, TB_CHANGE_VOLUMES);
}

TbMask *tb_document_get_mask (TbDocument *doc) { return doc->mask; }

void
tb_document_set_truth_mask (TbDocument *doc, TbMask *mask)
{
  if (mask != NULL)
    tb_mask_ref (mask);
  g_clear_pointer (&doc->truth_mask, tb_mask_unref);
  doc->truth_mask = mask;
}

TbMask *tb_document_get_truth_mask (TbDocument *doc) { return doc->truth_mask; }

void
tb_document_set_fe_done (TbDocument *doc, gboolean done, const char *summary)
{
  doc->fe_done = done;
  g_free (doc->fe_summary);
  doc->fe_summary = g_strdup (summary);
  emit_changed (doc, TB_CHANGE_RESULTS);
}

gboolean tb_document_get_fe_done (TbDocument *doc) { return doc->fe_done; }

void
tb_document_set_cursor (TbDocument *doc, const double world[3])
{
  if (memcmp (doc->cursor, world, sizeof doc->cursor) == 0)
    return;
  memcpy (doc->cursor, world, sizeof doc->cursor);
  emit_changed (doc, TB_CHANGE_CURSOR);
}

void
tb_document_get_cursor (TbDocument *doc, double world[3])
{
  memcpy (world, doc->cursor, sizeof doc->cursor);
}

/* VOIs */

guint tb_document_get_n_vois (TbDocument *doc) { return doc->vois->len; }

const TbDocVoi *
tb_document_get_voi (TbDocument *doc, guint index)
{
  g_return_val_if_fail (index < doc->vois->len, NULL);
  return g_ptr_array_index (doc->vois, index);
}

static TbDocVoi *
find_voi (TbDocument *doc, guint id)
{
  for (guint i = 0; i < doc->vois->len; i++)
    {
      TbDocVoi *v = g_ptr_array_index (doc->vois, i);
      if (v->id == id)
        return v;
    }
  return NULL;
}

const TbDocVoi *tb_document_find_voi (TbDocument *doc, guint id) { return find_voi (doc, id); }

const TbDocVoi *
tb_document_find_voi_by_name (TbDocument *doc, const char *name)
{
  for (guint i = 0; i < doc->vois->len; i++)
    {
      TbDocVoi *v = g_ptr_array_index (doc->vois, i);
      if (g_strcmp0 (v->name, name) == 0)
        return v;
    }
  return NULL;
}

/* A palette that stays apart from the grey image and the mask's colour. */
static const double voi_palette[][3] = {
  { 0.21, 0.52, 0.89 }, { 0.96, 0.76, 0.07 }, { 0.57, 0.25, 0.67 },
  { 0.18, 0.76, 0.49 }, { 0.90, 0.38, 0.00 }, { 0.75, 0.11, 0.16 },
};

guint
tb_document_add_voi (TbDocument *doc, const char *name, const double centre[3], const double size[3])
{
  g_return_val_if_fail (TB_IS_DOCUMENT (doc), 0);
  g_return_val_if_fail (size[0] > 0 && size[1] > 0 && size[2] > 0, 0);

  record_step (doc, _("Add VOI"));
  TbDocVoi *v = g_new0 (TbDocVoi, 1);
  v->id = doc->next_voi_id++;
  v->name = name != NULL ? g_strdup (name) : g_strdup_printf (_("VOI %u"), v->id);
  memcpy (v->centre, centre, sizeof v->centre);
  memcpy (v->size, size, sizeof v->size);
  const double *c = voi_palette[(v->id - 1) % G_N_ELEMENTS (voi_palette)];
  v->rgba[0] = c[0]; v->rgba[1] = c[1]; v->rgba[2] = c[2]; v->rgba[3] = 1.0;
  g_ptr_array_add (doc->vois, v);
  doc->selected_voi = v->id;
  emit_changed (doc, TB_CHANGE_VOIS | TB_CHANGE_HISTORY);
  return v->id;
}

void
tb_document_set_voi_box (TbDocument *doc, guint id, const double centre[3], const double size[3])
{
  TbDocVoi *v = find_voi (doc, id);
  g_return_if_fail (v != NULL);
  g_return_if_fail (size[0] > 0 && size[1] > 0 && size[2] > 0);
  if (memcmp (v->centre, centre, sizeof v->centre) == 0 && memcmp (v->size, size, sizeof v->size) == 0)
    return;
  record_step (doc, _("Change VOI"));
  v = find_voi (doc, id);
  memcpy (v->centre, centre, sizeof v->centre);
  memcpy (v->size, size, sizeof v->size);
  emit_changed (doc, TB_CHANGE_VOIS | TB_CHANGE_HISTORY);
}

void
tb_document_set_voi_name (TbDocument *doc, guint id, const char *name)
{
  TbDocVoi *v = find_voi (doc, id);
  g_return_if_fail (v != NULL && name != NULL);
  if (g_strcmp0 (v->name, name) == 0)
    return;
  record_step (doc, _("Rename VOI"));
  g_free (v->name);
  v->name = g_strdup (name);
  emit_changed (doc, TB_CHANGE_VOIS | TB_CHANGE_HISTORY);
}

void
tb_document_set_voi_color (TbDocument *doc, guint id, const double rgba[4])
{
  TbDocVoi *v = find_voi (doc, id);
  g_return_if_fail (v != NULL);
  record_step (doc, _("Change VOI colour"));
  memcpy (v->rgba, rgba, sizeof v->rgba);
  emit_changed (doc, TB_CHANGE_VOIS | TB_CHANGE_HISTORY);
}

void
tb_document_remove_voi (TbDocument *doc, guint id)
{
  TbDocVoi *v = find_voi (doc, id);
  g_return_if_fail (v != NULL);
  record_step (doc, _("Delete VOI"));
  g_ptr_array_remove (doc->vois, v);
  if (doc->selected_voi == id)
    doc->selected_voi = 0;
  emit_changed (doc, TB_CHANGE_VOIS | TB_CHANGE_HISTORY);
}

guint tb_document_get_selected_voi (TbDocument *doc) { return doc->selected_voi; }

void
tb_document_select_voi (TbDocument *doc, guint id)
{
  if (doc->selected_voi == id)
    return;
  doc->selected_voi = id;
  emit_changed (doc, TB_CHANGE_VOIS);
}

/* Load cases */

guint tb_document_get_n_load_cases (TbDocument *doc) { return doc->load_cases->len; }

const TbDocLoadCase *
tb_document_get_load_case (TbDocument *doc, guint index)
{
  g_return_val_if_fail (index < doc->load_cases->len, NULL);
  return g_ptr_array_index (doc->load_cases, index);
}

guint
tb_document_add_load_case (TbDocument *doc, const char *name, double weight)
{
  record_step (doc, _("Add load case"));
  g_ptr_array_add (doc->load_cases, load_case_new (name, weight));
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
  return doc->load_cases->len - 1;
}

void
tb_document_set_load_case_weight (TbDocument *doc, guint index, double weight)
{
  g_return_if_fail (index < doc->load_cases->len && weight >= 0);
  TbDocLoadCase *lc = g_ptr_array_index (doc->load_cases, index);
  if (lc->weight == weight)
    return;
  record_step (doc, _("Change load-case weight"));
  lc = g_ptr_array_index (doc->load_cases, index);
  lc->weight = weight;
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

void
tb_document_remove_load_case (TbDocument *doc, guint index)
{
  g_return_if_fail (index < doc->load_cases->len);
  record_step (doc, _("Delete load case"));
  g_ptr_array_remove_index (doc->load_cases, index);
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

void
tb_document_add_load (TbDocument *doc, guint case_index, const TbDocLoad *load)
{
  g_return_if_fail (case_index < doc->load_cases->len);
  record_step (doc, load->kind == TB_LOAD_FORCE ? _("Add force") : _("Add support"));
  TbDocLoadCase *lc = g_ptr_array_index (doc->load_cases, case_index);
  g_array_append_val (lc->loads, *load);
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

void
tb_document_set_load (TbDocument *doc, guint case_index, guint load_index, const TbDocLoad *load)
{
  g_return_if_fail (case_index < doc->load_cases->len);
  TbDocLoadCase *lc = g_ptr_array_index (doc->load_cases, case_index);
  g_return_if_fail (load_index < lc->loads->len);
  if (memcmp (&g_array_index (lc->loads, TbDocLoad, load_index), load, sizeof *load) == 0)
    return;
  record_step (doc, _("Change load"));
  lc = g_ptr_array_index (doc->load_cases, case_index);
  g_array_index (lc->loads, TbDocLoad, load_index) = *load;
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

void
tb_document_remove_load (TbDocument *doc, guint case_index, guint load_index)
{
  g_return_if_fail (case_index < doc->load_cases->len);
  TbDocLoadCase *lc = g_ptr_array_index (doc->load_cases, case_index);
  g_return_if_fail (load_index < lc->loads->len);
  record_step (doc, _("Delete load"));
  lc = g_ptr_array_index (doc->load_cases, case_index);
  g_array_remove_index (lc->loads, load_index);
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

void
tb_document_clear_load_cases (TbDocument *doc)
{
  if (doc->load_cases->len == 0)
    return;
  record_step (doc, _("Clear load cases"));
  g_ptr_array_set_size (doc->load_cases, 0);
  emit_changed (doc, TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

/* Undo / redo */

void
tb_document_begin_edit (TbDocument *doc, const char *label)
{
  g_return_if_fail (doc->pending == NULL);
  doc->pending = edit_state_capture (doc, label);
}

void
tb_document_end_edit (TbDocument *doc)
{
  g_return_if_fail (doc->pending != NULL);
  TbEditState *before = g_steal_pointer (&doc->pending);
  g_ptr_array_add (doc->undo, before);
  g_ptr_array_set_size (doc->redo, 0);
  emit_changed (doc, TB_CHANGE_HISTORY);
}

gboolean tb_document_can_undo (TbDocument *doc) { return doc->undo->len > 0 && doc->pending == NULL; }
gboolean tb_document_can_redo (TbDocument *doc) { return doc->redo->len > 0 && doc->pending == NULL; }

const char *
tb_document_get_undo_label (TbDocument *doc)
{
  if (doc->undo->len == 0)
    return NULL;
  return ((TbEditState *) g_ptr_array_index (doc->undo, doc->undo->len - 1))->label;
}

static void
move_step (TbDocument *doc, GPtrArray *from, GPtrArray *to)
{
  TbEditState *s = g_ptr_array_steal_index (from, from->len - 1);
  g_ptr_array_add (to, edit_state_capture (doc, s->label));
  edit_state_restore (doc, s);
  edit_state_free (s);
  emit_changed (doc, TB_CHANGE_VOIS | TB_CHANGE_LOADS | TB_CHANGE_HISTORY);
}

void
tb_document_undo (TbDocument *doc)
{
  g_return_if_fail (tb_document_can_undo (doc));
  move_step (doc, doc->undo, doc->redo);
}

void
tb_document_clear_history (TbDocument *doc)
{
  g_ptr_array_set_size (doc->undo, 0);
  g_ptr_array_set_size (doc->redo, 0);
  emit_changed (doc, TB_CHANGE_HISTORY);
}

void
tb_document_redo (TbDocument *doc)
{
  g_return_if_fail (tb_document_can_redo (doc));
  move_step (doc, doc->redo, doc->undo);
}

/* Results */

void
tb_document_set_result (TbDocument *doc, guint voi_id, TbMethod method, TbVolume *rho)
{
  g_return_if_fail (method < TB_N_METHODS);
  char *key = g_strdup_printf ("%u/%d", voi_id, method);
  if (rho != NULL)
    g_hash_table_replace (doc->results, key, tb_volume_ref (rho));
  else
    {
      g_hash_table_remove (doc->results, key);
      g_free (key);
    }
  emit_changed (doc, TB_CHANGE_RESULTS);
}

TbVolume *
tb_document_get_result (TbDocument *doc, guint voi_id, TbMethod method)
{
  char key[64];
  g_snprintf (key, sizeof key, "%u/%d", voi_id, method);
  return g_hash_table_lookup (doc->results, key);
}

void
tb_document_set_measure (TbDocument *doc, guint voi_id, TbMethod method, const char *quantity, double value)
{
  double *v = g_new (double, 1);
  *v = value;
  g_hash_table_replace (doc->measures, g_strdup_printf ("%u/%d/%s", voi_id, method, quantity), v);
  emit_changed (doc, TB_CHANGE_MEASURES);
}

double
tb_document_get_measure (TbDocument *doc, guint voi_id, TbMethod method, const char *quantity)
{
  g_autofree char *key = g_strdup_printf ("%u/%d/%s", voi_id, method, quantity);
  double *v = g_hash_table_lookup (doc->measures, key);
  return v != NULL ? *v : NAN;
}

void
tb_document_set_text (TbDocument *doc, const char *key, const char *value)
{
  if (value != NULL)
    g_hash_table_replace (doc->texts, g_strdup (key), g_strdup (value));
  else
    g_hash_table_remove (doc->texts, key);
  emit_changed (doc, TB_CHANGE_RESULTS);
}

const char *
tb_document_get_text (TbDocument *doc, const char *key)
{
  return g_hash_table_lookup (doc->texts, key);
}

void
tb_document_set_note (TbDocument *doc, guint step, const char *text)
{
  g_return_if_fail (step < G_N_ELEMENTS (doc->notes));
  g_free (doc->notes[step]);
  doc->notes[step] = g_strdup (text);
  emit_changed (doc, TB_CHANGE_MEASURES);
}

const char *
tb_document_get_note (TbDocument *doc, guint step)
{
  g_return_val_if_fail (step < G_N_ELEMENTS (doc->notes), NULL);
  return doc->notes[step];
}

void
tb_document_set_setting (TbDocument *doc, const char *key, double value)
{
  double *v = g_new (double, 1);
  *v = value;
  g_hash_table_replace (doc->settings, g_strdup (key), v);
}

double
tb_document_get_setting (TbDocument *doc, const char *key, double fallback)
{
  double *v = g_hash_table_lookup (doc->settings, key);
  return v != NULL ? *v : fallback;
}

/* Checksums */

char *
tb_checksum_file (const char *path, GError **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, error);
  if (in == NULL)
    return NULL;
  guint8 buf[65536];
  gssize n;
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buf, sizeof buf, NULL, error)) > 0)
    g_checksum_update (sum, buf, n);
  if (n < 0)
    return NULL;
  return g_strdup (g_checksum_get_string (sum));
}

char *
tb_checksum_volume (const TbVolume *v)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  int dims[3] = { v->nx, v->ny, v->nz };
  g_checksum_update (sum, (const guchar *) dims, sizeof dims);
  g_checksum_update (sum, (const guchar *) v->data, tb_volume_n_voxels (v) * sizeof (float));
  return g_strdup (g_checksum_get_string (sum));
}
