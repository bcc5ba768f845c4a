/* test-nn-shipped-model.c — the one search order for the shipped model that the CLI and the GUI
 * share (tb_nn_find_shipped_model): $TRABECULA_MODELS_DIR, then the installed folder, then the
 * source tree's; only regular files count. */
#include "nn/tb-nn.h"
#include "tb-test.h"

#include <string.h>

static char *
make_dir_with (const char *root, const char *sub, const char *file)
{
  char *dir = g_build_filename (root, sub, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  if (file != NULL)
    {
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_assert_true (g_file_set_contents (path, "x", 1, NULL));
    }
  return dir;
}

static void
test_search_order (void)
{
  g_autofree char *root = tb_test_tmpdir ();
  const char *name = TB_NN_SHIPPED_MODEL;
  g_autofree char *env_dir = make_dir_with (root, "env", name);
  g_autofree char *installed = make_dir_with (root, "installed", name);
  g_autofree char *source = make_dir_with (root, "source", name);
  g_autofree char *empty = make_dir_with (root, "empty", NULL);

  /* the environment's folder first */
  g_setenv ("TRABECULA_MODELS_DIR", env_dir, TRUE);
  g_autofree char *a = tb_nn_find_shipped_model (name, installed, source);
  g_assert_true (g_str_has_prefix (a, env_dir));
  /* an environment folder without the file falls through to the installed one, then the source tree */
  g_setenv ("TRABECULA_MODELS_DIR", empty, TRUE);
  g_autofree char *b = tb_nn_find_shipped_model (name, installed, source);
  g_assert_true (g_str_has_prefix (b, installed));
  g_autofree char *c = tb_nn_find_shipped_model (name, NULL, source);
  g_assert_true (g_str_has_prefix (c, source));
  g_autofree char *d = tb_nn_find_shipped_model (name, empty, source);
  g_assert_true (g_str_has_prefix (d, source));
  /* unset: the callers' folders only */
  g_unsetenv ("TRABECULA_MODELS_DIR");
  g_autofree char *e = tb_nn_find_shipped_model (name, installed, source);
  g_assert_true (g_str_has_prefix (e, installed));
  /* nowhere: NULL; a folder of that name is no model */
  g_assert_null (tb_nn_find_shipped_model ("absent.safetensors", installed, source));
  g_assert_null (tb_nn_find_shipped_model (name, NULL, NULL));
  g_autofree char *not_file = make_dir_with (empty, name, NULL);
  g_assert_null (tb_nn_find_shipped_model (name, empty, NULL));
  tb_test_rmdir (root);
}

/* The source tree's shipped model is found the way an uninstalled build finds it. */
static void
test_source_tree (void)
{
  g_unsetenv ("TRABECULA_MODELS_DIR");
  g_autofree char *dir = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "app", "models", NULL);
  g_autofree char *expected = g_build_filename (dir, TB_NN_SHIPPED_MODEL, NULL);
  if (!g_file_test (expected, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("app/models holds no shipped model");
      return;
    }
  g_autofree char *found = tb_nn_find_shipped_model (TB_NN_SHIPPED_MODEL, "/nonexistent", dir);
  g_assert_cmpstr (found, ==, expected);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/shipped-model/search-order", test_search_order);
  g_test_add_func ("/nn/shipped-model/source-tree", test_source_tree);
  return g_test_run ();
}
