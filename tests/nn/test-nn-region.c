/* test-nn-region.c — inference on part of the output (tb_nn_net_forward_region: each layer only on
 * what the layers after it need, convolution + ReLU fused) gives exactly the bits of the plain
 * whole-grid pass (the training forward: every layer on its whole grid, nothing fused), for random
 * regions and regions at the borders, for every architecture and every convolution kernel set this
 * CPU runs; the inference forward (the region of the whole output) does too; the memory it reports
 * is what tb_nn_net_region_bytes predicts. */
#include "nn/tb-nn.h"
#include "tb-test.h"

#include <string.h>

static TbNnNet *
make (const char *arch, int dims, int features, int blocks, int depth, int layers, int scale)
{
  TbNnArch a = { .arch = arch, .dims = dims, .in_channels = 1, .features = features, .blocks = blocks,
                 .depth = depth, .layers = layers, .scale = scale };
  g_autoptr(GError) error = NULL;
  TbNnNet *net = tb_nn_net_new (&a, 11, &error);
  g_assert_no_error (error);
  /* random biases too (the default init draws them small): negative pre-activations for every ReLU */
  g_autoptr(GRand) r = g_rand_new_with_seed (12);
  for (guint i = 0; i < tb_nn_net_n_layers (net); i++)
    {
      TbNnLayer *l = tb_nn_net_get_layer (net, i);
      if (l->bias != NULL)
        for (gsize j = 0; j < tb_nn_tensor_size (l->bias); j++)
          l->bias->data[j] = (float) g_rand_double_range (r, -0.3, 0.3);
    }
  return net;
}

static TbNnTensor *
random_input (int dims, int d, int h, int w, guint32 seed)
{
  TbNnTensor *t = tb_nn_tensor_new (dims + 2, 1, 1, d, h, w);
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < tb_nn_tensor_size (t); i++)
    t->data[i] = (float) g_rand_double_range (r, -1.0, 1.0);
  return t;
}

static gsize
count_differences (const TbNnTensor *whole, const TbNnTensor *part, const int lo[3])
{
  gsize diff = 0;
  for (int c = 0; c < part->c; c++)
    for (int z = 0; z < part->d; z++)
      for (int y = 0; y < part->h; y++)
        for (int x = 0; x < part->w; x++)
          {
            const float *a = &whole->data[(((gsize) c * whole->d + z + lo[2]) * whole->h + y + lo[1]) * whole->w + x + lo[0]];
            const float *b = &part->data[(((gsize) c * part->d + z) * part->h + y) * part->w + x];
            diff += memcmp (a, b, sizeof (float)) != 0;
          }
  return diff;
}

static void
check_net (TbNnNet *net, const TbNnTensor *x, guint32 seed)
{
  g_autoptr(GError) error = NULL;
  const TbNnTensor *yw = tb_nn_net_forward (net, x, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr(TbNnTensor) whole = tb_nn_tensor_new_like (yw);
  memcpy (whole->data, yw->data, tb_nn_tensor_size (yw) * sizeof (float));
  int full[3] = { whole->w, whole->h, whole->d }, zero[3] = { 0, 0, 0 };

  const TbNnTensor *yi = tb_nn_net_forward (net, x, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (tb_nn_tensor_same_shape (yi, whole));
  g_assert_cmpuint (count_differences (whole, yi, zero), ==, 0);

  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  for (int trial = 0; trial < 12; trial++)
    {
      int lo[3], n[3];
      for (int a = 0; a < 3; a++)
        {
          if (trial == 0)          /* all of it */
            lo[a] = 0, n[a] = full[a];
          else if (trial == 1)     /* the first voxel */
            lo[a] = 0, n[a] = 1;
          else if (trial == 2)     /* the last voxel */
            lo[a] = full[a] - 1, n[a] = 1;
          else
            {
              lo[a] = g_rand_int_range (r, 0, full[a]);
              n[a] = g_rand_int_range (r, 1, full[a] - lo[a] + 1);
            }
        }
      gsize peak = 0;
      g_autoptr(TbNnTensor) part = tb_nn_net_forward_region (net, x, lo, n, &peak, &error);
      g_assert_no_error (error);
      g_assert_cmpint (part->w, ==, n[0]);
      g_assert_cmpint (part->h, ==, n[1]);
      g_assert_cmpint (part->d, ==, n[2]);
      gsize diff = count_differences (whole, part, lo);
      if (diff != 0)
        g_error ("%s %d-D, kernels %s: region %d+%d %d+%d %d+%d: %" G_GSIZE_FORMAT " voxels differ",
                 tb_nn_net_get_arch (net)->arch, tb_nn_net_get_arch (net)->dims, tb_nn_kernels_name (),
                 lo[0], n[0], lo[1], n[1], lo[2], n[2], diff);
      g_assert_cmpuint (peak, >, 0);
      g_assert_cmpuint (peak, ==, tb_nn_net_region_bytes (net, x, lo, n, NULL));
    }
}

static const char *kernel_sets[] = { "avx512", "avx2", "generic" };

static void
each_kernel_set (void (*check) (void))
{
  g_autofree char *keep = g_strdup (tb_nn_kernels_name ());
  int ran = 0;
  for (guint i = 0; i < G_N_ELEMENTS (kernel_sets); i++)
    if (tb_nn_set_kernels (kernel_sets[i]))
      {
        g_test_message ("kernels %s", kernel_sets[i]);
        check ();
        ran++;
      }
  g_assert_true (tb_nn_set_kernels (keep));
  g_assert_cmpint (ran, >=, 1);
}

static void
check_srresnet_2d (void)
{
  g_autoptr(TbNnNet) net = make ("srresnet", 2, 8, 2, 0, 0, 4);
  g_autoptr(TbNnTensor) x = random_input (2, 1, 13, 17, 1);
  check_net (net, x, 2);
}

static void
check_srresnet_3d (void)
{
  g_autoptr(TbNnNet) net = make ("srresnet", 3, 4, 1, 0, 0, 2);
  g_autoptr(TbNnTensor) x = random_input (3, 7, 6, 9, 3);
  check_net (net, x, 4);
}

static void
check_unet (void)
{
  g_autoptr(TbNnNet) net = make ("unet", 2, 4, 0, 3, 0, 2);
  g_autoptr(TbNnTensor) x = random_input (2, 1, 10, 14, 5);
  check_net (net, x, 6);
}

static void
check_patchgan (void)
{
  g_autoptr(TbNnNet) net = make ("patchgan", 2, 4, 0, 0, 2, 1);
  g_autoptr(TbNnTensor) x = random_input (2, 1, 23, 19, 7);
  check_net (net, x, 8);
}

static void test_srresnet_2d (void) { each_kernel_set (check_srresnet_2d); }
static void test_srresnet_3d (void) { each_kernel_set (check_srresnet_3d); }
static void test_unet (void) { each_kernel_set (check_unet); }
static void test_patchgan (void) { each_kernel_set (check_patchgan); }

static void
test_refusals (void)
{
  g_autoptr(TbNnNet) net = make ("srresnet", 2, 4, 1, 0, 0, 2);
  g_autoptr(TbNnTensor) x = random_input (2, 1, 6, 5, 9);
  g_autoptr(GError) error = NULL;
  int lo[3] = { 8, 0, 0 }, n[3] = { 3, 2, 1 };   /* x 8..10 of a 10-wide output */
  g_assert_null (tb_nn_net_forward_region (net, x, lo, n, NULL, &error));
  g_assert_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID);
  g_clear_error (&error);
  g_autoptr(TbNnTensor) x3 = random_input (3, 4, 6, 5, 9);
  lo[0] = 0;
  g_assert_null (tb_nn_net_forward_region (net, x3, lo, n, NULL, &error));
  g_assert_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH);
  g_assert_false (tb_nn_set_kernels ("no-such-kernels"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/region/srresnet-2d", test_srresnet_2d);
  g_test_add_func ("/nn/region/srresnet-3d", test_srresnet_3d);
  g_test_add_func ("/nn/region/unet", test_unet);
  g_test_add_func ("/nn/region/patchgan", test_patchgan);
  g_test_add_func ("/nn/region/refusals", test_refusals);
  return g_test_run ();
}
