/* test-nn-train.c — the training loop end to end: a tiny network overfits a tiny dataset (the loss
 * falls by 100x), and tb_nn_train is reproducible and resumes exactly (same bytes); the SSIM loss is
 * 1 - tb_metrics_ssim and its gradient is the finite difference's. */
#include "nn/tb-nn.h"
#include "metrics/tb-metrics.h"
#include "tb-test.h"

#include <math.h>
#include <string.h>

/* Binary-ish HR images (thresholded sums of random sinusoids) and their 2x2 box means as LR. */
static void
make_images (guint n, int lw, TbNnTensor **lr_out, TbNnTensor **hr_out, guint32 seed)
{
  int hw = lw * 2;
  TbNnTensor *lr = tb_nn_tensor_new (4, n, 1, 1, lw, lw), *hr = tb_nn_tensor_new (4, n, 1, 1, hw, hw);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  for (guint i = 0; i < n; i++)
    {
      double a[3], fx[3], fy[3];
      for (int k = 0; k < 3; k++)
        {
          a[k] = g_rand_double_range (rand, 0, 6.28);
          fx[k] = g_rand_double_range (rand, -0.8, 0.8);
          fy[k] = g_rand_double_range (rand, -0.8, 0.8);
        }
      for (int y = 0; y < hw; y++)
        for (int x = 0; x < hw; x++)
          {
            double s = 0;
            for (int k = 0; k < 3; k++)
              s += sin (a[k] + fx[k] * x + fy[k] * y);
            hr->data[(gsize) i * hw * hw + y * hw + x] = s > 0.3 ? 1.0f : 0.0f;
          }
      for (int y = 0; y < lw; y++)
        for (int x = 0; x < lw; x++)
          {
            const float *h = hr->data + (gsize) i * hw * hw;
            lr->data[(gsize) i * lw * lw + y * lw + x] =
              0.25f * (h[2 * y * hw + 2 * x] + h[2 * y * hw + 2 * x + 1] + h[(2 * y + 1) * hw + 2 * x] + h[(2 * y + 1) * hw + 2 * x + 1]);
          }
    }
  *lr_out = lr;
  *hr_out = hr;
}

static void
test_overfit (void)
{
  TbNnArch arch = { .arch = "srresnet", .dims = 2, .in_channels = 1, .features = 8, .blocks = 1, .scale = 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) net = tb_nn_net_new (&arch, 3, &error);
  g_assert_no_error (error);
  g_autoptr(TbNnTensor) lr = NULL, hr = NULL;
  make_images (4, 9, &lr, &hr, 11);
  g_autoptr(TbNnTensor) grad = tb_nn_tensor_new_like (hr);
  g_autoptr(TbNnAdam) adam = tb_nn_adam_new (net, 0.9, 0.999, 1e-8, 0.0);
  double first = 0.0, last = 0.0;
  int steps = 800;
  for (int s = 0; s < steps; s++)
    {
      const TbNnTensor *y = tb_nn_net_forward (net, lr, TRUE, &error);
      g_assert_no_error (error);
      last = tb_nn_loss_l2 (y, hr, grad);
      if (s == 0)
        first = last;
      tb_nn_net_zero_grad (net);
      tb_nn_net_backward (net, grad, NULL);
      tb_nn_adam_step (adam, tb_nn_lr_cosine (3e-3, 1e-5, 20, s, steps), 0.0);
    }
  g_test_message ("L2 loss %.4g -> %.4g (ratio %.1f)", first, last, first / last);
  g_assert_cmpfloat (last, <, first / 100.0);
}

/* The SSIM loss against the metric (same window, constants and valid centres: agreement to double
 * rounding, 1e-10) on two planes of odd size, and its gradient against central differences taken
 * with the deltas float really stores (the loss sums in double: truncation error h^2 f''' ~ 1e-9
 * against gradients ~ 1e-4; 1e-4 of the largest gradient holds with room). */
static void
test_ssim_loss (void)
{
  int h = 23, w = 19;
  g_autoptr(TbNnTensor) x = tb_nn_tensor_new (4, 2, 1, 1, h, w), y = tb_nn_tensor_new_like (x);
  g_autoptr(TbNnTensor) g = tb_nn_tensor_new_like (x);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  for (gsize i = 0; i < tb_nn_tensor_size (x); i++)
    {
      x->data[i] = g_rand_double (rand) > 0.6 ? 1.0f : 0.0f;
      y->data[i] = (float) (0.5 * x->data[i] + 0.5 * g_rand_double (rand));
    }
  double loss = tb_nn_loss_ssim (y, x, g);
  double sum = 0.0;
  for (int p = 0; p < 2; p++)
    {
      double sp[3] = { 1, 1, 1 };
      g_autoptr(TbVolume) a = tb_volume_new (w, h, 1, sp, NULL), b = tb_volume_new (w, h, 1, sp, NULL);
      memcpy (a->data, x->data + p * h * w, sizeof (float) * h * w);
      memcpy (b->data, y->data + p * h * w, sizeof (float) * h * w);
      sum += tb_metrics_ssim (a, b, 1.0, TB_METRICS_SSIM_2D, NULL, NULL, NULL);
    }
  g_test_message ("SSIM loss %.12f, 1 - metric %.12f", loss, 1.0 - sum / 2);
  g_assert_cmpfloat_with_epsilon (loss, 1.0 - sum / 2, 1e-10);
  double gmax = 0.0, err = 0.0;
  for (gsize i = 0; i < tb_nn_tensor_size (y); i++)
    gmax = MAX (gmax, fabs (g->data[i]));
  for (gsize i = 0; i < tb_nn_tensor_size (y); i += 7)
    {
      float y0 = y->data[i], yp = y0 + 1e-2f, ym = y0 - 1e-2f;
      y->data[i] = yp;
      double lp = tb_nn_loss_ssim (y, x, NULL);
      y->data[i] = ym;
      double lm = tb_nn_loss_ssim (y, x, NULL);
      y->data[i] = y0;
      err = MAX (err, fabs ((lp - lm) / ((double) yp - ym) - g->data[i]));
    }
  g_test_message ("gradient: max |analytic - central difference| %.3g, max |gradient| %.3g", err, gmax);
  g_assert_cmpfloat (err, <, 1e-4 * gmax);
}

static void
write_dataset (const char *dir)
{
  g_autoptr(TbNnTensor) lr = NULL, hr = NULL, vlr = NULL, vhr = NULL;
  make_images (12, 7, &lr, &hr, 5);
  make_images (3, 7, &vlr, &vhr, 6);
  g_autoptr(GError) error = NULL;
  for (int v = 0; v < 2; v++)
    {
      g_autoptr(GHashTable) t = g_hash_table_new (g_str_hash, g_str_equal);
      g_hash_table_insert (t, "lr", v ? vlr : lr);
      g_hash_table_insert (t, "hr", v ? vhr : hr);
      g_autofree char *path = g_build_filename (dir, v ? "val.safetensors" : "train.safetensors", NULL);
      g_assert_true (tb_nn_safetensors_write (path, t, NULL, &error));
    }
  g_autofree char *m = g_build_filename (dir, "manifest.json", NULL);
  g_assert_true (g_file_set_contents (m, "{\"format\": \"trabecula-pairs-1\", \"dims\": 2, \"scale\": 2, "
                                      "\"input_spacing_mm\": 0.5, \"input_offset\": 0, \"input_scale\": 1}", -1, &error));
}

static GBytes *
read_bytes (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_autofree char *c = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (p, &c, &n, NULL));
  return g_bytes_new (c, n);
}

static void
cancel_in_epoch_2 (double fraction, const char *message, gpointer user_data)
{
  if (g_str_has_prefix (message, "epoch 2/"))
    g_cancellable_cancel (user_data);
}

static void
test_train_resume (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *data = g_build_filename (dir, "data", NULL), *a = g_build_filename (dir, "a", NULL),
                  *b = g_build_filename (dir, "b", NULL);
  g_mkdir (data, 0755);
  write_dataset (data);
  TbNnTrainParams p;
  tb_nn_train_params_init (&p);
  p.arch = (TbNnArch) { .arch = "srresnet", .dims = 2, .in_channels = 1, .features = 4, .blocks = 1, .scale = 2 };
  p.dataset = data;
  p.batch = 4;
  p.epochs = 2;
  p.adv_epochs = 1;
  p.out_dir = a;
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_nn_train (&p, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* the same run cancelled in its second epoch, then resumed: identical model bytes */
  p.out_dir = b;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_assert_false (tb_nn_train (&p, cancel, cancel_in_epoch_2, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  p.resume = TRUE;
  g_assert_true (tb_nn_train (&p, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) ma = read_bytes (a, "model.safetensors"), mb = read_bytes (b, "model.safetensors");
  /* the recipe differs (command line absent in both; epochs equal) so compare the weights */
  g_autoptr(TbNnNet) na = NULL, nb = NULL;
  g_autofree char *pa = g_build_filename (a, "model.safetensors", NULL), *pb = g_build_filename (b, "model.safetensors", NULL);
  na = tb_nn_net_load (pa, &error);
  g_assert_no_error (error);
  nb = tb_nn_net_load (pb, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < tb_nn_net_n_layers (na); i++)
    {
      TbNnLayer *la = tb_nn_net_get_layer (na, i), *lb = tb_nn_net_get_layer (nb, i);
      if (la->weight != NULL)
        g_assert_cmpmem (la->weight->data, tb_nn_tensor_size (la->weight) * 4, lb->weight->data, tb_nn_tensor_size (lb->weight) * 4);
    }
  g_assert_true (g_bytes_equal (ma, mb));
  g_autofree char *csv = g_build_filename (b, "log.csv", NULL), *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (g_strstrip (text), "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, 4);   /* header + 3 epochs */
  g_assert_true (strstr (lines[3], "adversarial") != NULL);
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/train/overfit", test_overfit);
  g_test_add_func ("/nn/train/ssim-loss", test_ssim_loss);
  g_test_add_func ("/nn/train/reproducible-resume", test_train_resume);
  return g_test_run ();
}
