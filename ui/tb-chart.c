/* tb-chart.c — convergence curves drawn with Cairo. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-chart.h"

typedef struct {
  char *name;
  GdkRGBA color;
  GArray *x, *y;   /* double */
} Series;

struct _TbChart
{
  GtkWidget parent_instance;
  char *title;
  GPtrArray *series;
  gboolean log_scale;
  gboolean hovering;
  double hover_x;
  char *hover_text;
};

G_DEFINE_FINAL_TYPE (TbChart, tb_chart, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_LOG_SCALE, PROP_TITLE, N_PROPS };
static GParamSpec *props[N_PROPS];

#define MARGIN_L 58.0
#define MARGIN_R 10.0
#define MARGIN_T 22.0
#define MARGIN_B 22.0

static void
series_free (Series *s)
{
  g_free (s->name);
  g_array_unref (s->x);
  g_array_unref (s->y);
  g_free (s);
}

static gboolean
usable (TbChart *self, double y)
{
  return isfinite (y) && (!self->log_scale || y > 0);
}

static double
ty (TbChart *self, double y)
{
  return self->log_scale ? log10 (y) : y;
}

/* Data ranges over all series; FALSE when there is nothing to draw. */
static gboolean
ranges (TbChart *self, double *x0, double *x1, double *y0, double *y1)
{
  gboolean any = FALSE;
  *x0 = *y0 = G_MAXDOUBLE;
  *x1 = *y1 = -G_MAXDOUBLE;
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *se = g_ptr_array_index (self->series, s);
      for (guint i = 0; i < se->y->len; i++)
        {
          double x = g_array_index (se->x, double, i), y = g_array_index (se->y, double, i);
          if (!usable (self, y))
            continue;
          any = TRUE;
          *x0 = MIN (*x0, x); *x1 = MAX (*x1, x);
          *y0 = MIN (*y0, ty (self, y)); *y1 = MAX (*y1, ty (self, y));
        }
    }
  if (!any)
    return FALSE;
  if (*x1 <= *x0) *x1 = *x0 + 1;
  if (*y1 - *y0 < 1e-12 * MAX (1, fabs (*y1)))
    {
      double pad = MAX (fabs (*y1) * 0.05, 1e-12);
      *y0 -= pad; *y1 += pad;
    }
  return TRUE;
}

static void
tb_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TbChart *self = TB_CHART (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);  /* 4.8: no gtk_widget_get_color */
  double pw = w - MARGIN_L - MARGIN_R, ph = h - MARGIN_T - MARGIN_B;

  cairo_set_font_size (cr, 11);
  gdk_cairo_set_source_rgba (cr, &fg);
  if (self->title != NULL)
    {
      cairo_move_to (cr, MARGIN_L, 14);
      cairo_show_text (cr, self->title);
    }
  /* legend, right-aligned on the title line */
  double lx = w - MARGIN_R;
  for (guint s = self->series->len; s-- > 0;)
    {
      Series *se = g_ptr_array_index (self->series, s);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, se->name, &ext);
      lx -= ext.x_advance + 18;
      gdk_cairo_set_source_rgba (cr, &se->color);
      cairo_rectangle (cr, lx, 6, 10, 10);
      cairo_fill (cr);
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, lx + 13, 15);
      cairo_show_text (cr, se->name);
    }

  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.35);
  cairo_rectangle (cr, MARGIN_L + 0.5, MARGIN_T + 0.5, pw, ph);
  cairo_stroke (cr);

  double x0, x1, y0, y1;
  if (ranges (self, &x0, &x1, &y0, &y1) && pw > 2 && ph > 2)
    {
      char text[64];
      gdk_cairo_set_source_rgba (cr, &fg);
      g_snprintf (text, sizeof text, "%.3g", self->log_scale ? pow (10, y1) : y1);
      cairo_move_to (cr, 4, MARGIN_T + 10);
      cairo_show_text (cr, text);
      g_snprintf (text, sizeof text, "%.3g", self->log_scale ? pow (10, y0) : y0);
      cairo_move_to (cr, 4, MARGIN_T + ph);
      cairo_show_text (cr, text);
      g_snprintf (text, sizeof text, "%g", x0);
      cairo_move_to (cr, MARGIN_L, h - 6);
      cairo_show_text (cr, text);
      g_snprintf (text, sizeof text, "%g", x1);
      cairo_move_to (cr, w - MARGIN_R - 30, h - 6);
      cairo_show_text (cr, text);

      cairo_set_line_width (cr, 1.5);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
      for (guint s = 0; s < self->series->len; s++)
        {
          Series *se = g_ptr_array_index (self->series, s);
          gboolean started = FALSE;
          gdk_cairo_set_source_rgba (cr, &se->color);
          for (guint i = 0; i < se->y->len; i++)
            {
              double x = g_array_index (se->x, double, i), y = g_array_index (se->y, double, i);
              if (!usable (self, y))
                {
                  started = FALSE;
                  continue;
                }
              double px = MARGIN_L + (x - x0) / (x1 - x0) * pw;
              double py = MARGIN_T + ph - (ty (self, y) - y0) / (y1 - y0) * ph;
              if (started)
                cairo_line_to (cr, px, py);
              else
                cairo_move_to (cr, px, py);
              started = TRUE;
              if (se->y->len == 1)
                cairo_rectangle (cr, px - 1.5, py - 1.5, 3, 3);
            }
          cairo_stroke (cr);
        }
      if (self->hovering && self->hover_text != NULL)
        {
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.5);
          cairo_move_to (cr, round (self->hover_x) + 0.5, MARGIN_T);
          cairo_line_to (cr, round (self->hover_x) + 0.5, MARGIN_T + ph);
          cairo_stroke (cr);
          gdk_cairo_set_source_rgba (cr, &fg);
          cairo_move_to (cr, MARGIN_L + 6, MARGIN_T + 14);
          cairo_show_text (cr, self->hover_text);
        }
    }
  else
    {
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, MARGIN_L + 8, MARGIN_T + ph / 2);
      cairo_show_text (cr, _("No data yet"));
    }
  cairo_destroy (cr);
}

const char *
tb_chart_hover (TbChart *self, double px, double py)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  double pw = w - MARGIN_L - MARGIN_R, x0, x1, y0, y1;
  g_clear_pointer (&self->hover_text, g_free);
  self->hovering = TRUE;
  self->hover_x = CLAMP (px, MARGIN_L, MARGIN_L + pw);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (!ranges (self, &x0, &x1, &y0, &y1) || pw <= 0)
    return NULL;
  double x = x0 + (self->hover_x - MARGIN_L) / pw * (x1 - x0);
  GString *s = g_string_new (NULL);
  gboolean first = TRUE;
  for (guint k = 0; k < self->series->len; k++)
    {
      Series *se = g_ptr_array_index (self->series, k);
      guint best = G_MAXUINT;
      double bd = G_MAXDOUBLE;
      for (guint i = 0; i < se->x->len; i++)
        {
          double d = fabs (g_array_index (se->x, double, i) - x);
          if (d < bd) { bd = d; best = i; }
        }
      if (best == G_MAXUINT)
        continue;
      if (first)
        g_string_append_printf (s, _("it. %g"), g_array_index (se->x, double, best));
      g_string_append_printf (s, "  %s %.4g", se->name, g_array_index (se->y, double, best));
      first = FALSE;
    }
  self->hover_text = g_string_free (s, FALSE);
  return self->hover_text;
}

static void
on_motion (GtkEventControllerMotion *m, double x, double y, TbChart *self)
{
  tb_chart_hover (self, x, y);
}

static void
on_leave (GtkEventControllerMotion *m, TbChart *self)
{
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

GtkWidget *
tb_chart_new (const char *title)
{
  return g_object_new (TB_TYPE_CHART, "title", title, NULL);
}

void
tb_chart_set_title (TbChart *self, const char *title)
{
  g_free (self->title);
  self->title = g_strdup (title);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
tb_chart_add_series (TbChart *self, const char *name, const GdkRGBA *color)
{
  Series *s = g_new0 (Series, 1);
  s->name = g_strdup (name);
  s->color = *color;
  s->x = g_array_new (FALSE, FALSE, sizeof (double));
  s->y = g_array_new (FALSE, FALSE, sizeof (double));
  g_ptr_array_add (self->series, s);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return self->series->len - 1;
}

guint tb_chart_get_n_series (TbChart *self) { return self->series->len; }

void
tb_chart_append (TbChart *self, guint series, double x, double y)
{
  g_return_if_fail (series < self->series->len);
  Series *s = g_ptr_array_index (self->series, series);
  g_array_append_val (s->x, x);
  g_array_append_val (s->y, y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
tb_chart_get_n_points (TbChart *self, guint series)
{
  g_return_val_if_fail (series < self->series->len, 0);
  return ((Series *) g_ptr_array_index (self->series, series))->y->len;
}

gboolean
tb_chart_get_point (TbChart *self, guint series, guint index, double *x, double *y)
{
  g_return_val_if_fail (series < self->series->len, FALSE);
  Series *sr = g_ptr_array_index (self->series, series);
  if (index >= sr->y->len)
    return FALSE;
  if (x != NULL)
    *x = g_array_index (sr->x, double, index);
  if (y != NULL)
    *y = g_array_index (sr->y, double, index);
  return TRUE;
}

void
tb_chart_clear (TbChart *self)
{
  g_ptr_array_set_size (self->series, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tb_chart_set_log_scale (TbChart *self, gboolean log_scale)
{
  if (self->log_scale == !!log_scale)
    return;
  self->log_scale = !!log_scale;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOG_SCALE]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean tb_chart_get_log_scale (TbChart *self) { return self->log_scale; }

static void
tb_chart_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TbChart *self = TB_CHART (object);
  switch (prop_id)
    {
    case PROP_LOG_SCALE: tb_chart_set_log_scale (self, g_value_get_boolean (value)); break;
    case PROP_TITLE: tb_chart_set_title (self, g_value_get_string (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tb_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TbChart *self = TB_CHART (object);
  switch (prop_id)
    {
    case PROP_LOG_SCALE: g_value_set_boolean (value, self->log_scale); break;
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tb_chart_finalize (GObject *object)
{
  TbChart *self = TB_CHART (object);
  g_ptr_array_unref (self->series);
  g_free (self->title);
  g_free (self->hover_text);
  G_OBJECT_CLASS (tb_chart_parent_class)->finalize (object);
}

static void
tb_chart_class_init (TbChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->finalize = tb_chart_finalize;
  object_class->set_property = tb_chart_set_property;
  object_class->get_property = tb_chart_get_property;
  widget_class->snapshot = tb_chart_snapshot;
  props[PROP_LOG_SCALE] = g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  gtk_widget_class_set_css_name (widget_class, "tb-chart");
}

static void
tb_chart_init (TbChart *self)
{
  self->series = g_ptr_array_new_with_free_func ((GDestroyNotify) series_free);
  gtk_widget_set_size_request (GTK_WIDGET (self), 200, 110);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}
