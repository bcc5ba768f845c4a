/* test-nn-layers.c — every layer's forward and backward against PyTorch (reference tensors made by
 * make_reference.py, stored in data/ so this runs without PyTorch), and the documented architectures
 * loaded from safetensors files that PyTorch wrote.
 * Tolerance: max |ours - torch| / max |torch| <= 1e-5 per tensor. Torch's values are float64 from the
 * same float32 inputs; ours are float32 sums of at most ~600 products (K of a convolution), whose
 * rounding error is ~ sqrt(K) * 6e-8 ~ 1.5e-6 of the magnitude: 1e-5 holds with margin and would
 * catch any indexing or formula error (those are O(1)). */
#include "nn/tb-nn.h"
#include "tb-test.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static GHashTable *ref_tensors, *ref_meta;

static const TbNnTensor *
ref (const char *cs, const char *role)
{
  g_autofree char *name = g_strdup_printf ("%s.%s", cs, role);
  return g_hash_table_lookup (ref_tensors, name);
}

static double
rel_err (const float *a, const float *b, gsize n)
{
  double md = 0.0, mb = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      md = MAX (md, fabs ((double) a[i] - b[i]));
      mb = MAX (mb, fabs ((double) b[i]));
    }
  return md / MAX (mb, 1e-30);
}

static void
assert_close (const char *what, const TbNnTensor *ours, const TbNnTensor *torch)
{
  g_assert_nonnull (torch);
  g_assert_cmpuint (tb_nn_tensor_size (ours), ==, tb_nn_tensor_size (torch));
  double e = rel_err (ours->data, torch->data, tb_nn_tensor_size (torch));
  g_test_message ("%s: relative error %.3g", what, e);
  if (!(e <= 1e-5))
    g_error ("%s: relative error %.3g > 1e-5", what, e);
}

/* The reference file stores tensors as [n, c, (d,) h, w]; a 4-D tensor read back has d = 1. */
static TbNnTensor *
copy_as (const TbNnTensor *src, int ndim)
{
  TbNnTensor *t = tb_nn_tensor_new (ndim, src->n, src->c, src->d, src->h, src->w);
  memcpy (t->data, src->data, tb_nn_tensor_size (src) * sizeof (float));
  return t;
}

static TbNnKind
kind_from_name (const char *s)
{
  const char *names[] = { "conv", "relu", "leaky_relu", "add", "concat", "pixel_shuffle", "avg_pool",
                          "upsample_nearest", "upsample_linear" };
  for (int k = 0; k < TB_NN_N_KINDS; k++)
    if (strcmp (s, names[k]) == 0)
      return (TbNnKind) k;
  g_error ("unknown kind %s", s);
}

static void
test_layer (gconstpointer data)
{
  const char *cs = data;
  g_autoptr(JsonNode) node = json_from_string (g_hash_table_lookup (ref_meta, cs), NULL);
  JsonObject *o = json_node_get_object (node);
  int dims = (int) json_object_get_int_member (o, "dims"), ndim = dims + 2;
  TbNnLayer l = { 0 };
  l.kind = kind_from_name (json_object_get_string_member (o, "kind"));
  l.dims = dims;
  l.n_inputs = (l.kind == TB_NN_ADD || l.kind == TB_NN_CONCAT) ? 2 : 1;
  l.factor = (int) json_object_get_int_member_with_default (o, "factor", 0);
  l.slope = (float) json_object_get_double_member_with_default (o, "slope", 0.0);
  l.name = (char *) cs;
  g_autoptr(TbNnTensor) w = NULL, b = NULL, gw = NULL, gb = NULL;
  if (l.kind == TB_NN_CONV)
    {
      l.cin = (int) json_object_get_int_member (o, "cin");
      l.cout = (int) json_object_get_int_member (o, "cout");
      l.k = (int) json_object_get_int_member (o, "k");
      l.stride = (int) json_object_get_int_member (o, "stride");
      l.pad = (int) json_object_get_int_member (o, "pad");
      w = copy_as (ref (cs, "weight"), ndim);
      b = copy_as (ref (cs, "bias"), 4);
      gw = tb_nn_tensor_new_like (w);
      gb = tb_nn_tensor_new_like (b);
      l.weight = w; l.bias = b; l.grad_weight = gw; l.grad_bias = gb;
    }
  g_autoptr(TbNnTensor) x0 = copy_as (ref (cs, "x0"), ndim);
  g_autoptr(TbNnTensor) x1 = l.n_inputs > 1 ? copy_as (ref (cs, "x1"), ndim) : NULL;
  const TbNnTensor *in[2] = { x0, x1 };
  const TbNnOps *ops = tb_nn_get_ops (l.kind);
  int shape[6];
  g_autoptr(GError) error = NULL;
  g_assert_true (ops->shape (&l, in, shape, &error));
  g_autoptr(TbNnTensor) y = tb_nn_tensor_new (shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]);
  /* a convolution: every kernel set this CPU runs (the best last: backward below uses its output) */
  g_autofree char *keep = g_strdup (tb_nn_kernels_name ());
  const char *sets[] = { "generic", "avx2", "avx512" };
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++)
    if (l.kind == TB_NN_CONV && tb_nn_set_kernels (sets[i]))
      {
        ops->forward (&l, in, y);
        g_autofree char *what = g_strdup_printf ("forward (%s kernels)", sets[i]);
        assert_close (what, y, ref (cs, "y"));
      }
  g_assert_true (tb_nn_set_kernels (keep));
  ops->forward (&l, in, y);
  assert_close ("forward", y, ref (cs, "y"));

  g_autoptr(TbNnTensor) gy = copy_as (ref (cs, "gy"), ndim);
  g_autoptr(TbNnTensor) gx0 = tb_nn_tensor_new_like (x0);
  g_autoptr(TbNnTensor) gx1 = x1 != NULL ? tb_nn_tensor_new_like (x1) : NULL;
  TbNnTensor *gx[2] = { gx0, gx1 };
  ops->backward (&l, in, y, gy, gx);
  assert_close ("grad input 0", gx0, ref (cs, "gx0"));
  if (gx1 != NULL)
    assert_close ("grad input 1", gx1, ref (cs, "gx1"));
  if (gw != NULL)
    {
      assert_close ("grad weight", gw, ref (cs, "gweight"));
      assert_close ("grad bias", gb, ref (cs, "gbias"));
    }
}

/* J = sum gy * layer(x) accumulated in double. */
static double
objective (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *y, const TbNnTensor *gy, double *abs_sum)
{
  tb_nn_get_ops (l->kind)->forward (l, in, y);
  double j = 0.0, a = 0.0;
  for (gsize i = 0; i < tb_nn_tensor_size (y); i++)
    {
      j += (double) gy->data[i] * y->data[i];
      a += fabs ((double) gy->data[i] * y->data[i]);
    }
  if (abs_sum != NULL)
    *abs_sum = a;
  return j;
}

/* Finite-difference check of one coordinate of t (an input or a parameter) against the analytic
 * gradient g. Every layer is piecewise linear in each input, so the central difference
 * (J(t+h) - J(t-h)) / 2h is EXACT in exact arithmetic when no ReLU kink lies within h (coordinates
 * whose ReLU input is within 2h of 0 are skipped). What remains is float32 rounding of J: each output
 * carries at most ~sqrt(K) * 1.2e-7 relative error (K products summed), so |error of J| <=
 * 4 sqrt(K) 1.2e-7 * sum|gy y| and the quotient's error is that over 2h (the float/double-precision
 * substitute: J is summed in double and the tolerance is this computed bound plus 1e-4 relative). */
static void
fd_check (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *y, const TbNnTensor *gy,
          TbNnTensor *t, const TbNnTensor *g, int K, GRand *rand, const char *what)
{
  const float h = 1e-2f;
  int checked = 0;
  for (int trial = 0; trial < 200 && checked < 12; trial++)
    {
      gsize i = (gsize) g_rand_int_range (rand, 0, (gint32) tb_nn_tensor_size (t));
      float keep = t->data[i];
      if ((l->kind == TB_NN_RELU || l->kind == TB_NN_LEAKY_RELU) && fabsf (keep) < 2 * h)
        continue;
      double s1, s2;
      t->data[i] = keep + h;
      double jp = objective (l, in, y, gy, &s1);
      t->data[i] = keep - h;
      double jm = objective (l, in, y, gy, &s2);
      t->data[i] = keep;
      double num = (jp - jm) / (2.0 * (double) h);
      double tol = 4.0 * sqrt ((double) K) * 1.2e-7 * MAX (s1, s2) / (2.0 * h) + 1e-4 * fabs (g->data[i]);
      if (!(fabs (num - g->data[i]) <= tol))
        g_error ("%s[%" G_GSIZE_FORMAT "]: finite difference %.8g, analytic %.8g (tolerance %.3g)",
                 what, i, num, (double) g->data[i], tol);
      checked++;
    }
  g_assert_cmpint (checked, >=, 6);
}

static void
test_layer_fd (gconstpointer data)
{
  const char *cs = data;
  g_autoptr(JsonNode) node = json_from_string (g_hash_table_lookup (ref_meta, cs), NULL);
  JsonObject *o = json_node_get_object (node);
  int dims = (int) json_object_get_int_member (o, "dims"), ndim = dims + 2;
  TbNnLayer l = { 0 };
  l.kind = kind_from_name (json_object_get_string_member (o, "kind"));
  l.dims = dims;
  l.n_inputs = (l.kind == TB_NN_ADD || l.kind == TB_NN_CONCAT) ? 2 : 1;
  l.factor = (int) json_object_get_int_member_with_default (o, "factor", 0);
  l.slope = (float) json_object_get_double_member_with_default (o, "slope", 0.0);
  l.name = (char *) cs;
  int K = 8;
  g_autoptr(TbNnTensor) w = NULL, b = NULL, gw = NULL, gb = NULL;
  if (l.kind == TB_NN_CONV)
    {
      l.cin = (int) json_object_get_int_member (o, "cin");
      l.cout = (int) json_object_get_int_member (o, "cout");
      l.k = (int) json_object_get_int_member (o, "k");
      l.stride = (int) json_object_get_int_member (o, "stride");
      l.pad = (int) json_object_get_int_member (o, "pad");
      w = copy_as (ref (cs, "weight"), ndim);
      b = copy_as (ref (cs, "bias"), 4);
      gw = tb_nn_tensor_new_like (w);
      gb = tb_nn_tensor_new_like (b);
      l.weight = w; l.bias = b; l.grad_weight = gw; l.grad_bias = gb;
      K = (int) (tb_nn_tensor_size (w) / l.cout) + 1;
    }
  g_autoptr(TbNnTensor) x0 = copy_as (ref (cs, "x0"), ndim);
  g_autoptr(TbNnTensor) x1 = l.n_inputs > 1 ? copy_as (ref (cs, "x1"), ndim) : NULL;
  const TbNnTensor *in[2] = { x0, x1 };
  int shape[6];
  g_assert_true (tb_nn_get_ops (l.kind)->shape (&l, in, shape, NULL));
  g_autoptr(TbNnTensor) y = tb_nn_tensor_new (shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]);
  g_autoptr(TbNnTensor) gy = copy_as (ref (cs, "gy"), ndim);
  tb_nn_get_ops (l.kind)->forward (&l, in, y);
  g_autoptr(TbNnTensor) gx0 = tb_nn_tensor_new_like (x0);
  g_autoptr(TbNnTensor) gx1 = x1 != NULL ? tb_nn_tensor_new_like (x1) : NULL;
  TbNnTensor *gx[2] = { gx0, gx1 };
  tb_nn_get_ops (l.kind)->backward (&l, in, y, gy, gx);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  fd_check (&l, in, y, gy, x0, gx0, K, rand, "input 0");
  if (x1 != NULL)
    fd_check (&l, in, y, gy, x1, gx1, K, rand, "input 1");
  if (w != NULL)
    {
      fd_check (&l, in, y, gy, w, gw, K, rand, "weight");
      fd_check (&l, in, y, gy, b, gb, K, rand, "bias");
    }
}

static void
test_loss (gconstpointer data)
{
  const char *cs = data;
  const TbNnTensor *p = ref (cs, "x0"), *t = ref (cs, "x1");
  g_autoptr(TbNnTensor) g = tb_nn_tensor_new_like (p);
  double v = strcmp (cs, "loss_l1") == 0 ? tb_nn_loss_l1 (p, t, g)
             : strcmp (cs, "loss_l2") == 0 ? tb_nn_loss_l2 (p, t, g) : tb_nn_loss_lsgan (p, 1.0f, g);
  tb_assert_rel (v, ref (cs, "y")->data[0], 1e-5);
  assert_close ("loss gradient", g, ref (cs, "gx0"));
}

/* A module saved by PyTorch loads by its documented tensor names and gives PyTorch's output and
 * gradients (all parameters, and the input). */
static void
test_model (gconstpointer data)
{
  const char *cs = data;
  g_autofree char *path = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "nn", "data", NULL);
  g_autofree char *file = g_strdup_printf ("%s/%s.safetensors", path, cs);
  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) net = tb_nn_net_load (file, &error);
  g_assert_no_error (error);
  int ndim = tb_nn_net_get_arch (net)->dims + 2;
  g_autoptr(TbNnTensor) x = copy_as (ref (cs, "x0"), ndim);
  const TbNnTensor *y = tb_nn_net_forward (net, x, TRUE, &error);
  g_assert_no_error (error);
  assert_close ("model forward", y, ref (cs, "y"));
  g_autoptr(TbNnTensor) gy = copy_as (ref (cs, "gy"), ndim);
  g_autoptr(TbNnTensor) gx = tb_nn_tensor_new_like (x);
  tb_nn_net_zero_grad (net);
  tb_nn_net_backward (net, gy, gx);
  assert_close ("model grad input", gx, ref (cs, "gx0"));
  for (guint i = 0; i < tb_nn_net_n_layers (net); i++)
    {
      TbNnLayer *l = tb_nn_net_get_layer (net, i);
      if (l->weight == NULL)
        continue;
      g_autofree char *wn = g_strdup_printf ("g.%s.weight", l->name), *bn = g_strdup_printf ("g.%s.bias", l->name);
      assert_close (wn, l->grad_weight, ref (cs, wn));
      assert_close (bn, l->grad_bias, ref (cs, bn));
    }
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *file = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "nn", "data", "reference.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  if (!tb_nn_safetensors_read (file, &ref_tensors, &ref_meta, &error))
    g_error ("%s", error->message);
  g_autofree gpointer *cases = (gpointer *) g_hash_table_get_keys_as_array (ref_meta, NULL);
  qsort (cases, g_hash_table_size (ref_meta), sizeof (gpointer), compare_names);
  for (guint i = 0; i < g_hash_table_size (ref_meta); i++)
    {
      const char *cs = cases[i];
      const char *js = g_hash_table_lookup (ref_meta, cs);
      g_autofree char *path = g_strdup_printf ("/nn/torch/%s", cs);
      if (g_str_has_prefix (cs, "loss_"))
        g_test_add_data_func (path, cs, test_loss);
      else if (strstr (js, "\"model\"") != NULL)
        g_test_add_data_func (path, cs, test_model);
      else
        {
          g_test_add_data_func (path, cs, test_layer);
          g_autofree char *fd = g_strdup_printf ("/nn/finite-difference/%s", cs);
          g_test_add_data_func (fd, cs, test_layer_fd);
        }
    }
  return g_test_run ();
}
