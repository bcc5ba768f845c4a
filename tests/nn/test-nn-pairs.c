/* test-nn-pairs.c — make-pairs: the dataset folder (manifest counts, tensor shapes, held-out
 * validation), pairs from a high-resolution volume on disk (a topology-optimization result stands
 * in as plates of known bone fraction) degraded by the phantom's QCT chain, and the refusals of a
 * volume at the wrong spacing, with NaNs, or too small for a patch, before anything is written. */
#include "nn/tb-nn.h"
#include "io/tb-io.h"
#include "tb-test.h"

#include <math.h>
#include <string.h>

#define S 8                 /* scale */
#define HV (0.625 / S)      /* truth voxel, mm */

/* Plates normal to x, 3 HR voxels thick every 8 (bone fraction 3/8 in every LR voxel column
 * average), on an lx x ly x lz clinical-voxel grid. */
static char *
write_plates (const char *dir, const char *name, int lx, int ly, int lz, double spacing, float poison)
{
  double sp[3] = { spacing, spacing, spacing };
  g_autoptr(TbVolume) v = tb_volume_new (lx * S, ly * S, lz * S, sp, NULL);
  for (int z = 0; z < v->nz; z++)
    for (int y = 0; y < v->ny; y++)
      for (int x = 0; x < v->nx; x++)
        v->data[((gsize) z * v->ny + y) * v->nx + x] = (x % 8) < 3 ? 1.0f : 0.0f;
  v->data[tb_volume_n_voxels (v) / 2] += poison;
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_io_write_tiff (path, v, TB_IO_PIXEL_FLOAT32, &error));
  g_assert_no_error (error);
  return path;
}

static void
small_params (TbNnPairsParams *p, const char *out, const guint64 *train, const guint64 *val, const char *const *extra)
{
  tb_nn_pairs_params_init (p);
  p->out_dir = out;
  p->train_seeds = train;
  p->n_train_seeds = 1;
  p->val_seeds = val;
  p->n_val_seeds = 1;
  p->blocks_per_region = 1;
  p->patch = 4;
  p->block = 4;
  p->slices = 1;
  p->patches_per_slice = 1;
  p->supersample = 1;
  p->extra_truth = extra;
  p->n_extra_truth = 1;
}

static void
test_pairs_extra_truth (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *out = g_build_filename (dir, "pairs", NULL);
  g_autofree char *plates = write_plates (dir, "to-result.tif", 10, 10, 7, HV, 0.0f);
  const guint64 train[] = { 3 }, val[] = { 4 };
  const char *extra[] = { plates };
  TbNnPairsParams p;
  small_params (&p, out, train, val, extra);
  p.patches_per_slice = 2;
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_nn_make_pairs (&p, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autoptr(TbNnDataset) tr = tb_nn_dataset_load (out, "train", &error);
  g_assert_no_error (error);
  g_autoptr(TbNnDataset) va = tb_nn_dataset_load (out, "val", &error);
  g_assert_no_error (error);
  JsonObject *m = tb_nn_dataset_manifest (tr);
  /* the phantom has the six trabecular regions: one block each, 1 slice x 2 patches; the plates:
   * 7 - 2 x 2 margin = 3 LR slices x 2 patches */
  guint n_phantom = 6 * 2, n_extra = 3 * 2;
  g_assert_cmpuint (tb_nn_dataset_size (tr), ==, n_phantom + n_extra);
  g_assert_cmpuint (tb_nn_dataset_size (va), ==, n_phantom);
  g_assert_cmpint (json_object_get_int_member (m, "n_train"), ==, n_phantom + n_extra);
  JsonArray *ex = json_object_get_array_member (m, "extra_truth");
  g_assert_cmpuint (json_array_get_length (ex), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (ex, 0), "train_pairs"), ==, n_extra);
  const TbNnTensor *L = tb_nn_dataset_tensor (tr, "lr"), *H = tb_nn_dataset_tensor (tr, "hr");
  g_assert_cmpint (L->h, ==, 4);
  g_assert_cmpint (H->h, ==, 4 * S);

  /* the extra pairs come first: their truth is the plates, their input the QCT of the plates. The
   * normalized input of a voxel is its bone fraction (3/8 in every column of 8) up to the scanner's
   * noise (20 HU / 1200 HU per unit fraction = 0.017 per voxel, 16 voxels: 0.004 on the mean) and
   * the PSF (a plate pattern finer than the voxel is flat at the clinical scale): 0.375 +- 0.02. */
  for (guint i = 0; i < n_extra; i++)
    {
      double sl = 0.0, sh = 0.0;
      for (int j = 0; j < 16; j++)
        sl += L->data[i * 16 + j];
      for (int j = 0; j < 32 * 32; j++)
        {
          float h = H->data[i * 32 * 32 + j];
          g_assert_true (h == 0.0f || h == 1.0f);
          sh += h;
        }
      g_assert_cmpfloat_with_epsilon (sh / (32 * 32), 0.375, 1e-9);
      g_assert_cmpfloat_with_epsilon (sl / 16, 0.375, 0.02);
    }
  tb_test_rmdir (dir);
}

static void
refused (const char *dir, const char *file, int code, const char *needle)
{
  g_autofree char *out = g_build_filename (dir, "refused", NULL);
  const guint64 train[] = { 3 }, val[] = { 4 };
  const char *extra[] = { file };
  TbNnPairsParams p;
  small_params (&p, out, train, val, extra);
  g_autoptr(GError) error = NULL;
  g_assert_false (tb_nn_make_pairs (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_NN_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, needle));
  /* nothing half-written: no dataset files in the folder */
  g_autofree char *m = g_build_filename (out, "manifest.json", NULL), *t = g_build_filename (out, "train.safetensors", NULL);
  g_assert_false (g_file_test (m, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (t, G_FILE_TEST_EXISTS));
}

static void
test_pairs_extra_refused (void)
{
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *coarse = write_plates (dir, "coarse.tif", 10, 10, 7, 2 * HV, 0.0f);
  g_autofree char *nan = write_plates (dir, "nan.tif", 10, 10, 7, HV, NAN);
  g_autofree char *small = write_plates (dir, "small.tif", 7, 10, 7, HV, 0.0f);
  refused (dir, coarse, TB_NN_ERROR_MISMATCH, "resample");
  refused (dir, nan, TB_NN_ERROR_INVALID, "not a bone fraction");
  refused (dir, small, TB_NN_ERROR_INVALID, "smaller --patch");
  tb_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/pairs/extra-truth", test_pairs_extra_truth);
  g_test_add_func ("/nn/pairs/extra-truth-refused", test_pairs_extra_refused);
  return g_test_run ();
}
