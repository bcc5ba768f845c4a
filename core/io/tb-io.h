/* tb-io.h — reading and writing volumes: TIFF, NIfTI-1/2, MetaImage, DICOM series.
 *
 * Reading: ONE entry point, tb_io_read, picks the reader by CONTENT, not by the file name:
 *   "II*\0" / "MM\0*" (and BigTIFF "II+\0" / "MM\0+")  TIFF, multipage (libtiff)
 *   sizeof_hdr 348 / 540 + magic "n+1"/"n+2"           NIfTI-1 / NIfTI-2 (libnifti2 parses the header)
 *   gzip magic 1f 8b holding a NIfTI header             .nii.gz
 *   a text header "Key = Value" with NDims/DimSize       MetaImage (.mhd; data LOCAL or a raw file)
 *   "DICM" at 128, or a bare DICOM dataset (group 0008)  one DICOM slice (uncompressed, little endian)
 *   a folder                                             its TIFF slices (natural sort of names) or its
 *                                                        DICOM series (sorted by ImagePositionPatient)
 * TIFF resolution tags of 72 or 96 dpi are taken as "unknown" (what image editors write by default).
 * Every voxel becomes float32 (NIfTI: scl_slope/scl_inter applied; DICOM: RescaleSlope/Intercept).
 * Spacing: ImageJ metadata (spacing=, unit=) > TIFF resolution tags > NIfTI sform (sform_code > 0)
 * > NIfTI qform > MetaImage ElementSpacing > DICOM PixelSpacing/positions > the caller's fallback
 * > 1 mm (and TbIoInfo.spacing_source says which). World coordinates: our volumes are axis-aligned
 * (tb-volume.h), so a NIfTI affine is reduced to its diagonal, |a_ii| as spacing and the
 * translation as origin; for an oblique or permuted affine TbIoInfo.note says the rotation was dropped.
 *
 * Writing (always to a temporary name in the same folder, then renamed: nothing half-written):
 *   TIFF: multipage, uncompressed strips of ~256 KiB, with ImageJ metadata (ImageJ=, images=,
 *         slices=, unit=mm, spacing=, min=, max=, x/y/zorigin=) and XResolution/YResolution = 1/spacing,
 *         so ImageJ/Fiji opens it at the right scale; BigTIFF ("w8") when the data pass 4 GiB.
 *         UINT16 and UINT8 output is value-preserving, NOT rescaled: each voxel is rounded to the
 *         nearest integer and clamped to [0, 65535] / [0, 255]; NaN becomes 0.
 *   NIfTI-1 (.nii, or gzip when the name ends in .gz): float32, scl_slope 1, sform and qform both
 *         set (code 1 = scanner) to the diagonal affine of spacing and origin; NIfTI-2 when a
 *         dimension exceeds 32767.
 *
 * Errors: TB_IO_ERROR, one code per kind of failure, with a message that names the file, what is
 * wrong and what to do. Sizes are checked against memory (tb_memory_check) before allocating.
 * Thread safety: every function may run on any thread (libtiff handlers are per file).
 */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_IO_ERROR (tb_io_error_quark ())
GQuark tb_io_error_quark (void);

typedef enum {
  TB_IO_ERROR_NOT_FOUND,    /* no such file or folder, or a folder without image slices */
  TB_IO_ERROR_UNSUPPORTED,  /* a valid file of a kind we do not read (RGB, compressed MetaImage, JPEG 2000 DICOM, ...) */
  TB_IO_ERROR_CORRUPT,      /* not a file of the format it claims; inconsistent header */
  TB_IO_ERROR_TRUNCATED,    /* the file ends before its data does */
  TB_IO_ERROR_TOO_LARGE,    /* the header claims more voxels than this machine can hold */
  TB_IO_ERROR_WRITE,        /* the output could not be written */
} TbIoError;

typedef enum {
  TB_IO_FORMAT_UNKNOWN,
  TB_IO_FORMAT_TIFF,
  TB_IO_FORMAT_TIFF_FOLDER,
  TB_IO_FORMAT_NIFTI1,
  TB_IO_FORMAT_NIFTI2,
  TB_IO_FORMAT_METAIMAGE,
  TB_IO_FORMAT_DICOM,
} TbIoFormat;

typedef enum {
  TB_IO_PIXEL_UINT8, TB_IO_PIXEL_INT8, TB_IO_PIXEL_UINT16, TB_IO_PIXEL_INT16,
  TB_IO_PIXEL_UINT32, TB_IO_PIXEL_INT32, TB_IO_PIXEL_FLOAT32, TB_IO_PIXEL_FLOAT64,
} TbIoPixelType;

/* Options for reading; NULL means all defaults. */
typedef struct {
  double fallback_spacing[3];    /* mm, used when the file states none; zeros: 1 mm assumed */
  TbProgressFunc progress;       /* called at least every 0.5 s on the reading thread; may be NULL */
  gpointer progress_data;
} TbIoReadOptions;

/* What the file said; filled by tb_io_read (all static strings, nothing to free). */
typedef struct {
  TbIoFormat format;
  TbIoPixelType pixel_type;      /* as stored in the file */
  int nx, ny, nz;
  double spacing[3], origin[3];  /* mm, as in the returned volume */
  const char *spacing_source;    /* "ImageJ metadata", "TIFF resolution tags", "NIfTI sform", "NIfTI qform",
                                  * "NIfTI pixdim (no sform or qform)", "MetaImage ElementSpacing",
                                  * "DICOM PixelSpacing and slice positions", "given by the caller",
                                  * "unknown: 1 mm assumed" */
  double scl_slope, scl_inter;   /* value = slope * stored + inter (1, 0 when the file has no scaling) */
  double min, max, mean;         /* of the returned float voxels (finite ones) */
  guint n_files;                 /* files read (1, or the slices of a folder) */
  char note[256];                /* a limitation met while reading ("oblique affine: rotation dropped"), or "" */
} TbIoInfo;

const char *tb_io_format_name     (TbIoFormat format);
const char *tb_io_pixel_type_name (TbIoPixelType type);
/* "float32", "uint16", "uint8" -> the type; FALSE for other names. */
gboolean    tb_io_pixel_type_from_name (const char *name, TbIoPixelType *type);

/* Read a volume (file or folder); the format is found by content. */
TbVolume   *tb_io_read            (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                                   GCancellable *cancellable, GError **error);
/* Read a label image (any format) as a mask: voxels are rounded and clamped to 0..255. */
TbMask     *tb_io_read_mask       (const char *path, const TbIoReadOptions *opts, TbIoInfo *info,
                                   GCancellable *cancellable, GError **error);

/* Writers. type: FLOAT32, UINT16 or UINT8 (see the value mapping above). */
gboolean    tb_io_write_tiff      (const char *path, const TbVolume *v, TbIoPixelType type, GError **error);
gboolean    tb_io_write_mask_tiff (const char *path, const TbMask *m, GError **error);
gboolean    tb_io_write_nifti     (const char *path, const TbVolume *v, GError **error);
/* By the extension of path: .tif/.tiff -> TIFF (type as given), .nii/.nii.gz -> NIfTI (float32 only). */
gboolean    tb_io_write           (const char *path, const TbVolume *v, TbIoPixelType type, GError **error);

G_END_DECLS
