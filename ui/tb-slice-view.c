/* tb-slice-view.c — drawing (Cairo, cached per slice) and the editing gestures of a slice view. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-slice-view.h"
#include "tb-slice-render.h"

#define HANDLE_PX 6.0
#define DRAG_THRESHOLD_PX 4.0

typedef enum {
  DRAG_NONE, DRAG_PENDING, DRAG_PAN, DRAG_WINDOW, DRAG_DRAW_VOI, DRAG_MOVE_VOI, DRAG_RESIZE_VOI, DRAG_ARROW,
} DragMode;

enum { EDGE_U0 = 1, EDGE_U1 = 2, EDGE_V0 = 4, EDGE_V1 = 8 };

struct _TbSliceView
{
  GtkWidget parent_instance;

  TbDocument *doc;
  gulong changed_id;
  TbAxis axis;
  int ua, va;                 /* in-plane world axes */

  double zoom;                /* pixels per mm; 0 = fit at next draw */
  double centre[2];           /* world (u, v) at the widget's centre */
  double window, level;       /* HU */
  gboolean wl_set;
  double mask_rgba[4];

  cairo_surface_t *base;      /* cached grey slice */
  TbVolume *base_volume;
  int base_index;
  double base_lo, base_hi;
  cairo_surface_t *mask_surface;
  TbMask *mask_volume;
  int mask_index;

  /* interaction */
  DragMode drag;
  guint drag_button;
  double drag_x0, drag_y0;
  double drag_world0[3];
  double drag_voi_centre[3], drag_voi_size[3];
  guint drag_voi;
  int drag_edges;
  guint drag_case, drag_load;
  double drag_window0, drag_level0, drag_centre0[2];
  gboolean space_held;
  double pinch_last;         /* the pinch's scale at the previous update */
  double hover_x, hover_y;
  gboolean hovering;
  char *readout;
  guint n_draws;
};

G_DEFINE_FINAL_TYPE (TbSliceView, tb_slice_view, GTK_TYPE_WIDGET)

/* Geometry */

static TbVolume *
image (TbSliceView *self)
{
  return self->doc != NULL ? tb_document_get_image (self->doc) : NULL;
}

static double
arrow_mm_per_newton (TbSliceView *self)
{
  return tb_document_get_setting (self->doc, "arrow-mm-per-newton", 0.02);
}

void
tb_slice_view_widget_to_world (TbSliceView *self, double x, double y, double world[3])
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double cursor[3] = { 0, 0, 0 };
  if (self->doc != NULL)
    tb_document_get_cursor (self->doc, cursor);
  double z = self->zoom > 0 ? self->zoom : 1;
  world[self->axis] = cursor[self->axis];
  world[self->ua] = self->centre[0] + (x - w / 2.0) / z;
  world[self->va] = self->centre[1] - (y - h / 2.0) / z;
}

void
tb_slice_view_world_to_widget (TbSliceView *self, const double world[3], double *x, double *y)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double z = self->zoom > 0 ? self->zoom : 1;
  *x = w / 2.0 + (world[self->ua] - self->centre[0]) * z;
  *y = h / 2.0 - (world[self->va] - self->centre[1]) * z;
}

static void
fit_now (TbSliceView *self, int w, int h)
{
  TbVolume *v = image (self);
  if (v == NULL || w <= 0 || h <= 0)
    return;
  int n[3] = { v->nx, v->ny, v->nz };
  double eu = n[self->ua] * v->spacing[self->ua], ev = n[self->va] * v->spacing[self->va];
  self->zoom = MIN (w / eu, h / ev) * 0.95;
  self->centre[0] = v->origin[self->ua] + (n[self->ua] - 1) * v->spacing[self->ua] / 2;
  self->centre[1] = v->origin[self->va] + (n[self->va] - 1) * v->spacing[self->va] / 2;
}

int
tb_slice_view_get_slice (TbSliceView *self)
{
  TbVolume *v = image (self);
  if (v == NULL)
    return -1;
  double cursor[3];
  tb_document_get_cursor (self->doc, cursor);
  return tb_volume_slice_index (v, self->axis, cursor[self->axis]);
}

void
tb_slice_view_step_slice (TbSliceView *self, int delta)
{
  TbVolume *v = image (self);
  if (v == NULL)
    return;
  int n[3] = { v->nx, v->ny, v->nz };
  double cursor[3];
  tb_document_get_cursor (self->doc, cursor);
  int k = tb_volume_slice_index (v, self->axis, cursor[self->axis]);
  k = CLAMP ((k < 0 ? 0 : k) + delta, 0, n[self->axis] - 1);
  cursor[self->axis] = v->origin[self->axis] + k * v->spacing[self->axis];
  tb_document_set_cursor (self->doc, cursor);
}

/* Drawing */

static void
set_rgba (cairo_t *cr, const double rgba[4], double alpha)
{
  cairo_set_source_rgba (cr, rgba[0], rgba[1], rgba[2], rgba[3] * alpha);
}

/* The in-plane rectangle of a VOI on this slice (world mm); FALSE when the slice misses it. */
static gboolean
voi_rect (TbSliceView *self, const TbDocVoi *voi, double r[4])
{
  double cursor[3];
  tb_document_get_cursor (self->doc, cursor);
  if (fabs (cursor[self->axis] - voi->centre[self->axis]) > voi->size[self->axis] / 2)
    return FALSE;
  r[0] = voi->centre[self->ua] - voi->size[self->ua] / 2;
  r[1] = voi->centre[self->ua] + voi->size[self->ua] / 2;
  r[2] = voi->centre[self->va] - voi->size[self->va] / 2;
  r[3] = voi->centre[self->va] + voi->size[self->va] / 2;
  return TRUE;
}

static void
rho_to_hu_range (TbSliceView *self, double *hu0, double *hu1)
{
  double a, b;
  tb_document_get_calibration (self->doc, &a, &b);
  /* rho 0 -> marrow (BMD 0), rho 1 -> fully mineralized tissue (BMD 1200 unless the calibration
   * step says otherwise), inverted through BMD = a + b HU so enhanced VOIs share the clinical window. */
  *hu0 = (tb_document_get_setting (self->doc, "bmd-min", 0) - a) / b;
  *hu1 = (tb_document_get_setting (self->doc, "bmd-max", 1200) - a) / b;
}

static void
draw_image_layers (TbSliceView *self, cairo_t *cr, TbVolume *v, int index)
{
  double lo = self->level - self->window / 2, hi = self->level + self->window / 2;
  if (self->base == NULL || self->base_volume != v || self->base_index != index
      || self->base_lo != lo || self->base_hi != hi)
    {
      g_clear_pointer (&self->base, cairo_surface_destroy);
      self->base = tb_render_slice_grey (v, self->axis, index, lo, hi);
      self->base_volume = v;
      self->base_index = index;
      self->base_lo = lo;
      self->base_hi = hi;
    }
  if (self->base != NULL)
    tb_paint_slice_surface (cr, self->base, v, self->axis, 1.0);

  TbMask *m = tb_document_get_mask (self->doc);
  if (m != NULL && self->mask_rgba[3] > 0)
    {
      if (self->mask_surface == NULL || self->mask_volume != m || self->mask_index != index)
        {
          g_clear_pointer (&self->mask_surface, cairo_surface_destroy);
          self->mask_surface = tb_render_slice_mask (m, self->axis, index, self->mask_rgba);
          self->mask_volume = m;
          self->mask_index = index;
        }
      /* The mask shares the image's grid (segmentation output). */
      if (self->mask_surface != NULL)
        tb_paint_slice_surface (cr, self->mask_surface, v, self->axis, 1.0);
    }

  /* Enhanced VOIs at their own resolution, over the clinical voxels and the mask they cover. */
  double cursor[3], hu0, hu1;
  tb_document_get_cursor (self->doc, cursor);
  rho_to_hu_range (self, &hu0, &hu1);
  double rlo = (lo - hu0) / (hu1 - hu0), rhi = (hi - hu0) / (hu1 - hu0);
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      TbVolume *r = tb_document_get_result (self->doc, voi->id, TB_METHOD_TO);
      if (r == NULL)
        r = tb_document_get_result (self->doc, voi->id, TB_METHOD_NN);
      if (r == NULL)
        continue;
      int k = tb_volume_slice_index (r, self->axis, cursor[self->axis]);
      cairo_surface_t *s = tb_render_slice_grey (r, self->axis, k, rlo, rhi);
      if (s != NULL)
        {
          tb_paint_slice_surface (cr, s, r, self->axis, 1.0);
          cairo_surface_destroy (s);
        }
    }
}

static void
draw_text (cairo_t *cr, double x, double y, const char *text, gboolean shadow)
{
  if (shadow)
    {
      cairo_save (cr);
      cairo_set_source_rgba (cr, 0, 0, 0, 0.8);
      cairo_move_to (cr, x + 1, y + 1);
      cairo_show_text (cr, text);
      cairo_restore (cr);
    }
  cairo_move_to (cr, x, y);
  cairo_show_text (cr, text);
}

static void
draw_vois (TbSliceView *self, cairo_t *cr)
{
  guint selected = tb_document_get_selected_voi (self->doc);
  cairo_set_font_size (cr, 12);
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      double r[4], x0, y0, x1, y1, w[3] = { 0, 0, 0 };
      if (!voi_rect (self, voi, r))
        continue;
      w[self->ua] = r[0]; w[self->va] = r[3];
      tb_slice_view_world_to_widget (self, w, &x0, &y0);
      w[self->ua] = r[1]; w[self->va] = r[2];
      tb_slice_view_world_to_widget (self, w, &x1, &y1);
      set_rgba (cr, voi->rgba, 1.0);
      cairo_set_line_width (cr, voi->id == selected ? 2.0 : 1.25);
      cairo_rectangle (cr, round (x0) + 0.5, round (y0) + 0.5, round (x1 - x0), round (y1 - y0));
      cairo_stroke (cr);
      draw_text (cr, x0 + 2, y0 - 4, voi->name, TRUE);
      if (voi->id == selected)
        {
          double hx[3] = { x0, (x0 + x1) / 2, x1 }, hy[3] = { y0, (y0 + y1) / 2, y1 };
          for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
              if (a != 1 || b != 1)
                {
                  cairo_rectangle (cr, hx[a] - HANDLE_PX / 2, hy[b] - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
                  cairo_fill (cr);
                }
        }
    }
}

static void
draw_loads (TbSliceView *self, cairo_t *cr)
{
  double k = arrow_mm_per_newton (self);
  for (guint c = 0; c < tb_document_get_n_load_cases (self->doc); c++)
    {
      const TbDocLoadCase *lc = tb_document_get_load_case (self->doc, c);
      for (guint l = 0; l < lc->loads->len; l++)
        {
          const TbDocLoad *load = &g_array_index (lc->loads, TbDocLoad, l);
          double x0, y0, x1, y1, head[3];
          tb_slice_view_world_to_widget (self, load->point, &x0, &y0);
          if (load->kind == TB_LOAD_SUPPORT)
            {
              cairo_set_source_rgba (cr, 0.2, 0.8, 0.9, 0.9);
              cairo_move_to (cr, x0, y0);
              cairo_line_to (cr, x0 - 7, y0 + 11);
              cairo_line_to (cr, x0 + 7, y0 + 11);
              cairo_close_path (cr);
              cairo_fill (cr);
              if (load->radius > 0)
                {
                  cairo_arc (cr, x0, y0, load->radius * self->zoom, 0, 2 * G_PI);
                  cairo_stroke (cr);
                }
              continue;
            }
          for (int a = 0; a < 3; a++)
            head[a] = load->point[a] + load->vector[a] * k;
          tb_slice_view_world_to_widget (self, head, &x1, &y1);
          cairo_set_source_rgba (cr, 1.0, 0.35 + 0.2 * c, 0.1, 0.95);
          cairo_set_line_width (cr, 2.5);
          cairo_move_to (cr, x0, y0);
          cairo_line_to (cr, x1, y1);
          cairo_stroke (cr);
          double ang = atan2 (y1 - y0, x1 - x0);
          cairo_move_to (cr, x1, y1);
          cairo_line_to (cr, x1 - 12 * cos (ang - 0.4), y1 - 12 * sin (ang - 0.4));
          cairo_line_to (cr, x1 - 12 * cos (ang + 0.4), y1 - 12 * sin (ang + 0.4));
          cairo_close_path (cr);
          cairo_fill (cr);
          if (load->radius > 0)
            {
              cairo_set_line_width (cr, 1);
              cairo_arc (cr, x0, y0, load->radius * self->zoom, 0, 2 * G_PI);
              cairo_stroke (cr);
            }
        }
    }
}

static const char *
orientation_label (int world_axis, gboolean positive)
{
  /* World frame of the phantom: +x lateral, +y anterior, +z superior. */
  static const char *pos[3] = { N_("L"), N_("A"), N_("S") };
  static const char *neg[3] = { N_("M"), N_("P"), N_("I") };
  return _(positive ? pos[world_axis] : neg[world_axis]);
}

static void
draw_decorations (TbSliceView *self, cairo_t *cr, int w, int h)
{
  double cursor[3], cx, cy;
  tb_document_get_cursor (self->doc, cursor);
  tb_slice_view_world_to_widget (self, cursor, &cx, &cy);

  /* crosshair */
  static const double dash[] = { 4, 3 };
  cairo_save (cr);
  cairo_set_source_rgba (cr, 0.55, 0.95, 0.35, 0.7);
  cairo_set_line_width (cr, 1);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, round (cx) + 0.5, 0);
  cairo_line_to (cr, round (cx) + 0.5, h);
  cairo_move_to (cr, 0, round (cy) + 0.5);
  cairo_line_to (cr, w, round (cy) + 0.5);
  cairo_stroke (cr);
  cairo_restore (cr);

  /* orientation labels */
  cairo_set_font_size (cr, 13);
  cairo_set_source_rgb (cr, 0.95, 0.85, 0.3);
  draw_text (cr, w - 16, h / 2.0, orientation_label (self->ua, TRUE), TRUE);
  draw_text (cr, 6, h / 2.0, orientation_label (self->ua, FALSE), TRUE);
  draw_text (cr, w / 2.0, 16, orientation_label (self->va, TRUE), TRUE);
  draw_text (cr, w / 2.0, h - 6, orientation_label (self->va, FALSE), TRUE);

  /* scale bar: the round length (1, 2, 5 x 10^n mm) closest to 80 px */
  double target = 80 / self->zoom, p = pow (10, floor (log10 (target))), len = p;
  if (2 * p <= target) len = 2 * p;
  if (5 * p <= target) len = 5 * p;
  double bx = w - 16 - len * self->zoom, by = h - 28;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, bx, by, len * self->zoom, 3);
  cairo_fill (cr);
  char text[64];
  g_snprintf (text, sizeof text, len >= 1 ? "%.0f mm" : "%.1f mm", len);
  cairo_set_font_size (cr, 11);
  draw_text (cr, bx, by - 4, text, TRUE);

  /* readout and slice number */
  cairo_set_font_size (cr, 11);
  cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
  TbVolume *v = image (self);
  int n[3] = { v->nx, v->ny, v->nz };
  static const char *names[3] = { N_("Sagittal"), N_("Coronal"), N_("Axial") };
  g_snprintf (text, sizeof text, _("%s %d/%d"), _(names[self->axis]), tb_slice_view_get_slice (self) + 1, n[self->axis]);
  draw_text (cr, 6, 14, text, TRUE);
  if (self->hovering && self->readout != NULL)
    draw_text (cr, 6, h - 8, self->readout, TRUE);
}

void
tb_slice_view_draw (TbSliceView *self, cairo_t *cr, int w, int h)
{
  self->n_draws++;
  cairo_set_source_rgb (cr, 0.07, 0.07, 0.08);
  cairo_paint (cr);
  TbVolume *v = image (self);
  if (v == NULL)
    {
      cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
      cairo_set_font_size (cr, 13);
      draw_text (cr, 12, h / 2.0, _("Open an image or the demo femur"), FALSE);
      return;
    }
  if (self->zoom <= 0)
    fit_now (self, w, h);
  if (!self->wl_set)
    tb_slice_view_apply_preset (self, TB_WL_BONE);
  int index = tb_slice_view_get_slice (self);

  cairo_save (cr);
  cairo_translate (cr, w / 2.0, h / 2.0);
  cairo_scale (cr, self->zoom, -self->zoom);
  cairo_translate (cr, -self->centre[0], -self->centre[1]);
  if (index >= 0)
    draw_image_layers (self, cr, v, index);
  cairo_restore (cr);

  draw_vois (self, cr);
  draw_loads (self, cr);
  draw_decorations (self, cr, w, h);
}

static void
tb_slice_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TbSliceView *self = TB_SLICE_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  tb_slice_view_draw (self, cr, w, h);
  cairo_destroy (cr);
}

/* Readout */

static void
update_readout (TbSliceView *self)
{
  g_clear_pointer (&self->readout, g_free);
  TbVolume *v = image (self);
  if (v == NULL)
    return;
  double world[3], ijk[3];
  tb_slice_view_widget_to_world (self, self->hover_x, self->hover_y, world);
  tb_volume_world_to_voxel (v, world, ijk);
  int i = (int) floor (ijk[0] + 0.5), j = (int) floor (ijk[1] + 0.5), k = (int) floor (ijk[2] + 0.5);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, _("%.1f, %.1f, %.1f mm"), world[0], world[1], world[2]);
  if (i >= 0 && j >= 0 && k >= 0 && i < v->nx && j < v->ny && k < v->nz)
    {
      double hu = tb_volume_get (v, i, j, k);
      g_string_append_printf (s, _(" · voxel %d, %d, %d · %.0f HU"), i, j, k, hu);
      if (tb_document_is_calibrated (self->doc))
        {
          double a, b;
          tb_document_get_calibration (self->doc, &a, &b);
          g_string_append_printf (s, _(" · %.0f mg HA/cm³"), a + b * hu);
        }
      TbVolume *rho = tb_document_get_density (self->doc);
      if (rho != NULL && tb_volume_same_grid (rho, v))
        g_string_append_printf (s, _(" · ρ %.2f"), tb_volume_get (rho, i, j, k));
    }
  self->readout = g_string_free (s, FALSE);
}

const char *
tb_slice_view_get_readout (TbSliceView *self)
{
  return self->readout;
}

void
tb_slice_view_hover (TbSliceView *self, double x, double y)
{
  self->hover_x = x;
  self->hover_y = y;
  self->hovering = TRUE;
  update_readout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Hit tests */

static int
hit_handle (TbSliceView *self, const TbDocVoi *voi, double x, double y)
{
  double r[4], x0, y0, x1, y1, w[3] = { 0, 0, 0 };
  if (voi == NULL || !voi_rect (self, voi, r))
    return 0;
  w[self->ua] = r[0]; w[self->va] = r[3];
  tb_slice_view_world_to_widget (self, w, &x0, &y0);
  w[self->ua] = r[1]; w[self->va] = r[2];
  tb_slice_view_world_to_widget (self, w, &x1, &y1);
  double hx[3] = { x0, (x0 + x1) / 2, x1 }, hy[3] = { y0, (y0 + y1) / 2, y1 };
  int eu[3] = { EDGE_U0, 0, EDGE_U1 }, ev[3] = { EDGE_V1, 0, EDGE_V0 };  /* screen y0 is the top: v1 */
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      if ((a != 1 || b != 1) && fabs (x - hx[a]) <= HANDLE_PX && fabs (y - hy[b]) <= HANDLE_PX)
        return eu[a] | ev[b];
  return 0;
}

static guint
hit_voi (TbSliceView *self, double x, double y)
{
  double world[3], r[4];
  tb_slice_view_widget_to_world (self, x, y, world);
  /* The last drawn is on top. */
  for (guint i = tb_document_get_n_vois (self->doc); i-- > 0;)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      if (voi_rect (self, voi, r) && world[self->ua] >= r[0] && world[self->ua] <= r[1]
          && world[self->va] >= r[2] && world[self->va] <= r[3])
        return voi->id;
    }
  return 0;
}

static gboolean
hit_arrow_head (TbSliceView *self, double x, double y, guint *case_index, guint *load_index)
{
  double k = arrow_mm_per_newton (self);
  for (guint c = 0; c < tb_document_get_n_load_cases (self->doc); c++)
    {
      const TbDocLoadCase *lc = tb_document_get_load_case (self->doc, c);
      for (guint l = 0; l < lc->loads->len; l++)
        {
          const TbDocLoad *load = &g_array_index (lc->loads, TbDocLoad, l);
          if (load->kind != TB_LOAD_FORCE)
            continue;
          double head[3], hx, hy;
          for (int a = 0; a < 3; a++)
            head[a] = load->point[a] + load->vector[a] * k;
          tb_slice_view_world_to_widget (self, head, &hx, &hy);
          if (hypot (x - hx, y - hy) <= 2 * HANDLE_PX)
            {
              *case_index = c;
              *load_index = l;
              return TRUE;
            }
        }
    }
  return FALSE;
}

/* Drags: begin / update / end, shared by the gestures and tb_slice_view_drag */

static void
drag_begin (TbSliceView *self, guint button, GdkModifierType mods, double x, double y)
{
  self->drag = DRAG_NONE;
  self->drag_button = button;
  self->drag_x0 = x;
  self->drag_y0 = y;
  if (image (self) == NULL)
    return;
  tb_slice_view_widget_to_world (self, x, y, self->drag_world0);
  self->drag_centre0[0] = self->centre[0];
  self->drag_centre0[1] = self->centre[1];
  if (button == GDK_BUTTON_MIDDLE || (button == GDK_BUTTON_PRIMARY && self->space_held))
    {
      self->drag = DRAG_PAN;
      return;
    }
  if (button == GDK_BUTTON_SECONDARY)
    {
      self->drag = DRAG_WINDOW;
      self->drag_window0 = self->window;
      self->drag_level0 = self->level;
      return;
    }
  if (button != GDK_BUTTON_PRIMARY)
    return;
  const TbDocVoi *sel = tb_document_find_voi (self->doc, tb_document_get_selected_voi (self->doc));
  int edges = hit_handle (self, sel, x, y);
  guint c, l, id;
  if (edges != 0)
    {
      self->drag = DRAG_RESIZE_VOI;
      self->drag_edges = edges;
      self->drag_voi = sel->id;
    }
  else if (hit_arrow_head (self, x, y, &c, &l))
    {
      self->drag = DRAG_ARROW;
      self->drag_case = c;
      self->drag_load = l;
      tb_document_begin_edit (self->doc, _("Change force"));
      return;
    }
  else if ((id = hit_voi (self, x, y)) != 0)
    {
      tb_document_select_voi (self->doc, id);
      self->drag = DRAG_MOVE_VOI;
      self->drag_voi = id;
    }
  else
    {
      self->drag = DRAG_PENDING;   /* a click sets the crosshair; a drag draws a VOI */
      return;
    }
  const TbDocVoi *voi = tb_document_find_voi (self->doc, self->drag_voi);
  memcpy (self->drag_voi_centre, voi->centre, sizeof self->drag_voi_centre);
  memcpy (self->drag_voi_size, voi->size, sizeof self->drag_voi_size);
  tb_document_begin_edit (self->doc, self->drag == DRAG_MOVE_VOI ? _("Move VOI") : _("Resize VOI"));
}

static void
drag_update (TbSliceView *self, double dx, double dy)
{
  double x = self->drag_x0 + dx, y = self->drag_y0 + dy, world[3];
  if (self->drag == DRAG_NONE)
    return;
  tb_slice_view_widget_to_world (self, x, y, world);
  double du = world[self->ua] - self->drag_world0[self->ua], dv = world[self->va] - self->drag_world0[self->va];

  switch (self->drag)
    {
    case DRAG_PENDING:
      if (hypot (dx, dy) < DRAG_THRESHOLD_PX)
        return;
      {
        /* Start a VOI; its depth across the slice is the smaller in-plane side. */
        double centre[3], size[3] = { 1, 1, 1 };
        memcpy (centre, self->drag_world0, sizeof centre);
        tb_document_begin_edit (self->doc, _("Draw VOI"));
        self->drag_voi = tb_document_add_voi (self->doc, NULL, centre, size);
        self->drag = DRAG_DRAW_VOI;
      }
      G_GNUC_FALLTHROUGH;
    case DRAG_DRAW_VOI:
      {
        double centre[3], size[3];
        memcpy (centre, self->drag_world0, sizeof centre);
        double su = MAX (fabs (du), 0.1), sv = MAX (fabs (dv), 0.1);
        centre[self->ua] = self->drag_world0[self->ua] + du / 2;
        centre[self->va] = self->drag_world0[self->va] + dv / 2;
        size[self->ua] = su;
        size[self->va] = sv;
        size[self->axis] = MIN (su, sv);
        tb_document_set_voi_box (self->doc, self->drag_voi, centre, size);
      }
      break;
    case DRAG_MOVE_VOI:
      {
        double centre[3];
        memcpy (centre, self->drag_voi_centre, sizeof centre);
        centre[self->ua] += du;
        centre[self->va] += dv;
        tb_document_set_voi_box (self->doc, self->drag_voi, centre, self->drag_voi_size);
      }
      break;
    case DRAG_RESIZE_VOI:
      {
        double lo[2], hi[2], centre[3], size[3];
        int axes[2] = { self->ua, self->va };
        for (int a = 0; a < 2; a++)
          {
            lo[a] = self->drag_voi_centre[axes[a]] - self->drag_voi_size[axes[a]] / 2;
            hi[a] = self->drag_voi_centre[axes[a]] + self->drag_voi_size[axes[a]] / 2;
          }
        if (self->drag_edges & EDGE_U0) lo[0] = MIN (lo[0] + du, hi[0] - 0.1);
        if (self->drag_edges & EDGE_U1) hi[0] = MAX (hi[0] + du, lo[0] + 0.1);
        if (self->drag_edges & EDGE_V0) lo[1] = MIN (lo[1] + dv, hi[1] - 0.1);
        if (self->drag_edges & EDGE_V1) hi[1] = MAX (hi[1] + dv, lo[1] + 0.1);
        memcpy (centre, self->drag_voi_centre, sizeof centre);
        memcpy (size, self->drag_voi_size, sizeof size);
        for (int a = 0; a < 2; a++)
          {
            centre[axes[a]] = (lo[a] + hi[a]) / 2;
            size[axes[a]] = hi[a] - lo[a];
          }
        tb_document_set_voi_box (self->doc, self->drag_voi, centre, size);
      }
      break;
    case DRAG_ARROW:
      {
        const TbDocLoadCase *lc = tb_document_get_load_case (self->doc, self->drag_case);
        TbDocLoad load = g_array_index (lc->loads, TbDocLoad, self->drag_load);
        double k = arrow_mm_per_newton (self);
        load.vector[self->ua] = (world[self->ua] - load.point[self->ua]) / k;
        load.vector[self->va] = (world[self->va] - load.point[self->va]) / k;
        tb_document_set_load (self->doc, self->drag_case, self->drag_load, &load);
      }
      break;
    case DRAG_PAN:
      {
        double z = self->zoom;
        self->centre[0] = self->drag_centre0[0] - dx / z;
        self->centre[1] = self->drag_centre0[1] + dy / z;
        gtk_widget_queue_draw (GTK_WIDGET (self));
      }
      break;
    case DRAG_WINDOW:
      /* 4 HU of window per pixel right, 2 HU of level per pixel down */
      tb_slice_view_set_window (self, MAX (1, self->drag_window0 + 4 * dx), self->drag_level0 - 2 * dy);
      break;
    case DRAG_NONE:
      break;
    }
}

static void
drag_end (TbSliceView *self, double dx, double dy)
{
  if (self->drag == DRAG_PENDING)
    {
      /* A click: the crosshair goes to the point in all three views. */
      double world[3];
      tb_slice_view_widget_to_world (self, self->drag_x0, self->drag_y0, world);
      tb_document_select_voi (self->doc, 0);
      tb_document_set_cursor (self->doc, world);
    }
  else if (self->drag == DRAG_DRAW_VOI || self->drag == DRAG_MOVE_VOI || self->drag == DRAG_RESIZE_VOI
           || self->drag == DRAG_ARROW)
    {
      drag_update (self, dx, dy);
      tb_document_end_edit (self->doc);
    }
  else if (self->drag == DRAG_WINDOW && hypot (dx, dy) < DRAG_THRESHOLD_PX)
    {
      /* A right click: the window/level presets. */
      GMenu *menu = g_menu_new ();
      g_menu_append (menu, _("Bone"), "slice.preset(0)");
      g_menu_append (menu, _("Soft tissue"), "slice.preset(1)");
      g_menu_append (menu, _("Full range"), "slice.preset(2)");
      g_menu_append (menu, _("Fit to window"), "slice.fit");
      GtkWidget *popover = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
      gtk_widget_set_parent (popover, GTK_WIDGET (self));
      gtk_popover_set_pointing_to (GTK_POPOVER (popover),
                                   &(GdkRectangle) { (int) self->drag_x0, (int) self->drag_y0, 1, 1 });
      g_signal_connect (popover, "closed", G_CALLBACK (gtk_widget_unparent), NULL);
      gtk_popover_popup (GTK_POPOVER (popover));
      g_object_unref (menu);
    }
  self->drag = DRAG_NONE;
}

void
tb_slice_view_drag (TbSliceView *self, guint button, GdkModifierType mods, double x0, double y0,
                    double x1, double y1, int steps)
{
  drag_begin (self, button, mods, x0, y0);
  steps = MAX (steps, 1);
  for (int s = 1; s <= steps; s++)
    drag_update (self, (x1 - x0) * s / steps, (y1 - y0) * s / steps);
  drag_end (self, x1 - x0, y1 - y0);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, TbSliceView *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  gtk_widget_grab_focus (GTK_WIDGET (self));
  drag_begin (self, button, mods, x, y);
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, TbSliceView *self)
{
  drag_update (self, dx, dy);
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, TbSliceView *self)
{
  drag_end (self, dx, dy);
}

/* Scroll, zoom, keys, motion */

void
tb_slice_view_zoom_at (TbSliceView *self, double factor, double x, double y)
{
  double before[3], after[3];
  if (self->zoom <= 0)
    fit_now (self, gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)));
  tb_slice_view_widget_to_world (self, x, y, before);
  self->zoom = CLAMP (self->zoom * factor, 0.05, 400);
  tb_slice_view_widget_to_world (self, x, y, after);
  /* Keep the world point under the pointer where it was. */
  self->centre[0] += before[self->ua] - after[self->ua];
  self->centre[1] += before[self->va] - after[self->va];
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tb_slice_view_fit (TbSliceView *self)
{
  self->zoom = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
tb_slice_view_get_zoom (TbSliceView *self)
{
  if (self->zoom <= 0)
    fit_now (self, gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)));
  return self->zoom;
}

void
tb_slice_view_look_at (TbSliceView *self, const double world[3], double zoom)
{
  self->centre[0] = world[self->ua];
  self->centre[1] = world[self->va];
  self->zoom = zoom;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, TbSliceView *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  if (mods & GDK_CONTROL_MASK)
    tb_slice_view_zoom_at (self, pow (1.15, -dy), self->hover_x, self->hover_y);
  else
    tb_slice_view_step_slice (self, dy > 0 ? -1 : dy < 0 ? 1 : 0);
  return TRUE;
}

static void
on_zoom_scale_changed (GtkGestureZoom *gesture, double scale, TbSliceView *self)
{
  double x, y;
  if (gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y) && self->pinch_last > 0)
    tb_slice_view_zoom_at (self, scale / self->pinch_last, x, y);
  self->pinch_last = scale;
}

static void
on_zoom_begin (GtkGesture *gesture, GdkEventSequence *sequence, TbSliceView *self)
{
  /* The pinch's scale restarts at 1 each time. */
  self->pinch_last = 1;
}

static gboolean
on_key_pressed (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state, TbSliceView *self)
{
  switch (keyval)
    {
    case GDK_KEY_Page_Up: tb_slice_view_step_slice (self, 1); return TRUE;
    case GDK_KEY_Page_Down: tb_slice_view_step_slice (self, -1); return TRUE;
    case GDK_KEY_space: self->space_held = TRUE; return TRUE;
    default: return FALSE;
    }
}

static void
on_key_released (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state, TbSliceView *self)
{
  if (keyval == GDK_KEY_space)
    self->space_held = FALSE;
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, TbSliceView *self)
{
  tb_slice_view_hover (self, x, y);
  const TbDocVoi *sel = self->doc ? tb_document_find_voi (self->doc, tb_document_get_selected_voi (self->doc)) : NULL;
  int edges = hit_handle (self, sel, x, y);
  const char *cursor = NULL;
  if (edges == (EDGE_U0 | EDGE_V1) || edges == (EDGE_U1 | EDGE_V0)) cursor = "nwse-resize";
  else if (edges == (EDGE_U1 | EDGE_V1) || edges == (EDGE_U0 | EDGE_V0)) cursor = "nesw-resize";
  else if (edges & (EDGE_U0 | EDGE_U1)) cursor = "ew-resize";
  else if (edges) cursor = "ns-resize";
  else if (self->doc && hit_voi (self, x, y)) cursor = "move";
  else cursor = "crosshair";
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), cursor);
}

static void
on_leave (GtkEventControllerMotion *motion, TbSliceView *self)
{
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Window / level */

void
tb_slice_view_set_window (TbSliceView *self, double window, double level)
{
  g_return_if_fail (window > 0);
  self->window = window;
  self->level = level;
  self->wl_set = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tb_slice_view_get_window (TbSliceView *self, double *window, double *level)
{
  *window = self->window;
  *level = self->level;
}

void
tb_slice_view_apply_preset (TbSliceView *self, TbWindowPreset preset)
{
  TbVolume *v = image (self);
  switch (preset)
    {
    case TB_WL_BONE: tb_slice_view_set_window (self, 1800, 500); break;
    case TB_WL_SOFT_TISSUE: tb_slice_view_set_window (self, 400, 40); break;
    case TB_WL_FULL:
      if (v != NULL)
        {
          TbVolumeStats st;
          tb_volume_stats (v, &st);
          tb_slice_view_set_window (self, MAX (st.max - st.min, 1), (st.max + st.min) / 2);
        }
      break;
    }
}

void
tb_slice_view_set_mask_style (TbSliceView *self, const double rgba[4])
{
  memcpy (self->mask_rgba, rgba, sizeof self->mask_rgba);
  g_clear_pointer (&self->mask_surface, cairo_surface_destroy);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
action_preset (GtkWidget *widget, const char *name, GVariant *param)
{
  tb_slice_view_apply_preset (TB_SLICE_VIEW (widget), g_variant_get_int32 (param));
}

static void
action_fit (GtkWidget *widget, const char *name, GVariant *param)
{
  tb_slice_view_fit (TB_SLICE_VIEW (widget));
}

/* Document */

static void
on_document_changed (TbDocument *doc, guint what, TbSliceView *self)
{
  if (what & TB_CHANGE_VOLUMES)
    {
      g_clear_pointer (&self->base, cairo_surface_destroy);
      g_clear_pointer (&self->mask_surface, cairo_surface_destroy);
      self->base_volume = NULL;
      self->mask_volume = NULL;
      if (tb_document_get_image (doc) == NULL || (what & TB_CHANGE_CURSOR))
        self->zoom = 0;   /* a new image: fit it */
    }
  if (self->hovering)
    update_readout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tb_slice_view_set_document (TbSliceView *self, TbDocument *doc)
{
  if (self->doc == doc)
    return;
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
  self->zoom = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

TbDocument *tb_slice_view_get_document (TbSliceView *self) { return self->doc; }
TbAxis tb_slice_view_get_axis (TbSliceView *self) { return self->axis; }
guint tb_slice_view_get_n_draws (TbSliceView *self) { return self->n_draws; }

static void
tb_slice_view_dispose (GObject *object)
{
  TbSliceView *self = TB_SLICE_VIEW (object);
  tb_slice_view_set_document (self, NULL);
  g_clear_pointer (&self->base, cairo_surface_destroy);
  g_clear_pointer (&self->mask_surface, cairo_surface_destroy);
  g_clear_pointer (&self->readout, g_free);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (tb_slice_view_parent_class)->dispose (object);
}

static void
tb_slice_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_POPOVER (c))
      gtk_popover_present (GTK_POPOVER (c));
}

static void
tb_slice_view_class_init (TbSliceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tb_slice_view_dispose;
  widget_class->snapshot = tb_slice_view_snapshot;
  widget_class->size_allocate = tb_slice_view_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "tb-slice-view");
  gtk_widget_class_install_action (widget_class, "slice.preset", "i", action_preset);
  gtk_widget_class_install_action (widget_class, "slice.fit", NULL, action_fit);
}

static void
tb_slice_view_init (TbSliceView *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  gtk_widget_set_focusable (w, TRUE);
  gtk_widget_set_hexpand (w, TRUE);
  gtk_widget_set_vexpand (w, TRUE);
  gtk_widget_set_size_request (w, 160, 160);
  self->mask_rgba[0] = 0.95; self->mask_rgba[1] = 0.35; self->mask_rgba[2] = 0.2; self->mask_rgba[3] = 0.3;

  GtkGesture *drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (drag));

  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL
                                                                 | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (w, scroll);

  GtkGesture *zoom = gtk_gesture_zoom_new ();
  g_signal_connect (zoom, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (zoom, "scale-changed", G_CALLBACK (on_zoom_scale_changed), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (zoom));

  GtkEventController *key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (key, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (w, key);

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (w, motion);
}

GtkWidget *
tb_slice_view_new (TbDocument *doc, TbAxis axis)
{
  TbSliceView *self = g_object_new (TB_TYPE_SLICE_VIEW, NULL);
  self->axis = axis;
  tb_plane_axes (axis, &self->ua, &self->va);
  tb_slice_view_set_document (self, doc);
  return GTK_WIDGET (self);
}
