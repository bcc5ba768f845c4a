/* tb-test.h — small helpers shared by the test programs (GLib testing framework, TAP output). */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* ../shared/data/REL, or NULL (and the test is marked skipped) when that folder is absent. */
static inline char *
tb_test_shared_data (const char *rel)
{
  const char *dir = g_getenv ("TB_SHARED_DATA");
  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("../shared/data is absent");
      return NULL;
    }
  char *path = g_build_filename (dir, rel, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("%s is absent", path);
      g_test_skip (msg);
      g_free (path);
      return NULL;
    }
  return path;
}

/* A fresh temporary folder for one test; removed (with its files) by tb_test_rmdir. */
static inline char *
tb_test_tmpdir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("trabecula-test-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static inline void
tb_test_rmdir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (d)) != NULL)
        {
          char *p = g_build_filename (dir, name, NULL);
          if (g_file_test (p, G_FILE_TEST_IS_DIR))
            tb_test_rmdir (p);
          else
            g_unlink (p);
          g_free (p);
        }
      g_dir_close (d);
    }
  g_rmdir (dir);
}

#define tb_assert_rel(a, b, tol)                                                               \
  G_STMT_START {                                                                               \
    double _a = (a), _b = (b);                                                                 \
    double _den = MAX (fabs (_b), 1e-300);                                                     \
    if (!(fabs (_a - _b) / _den <= (tol)))                                                     \
      g_error ("%s:%d: %s = %.12g vs %s = %.12g: relative difference %.3g > %.3g",            \
               __FILE__, __LINE__, #a, _a, #b, _b, fabs (_a - _b) / _den, (double) (tol));     \
  } G_STMT_END
