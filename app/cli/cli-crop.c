/* cli-crop.c — `trabecula-cli crop IN OUT`: a box of voxels, or a box in mm around a centre. */
#include "cli-image.h"

int
tb_cli_crop (int argc, char **argv)
{
  g_autofree char *type = NULL, *input_spacing = NULL, *box_text = NULL, *centre_text = NULL, *size_text = NULL;
  GOptionEntry entries[] = {
    { "box", 'b', 0, G_OPTION_ARG_STRING, &box_text, "Voxel box: first voxel and size", "X0,Y0,Z0,NX,NY,NZ" },
    { "centre-mm", 'c', 0, G_OPTION_ARG_STRING, &centre_text, "Box centre in world mm (with --size-mm)", "X,Y,Z" },
    { "size-mm", 's', 0, G_OPTION_ARG_STRING, &size_text, "Box size in mm (with --centre-mm)", "A,B,C" },
    { "type", 't', 0, G_OPTION_ARG_STRING, &type, "Output type for TIFF: float32 (default), uint16, uint8", "TYPE" },
    TB_CLI_INPUT_SPACING_ENTRY (input_spacing),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("IN OUT — cut a box (VOI) out of an image");
  g_option_context_set_description (ctx, "Give either --box or both --centre-mm and --size-mm. World mm are "
                                         "those 'info' prints: origin + index * spacing.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 3)
    return tb_cli_usage ("crop", "expected IN and OUT");
  int b[6];
  double centre[3], size[3];
  if ((box_text != NULL) == (centre_text != NULL || size_text != NULL))
    return tb_cli_usage ("crop", "give either --box or --centre-mm with --size-mm");
  if (box_text != NULL && !tb_cli_parse_ints (box_text, b, 6))
    return tb_cli_usage ("crop", "--box wants six integers X0,Y0,Z0,NX,NY,NZ, not '%s'", box_text);
  if (box_text == NULL && (!tb_cli_parse_doubles (centre_text, centre, 3) || !tb_cli_parse_doubles (size_text, size, 3)))
    return tb_cli_usage ("crop", "--centre-mm and --size-mm want three numbers each (X,Y,Z)");
  double fallback[3];
  int status = TB_CLI_OK;
  if (!tb_cli_input_spacing ("crop", input_spacing, fallback, &status))
    return status;

  g_autoptr(TbVolume) v = tb_cli_read ("crop", argv[1], input_spacing ? fallback : NULL, NULL);
  if (v == NULL)
    return TB_CLI_INPUT;
  g_autoptr(GError) error = NULL;
  TbBox box = { b[0], b[1], b[2], b[3], b[4], b[5] };
  if (box_text == NULL && !tb_box_from_world (v, centre, size, &box, &error))
    return tb_cli_fail ("crop", error);
  g_autoptr(TbVolume) out = tb_volume_crop (v, &box, &error);
  if (out == NULL)
    return tb_cli_fail ("crop", error);
  return tb_cli_write ("crop", argv[2], out, type);
}
