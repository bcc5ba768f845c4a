/* cli-make-pairs.c — `trabecula-cli make-pairs`: a training-pair dataset folder from the phantom. */
#include "tb-cli.h"
#include "nn/tb-nn.h"

#include <stdlib.h>

/* "1,2,3" or "1-5" (or a mix) -> seeds */
static GArray *
parse_seeds (const char *s)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_auto(GStrv) parts = g_strsplit (s != NULL ? s : "", ",", -1);
  for (int i = 0; parts[i] != NULL; i++)
    {
      guint64 lo, hi;
      g_auto(GStrv) r = g_strsplit (parts[i], "-", 2);
      if (r[0] == NULL || !g_ascii_string_to_unsigned (r[0], 10, 0, G_MAXUINT32, &lo, NULL))
        {
          g_array_set_size (a, 0);
          return a;
        }
      hi = lo;
      if (r[1] != NULL && !g_ascii_string_to_unsigned (r[1], 10, lo, lo + 10000, &hi, NULL))
        {
          g_array_set_size (a, 0);
          return a;
        }
      for (guint64 v = lo; v <= hi; v++)
        g_array_append_val (a, v);
    }
  return a;
}

int
tb_cli_make_pairs (int argc, char **argv)
{
  TbNnPairsParams p;
  tb_nn_pairs_params_init (&p);
  g_autofree char *out = NULL, *train = NULL, *val = NULL;
  g_auto(GStrv) extra = NULL;
  g_autofree char *cmd = g_strjoinv (" ", argv);
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Dataset folder to write (manifest.json, train/val.safetensors)", "DIR" },
    { "train-seeds", 0, 0, G_OPTION_ARG_STRING, &train, "Phantom seeds for training, e.g. 1-6 (default 1-4)", "LIST" },
    { "val-seeds", 0, 0, G_OPTION_ARG_STRING, &val, "Held-out phantom seeds for validation (default 101)", "LIST" },
    { "blocks-per-region", 0, 0, G_OPTION_ARG_INT, &p.blocks_per_region, "Random blocks per trabecular region and seed (2)", "N" },
    { "patch", 0, 0, G_OPTION_ARG_INT, &p.patch, "LR patch side in clinical voxels (16)", "N" },
    { "block", 0, 0, G_OPTION_ARG_INT, &p.block, "LR block side the patches are cut from (24)", "N" },
    { "slices", 0, 0, G_OPTION_ARG_INT, &p.slices, "LR slices per block (4)", "N" },
    { "patches-per-slice", 0, 0, G_OPTION_ARG_INT, &p.patches_per_slice, "Patches cut from each slice (4)", "N" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &p.scale, "Clinical voxel / truth voxel (8)", "N" },
    { "supersample", 0, 0, G_OPTION_ARG_INT, &p.supersample, "Truth integration sub-samples per axis (2)", "N" },
    { "spacing", 0, 0, G_OPTION_ARG_DOUBLE, &p.clinical_spacing, "Clinical voxel in mm (0.625)", "MM" },
    { "noise", 0, 0, G_OPTION_ARG_DOUBLE, &p.noise_sigma, "Scanner noise sigma in HU (20)", "HU" },
    { "extra-truth", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &extra, "Also a bone-fraction volume at the truth spacing "
      "(e.g. an `enhance --method to` result), degraded like the phantom (training split; repeatable)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— training pairs: phantom truth patches and their simulated QCT");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (out == NULL)
    return tb_cli_usage ("make-pairs", "--out DIR is required");
  g_autoptr(GArray) ts = parse_seeds (train != NULL ? train : "1-4");
  g_autoptr(GArray) vs = parse_seeds (val != NULL ? val : "101");
  if (ts->len == 0 || vs->len == 0)
    return tb_cli_usage ("make-pairs", "seed lists look like 1,2,5-8");
  p.out_dir = out;
  p.train_seeds = (const guint64 *) ts->data;
  p.n_train_seeds = ts->len;
  p.val_seeds = (const guint64 *) vs->data;
  p.n_val_seeds = vs->len;
  p.extra_truth = (const char *const *) extra;
  p.n_extra_truth = extra != NULL ? g_strv_length (extra) : 0;
  p.command_line = cmd;
  g_autoptr(GError) error = NULL;
  if (!tb_nn_make_pairs (&p, NULL, tb_cli_progress, NULL, &error))
    return tb_cli_fail ("make-pairs", error);
  g_print ("wrote %s\n", out);
  return TB_CLI_OK;
}
