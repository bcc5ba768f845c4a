/* cli-phantom.c — `trabecula-cli phantom`: the procedural femur's clinical QCT, labels, truth VOIs
 * and a JSON of its parameters, calibration, VOI presets and landmarks. */
#include "cli-phantom.h"
#include "io/tb-io.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

void
tb_cli_phantom_options_init (TbCliPhantomOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  tb_phantom_params_init (&opts->params);
  opts->truth_voxel = 0.05;
}

void
tb_cli_phantom_result_clear (TbCliPhantomResult *r)
{
  g_clear_pointer (&r->qct, tb_phantom_qct_free);
  g_clear_pointer (&r->phantom, tb_phantom_free);
  g_clear_pointer (&r->written, g_ptr_array_unref);
}

static void
note_written (TbCliPhantomResult *r, const char *path, int nx, int ny, int nz, double spacing, const char *what)
{
  g_print ("  %-40s %d x %d x %d, %g mm  %s\n", path, nx, ny, nz, spacing, what);
  g_ptr_array_add (r->written, g_strdup (path));
}

static gboolean
write_volume (TbCliPhantomResult *r, const char *dir, const char *stem, gboolean tiff,
              const TbVolume *v, const char *what, GError **error)
{
  g_autofree char *name = g_strconcat (stem, tiff ? ".tif" : ".nii.gz", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (!(tiff ? tb_io_write_tiff (path, v, TB_IO_PIXEL_FLOAT32, error) : tb_io_write_nifti (path, v, error)))
    return FALSE;
  note_written (r, path, v->nx, v->ny, v->nz, v->spacing[0], what);
  return TRUE;
}

static gboolean
write_mask (TbCliPhantomResult *r, const char *dir, const char *stem, gboolean tiff,
            const TbMask *m, const char *what, GError **error)
{
  g_autofree char *name = g_strconcat (stem, tiff ? ".tif" : ".nii.gz", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (tiff)
    {
      if (!tb_io_write_mask_tiff (path, m, error))
        return FALSE;
    }
  else
    {
      g_autoptr(TbVolume) v = tb_mask_to_volume (m, error);
      if (v == NULL || !tb_io_write_nifti (path, v, error))
        return FALSE;
    }
  note_written (r, path, m->nx, m->ny, m->nz, m->spacing[0], what);
  return TRUE;
}

static void
add_vec3 (JsonBuilder *b, const char *name, const double v[3])
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int d = 0; d < 3; d++)
    json_builder_add_double_value (b, v[d]);
  json_builder_end_array (b);
}

static void
add_double (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, v);
}

static gboolean
write_json (TbCliPhantomResult *r, const char *dir, const TbCliPhantomOptions *opts, GError **error)
{
  const TbPhantomParams *p = tb_phantom_get_params (r->phantom);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "generator");
  json_builder_add_string_value (b, "trabecula-cli phantom " TB_VERSION);

  json_builder_set_member_name (b, "parameters");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) p->seed);
  add_double (b, "clinical_spacing_mm", p->clinical_spacing);
  add_double (b, "psf_fwhm_mm", p->psf_fwhm);
  add_double (b, "noise_sigma_hu", p->noise_sigma);
  json_builder_set_member_name (b, "noise_seed");
  json_builder_add_int_value (b, (gint64) p->noise_seed);
  add_double (b, "tissue_bmd_mg_cm3", p->tissue_bmd);
  add_double (b, "marrow_bmd_mg_cm3", p->marrow_bmd);
  add_double (b, "soft_tissue_bmd_mg_cm3", p->soft_tissue_bmd);
  add_double (b, "air_hu", p->air_hu);
  add_double (b, "margin_mm", p->margin);
  json_builder_set_member_name (b, "supersample");
  json_builder_add_int_value (b, p->supersample);
  add_double (b, "truth_voxel_mm", opts->no_truth ? 0.0 : opts->truth_voxel);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "calibration");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "formula");
  json_builder_add_string_value (b, "HU = a + b * BMD (mg HA/cm^3)");
  add_double (b, "a", r->qct->hu_a);
  add_double (b, "b", r->qct->hu_b);
  json_builder_end_object (b);

  double lo[3], hi[3];
  tb_phantom_get_bounds (r->phantom, lo, hi);
  json_builder_set_member_name (b, "bone_bounds_mm");
  json_builder_begin_object (b);
  add_vec3 (b, "lo", lo);
  add_vec3 (b, "hi", hi);
  json_builder_end_object (b);

  TbFemurLandmarks lm;
  tb_phantom_get_landmarks (r->phantom, &lm);
  json_builder_set_member_name (b, "landmarks");
  json_builder_begin_object (b);
  add_vec3 (b, "head_centre", lm.head_centre);
  add_double (b, "head_radius", lm.head_radius);
  add_vec3 (b, "greater_trochanter", lm.greater_trochanter);
  add_vec3 (b, "shaft_axis", lm.shaft_axis);
  add_vec3 (b, "shaft_distal", lm.shaft_distal);
  add_vec3 (b, "frontal_normal", lm.frontal_normal);
  add_vec3 (b, "neck_axis", lm.neck_axis);
  json_builder_end_object (b);

  guint n;
  const TbPhantomVoi *v = tb_phantom_get_vois (r->phantom, &n);
  json_builder_set_member_name (b, "vois");
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, v[i].name);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, v[i].label);
      json_builder_set_member_name (b, "region");
      json_builder_add_int_value (b, v[i].region);
      add_vec3 (b, "centre_mm", v[i].centre);
      add_vec3 (b, "size_mm", v[i].size);
      add_double (b, "target_bvtv", v[i].target_bvtv);
      json_builder_set_member_name (b, "measured_bvtv");
      if (r->measured_bvtv[i] >= 0)
        json_builder_add_double_value (b, r->measured_bvtv[i]);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "truth_file");
      if (opts->no_truth)
        json_builder_add_null_value (b);
      else
        {
          g_autofree char *f = g_strdup_printf ("truth_%s.tif", v[i].name);
          json_builder_add_string_value (b, f);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "regions");
  json_builder_begin_array (b);
  const char *region_names[TB_N_REGIONS] = { "outside", "cortex", "femoral head", "femoral neck",
    "Ward's triangle", "intertrochanteric", "greater trochanter", "lesser trochanter", "shaft" };
  for (int i = 0; i < TB_N_REGIONS; i++)
    json_builder_add_string_value (b, region_names[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  g_autofree char *path = g_build_filename (dir, "phantom.json", NULL);
  /* g_file_set_contents writes a temporary file and renames it */
  if (!g_file_set_contents (path, text, -1, error))
    return FALSE;
  g_print ("  %-40s parameters, calibration, VOI presets, landmarks, BV/TV\n", path);
  g_ptr_array_add (r->written, g_strdup (path));
  return TRUE;
}

gboolean
tb_cli_phantom_write (const char *dir, const TbCliPhantomOptions *opts, TbCliPhantomResult *r, GError **error)
{
  memset (r, 0, sizeof *r);
  r->written = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < 4; i++)
    r->measured_bvtv[i] = -1.0;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                   "Cannot create the output folder %s: %s", dir, g_strerror (e));
      return FALSE;
    }
  r->phantom = tb_phantom_new (&opts->params, error);
  if (r->phantom == NULL)
    return FALSE;
  r->qct = tb_phantom_simulate_qct (r->phantom, NULL, tb_cli_progress, NULL, error);
  if (r->qct == NULL)
    return FALSE;

  g_print ("Wrote:\n");
  if (!write_volume (r, dir, "qct_hu", opts->tiff, r->qct->hu, "simulated clinical QCT (HU, integer values)", error)
      || !write_volume (r, dir, "qct_bmd", opts->tiff, r->qct->bmd, "BMD before blur and noise (mg HA/cm^3)", error)
      || !write_volume (r, dir, "qct_bone_fraction", opts->tiff, r->qct->bone_fraction, "bone volume fraction", error)
      || !write_mask (r, dir, "bone_mask", opts->tiff, r->qct->bone_mask, "bone mask (inside the periosteum)", error)
      || !write_mask (r, dir, "regions", opts->tiff, r->qct->regions, "region labels (see phantom.json)", error))
    return FALSE;

  if (!opts->no_truth)
    {
      guint n;
      const TbPhantomVoi *v = tb_phantom_get_vois (r->phantom, &n);
      for (guint i = 0; i < n && i < 4; i++)
        {
          g_autoptr(TbVolume) t = tb_phantom_truth (r->phantom, v[i].centre, v[i].size, opts->truth_voxel,
                                                    NULL, tb_cli_progress, NULL, error);
          if (t == NULL)
            return FALSE;
          gsize nv = tb_volume_n_voxels (t), nb = 0;
          for (gsize k = 0; k < nv; k++)
            nb += t->data[k] >= 0.5f;
          r->measured_bvtv[i] = (double) nb / nv;
          g_autofree char *stem = g_strdup_printf ("truth_%s", v[i].name);
          g_autofree char *what = g_strdup_printf ("%s truth, bone fraction (BV/TV %.3f, target %.2f)",
                                                   v[i].label, r->measured_bvtv[i], v[i].target_bvtv);
          if (!write_volume (r, dir, stem, TRUE, t, what, error))
            return FALSE;
        }
    }
  return write_json (r, dir, opts, error);
}

int
tb_cli_phantom (int argc, char **argv)
{
  g_autofree char *output = NULL;
  gint64 seed = 1;
  double spacing = 0.625, fwhm = 1.0, noise = 20.0, truth_voxel = 0.05;
  gboolean no_truth = FALSE, tiff = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output folder (created if needed)", "DIR" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the trabecular structure (default 1)", "N" },
    { "spacing", 0, 0, G_OPTION_ARG_DOUBLE, &spacing, "Clinical voxel size in mm (default 0.625)", "MM" },
    { "fwhm", 0, 0, G_OPTION_ARG_DOUBLE, &fwhm, "Scanner blur, Gaussian FWHM in mm (default 1.0)", "MM" },
    { "noise", 0, 0, G_OPTION_ARG_DOUBLE, &noise, "Noise sigma in HU (default 20; 0 = none)", "HU" },
    { "truth-voxel", 0, 0, G_OPTION_ARG_DOUBLE, &truth_voxel, "Voxel size of the truth VOIs in mm (default 0.05)", "MM" },
    { "no-truth", 0, 0, G_OPTION_ARG_NONE, &no_truth, "Do not write the truth VOIs", NULL },
    { "tiff", 0, 0, G_OPTION_ARG_NONE, &tiff, "Write the clinical volumes as TIFF instead of NIfTI", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— make the procedural femur phantom and its simulated clinical QCT");
  g_option_context_set_description (ctx,
    "Writes DIR/qct_hu, qct_bmd, qct_bone_fraction, bone_mask, regions (.nii.gz or .tif),\n"
    "truth_{head,neck,wards,intertrochanter}.tif (bone fraction, ImageJ spacing) and phantom.json.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 1)
    return tb_cli_usage ("phantom", "unexpected argument '%s'", argv[1]);
  if (output == NULL)
    return tb_cli_usage ("phantom", "--output DIR is required");
  if (seed < 0)
    return tb_cli_usage ("phantom", "--seed must be zero or positive");
  if (!(truth_voxel > 0.0))
    return tb_cli_usage ("phantom", "--truth-voxel must be positive");

  TbCliPhantomOptions opts;
  tb_cli_phantom_options_init (&opts);
  opts.params.seed = (guint64) seed;
  opts.params.clinical_spacing = spacing;
  opts.params.psf_fwhm = fwhm;
  opts.params.noise_sigma = noise;
  opts.truth_voxel = truth_voxel;
  opts.no_truth = no_truth;
  opts.tiff = tiff;
  TbCliPhantomResult result;
  g_autoptr(GError) error = NULL;
  gboolean ok = tb_cli_phantom_write (output, &opts, &result, &error);
  tb_cli_phantom_result_clear (&result);
  if (!ok && g_error_matches (error, TB_PHANTOM_ERROR, TB_PHANTOM_ERROR_INVALID))
    return tb_cli_usage ("phantom", "%s", error->message);
  if (!ok)
    return tb_cli_fail ("phantom", error);
  return TB_CLI_OK;
}
