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
/* The curtain's position, 0 (all b) .. 1 (all a); a drag with button 1 moves it. */
void          tb_compare_view_set_wipe     (TbCompareView *view, double fraction);
double        tb_compare_view_get_wipe     (TbCompareView *view);
void          tb_compare_view_drag_wipe    (TbCompareView *view, double x0, double x1, int steps);
/* Whether both sources exist for the shown VOI; the message says what is missing otherwise. */
gboolean      tb_compare_view_is_ready     (TbCompareView *view, const char **message);
void          tb_compare_view_draw         (TbCompareView *view, cairo_t *cr, int width, int height);

G_END_DECLS
