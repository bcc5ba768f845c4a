/* test-segment-clinical.c — the complementary scheme on the real clinical CT (3 mm, pelvis and upper femora):
 * both femoral heads come out as objects apart from the pelvis. */
#include "segment-test-common.h"

#include <string.h>

/* Points found by inspecting the image once (coronal slice y = 44 at 12x zoom, bone window; x towards the
 * image's right, y posterior -> anterior, z inferior -> superior; the scan ends just below the heads):
 *   right-hand femoral head (x high): a round head of ~6 voxels radius centred near (86, 44, 15) under the
 *     acetabular roof (the bright line at z = 20-21);
 *   left-hand femoral head (x low): centred near (32, 44, 13) (axial z = 14 shows its circle, x 26-38,
 *     y 37-50); a metal screw runs from the lateral cortex into it and the bone around its tip is dark;
 *     the points avoid both;
 *   pelvis: the ilium just above each acetabular roof. */
static const int head_points[][3] = { { 86, 44, 15 }, { 87, 42, 14 }, { 84, 46, 12 },
                                      { 28, 44, 17 }, { 30, 42, 15 }, { 29, 40, 12 } };
static const int pelvis_points[][3] = { { 92, 44, 25 }, { 26, 44, 26 } };

/* The clinical CT segmented with the default parameters; NULL (test skipped) without the data. */
static TbSegmentResult *
segment_clinical (TbVolume **ct_out)
{
  g_autofree char *path = tb_test_shared_data ("clinical_ct/example_ct.nii.gz");
  if (path == NULL)
    return NULL;
  TbVolume *ct = segment_test_read_nifti (path);
  TbSegmentParams p;
  tb_segment_params_init (&p);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  TbSegmentResult *res = tb_segment_run (ct, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("clinical: %.2f s, t_bone %.1f, t_background %.1f, tissue %.1f +- %.1f HU, %u splits at %.1f..%.1f HU, "
                  "%u objects", (g_get_monotonic_time () - t0) / 1e6, res->t_bone, res->t_background,
                  res->soft_tissue_hu, res->soft_tissue_sigma, res->n_splits, res->t_split_min, res->t_split_max,
                  res->n_objects);
  *ct_out = ct;
  return res;
}

static void
test_clinical_heads (void)
{
  g_autoptr(TbVolume) ct = NULL;
  g_autoptr(TbSegmentResult) res = segment_clinical (&ct);
  if (res == NULL)
    return;
  for (guint o = 0; o < MIN (res->n_objects, 8u); o++)
    g_test_message ("  object %u: %.1f cm^3", o + 1, res->volumes_mm3[o] / 1000);
  const char *dump = g_getenv ("TB_SEGMENT_DUMP");
  if (dump != NULL)
    segment_test_write (dump, res->labels->data, tb_mask_n_voxels (res->labels));
#define LAB(pt) res->labels->data[tb_volume_index (ct, pt[0], pt[1], pt[2])]
  for (guint h = 0; h < G_N_ELEMENTS (head_points); h++)
    {
      guint8 hl = LAB (head_points[h]);
      g_test_message ("head point (%d,%d,%d): label %u", head_points[h][0], head_points[h][1], head_points[h][2], hl);
      g_assert_cmpuint (hl, !=, 0);
      for (guint i = 0; i < G_N_ELEMENTS (pelvis_points); i++)
        {
          guint8 pl = LAB (pelvis_points[i]);
          g_assert_cmpuint (pl, !=, 0);
          g_assert_cmpuint (pl, !=, hl);   /* the head is an object apart from the pelvis */
        }
    }
  /* the two heads are two objects too */
  g_assert_cmpuint (LAB (head_points[0]), !=, LAB (head_points[3]));
#undef LAB
}

static double
dice_counts (guint64 both, guint64 a, guint64 b)
{
  return 2.0 * (double) both / (double) (a + b);
}

/* Against the reference of tests/segment/data (made by make_clinical_reference.py without Trabecula's
 * code: hysteresis 200 / 85 HU, marrow filled, femora apart by a watershed confined to hand-placed
 * spherical joint bands; README.md there), over the voxels it judges (the screws and 3 voxels around
 * them excluded): the bone as a whole, and each femur against our object at its head point.
 * The reference's own scale of agreement: it scores 0.715 against itself less one voxel layer, so a
 * segmentation within one boundary voxel of it everywhere would score above 0.715. Ours does not:
 * measured 0.515 (bone: most of the lumbar vertebral bodies and the sacrum, cancellous bone of
 * 100-160 HU around the automatic background level of 105 HU, are missing), 0.359 and 0.427 (femora:
 * both head objects take in acetabular bone, and at high x the neck belongs to another object).
 * The bounds below are those measured values less 0.015-0.02: they hold the current result against
 * regressions, they do not accept it. */
static void
test_clinical_dice (void)
{
  g_autoptr(TbVolume) ct = NULL;
  g_autoptr(TbSegmentResult) res = segment_clinical (&ct);
  if (res == NULL)
    return;
  g_autofree char *ref_path = g_build_filename (g_getenv ("TB_SOURCE_DIR"), "tests", "segment", "data",
                                                "clinical_ct_reference.nii.gz", NULL);
  g_autoptr(TbVolume) ref = segment_test_read_nifti (ref_path);
  g_assert_cmpint (ref->nx, ==, ct->nx);
  g_assert_cmpint (ref->ny, ==, ct->ny);
  g_assert_cmpint (ref->nz, ==, ct->nz);
  const guint8 *ours = res->labels->data;
  const guint8 femur_label[2] = { ours[tb_volume_index (ct, head_points[0][0], head_points[0][1], head_points[0][2])],
                                  ours[tb_volume_index (ct, head_points[3][0], head_points[3][1], head_points[3][2])] };
  guint64 both = 0, n_ref = 0, n_ours = 0, f_both[2] = { 0 }, f_ref[2] = { 0 }, f_ours[2] = { 0 };
  for (gsize i = 0; i < tb_volume_n_voxels (ct); i++)
    {
      const int r = (int) ref->data[i];
      if (r == 255)
        continue;  /* not judged */
      const gboolean rb = r != 0, ob = ours[i] != 0;
      both += rb && ob;
      n_ref += rb;
      n_ours += ob;
      for (int f = 0; f < 2; f++)  /* reference label 2: the femur at high x (head_points[0]), 3: at low x */
        {
          const gboolean rf = r == 2 + f, of = ours[i] == femur_label[f];
          f_both[f] += rf && of;
          f_ref[f] += rf;
          f_ours[f] += of;
        }
    }
  const double bone = dice_counts (both, n_ref, n_ours);
  const double femur[2] = { dice_counts (f_both[0], f_ref[0], f_ours[0]), dice_counts (f_both[1], f_ref[1], f_ours[1]) };
  g_test_message ("clinical vs reference: bone Dice %.3f (%" G_GUINT64_FORMAT " reference voxels, %" G_GUINT64_FORMAT
                  " ours); femur at high x %.3f, at low x %.3f; one-voxel-layer level 0.715 not reached",
                  bone, n_ref, n_ours, femur[0], femur[1]);
  g_assert_cmpfloat (bone, >=, 0.50);
  g_assert_cmpfloat (femur[0], >=, 0.34);
  g_assert_cmpfloat (femur[1], >=, 0.41);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/clinical/heads", test_clinical_heads);
  g_test_add_func ("/segment/clinical/dice", test_clinical_dice);
  return g_test_run ();
}
