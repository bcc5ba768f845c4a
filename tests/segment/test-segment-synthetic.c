/* test-segment-synthetic.c — the complementary scheme on a synthetic hip joint whose truth is known,
 * and the refusals (NaN, no bone, markers of the wrong size, cancellation). */
#include "segment-test-common.h"

#include <string.h>

#define N 64
#define HEAD_R 12.0      /* mm */
#define GAP 1.5          /* joint space, mm */
#define CUP_T 3.0        /* acetabular wall, mm */

/* bone tissue HU at a point: head (cortex 1 mm, trabecular inside), neck cylinder, acetabular cup */
static double
hip_hu (double x, double y, double z, int *which)
{
  const double c = N / 2.0;
  double dx = x - c, dy = y - c, dz = z - c;
  double r = sqrt (dx * dx + dy * dy + dz * dz);
  *which = 0;
  if (r <= HEAD_R || (dz < 0 && dz > -c + 2 && dx * dx + dy * dy <= 0.36 * HEAD_R * HEAD_R))
    {
      *which = 1;
      double rc = sqrt (dx * dx + dy * dy);
      gboolean cortex = (r <= HEAD_R && r > HEAD_R - 1.0) || (dz < -HEAD_R * 0.7 && rc > 0.6 * HEAD_R - 1.0);
      return cortex ? 1100 : 250;
    }
  if (dz > 0 && r >= HEAD_R + GAP && r <= HEAD_R + GAP + CUP_T)
    {
      *which = 2;
      return 900;
    }
  return 30;  /* soft tissue */
}

/* partial volume (4^3 samples per 1 mm voxel), Gaussian blur sigma 0.6 voxel, noise 20 HU */
static TbVolume *
make_hip (TbMask **truth)
{
  double sp[3] = { 1, 1, 1 };
  TbVolume *v = tb_volume_new (N, N, N, sp, NULL);
  *truth = tb_mask_new (N, N, N, sp, NULL);
  for (int k = 0; k < N; k++)
    for (int j = 0; j < N; j++)
      for (int i = 0; i < N; i++)
        {
          double s = 0;
          int which;
          for (int c = 0; c < 64; c++)
            s += hip_hu (i + ((c & 3) + 0.5) / 4 - 0.5, j + (((c >> 2) & 3) + 0.5) / 4 - 0.5,
                         k + ((c >> 4) + 0.5) / 4 - 0.5, &which);
          v->data[tb_volume_index (v, i, j, k)] = (float) (s / 64);
          hip_hu (i, j, k, &which);
          (*truth)->data[tb_volume_index (v, i, j, k)] = (guint8) which;
        }
  double w[5], sum = 0;
  for (int t = -2; t <= 2; t++)
    sum += w[t + 2] = exp (-0.5 * t * t / 0.36);
  g_autofree float *tmp = g_new (float, N * N * N);
  for (int axis = 0; axis < 3; axis++)
    {
      memcpy (tmp, v->data, sizeof (float) * N * N * N);
      for (int k = 0; k < N; k++)
        for (int j = 0; j < N; j++)
          for (int i = 0; i < N; i++)
            {
              double s = 0;
              for (int t = -2; t <= 2; t++)
                {
                  int p[3] = { i, j, k };
                  p[axis] = CLAMP (p[axis] + t, 0, N - 1);
                  s += w[t + 2] / sum * tmp[p[0] + N * (p[1] + N * p[2])];
                }
              v->data[i + N * (j + N * k)] = (float) s;
            }
    }
  g_autoptr(GRand) r = g_rand_new_with_seed (1);
  for (gsize i = 0; i < (gsize) N * N * N; i++)
    {
      double u1 = g_rand_double (r), u2 = g_rand_double (r);
      v->data[i] += (float) (20 * sqrt (-2 * log (MAX (u1, 1e-300))) * cos (2 * G_PI * u2));
    }
  return v;
}

static void
test_hip_complementary (void)
{
  g_autoptr(TbMask) truth = NULL;
  g_autoptr(TbVolume) ct = make_hip (&truth);
  TbSegmentParams p;
  tb_segment_params_init (&p);
  p.min_split_mm3 = 500;     /* the synthetic bones are small: head 7 cm^3 */
  p.min_object_mm3 = 200;
  GError *error = NULL;
  g_autoptr(TbSegmentResult) res = tb_segment_run (ct, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const int c = N / 2;
  guint8 head = res->labels->data[tb_volume_index (ct, c, c, c)];
  guint8 cup = res->labels->data[tb_volume_index (ct, c, c, c + (int) (HEAD_R + GAP + CUP_T / 2))];
  g_test_message ("complementary: t_bone %.1f, t_background %.1f, splits %u at %.1f..%.1f HU, %u objects",
                  res->t_bone, res->t_background, res->n_splits, res->t_split_min, res->t_split_max, res->n_objects);
  g_assert_cmpuint (head, !=, 0);
  g_assert_cmpuint (cup, !=, 0);
  g_assert_cmpuint (head, !=, cup);   /* the femoral head is an object apart from the acetabulum */
  double dice = segment_test_dice (res->labels, truth);
  g_test_message ("Dice against the truth: %.4f", dice);
  /* 1 mm voxels, boundaries within half a voxel: objects of ~9 voxels radius score ~0.9; 0.88 leaves room
   * for noise (a mis-segmented joint or lost cortex costs far more) */
  g_assert_cmpfloat (dice, >=, 0.88);

  /* determinism: the same input and settings give the same labels, byte for byte */
  g_autoptr(TbSegmentResult) again = tb_segment_run (ct, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (again->labels->data, tb_mask_n_voxels (again->labels), res->labels->data,
                   tb_mask_n_voxels (res->labels));

  /* a plain threshold at the same t_bone joins the head and the cup through the blurred joint space? Report it */
  p.method = TB_SEGMENT_OTSU;
  g_autoptr(TbSegmentResult) otsu = tb_segment_run (ct, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("otsu: t %.1f, %u objects", otsu->t_bone, otsu->n_objects);
}

static void
cancel_on_progress (double fraction, const char *message, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
test_refusals (void)
{
  g_autoptr(TbMask) truth = NULL;
  g_autoptr(TbVolume) ct = make_hip (&truth);
  TbSegmentParams p;
  tb_segment_params_init (&p);
  GError *error = NULL;
  /* NaNs: refused with the count */
  g_autoptr(TbVolume) nan = tb_volume_copy (ct, NULL);
  for (int i = 0; i < 7; i++)
    nan->data[1000 * i] = NAN;
  g_assert_null (tb_segment_run (nan, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "7 NaN"));
  g_clear_error (&error);
  /* soft tissue only: no bone */
  g_autoptr(TbVolume) soft = tb_volume_copy (ct, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (2);
  for (gsize i = 0; i < tb_volume_n_voxels (soft); i++)
    soft->data[i] = (float) (40 + g_rand_double_range (r, -20, 20));
  for (guint m = 0; m < 4; m++)
    {
      p.method = (TbSegmentMethod) m;
      g_assert_null (tb_segment_run (soft, &p, NULL, NULL, NULL, &error));
      g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY);
      g_assert_nonnull (strstr (error->message, "No bone"));
      g_clear_error (&error);
    }
  /* all air */
  g_autoptr(TbVolume) air = tb_volume_copy (ct, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (air); i++)
    air->data[i] = -1000;
  g_assert_null (tb_segment_run (air, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_EMPTY);
  g_clear_error (&error);
  /* markers on another grid */
  double sp[3] = { 1, 1, 1 };
  g_autoptr(TbMask) small = tb_mask_new (N / 2, N, N, sp, NULL);
  p.method = TB_SEGMENT_WATERSHED;
  p.markers = small;
  g_assert_null (tb_segment_run (ct, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_SIZE);
  g_assert_nonnull (strstr (error->message, "32x64x64"));
  g_clear_error (&error);
  p.markers = NULL;
  /* cancelled before it starts: G_IO_ERROR_CANCELLED, nothing returned */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  p.method = TB_SEGMENT_COMPLEMENTARY;
  g_assert_null (tb_segment_run (ct, &p, cancel, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  /* cancelled while running (from its first progress report): it stops at its next check */
  g_autoptr(GCancellable) cancel2 = g_cancellable_new ();
  g_assert_null (tb_segment_run (ct, &p, cancel2, cancel_on_progress, cancel2, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  /* a density map from a mask on another grid */
  g_autoptr(TbMask) other = tb_mask_new (N, N, N - 1, sp, NULL);
  double lo = NAN, hi = NAN;
  g_assert_null (tb_density_from_bmd (ct, other, &lo, &hi, &error));
  g_assert_error (error, TB_SEGMENT_ERROR, TB_SEGMENT_ERROR_SIZE);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/synthetic/hip", test_hip_complementary);
  g_test_add_func ("/segment/synthetic/refusals", test_refusals);
  return g_test_run ();
}
