/* tb-compare-view.c — two sources resampled to one grid, drawn four ways, with zoom and pan. */
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
  /* the view: one transform for both sides, so side by side they stay linked */
  double extent[2];         /* the plane's size, mm (0 before the first plane) */
  double zoom;              /* 1 fits the plane into its rectangle */
  double centre[2];         /* the plane point (mm from its top-left corner) at the rectangle's centre */
  /* gestures */
  gboolean panning, space_held;
  double drag_x0, drag_y0, drag_centre0[2];
  double hover_x, hover_y;
  double pinch_last;
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
  /* a plane of another size (another VOI, axis or grid) starts fitted; the same plane redrawn with
   * new values (a TO iteration) keeps the user's zoom and pan */
  double extent[2] = { self->plane[0]->nx * self->plane[0]->spacing[0], self->plane[0]->ny * self->plane[0]->spacing[1] };
  if (fabs (extent[0] - self->extent[0]) > 1e-9 || fabs (extent[1] - self->extent[1]) > 1e-9)
    {
      self->extent[0] = extent[0];
      self->extent[1] = extent[1];
      self->zoom = 1;
      self->centre[0] = extent[0] / 2;
      self->centre[1] = extent[1] / 2;
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

/* The rectangles the planes are drawn in: two halves side by side, else the whole widget. */
static int
plane_rects (TbCompareView *self, double w, double h, graphene_rect_t rects[2])
{
  if (self->mode == TB_COMPARE_SIDE_BY_SIDE)
    {
      rects[0] = GRAPHENE_RECT_INIT (0, 0, w / 2.0 - 1, h);
      rects[1] = GRAPHENE_RECT_INIT (w / 2.0 + 1, 0, w / 2.0 - 1, h);
      return 2;
    }
  rects[0] = rects[1] = GRAPHENE_RECT_INIT (0, 0, w, h);
  return 1;
}

/* Pixels per mm in a rectangle: the fit, times the zoom. Both halves have the same size, so the
 * same transform maps the same plane point to the same place in each. */
static double
view_scale (TbCompareView *self, const graphene_rect_t *r)
{
  if (self->extent[0] <= 0 || self->extent[1] <= 0)
    return 1;
  return MIN (r->size.width / self->extent[0], r->size.height / self->extent[1]) * self->zoom;
}

static void
widget_rects (TbCompareView *self, graphene_rect_t rects[2], int *n)
{
  *n = plane_rects (self, gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)), rects);
}

gboolean
tb_compare_view_widget_to_plane (TbCompareView *self, double x, double y, double plane[2], int *side)
{
  graphene_rect_t r[2];
  int n;
  widget_rects (self, r, &n);
  int k = n == 2 && x >= r[1].origin.x ? 1 : 0;
  double s = view_scale (self, &r[k]);
  plane[0] = self->centre[0] + (x - r[k].origin.x - r[k].size.width / 2) / s;
  plane[1] = self->centre[1] + (y - r[k].origin.y - r[k].size.height / 2) / s;
  if (side != NULL)
    *side = k;
  return self->extent[0] > 0 && graphene_rect_contains_point (&r[k], &GRAPHENE_POINT_INIT (x, y));
}

void
tb_compare_view_plane_to_widget (TbCompareView *self, int side, const double plane[2], double *x, double *y)
{
  graphene_rect_t r[2];
  int n;
  widget_rects (self, r, &n);
  int k = CLAMP (side, 0, n - 1);
  double s = view_scale (self, &r[k]);
  *x = r[k].origin.x + r[k].size.width / 2 + (plane[0] - self->centre[0]) * s;
  *y = r[k].origin.y + r[k].size.height / 2 + (plane[1] - self->centre[1]) * s;
}

/* Paints a plane surface in a rectangle with the view's transform. */
static void
paint_plane (TbCompareView *self, cairo_t *cr, cairo_surface_t *s, const graphene_rect_t *r)
{
  double su = self->plane[0]->spacing[0], sv = self->plane[0]->spacing[1];
  double scale = view_scale (self, r);
  cairo_save (cr);
  cairo_rectangle (cr, r->origin.x, r->origin.y, r->size.width, r->size.height);
  cairo_clip (cr);
  cairo_translate (cr, r->origin.x + r->size.width / 2 - self->centre[0] * scale,
                   r->origin.y + r->size.height / 2 - self->centre[1] * scale);
  cairo_scale (cr, scale * su, scale * sv);
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
  graphene_rect_t r[2];
  plane_rects (self, w, h, r);
  switch (self->mode)
    {
    case TB_COMPARE_SIDE_BY_SIDE:
      paint_plane (self, cr, self->surface[0], &r[0]);
      paint_plane (self, cr, self->surface[1], &r[1]);
      caption (cr, 6, 14, la);
      caption (cr, w / 2.0 + 6, 14, lb);
      break;
    case TB_COMPARE_WIPE:
      {
        double cx = self->wipe * w;
        paint_plane (self, cr, self->surface[1], &r[0]);
        cairo_save (cr);
        cairo_rectangle (cr, 0, 0, cx, h);
        cairo_clip (cr);
        paint_plane (self, cr, self->surface[0], &r[0]);
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
      paint_plane (self, cr, self->diff, &r[0]);
      {
        g_autofree char *t = g_strdup_printf (_("%s − %s (blue < 0 < red)"), lb, la);
        caption (cr, 6, 14, t);
      }
      break;
    case TB_COMPARE_FLICKER:
      paint_plane (self, cr, self->surface[self->flicker_b ? 1 : 0], &r[0]);
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

/* Zoom and pan */

void
tb_compare_view_zoom_at (TbCompareView *self, double factor, double x, double y)
{
  if (self->extent[0] <= 0 || !(factor > 0))
    return;
  double before[2], after[2];
  tb_compare_view_widget_to_plane (self, x, y, before, NULL);
  self->zoom = CLAMP (self->zoom * factor, 0.25, 64);
  tb_compare_view_widget_to_plane (self, x, y, after, NULL);
  /* keep the plane point under the pointer where it was */
  self->centre[0] += before[0] - after[0];
  self->centre[1] += before[1] - after[1];
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double tb_compare_view_get_zoom (TbCompareView *self) { return self->zoom; }

void
tb_compare_view_fit (TbCompareView *self)
{
  self->zoom = 1;
  self->centre[0] = self->extent[0] / 2;
  self->centre[1] = self->extent[1] / 2;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Drags: button 1 moves the wipe's curtain (in wipe mode) or pans; button 2, or Space with button 1,
 * always pans. */

static void
drag_begin (TbCompareView *self, guint button, double x, double y)
{
  self->drag_x0 = x;
  self->drag_y0 = y;
  self->drag_centre0[0] = self->centre[0];
  self->drag_centre0[1] = self->centre[1];
  self->panning = button == GDK_BUTTON_MIDDLE || (button == GDK_BUTTON_PRIMARY && (self->space_held || self->mode != TB_COMPARE_WIPE));
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  if (!self->panning && button == GDK_BUTTON_PRIMARY && self->mode == TB_COMPARE_WIPE && w > 0)
    tb_compare_view_set_wipe (self, x / w);
}

static void
drag_update (TbCompareView *self, double dx, double dy)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  if (self->panning)
    {
      graphene_rect_t r[2];
      int n;
      widget_rects (self, r, &n);
      double s = view_scale (self, &r[0]);
      self->centre[0] = self->drag_centre0[0] - dx / s;
      self->centre[1] = self->drag_centre0[1] - dy / s;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
  else if (self->mode == TB_COMPARE_WIPE && w > 0)
    tb_compare_view_set_wipe (self, (self->drag_x0 + dx) / w);
}

void
tb_compare_view_drag (TbCompareView *self, guint button, double x0, double y0, double x1, double y1, int steps)
{
  drag_begin (self, button, x0, y0);
  steps = MAX (steps, 1);
  for (int s = 1; s <= steps; s++)
    drag_update (self, (x1 - x0) * s / steps, (y1 - y0) * s / steps);
  self->panning = FALSE;
}

void
tb_compare_view_drag_wipe (TbCompareView *self, double x0, double x1, int steps)
{
  tb_compare_view_drag (self, GDK_BUTTON_PRIMARY, x0, 0, x1, 0, steps);
}

static void
on_drag_begin (GtkGestureDrag *g, double x, double y, TbCompareView *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));   /* Space reaches the view */
  drag_begin (self, gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (g)), x, y);
}

static void
on_drag_update (GtkGestureDrag *g, double dx, double dy, TbCompareView *self)
{
  drag_update (self, dx, dy);
}

static void
on_drag_end (GtkGestureDrag *g, double dx, double dy, TbCompareView *self)
{
  self->panning = FALSE;
}

void
tb_compare_view_scroll (TbCompareView *self, double dy, GdkModifierType mods, double x, double y)
{
  if (mods & GDK_CONTROL_MASK)
    tb_compare_view_zoom_at (self, pow (1.15, -dy), x, y);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, TbCompareView *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  if (!(mods & GDK_CONTROL_MASK))
    return FALSE;   /* a plain wheel is the page's, not ours */
  tb_compare_view_scroll (self, dy, mods, self->hover_x, self->hover_y);
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, TbCompareView *self)
{
  self->hover_x = x;
  self->hover_y = y;
}

static void
on_zoom_begin (GtkGesture *gesture, GdkEventSequence *sequence, TbCompareView *self)
{
  self->pinch_last = 1;   /* the pinch's scale restarts at 1 each time */
}

static void
on_zoom_scale_changed (GtkGestureZoom *gesture, double scale, TbCompareView *self)
{
  double x, y;
  if (gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y) && self->pinch_last > 0)
    tb_compare_view_zoom_at (self, scale / self->pinch_last, x, y);
  self->pinch_last = scale;
}

static gboolean
on_key_pressed (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state, TbCompareView *self)
{
  switch (keyval)
    {
    case GDK_KEY_space: self->space_held = TRUE; return TRUE;
    case GDK_KEY_0: case GDK_KEY_KP_0: case GDK_KEY_Home: tb_compare_view_fit (self); return TRUE;
    default: return FALSE;
    }
}

static void
on_key_released (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state, TbCompareView *self)
{
  if (keyval == GDK_KEY_space)
    self->space_held = FALSE;
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
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  self->zoom = 1;
  GtkGesture *drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);   /* any button: 1 wipes or pans, 2 pans */
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL
                                                                 | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  GtkGesture *zoom = gtk_gesture_zoom_new ();
  g_signal_connect (zoom, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (zoom, "scale-changed", G_CALLBACK (on_zoom_scale_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (zoom));

  GtkEventController *key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (key, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
}

GtkWidget *
tb_compare_view_new (TbDocument *doc)
{
  TbCompareView *self = g_object_new (TB_TYPE_COMPARE_VIEW, NULL);
  self->doc = g_object_ref (doc);
  self->changed_id = g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
  return GTK_WIDGET (self);
}
