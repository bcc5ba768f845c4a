/* nn-train.c — the training loop: pixel-loss pre-training (L1, L2 or the L1 + SSIM mix), then optional adversarial
 * fine-tuning against a PatchGAN (least-squares GAN, Mao et al. 2017), AdamW, cosine schedule,
 * gradient clipping, a checkpoint per epoch (weights + optimizer state: resume is exact) and a CSV
 * log per epoch. A fixed seed and thread count give the same model. */
#include "nn-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void
tb_nn_train_params_init (TbNnTrainParams *p)
{
  memset (p, 0, sizeof *p);
  p->arch = (TbNnArch) { .arch = "srresnet", .dims = 2, .in_channels = 1, .features = 32, .blocks = 4,
                         .depth = 3, .layers = 3, .scale = 8 };
  p->loss = "l1";
  p->epochs = 20;
  p->batch = 16;
  p->lr = 1e-3;
  p->lr_min = 1e-5;
  p->weight_decay = 1e-4;
  p->clip_norm = 1.0;
  p->adv_weight = 1e-2;
  p->ssim_weight = 0.84;
  p->seed = 1;
}

static gboolean
loss_known (const char *loss)
{
  return g_strcmp0 (loss, "l1") == 0 || g_strcmp0 (loss, "l2") == 0 || g_strcmp0 (loss, "l1+ssim") == 0;
}

/* The pixel loss of the batch and its gradient into grad; tmp is scratch shaped like grad. */
static double
pixel_loss (const TbNnTrainParams *p, const TbNnTensor *y, const TbNnTensor *hr, TbNnTensor *grad, TbNnTensor *tmp)
{
  if (strcmp (p->loss, "l2") == 0)
    return tb_nn_loss_l2 (y, hr, grad);
  if (strcmp (p->loss, "l1") == 0)
    return tb_nn_loss_l1 (y, hr, grad);
  double w = p->ssim_weight;
  double l = (1.0 - w) * tb_nn_loss_l1 (y, hr, grad) + w * tb_nn_loss_ssim (y, hr, tmp);
  for (gsize j = 0; j < tb_nn_tensor_size (grad); j++)
    grad->data[j] = (float) ((1.0 - w) * grad->data[j] + w * tmp->data[j]);
  return l;
}

typedef struct {
  double l1, psnr, psnr_bilinear;
} Validation;

/* Mean L1 and PSNR (data range 1, the bone fraction) over the validation split, and the same PSNR
 * for the linear upsampling of the input (the network's own skip path) for reference. */
static void
validate (TbNnNet *net, const TbNnDataset *val, Validation *v)
{
  const TbNnTensor *L = tb_nn_dataset_tensor (val, "lr"), *H = tb_nn_dataset_tensor (val, "hr");
  guint n = tb_nn_dataset_size (val), bs = 16;
  double se = 0.0, ae = 0.0, se_lin = 0.0;
  gsize hs = (gsize) H->h * H->w;
  TbNnLayer up = { .kind = TB_NN_UPSAMPLE_LINEAR, .dims = 2, .factor = H->w / L->w, .n_inputs = 1 };
  for (guint i0 = 0; i0 < n; i0 += bs)
    {
      guint b = MIN (bs, n - i0);
      g_autofree guint *idx = g_new (guint, b);
      for (guint i = 0; i < b; i++)
        idx[i] = i0 + i;
      g_autoptr(TbNnTensor) lr = tb_nn_tensor_new (4, b, L->c, 1, L->h, L->w);
      g_autoptr(TbNnTensor) hr = tb_nn_tensor_new (4, b, 1, 1, H->h, H->w);
      tb_nn_dataset_batch (val, idx, NULL, b, lr, hr);
      const TbNnTensor *y = tb_nn_net_forward (net, lr, FALSE, NULL);
      g_autoptr(TbNnTensor) lin = tb_nn_tensor_new_like (hr);
      const TbNnTensor *in[1] = { lr };
      tb_nn_get_ops (TB_NN_UPSAMPLE_LINEAR)->forward (&up, in, lin);
      for (gsize j = 0; j < b * hs; j++)
        {
          double d = y->data[j] - hr->data[j], dl = lin->data[j] - hr->data[j];
          se += d * d; ae += fabs (d); se_lin += dl * dl;
        }
    }
  double N = (double) n * hs;
  v->l1 = ae / N;
  v->psnr = 10.0 * log10 (1.0 / MAX (se / N, 1e-12));
  v->psnr_bilinear = 10.0 * log10 (1.0 / MAX (se_lin / N, 1e-12));
}

static gboolean
append_csv (const char *path, const char *line, GError **error)
{
  g_autofree char *old = NULL;
  if (!g_file_get_contents (path, &old, NULL, NULL))
    old = g_strdup ("epoch,phase,steps,train_loss,adv_loss_g,adv_loss_d,val_l1,val_psnr_db,val_psnr_bilinear_db,lr,grad_norm,seconds\n");
  g_autofree char *all = g_strconcat (old, line, NULL);
  return g_file_set_contents (path, all, -1, error);
}

static char *
json_string_of (JsonObject *o)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  return json_to_string (node, FALSE);
}

static void
format_eta (double s, char *buf, gsize n)
{
  int t = (int) MAX (0.0, s);
  g_snprintf (buf, n, "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
}

gboolean
tb_nn_train (const TbNnTrainParams *p, GCancellable *cancellable, TbProgressFunc progress,
             gpointer user_data, GError **error)
{
  g_return_val_if_fail (p != NULL && p->dataset != NULL && p->out_dir != NULL, FALSE);
  tb_nn_init ();
  if (p->epochs < 0 || p->adv_epochs < 0 || p->epochs + p->adv_epochs < 1 || p->batch < 1 || p->lr <= 0.0
      || !loss_known (p->loss) || p->ssim_weight < 0.0 || p->ssim_weight > 1.0)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                   "Training needs epochs >= 1, batch >= 1, lr > 0, loss l1, l2 or l1+ssim and an SSIM weight in [0, 1]");
      return FALSE;
    }
  g_autoptr(TbNnDataset) train = tb_nn_dataset_load (p->dataset, "train", error);
  if (train == NULL)
    return FALSE;
  g_autoptr(TbNnDataset) val = tb_nn_dataset_load (p->dataset, "val", error);
  if (val == NULL)
    return FALSE;
  JsonObject *man = tb_nn_dataset_manifest (train);
  int scale = (int) json_object_get_int_member_with_default (man, "scale", 0);
  if (scale != p->arch.scale || p->arch.dims != 2)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                   "The dataset is for scale %d (2-D slices); the network is scale %d, %d-D", scale, p->arch.scale, p->arch.dims);
      return FALSE;
    }
  if (g_mkdir_with_parents (p->out_dir, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "Cannot create %s", p->out_dir);
      return FALSE;
    }
  g_autofree char *ckpt = g_build_filename (p->out_dir, "checkpoint.safetensors", NULL);
  g_autofree char *ckpt_adam = g_build_filename (p->out_dir, "checkpoint-adam.safetensors", NULL);
  g_autofree char *ckpt_d = g_build_filename (p->out_dir, "checkpoint-disc.safetensors", NULL);
  g_autofree char *ckpt_dadam = g_build_filename (p->out_dir, "checkpoint-disc-adam.safetensors", NULL);
  g_autofree char *csv = g_build_filename (p->out_dir, "log.csv", NULL);
  g_autofree char *model = g_build_filename (p->out_dir, "model.safetensors", NULL);

  g_autoptr(TbNnNet) net = NULL;
  int first_epoch = 0;
  if (p->resume && g_file_test (ckpt, G_FILE_TEST_EXISTS))
    {
      net = tb_nn_net_load (ckpt, error);
      if (net == NULL)
        return FALSE;
      const TbNnArch *a = tb_nn_net_get_arch (net);
      if (strcmp (a->arch, p->arch.arch) != 0 || a->features != p->arch.features || a->blocks != p->arch.blocks
          || a->scale != p->arch.scale)
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                       "%s holds a different architecture than the one asked for; remove it or change the options", ckpt);
          return FALSE;
        }
      first_epoch = (int) tb_nn_net_get_meta_double (net, "epoch", -1.0) + 1;
    }
  else
    {
      net = tb_nn_net_new (&p->arch, p->seed, error);
      if (net == NULL)
        return FALSE;
      g_unlink (csv);
    }
  g_autoptr(TbNnAdam) adam = tb_nn_adam_new (net, 0.9, 0.999, 1e-8, p->weight_decay);
  if (first_epoch > 0 && !tb_nn_adam_load (adam, ckpt_adam, error))
    return FALSE;

  g_autoptr(TbNnNet) disc = NULL;
  g_autoptr(TbNnAdam) dadam = NULL;
  if (p->adv_epochs > 0)
    {
      TbNnArch da = { .arch = "patchgan", .dims = 2, .in_channels = 1, .features = 16, .layers = 2, .scale = 1 };
      if (first_epoch > p->epochs && g_file_test (ckpt_d, G_FILE_TEST_EXISTS))
        disc = tb_nn_net_load (ckpt_d, error);
      else
        disc = tb_nn_net_new (&da, p->seed + 1, error);
      if (disc == NULL)
        return FALSE;
      dadam = tb_nn_adam_new (disc, 0.5, 0.999, 1e-8, 0.0);
      if (first_epoch > p->epochs && g_file_test (ckpt_dadam, G_FILE_TEST_EXISTS) && !tb_nn_adam_load (dadam, ckpt_dadam, error))
        return FALSE;
    }

  guint n = tb_nn_dataset_size (train);
  int steps = p->steps_per_epoch > 0 ? p->steps_per_epoch : (int) MAX (1u, n / (guint) p->batch);
  int total_epochs = p->epochs + p->adv_epochs;
  guint64 total_steps = (guint64) p->epochs * steps;
  const TbNnTensor *L = tb_nn_dataset_tensor (train, "lr"), *H = tb_nn_dataset_tensor (train, "hr");
  g_autoptr(TbNnTensor) lr = tb_nn_tensor_new (4, p->batch, L->c, 1, L->h, L->w);
  g_autoptr(TbNnTensor) hr = tb_nn_tensor_new (4, p->batch, 1, 1, H->h, H->w);
  g_autoptr(TbNnTensor) grad = tb_nn_tensor_new_like (hr);
  g_autoptr(TbNnTensor) gadv = tb_nn_tensor_new_like (hr);
  g_autofree guint *idx = g_new (guint, p->batch);
  g_autofree guint8 *aug = g_new (guint8, p->batch);
  g_autofree guint *perm = g_new (guint, n);
  gint64 t_start = g_get_monotonic_time ();
  int stopped = 0;
  int done_steps = 0, todo_steps = (total_epochs - first_epoch) * steps;
  Validation v;

  for (int epoch = first_epoch; epoch < total_epochs; epoch++)
    {
      gboolean adv = epoch >= p->epochs;
      /* one generator per epoch, from the seed: a resumed run draws the same batches */
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (p->seed * 1000003u + (guint64) epoch));
      for (guint i = 0; i < n; i++)
        perm[i] = i;
      for (guint i = n - 1; i > 0; i--)
        {
          guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1), t = perm[i];
          perm[i] = perm[j]; perm[j] = t;
        }
      double sum_loss = 0.0, sum_g = 0.0, sum_d = 0.0, gnorm = 0.0, cur_lr = p->lr;
      guint pos = 0;
      for (int s = 0; s < steps; s++)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          for (int i = 0; i < p->batch; i++)
            {
              if (pos == n)
                pos = 0;
              idx[i] = perm[pos++];
              aug[i] = (guint8) g_rand_int_range (rand, 0, 8);
            }
          tb_nn_dataset_batch (train, idx, aug, p->batch, lr, hr);
          const TbNnTensor *y = tb_nn_net_forward (net, lr, TRUE, error);
          if (y == NULL)
            return FALSE;
          double loss = pixel_loss (p, y, hr, grad, gadv);
          if (adv)
            {
              /* discriminator: real -> 1, fake -> 0 */
              tb_nn_net_zero_grad (disc);
              const TbNnTensor *dr = tb_nn_net_forward (disc, hr, TRUE, error);
              g_autoptr(TbNnTensor) gd = tb_nn_tensor_new_like (dr);
              sum_d += tb_nn_loss_lsgan (dr, 1.0f, gd);
              tb_nn_net_backward (disc, gd, NULL);
              const TbNnTensor *df = tb_nn_net_forward (disc, y, TRUE, error);
              sum_d += tb_nn_loss_lsgan (df, 0.0f, gd);
              tb_nn_net_backward (disc, gd, NULL);
              tb_nn_adam_step (dadam, p->lr * 0.5, p->clip_norm);
              /* generator: fool the updated discriminator */
              df = tb_nn_net_forward (disc, y, TRUE, error);
              sum_g += tb_nn_loss_lsgan (df, 1.0f, gd);
              memset (gadv->data, 0, tb_nn_tensor_size (gadv) * sizeof (float));
              tb_nn_net_backward (disc, gd, gadv);
              for (gsize j = 0; j < tb_nn_tensor_size (grad); j++)
                grad->data[j] += (float) p->adv_weight * gadv->data[j];
              cur_lr = p->lr_min > 0 ? p->lr_min * 10.0 : p->lr * 0.1;
            }
          else
            cur_lr = tb_nn_lr_cosine (p->lr, p->lr_min, MIN (100, total_steps / 20), (guint64) epoch * steps + s, total_steps);
          tb_nn_net_zero_grad (net);
          tb_nn_net_backward (net, grad, NULL);
          gnorm = tb_nn_adam_step (adam, cur_lr, p->clip_norm);
          sum_loss += loss;
          done_steps++;
          if (progress != NULL)
            {
              double el = (g_get_monotonic_time () - t_start) / 1e6, eta = el / done_steps * (todo_steps - done_steps);
              char eta_s[32], msg[160];
              format_eta (eta, eta_s, sizeof eta_s);
              g_snprintf (msg, sizeof msg, "epoch %d/%d%s step %d/%d loss %.4f, ETA %s", epoch + 1, total_epochs,
                          adv ? " (adversarial)" : "", s + 1, steps, sum_loss / (s + 1), eta_s);
              progress ((double) done_steps / todo_steps, msg, user_data);
            }
        }
      validate (net, val, &v);
      double secs = (g_get_monotonic_time () - t_start) / 1e6;
      char line[512];
      g_snprintf (line, sizeof line, "%d,%s,%d,%.6g,%.6g,%.6g,%.6g,%.4f,%.4f,%.4g,%.4g,%.1f\n", epoch + 1,
                  adv ? "adversarial" : p->loss, steps, sum_loss / steps, sum_g / steps, sum_d / steps,
                  v.l1, v.psnr, v.psnr_bilinear, cur_lr, gnorm, secs);
      if (!append_csv (csv, line, error))
        return FALSE;
      g_autofree char *ep = g_strdup_printf ("%d", epoch);
      tb_nn_net_set_meta (net, "epoch", ep);
      if (!tb_nn_net_save (net, ckpt, error) || !tb_nn_adam_save (adam, ckpt_adam, NULL, error))
        return FALSE;
      if (disc != NULL && adv && (!tb_nn_net_save (disc, ckpt_d, error) || !tb_nn_adam_save (dadam, ckpt_dadam, NULL, error)))
        return FALSE;
      if (p->max_seconds > 0 && secs > p->max_seconds && epoch + 1 < total_epochs)
        {
          stopped = epoch + 1;
          break;
        }
    }

  /* the model file: architecture, normalization, recipe, provenance, validation */
  if (first_epoch >= total_epochs)
    validate (net, val, &v);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  JsonObject *m = man;
  tb_nn_net_set_meta (net, "input_offset", g_ascii_dtostr (buf, sizeof buf, json_object_get_double_member_with_default (m, "input_offset", 0.0)));
  tb_nn_net_set_meta (net, "input_scale", g_ascii_dtostr (buf, sizeof buf, json_object_get_double_member_with_default (m, "input_scale", 1.0)));
  tb_nn_net_set_meta (net, "input_norm", "HU");
  tb_nn_net_set_meta (net, "input_spacing_mm", g_ascii_dtostr (buf, sizeof buf, json_object_get_double_member_with_default (m, "input_spacing_mm", 0.0)));
  tb_nn_net_set_meta (net, "output", "bone_fraction");
  g_autofree char *loss_name = strcmp (p->loss, "l1+ssim") == 0
                                ? g_strdup_printf ("%g (1 - SSIM) + %g L1", p->ssim_weight, 1.0 - p->ssim_weight)
                                : g_strdup (p->loss);
  g_autofree char *recipe = g_strdup_printf ("loss %s, %d epochs x %d steps, batch %d, AdamW lr %g cosine to %g, "
                                             "weight decay %g, clip %g, seed %" G_GUINT64_FORMAT
                                             ", 8 square symmetries; adversarial %d epochs (LSGAN PatchGAN, weight %g)",
                                             loss_name, p->epochs, steps, p->batch, p->lr, p->lr_min, p->weight_decay,
                                             p->clip_norm, p->seed, p->adv_epochs, p->adv_weight);
  if (stopped > 0)
    {
      g_autofree char *r2 = g_strdup_printf ("%s; STOPPED by the time limit (%g s) after epoch %d", recipe, p->max_seconds, stopped);
      tb_nn_net_set_meta (net, "recipe", r2);
    }
  else
    tb_nn_net_set_meta (net, "recipe", recipe);
  g_autofree char *prov = json_string_of (m);
  tb_nn_net_set_meta (net, "provenance", prov);
  g_autofree char *valid = g_strdup_printf ("held-out seeds, %u pairs: L1 %.4f, PSNR %.2f dB (linear upsampling %.2f dB)",
                                            tb_nn_dataset_size (val), v.l1, v.psnr, v.psnr_bilinear);
  tb_nn_net_set_meta (net, "validation", valid);
  if (p->command_line != NULL)
    tb_nn_net_set_meta (net, "command", p->command_line);
  g_hash_table_remove (nn_net_meta (net), "epoch");
  return tb_nn_net_save (net, model, error);
}
