/* segment-test-common.h — what the segment tests share: the Python peer, raw files, Dice. */
#pragma once

#include "tb-test.h"
#include "segment/tb-segment.h"

#include <math.h>
#include <stdio.h>

/* Run tests/segment/skimage-peer.py with ARGS; its stdout, or NULL with the test skipped when
 * /usr/bin/python3 or its scikit-image is missing (exit 77). */
static inline char *
segment_test_peer (const char *const *args)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/python3 is absent");
      return NULL;
    }
  g_autofree char *script = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "segment",
                                              "skimage-peer.py", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, "/usr/bin/python3");
  g_ptr_array_add (argv, script);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  gboolean ok = g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                              &out, &err, &status, &error);
  g_ptr_array_unref (argv);
  g_assert_no_error (error);
  g_assert_true (ok);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip (out);
      g_free (out);
      g_free (err);
      return NULL;
    }
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("skimage-peer.py %s failed: %s", args[0], err);
  g_free (err);
  return out;
}

static inline void
segment_test_write (const char *path, const void *data, gsize bytes)
{
  GError *error = NULL;
  g_file_set_contents (path, data, bytes, &error);
  g_assert_no_error (error);
}

static inline double
segment_test_dice (const TbMask *a, const TbMask *b)
{
  g_assert_cmpint (tb_mask_n_voxels (a), ==, tb_mask_n_voxels (b));
  gsize both = 0, na = 0, nb = 0, n = tb_mask_n_voxels (a);
  for (gsize i = 0; i < n; i++)
    {
      na += a->data[i] != 0;
      nb += b->data[i] != 0;
      both += a->data[i] && b->data[i];
    }
  return 2.0 * both / (double) (na + nb);
}

/* The clinical CT, read with libnifti2 directly so these tests do not wait on the io stage.
 * HU = scl_slope * stored + scl_inter (slope 0 means 1). */
#include <nifti2_io.h>

static inline TbVolume *
segment_test_read_nifti (const char *path)
{
  nifti_image *nim = nifti_image_read (path, 1);
  g_assert_nonnull (nim);
  double sp[3] = { nim->dx, nim->dy, nim->dz };
  TbVolume *v = tb_volume_new ((int) nim->nx, (int) nim->ny, (int) nim->nz, sp, NULL);
  double slope = nim->scl_slope != 0 ? nim->scl_slope : 1, inter = nim->scl_inter;
  gsize n = tb_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    {
      double x;
      switch (nim->datatype)
        {
        case NIFTI_TYPE_INT16: x = ((gint16 *) nim->data)[i]; break;
        case NIFTI_TYPE_INT32: x = ((gint32 *) nim->data)[i]; break;
        case NIFTI_TYPE_FLOAT32: x = ((float *) nim->data)[i]; break;
        case NIFTI_TYPE_UINT8: x = ((guint8 *) nim->data)[i]; break;
        default: g_error ("unexpected NIfTI datatype %d", nim->datatype);
        }
      v->data[i] = (float) (slope * x + inter);
    }
  nifti_image_free (nim);
  return v;
}
