/* tb-slice-view.h — one slice of the document's image, with its overlays and editing gestures.
 *
 * Three of these (axial, coronal, sagittal) share the document's cursor, so a click in one moves
 * the crosshair and the slices of all three. Mouse: wheel / Page Up / Page Down scroll slices,
 * Ctrl+wheel and pinch zoom about the pointer, middle drag or Space+drag pans, right drag sets
 * window/level (right click: presets), left click sets the crosshair, left drag on empty image
 * draws a VOI, on a VOI moves it, on a selected VOI's handle resizes it, on a force's arrow head
 * sets its direction and magnitude. Every edit goes through the document (one undo step per drag).
 */
#pragma once

#include <gtk/gtk.h>
#include "tb-document.h"

G_BEGIN_DECLS

#define TB_TYPE_SLICE_VIEW (tb_slice_view_get_type ())
G_DECLARE_FINAL_TYPE (TbSliceView, tb_slice_view, TB, SLICE_VIEW, GtkWidget)

typedef enum { TB_WL_BONE, TB_WL_SOFT_TISSUE, TB_WL_FULL } TbWindowPreset;

GtkWidget  *tb_slice_view_new             (TbDocument *doc, TbAxis axis);
TbDocument *tb_slice_view_get_document    (TbSliceView *view);
void        tb_slice_view_set_document    (TbSliceView *view, TbDocument *doc);
TbAxis      tb_slice_view_get_axis        (TbSliceView *view);
int         tb_slice_view_get_slice       (TbSliceView *view);     /* -1 without image */
void        tb_slice_view_step_slice      (TbSliceView *view, int delta);

void        tb_slice_view_set_window      (TbSliceView *view, double window, double level);
void        tb_slice_view_get_window      (TbSliceView *view, double *window, double *level);
void        tb_slice_view_apply_preset    (TbSliceView *view, TbWindowPreset preset);
void        tb_slice_view_set_mask_style  (TbSliceView *view, const double rgba[4]);
/* Zoom: pixels per mm; about widget point (x, y). zoom <= 0 fits the image. */
void        tb_slice_view_zoom_at         (TbSliceView *view, double factor, double x, double y);
void        tb_slice_view_fit             (TbSliceView *view);
double      tb_slice_view_get_zoom        (TbSliceView *view);
/* Centre the view on a world point with a given zoom (pixels per mm). */
void        tb_slice_view_look_at         (TbSliceView *view, const double world[3], double zoom);

/* Widget <-> world mapping (the slice's plane supplies the third coordinate). */
void        tb_slice_view_widget_to_world (TbSliceView *view, double x, double y, double world[3]);
void        tb_slice_view_world_to_widget (TbSliceView *view, const double world[3], double *x, double *y);

/* The text under the cursor, e.g. "x 12.3 y 4.5 z 6.7 mm · voxel (20, 7, 11) · 812 HU · ...". */
const char *tb_slice_view_get_readout     (TbSliceView *view);
/* Counts redraws (tests and benchmarks). */
guint       tb_slice_view_get_n_draws     (TbSliceView *view);

/* The same code paths the gestures use, for tests and scripting:
 * a press of button at (x0, y0), motion to (x1, y1) in steps, release (modifiers: GdkModifierType). */
void        tb_slice_view_drag            (TbSliceView *view, guint button, GdkModifierType modifiers,
                                           double x0, double y0, double x1, double y1, int steps);
void        tb_slice_view_hover           (TbSliceView *view, double x, double y);

/* Draws the view into cr at width x height (the benchmark's entry and the snapshot's body). */
void        tb_slice_view_draw            (TbSliceView *view, cairo_t *cr, int width, int height);

G_END_DECLS
