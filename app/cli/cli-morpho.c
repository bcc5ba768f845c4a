/* cli-morpho.c — `trabecula-cli morpho`: bone morphometry of a binary image. */
#include "tb-cli.h"
#include "io/tb-io.h"
#include "morpho/tb-morpho.h"

#include <math.h>

int
tb_cli_morpho (int argc, char **argv)
{
  g_autofree char *mask_path = NULL, *csv = NULL, *json = NULL, *map_path = NULL;
  gboolean ba_ta = FALSE, no_smi = FALSE, no_da = FALSE;
  GOptionEntry entries[] = {
    { "mask", 'm', 0, G_OPTION_ARG_FILENAME, &mask_path, "Region (TV) mask: nonzero voxels count", "TV" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Also write the table as CSV", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Also write the table as JSON", "FILE" },
    { "thickness-map", 0, 0, G_OPTION_ARG_FILENAME, &map_path, "Write the local thickness map (mm, float32 TIFF)", "OUT.tif" },
    { "ba-ta", 0, 0, G_OPTION_ARG_NONE, &ba_ta, "Also print the 2D area fraction BA/TA of every z slice", NULL },
    { "no-smi", 0, 0, G_OPTION_ARG_NONE, &no_smi, "Skip SMI", NULL },
    { "no-da", 0, 0, G_OPTION_ARG_NONE, &no_da, "Skip the degree of anisotropy", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("BINARY — morphometry of a binary bone image (0 and 1, 255 or 127)");
  g_option_context_set_summary (ctx,
    "Prints BV/TV, BS/BV, Tb.Th, Tb.Sp, Tb.N, SMI, Euler number, Conn.D and DA, each with its unit\n"
    "and definition (Bouxsein et al. 2010 nomenclature). Lengths in mm from the image's voxel size.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 2)
    return tb_cli_usage ("morpho", "expected one BINARY image");

  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (argv[1], NULL, &info, NULL, &error);
  if (v == NULL)
    return tb_cli_fail ("morpho", error);
  g_autoptr(TbMask) bone = tb_morpho_binarize (v, &error);
  if (bone == NULL)
    return tb_cli_fail ("morpho", error);
  g_autoptr(TbMask) tv = NULL;
  if (mask_path != NULL && (tv = tb_io_read_mask (mask_path, NULL, NULL, NULL, &error)) == NULL)
    return tb_cli_fail ("morpho", error);

  TbMorphoFlags flags = (no_smi ? TB_MORPHO_SKIP_SMI : 0) | (no_da ? TB_MORPHO_SKIP_ANISOTROPY : 0);
  g_auto(TbMorphoResult) r = { 0 };
  if (!tb_morpho_measure (bone, tv, flags, &r, NULL, tb_cli_progress, NULL, &error))
    return tb_cli_fail ("morpho", error);

  g_print ("%s: %d x %d x %d voxels of %g x %g x %g mm (%s)\n", argv[1], v->nx, v->ny, v->nz,
           v->spacing[0], v->spacing[1], v->spacing[2], info.spacing_source);
  g_autofree char *table = tb_morpho_result_to_table (&r);
  g_print ("%s", table);
  if (ba_ta)
    {
      g_print ("\nslice  BA/TA (bone area / total area of the slice)\n");
      for (int k = 0; k < bone->nz; k++)
        g_print ("%5d  %.6f\n", k, tb_morpho_area_fraction (bone, tv, k));
    }
  /* g_file_set_contents writes a temporary file and renames it: never half-written */
  if (csv != NULL)
    {
      g_autofree char *text = tb_morpho_result_to_csv (&r);
      if (!g_file_set_contents (csv, text, -1, &error))
        return tb_cli_fail ("morpho", error);
    }
  if (json != NULL)
    {
      g_autofree char *text = tb_morpho_result_to_json (&r);
      if (!g_file_set_contents (json, text, -1, &error))
        return tb_cli_fail ("morpho", error);
    }
  if (map_path != NULL)
    {
      g_autoptr(TbVolume) map = tb_morpho_local_thickness (bone, TRUE, tv, NULL, NULL, NULL, NULL, tb_cli_progress, NULL, &error);
      if (map == NULL || !tb_io_write (map_path, map, TB_IO_PIXEL_FLOAT32, &error))
        return tb_cli_fail ("morpho", error);
    }
  return TB_CLI_OK;
}
