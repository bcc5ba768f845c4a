/* tb-sidebar.c — lists rebuilt from the document; editors write back through tb_document_*. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-sidebar.h"

struct _TbSidebar
{
  GtkWidget parent_instance;
  GtkWidget *scroller, *volumes_list, *vois_list, *voi_editor, *voi_name, *voi_color, *voi_units;
  GtkWidget *loads_list, *load_editor;
  GtkWidget *voi_spins[6];
  GtkWidget *load_spins[7];   /* point xyz, vector xyz, radius */
  TbDocument *doc;
  gulong changed_id;
  gboolean syncing;
  guint sel_case, sel_load;   /* G_MAXUINT = none */
  char *volumes_signature;
};

G_DEFINE_FINAL_TYPE (TbSidebar, tb_sidebar, GTK_TYPE_WIDGET)

static void
clear_list (GtkWidget *list)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (list), child);
}

static GtkWidget *
label_row (const char *text, const char *detail)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_widget_set_hexpand (l, TRUE);
  gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (box), l);
  if (detail != NULL)
    {
      GtkWidget *d = gtk_label_new (detail);
      gtk_widget_add_css_class (d, "dim-label");
      gtk_widget_add_css_class (d, "caption");
      gtk_box_append (GTK_BOX (box), d);
    }
  gtk_widget_set_margin_start (box, 8);
  gtk_widget_set_margin_end (box, 8);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  return box;
}

static void
rebuild_volumes (TbSidebar *self)
{
  clear_list (self->volumes_list);
  TbVolume *v = tb_document_get_image (self->doc);
  if (v == NULL)
    {
      gtk_list_box_append (GTK_LIST_BOX (self->volumes_list), label_row (_("No image open"), NULL));
      return;
    }
  g_autofree char *dims = g_strdup_printf (_("%d×%d×%d, %.2g mm"), v->nx, v->ny, v->nz, v->spacing[0]);
  const char *path = tb_document_get_source_path (self->doc);
  g_autofree char *base = path != NULL ? g_path_get_basename (path) : g_strdup (_("Demo femur (CT)"));
  gtk_list_box_append (GTK_LIST_BOX (self->volumes_list), label_row (base, dims));
  if (tb_document_is_calibrated (self->doc))
    gtk_list_box_append (GTK_LIST_BOX (self->volumes_list), label_row (_("BMD (calibrated)"), NULL));
  if (tb_document_get_mask (self->doc) != NULL)
    {
      g_autofree char *n = g_strdup_printf (_("%zu voxels"), (size_t) tb_mask_count (tb_document_get_mask (self->doc)));
      gtk_list_box_append (GTK_LIST_BOX (self->volumes_list), label_row (_("Bone mask"), n));
    }
  if (tb_document_get_density (self->doc) != NULL)
    gtk_list_box_append (GTK_LIST_BOX (self->volumes_list), label_row (_("Relative density"), NULL));
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      for (TbMethod m = TB_METHOD_TO; m < TB_N_METHODS; m++)
        {
          TbVolume *r = tb_document_get_result (self->doc, voi->id, m);
          if (r == NULL)
            continue;
          g_autofree char *t = g_strdup_printf ("%s · %s", voi->name, tb_method_get_label (m));
          g_autofree char *d = g_strdup_printf (_("%.0f µm"), r->spacing[0] * 1000);
          gtk_list_box_append (GTK_LIST_BOX (self->volumes_list), label_row (t, d));
        }
    }
}

static void
rebuild_vois (TbSidebar *self)
{
  clear_list (self->vois_list);
  guint sel = tb_document_get_selected_voi (self->doc);
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      g_autofree char *d = g_strdup_printf (_("%.1f×%.1f×%.1f mm"), voi->size[0], voi->size[1], voi->size[2]);
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = label_row (voi->name, d);
      GtkWidget *swatch = gtk_drawing_area_new ();
      gtk_widget_set_size_request (swatch, 12, 12);
      g_autofree char *css = g_strdup_printf ("background-color: rgb(%d,%d,%d);", (int) (voi->rgba[0] * 255),
                                              (int) (voi->rgba[1] * 255), (int) (voi->rgba[2] * 255));
      /* the swatch colour rides on an inline style: one provider per row is cheap enough here */
      GtkCssProvider *p = gtk_css_provider_new ();
      g_autofree char *rule = g_strdup_printf ("* { %s border-radius: 3px; }", css);
      gtk_css_provider_load_from_data (p, rule, -1);
      gtk_style_context_add_provider (gtk_widget_get_style_context (swatch), GTK_STYLE_PROVIDER (p),
                                      GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      g_object_unref (p);
      gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
      gtk_box_prepend (GTK_BOX (box), swatch);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      g_object_set_data (G_OBJECT (row), "tb-voi", GUINT_TO_POINTER (voi->id));
      gtk_list_box_append (GTK_LIST_BOX (self->vois_list), row);
      if (voi->id == sel)
        gtk_list_box_select_row (GTK_LIST_BOX (self->vois_list), GTK_LIST_BOX_ROW (row));
    }
}

static gboolean
use_voxels (TbSidebar *self)
{
  return gtk_drop_down_get_selected (GTK_DROP_DOWN (self->voi_units)) == 1
         && tb_document_get_image (self->doc) != NULL;
}

static void
sync_voi_editor (TbSidebar *self)
{
  const TbDocVoi *voi = tb_document_find_voi (self->doc, tb_document_get_selected_voi (self->doc));
  gtk_widget_set_sensitive (self->voi_editor, voi != NULL);
  if (voi == NULL)
    return;
  self->syncing = TRUE;
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->voi_name)), voi->name) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->voi_name), voi->name);
  GdkRGBA c = { voi->rgba[0], voi->rgba[1], voi->rgba[2], voi->rgba[3] };
  gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (self->voi_color), &c);
  TbVolume *v = tb_document_get_image (self->doc);
  gboolean vox = use_voxels (self);
  for (int a = 0; a < 3; a++)
    {
      double centre = voi->centre[a], size = voi->size[a];
      if (vox)
        {
          centre = (centre - v->origin[a]) / v->spacing[a];
          size = size / v->spacing[a];
        }
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->voi_spins[a]), centre);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->voi_spins[3 + a]), size);
    }
  self->syncing = FALSE;
}

static void
on_voi_spin_changed (GtkSpinButton *spin, TbSidebar *self)
{
  const TbDocVoi *voi = tb_document_find_voi (self->doc, tb_document_get_selected_voi (self->doc));
  if (self->syncing || voi == NULL)
    return;
  TbVolume *v = tb_document_get_image (self->doc);
  gboolean vox = use_voxels (self);
  double centre[3], size[3];
  for (int a = 0; a < 3; a++)
    {
      centre[a] = gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->voi_spins[a]));
      size[a] = MAX (gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->voi_spins[3 + a])), 0.01);
      if (vox)
        {
          centre[a] = v->origin[a] + centre[a] * v->spacing[a];
          size[a] *= v->spacing[a];
        }
    }
  tb_document_set_voi_box (self->doc, voi->id, centre, size);
}

void
tb_sidebar_edit_voi_field (TbSidebar *self, int field, double value)
{
  g_return_if_fail (field >= 0 && field < 6);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->voi_spins[field]), value);
}

void
tb_sidebar_set_voxel_units (TbSidebar *self, gboolean voxels)
{
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->voi_units), voxels ? 1 : 0);
}

static void
on_units_changed (GObject *dd, GParamSpec *pspec, TbSidebar *self)
{
  if (self->doc != NULL)
    sync_voi_editor (self);
}

static void
on_voi_name_changed (GtkEditable *e, TbSidebar *self)
{
  const TbDocVoi *voi = tb_document_find_voi (self->doc, tb_document_get_selected_voi (self->doc));
  const char *text = gtk_editable_get_text (e);
  if (!self->syncing && voi != NULL && text[0] != '\0')
    tb_document_set_voi_name (self->doc, voi->id, text);
}

static void
on_voi_color_set (GtkColorButton *b, TbSidebar *self)
{
  const TbDocVoi *voi = tb_document_find_voi (self->doc, tb_document_get_selected_voi (self->doc));
  GdkRGBA c;
  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (b), &c);
  if (!self->syncing && voi != NULL)
    tb_document_set_voi_color (self->doc, voi->id, (double[4]) { c.red, c.green, c.blue, c.alpha });
}

static void
on_voi_row_selected (GtkListBox *list, GtkListBoxRow *row, TbSidebar *self)
{
  if (self->syncing || row == NULL)
    return;
  tb_document_select_voi (self->doc, GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "tb-voi")));
}

/* Load cases */

static void
on_weight_changed (GtkSpinButton *spin, TbSidebar *self)
{
  if (!self->syncing)
    tb_document_set_load_case_weight (self->doc, GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (spin), "tb-case")),
                                      gtk_spin_button_get_value (spin));
}

static void
rebuild_loads (TbSidebar *self)
{
  self->syncing = TRUE;
  clear_list (self->loads_list);
  for (guint c = 0; c < tb_document_get_n_load_cases (self->doc); c++)
    {
      const TbDocLoadCase *lc = tb_document_get_load_case (self->doc, c);
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = label_row (lc->name, NULL);
      GtkWidget *w = gtk_spin_button_new_with_range (0, 100, 0.1);
      gtk_orientable_set_orientation (GTK_ORIENTABLE (w), GTK_ORIENTATION_VERTICAL);
      gtk_spin_button_set_digits (GTK_SPIN_BUTTON (w), 2);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), lc->weight);
      gtk_widget_set_tooltip_text (w, _("Weight of this load case (daily cycles)"));
      g_object_set_data (G_OBJECT (w), "tb-case", GUINT_TO_POINTER (c));
      g_signal_connect (w, "value-changed", G_CALLBACK (on_weight_changed), self);
      gtk_box_append (GTK_BOX (box), w);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      g_object_set_data (G_OBJECT (row), "tb-case", GUINT_TO_POINTER (c));
      g_object_set_data (G_OBJECT (row), "tb-load", GUINT_TO_POINTER (G_MAXUINT));
      gtk_list_box_append (GTK_LIST_BOX (self->loads_list), row);
      if (c == self->sel_case && self->sel_load == G_MAXUINT)
        gtk_list_box_select_row (GTK_LIST_BOX (self->loads_list), GTK_LIST_BOX_ROW (row));
      for (guint l = 0; l < lc->loads->len; l++)
        {
          const TbDocLoad *load = &g_array_index (lc->loads, TbDocLoad, l);
          double mag = sqrt (load->vector[0] * load->vector[0] + load->vector[1] * load->vector[1]
                             + load->vector[2] * load->vector[2]);
          g_autofree char *t = load->kind == TB_LOAD_FORCE ? g_strdup_printf (_("  Force %.0f N"), mag)
                                                           : g_strdup (_("  Support"));
          g_autofree char *d = load->radius > 0 ? g_strdup_printf (_("patch r %.1f mm"), load->radius)
                                                : g_strdup (_("point"));
          GtkWidget *lrow = gtk_list_box_row_new ();
          gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (lrow), label_row (t, d));
          g_object_set_data (G_OBJECT (lrow), "tb-case", GUINT_TO_POINTER (c));
          g_object_set_data (G_OBJECT (lrow), "tb-load", GUINT_TO_POINTER (l));
          gtk_list_box_append (GTK_LIST_BOX (self->loads_list), lrow);
          if (c == self->sel_case && l == self->sel_load)
            gtk_list_box_select_row (GTK_LIST_BOX (self->loads_list), GTK_LIST_BOX_ROW (lrow));
        }
    }
  self->syncing = FALSE;
}

static const TbDocLoad *
selected_load (TbSidebar *self)
{
  if (self->sel_case >= tb_document_get_n_load_cases (self->doc))
    return NULL;
  const TbDocLoadCase *lc = tb_document_get_load_case (self->doc, self->sel_case);
  if (self->sel_load >= lc->loads->len)
    return NULL;
  return &g_array_index (lc->loads, TbDocLoad, self->sel_load);
}

static void
sync_load_editor (TbSidebar *self)
{
  const TbDocLoad *load = selected_load (self);
  gtk_widget_set_sensitive (self->load_editor, load != NULL);
  if (load == NULL)
    return;
  self->syncing = TRUE;
  for (int a = 0; a < 3; a++)
    {
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->load_spins[a]), load->point[a]);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->load_spins[3 + a]), load->vector[a]);
    }
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->load_spins[6]), load->radius);
  self->syncing = FALSE;
}

static void
on_load_spin_changed (GtkSpinButton *spin, TbSidebar *self)
{
  const TbDocLoad *cur = selected_load (self);
  if (self->syncing || cur == NULL)
    return;
  TbDocLoad load = *cur;
  for (int a = 0; a < 3; a++)
    {
      load.point[a] = gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->load_spins[a]));
      load.vector[a] = gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->load_spins[3 + a]));
    }
  load.radius = gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->load_spins[6]));
  tb_document_set_load (self->doc, self->sel_case, self->sel_load, &load);
}

static void
on_load_row_selected (GtkListBox *list, GtkListBoxRow *row, TbSidebar *self)
{
  if (self->syncing || row == NULL)
    return;
  self->sel_case = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "tb-case"));
  self->sel_load = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "tb-load"));
  sync_load_editor (self);
}

gboolean
tb_sidebar_get_selected_load (TbSidebar *self, guint *case_index, guint *load_index)
{
  if (self->doc == NULL || self->sel_case >= tb_document_get_n_load_cases (self->doc))
    return FALSE;
  *case_index = self->sel_case;
  *load_index = self->sel_load;
  return TRUE;
}

static char *
volumes_signature (TbSidebar *self)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    for (TbMethod m = TB_METHOD_TO; m < TB_N_METHODS; m++)
      {
        TbVolume *r = tb_document_get_result (self->doc, tb_document_get_voi (self->doc, i)->id, m);
        if (r != NULL)
          g_string_append_printf (s, "%u/%d/%g;", i, m, r->spacing[0]);
      }
  return g_string_free (s, FALSE);
}

static void
on_document_changed (TbDocument *doc, guint what, TbSidebar *self)
{
  /* a live TO run replaces its VOI's result every iteration: rebuild only when the list changes */
  g_autofree char *signature = volumes_signature (self);
  if ((what & (TB_CHANGE_VOLUMES | TB_CHANGE_VOIS)) || g_strcmp0 (signature, self->volumes_signature) != 0)
    {
      rebuild_volumes (self);
      g_free (self->volumes_signature);
      self->volumes_signature = g_steal_pointer (&signature);
    }
  if (what & TB_CHANGE_VOIS)
    {
      self->syncing = TRUE;
      rebuild_vois (self);
      self->syncing = FALSE;
      sync_voi_editor (self);
    }
  if (what & TB_CHANGE_LOADS)
    {
      rebuild_loads (self);
      sync_load_editor (self);
    }
}

void
tb_sidebar_set_document (TbSidebar *self, TbDocument *doc)
{
  if (self->doc != NULL)
    {
      g_signal_handler_disconnect (self->doc, self->changed_id);
      g_clear_object (&self->doc);
    }
  if (doc == NULL)
    return;
  self->doc = g_object_ref (doc);
  self->changed_id = g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
  on_document_changed (doc, G_MAXUINT, self);
}

static GtkWidget *
add_spin_grid (GtkWidget *grid, int row, const char *label, double lo, double hi, double step,
               GtkWidget **spins, GCallback cb, gpointer self)
{
  GtkWidget *l = gtk_label_new (label);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_widget_add_css_class (l, "caption");
  gtk_grid_attach (GTK_GRID (grid), l, 0, row, 1, 1);
  for (int a = 0; a < 3; a++)
    {
      spins[a] = gtk_spin_button_new_with_range (lo, hi, step);
      /* vertical: the +/- buttons above and below, so three fit side by side in a narrow sidebar */
      gtk_orientable_set_orientation (GTK_ORIENTABLE (spins[a]), GTK_ORIENTATION_VERTICAL);
      gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spins[a]), 1);
      gtk_editable_set_width_chars (GTK_EDITABLE (spins[a]), 5);
      gtk_widget_set_hexpand (spins[a], TRUE);
      g_signal_connect (spins[a], "value-changed", cb, self);
      gtk_grid_attach (GTK_GRID (grid), spins[a], 1 + a, row, 1, 1);
    }
  return l;
}

static void
tb_sidebar_dispose (GObject *object)
{
  TbSidebar *self = TB_SIDEBAR (object);
  tb_sidebar_set_document (self, NULL);
  g_clear_pointer (&self->volumes_signature, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), TB_TYPE_SIDEBAR);
  G_OBJECT_CLASS (tb_sidebar_parent_class)->dispose (object);
}

static void
tb_sidebar_class_init (TbSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = tb_sidebar_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/trabecula/Trabecula/ui/tb-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, scroller);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, volumes_list);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, vois_list);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, voi_editor);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, voi_name);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, voi_color);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, voi_units);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, loads_list);
  gtk_widget_class_bind_template_child (widget_class, TbSidebar, load_editor);
}

static void
tb_sidebar_init (TbSidebar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->sel_case = self->sel_load = G_MAXUINT;
  add_spin_grid (self->voi_editor, 2, _("Centre"), -1e4, 1e4, 0.5, self->voi_spins, G_CALLBACK (on_voi_spin_changed), self);
  add_spin_grid (self->voi_editor, 3, _("Size"), 0.01, 1e4, 0.5, self->voi_spins + 3, G_CALLBACK (on_voi_spin_changed), self);
  add_spin_grid (self->load_editor, 0, _("Point (mm)"), -1e4, 1e4, 0.5, self->load_spins, G_CALLBACK (on_load_spin_changed), self);
  add_spin_grid (self->load_editor, 1, _("Force (N)"), -1e5, 1e5, 10, self->load_spins + 3, G_CALLBACK (on_load_spin_changed), self);
  GtkWidget *l = gtk_label_new (_("Patch radius (mm)"));
  gtk_widget_add_css_class (l, "caption");
  gtk_grid_attach (GTK_GRID (self->load_editor), l, 0, 2, 2, 1);
  self->load_spins[6] = gtk_spin_button_new_with_range (0, 100, 0.5);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->load_spins[6]), GTK_ORIENTATION_VERTICAL);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (self->load_spins[6]), 1);
  g_signal_connect (self->load_spins[6], "value-changed", G_CALLBACK (on_load_spin_changed), self);
  gtk_grid_attach (GTK_GRID (self->load_editor), self->load_spins[6], 2, 2, 2, 1);
  gtk_widget_set_sensitive (self->voi_editor, FALSE);
  gtk_widget_set_sensitive (self->load_editor, FALSE);
  g_signal_connect (self->vois_list, "row-selected", G_CALLBACK (on_voi_row_selected), self);
  g_signal_connect (self->loads_list, "row-selected", G_CALLBACK (on_load_row_selected), self);
  g_signal_connect (self->voi_units, "notify::selected", G_CALLBACK (on_units_changed), self);
  g_signal_connect (self->voi_name, "changed", G_CALLBACK (on_voi_name_changed), self);
  g_signal_connect (self->voi_color, "color-set", G_CALLBACK (on_voi_color_set), self);
}
