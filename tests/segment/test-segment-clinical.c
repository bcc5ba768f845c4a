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

static void
test_clinical_heads (void)
{
  g_autofree char *path = tb_test_shared_data ("clinical_ct/example_ct.nii.gz");
  if (path == NULL)
    return;
  g_autoptr(TbVolume) ct = segment_test_read_nifti (path);
  TbSegmentParams p;
  tb_segment_params_init (&p);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(TbSegmentResult) res = tb_segment_run (ct, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("clinical: %.2f s, t_bone %.1f, t_background %.1f, tissue %.1f +- %.1f HU, %u splits at %.1f..%.1f HU, "
                  "%u objects", (g_get_monotonic_time () - t0) / 1e6, res->t_bone, res->t_background,
                  res->soft_tissue_hu, res->soft_tissue_sigma, res->n_splits, res->t_split_min, res->t_split_max,
                  res->n_objects);
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/clinical/heads", test_clinical_heads);
  return g_test_run ();
}
