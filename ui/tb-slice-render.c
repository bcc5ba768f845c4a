/* tb-slice-render.c — slices to Cairo surfaces (one pixel per voxel). */
#include "config-ui.h"

#include <math.h>
#include "tb-slice-render.h"

void
tb_plane_axes (TbAxis axis, int *u_axis, int *v_axis)
{
  switch (axis)
    {
    case TB_AXIS_Z: *u_axis = 0; *v_axis = 1; break;
    case TB_AXIS_Y: *u_axis = 0; *v_axis = 2; break;
    case TB_AXIS_X: default: *u_axis = 1; *v_axis = 2; break;
    }
}

int
tb_volume_slice_index (const TbVolume *v, TbAxis axis, double world)
{
  int n[3] = { v->nx, v->ny, v->nz };
  double f = (world - v->origin[axis]) / v->spacing[axis];
  /* Voxel k covers [k - 1/2, k + 1/2): outside that range the plane misses the volume. */
  if (f < -0.5 || f >= n[axis] - 0.5)
    return -1;
  return CLAMP ((int) floor (f + 0.5), 0, n[axis] - 1);
}

/* Strides so that (c, r) of the surface reads voxel data[base + c*su + (nv-1-r)*sv]. */
static void
plane_strides (int nx, int ny, int nz, TbAxis axis, int index, gsize *base, gsize *su, gsize *sv,
               int *nu, int *nv)
{
  gsize sx = 1, sy = (gsize) nx, sz = (gsize) nx * ny;
  switch (axis)
    {
    case TB_AXIS_Z: *base = index * sz; *su = sx; *sv = sy; *nu = nx; *nv = ny; break;
    case TB_AXIS_Y: *base = index * sy; *su = sx; *sv = sz; *nu = nx; *nv = nz; break;
    case TB_AXIS_X: default: *base = index * sx; *su = sy; *sv = sz; *nu = ny; *nv = nz; break;
    }
}

cairo_surface_t *
tb_render_slice_grey (const TbVolume *v, TbAxis axis, int index, double lo, double hi)
{
  int n[3] = { v->nx, v->ny, v->nz };
  if (index < 0 || index >= n[axis])
    return NULL;
  gsize base, su, sv;
  int nu, nv;
  plane_strides (v->nx, v->ny, v->nz, axis, index, &base, &su, &sv, &nu, &nv);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, nu, nv);
  guint8 *pixels = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  float scale = hi > lo ? 255.f / (float) (hi - lo) : 0.f;
  float flo = (float) lo;
  for (int r = 0; r < nv; r++)
    {
      guint32 *row = (guint32 *) (pixels + (gsize) r * stride);
      const float *src = v->data + base + (gsize) (nv - 1 - r) * sv;
      for (int c = 0; c < nu; c++)
        {
          float g = (src[c * su] - flo) * scale;
          guint32 b = g <= 0.f || isnan (g) ? 0 : g >= 255.f ? 255 : (guint32) g;
          row[c] = 0xff000000u | (b << 16) | (b << 8) | b;
        }
    }
  cairo_surface_mark_dirty (s);
  return s;
}

cairo_surface_t *
tb_render_slice_mask (const TbMask *m, TbAxis axis, int index, const double rgba[4])
{
  int n[3] = { m->nx, m->ny, m->nz };
  if (index < 0 || index >= n[axis])
    return NULL;
  gsize base, su, sv;
  int nu, nv;
  plane_strides (m->nx, m->ny, m->nz, axis, index, &base, &su, &sv, &nu, &nv);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, nu, nv);
  guint8 *pixels = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  /* Cairo wants premultiplied alpha. */
  guint32 a = (guint32) (CLAMP (rgba[3], 0, 1) * 255);
  guint32 on = (a << 24) | ((guint32) (rgba[0] * a) << 16) | ((guint32) (rgba[1] * a) << 8) | (guint32) (rgba[2] * a);
  for (int r = 0; r < nv; r++)
    {
      guint32 *row = (guint32 *) (pixels + (gsize) r * stride);
      const guint8 *src = m->data + base + (gsize) (nv - 1 - r) * sv;
      for (int c = 0; c < nu; c++)
        row[c] = src[c * su] ? on : 0;
    }
  cairo_surface_mark_dirty (s);
  return s;
}

cairo_surface_t *
tb_render_slice_difference (const TbVolume *a, const TbVolume *b, TbAxis axis, int index, double range)
{
  g_return_val_if_fail (tb_volume_same_grid (a, b), NULL);
  int n[3] = { a->nx, a->ny, a->nz };
  if (index < 0 || index >= n[axis])
    return NULL;
  gsize base, su, sv;
  int nu, nv;
  plane_strides (a->nx, a->ny, a->nz, axis, index, &base, &su, &sv, &nu, &nv);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, nu, nv);
  guint8 *pixels = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  for (int r = 0; r < nv; r++)
    {
      guint32 *row = (guint32 *) (pixels + (gsize) r * stride);
      gsize off = base + (gsize) (nv - 1 - r) * sv;
      for (int c = 0; c < nu; c++)
        {
          double d = (b->data[off + c * su] - a->data[off + c * su]) / range;
          d = isnan (d) ? 0 : CLAMP (d, -1, 1);
          /* Blue - white - red: the fading channel goes from 255 at 0 to 0 at the ends. */
          guint32 fade = (guint32) (255 * (1 - fabs (d)));
          guint32 red = d < 0 ? fade : 255, blue = d > 0 ? fade : 255;
          row[c] = 0xff000000u | (red << 16) | (fade << 8) | blue;
        }
    }
  cairo_surface_mark_dirty (s);
  return s;
}

void
tb_paint_slice_surface (cairo_t *cr, cairo_surface_t *s, const TbVolume *v, TbAxis axis, double alpha)
{
  int ua, va;
  tb_plane_axes (axis, &ua, &va);
  int nv = cairo_image_surface_get_height (s);
  cairo_save (cr);
  /* Surface row 0 is the top of the slice: v = origin + (nv - 1/2) * spacing, going down. */
  cairo_translate (cr, v->origin[ua] - v->spacing[ua] / 2, v->origin[va] + (nv - 0.5) * v->spacing[va]);
  cairo_scale (cr, v->spacing[ua], -v->spacing[va]);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  if (alpha >= 1)
    cairo_paint (cr);
  else
    cairo_paint_with_alpha (cr, alpha);
  cairo_restore (cr);
}
