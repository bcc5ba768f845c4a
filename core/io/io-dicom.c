/* io-dicom.c — placeholder until the DICOM series reader lands: DICOM input is refused by name. */
#include "io-private.h"

#include <string.h>

gboolean
tb_io_dicom_sniff (const guint8 *head, gsize n)
{
  return n >= 132 && memcmp (head + 128, "DICM", 4) == 0;
}

TbVolume *
tb_io_dicom_read_files (const char *folder, char **files, const TbIoReadOptions *opts,
                        TbIoInfo *info, GCancellable *cancellable, GError **error)
{
  g_set_error (error, TB_IO_ERROR, TB_IO_ERROR_UNSUPPORTED,
               "%s is DICOM, which this build does not read yet; convert the series to NIfTI "
               "(e.g. dcm2niix) and open the .nii.gz", files[0]);
  return NULL;
}
