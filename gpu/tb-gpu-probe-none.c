/* tb-gpu-probe-none.c — the probe of a build without the CUDA toolkit. */
#include "tb-gpu.h"

#include <string.h>

void
tb_gpu_probe (TbGpuInfo *info)
{
  memset (info, 0, sizeof *info);
  strcpy (info->reason, "this build has no CUDA path (the CUDA toolkit was not found when it was configured)");
}
