/* cli-resample.c — `trabecula-cli resample IN OUT`: to a voxel size, or by an integer factor. */
#include "cli-image.h"

#include <string.h>

int
tb_cli_resample (int argc, char **argv)
{
  g_autofree char *type = NULL, *input_spacing = NULL, *spacing_text = NULL, *factor_text = NULL;
  GOptionEntry entries[] = {
    { "spacing", 's', 0, G_OPTION_ARG_STRING, &spacing_text, "New voxel size in mm (trilinear)", "S|SX,SY,SZ" },
    { "factor", 'f', 0, G_OPTION_ARG_STRING, &factor_text,
      "up:N copies each voxel to N^3 sub-voxels; down:N averages N^3 voxels (exact box mean)", "up:N|down:N" },
    { "type", 't', 0, G_OPTION_ARG_STRING, &type, "Output type for TIFF: float32 (default), uint16, uint8", "TYPE" },
    TB_CLI_INPUT_SPACING_ENTRY (input_spacing),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("IN OUT — change the voxel size");
  g_option_context_set_description (ctx, "Give either --spacing or --factor. The physical extent is kept "
                                         "(see tb-volume.h for the geometry of each).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 3)
    return tb_cli_usage ("resample", "expected IN and OUT");
  if ((spacing_text != NULL) == (factor_text != NULL))
    return tb_cli_usage ("resample", "give either --spacing or --factor");
  double spacing[3];
  if (spacing_text != NULL && !tb_cli_parse_spacing (spacing_text, spacing))
    return tb_cli_usage ("resample", "--spacing wants S or SX,SY,SZ in mm (positive), not '%s'", spacing_text);
  gboolean up = FALSE;
  int n = 0;
  if (factor_text != NULL)
    {
      up = g_str_has_prefix (factor_text, "up:");
      const char *num = strchr (factor_text, ':');
      char *end = NULL;
      gint64 f = num != NULL ? g_ascii_strtoll (num + 1, &end, 10) : 0;
      if ((!up && !g_str_has_prefix (factor_text, "down:")) || end == NULL || *end != '\0' || f < 1 || f > 64)
        return tb_cli_usage ("resample", "--factor wants up:N or down:N with N from 1 to 64, not '%s'", factor_text);
      n = (int) f;
    }
  double fallback[3];
  int status = TB_CLI_OK;
  if (!tb_cli_input_spacing ("resample", input_spacing, fallback, &status))
    return status;

  g_autoptr(TbVolume) v = tb_cli_read ("resample", argv[1], input_spacing ? fallback : NULL, NULL);
  if (v == NULL)
    return TB_CLI_INPUT;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) out = NULL;
  if (spacing_text != NULL)
    out = tb_volume_resample (v, spacing, &error);
  else if (up)
    out = tb_volume_upscale (v, n, &error);
  else
    out = tb_volume_downscale (v, n, n, n, &error);
  if (out == NULL)
    return tb_cli_fail ("resample", error);
  return tb_cli_write ("resample", argv[2], out, type);
}
