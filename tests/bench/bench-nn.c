/* bench-nn.c — the network engine against PyTorch on the same CPU in the same run (same net, batch,
 * input size and threads): inference throughput and one training step (L1 + backward + AdamW);
 * then a whole 2-D femur section 256x256 -> 2048x2048 and a 5 mm 3-D VOI 8^3 -> 64^3 (targets).
 * The generator is the shipped model (app/models/srresnet2d-x8.safetensors) when present, else the
 * same architecture with random weights (throughput does not depend on the weights).
 * Usage: bench-nn [THREADS] (default 2). The machine may be shared: timings are medians. */
#include "nn/tb-nn.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int threads = 2;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *t, int n)
{
  qsort (t, n, sizeof *t, cmp_double);
  return t[n / 2];
}

/* PyTorch's seconds per iteration, or NAN when torch is not installed. */
static double
torch_peer (const char *mode, const TbNnArch *a, int batch, int size, int iters)
{
  const char *src = g_getenv ("TB_SOURCE_DIR");
  g_autofree char *script = g_build_filename (src != NULL ? src : ".", "tests", "bench", "bench-nn-torch.py", NULL);
  g_autofree char *cmd = g_strdup_printf ("/usr/bin/python3 %s %s %d %d %d %d %d %d %d %d", script, mode, a->dims,
                                          a->features, a->blocks, a->scale, batch, size, threads, iters);
  g_autofree char *out = NULL;
  int status = 0;
  if (!g_spawn_command_line_sync (cmd, &out, NULL, &status, NULL) || status != 0 || out == NULL)
    return NAN;
  return g_ascii_strtod (out, NULL);
}

static void
row (const char *name, double ours, double peer, const char *unit, double target, gboolean higher_better_ratio)
{
  if (isnan (peer))
    {
      gboolean met = ours <= target;
      printf ("| %s | %.3f %s | no peer | - | <= %.3g %s | %s |\n", name, ours, unit, target, unit, met ? "yes" : "NO");
      return;
    }
  double ratio = peer / ours;   /* speed ratio: ours as a fraction of PyTorch's speed */
  printf ("| %s | %.3f %s | %.3f %s | %.2fx | >= %.2gx | %s |\n", name, ours, unit, peer, unit, ratio, target,
          ratio >= target ? "yes" : "NO");
}

static double
time_infer (TbNnNet *net, TbNnTensor *x, int iters)
{
  double t[16];
  tb_nn_net_forward (net, x, FALSE, NULL);
  for (int i = 0; i < iters; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      tb_nn_net_forward (net, x, FALSE, NULL);
      t[i] = (g_get_monotonic_time () - t0) / 1e6;
    }
  return median (t, iters);
}

static double
time_train (TbNnNet *net, TbNnTensor *x, TbNnTensor *y, int iters)
{
  g_autoptr(TbNnAdam) adam = tb_nn_adam_new (net, 0.9, 0.999, 1e-8, 1e-4);
  g_autoptr(TbNnTensor) g = tb_nn_tensor_new_like (y);
  double t[16];
  for (int i = 0; i <= iters; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      const TbNnTensor *o = tb_nn_net_forward (net, x, TRUE, NULL);
      tb_nn_loss_l1 (o, y, g);
      tb_nn_net_zero_grad (net);
      tb_nn_net_backward (net, g, NULL);
      tb_nn_adam_step (adam, 1e-4, 1.0);
      if (i > 0)
        t[i - 1] = (g_get_monotonic_time () - t0) / 1e6;
    }
  return median (t, iters);
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc > 1)
    threads = atoi (argv[1]);
  gboolean only_3d = argc > 2 && strcmp (argv[2], "3d") == 0;
  omp_set_num_threads (threads);
  tb_nn_init ();
  g_autoptr(GError) error = NULL;
  const char *src = g_getenv ("TB_SOURCE_DIR");
  g_autofree char *model = g_build_filename (src != NULL ? src : ".", "app", "models", "srresnet2d-x8.safetensors", NULL);
  g_autoptr(TbNnNet) net = g_file_test (model, G_FILE_TEST_EXISTS) ? tb_nn_net_load (model, &error) : NULL;
  if (net == NULL)
    {
      TbNnArch a = { .arch = "srresnet", .dims = 2, .in_channels = 1, .features = 32, .blocks = 4, .scale = 8 };
      net = tb_nn_net_new (&a, 1, &error);
      tb_nn_net_set_meta (net, "input_spacing_mm", "0.625");
      tb_nn_net_set_meta (net, "input_scale", "1200");
    }
  const TbNnArch *a = tb_nn_net_get_arch (net);
  printf ("bench-nn: %s %d-D, %d features, %d blocks, x%d, %" G_GSIZE_FORMAT " parameters, %d threads\n\n",
          a->arch, a->dims, a->features, a->blocks, a->scale, tb_nn_net_n_params (net), threads);
  printf ("| case | ours | PyTorch | ratio (speed) | target | met |\n|---|---|---|---|---|---|\n");

  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  double sp[3] = { 0.625, 0.625, 0.625 };
  gint64 t0;
  int batch = 16, size = 16;
  if (!only_3d)
  {
  g_autoptr(TbNnTensor) x = tb_nn_tensor_new (4, batch, 1, 1, size, size);
  g_autoptr(TbNnTensor) y = tb_nn_tensor_new (4, batch, 1, 1, size * a->scale, size * a->scale);
  for (gsize i = 0; i < tb_nn_tensor_size (x); i++)
    x->data[i] = (float) g_random_double ();
  for (gsize i = 0; i < tb_nn_tensor_size (y); i++)
    y->data[i] = (float) g_random_double ();
  double ours = time_infer (net, x, 5), peer = torch_peer ("infer", a, batch, size, 5);
  row ("inference, batch 16 of 16x16 -> 128x128 (s/batch)", ours, peer, "s", 0.8, TRUE);
  g_autoptr(TbNnTensor) xb = tb_nn_tensor_new (4, 1, 1, 1, 64, 64);
  double ours_b = time_infer (net, xb, 3), peer_b = torch_peer ("infer", a, 1, 64, 3);
  row ("inference, one 64x64 -> 512x512 (s)", ours_b, peer_b, "s", 0.8, TRUE);
  ours = time_train (net, x, y, 3);
  peer = torch_peer ("train", a, batch, size, 3);
  row ("training step, batch 16 (s)", ours, peer, "s", 0.5, TRUE);

  /* whole femur section at clinical resolution: 256 x 256 -> 2048 x 2048, overlap-tile stitching */
  g_autoptr(TbVolume) ct = tb_volume_new (256, 256, 1, sp, &error);
  for (gsize i = 0; i < tb_volume_n_voxels (ct); i++)
    ct->data[i] = (float) (600.0 + 500.0 * sin (0.3 * (i % 256)) * cos (0.2 * (i / 256)));
  p.patch = 128;
  t0 = g_get_monotonic_time ();
  g_autoptr(TbVolume) out = tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error);
  double femur = (g_get_monotonic_time () - t0) / 1e6;
  g_assert_no_error (error);
  row ("2-D femur section 256^2 -> 2048^2, overlap-tile (s)", femur, NAN, "s", 10.0, FALSE);

  }
  /* 3-D VOI: 5 mm = 8 clinical voxels -> 64^3 with a 3-D SR-ResNet x8 (16 features, 2 blocks, random
   * weights: no 3-D model is shipped), whole VOI + halo in one tile */
  TbNnArch a3 = { .arch = "srresnet", .dims = 3, .in_channels = 1, .features = 16, .blocks = 2, .scale = 8 };
  g_autoptr(TbNnNet) net3 = tb_nn_net_new (&a3, 1, &error);
  tb_nn_net_set_meta (net3, "input_spacing_mm", "0.625");
  g_autoptr(TbVolume) ct3 = tb_volume_new (32, 32, 32, sp, &error);
  for (gsize i = 0; i < tb_volume_n_voxels (ct3); i++)
    ct3->data[i] = (float) (600.0 + 500.0 * sin (0.5 * i));
  TbBox box = { 12, 12, 12, 8, 8, 8 };
  /* (a) overlap-tile: the VOI plus a halo of the receptive radius read from the volume (exact);
   * (b) the VOI alone as one patch (zero padding at its faces), what a per-VOI call costs */
  for (int mode = 1; mode >= 0; mode--)
    {
      p.stitch = mode == 0 ? TB_NN_STITCH_TILE : TB_NN_STITCH_BLEND;
      p.patch = 8;
      p.overlap = mode == 0 ? 0 : 1;
      double t3[3];
      int reps = mode == 0 ? 1 : 3;
      for (int i = 0; i < reps; i++)
        {
          t0 = g_get_monotonic_time ();
          g_autoptr(TbVolume) o3 = tb_nn_enhance (net3, ct3, &box, &p, NULL, NULL, NULL, &error);
          t3[i] = (g_get_monotonic_time () - t0) / 1e6;
          g_assert_no_error (error);
          g_assert (o3->nx == 64 && o3->nz == 64);
        }
      g_autofree char *name3 = mode == 0
        ? g_strdup_printf ("3-D VOI 8^3 -> 64^3, SR-ResNet 3-D 16f/2b, overlap-tile with halo %d (s)", tb_nn_net_receptive_radius (net3))
        : g_strdup ("3-D VOI 8^3 -> 64^3, SR-ResNet 3-D 16f/2b, the VOI as one patch, no halo (s)");
      row (name3, median (t3, reps), NAN, "s", 1.0, FALSE);
    }
  return 0;
}
