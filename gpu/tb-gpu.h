/* tb-gpu.h — what the GPU side of Trabecula offers the rest of the program.
 *
 * The probe asks whether a CUDA device answers: it enumerates devices and runs one tiny kernel,
 * so a driver that is installed but cannot run code also counts as "no GPU". Without a GPU, or in
 * a build without the CUDA toolkit, every caller takes the CPU path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  bool built;            /* the CUDA path was compiled in */
  bool available;        /* a device answered and ran a kernel */
  int device_count;
  char name[256];        /* device 0 */
  size_t total_memory;   /* bytes */
  size_t free_memory;    /* bytes */
  int compute_major, compute_minor;
  int runtime_version, driver_version;
  char reason[512];      /* why not available, for the user */
} TbGpuInfo;

/* Fills info; never fails, never aborts. Safe to call from any thread, cheap after the first call. */
void tb_gpu_probe (TbGpuInfo *info);

#ifdef __cplusplus
}
#endif
