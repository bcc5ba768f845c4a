/* bench-nn.c — the network engine against PyTorch on the same CPU in the same run (same net, batch,
 * input size and threads): inference throughput and one training step (L1 + backward + AdamW);
 * then a whole 2-D femur section 256x256 -> 2048x2048 and a 5 mm 3-D VOI 8^3 -> 64^3 (targets), each
 * with PyTorch's whole-image pass of the same net as the peer. PyTorch has no tiling: for the VOI
 * with its halo (exact) the peer is the net on VOI + halo, cropped, and for the VOI alone the net
 * on the VOI alone.
 * The generator is the shipped model (app/models/srresnet2d-x8.safetensors) when present, else the
 * same architecture with random weights (throughput does not depend on the weights).
 * Usage: bench-nn [THREADS [3d]] (default 2). The machine may be shared: timings are medians, and the
 * load average before and after is printed. */
#include "nn/tb-nn.h"
#include "tb-runtime.h"

#include <cblas.h>
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

/* A row: ratio = PyTorch's time / ours (our speed as a fraction of PyTorch's). A ratio target
 * (ratio_target TRUE) is met by the ratio, a time target by our time. */
static void
row (const char *name, double ours, double peer, double target, gboolean ratio_target)
{
  double ratio = peer / ours;
  gboolean met = ratio_target ? ratio >= target : ours <= target;
  g_autofree char *p = isnan (peer) ? g_strdup ("no peer") : g_strdup_printf ("%.3f s", peer);
  g_autofree char *r = isnan (peer) ? g_strdup ("-") : g_strdup_printf ("%.2fx", ratio);
  g_autofree char *t = ratio_target ? g_strdup_printf (">= %.2gx", target) : g_strdup_printf ("<= %.3g s", target);
  printf ("| %s | %.3f s | %s | %s | %s | %s |\n", name, ours, p, r, t, met ? "yes" : "NO");
}

static void
load_average (const char *when)
{
  g_autofree char *s = NULL;
  if (g_file_get_contents ("/proc/loadavg", &s, NULL, NULL))
    printf ("load average %s: %s", when, s);
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

static double
time_enhance (TbNnNet *net, const TbVolume *ct, const TbBox *box, const TbNnEnhanceParams *p, int reps)
{
  double t[16];
  for (int i = 0; i < reps; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(TbVolume) out = tb_nn_enhance (net, ct, box, p, NULL, NULL, NULL, &error);
      t[i] = (g_get_monotonic_time () - t0) / 1e6;
      g_assert_no_error (error);
    }
  return median (t, reps);
}

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
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
  printf ("bench-nn: %s %d-D, %d features, %d blocks, x%d, %" G_GSIZE_FORMAT " parameters, %d threads, "
          "convolution kernels %s, OpenBLAS core %s\n", a->arch, a->dims, a->features, a->blocks, a->scale,
          tb_nn_net_n_params (net), threads, tb_nn_kernels_name (), openblas_get_corename ());
  load_average ("before");
  printf ("\n| case | ours | PyTorch | ratio (speed) | target | met |\n|---|---|---|---|---|---|\n");

  TbNnEnhanceParams p;
  double sp[3] = { 0.625, 0.625, 0.625 };
  int batch = 16, size = 16;
  if (!only_3d)
    {
      g_autoptr(TbNnTensor) x = tb_nn_tensor_new (4, batch, 1, 1, size, size);
      g_autoptr(TbNnTensor) y = tb_nn_tensor_new (4, batch, 1, 1, size * a->scale, size * a->scale);
      for (gsize i = 0; i < tb_nn_tensor_size (x); i++)
        x->data[i] = (float) g_random_double ();
      for (gsize i = 0; i < tb_nn_tensor_size (y); i++)
        y->data[i] = (float) g_random_double ();
      double ours = time_infer (net, x, 11), peer = torch_peer ("infer", a, batch, size, 11);
      row ("inference, batch 16 of 16x16 -> 128x128 (s/batch)", ours, peer, 0.8, TRUE);
      g_autoptr(TbNnTensor) xb = tb_nn_tensor_new (4, 1, 1, 1, 64, 64);
      ours = time_infer (net, xb, 11);
      peer = torch_peer ("infer", a, 1, 64, 11);
      row ("inference, one 64x64 -> 512x512 (s)", ours, peer, 0.8, TRUE);
      ours = time_train (net, x, y, 7);
      peer = torch_peer ("train", a, batch, size, 7);
      row ("training step, batch 16 (L1 + backward + AdamW + clip) (s)", ours, peer, 0.5, TRUE);

      /* whole femur section at clinical resolution: 256 x 256 -> 2048 x 2048, overlap-tile (exact) */
      g_autoptr(TbVolume) ct = tb_volume_new (256, 256, 1, sp, &error);
      for (gsize i = 0; i < tb_volume_n_voxels (ct); i++)
        ct->data[i] = (float) (600.0 + 500.0 * sin (0.3 * (i % 256)) * cos (0.2 * (i / 256)));
      double peer_f = torch_peer ("infer", a, 1, 256, 3);
      tb_nn_enhance_params_init (&p);
      double femur = time_enhance (net, ct, NULL, &p, 3);
      row ("2-D femur section 256^2 -> 2048^2, overlap-tile, the slice as one tile (s)", femur, peer_f, 10.0, FALSE);
      p.patch = 128;
      femur = time_enhance (net, ct, NULL, &p, 3);
      row ("2-D femur section 256^2 -> 2048^2, overlap-tile, tiles of 128^2 (s)", femur, peer_f, 10.0, FALSE);
    }
  /* 3-D VOI: 5 mm = 8 clinical voxels -> 64^3 with a 3-D SR-ResNet x8 (16 features, 2 blocks, random
   * weights: no 3-D model is shipped), in a 32^3 volume */
  TbNnArch a3 = { .arch = "srresnet", .dims = 3, .in_channels = 1, .features = 16, .blocks = 2, .scale = 8 };
  g_autoptr(TbNnNet) net3 = tb_nn_net_new (&a3, 1, &error);
  tb_nn_net_set_meta (net3, "input_spacing_mm", "0.625");
  g_autoptr(TbVolume) ct3 = tb_volume_new (32, 32, 32, sp, &error);
  for (gsize i = 0; i < tb_volume_n_voxels (ct3); i++)
    ct3->data[i] = (float) (600.0 + 500.0 * sin (0.5 * i));
  TbBox box = { 12, 12, 12, 8, 8, 8 };
  int rad = tb_nn_net_receptive_radius (net3);
  /* (a) the VOI alone as one patch (zero padding at its faces): what a per-VOI call costs;
   * (b) overlap-tile: the VOI plus a halo of the receptive radius read from the volume (exact) */
  tb_nn_enhance_params_init (&p);
  p.stitch = TB_NN_STITCH_BLEND;
  p.patch = 8;
  p.overlap = 1;
  double ours = time_enhance (net3, ct3, &box, &p, 11), peer = torch_peer ("infer", &a3, 1, 8, 5);
  row ("3-D VOI 8^3 -> 64^3, SR-ResNet 3-D 16f/2b, the VOI as one patch, no halo (s)", ours, peer, 1.0, FALSE);
  tb_nn_enhance_params_init (&p);
  ours = time_enhance (net3, ct3, &box, &p, 11);
  peer = torch_peer ("infer", &a3, 1, 8 + 2 * rad, 3);
  g_autofree char *name = g_strdup_printf ("3-D VOI 8^3 -> 64^3, same net, overlap-tile with halo %d, exact "
                                           "(PyTorch: the %d^3 VOI + halo, cropped) (s)", rad, 8 + 2 * rad);
  row (name, ours, peer, 1.0, FALSE);
  load_average ("after");
  return 0;
}
