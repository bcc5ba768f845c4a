/* cli-segment.c — `trabecula-cli segment`: bone mask (labels) and optional density map from a CT. */
#include "tb-cli.h"
#include "io/tb-io.h"
#include "segment/tb-segment.h"

#include <math.h>
#include <stdlib.h>

static gboolean
parse_doubles (const char *text, double *out, int n)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  if ((int) g_strv_length (parts) != n)
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      char *end = NULL;
      out[i] = g_ascii_strtod (parts[i], &end);
      if (end == parts[i] || *end != '\0' || !isfinite (out[i]))
        return FALSE;
    }
  return TRUE;
}

/* largest | N | x,y,z (voxel) | label:L */
static gboolean
parse_keep (const char *text, TbKeep *keep)
{
  memset (keep, 0, sizeof *keep);
  if (g_strcmp0 (text, "largest") == 0)
    {
      keep->mode = TB_KEEP_LARGEST;
      keep->n = 1;
      return TRUE;
    }
  if (g_str_has_prefix (text, "label:"))
    {
      keep->mode = TB_KEEP_LABEL;
      keep->n = (guint) g_ascii_strtoull (text + 6, NULL, 10);
      return keep->n > 0;
    }
  double v[3];
  if (parse_doubles (text, v, 3))
    {
      keep->mode = TB_KEEP_SEED;
      for (int i = 0; i < 3; i++)
        keep->seed[i] = (int) v[i];
      return TRUE;
    }
  char *end = NULL;
  guint64 n = g_ascii_strtoull (text, &end, 10);
  if (end != text && *end == '\0' && n > 0 && n < 256)
    {
      keep->mode = TB_KEEP_LARGEST;
      keep->n = (guint) n;
      return TRUE;
    }
  return FALSE;
}

static gboolean
is_nifti (const char *path)
{
  return g_str_has_suffix (path, ".nii") || g_str_has_suffix (path, ".nii.gz");
}

int
tb_cli_segment (int argc, char **argv)
{
  g_autofree char *method_name = NULL, *calibration = NULL, *rods = NULL, *density = NULL, *keep_text = NULL,
                  *markers_path = NULL, *bmd_range = NULL, *json_path = NULL;
  double t_bone = NAN, t_background = NAN, sigma = 1.0, min_object = 1000, min_split = 3000;
  GOptionEntry entries[] = {
    { "method", 'm', 0, G_OPTION_ARG_STRING, &method_name, "complementary (default), watershed, otsu or isodata", "M" },
    { "calibration", 'c', 0, G_OPTION_ARG_STRING, &calibration, "HU -> BMD coefficients: BMD = a + b*HU", "a,b" },
    { "rods", 'r', 0, G_OPTION_ARG_FILENAME, &rods, "fit the calibration to rod ROIs (JSON, see `calibrate`)", "RODS.json" },
    { "density", 'd', 0, G_OPTION_ARG_FILENAME, &density, "write relative density rho in [0.01, 1] (TIFF or NIfTI)", "OUT_RHO" },
    { "bmd-range", 0, 0, G_OPTION_ARG_STRING, &bmd_range, "BMDmin,BMDmax for rho (default: 1st/99th percentile in bone)", "MIN,MAX" },
    { "keep", 'k', 0, G_OPTION_ARG_STRING, &keep_text, "objects to keep: largest, N (largest N), x,y,z (voxel inside), label:L", "WHAT" },
    { "markers", 0, 0, G_OPTION_ARG_FILENAME, &markers_path, "watershed markers on the CT grid: 1 background, 2.. objects", "FILE" },
    { "bone-hu", 0, 0, G_OPTION_ARG_DOUBLE, &t_bone, "bone marker threshold in HU (default: automatic)", "HU" },
    { "background-hu", 0, 0, G_OPTION_ARG_DOUBLE, &t_background, "background marker threshold in HU (default: automatic)", "HU" },
    { "sigma", 0, 0, G_OPTION_ARG_DOUBLE, &sigma, "gradient Gaussian sigma in voxels (default 1)", "S" },
    { "min-object", 0, 0, G_OPTION_ARG_DOUBLE, &min_object, "drop objects below this volume, mm^3 (default 1000)", "MM3" },
    { "min-split", 0, 0, G_OPTION_ARG_DOUBLE, &min_split, "parts kept apart at a joint are at least this big, mm^3 (default 3000)", "MM3" },
    { "json", 'j', 0, G_OPTION_ARG_FILENAME, &json_path, "write thresholds, objects and calibration as JSON", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("CT OUT_MASK — segment bone (labels 1..n by volume)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 3)
    return tb_cli_usage ("segment", "expected CT and OUT_MASK");
  TbSegmentParams params;
  tb_segment_params_init (&params);
  if (method_name != NULL && !tb_segment_method_from_name (method_name, &params.method))
    return tb_cli_usage ("segment", "unknown method '%s' (complementary, watershed, otsu, isodata)", method_name);
  if (calibration != NULL && rods != NULL)
    return tb_cli_usage ("segment", "give --calibration or --rods, not both");
  TbCalibration cal;
  tb_calibration_init_given (&cal, 0, 1);
  double cal_ab[2];
  if (calibration != NULL && !parse_doubles (calibration, cal_ab, 2))
    return tb_cli_usage ("segment", "--calibration wants two numbers a,b");
  double range[2] = { NAN, NAN };
  if (bmd_range != NULL && !parse_doubles (bmd_range, range, 2))
    return tb_cli_usage ("segment", "--bmd-range wants two numbers MIN,MAX");
  TbKeep keep = { TB_KEEP_ALL };
  if (keep_text != NULL && !parse_keep (keep_text, &keep))
    return tb_cli_usage ("segment", "--keep wants largest, N, x,y,z or label:L, not '%s'", keep_text);
  params.t_bone = t_bone;
  params.t_background = t_background;
  params.gradient_sigma = sigma;
  params.min_object_mm3 = min_object;
  params.min_split_mm3 = min_split;

  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) ct = tb_io_read (argv[1], NULL, NULL, NULL, &error);
  if (ct == NULL)
    return tb_cli_fail ("segment", error);
  g_autoptr(TbMask) markers = NULL;
  if (markers_path != NULL)
    {
      markers = tb_io_read_mask (markers_path, NULL, NULL, NULL, &error);
      if (markers == NULL)
        return tb_cli_fail ("segment", error);
      params.markers = markers;
    }
  if (calibration != NULL)
    tb_calibration_init_given (&cal, cal_ab[0], cal_ab[1]);
  else if (rods != NULL && !tb_calibration_fit_file (&cal, ct, rods, &error))
    return tb_cli_fail ("segment", error);

  g_autoptr(TbSegmentResult) res = tb_segment_run (ct, &params, NULL, tb_cli_progress, NULL, &error);
  if (res == NULL)
    return tb_cli_fail ("segment", error);
  g_autoptr(TbMask) kept = tb_segment_keep (res->labels, &keep, &error);
  if (kept == NULL)
    return tb_cli_fail ("segment", error);

  g_print ("method:           %s\n", tb_segment_method_name (params.method));
  g_print ("soft tissue:      %.1f HU (sigma %.1f HU)\n", res->soft_tissue_hu, res->soft_tissue_sigma);
  g_print ("optimal threshold %.1f HU (%s, %u bins above the soft-tissue peak)\n", res->t_optimal,
           params.method == TB_SEGMENT_OTSU ? "Otsu" : "IsoData", params.n_bins);
  g_print ("bone markers:     > %.1f HU; background markers: < %.1f HU\n", res->t_bone, res->t_background);
  if (res->n_splits > 0)
    g_print ("joint separation: %u contacts split at %.1f..%.1f HU\n", res->n_splits, res->t_split_min, res->t_split_max);
  gsize counts[256] = { 0 };
  for (gsize i = 0; i < tb_mask_n_voxels (kept); i++)
    counts[kept->data[i]]++;
  double voxel = ct->spacing[0] * ct->spacing[1] * ct->spacing[2];
  guint n_kept = 0;
  for (guint l = 1; l < 256; l++)
    n_kept += counts[l] > 0;
  g_print ("objects:          %u found, %u kept\n", res->n_objects, n_kept);
  for (guint l = 1; l < 256; l++)
    if (counts[l] > 0)
      g_print ("  label %3u  %10.1f cm^3  (%zu voxels)\n", l, counts[l] * voxel / 1000, counts[l]);

  gboolean ok;
  if (is_nifti (argv[2]))
    {
      g_autoptr(TbVolume) kv = tb_mask_to_volume (kept, &error);
      ok = kv != NULL && tb_io_write_nifti (argv[2], kv, &error);
    }
  else
    ok = tb_io_write_mask_tiff (argv[2], kept, &error);
  if (!ok)
    return tb_cli_fail ("segment", error);
  if (density != NULL)
    {
      g_autoptr(TbVolume) bmd = tb_calibration_apply (&cal, ct, &error);
      if (bmd == NULL)
        return tb_cli_fail ("segment", error);
      g_autoptr(TbVolume) rho = tb_density_from_bmd (bmd, kept, &range[0], &range[1], &error);
      if (rho == NULL)
        return tb_cli_fail ("segment", error);
      gboolean from_image = bmd_range == NULL;
      g_print ("density:          rho = 0.01 + 0.99 (BMD - BMDmin)/(BMDmax - BMDmin) in bone, 0.01 outside;\n"
               "                  BMDmin %.1f, BMDmax %.1f mg HA/cm^3 (%s); BMD = %.4g + %.4g * HU (%s)\n",
               range[0], range[1], from_image ? "1st/99th percentile in bone" : "given", cal.a, cal.b,
               cal.fitted ? "fitted to rods" : calibration != NULL ? "given" : "no calibration given: BMD taken as HU");
      ok = tb_io_write (density, rho, TB_IO_PIXEL_FLOAT32, &error);
      if (!ok)
        return tb_cli_fail ("segment", error);
    }
  if (json_path != NULL)
    {
      g_autoptr(JsonBuilder) jb = json_builder_new ();
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "method");
      json_builder_add_string_value (jb, tb_segment_method_name (params.method));
      const char *names[] = { "soft_tissue_hu", "soft_tissue_sigma_hu", "t_optimal_hu", "t_bone_hu", "t_background_hu" };
      double vals[] = { res->soft_tissue_hu, res->soft_tissue_sigma, res->t_optimal, res->t_bone, res->t_background };
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          json_builder_set_member_name (jb, names[i]);
          json_builder_add_double_value (jb, vals[i]);
        }
      json_builder_set_member_name (jb, "objects_mm3");
      json_builder_begin_array (jb);
      for (guint l = 1; l < 256; l++)
        if (counts[l] > 0)
          json_builder_add_double_value (jb, counts[l] * voxel);
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "calibration");
      json_builder_add_value (jb, tb_calibration_to_json (&cal));
      if (density != NULL)
        {
          json_builder_set_member_name (jb, "bmd_min");
          json_builder_add_double_value (jb, range[0]);
          json_builder_set_member_name (jb, "bmd_max");
          json_builder_add_double_value (jb, range[1]);
        }
      json_builder_end_object (jb);
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) root = json_builder_get_root (jb);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      /* g_file_set_contents writes a temporary file and renames it: nothing half-written */
      if (!g_file_set_contents (json_path, text, -1, &error))
        return tb_cli_fail ("segment", error);
    }
  return TB_CLI_OK;
}
