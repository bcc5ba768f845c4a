/* cli-info.c — `trabecula-cli info`: describe an image file, or the compute backends. */
#include "tb-cli.h"
#include "tb-gpu.h"

#include <omp.h>

static int
print_backends (void)
{
  TbGpuInfo gpu;
  tb_gpu_probe (&gpu);
  g_print ("CPU:  %d threads (OpenMP), always available\n", omp_get_max_threads ());
  if (gpu.available)
    {
      g_autofree char *total = g_format_size (gpu.total_memory);
      g_autofree char *freem = g_format_size (gpu.free_memory);
      g_print ("GPU:  %s (compute %d.%d), %s memory, %s free; CUDA runtime %d, driver %d\n",
               gpu.name, gpu.compute_major, gpu.compute_minor, total, freem,
               gpu.runtime_version, gpu.driver_version);
      g_print ("Using: GPU where a stage has a GPU path, else CPU\n");
    }
  else
    {
      g_print ("GPU:  none (%s)\n", gpu.reason);
      g_print ("Using: CPU\n");
    }
  return TB_CLI_OK;
}

int
tb_cli_info (int argc, char **argv)
{
  gboolean backends = FALSE;
  GOptionEntry entries[] = {
    { "backends", 'b', 0, G_OPTION_ARG_NONE, &backends, "Show the compute backends (CPU threads, CUDA device)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("[FILE] — describe an image file or the backends");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (backends)
    return print_backends ();
  if (argc != 2)
    return tb_cli_usage ("info", "expected one FILE, or --backends");
  return tb_cli_usage ("info", "reading files needs the image I/O stage");
}
