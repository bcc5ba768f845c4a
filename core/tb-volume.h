/* tb-volume.h — the one volume type of Trabecula, and its uint8 mask twin.
 *
 * A TbVolume holds float32 voxels, x fastest, then y, then z (nz = 1 is a 2D image).
 * Voxel (i, j, k) sits at world position origin + (i*sx, j*sy, k*sz) mm: the origin is the
 * CENTRE of voxel (0,0,0), so voxel (i,j,k) covers origin + (i ± 1/2) * s along each axis.
 * Volumes are reference counted (tb_volume_ref/unref) so a worker thread and the GUI can share
 * one; the voxel data belongs to the volume and is freed with its last reference.
 *
 * Every operation that allocates a volume first checks the size against the memory this machine
 * can give (tb_memory_check) and refuses with TB_VOLUME_ERROR_TOO_LARGE, naming the size, before
 * allocating anything.
 *
 * Geometry of derived volumes keeps the physical extent:
 *   upscale by n:     spacing s/n, origin - s/2 + s/(2n)   (each voxel copied to n^3 sub-voxels)
 *   downscale by f:   spacing s*f, origin - s/2 + s*f/2    (box mean over f^3 voxels, exact)
 *   resample to s':   n' = max(1, round(n*s/s')), origin - s/2 + s'/2, trilinear, clamped at edges
 * so upscale(n) followed by downscale(n) returns the input bit for bit, geometry included.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TB_VOLUME_ERROR (tb_volume_error_quark ())
GQuark tb_volume_error_quark (void);

typedef enum {
  TB_VOLUME_ERROR_INVALID,    /* dims, spacing or factors that make no sense */
  TB_VOLUME_ERROR_TOO_LARGE,  /* would not fit in memory: refused before allocating */
  TB_VOLUME_ERROR_OUTSIDE,    /* a box or slice outside the volume */
  TB_VOLUME_ERROR_NONFINITE,  /* NaN or infinite voxels where finite ones are required */
} TbVolumeError;

typedef enum {
  TB_AXIS_X = 0,  /* sagittal slices (y-z plane) */
  TB_AXIS_Y = 1,  /* coronal slices (x-z plane) */
  TB_AXIS_Z = 2,  /* axial slices (x-y plane) */
} TbAxis;

typedef struct {
  int nx, ny, nz;
  double spacing[3];  /* mm */
  double origin[3];   /* mm, centre of voxel (0,0,0) */
  float *data;        /* nx*ny*nz values, x fastest */
} TbVolume;

typedef struct {
  int nx, ny, nz;
  double spacing[3];
  double origin[3];
  guint8 *data;       /* 0 = outside, anything else = inside (labels allowed) */
} TbMask;

/* A box of voxels: first voxel (x0,y0,z0) and size (nx,ny,nz), all inside the volume. */
typedef struct {
  int x0, y0, z0;
  int nx, ny, nz;
} TbBox;

typedef struct {
  double min, max, mean, stddev;
  gsize n_finite, n_nonfinite;
} TbVolumeStats;

/* Conventions for every long stage in core/:
 *  - it takes (GCancellable *cancellable, TbProgressFunc progress, gpointer user_data, GError **error);
 *  - cancellation ends it within 1 s with G_IO_ERROR / G_IO_ERROR_CANCELLED
 *    (g_cancellable_set_error_if_cancelled) and frees everything it made;
 *  - progress is reported at least every 0.5 s.
 * Progress from a long stage: fraction in [0,1] (or < 0 when unknown) and a short message.
 * Called on the worker's thread; the receiver must not touch widgets from it. */
typedef void (*TbProgressFunc) (double fraction, const char *message, gpointer user_data);

/* Memory */
gboolean   tb_memory_check          (guint64 bytes, const char *what, GError **error);
guint64    tb_memory_available      (void);

/* Creation and lifetime */
TbVolume  *tb_volume_new            (int nx, int ny, int nz, const double spacing[3], GError **error);
TbVolume  *tb_volume_new_like       (const TbVolume *like, GError **error);
TbVolume  *tb_volume_copy           (const TbVolume *v, GError **error);
TbVolume  *tb_volume_ref            (TbVolume *v);
void       tb_volume_unref          (TbVolume *v);
gsize      tb_volume_n_voxels       (const TbVolume *v);
gboolean   tb_volume_same_grid      (const TbVolume *a, const TbVolume *b);

static inline gsize
tb_volume_index (const TbVolume *v, int i, int j, int k)
{
  return (gsize) i + (gsize) v->nx * ((gsize) j + (gsize) v->ny * (gsize) k);
}

/* Separable passes over an nx x ny x nz grid along axis (0, 1, 2): line l (the other two axes, x
 * fastest) starts at the returned index and steps by *stride. */
static inline gsize
tb_grid_line_start (int nx, int ny, int axis, gsize l, gsize *stride)
{
  *stride = axis == 0 ? 1 : axis == 1 ? (gsize) nx : (gsize) nx * ny;
  if (axis == 0)
    return l * nx;
  if (axis == 1)
    return l % nx + l / nx * (gsize) nx * ny;
  return l;
}

static inline float
tb_volume_get (const TbVolume *v, int i, int j, int k)
{
  return v->data[tb_volume_index (v, i, j, k)];
}

/* World <-> voxel: world position of voxel centre, and continuous voxel coordinates of a point. */
void       tb_volume_voxel_to_world (const TbVolume *v, double i, double j, double k, double world[3]);
void       tb_volume_world_to_voxel (const TbVolume *v, const double world[3], double ijk[3]);

/* Operations; each returns a new volume or NULL with error set. */
TbVolume  *tb_volume_crop           (const TbVolume *v, const TbBox *box, GError **error);
TbVolume  *tb_volume_downscale      (const TbVolume *v, int fx, int fy, int fz, GError **error);
TbVolume  *tb_volume_upscale        (const TbVolume *v, int n, GError **error);
TbVolume  *tb_volume_resample       (const TbVolume *v, const double spacing[3], GError **error);
double     tb_volume_sample_trilinear (const TbVolume *v, double i, double j, double k);
TbVolume  *tb_volume_slice          (const TbVolume *v, TbAxis axis, int index, GError **error);

/* Statistics; NaN/Inf voxels are counted apart and left out of min/max/mean. */
void       tb_volume_stats          (const TbVolume *v, TbVolumeStats *stats);
void       tb_volume_histogram      (const TbVolume *v, double lo, double hi, guint n_bins, guint64 *counts);
gboolean   tb_volume_check_finite   (const TbVolume *v, const char *what, GError **error);

/* Boxes: clip-free validation, and a box from a world-space centre and size in mm. */
gboolean   tb_box_check             (const TbBox *box, int nx, int ny, int nz, GError **error);
gboolean   tb_box_from_world        (const TbVolume *v, const double centre[3], const double size[3],
                                     TbBox *box, GError **error);
/* Aligns a box (corner >= 0) to a grid of `multiple` voxels: the corner moves down to a multiple
 * of it and the size rounds up to one (a whole-bone FE coarsened by that factor then cuts whole
 * coarse elements). The box may then reach past the volume: check it. */
void       tb_box_align             (TbBox *box, int multiple);

/* Masks */
TbMask    *tb_mask_new              (int nx, int ny, int nz, const double spacing[3], GError **error);
TbMask    *tb_mask_new_like_volume  (const TbVolume *like, GError **error);
TbMask    *tb_mask_ref              (TbMask *m);
void       tb_mask_unref            (TbMask *m);
gsize      tb_mask_n_voxels         (const TbMask *m);
gsize      tb_mask_count            (const TbMask *m);
TbVolume  *tb_mask_to_volume        (const TbMask *m, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbVolume, tb_volume_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbMask, tb_mask_unref)

G_END_DECLS
