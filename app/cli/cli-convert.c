/* cli-convert.c — `trabecula-cli convert IN OUT`: any readable image to TIFF or NIfTI. */
#include "cli-image.h"

int
tb_cli_convert (int argc, char **argv)
{
  g_autofree char *type = NULL, *input_spacing = NULL;
  GOptionEntry entries[] = {
    { "type", 't', 0, G_OPTION_ARG_STRING, &type,
      "Output voxel type for TIFF: float32 (default), uint16 or uint8 (rounded and clamped, not rescaled)", "TYPE" },
    TB_CLI_INPUT_SPACING_ENTRY (input_spacing),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("IN OUT — convert an image (TIFF, NIfTI, MetaImage, "
                                                         "DICOM, a folder of slices) to OUT");
  g_option_context_set_description (ctx, "The output format follows OUT's extension: .tif/.tiff (multipage, ImageJ "
                                         "metadata) or .nii/.nii.gz (float32).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 3)
    return tb_cli_usage ("convert", "expected IN and OUT");
  double fallback[3];
  int status = TB_CLI_OK;
  if (!tb_cli_input_spacing ("convert", input_spacing, fallback, &status))
    return status;
  g_autoptr(TbVolume) v = tb_cli_read ("convert", argv[1], input_spacing ? fallback : NULL, NULL);
  if (v == NULL)
    return TB_CLI_INPUT;
  return tb_cli_write ("convert", argv[2], v, type);
}
