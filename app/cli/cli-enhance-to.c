/* cli-enhance-to.c — resolution enhancement of a VOI by topology optimization (paper 000).
 * Reached as `trabecula-cli enhance --method to` (cli-enhance.c).
 *
 *   trabecula-cli enhance --method to --phantom --voi head -o head.tif --history head.csv
 *   trabecula-cli enhance --method to CT.tif --voi-box 100,80,60,8,8,8 --stress 0,0,-2,0,0,0 -o voi.tif
 *
 * The CT is read as HU, turned into BMD by the calibration HU = a + b BMD, then into relative
 * density between --bmd-range; the VOI's loads come from the whole-bone FE under the hip load cases
 * (--loads hip: needs femur landmarks, which the phantom provides) or from apparent stresses given
 * by hand (--stress, one load case each). The enhanced VOI (relative density at n x resolution,
 * 32-bit float, ImageJ spacing) and the history CSV are written; the constraint values are printed. */
#include "tb-cli.h"
#include "topopt/tb-topopt.h"
#include "phantom/tb-phantom.h"
#include "io/tb-io.h"

#include <stdlib.h>
#include <string.h>

static gboolean
parse_doubles (const char *text, double *out, int n)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  if ((int) g_strv_length (parts) != n)
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      char *end;
      out[i] = g_ascii_strtod (parts[i], &end);
      if (end == parts[i] || *end != '\0')
        return FALSE;
    }
  return TRUE;
}

static void
print_iteration (const TbTopoptReport *r, gpointer data)
{
  GString *line = g_string_new (NULL);
  g_string_printf (line, "It.%4d  obj %.5f  ch %.3f", r->iteration, r->objective, r->change);
  for (int i = 0; i < r->n_constraints; i++)
    g_string_append_printf (line, "  %s %+.4f", r->constraint_names[i], r->constraints[i]);
  g_string_append_printf (line, "  FE %d its %.2f s\n", r->fe_iterations, r->t_fe);
  g_printerr ("%s", line->str);
  g_string_free (line, TRUE);
}

int
tb_cli_enhance_to (int argc, char **argv)
{
  const char *cmd = "enhance";
  gboolean phantom_input = FALSE;
  g_autofree char *voi_name = NULL, *voi_box = NULL, *loads = NULL, *output = NULL, *history = NULL;
  g_autofree char *calib = NULL, *bmd_range = NULL;
  g_auto(GStrv) stresses = NULL;
  int upscale = 8, levels = 0, iterations = 0, coarsen = 1;
  double eps1 = 0, eps2 = 0, rmin = 0;
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "phantom", 0, 0, G_OPTION_ARG_NONE, &phantom_input, "Use the built-in phantom's simulated QCT as input", NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Phantom seed (default 1)", "N" },
    { "voi", 0, 0, G_OPTION_ARG_STRING, &voi_name, "Phantom VOI preset: head, neck, wards, intertrochanter", "NAME" },
    { "voi-box", 0, 0, G_OPTION_ARG_STRING, &voi_box, "VOI as voxel box x0,y0,z0,nx,ny,nz", "BOX" },
    { "loads", 0, 0, G_OPTION_ARG_STRING, &loads, "hip (localized whole-bone FE; phantom default) or stress", "KIND" },
    { "stress", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stresses, "Apparent stress sxx,syy,szz,sxy,syz,sxz in MPa, one load case each (repeat)", "S" },
    { "coarsen", 0, 0, G_OPTION_ARG_INT, &coarsen, "Coarsen the whole-bone FE by this factor (default 1)", "F" },
    { "upscale", 'n', 0, G_OPTION_ARG_INT, &upscale, "Sub-voxels per clinical voxel per axis (default 8)", "N" },
    { "levels", 0, 0, G_OPTION_ARG_INT, &levels, "BMD constraint levels (default 1: the clinical voxels)", "L" },
    { "eps1", 0, 0, G_OPTION_ARG_DOUBLE, &eps1, "BMD deviation tolerance", "E" },
    { "eps2", 0, 0, G_OPTION_ARG_DOUBLE, &eps2, "Black-and-white tolerance", "E" },
    { "rmin", 0, 0, G_OPTION_ARG_DOUBLE, &rmin, "Filter radius in sub-voxels", "R" },
    { "iterations", 0, 0, G_OPTION_ARG_INT, &iterations, "Maximum iterations", "N" },
    { "calibration", 0, 0, G_OPTION_ARG_STRING, &calib, "HU = a + b BMD: a,b (default 0,1; the phantom's own)", "A,B" },
    { "bmd-range", 0, 0, G_OPTION_ARG_STRING, &bmd_range, "BMD of relative density 0.01 and 1 (default 0,1200)", "MIN,MAX" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Enhanced VOI, 32-bit float TIFF", "FILE.tif" },
    { "history", 'H', 0, G_OPTION_ARG_FILENAME, &history, "Iteration history CSV", "FILE.csv" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("[CT] — enhance a VOI by topology optimization (paper 000)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (phantom_input == (argc == 2) || argc > 2)
    return tb_cli_usage (cmd, "give either one CT file or --phantom");
  if ((voi_name != NULL) == (voi_box != NULL))
    return tb_cli_usage (cmd, "give either --voi NAME (phantom) or --voi-box x0,y0,z0,nx,ny,nz");
  if (voi_name != NULL && !phantom_input)
    return tb_cli_usage (cmd, "--voi presets exist on the phantom only; use --voi-box on a CT");
  if (output == NULL)
    return tb_cli_usage (cmd, "--output FILE.tif is required");
  const char *load_kind = loads != NULL ? loads : stresses != NULL ? "stress" : "hip";
  if (!g_str_equal (load_kind, "hip") && !g_str_equal (load_kind, "stress"))
    return tb_cli_usage (cmd, "--loads must be hip or stress");
  if (g_str_equal (load_kind, "stress") && stresses == NULL)
    return tb_cli_usage (cmd, "--loads stress needs at least one --stress sxx,syy,szz,sxy,syz,sxz");
  if (g_str_equal (load_kind, "hip") && !phantom_input)
    return tb_cli_usage (cmd, "hip loads need femur landmarks, known on the phantom only; use --stress on a CT");
  double ab[2] = { 0, 1 }, range[2] = { 0, 1200 };
  if (calib != NULL && !parse_doubles (calib, ab, 2))
    return tb_cli_usage (cmd, "--calibration needs a,b");
  if (bmd_range != NULL && !parse_doubles (bmd_range, range, 2))
    return tb_cli_usage (cmd, "--bmd-range needs min,max");
  if (ab[1] == 0)
    return tb_cli_usage (cmd, "--calibration slope b must not be 0");

  g_autoptr(GError) error = NULL;
  g_autoptr(TbPhantom) phantom = NULL;
  g_autoptr(TbPhantomQct) qct = NULL;
  g_autoptr(TbVolume) hu = NULL;
  TbFemurLandmarks landmarks;
  if (phantom_input)
    {
      TbPhantomParams params;
      tb_phantom_params_init (&params);
      params.seed = (guint64) seed;
      phantom = tb_phantom_new (&params, &error);
      if (phantom == NULL)
        return tb_cli_fail (cmd, error);
      qct = tb_phantom_simulate_qct (phantom, NULL, tb_cli_progress, NULL, &error);
      if (qct == NULL)
        return tb_cli_fail (cmd, error);
      hu = tb_volume_ref (qct->hu);
      ab[0] = qct->hu_a;
      ab[1] = qct->hu_b;
      if (bmd_range == NULL)
        {
          range[0] = params.marrow_bmd;
          range[1] = params.tissue_bmd;
        }
      tb_phantom_get_landmarks (phantom, &landmarks);
    }
  else
    {
      hu = tb_io_read (argv[1], NULL, NULL, NULL, &error);
      if (hu == NULL)
        return tb_cli_fail (cmd, error);
    }

  TbBox box;
  if (voi_name != NULL)
    {
      const TbPhantomVoi *voi = tb_phantom_find_voi (phantom, voi_name);
      if (voi == NULL)
        return tb_cli_usage (cmd, "unknown VOI preset '%s' (head, neck, wards, intertrochanter)", voi_name);
      if (!tb_box_from_world (hu, voi->centre, voi->size, &box, &error))
        return tb_cli_fail (cmd, error);
      /* align to the whole-bone coarsening so the localized model cuts whole coarse elements */
      tb_box_align (&box, coarsen);
    }
  else
    {
      double b[6];
      if (!parse_doubles (voi_box, b, 6))
        return tb_cli_usage (cmd, "--voi-box needs x0,y0,z0,nx,ny,nz");
      box = (TbBox) { (int) b[0], (int) b[1], (int) b[2], (int) b[3], (int) b[4], (int) b[5] };
    }

  /* HU -> BMD -> relative density */
  g_autoptr(TbVolume) bmd = tb_volume_copy (hu, &error);
  if (bmd == NULL)
    return tb_cli_fail (cmd, error);
  for (gsize e = 0; e < tb_volume_n_voxels (bmd); e++)
    bmd->data[e] = (float) ((bmd->data[e] - ab[0]) / ab[1]);
  g_autoptr(TbVolume) rho = tb_topopt_relative_density (bmd, range[0], range[1], &error);
  if (rho == NULL)
    return tb_cli_fail (cmd, error);
  g_autoptr(TbVolume) rho0 = tb_volume_crop (rho, &box, &error);
  if (rho0 == NULL)
    return tb_cli_fail (cmd, error);

  g_autoptr(TbFeModel) model = NULL;
  if (g_str_equal (load_kind, "hip"))
    model = tb_topopt_voi_model_localized (rho, &landmarks, &box, upscale, coarsen, NULL, tb_cli_progress, NULL, &error);
  else
    {
      guint ns = g_strv_length (stresses);
      g_autofree double *s = g_new (double, 6 * ns);
      for (guint i = 0; i < ns; i++)
        if (!parse_doubles (stresses[i], s + 6 * i, 6))
          return tb_cli_usage (cmd, "--stress needs sxx,syy,szz,sxy,syz,sxz (MPa)");
      model = tb_topopt_voi_model_stress (rho0, upscale, (int) ns, (const double (*)[6]) s, NULL, &error);
    }
  if (model == NULL)
    return tb_cli_fail (cmd, error);

  TbTopoptSettings set;
  tb_topopt_settings_init (&set, TB_TOPOPT_BONE);
  set.upscale = upscale;
  if (levels > 0) set.n_levels = levels;
  if (eps1 > 0) set.eps1 = eps1;
  if (eps2 > 0) set.eps2 = eps2;
  if (rmin > 0) set.rmin = rmin;
  if (iterations > 0) set.max_iterations = iterations;
  g_autoptr(TbTopoptRun) run = tb_topopt_run_new_bone (model, rho0, &set, &error);
  if (run == NULL)
    return tb_cli_fail (cmd, error);
  tb_topopt_run_set_report_func (run, print_iteration, NULL);
  if (!tb_topopt_run_run (run, NULL, &error))
    return tb_cli_fail (cmd, error);

  /* geometry of tb_volume_upscale: spacing s/n, origin - s/2 + s/(2n) */
  double sp[3], org[3];
  for (int d = 0; d < 3; d++)
    {
      sp[d] = rho0->spacing[d] / upscale;
      org[d] = rho0->origin[d] - rho0->spacing[d] / 2 + sp[d] / 2;
    }
  g_autoptr(TbVolume) out = tb_topopt_run_density_volume (run, sp, org, &error);
  if (out == NULL || !tb_io_write_tiff (output, out, TB_IO_PIXEL_FLOAT32, &error))
    return tb_cli_fail (cmd, error);
  if (history != NULL && !tb_topopt_run_write_history (run, history, &error))
    return tb_cli_fail (cmd, error);

  const TbTopoptReport *r = tb_topopt_run_get_report (run);
  g_print ("%s\n", tb_topopt_run_get_message (run));
  g_print ("VOI %d,%d,%d size %d x %d x %d voxels -> %d x %d x %d at %.4g mm\n", box.x0, box.y0, box.z0,
           box.nx, box.ny, box.nz, out->nx, out->ny, out->nz, sp[0]);
  for (int i = 0; i < r->n_constraints; i++)
    g_print ("%-10s %+.6f %s\n", r->constraint_names[i], r->constraints[i], r->constraints[i] <= 0 ? "(satisfied)" : "(VIOLATED)");
  double bv = 0, mean = 0, mean0 = 0;
  for (gsize e = 0; e < tb_volume_n_voxels (out); e++)
    {
      bv += out->data[e] >= 0.5f;
      mean += out->data[e];
    }
  for (gsize e = 0; e < tb_volume_n_voxels (rho0); e++)
    mean0 += rho0->data[e];
  g_print ("BV/TV (threshold 0.5) %.4f; mean relative density %.4f (clinical VOI %.4f)\n",
           bv / tb_volume_n_voxels (out), mean / tb_volume_n_voxels (out), mean0 / tb_volume_n_voxels (rho0));
  return tb_topopt_run_get_state (run) == TB_TOPOPT_INFEASIBLE ? TB_CLI_INPUT : TB_CLI_OK;
}
