/* cli-train.c — `trabecula-cli train`: train a generator on a make-pairs dataset. */
#include "tb-cli.h"
#include "nn/tb-nn.h"

#include <omp.h>
#include <unistd.h>

/* On a terminal, the shared one-line progress; in a log (nohup), one line every 30 s. */
static void
train_progress (double fraction, const char *message, gpointer user_data)
{
  static gint64 last;
  if (isatty (STDERR_FILENO))
    {
      tb_cli_progress (fraction, message, user_data);
      return;
    }
  gint64 now = g_get_monotonic_time ();
  if (now - last < 30 * G_USEC_PER_SEC && fraction < 1.0)
    return;
  last = now;
  g_autoptr(GDateTime) t = g_date_time_new_now_utc ();
  g_autofree char *ts = g_date_time_format (t, "%H:%M:%S");
  g_printerr ("[%s] %5.1f%% %s\n", ts, 100.0 * fraction, message);
}

int
tb_cli_train (int argc, char **argv)
{
  TbNnTrainParams p;
  tb_nn_train_params_init (&p);
  g_autofree char *data = NULL, *out = NULL, *arch = NULL, *loss = NULL;
  g_autofree char *cmd = g_strjoinv (" ", argv);
  int threads = 0;
  gint64 seed = 1;
  double max_minutes = 0;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Dataset folder made by make-pairs", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output folder: model.safetensors, log.csv, checkpoints", "DIR" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "srresnet (default) or unet", "NAME" },
    { "features", 0, 0, G_OPTION_ARG_INT, &p.arch.features, "Features of the body (32)", "N" },
    { "blocks", 0, 0, G_OPTION_ARG_INT, &p.arch.blocks, "Residual blocks (srresnet, 4)", "N" },
    { "depth", 0, 0, G_OPTION_ARG_INT, &p.arch.depth, "Levels (unet, 3)", "N" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &p.arch.scale, "Upscaling factor, must match the dataset (8)", "N" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &loss, "Pixel loss: l1 (default), l2 or l1+ssim", "NAME" },
    { "ssim-weight", 0, 0, G_OPTION_ARG_DOUBLE, &p.ssim_weight, "Weight of 1 - SSIM in l1+ssim (0.84)", "W" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &p.epochs, "Pre-training epochs (20)", "N" },
    { "adv-epochs", 0, 0, G_OPTION_ARG_INT, &p.adv_epochs, "Adversarial fine-tuning epochs (0)", "N" },
    { "adv-weight", 0, 0, G_OPTION_ARG_DOUBLE, &p.adv_weight, "Weight of the adversarial loss (0.01)", "W" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &p.batch, "Batch size (16)", "N" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &p.steps_per_epoch, "Steps per epoch (0 = one pass over the data)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &p.lr, "Peak learning rate (1e-3)", "LR" },
    { "lr-min", 0, 0, G_OPTION_ARG_DOUBLE, &p.lr_min, "Final learning rate of the cosine schedule (1e-5)", "LR" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &p.weight_decay, "AdamW weight decay (1e-4)", "W" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &p.clip_norm, "Gradient norm clip (1, 0 = off)", "NORM" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of weights and batches (1)", "N" },
    { "max-minutes", 0, 0, G_OPTION_ARG_DOUBLE, &max_minutes, "Stop after the epoch that passes this wall time (0 = none)", "MIN" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &p.resume, "Continue from OUT/checkpoint.safetensors", NULL },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, "Threads (default: OpenMP's)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— train a super-resolution generator");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (data == NULL || out == NULL)
    return tb_cli_usage ("train", "--data DIR and --out DIR are required");
  if (threads > 0)
    omp_set_num_threads (threads);
  if (arch != NULL)
    p.arch.arch = arch;
  if (loss != NULL)
    p.loss = loss;
  p.seed = (guint64) seed;
  p.max_seconds = 60.0 * max_minutes;
  p.dataset = data;
  p.out_dir = out;
  p.command_line = cmd;
  g_autoptr(GError) error = NULL;
  if (!tb_nn_train (&p, NULL, train_progress, NULL, &error))
    return tb_cli_fail ("train", error);
  g_print ("\nwrote %s/model.safetensors and %s/log.csv\n", out, out);
  return TB_CLI_OK;
}
