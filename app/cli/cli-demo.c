/* cli-demo.c — `trabecula-cli demo`: the main job on the built-in phantom, as a list of steps.
 *
 * Each step is one function that reads and extends the DemoContext; later stages (segmentation,
 * FE, topology optimization, NN enhancement, morphometry) are appended to `steps` below. */
#include "cli-phantom.h"

typedef struct {
  const char *output;
  TbCliPhantomOptions phantom_opts;
  TbCliPhantomResult phantom;     /* the phantom, its QCT and the files written */
  gint64 started;
} DemoContext;

typedef gboolean (*DemoStepFunc) (DemoContext *ctx, GError **error);

/* Step: the procedural femur, its simulated clinical QCT and the truth VOIs. */
static gboolean
step_phantom (DemoContext *ctx, GError **error)
{
  return tb_cli_phantom_write (ctx->output, &ctx->phantom_opts, &ctx->phantom, error);
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
  /* later stages go here: segmentation, whole-bone FE, VOI topology optimization, NN, morphometry */
  { "Summary", step_summary },
};

int
tb_cli_demo (int argc, char **argv)
{
  g_autofree char *output = NULL;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output folder (default: trabecula-demo)", "DIR" },
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
  return rc;
}
