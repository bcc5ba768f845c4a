/* cli-info.c — `trabecula-cli info`: describe an image file, or the compute backends. */
#include "cli-image.h"
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

static int
print_file (const char *path, const char *input_spacing)
{
  double fallback[3];
  int status = TB_CLI_OK;
  if (!tb_cli_input_spacing ("info", input_spacing, fallback, &status))
    return status;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_cli_read ("info", path, input_spacing ? fallback : NULL, &info);
  if (v == NULL)
    return TB_CLI_INPUT;
  g_autofree char *size = g_format_size_full ((guint64) tb_volume_n_voxels (v) * sizeof (float), G_FORMAT_SIZE_IEC_UNITS);
  g_print ("File:     %s\n", path);
  if (info.n_files > 1)
    g_print ("Format:   %s (%u files)\n", tb_io_format_name (info.format), info.n_files);
  else
    g_print ("Format:   %s\n", tb_io_format_name (info.format));
  g_print ("Voxels:   %d x %d x %d %s (%s as float32)\n", v->nx, v->ny, v->nz,
           tb_io_pixel_type_name (info.pixel_type), size);
  g_print ("Spacing:  %.6g x %.6g x %.6g mm (from %s)\n", v->spacing[0], v->spacing[1], v->spacing[2],
           info.spacing_source);
  g_print ("Origin:   %.6g, %.6g, %.6g mm (centre of voxel 0,0,0)\n", v->origin[0], v->origin[1], v->origin[2]);
  g_print ("Extent:   %.6g x %.6g x %.6g mm\n", v->nx * v->spacing[0], v->ny * v->spacing[1], v->nz * v->spacing[2]);
  if (info.scl_slope != 1.0 || info.scl_inter != 0.0)
    g_print ("Scaling:  value = %.9g * stored + %.9g\n", info.scl_slope, info.scl_inter);
  g_print ("Range:    %.9g .. %.9g\n", info.min, info.max);
  g_print ("Mean:     %.9g\n", info.mean);
  if (info.note[0] != '\0')
    g_print ("Note:     %s\n", info.note);
  return TB_CLI_OK;
}

int
tb_cli_info (int argc, char **argv)
{
  gboolean backends = FALSE;
  g_autofree char *input_spacing = NULL;
  GOptionEntry entries[] = {
    { "backends", 'b', 0, G_OPTION_ARG_NONE, &backends, "Show the compute backends (CPU threads, CUDA device)", NULL },
    TB_CLI_INPUT_SPACING_ENTRY (input_spacing),
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
  return print_file (argv[1], input_spacing);
}
