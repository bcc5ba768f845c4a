/* test-morpho-smi-da.c — SMI and DA on shapes with known answers, and bad input. */
#include "tb-test.h"
#include "morpho/tb-morpho.h"

#include <math.h>

static inline void
set (TbMask *m, int i, int j, int k)
{
  m->data[i + (gsize) m->nx * (j + (gsize) m->ny * k)] = 1;
}

static double
smi_of (const TbMask *m)
{
  double smi = NAN;
  double area = tb_morpho_surface (m, &smi);
  g_assert_cmpfloat (area, >, 0);
  return smi;
}

/* SMI of closed shapes (the mesh is closed by the image border, so ends and rims count):
 * a closed cylinder of radius r and length L has SMI 3 L (L + pi r) / (L + r)^2 (Steiner's
 * formula: dS/dr = 2 (pi L + pi^2 r)); r = 6, L = 400 -> 3.04. A square plate a x a x t has
 * 6 a^2 t 2 pi (2a + t) / (2a^2 + 4at)^2: a = 400, t = 1 -> 0.047. A ball: 4. A torus: exactly 3
 * for any radii, with no ends at all. The bounds are +- 0.1. */
static void
test_smi (void)
{
  {
    g_autoptr(TbMask) rod = tb_mask_new (17, 17, 402, NULL, NULL);
    for (int k = 1; k <= 400; k++)
      for (int j = 0; j < 17; j++)
        for (int i = 0; i < 17; i++)
          if ((i - 8) * (i - 8) + (j - 8) * (j - 8) <= 36)
            set (rod, i, j, k);
    double smi = smi_of (rod);
    g_test_message ("rod r=6 L=400: SMI %.4f (closed cylinder 3.04)", smi);
    g_assert_cmpfloat (fabs (smi - 3.0), <, 0.1);
  }
  {
    g_autoptr(TbMask) torus = tb_mask_new (84, 84, 24, NULL, NULL);
    for (int k = 0; k < 24; k++)
      for (int j = 0; j < 84; j++)
        for (int i = 0; i < 84; i++)
          {
            double x = i - 41.5, y = j - 41.5, z = k - 11.5, q = sqrt (x * x + y * y) - 30.0;
            if (q * q + z * z <= 8.0 * 8.0)
              set (torus, i, j, k);
          }
    double smi = smi_of (torus);
    g_test_message ("torus R=30 r=8: SMI %.4f (3 exactly in the continuum)", smi);
    g_assert_cmpfloat (fabs (smi - 3.0), <, 0.1);
  }
  {
    g_autoptr(TbMask) plate = tb_mask_new (402, 402, 3, NULL, NULL);
    for (int j = 1; j <= 400; j++)
      for (int i = 1; i <= 400; i++)
        set (plate, i, j, 1);
    double smi = smi_of (plate);
    g_test_message ("plate 400 x 400 x 1: SMI %.4f (0.047 with its rims)", smi);
    g_assert_cmpfloat (fabs (smi), <, 0.1);
  }
  {
    const int r = 20, n = 2 * r + 5;
    g_autoptr(TbMask) ball = tb_mask_new (n, n, n, NULL, NULL);
    double c = (n - 1) / 2.0;
    for (int k = 0; k < n; k++)
      for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
          if ((i - c) * (i - c) + (j - c) * (j - c) + (k - c) * (k - c) <= r * r)
            set (ball, i, j, k);
    double smi = smi_of (ball);
    g_test_message ("sphere r=20: SMI %.4f", smi);
    g_assert_cmpfloat (fabs (smi - 4.0), <, 0.1);
  }
}

static void
test_da (void)
{
  double ev[3], axes[9];
  GError *error = NULL;
  /* plates normal to z, 2 voxels thick every 8: MIL infinite in-plane -> DA = 1 */
  g_autoptr(TbMask) plates = tb_mask_new (64, 64, 64, NULL, NULL);
  for (int k = 0; k < 64; k++)
    if (k % 8 < 2)
      for (int j = 0; j < 64; j++)
        for (int i = 0; i < 64; i++)
          set (plates, i, j, k);
  double da = tb_morpho_anisotropy (plates, 64, 1, ev, axes, &error);
  g_assert_no_error (error);
  g_test_message ("parallel plates: DA %.5f, eigenvalues %.3g %.3g %.3g, main axis (%.3f %.3f %.3f)",
                  da, ev[0], ev[1], ev[2], axes[6], axes[7], axes[8]);
  g_assert_cmpfloat (fabs (da - 1.0), <, 1e-2);  /* the bound */
  g_assert_cmpfloat (fabs (axes[8]), >, 0.999);   /* the largest eigenvalue's axis is z */

  /* isotropic noise: 30 % of voxels, independent */
  g_autoptr(TbMask) noise = tb_mask_new (64, 64, 64, NULL, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  for (gsize i = 0; i < tb_mask_n_voxels (noise); i++)
    noise->data[i] = g_rand_double (rand) < 0.3;
  da = tb_morpho_anisotropy (noise, 64, 1, ev, axes, &error);
  g_assert_no_error (error);
  g_test_message ("random noise: DA %.5f", da);
  g_assert_cmpfloat (da, <, 0.1);  /* the bound */
}

static void
test_bad_input (void)
{
  GError *error = NULL;
  /* a grey image is refused, naming its values */
  g_autoptr(TbVolume) grey = tb_volume_new (4, 4, 4, NULL, NULL);
  grey->data[3] = 1;
  grey->data[5] = 2;
  g_assert_null (tb_morpho_binarize (grey, &error));
  g_assert_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_NOT_BINARY);
  g_assert_nonnull (strstr (error->message, "0, 1, 2"));
  g_clear_error (&error);
  /* 0/255, 0/127 and 0/1 are accepted */
  grey->data[5] = 1;
  g_autoptr(TbMask) ok1 = tb_morpho_binarize (grey, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tb_mask_count (ok1), ==, 2);
  grey->data[3] = grey->data[5] = 127;
  g_autoptr(TbMask) ok2 = tb_morpho_binarize (grey, &error);
  g_assert_no_error (error);
  grey->data[3] = 255;  /* 0, 255 and 127: not binary */
  g_assert_null (tb_morpho_binarize (grey, &error));
  g_assert_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_NOT_BINARY);
  g_clear_error (&error);

  /* an empty TV: NaN with the reason, no crash and no division by zero */
  g_autoptr(TbMask) bone = tb_mask_new (8, 8, 8, NULL, NULL);
  set (bone, 3, 3, 3);
  g_autoptr(TbMask) tv = tb_mask_new (8, 8, 8, NULL, NULL);
  TbMorphoResult r = { 0 };
  g_assert_true (tb_morpho_measure (bone, tv, 0, &r, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (isnan (r.bv_tv) && isnan (r.tb_th) && isnan (r.conn_d) && isnan (r.smi) && isnan (r.da));
  g_assert_nonnull (r.notes);
  g_test_message ("empty TV: %s", r.notes);
  tb_morpho_result_clear (&r);

  /* no bone: BV/TV = 0 exactly, the rest NaN with the reason */
  g_autoptr(TbMask) none = tb_mask_new (8, 8, 8, NULL, NULL);
  g_assert_true (tb_morpho_measure (none, NULL, 0, &r, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (r.bv_tv, ==, 0.0);
  g_assert_true (isnan (r.tb_th) && isnan (r.bs_bv) && isnan (r.smi));
  g_assert_nonnull (r.notes);
  g_test_message ("no bone: %s", r.notes);
  tb_morpho_result_clear (&r);

  /* a TV on another grid is refused */
  g_autoptr(TbMask) other = tb_mask_new (8, 8, 9, NULL, NULL);
  g_assert_false (tb_morpho_measure (bone, other, 0, &r, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_GRID);
  g_clear_error (&error);
  tb_morpho_result_clear (&r);
}

/* Anisotropic voxels are handled: the same plate sampled at 1 x 1 x 0.5 mm has the same
 * thickness in mm, the same BV and (nearly) the same BS. */
static void
test_anisotropic (void)
{
  const double sp[3] = { 1.0, 1.0, 0.5 };
  g_autoptr(TbMask) a = tb_mask_new (40, 40, 20, NULL, NULL);
  g_autoptr(TbMask) b = tb_mask_new (40, 40, 40, sp, NULL);
  for (int j = 0; j < 40; j++)
    for (int i = 0; i < 40; i++)
      {
        for (int k = 6; k < 14; k++)  /* 8 mm thick */
          set (a, i, j, k);
        for (int k = 12; k < 28; k++)
          set (b, i, j, k);
      }
  GError *error = NULL;
  TbMorphoResult ra = { 0 }, rb = { 0 };
  g_assert_true (tb_morpho_measure (a, NULL, TB_MORPHO_SKIP_ANISOTROPY, &ra, NULL, NULL, NULL, &error));
  g_assert_true (tb_morpho_measure (b, NULL, TB_MORPHO_SKIP_ANISOTROPY, &rb, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("plate 8 mm: Tb.Th %.3f mm at 1 mm, %.3f mm at 0.5 mm in z", ra.tb_th, rb.tb_th);
  g_assert_cmpfloat (ra.bv, ==, rb.bv);
  g_assert_cmpfloat (fabs (ra.tb_th - 8.0), <, 1e-6);
  /* radius to the nearest background centre is 4.5 mm at 0.5 mm slices: 9 - 8 = one slice */
  g_assert_cmpfloat (fabs (rb.tb_th - 8.5), <, 0.5 + 1e-6);
  tb_assert_rel (ra.bs, rb.bs, 0.02);
  tb_morpho_result_clear (&ra);
  tb_morpho_result_clear (&rb);
}

/* A cancelled measurement ends with G_IO_ERROR_CANCELLED and leaks nothing. */
static void
test_cancel (void)
{
  g_autoptr(TbMask) m = tb_mask_new (64, 64, 64, NULL, NULL);
  for (gsize i = 0; i < tb_mask_n_voxels (m); i++)
    m->data[i] = (i / 7) % 3 == 0;
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_cancellable_cancel (c);
  GError *error = NULL;
  TbMorphoResult r = { 0 };
  g_assert_false (tb_morpho_measure (m, NULL, 0, &r, c, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  tb_morpho_result_clear (&r);
  g_assert_null (tb_morpho_local_thickness (m, TRUE, NULL, NULL, NULL, NULL, c, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/morpho/smi", test_smi);
  g_test_add_func ("/morpho/da", test_da);
  g_test_add_func ("/morpho/bad-input", test_bad_input);
  g_test_add_func ("/morpho/anisotropic", test_anisotropic);
  g_test_add_func ("/morpho/cancel", test_cancel);
  return g_test_run ();
}
