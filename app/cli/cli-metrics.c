/* cli-metrics.c — `trabecula-cli metrics A B`: PSNR, SSIM and Dice of two images. */
#include "tb-cli.h"
#include "io/tb-io.h"
#include "metrics/tb-metrics.h"
#include "morpho/tb-morpho.h"

#include <math.h>

static void
print_row (const char *name, double value, const char *unit, const char *definition, const GError *why)
{
  if (why != NULL)
    g_print ("%-8s %14s  %-3s %s (%s)\n", name, "nan", unit, definition, why->message);
  else
    g_print ("%-8s %14.9g  %-3s %s\n", name, value, unit, definition);
}

int
tb_cli_metrics (int argc, char **argv)
{
  double range = NAN;
  g_autofree char *mask_path = NULL;
  GOptionEntry entries[] = {
    { "data-range", 'r', 0, G_OPTION_ARG_DOUBLE, &range, "Span of possible values (required: never guessed from the type)", "R" },
    { "mask", 'm', 0, G_OPTION_ARG_FILENAME, &mask_path, "Only voxels (PSNR) / window centres (SSIM) inside this mask", "M" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("A B — image-quality metrics of B against the reference A");
  g_option_context_set_summary (ctx,
    "PSNR and SSIM (Wang et al. 2004: 11x11 Gaussian window sigma 1.5, K1 0.01, K2 0.03, population\n"
    "statistics, valid windows only) in 2D (every slice) and 3D (11^3 windows); Dice when both are binary.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 3)
    return tb_cli_usage ("metrics", "expected two images A B");
  if (isnan (range))
    return tb_cli_usage ("metrics", "give --data-range R (e.g. 1 for densities, 255 for 8-bit images)");

  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) a = tb_io_read (argv[1], NULL, NULL, NULL, &error);
  if (a == NULL)
    return tb_cli_fail ("metrics", error);
  g_autoptr(TbVolume) b = tb_io_read (argv[2], NULL, NULL, NULL, &error);
  if (b == NULL)
    return tb_cli_fail ("metrics", error);
  g_autoptr(TbMask) mask = NULL;
  if (mask_path != NULL && (mask = tb_io_read_mask (mask_path, NULL, NULL, NULL, &error)) == NULL)
    return tb_cli_fail ("metrics", error);

  double psnr = tb_metrics_psnr (a, b, range, mask, &error);
  if (error != NULL && !g_error_matches (error, TB_METRICS_ERROR, TB_METRICS_ERROR_EMPTY))
    return tb_cli_fail ("metrics", error);
  g_print ("%s vs %s, data range %g\n", argv[2], argv[1], range);
  print_row ("PSNR", psnr, "dB", "10 log10 (R^2 / MSE)", error);
  g_clear_error (&error);

  double s2 = tb_metrics_ssim (a, b, range, TB_METRICS_SSIM_2D, mask, NULL, &error);
  print_row ("SSIM2D", s2, "1", "mean SSIM over 11x11 windows of every slice (Wang 2004)", error);
  g_clear_error (&error);
  if (a->nz > 1)
    {
      double s3 = tb_metrics_ssim (a, b, range, TB_METRICS_SSIM_3D, mask, NULL, &error);
      print_row ("SSIM3D", s3, "1", "mean SSIM over 11x11x11 windows", error);
      g_clear_error (&error);
    }
  g_autoptr(TbMask) ba = tb_morpho_binarize (a, NULL);
  g_autoptr(TbMask) bb = tb_morpho_binarize (b, NULL);
  if (ba != NULL && bb != NULL)
    {
      double dice = tb_metrics_dice (ba, bb, &error);
      print_row ("Dice", dice, "1", "2 |A n B| / (|A| + |B|) of the binary images", error);
    }
  else
    g_print ("Dice     (not computed: the images are not both binary)\n");
  return TB_CLI_OK;
}
