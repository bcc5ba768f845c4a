/* cli-demo.c — `trabecula-cli demo`: the main job on the built-in phantom, as a list of steps.
 *
 * Each step is one function that reads and extends the DemoContext; later stages (segmentation,
 * FE, topology optimization, NN enhancement, morphometry) are appended to `steps` below. */
#include "cli-phantom.h"
#include "io/tb-io.h"
#include "metrics/tb-metrics.h"
#include "morpho/tb-morpho.h"
#include "nn/tb-nn.h"
#include "segment/tb-segment.h"

#include <math.h>

typedef struct {
  const char *output;
  TbCliPhantomOptions phantom_opts;
  TbCliPhantomResult phantom;     /* the phantom, its QCT and the files written */
  gint64 started;
  gboolean quick;                 /* smaller, faster settings (tests, a first look) */
  char *model;                    /* the network for the NN step */
} DemoContext;

/* Run another subcommand in-process, on the files the earlier steps wrote: the demo drives the
 * same code a user's batch script would. */
static gboolean
run_command (TbCliRun run, const char *name, GPtrArray *args, GError **error)
{
  /* "enhance --method to" is shown whole; the method's own parser gets argv[0] = "enhance" */
  g_auto(GStrv) words = g_strsplit (name, " ", 2);
  g_ptr_array_insert (args, 0, (gpointer) name);
  g_ptr_array_add (args, NULL);
  g_autofree char *line = g_strjoinv (" ", (char **) args->pdata);
  g_print ("$ trabecula-cli %s\n", line);
  args->pdata[0] = words[0];
  int rc = run ((int) args->len - 1, (char **) args->pdata);
  if (rc != TB_CLI_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the step `trabecula-cli %s` failed (exit %d)", name, rc);
      return FALSE;
    }
  return TRUE;
}

static char *
out_path (DemoContext *ctx, const char *name)
{
  return g_build_filename (ctx->output, name, NULL);
}

typedef gboolean (*DemoStepFunc) (DemoContext *ctx, GError **error);

/* Step: the procedural femur, its simulated clinical QCT and the truth VOIs. */
static gboolean
step_phantom (DemoContext *ctx, GError **error)
{
  return tb_cli_phantom_write (ctx->output, &ctx->phantom_opts, &ctx->phantom, error);
}

/* Step: segmentation of the simulated QCT (complementary watershed + optimal threshold), and the
 * relative density map every later stage starts from. */
static gboolean
step_segment (DemoContext *ctx, GError **error)
{
  g_autofree char *ct = out_path (ctx, "qct_hu.nii.gz");
  g_autofree char *labels = out_path (ctx, "segmentation.nii.gz");
  g_autofree char *rho = out_path (ctx, "relative_density.nii.gz");
  g_autofree char *json = out_path (ctx, "segmentation.json");
  g_autoptr(GPtrArray) a = g_ptr_array_new ();
  g_ptr_array_add (a, ct);
  g_ptr_array_add (a, labels);
  g_ptr_array_add (a, "--keep=largest");
  g_ptr_array_add (a, "--density");
  g_ptr_array_add (a, rho);
  g_ptr_array_add (a, "--json");
  g_ptr_array_add (a, json);
  return run_command (tb_cli_segment, "segment", a, error);
}

/* Step: the whole bone under the three hip load cases at the phantom's landmarks, on voxels twice
 * the scan's size: the whole-bone model only has to carry the loads to the VOIs (paper 000 solves it
 * at clinical resolution; at 0.625 mm that is 24 M DOFs, more than a demo should wait for). */
static gboolean
step_fe (DemoContext *ctx, GError **error)
{
  g_autofree char *rho = out_path (ctx, "relative_density.nii.gz");
  g_autofree char *coarse = out_path (ctx, "relative_density_x2.nii.gz");
  g_autofree char *dir = out_path (ctx, "whole_bone_fe");
  g_autoptr(GPtrArray) r = g_ptr_array_new ();
  g_ptr_array_add (r, rho);
  g_ptr_array_add (r, coarse);
  g_ptr_array_add (r, "--factor=down:2");
  if (!run_command (tb_cli_resample, "resample", r, error))
    return FALSE;
  g_autoptr(GPtrArray) a = g_ptr_array_new ();
  g_ptr_array_add (a, coarse);
  g_ptr_array_add (a, "--density");
  g_ptr_array_add (a, "--femur-loads");
  g_ptr_array_add (a, "--rtol=1e-6");
  g_ptr_array_add (a, "--trim=0.02");   /* the bone only, as the TO stage's whole-bone model */
  g_ptr_array_add (a, "--output");
  g_ptr_array_add (a, dir);
  return run_command (tb_cli_fe, "fe", a, error);
}

/* Step: the femoral-head VOI rebuilt by topology optimization (paper 000). */
static gboolean
step_topopt (DemoContext *ctx, GError **error)
{
  g_autofree char *out = out_path (ctx, "head_to.tif");
  g_autofree char *hist = out_path (ctx, "head_to_history.csv");
  g_autoptr(GPtrArray) a = g_ptr_array_new ();
  g_ptr_array_add (a, "--phantom");
  g_ptr_array_add (a, "--voi=head");
  /* the localized model needs the whole bone's FE: coarsened, it fits a laptop's memory and time */
  g_ptr_array_add (a, ctx->quick ? "--coarsen=4" : "--coarsen=2");
  g_ptr_array_add (a, ctx->quick ? "--upscale=2" : "--upscale=4");
  /* 50: the projection sharpens in steps of 10 iterations and the last 10 restore the constraints
   * (30 ended with g_bw +0.014; 50 meets every constraint) */
  g_ptr_array_add (a, ctx->quick ? "--iterations=3" : "--iterations=50");
  g_ptr_array_add (a, "--output");
  g_ptr_array_add (a, out);
  g_ptr_array_add (a, "--history");
  g_ptr_array_add (a, hist);
  /* an infeasible end (exit 2) still writes the best design; the summary reports it */
  g_autoptr(GError) local = NULL;
  if (!run_command (tb_cli_enhance_to, "enhance --method to", a, &local))
    g_print ("(the optimization ended without meeting every constraint: %s)\n", local->message);
  return TRUE;
}

/* Step: the same VOI through the shipped network (slice-wise x8), stitched along tiles. */
static gboolean
step_nn (DemoContext *ctx, GError **error)
{
  if (ctx->model == NULL || !g_file_test (ctx->model, G_FILE_TEST_EXISTS))
    {
      g_print ("No network file (%s): give one with --model; skipping this step.\n",
               ctx->model != NULL ? ctx->model : "none");
      return TRUE;
    }
  /* cut the VOI out of the scan, then enhance it whole, resampled to the model's voxel size when
   * the scan's differs (--quick scans at 1.25 mm; the model was trained at 0.625 mm) */
  const TbPhantomVoi *voi = tb_phantom_find_voi (ctx->phantom.phantom, "head");
  g_autofree char *ct = out_path (ctx, "qct_hu.nii.gz");
  g_autofree char *cut = out_path (ctx, "head_qct.nii.gz");
  g_autofree char *centre = g_strdup_printf ("--centre-mm=%.3f,%.3f,%.3f", voi->centre[0], voi->centre[1], voi->centre[2]);
  g_autofree char *size = g_strdup_printf ("--size-mm=%.3f,%.3f,%.3f", voi->size[0], voi->size[1], voi->size[2]);
  g_autoptr(GPtrArray) c = g_ptr_array_new ();
  g_ptr_array_add (c, ct);
  g_ptr_array_add (c, cut);
  g_ptr_array_add (c, centre);
  g_ptr_array_add (c, size);
  if (!run_command (tb_cli_crop, "crop", c, error))
    return FALSE;
  g_autofree char *out = out_path (ctx, "head_nn.tif");
  g_autofree char *model = g_strdup_printf ("--model=%s", ctx->model);
  g_autoptr(GPtrArray) a = g_ptr_array_new ();
  g_ptr_array_add (a, model);
  g_ptr_array_add (a, "--resample");
  g_ptr_array_add (a, cut);
  g_ptr_array_add (a, out);
  return run_command (tb_cli_enhance_nn, "enhance --method nn", a, error);
}

/* BV/TV, Tb.Th and SSIM against the truth on the same grid. The binary image is the fraction >= 0.5,
 * or, with keep_mean (a network's grey bone fraction), the threshold that keeps the image's mean
 * fraction: its own BV/TV estimate, as app/models/evaluation.md measures it. SSIM is 3-D on an
 * isotropic grid, else per x-y slice (a slice-wise network's output). */
static void
measure_row (const char *method, const TbVolume *v, const TbVolume *truth, gboolean keep_mean)
{
  gsize n = tb_volume_n_voxels (v), bone = 0;
  g_autoptr(TbMask) m = tb_mask_new_like_volume (v, NULL);
  if (m == NULL)
    return;
  double thr = 0.5;
  if (keep_mean)
    {
      double mean = 0;
      for (gsize i = 0; i < n; i++)
        mean += CLAMP (v->data[i], 0.0f, 1.0f);
      thr = tb_threshold_keeping_fraction (v, mean / n);
    }
  for (gsize i = 0; i < n; i++)
    bone += (m->data[i] = v->data[i] >= thr);
  double th = NAN, sd, mx;
  gboolean iso = fabs (v->spacing[0] - v->spacing[2]) < 1e-6 * v->spacing[0];
  if (iso && bone > 0)
    {
      g_autoptr(TbVolume) map = tb_morpho_local_thickness (m, TRUE, NULL, &th, &sd, &mx, NULL, NULL, NULL, NULL);
    }
  double ssim = NAN;
  if (truth != NULL && tb_volume_same_grid (v, truth) && v->nx >= 11 && v->ny >= 11 && (!iso || v->nz >= 11))
    {
      g_autoptr(TbVolume) c = tb_volume_copy (v, NULL);
      for (gsize i = 0; i < n; i++)
        c->data[i] = CLAMP (c->data[i], 0.0f, 1.0f);
      ssim = tb_metrics_ssim (truth, c, 1.0, iso ? TB_METRICS_SSIM_3D : TB_METRICS_SSIM_2D, NULL, NULL, NULL);
    }
  g_print ("%-26s %8.3f %10.3f %8.3f   %g x %g x %g mm voxels\n", method, (double) bone / n, th, ssim,
           v->spacing[0], v->spacing[1], v->spacing[2]);
}

/* The truth on a slice-wise network's grid: for each output slice, the truth's slice at its centre
 * (as the network was trained), sampled at the output's in-plane voxel. */
static TbVolume *
truth_for_slices (DemoContext *ctx, const TbPhantomVoi *voi, const TbVolume *nn, GError **error)
{
  int s = (int) lround (nn->spacing[2] / nn->spacing[0]);
  double size[3] = { nn->nx * nn->spacing[0], nn->ny * nn->spacing[1], nn->nz * nn->spacing[2] };
  g_autoptr(TbVolume) full = tb_phantom_truth (ctx->phantom.phantom, voi->centre, size, nn->spacing[0],
                                               NULL, NULL, NULL, error);
  if (full == NULL)
    return NULL;
  if (s < 1 || full->nx != nn->nx || full->ny != nn->ny || full->nz != nn->nz * s)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The truth's grid does not match the network's output");
      return NULL;
    }
  TbVolume *t = tb_volume_new_like (nn, error);
  if (t == NULL)
    return NULL;
  for (int k = 0; k < nn->nz; k++)
    for (int y = 0; y < nn->ny; y++)
      for (int x = 0; x < nn->nx; x++)
        t->data[tb_volume_index (t, x, y, k)] = tb_volume_get (full, x, y, k * s + s / 2);
  return t;
}

/* Step: what the two methods made of the femoral head, against the phantom's truth. */
static gboolean
step_measure (DemoContext *ctx, GError **error)
{
  const TbPhantomVoi *voi = tb_phantom_find_voi (ctx->phantom.phantom, "head");
  g_print ("%-26s %8s %10s %8s\n", "femoral head VOI", "BV/TV", "Tb.Th (mm)", "SSIM");
  g_autofree char *to_path = out_path (ctx, "head_to.tif");
  if (g_file_test (to_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(TbVolume) to = tb_io_read (to_path, NULL, NULL, NULL, error);
      if (to == NULL)
        return FALSE;
      g_autoptr(TbVolume) truth = tb_phantom_truth (ctx->phantom.phantom, voi->centre, voi->size, to->spacing[0],
                                                    NULL, NULL, NULL, error);
      if (truth == NULL)
        return FALSE;
      /* the TIFF stores the spacing as a float: take the result's grid exactly */
      memcpy (truth->origin, to->origin, sizeof truth->origin);
      memcpy (truth->spacing, to->spacing, sizeof truth->spacing);
      measure_row ("phantom truth", truth, NULL, FALSE);
      measure_row ("topology optimization", to, truth, FALSE);
    }
  g_autofree char *nn_path = out_path (ctx, "head_nn.tif");
  if (g_file_test (nn_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(TbVolume) nn = tb_io_read (nn_path, NULL, NULL, NULL, error);
      if (nn == NULL)
        return FALSE;
      g_autoptr(TbVolume) truth = truth_for_slices (ctx, voi, nn, error);
      if (truth == NULL)
        return FALSE;
      measure_row ("truth (NN slices)", truth, NULL, FALSE);
      measure_row ("neural network (2D, x8)", nn, truth, TRUE);
    }
  g_print ("BV/TV: voxels with bone fraction >= 0.5 (the network: the threshold that keeps its mean bone "
           "fraction); Tb.Th: local thickness (maximal spheres), isotropic grids only; SSIM: data range 1, "
           "3D on isotropic grids, per slice on the network's.\n");
  return TRUE;
}

/* Step: what was made, in a few lines. */
static gboolean
step_summary (DemoContext *ctx, GError **error)
{
  const TbPhantomQct *q = ctx->phantom.qct;
  TbVolumeStats st;
  tb_volume_stats (q->hu, &st);
  g_print ("Clinical QCT: %d x %d x %d voxels of %g mm, HU %.0f..%.0f (HU = %g + %g BMD)\n",
           q->hu->nx, q->hu->ny, q->hu->nz, q->hu->spacing[0], st.min, st.max, q->hu_a, q->hu_b);
  g_print ("Bone: %zu clinical voxels inside the periosteum\n", tb_mask_count (q->bone_mask));
  guint n;
  const TbPhantomVoi *v = tb_phantom_get_vois (ctx->phantom.phantom, &n);
  g_print ("%-18s %-28s %8s %8s\n", "VOI", "centre (mm)", "target", "BV/TV");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *c = g_strdup_printf ("%.1f, %.1f, %.1f", v[i].centre[0], v[i].centre[1], v[i].centre[2]);
      if (ctx->phantom.measured_bvtv[i] >= 0)
        g_print ("%-18s %-28s %8.2f %8.3f\n", v[i].label, c, v[i].target_bvtv, ctx->phantom.measured_bvtv[i]);
      else
        g_print ("%-18s %-28s %8.2f %8s\n", v[i].label, c, v[i].target_bvtv, "-");
    }
  g_print ("%u files in %s, %.1f s\n", ctx->phantom.written->len, ctx->output,
           (g_get_monotonic_time () - ctx->started) / 1e6);
  return TRUE;
}

static const struct {
  const char *title;
  DemoStepFunc run;
} steps[] = {
  { "Phantom: procedural proximal femur, simulated clinical QCT, truth VOIs", step_phantom },
  { "Segmentation: complementary watershed + optimal threshold, relative density", step_segment },
  { "Whole-bone FE: the three hip load cases (stance, abduction, adduction), 2x coarser voxels", step_fe },
  { "Enhance the femoral head by topology optimization", step_topopt },
  { "Enhance the femoral head by the shipped network", step_nn },
  { "Measure: BV/TV, Tb.Th, SSIM against the phantom's truth", step_measure },
  { "Summary", step_summary },
};

int
tb_cli_demo (int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_autofree char *model = NULL;
  gboolean quick = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output folder (default: trabecula-demo)", "DIR" },
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "Coarse phantom (1.25 mm) and few TO iterations: a first look in about a minute", NULL },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Network for the NN step (default: the shipped model)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— run the main job on the built-in femur phantom");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 1)
    return tb_cli_usage ("demo", "unexpected argument '%s'", argv[1]);

  DemoContext demo = { 0 };
  demo.output = output != NULL ? output : "trabecula-demo";
  demo.started = g_get_monotonic_time ();
  tb_cli_phantom_options_init (&demo.phantom_opts);
  demo.quick = quick;
  demo.model = model != NULL ? g_strdup (model)
                             : tb_nn_find_shipped_model (TB_NN_SHIPPED_MODEL, TB_MODELS_DIR, TB_SOURCE_MODELS_DIR);
  if (quick)
    {
      demo.phantom_opts.params.clinical_spacing = 1.25;
      demo.phantom_opts.truth_voxel = 0.1;
    }

  int rc = TB_CLI_OK;
  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_print ("\n== Step %zu/%zu: %s ==\n", i + 1, G_N_ELEMENTS (steps), steps[i].title);
      g_autoptr(GError) error = NULL;
      if (!steps[i].run (&demo, &error))
        {
          rc = tb_cli_fail ("demo", error);
          break;
        }
    }
  tb_cli_phantom_result_clear (&demo.phantom);
  g_free (demo.model);
  return rc;
}
