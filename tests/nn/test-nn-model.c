/* test-nn-model.c — model files: a save/load round trip, bad files refused by name (wrong header,
 * missing tensors, wrong shapes, a different scale), and the shipped model beating the baseline
 * (trilinear + BV/TV-preserving threshold) in PSNR on a held-out phantom section. */
#include "nn/tb-nn.h"
#include "phantom/tb-phantom.h"
#include "tb-test.h"

#include <math.h>
#include <string.h>

static char *
ref_model (void)
{
  return g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "nn", "data", "model_srresnet2d.safetensors", NULL);
}

static void
test_round_trip (void)
{
  g_autofree char *path = ref_model (), *dir = tb_test_tmpdir ();
  g_autofree char *out = g_build_filename (dir, "m.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) a = tb_nn_net_load (path, &error);
  g_assert_no_error (error);
  tb_nn_net_set_meta (a, "validation", "none");
  g_assert_true (tb_nn_net_save (a, out, &error));
  g_autoptr(TbNnNet) b = tb_nn_net_load (out, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tb_nn_net_get_meta (b, "validation"), ==, "none");
  g_assert_cmpstr (tb_nn_net_get_meta (b, "arch"), ==, "srresnet");
  for (guint i = 0; i < tb_nn_net_n_layers (a); i++)
    {
      TbNnLayer *la = tb_nn_net_get_layer (a, i), *lb = tb_nn_net_get_layer (b, i);
      if (la->weight != NULL)
        g_assert_cmpmem (la->weight->data, tb_nn_tensor_size (la->weight) * 4, lb->weight->data, tb_nn_tensor_size (lb->weight) * 4);
    }
  tb_test_rmdir (dir);
}

/* Write a copy of the reference model with the JSON header edited by replace (from -> to). */
static char *
edited (const char *dir, const char *name, const char *from, const char *to, gboolean break_length)
{
  g_autofree char *src = ref_model (), *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  guint64 hl;
  memcpy (&hl, data, 8);
  g_autofree char *header = g_strndup (data + 8, hl);
  GString *h = g_string_new (header);
  if (from != NULL)
    g_assert_cmpuint (g_string_replace (h, from, to, 1), ==, 1);
  while (h->len < hl)   /* keep the data offset: pad (or the test would shift the tensors) */
    g_string_append_c (h, ' ');
  g_assert_cmpuint (h->len, ==, hl);
  GString *f = g_string_new_len ((const char *) &hl, 8);
  if (break_length)
    {
      guint64 bad = len + 100;
      g_string_assign (f, "");
      g_string_append_len (f, (const char *) &bad, 8);
    }
  g_string_append_len (f, h->str, h->len);
  g_string_append_len (f, data + 8 + hl, len - 8 - hl);
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, f->str, f->len, NULL));
  g_string_free (h, TRUE);
  g_string_free (f, TRUE);
  return path;
}

static void
expect_refused (const char *path, GQuark domain, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) net = tb_nn_net_load (path, &error);
  g_assert_null (net);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("'%s' does not name '%s'", error->message, needle);
}

static void
test_bad_files (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *p1 = edited (dir, "header.safetensors", NULL, NULL, TRUE);
  expect_refused (p1, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "not a safetensors file");
  g_autofree char *p2 = g_build_filename (dir, "text.safetensors", NULL);
  g_assert_true (g_file_set_contents (p2, "hello, this is not a model at all", -1, NULL));
  expect_refused (p2, TB_NN_ERROR, TB_NN_ERROR_FORMAT, "not a safetensors file");
  /* a missing tensor: rename one */
  g_autofree char *p3 = edited (dir, "missing.safetensors", "\"tail.weight\"", "\"tail.weighx\"", FALSE);
  expect_refused (p3, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "tail.weight");
  /* a wrong shape: the head claims 9 features over the same bytes (offsets then disagree) */
  g_autofree char *p4 = edited (dir, "shape.safetensors", "\"features\":\"8\"", "\"features\":\"9\"", FALSE);
  expect_refused (p4, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "head.weight");
  /* a different scale: x2 metadata over x4 tensors (up.1 is extra) */
  g_autofree char *p5 = edited (dir, "scale.safetensors", "\"scale\":\"4\"", "\"scale\":\"2\"", FALSE);
  expect_refused (p5, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "up.1.bias");
  /* an unknown architecture */
  g_autofree char *p6 = edited (dir, "arch.safetensors", "\"arch\":\"srresnet\"", "\"arch\":\"resnext\"", FALSE);
  expect_refused (p6, TB_NN_ERROR, TB_NN_ERROR_INVALID, "resnext");
  tb_test_rmdir (dir);
}

/* The shipped model on a held-out phantom section (seed 301, never used in training or in
 * nn-evaluate): its PSNR against the truth must beat trilinear + BV/TV-preserving threshold. */
static int
cmp_descending (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x < y) - (x > y);
}

static void
test_shipped_model (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "app", "models", "srresnet2d-x8.safetensors", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("app/models/srresnet2d-x8.safetensors is absent");
      return;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) net = tb_nn_net_load (path, &error);
  g_assert_no_error (error);
  int s = tb_nn_net_get_arch (net)->scale, n = 12, m = 2;
  TbPhantomParams pp;
  tb_phantom_params_init (&pp);
  pp.seed = 301;
  pp.supersample = 1;
  g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, &error);
  const TbPhantomVoi *voi = tb_phantom_find_voi (ph, "head");
  double size[3] = { (n + 2 * m) * 0.625, (n + 2 * m) * 0.625, (1 + 2 * m) * 0.625 };
  g_autoptr(TbVolume) truth = tb_phantom_truth (ph, voi->centre, size, 0.625 / s, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(TbVolume) ct = tb_phantom_degrade (ph, truth, s, 5, &error);
  g_assert_no_error (error);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  TbBox box = { m, m, m, n, n, 1 };
  g_autoptr(TbVolume) nn = tb_nn_enhance (net, ct, &box, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  double hs[3] = { truth->spacing[0], truth->spacing[1], truth->spacing[2] };
  g_autoptr(TbVolume) up = tb_volume_resample (ct, hs, &error);
  g_assert_no_error (error);
  int zh = m * s + s / 2, N = n * s;
  double off = tb_nn_net_get_meta_double (net, "input_offset", 0), scl = tb_nn_net_get_meta_double (net, "input_scale", 1);
  double est = 0;
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      est += (tb_volume_get (ct, m + x, m + y, m) - off) / scl;
  est = CLAMP (est / (n * n), 0, 1);
  /* BV/TV-preserving threshold of the trilinear image: the est-quantile from the top */
  g_autofree float *lin = g_new (float, N * N);
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      lin[y * N + x] = tb_volume_get (up, m * s + x, m * s + y, zh);
  /* the BV/TV-preserving threshold: the k-th largest value, k = est * pixels */
  gsize k = (gsize) llround (est * N * N);
  g_autofree float *sorted = g_memdup2 (lin, sizeof (float) * N * N);
  qsort (sorted, (gsize) N * N, sizeof (float), cmp_descending);
  float thr = k == 0 ? G_MAXFLOAT : sorted[MIN (k, (gsize) N * N) - 1];
  double se_nn = 0, se_bl = 0;
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      {
        double t = tb_volume_get (truth, m * s + x, m * s + y, zh);
        double v = CLAMP (tb_volume_get (nn, x, y, 0), 0.0f, 1.0f);
        double b = lin[y * N + x] >= thr ? 1.0 : 0.0;
        se_nn += (v - t) * (v - t);
        se_bl += (b - t) * (b - t);
      }
  double psnr_nn = 10 * log10 (N * N / se_nn), psnr_bl = 10 * log10 (N * N / MAX (se_bl, 1e-12));
  g_test_message ("held-out head section (seed 301): PSNR model %.2f dB, trilinear + BV/TV threshold %.2f dB", psnr_nn, psnr_bl);
  g_assert_cmpfloat (psnr_nn, >, psnr_bl);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/model/round-trip", test_round_trip);
  g_test_add_func ("/nn/model/bad-files", test_bad_files);
  g_test_add_func ("/nn/model/shipped-beats-baseline", test_shipped_model);
  return g_test_run ();
}
