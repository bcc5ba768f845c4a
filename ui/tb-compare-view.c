/* tb-compare-view.c — two sources resampled to one grid, drawn four ways. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-compare-view.h"
#include "tb-slice-render.h"

struct _TbCompareView
{
  GtkWidget parent_instance;
  TbDocument *doc;
  gulong changed_id;
  TbCompareMode mode;
  TbMethod methods[2];
  TbAxis axis;
  double wipe;
  gboolean flicker_b;
  guint flicker_id;
  /* one cached plane per source: the float slice and its grey surface */
  TbVolume *plane[2];
  cairo_surface_t *surface[2];
  cairo_surface_t *diff;
  gboolean dirty;
  const char *message;
  TbVolume *grid;           /* the enhanced grid shown (borrowed from the document) */
  double drag_x0;
};

G_DEFINE_FINAL_TYPE (TbCompareView, tb_compare_view, GTK_TYPE_WIDGET)

/* The VOI to show and its fine grid: the selected VOI, else the first one with a result. */
static TbVolume *
find_grid (TbCompareView *self, guint *voi_id)
{
  static const TbMethod order[] = { TB_METHOD_TO, TB_METHOD_NN, TB_METHOD_TRUTH };
  guint sel = tb_document_get_selected_voi (self->doc);
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
      {
        const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
        if (pass == 0 && voi->id != sel)
          continue;
        for (guint m = 0; m < G_N_ELEMENTS (order); m++)
          {
            TbVolume *r = tb_document_get_result (self->doc, voi->id, order[m]);
            if (r != NULL)
              {
                *voi_id = voi->id;
                return r;
              }
          }
      }
  return NULL;
}

/* The clinical image as relative density: the density map when segmented, else BMD / BMD_max. */
static TbVolume *
clinical_rho (TbCompareView *self, gboolean *owned)
{
  *owned = FALSE;
  TbVolume *rho = tb_document_get_density (self->doc);
  if (rho != NULL)
    return rho;
  TbVolume *hu = tb_document_get_image (self->doc);
  if (hu == NULL)
    return NULL;
  TbVolume *v = tb_volume_new_like (hu, NULL);
  if (v == NULL)
    return NULL;
  double a, b, bmax = tb_document_get_setting (self->doc, "bmd-max", 1200);
  tb_document_get_calibration (self->doc, &a, &b);
  gsize n = tb_volume_n_voxels (hu);
  for (gsize i = 0; i < n; i++)
    v->data[i] = (float) CLAMP ((a + b * hu->data[i]) / bmax, 0.0, 1.0);
  *owned = TRUE;
  return v;
}

/* The plane of grid at slice k, sampled from source (nearest or trilinear). */
static TbVolume *
sample_plane (TbCompareView *self, TbVolume *grid, int k, TbVolume *source, gboolean trilinear)
{
  int ua, va, n[3] = { grid->nx, grid->ny, grid->nz };
  tb_plane_axes (self->axis, &ua, &va);
  double sp[3] = { grid->spacing[ua], grid->spacing[va], 1 };
  TbVolume *p = tb_volume_new (n[ua], n[va], 1, sp, NULL);
  if (p == NULL)
    return NULL;
  for (int r = 0; r < n[va]; r++)
    for (int c = 0; c < n[ua]; c++)
      {
        double g[3] = { 0, 0, 0 }, w[3], ijk[3];
        g[ua] = c; g[va] = r; g[self->axis] = k;
        tb_volume_voxel_to_world (grid, g[0], g[1], g[2], w);
        tb_volume_world_to_voxel (source, w, ijk);
        float value;
        if (trilinear)
          value = tb_volume_sample_trilinear (source, ijk[0], ijk[1], ijk[2]);
        else
          {
            int i = CLAMP ((int) floor (ijk[0] + 0.5), 0, source->nx - 1);
            int j = CLAMP ((int) floor (ijk[1] + 0.5), 0, source->ny - 1);
            int kk = CLAMP ((int) floor (ijk[2] + 0.5), 0, source->nz - 1);
            value = tb_volume_get (source, i, j, kk);
          }
        p->data[c + (gsize) r * n[ua]] = value;
      }
  return p;
}

static void
clear_cache (TbCompareView *self)
{
  for (int s = 0; s < 2; s++)
    {
      g_clear_pointer (&self->plane[s], tb_volume_unref);
      g_clear_pointer (&self->surface[s], cairo_surface_destroy);
    }
  g_clear_pointer (&self->diff, cairo_surface_destroy);
  self->dirty = TRUE;
}

/* Rebuilds the two planes; FALSE (with self->message) when a source is missing. */
static gboolean
prepare (TbCompareView *self)
{
  if (!self->dirty)
    return self->message == NULL;
  clear_cache (self);
  self->dirty = FALSE;
  self->message = NULL;
  guint voi_id = 0;
  if (self->doc == NULL || tb_document_get_image (self->doc) == NULL)
    {
      self->message = _("Open an image first");
      return FALSE;
    }
  TbVolume *grid = find_grid (self, &voi_id);
  self->grid = grid;
  if (grid == NULL)
    {
      self->message = _("Enhance a VOI (TO or NN) to compare it");
      return FALSE;
    }
  double cursor[3];
  tb_document_get_cursor (self->doc, cursor);
  int k = tb_volume_slice_index (grid, self->axis, cursor[self->axis]);
  if (k < 0)
    {
      /* The crosshair is outside the VOI: show its middle slice. */
      int n[3] = { grid->nx, grid->ny, grid->nz };
      k = n[self->axis] / 2;
    }
  for (int s = 0; s < 2; s++)
    {
      TbMethod m = self->methods[s];
      gboolean owned = FALSE;
      TbVolume *source = NULL;
      if (m == TB_METHOD_CLINICAL || m == TB_METHOD_TRILINEAR)
        source = clinical_rho (self, &owned);
      else
        source = tb_document_get_result (self->doc, voi_id, m);
      if (source == NULL)
        {
          self->message = m == TB_METHOD_TRUTH ? _("No truth: only the demo femur has one")
                                               : _("This VOI has no result of that method yet");
          return FALSE;
        }
      self->plane[s] = sample_plane (self, grid, k, source, m == TB_METHOD_TRILINEAR);
      if (owned)
        tb_volume_unref (source);
      if (self->plane[s] == NULL)
        return FALSE;
      self->surface[s] = tb_render_slice_grey (self->plane[s], TB_AXIS_Z, 0, 0.0, 1.0);
    }
  self->diff = tb_render_slice_difference (self->plane[0], self->plane[1], TB_AXIS_Z, 0, 1.0);
  return TRUE;
}

gboolean
tb_compare_view_is_ready (TbCompareView *self, const char **message)
{
  gboolean ok = prepare (self);
  if (message != NULL)
    *message = self->message;
  return ok;
}

/* Paints a plane surface fitted into the rectangle (x, y, w, h), one transform for both sources. */
static void
paint_fitted (TbCompareView *self, cairo_t *cr, cairo_surface_t *s, double x, double y, double w, double h)
{
  int nu = cairo_image_surface_get_width (s), nv = cairo_image_surface_get_height (s);
  double su = self->plane[0]->spacing[0], sv = self->plane[0]->spacing[1];
  double zoom = MIN (w / (nu * su), h / (nv * sv));
  cairo_save (cr);
  cairo_rectangle (cr, x, y, w, h);
  cairo_clip (cr);
  cairo_translate (cr, x + (w - nu * su * zoom) / 2, y + (h - nv * sv * zoom) / 2);
  cairo_scale (cr, zoom * su, zoom * sv);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_restore (cr);
}

static void
caption (cairo_t *cr, double x, double y, const char *text)
{
  cairo_set_font_size (cr, 11);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.7);
  cairo_move_to (cr, x + 1, y + 1);
  cairo_show_text (cr, text);
  cairo_set_source_rgb (cr, 1, 1, 0.85);
  cairo_move_to (cr, x, y);
  cairo_show_text (cr, text);
}

void
tb_compare_view_draw (TbCompareView *self, cairo_t *cr, int w, int h)
{
  cairo_set_source_rgb (cr, 0.07, 0.07, 0.08);
  cairo_paint (cr);
  if (!prepare (self))
    {
      cairo_set_source_rgb (cr, 0.7, 0.7, 0.7);
      cairo_set_font_size (cr, 12);
      cairo_move_to (cr, 10, h / 2.0);
      cairo_show_text (cr, self->message != NULL ? self->message : "");
      return;
    }
  const char *la = tb_method_get_label (self->methods[0]), *lb = tb_method_get_label (self->methods[1]);
  switch (self->mode)
    {
    case TB_COMPARE_SIDE_BY_SIDE:
      paint_fitted (self, cr, self->surface[0], 0, 0, w / 2.0 - 1, h);
      paint_fitted (self, cr, self->surface[1], w / 2.0 + 1, 0, w / 2.0 - 1, h);
      caption (cr, 6, 14, la);
      caption (cr, w / 2.0 + 6, 14, lb);
      break;
    case TB_COMPARE_WIPE:
      {
        double cx = self->wipe * w;
        paint_fitted (self, cr, self->surface[1], 0, 0, w, h);
        cairo_save (cr);
        cairo_rectangle (cr, 0, 0, cx, h);
        cairo_clip (cr);
        paint_fitted (self, cr, self->surface[0], 0, 0, w, h);
        cairo_restore (cr);
        cairo_set_source_rgb (cr, 1, 0.85, 0.2);
        cairo_set_line_width (cr, 2);
        cairo_move_to (cr, cx, 0);
        cairo_line_to (cr, cx, h);
        cairo_stroke (cr);
        caption (cr, 6, 14, la);
        caption (cr, w - 150, 14, lb);
      }
      break;
    case TB_COMPARE_DIFFERENCE:
      paint_fitted (self, cr, self->diff, 0, 0, w, h);
      {
        g_autofree char *t = g_strdup_printf (_("%s − %s (blue < 0 < red)"), lb, la);
        caption (cr, 6, 14, t);
      }
      break;
    case TB_COMPARE_FLICKER:
      paint_fitted (self, cr, self->surface[self->flicker_b ? 1 : 0], 0, 0, w, h);
      caption (cr, 6, 14, self->flicker_b ? lb : la);
      break;
    }
}

static void
tb_compare_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  tb_compare_view_draw (TB_COMPARE_VIEW (widget), cr, w, h);
  cairo_destroy (cr);
}

static gboolean
flicker_tick (gpointer data)
{
  TbCompareView *self = data;
  self->flicker_b = !self->flicker_b;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return G_SOURCE_CONTINUE;
}

void
tb_compare_view_set_mode (TbCompareView *self, TbCompareMode mode)
{
  self->mode = mode;
  g_clear_handle_id (&self->flicker_id, g_source_remove);
  if (mode == TB_COMPARE_FLICKER)
    self->flicker_id = g_timeout_add (500, flicker_tick, self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

TbCompareMode tb_compare_view_get_mode (TbCompareView *self) { return self->mode; }

void
tb_compare_view_set_methods (TbCompareView *self, TbMethod a, TbMethod b)
{
  self->methods[0] = a;
  self->methods[1] = b;
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tb_compare_view_set_axis (TbCompareView *self, TbAxis axis)
{
  self->axis = axis;
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tb_compare_view_set_wipe (TbCompareView *self, double fraction)
{
  self->wipe = CLAMP (fraction, 0, 1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double tb_compare_view_get_wipe (TbCompareView *self) { return self->wipe; }

static void
on_drag_begin (GtkGestureDrag *g, double x, double y, TbCompareView *self)
{
  self->drag_x0 = x;
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  if (self->mode == TB_COMPARE_WIPE && w > 0)
    tb_compare_view_set_wipe (self, x / w);
}

static void
on_drag_update (GtkGestureDrag *g, double dx, double dy, TbCompareView *self)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  if (self->mode == TB_COMPARE_WIPE && w > 0)
    tb_compare_view_set_wipe (self, (self->drag_x0 + dx) / w);
}

void
tb_compare_view_drag_wipe (TbCompareView *self, double x0, double x1, int steps)
{
  on_drag_begin (NULL, x0, 0, self);
  for (int s = 1; s <= MAX (steps, 1); s++)
    on_drag_update (NULL, (x1 - x0) * s / MAX (steps, 1), 0, self);
}

static void
on_document_changed (TbDocument *doc, guint what, TbCompareView *self)
{
  if (what & (TB_CHANGE_VOLUMES | TB_CHANGE_RESULTS | TB_CHANGE_CURSOR | TB_CHANGE_VOIS))
    {
      self->dirty = TRUE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
tb_compare_view_dispose (GObject *object)
{
  TbCompareView *self = TB_COMPARE_VIEW (object);
  g_clear_handle_id (&self->flicker_id, g_source_remove);
  if (self->doc != NULL)
    {
      g_signal_handler_disconnect (self->doc, self->changed_id);
      g_clear_object (&self->doc);
    }
  clear_cache (self);
  G_OBJECT_CLASS (tb_compare_view_parent_class)->dispose (object);
}

static void
tb_compare_view_class_init (TbCompareViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tb_compare_view_dispose;
  GTK_WIDGET_CLASS (klass)->snapshot = tb_compare_view_snapshot;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "tb-compare-view");
}

static void
tb_compare_view_init (TbCompareView *self)
{
  self->methods[0] = TB_METHOD_CLINICAL;
  self->methods[1] = TB_METHOD_TO;
  self->axis = TB_AXIS_Z;
  self->wipe = 0.5;
  self->dirty = TRUE;
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self), 160, 120);
  GtkGesture *drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
}

GtkWidget *
tb_compare_view_new (TbDocument *doc)
{
  TbCompareView *self = g_object_new (TB_TYPE_COMPARE_VIEW, NULL);
  self->doc = g_object_ref (doc);
  self->changed_id = g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
  return GTK_WIDGET (self);
}
