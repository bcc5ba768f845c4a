/* tb-slice-render.h — turning one slice of a volume into Cairo image surfaces.
 *
 * Shared by the slice view, the compare view and the benchmarks. A "plane" names the two in-plane
 * axes: axial (z) slices show x to the right and y up; coronal (y) x right, z up; sagittal (x)
 * y right, z up. Surfaces are one pixel per voxel, row 0 at the top (largest v), and are drawn
 * scaled with nearest filtering so voxels stay voxels on screen.
 */
#pragma once

#include <cairo.h>
#include "tb-volume.h"

G_BEGIN_DECLS

/* In-plane axes (u right, v up) of slices normal to axis. */
void             tb_plane_axes          (TbAxis axis, int *u_axis, int *v_axis);

/* Grey levels: value lo -> black, hi -> white. Returns a CAIRO_FORMAT_RGB24 surface nu x nv, or NULL
 * when index is outside the volume. */
cairo_surface_t *tb_render_slice_grey   (const TbVolume *v, TbAxis axis, int index, double lo, double hi);
/* The mask's non-zero voxels in colour rgba (alpha = opacity), the rest transparent (ARGB32). */
cairo_surface_t *tb_render_slice_mask   (const TbMask *m, TbAxis axis, int index, const double rgba[4]);
/* A diverging map of (b - a): blue below 0, white at 0, red above, +-range saturates. Same grids. */
cairo_surface_t *tb_render_slice_difference (const TbVolume *a, const TbVolume *b, TbAxis axis, int index,
                                             double range);

/* Slice index of the world coordinate along axis (nearest voxel centre), -1 when outside. */
int              tb_volume_slice_index  (const TbVolume *v, TbAxis axis, double world);

/* Paints surface s (one pixel per voxel of v's plane) at its world place, under the current
 * transform that maps world (u, v) mm to device space (u right, v up is the caller's job). */
void             tb_paint_slice_surface (cairo_t *cr, cairo_surface_t *s, const TbVolume *v, TbAxis axis,
                                         double alpha);

G_END_DECLS
