/* io-private.h — what the readers and writers of core/io share; not part of the public API. */
#pragma once

#include "tb-io.h"

G_BEGIN_DECLS

/* The readers, one per format; each fills every field of info it knows (info is never NULL here). */
TbVolume *tb_io_tiff_read        (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                                  GCancellable *cancellable, GError **error);
/* A folder's slices: files already sorted; each file may hold one or more pages. */
TbVolume *tb_io_tiff_read_files  (const char *folder, char **files, const TbIoReadOptions *opts,
                                  TbIoInfo *info, GCancellable *cancellable, GError **error);
TbVolume *tb_io_nifti_read       (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                                  GCancellable *cancellable, GError **error);
TbVolume *tb_io_metaimage_read   (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                                  GCancellable *cancellable, GError **error);
TbVolume *tb_io_dicom_read_files (const char *folder, char **files, const TbIoReadOptions *opts,
                                  TbIoInfo *info, GCancellable *cancellable, GError **error);
gboolean  tb_io_dicom_sniff      (const guint8 *head, gsize n);

/* Pixels: bytes per voxel, and a typed (vectorizable) conversion of n stored values to float,
 * with optional byte swapping and value = slope * stored + inter. */
gsize     tb_io_pixel_size       (TbIoPixelType type);
void      tb_io_pixels_to_float  (const void *src, TbIoPixelType type, gsize n, gboolean swap,
                                  double slope, double inter, float *dst);

/* A volume of the given size, refused with TB_IO_ERROR_TOO_LARGE (naming path) before allocating
 * when it would not fit; dims below 1 are TB_IO_ERROR_CORRUPT. */
TbVolume *tb_io_volume_alloc     (const char *path, gint64 nx, gint64 ny, gint64 nz, GError **error);

/* Spacing fallback: the caller's, else 1 mm; sets info->spacing_source. */
void      tb_io_fallback_spacing (const TbIoReadOptions *opts, double spacing[3], TbIoInfo *info);

/* Writing: a temporary name next to path (created empty, so unique), and the final rename. */
char     *tb_io_temp_create      (const char *path, GError **error);
gboolean  tb_io_temp_commit      (const char *tmp, const char *path, GError **error);

/* Progress and cancellation between slices. */
gboolean  tb_io_step             (const TbIoReadOptions *opts, GCancellable *cancellable,
                                  double fraction, const char *what, GError **error);

/* Natural order ("slice2" before "slice10"), for g_ptr_array_sort / qsort on char* arrays. */
int       tb_io_natural_compare  (const char *a, const char *b);

G_END_DECLS
