/* test-segment-phantom.c — the complementary scheme on the phantom's simulated QCT (0.625 mm, blur, noise):
 * Dice against the phantom's own bone mask, and the femoral-neck cortex closed. */
#include "segment-test-common.h"
#include "phantom/tb-phantom.h"

#include <string.h>

static TbPhantomQct *
simulate (TbPhantom **phantom_out)
{
  TbPhantomParams pp;
  tb_phantom_params_init (&pp);  /* 0.625 mm, 1 mm FWHM blur, 20 HU noise */
  GError *error = NULL;
  TbPhantom *ph = tb_phantom_new (&pp, &error);
  g_assert_no_error (error);
  TbPhantomQct *qct = tb_phantom_simulate_qct (ph, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  *phantom_out = ph;
  return qct;
}

static gboolean
mask_at (const TbMask *m, const TbVolume *grid, const double world[3])
{
  double ijk[3];
  tb_volume_world_to_voxel (grid, world, ijk);
  int i = (int) floor (ijk[0] + 0.5), j = (int) floor (ijk[1] + 0.5), k = (int) floor (ijk[2] + 0.5);
  if (i < 0 || j < 0 || k < 0 || i >= m->nx || j >= m->ny || k >= m->nz)
    return FALSE;
  return m->data[i + (gsize) m->nx * (j + (gsize) m->ny * k)] != 0;
}

/* The neck cortex is closed when every ray from the neck axis, in cross-sections perpendicular to it,
 * finds segmented bone within one voxel inside the true periosteal surface (where the truth mask ends).
 * A run of consecutive rays that miss is a gap; its width is the arc it spans at the surface. Returns the
 * widest gap in voxels over all sections. */
static double
neck_widest_gap (const TbPhantom *ph, const TbPhantomQct *qct, const TbMask *seg, guint *n_rays_out)
{
  TbFemurLandmarks lm;
  tb_phantom_get_landmarks (ph, &lm);
  const TbVolume *g = qct->hu;
  /* the neck's centroid from the region labels */
  double c[3] = { 0, 0, 0 };
  gsize cnt = 0;
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++)
        if (qct->regions->data[tb_volume_index (g, i, j, k)] == TB_REGION_NECK)
          {
            double w[3];
            tb_volume_voxel_to_world (g, i, j, k, w);
            for (int d = 0; d < 3; d++)
              c[d] += w[d];
            cnt++;
          }
  g_assert_cmpuint (cnt, >, 0);
  for (int d = 0; d < 3; d++)
    c[d] /= cnt;
  const double *a = lm.neck_axis;
  /* two unit vectors across the axis */
  double u[3] = { -a[1], a[0], 0 };
  double nu = sqrt (u[0] * u[0] + u[1] * u[1]);
  if (nu < 1e-6)
    {
      u[0] = 1;
      u[1] = u[2] = 0;
      nu = 1;
    }
  for (int d = 0; d < 3; d++)
    u[d] /= nu;
  double v[3] = { a[1] * u[2] - a[2] * u[1], a[2] * u[0] - a[0] * u[2], a[0] * u[1] - a[1] * u[0] };
  const double h = g->spacing[0];
  const int n_angles = 90;
  double widest = 0;
  guint rays = 0;
  for (double t = -6; t <= 6; t += h)  /* sections every voxel over 12 mm of neck around its centroid */
    {
      double o[3] = { c[0] + t * a[0], c[1] + t * a[1], c[2] + t * a[2] };
      if (!mask_at (qct->bone_mask, g, o))
        continue;
      int run = 0, first_run = -1, worst = 0;
      double radius_sum = 0;
      for (int q = 0; q < 2 * n_angles; q++)  /* twice round, so a gap across angle 0 counts whole */
        {
          double ang = 2 * G_PI * (q % n_angles) / n_angles;
          double dir[3];
          for (int d = 0; d < 3; d++)
            dir[d] = cos (ang) * u[d] + sin (ang) * v[d];
          /* walk out to the true surface */
          double r = 0, p[3];
          for (;;)
            {
              double r2 = r + 0.1 * h;
              for (int d = 0; d < 3; d++)
                p[d] = o[d] + r2 * dir[d];
              if (!mask_at (qct->bone_mask, g, p) || r2 > 40)
                break;
              r = r2;
            }
          gboolean hit = FALSE;
          for (double s = r; s >= r - h && s >= 0 && !hit; s -= 0.1 * h)
            {
              for (int d = 0; d < 3; d++)
                p[d] = o[d] + s * dir[d];
              hit = mask_at (seg, g, p);
            }
          if (q < n_angles)
            {
              radius_sum += r;
              rays++;
            }
          if (!hit)
            {
              run++;
              worst = MAX (worst, run);
            }
          else
            run = 0;
          (void) first_run;
        }
      worst = MIN (worst, n_angles);
      double mean_r = radius_sum / n_angles;
      double gap = worst * 2 * G_PI * mean_r / n_angles / h;  /* arc in voxels */
      widest = MAX (widest, gap);
    }
  *n_rays_out = rays;
  return widest;
}

static void
test_phantom_qct (void)
{
  g_autoptr(TbPhantom) ph = NULL;
  g_autoptr(TbPhantomQct) qct = simulate (&ph);
  TbSegmentParams p;
  tb_segment_params_init (&p);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(TbSegmentResult) res = tb_segment_run (qct->hu, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("phantom %dx%dx%d: %.2f s, tissue %.1f +- %.1f HU, t_optimal %.1f, t_bone %.1f, t_background %.1f, "
                  "%u splits, %u objects (largest %.1f cm^3)", qct->hu->nx, qct->hu->ny, qct->hu->nz,
                  (g_get_monotonic_time () - t0) / 1e6, res->soft_tissue_hu, res->soft_tissue_sigma, res->t_optimal,
                  res->t_bone, res->t_background, res->n_splits, res->n_objects, res->volumes_mm3[0] / 1000);
  double dice = segment_test_dice (res->labels, qct->bone_mask);
  g_test_message ("Dice against the phantom's bone mask: %.4f", dice);
  g_assert_cmpfloat (dice, >=, 0.95);  /* the acceptance level */
  guint rays = 0;
  double gap = neck_widest_gap (ph, qct, res->labels, &rays);
  g_test_message ("neck cortex: widest gap %.2f voxels over %u rays", gap, rays);
  g_assert_cmpuint (rays, >, 500);
  g_assert_cmpfloat (gap, <=, 1.0);    /* "no gap wider than one voxel" */

  /* a plain Otsu threshold for comparison: same data, no watershed */
  p.method = TB_SEGMENT_OTSU;
  g_autoptr(TbSegmentResult) otsu = tb_segment_run (qct->hu, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("otsu at %.1f HU: Dice %.4f, neck gap %.2f voxels", otsu->t_bone,
                  segment_test_dice (otsu->labels, qct->bone_mask), neck_widest_gap (ph, qct, otsu->labels, &rays));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/phantom/qct", test_phantom_qct);
  return g_test_run ();
}
