/* tb-morpho-table.c — a grid of labels and level bars rebuilt when results change. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-morpho-table.h"

struct _TbMorphoTable
{
  GtkWidget parent_instance;
  GtkWidget *scroller, *grid;
  TbDocument *doc;
  gulong changed_id;
  guint n_rows;
};

G_DEFINE_FINAL_TYPE (TbMorphoTable, tb_morpho_table, GTK_TYPE_WIDGET)

static const TbMeasureColumn columns[] = {
  { "bv_tv", N_("BV/TV"), "" },
  { "tb_th", N_("Tb.Th"), N_("mm") },
  { "tb_sp", N_("Tb.Sp"), N_("mm") },
  { "tb_n", N_("Tb.N"), N_("1/mm") },
  { "smi", N_("SMI"), "" },
  { "conn_d", N_("Conn.D"), N_("1/mm³") },
  { "da", N_("DA"), "" },
  { "stiffness", N_("E app."), N_("MPa") },
  { "ssim", N_("SSIM"), "" },
  { "psnr", N_("PSNR"), N_("dB") },
};

const TbMeasureColumn *
tb_measure_columns (guint *n)
{
  *n = G_N_ELEMENTS (columns);
  return columns;
}

static gboolean
row_has_values (TbDocument *doc, guint id, TbMethod m)
{
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    if (!isnan (tb_document_get_measure (doc, id, m, columns[c].key)))
      return TRUE;
  return FALSE;
}

char *
tb_morpho_table_to_csv (TbDocument *doc)
{
  GString *s = g_string_new ("voi,method");
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    g_string_append_printf (s, ",%s", columns[c].key);
  g_string_append_c (s, '\n');
  for (guint i = 0; i < tb_document_get_n_vois (doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (doc, i);
      for (TbMethod m = 0; m < TB_N_METHODS; m++)
        {
          if (!row_has_values (doc, voi->id, m))
            continue;
          /* names are quoted: a VOI may be called anything */
          g_autofree char *name = g_strescape (voi->name, NULL);
          g_string_append_printf (s, "\"%s\",%s", name, tb_method_get_name (m));
          for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
            {
              double v = tb_document_get_measure (doc, voi->id, m, columns[c].key);
              char buf[G_ASCII_DTOSTR_BUF_SIZE];
              g_string_append_printf (s, ",%s", isnan (v) ? "" : g_ascii_dtostr (buf, sizeof buf, v));
            }
          g_string_append_c (s, '\n');
        }
    }
  return g_string_free (s, FALSE);
}

static GtkWidget *
cell_label (const char *text, gboolean heading)
{
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), heading ? 0.5 : 1);
  if (heading)
    gtk_widget_add_css_class (l, "heading");
  gtk_widget_add_css_class (l, "numeric");
  return l;
}

static void
rebuild (TbMorphoTable *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (self->grid)) != NULL)
    gtk_grid_remove (GTK_GRID (self->grid), child);
  self->n_rows = 0;
  if (self->doc == NULL)
    return;

  double col_max[G_N_ELEMENTS (columns)] = { 0 };
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    for (TbMethod m = 0; m < TB_N_METHODS; m++)
      for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
        {
          double v = tb_document_get_measure (self->doc, tb_document_get_voi (self->doc, i)->id, m, columns[c].key);
          if (isfinite (v))
            col_max[c] = MAX (col_max[c], fabs (v));
        }

  gtk_grid_attach (GTK_GRID (self->grid), cell_label (_("VOI"), TRUE), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (self->grid), cell_label (_("Method"), TRUE), 1, 0, 1, 1);
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    {
      g_autofree char *t = columns[c].unit[0] ? g_strdup_printf ("%s\n%s", _(columns[c].label), _(columns[c].unit))
                                              : g_strdup (_(columns[c].label));
      gtk_grid_attach (GTK_GRID (self->grid), cell_label (t, TRUE), 2 + c, 0, 1, 1);
    }
  int row = 1;
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      for (TbMethod m = 0; m < TB_N_METHODS; m++)
        {
          if (!row_has_values (self->doc, voi->id, m))
            continue;
          GtkWidget *name = gtk_label_new (voi->name);
          gtk_label_set_xalign (GTK_LABEL (name), 0);
          gtk_grid_attach (GTK_GRID (self->grid), name, 0, row, 1, 1);
          GtkWidget *method = gtk_label_new (tb_method_get_label (m));
          gtk_label_set_xalign (GTK_LABEL (method), 0);
          gtk_grid_attach (GTK_GRID (self->grid), method, 1, row, 1, 1);
          for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
            {
              double v = tb_document_get_measure (self->doc, voi->id, m, columns[c].key);
              GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 1);
              char text[32];
              g_snprintf (text, sizeof text, isnan (v) ? "—" : "%.3g", v);
              gtk_box_append (GTK_BOX (box), cell_label (text, FALSE));
              GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
              gtk_level_bar_set_value (GTK_LEVEL_BAR (bar),
                                       isfinite (v) && col_max[c] > 0 ? fabs (v) / col_max[c] : 0);
              gtk_widget_set_size_request (bar, 48, 4);
              gtk_box_append (GTK_BOX (box), bar);
              gtk_grid_attach (GTK_GRID (self->grid), box, 2 + c, row, 1, 1);
            }
          row++;
          self->n_rows++;
        }
    }
  if (self->n_rows == 0)
    {
      GtkWidget *l = gtk_label_new (_("Run Measure on a VOI to fill this table"));
      gtk_widget_add_css_class (l, "dim-label");
      gtk_grid_attach (GTK_GRID (self->grid), l, 0, 1, 8, 1);
    }
}

static void
on_document_changed (TbDocument *doc, guint what, TbMorphoTable *self)
{
  if (what & (TB_CHANGE_MEASURES | TB_CHANGE_VOIS | TB_CHANGE_VOLUMES))
    rebuild (self);
}

void
tb_morpho_table_set_document (TbMorphoTable *self, TbDocument *doc)
{
  if (self->doc != NULL)
    {
      g_signal_handler_disconnect (self->doc, self->changed_id);
      g_clear_object (&self->doc);
    }
  if (doc != NULL)
    {
      self->doc = g_object_ref (doc);
      self->changed_id = g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
    }
  rebuild (self);
}

guint tb_morpho_table_get_n_rows (TbMorphoTable *self) { return self->n_rows; }

static void
tb_morpho_table_dispose (GObject *object)
{
  TbMorphoTable *self = TB_MORPHO_TABLE (object);
  tb_morpho_table_set_document (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), TB_TYPE_MORPHO_TABLE);
  G_OBJECT_CLASS (tb_morpho_table_parent_class)->dispose (object);
}

static void
tb_morpho_table_class_init (TbMorphoTableClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = tb_morpho_table_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/trabecula/Trabecula/ui/tb-morpho-table.ui");
  gtk_widget_class_bind_template_child (widget_class, TbMorphoTable, scroller);
  gtk_widget_class_bind_template_child (widget_class, TbMorphoTable, grid);
}

static void
tb_morpho_table_init (TbMorphoTable *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  rebuild (self);
}
