/* tb-gpu-probe.cu — does a CUDA device answer? Enumerate, then run one kernel and read it back. */
#include "tb-gpu.h"

#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

__global__ static void
probe_kernel (int *out)
{
  out[threadIdx.x] = (int) threadIdx.x * 3 + 1;
}

static void
fail (TbGpuInfo *info, const char *what, cudaError_t err)
{
  info->available = false;
  snprintf (info->reason, sizeof info->reason, "%s: %s (%s)", what, cudaGetErrorString (err), cudaGetErrorName (err));
}

static void
probe_once (TbGpuInfo *info)
{
  memset (info, 0, sizeof *info);
  info->built = true;
  cudaRuntimeGetVersion (&info->runtime_version);
  cudaDriverGetVersion (&info->driver_version);

  cudaError_t err = cudaGetDeviceCount (&info->device_count);
  if (err != cudaSuccess)
    {
      info->device_count = 0;
      fail (info, "no CUDA device answered", err);
      return;
    }
  if (info->device_count == 0)
    {
      snprintf (info->reason, sizeof info->reason, "the CUDA driver reports no device");
      return;
    }
  cudaDeviceProp prop;
  if ((err = cudaGetDeviceProperties (&prop, 0)) != cudaSuccess)
    return fail (info, "cannot read device 0", err);
  snprintf (info->name, sizeof info->name, "%s", prop.name);
  info->compute_major = prop.major;
  info->compute_minor = prop.minor;
  if ((err = cudaSetDevice (0)) != cudaSuccess)
    return fail (info, "cannot select device 0", err);
  if ((err = cudaMemGetInfo (&info->free_memory, &info->total_memory)) != cudaSuccess)
    return fail (info, "cannot query device memory", err);

  int *d = NULL, h[32];
  if ((err = cudaMalloc (&d, sizeof h)) != cudaSuccess)
    return fail (info, "cannot allocate on the device", err);
  probe_kernel<<<1, 32>>> (d);
  err = cudaGetLastError ();
  if (err == cudaSuccess)
    err = cudaMemcpy (h, d, sizeof h, cudaMemcpyDeviceToHost);
  cudaFree (d);
  if (err != cudaSuccess)
    return fail (info, "the device could not run a kernel", err);
  for (int i = 0; i < 32; i++)
    if (h[i] != i * 3 + 1)
      {
        snprintf (info->reason, sizeof info->reason, "the device ran a kernel but returned wrong values");
        return;
      }
  info->available = true;
}

static TbGpuInfo cached;

static void
probe_cached (void)
{
  probe_once (&cached);
}

extern "C" void
tb_gpu_probe (TbGpuInfo *info)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once (&once, probe_cached);
  *info = cached;
}
