/* tb-compare-view.h — before/after of one VOI (or the slice around the cursor) between two sources:
 * clinical CT (nearest or trilinear), TO result, NN result, phantom truth, all shown at the enhanced
 * grid as relative density. Modes: side by side (one transform, so zoom, pan and crosshair are
 * linked), wipe (a curtain dragged across), difference (b - a, diverging colours) and flicker.
 * It follows the document, so it updates live while a TO run is going. */
#pragma once

#include <gtk/gtk.h>
#include "tb-document.h"

G_BEGIN_DECLS

typedef enum { TB_COMPARE_SIDE_BY_SIDE, TB_COMPARE_WIPE, TB_COMPARE_DIFFERENCE, TB_COMPARE_FLICKER } TbCompareMode;

#define TB_TYPE_COMPARE_VIEW (tb_compare_view_get_type ())
G_DECLARE_FINAL_TYPE (TbCompareView, tb_compare_view, TB, COMPARE_VIEW, GtkWidget)

GtkWidget    *tb_compare_view_new          (TbDocument *doc);
void          tb_compare_view_set_mode     (TbCompareView *view, TbCompareMode mode);
TbCompareMode tb_compare_view_get_mode     (TbCompareView *view);
void          tb_compare_view_set_methods  (TbCompareView *view, TbMethod a, TbMethod b);
void          tb_compare_view_set_axis     (TbCompareView *view, TbAxis axis);
/* The curtain's position, 0 (all b) .. 1 (all a); a drag with button 1 moves it (wipe mode). */
void          tb_compare_view_set_wipe     (TbCompareView *view, double fraction);
double        tb_compare_view_get_wipe     (TbCompareView *view);
void          tb_compare_view_drag_wipe    (TbCompareView *view, double x0, double x1, int steps);
/* Zoom and pan: one transform for every mode and both sides (side by side they stay linked).
 * Ctrl+wheel and pinch zoom about the pointer, middle drag or Space+drag pan (button 1 alone pans
 * too, except in wipe mode where it moves the curtain), 0 or Home fits. zoom 1 fits the plane. */
void          tb_compare_view_zoom_at      (TbCompareView *view, double factor, double x, double y);
double        tb_compare_view_get_zoom     (TbCompareView *view);
void          tb_compare_view_fit          (TbCompareView *view);
/* Widget point -> plane point (mm from the plane's top-left corner); side: 0 the left (or only)
 * plane, 1 the right. FALSE when the point lies outside the planes' rectangles or none is shown. */
gboolean      tb_compare_view_widget_to_plane (TbCompareView *view, double x, double y, double plane[2], int *side);
void          tb_compare_view_plane_to_widget (TbCompareView *view, int side, const double plane[2],
                                               double *x, double *y);
/* The gestures' code paths, for tests and scripting: a drag with a button from (x0, y0) to (x1, y1)
 * in steps; a wheel turn dy with modifiers at (x, y). */
void          tb_compare_view_drag         (TbCompareView *view, guint button, double x0, double y0,
                                            double x1, double y1, int steps);
void          tb_compare_view_scroll       (TbCompareView *view, double dy, GdkModifierType mods, double x, double y);
/* Whether both sources exist for the shown VOI; the message says what is missing otherwise. */
gboolean      tb_compare_view_is_ready     (TbCompareView *view, const char **message);
void          tb_compare_view_draw         (TbCompareView *view, cairo_t *cr, int width, int height);

G_END_DECLS
