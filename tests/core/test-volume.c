/* test-volume.c — the volume core: exact resolution changes, crops, trilinear, slices, refusals. */
#include <math.h>
#include <string.h>

#include "tb-test.h"
#include "tb-volume.h"

static TbVolume *
random_volume (int nx, int ny, int nz, guint32 seed)
{
  double sp[3] = { 0.625, 0.5, 0.75 };
  g_autoptr(GError) error = NULL;
  TbVolume *v = tb_volume_new (nx, ny, nz, sp, &error);
  g_assert_no_error (error);
  v->origin[0] = -12.5;
  v->origin[1] = 3.25;
  v->origin[2] = 100.0;
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    v->data[i] = (float) g_rand_double_range (r, -1000, 3000);
  g_rand_free (r);
  return v;
}

static void
test_up_down_identity (void)
{
  for (int n = 1; n <= 8; n++)
    {
      g_autoptr(TbVolume) v = random_volume (7, 5, 3, 42 + n);
      g_autoptr(GError) error = NULL;
      g_autoptr(TbVolume) up = tb_volume_upscale (v, n, &error);
      g_assert_no_error (error);
      g_assert_cmpint (up->nx, ==, 7 * n);
      g_assert_cmpint (up->nz, ==, 3 * n);
      /* every sub-voxel carries its parent's value */
      g_assert_cmpfloat (tb_volume_get (up, 7 * n - 1, 5 * n - 1, 3 * n - 1), ==, tb_volume_get (v, 6, 4, 2));
      g_autoptr(TbVolume) down = tb_volume_downscale (up, n, n, n, &error);
      g_assert_no_error (error);
      g_assert_true (tb_volume_same_grid (down, v));
      g_assert_cmpmem (down->data, tb_volume_n_voxels (v) * sizeof (float),
                       v->data, tb_volume_n_voxels (v) * sizeof (float));
      for (int d = 0; d < 3; d++)
        g_assert_cmpfloat (down->origin[d], ==, v->origin[d]);
    }
}

static void
test_downscale_mean (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_volume_new (4, 2, 2, NULL, &error);
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    v->data[i] = (float) i;
  g_autoptr(TbVolume) d = tb_volume_downscale (v, 2, 2, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (d->nx, ==, 2);
  /* block (0..1, 0..1, 0..1): indices 0,1,4,5,8,9,12,13 -> mean 6.5 */
  g_assert_cmpfloat (d->data[0], ==, 6.5f);
  g_assert_cmpfloat (d->data[1], ==, 8.5f);
  g_assert_cmpfloat (d->spacing[0], ==, 2.0);
  g_assert_cmpfloat (d->origin[0], ==, 0.5);

  g_autoptr(TbVolume) bad = tb_volume_downscale (v, 3, 1, 1, &error);
  g_assert_null (bad);
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID);
}

static void
test_crop (void)
{
  g_autoptr(TbVolume) v = random_volume (9, 8, 7, 7);
  g_autoptr(GError) error = NULL;
  TbBox box = { 2, 3, 1, 4, 5, 6 };
  g_autoptr(TbVolume) c = tb_volume_crop (v, &box, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->nx, ==, 4);
  g_assert_cmpint (c->ny, ==, 5);
  g_assert_cmpint (c->nz, ==, 6);
  for (int k = 0; k < 6; k++)
    for (int j = 0; j < 5; j++)
      for (int i = 0; i < 4; i++)
        g_assert_cmpfloat (tb_volume_get (c, i, j, k), ==, tb_volume_get (v, i + 2, j + 3, k + 1));
  double w[3], w2[3];
  tb_volume_voxel_to_world (c, 0, 0, 0, w);
  tb_volume_voxel_to_world (v, 2, 3, 1, w2);
  for (int d = 0; d < 3; d++)
    g_assert_cmpfloat_with_epsilon (w[d], w2[d], 1e-12);

  TbBox outside = { 6, 0, 0, 4, 1, 1 };
  g_autoptr(TbVolume) none = tb_volume_crop (v, &outside, &error);
  g_assert_null (none);
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_OUTSIDE);
  g_assert_nonnull (strstr (error->message, "not inside"));
}

static void
test_box_from_world (void)
{
  g_autoptr(TbVolume) v = random_volume (20, 20, 20, 3);
  g_autoptr(GError) error = NULL;
  double centre[3], size[3] = { 2.5, 2.0, 3.0 };
  tb_volume_voxel_to_world (v, 10, 10, 10, centre);
  TbBox box;
  g_assert_true (tb_box_from_world (v, centre, size, &box, &error));
  g_assert_no_error (error);
  /* 2.5 mm / 0.625 = 4 voxels, 2.0 / 0.5 = 4, 3.0 / 0.75 = 4 */
  g_assert_cmpint (box.nx, ==, 4);
  g_assert_cmpint (box.ny, ==, 4);
  g_assert_cmpint (box.nz, ==, 4);
  g_assert_cmpint (box.x0, ==, 8);
  /* aligned to 3: corners down to multiples of 3, sizes up to them */
  TbBox al = { 8, 9, 0, 4, 3, 1 };
  tb_box_align (&al, 3);
  g_assert_cmpint (al.x0, ==, 6); g_assert_cmpint (al.y0, ==, 9); g_assert_cmpint (al.z0, ==, 0);
  g_assert_cmpint (al.nx, ==, 6); g_assert_cmpint (al.ny, ==, 3); g_assert_cmpint (al.nz, ==, 3);
  double far[3] = { 1e4, 0, 0 };
  g_assert_false (tb_box_from_world (v, far, size, &box, &error));
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_OUTSIDE);
}

static void
test_trilinear_linear_field (void)
{
  g_autoptr(GError) error = NULL;
  double sp[3] = { 0.7, 0.9, 1.1 };
  g_autoptr(TbVolume) v = tb_volume_new (11, 9, 7, sp, &error);
  v->origin[0] = 1.0;
  v->origin[1] = -2.0;
  v->origin[2] = 0.5;
  /* f(x,y,z) = 2 + 0.5x - 1.5y + 0.25z in world mm; trilinear interpolation reproduces it exactly */
  for (int k = 0; k < v->nz; k++)
    for (int j = 0; j < v->ny; j++)
      for (int i = 0; i < v->nx; i++)
        {
          double w[3];
          tb_volume_voxel_to_world (v, i, j, k, w);
          v->data[tb_volume_index (v, i, j, k)] = (float) (2 + 0.5 * w[0] - 1.5 * w[1] + 0.25 * w[2]);
        }
  double nsp[3] = { 0.3, 0.45, 0.5 };
  g_autoptr(TbVolume) r = tb_volume_resample (v, nsp, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->nx, ==, (int) round (11 * 0.7 / 0.3));
  double maxerr = 0;
  int checked = 0;
  for (int k = 0; k < r->nz; k++)
    for (int j = 0; j < r->ny; j++)
      for (int i = 0; i < r->nx; i++)
        {
          double w[3], ijk[3];
          tb_volume_voxel_to_world (r, i, j, k, w);
          tb_volume_world_to_voxel (v, w, ijk);
          /* exact where the point lies within the hull of input voxel centres (no clamping) */
          if (ijk[0] < 0 || ijk[1] < 0 || ijk[2] < 0 || ijk[0] > v->nx - 1 || ijk[1] > v->ny - 1 || ijk[2] > v->nz - 1)
            continue;
          double f = 2 + 0.5 * w[0] - 1.5 * w[1] + 0.25 * w[2];
          maxerr = MAX (maxerr, fabs (tb_volume_get (r, i, j, k) - f));
          checked++;
        }
  g_assert_cmpint (checked, >, 1000);
  /* float32 storage of values up to ~10: a few ulps */
  g_assert_cmpfloat (maxerr, <, 1e-5);
}

static void
test_slices (void)
{
  g_autoptr(TbVolume) v = random_volume (6, 5, 4, 11);
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) sz = tb_volume_slice (v, TB_AXIS_Z, 2, &error);
  g_autoptr(TbVolume) sy = tb_volume_slice (v, TB_AXIS_Y, 3, &error);
  g_autoptr(TbVolume) sx = tb_volume_slice (v, TB_AXIS_X, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sz->nx, ==, 6);
  g_assert_cmpint (sz->ny, ==, 5);
  g_assert_cmpint (sy->nx, ==, 6);
  g_assert_cmpint (sy->ny, ==, 4);
  g_assert_cmpint (sx->nx, ==, 5);
  g_assert_cmpint (sx->ny, ==, 4);
  g_assert_cmpfloat (tb_volume_get (sz, 4, 3, 0), ==, tb_volume_get (v, 4, 3, 2));
  g_assert_cmpfloat (tb_volume_get (sy, 4, 2, 0), ==, tb_volume_get (v, 4, 3, 2));
  g_assert_cmpfloat (tb_volume_get (sx, 3, 2, 0), ==, tb_volume_get (v, 1, 3, 2));
  g_autoptr(TbVolume) bad = tb_volume_slice (v, TB_AXIS_Z, 4, &error);
  g_assert_null (bad);
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_OUTSIDE);
}

static void
test_stats_histogram (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_volume_new (10, 1, 1, NULL, &error);
  for (int i = 0; i < 10; i++)
    v->data[i] = i;
  v->data[9] = NAN;
  TbVolumeStats s;
  tb_volume_stats (v, &s);
  g_assert_cmpfloat (s.min, ==, 0);
  g_assert_cmpfloat (s.max, ==, 8);
  g_assert_cmpfloat (s.mean, ==, 4);
  g_assert_cmpuint (s.n_nonfinite, ==, 1);
  guint64 counts[3];
  tb_volume_histogram (v, 0, 9, 3, counts);
  g_assert_cmpuint (counts[0], ==, 3);
  g_assert_cmpuint (counts[1], ==, 3);
  g_assert_cmpuint (counts[2], ==, 3);
  g_assert_false (tb_volume_check_finite (v, "The test image", &error));
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "voxel 9, 0, 0"));
}

static void
test_refuse_huge (void)
{
  g_autoptr(GError) error = NULL;
  TbVolume *v = tb_volume_new (100000, 100000, 100000, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "100000"));
  g_clear_error (&error);

  /* a small limit emulates a small machine: refused with the size named */
  g_setenv ("TB_MEMORY_LIMIT", "1M", TRUE);
  v = tb_volume_new (128, 128, 128, NULL, &error);
  g_unsetenv ("TB_MEMORY_LIMIT");
  g_assert_null (v);
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "8.4"));
  g_assert_nonnull (strstr (error->message, "128 x 128 x 128"));
  g_clear_error (&error);

  v = tb_volume_new (0, 1, 1, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_INVALID);
}

static void
test_upscale_2d (void)
{
  g_autoptr(GError) error = NULL;
  double sp[3] = { 0.5, 0.5, 1.0 };
  g_autoptr(TbVolume) v = tb_volume_new (3, 2, 1, sp, &error);
  for (int i = 0; i < 6; i++)
    v->data[i] = i;
  g_autoptr(TbVolume) up = tb_volume_upscale (v, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpint (up->nz, ==, 1);
  g_assert_cmpint (up->nx, ==, 12);
  g_assert_cmpfloat (tb_volume_get (up, 11, 7, 0), ==, 5.0f);
  g_autoptr(TbVolume) down = tb_volume_downscale (up, 4, 4, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (down->data, 6 * sizeof (float), v->data, 6 * sizeof (float));
}

static void
test_mask (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = random_volume (4, 4, 4, 1);
  g_autoptr(TbMask) m = tb_mask_new_like_volume (v, &error);
  g_assert_no_error (error);
  m->data[5] = 1;
  m->data[7] = 255;
  g_assert_cmpuint (tb_mask_count (m), ==, 2);
  g_autoptr(TbVolume) mv = tb_mask_to_volume (m, &error);
  g_assert_cmpfloat (mv->data[7], ==, 255.0f);
  g_assert_cmpfloat (mv->origin[0], ==, v->origin[0]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume/upscale-downscale-identity", test_up_down_identity);
  g_test_add_func ("/volume/downscale-mean", test_downscale_mean);
  g_test_add_func ("/volume/crop", test_crop);
  g_test_add_func ("/volume/box-from-world", test_box_from_world);
  g_test_add_func ("/volume/trilinear-linear-field", test_trilinear_linear_field);
  g_test_add_func ("/volume/slices", test_slices);
  g_test_add_func ("/volume/stats-histogram", test_stats_histogram);
  g_test_add_func ("/volume/refuse-huge", test_refuse_huge);
  g_test_add_func ("/volume/upscale-2d", test_upscale_2d);
  g_test_add_func ("/volume/mask", test_mask);
  return g_test_run ();
}
