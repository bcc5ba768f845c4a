/* topopt-phantom-case.h — one bone-problem case on the phantom, shared by the CI test and the
 * four-VOI benchmark: clinical QCT of a VOI -> TO at n x resolution -> compared with the truth and
 * with the baseline "trilinear upscale + BV/TV-preserving threshold" (BV/TV, SSIM, Tb.Th). */
#pragma once

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "topopt/tb-topopt.h"
#include "phantom/tb-phantom.h"
#include "metrics/tb-metrics.h"
#include "morpho/tb-morpho.h"

typedef struct {
  const char *voi;        /* preset name */
  double voi_mm;          /* VOI edge (mm); 0 = the preset's size */
  int upscale;            /* n */
  int max_iterations;
  gboolean thickness;     /* measure Tb.Th (slower) */
} CaseSettings;

/* The whole bone for localized load cases (paper 000): the phantom's simulated clinical QCT as
 * relative density, solved once under the hip cases (coarsened by `coarsen`, as the demo and
 * `enhance --coarsen` do) and shared by every VOI of a run. */
typedef struct {
  TbVolume *rho;          /* relative density of the whole scan, clinical voxels */
  TbFeSolver *solver;
  int coarsen;
  double seconds;         /* QCT + whole-bone FE */
} CaseWholeBone;

static void
case_whole_bone_clear (CaseWholeBone *wb)
{
  g_clear_pointer (&wb->rho, tb_volume_unref);
  g_clear_pointer (&wb->solver, tb_fe_solver_free);
}

static gboolean
case_whole_bone_init (const TbPhantom *ph, int coarsen, CaseWholeBone *wb, GError **error)
{
  memset (wb, 0, sizeof *wb);
  wb->coarsen = coarsen;
  gint64 t0 = g_get_monotonic_time ();
  const TbPhantomParams *pp = tb_phantom_get_params (ph);
  TbPhantomQct *qct = tb_phantom_simulate_qct (ph, NULL, NULL, NULL, error);
  if (qct == NULL)
    return FALSE;
  g_autoptr(TbVolume) bmd = tb_volume_copy (qct->hu, error);
  if (bmd != NULL)
    for (gsize e = 0; e < tb_volume_n_voxels (bmd); e++)
      bmd->data[e] = (float) ((bmd->data[e] - qct->hu_a) / qct->hu_b);
  tb_phantom_qct_free (qct);
  if (bmd == NULL)
    return FALSE;
  wb->rho = tb_topopt_relative_density (bmd, pp->marrow_bmd, pp->tissue_bmd, error);
  if (wb->rho == NULL)
    return FALSE;
  TbFemurLandmarks lm;
  tb_phantom_get_landmarks (ph, &lm);
  wb->solver = tb_topopt_whole_bone_solve (wb->rho, &lm, coarsen, NULL, NULL, NULL, error);
  wb->seconds = (g_get_monotonic_time () - t0) * 1e-6;
  return wb->solver != NULL;
}

typedef struct {
  double bvtv_truth, bvtv_to, bvtv_base, rho0_mean;
  double ssim_to, ssim_base;
  double tbth_truth, tbth_to, tbth_base;
  double g[8];
  int n_g, iterations;
  double seconds, s_per_it, t_fe, t_filter, t_sens, t_update;
  TbTopoptState state;
  char message[512];
} CaseResult;

/* Hip joint-force directions in the frontal (x-z) plane, degrees from the shaft axis, and
 * daily-cycle weights (Beaupre, Orr & Carter 1990: stance 24 deg, abduction -15, adduction 56;
 * 6000/2000/2000 cycles). Each gives a uniaxial apparent compression of 1 MPa along it. */
static void
case_hip_stresses (double stress[3][6], double weights[3])
{
  static const double angle[3] = { 24, -15, 56 }, w[3] = { 0.6, 0.2, 0.2 };
  for (int c = 0; c < 3; c++)
    {
      double t = angle[c] * G_PI / 180, d[3] = { sin (t), 0, cos (t) };
      /* sxx syy szz sxy syz sxz of -d d^T */
      double s[6] = { -d[0] * d[0], -d[1] * d[1], -d[2] * d[2], -d[0] * d[1], -d[1] * d[2], -d[0] * d[2] };
      memcpy (stress[c], s, sizeof s);
      weights[c] = w[c];
    }
}

static double
case_bvtv (const TbVolume *v, double thr)
{
  gsize n = tb_volume_n_voxels (v), c = 0;
  for (gsize e = 0; e < n; e++)
    c += v->data[e] >= thr;
  return (double) c / n;
}

static TbVolume *
case_binary (const TbVolume *v, double thr)
{
  TbVolume *b = tb_volume_new_like (v, NULL);
  memcpy (b->origin, v->origin, sizeof b->origin);
  for (gsize e = 0; e < tb_volume_n_voxels (v); e++)
    b->data[e] = v->data[e] >= thr ? 1.0f : 0.0f;
  return b;
}

static int
case_cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

static double
case_tbth (const TbVolume *binary)
{
  g_autoptr(TbMask) m = tb_metrics_mask_from_volume (binary, 0.5, NULL);
  TbMorphoResult r = { 0 };
  double th = NAN;
  if (tb_morpho_measure (m, NULL, TB_MORPHO_SKIP_SMI | TB_MORPHO_SKIP_ANISOTROPY, &r, NULL, NULL, NULL, NULL))
    th = r.tb_th;
  tb_morpho_result_clear (&r);
  return th;
}

/* wb: the whole bone for localized load cases, or NULL for hip-direction apparent stresses on the
 * VOI's faces (quick; the CI test) */
static gboolean
case_run (const TbPhantom *ph, const CaseSettings *cs, const CaseWholeBone *wb, const TbTopoptSettings *base,
          CaseResult *out, GError **error)
{
  memset (out, 0, sizeof *out);
  const TbPhantomVoi *voi = tb_phantom_find_voi (ph, cs->voi);
  g_assert_nonnull (voi);
  const TbPhantomParams *pp = tb_phantom_get_params (ph);
  const double s = pp->clinical_spacing, fine = s / cs->upscale;
  double edge = cs->voi_mm > 0 ? cs->voi_mm : voi->size[0];
  int nc = (int) lround (edge / s);
  double size[3] = { nc * s, nc * s, nc * s };
  g_autoptr(TbVolume) rho0 = NULL;
  g_autoptr(TbFeModel) model = NULL;
  double centre[3] = { voi->centre[0], voi->centre[1], voi->centre[2] };
  if (wb != NULL)
    {
      /* the VOI's voxels of the whole scan, aligned to the whole-bone coarsening (as the CLI does);
       * the truth is cut on exactly those voxels' sub-grid */
      TbBox box;
      if (!tb_box_from_world (wb->rho, voi->centre, size, &box, error))
        return FALSE;
      tb_box_align (&box, wb->coarsen);
      const int b0[3] = { box.x0, box.y0, box.z0 }, bn[3] = { box.nx, box.ny, box.nz };
      for (int d = 0; d < 3; d++)
        {
          size[d] = bn[d] * wb->rho->spacing[d];
          centre[d] = wb->rho->origin[d] + (b0[d] - 0.5 + 0.5 * bn[d]) * wb->rho->spacing[d];
        }
      rho0 = tb_volume_crop (wb->rho, &box, error);
      if (rho0 == NULL)
        return FALSE;
      model = tb_topopt_voi_model_from_whole (wb->solver, wb->rho, &box, cs->upscale, wb->coarsen, error);
      if (model == NULL)
        return FALSE;
    }
  /* the truth at n x resolution, on the clinical voxels' sub-grid */
  g_autoptr(TbVolume) truth = tb_phantom_truth (ph, centre, size, fine, NULL, NULL, NULL, error);
  if (truth == NULL)
    return FALSE;
  if (wb == NULL)
    {
      /* the clinical scan of the VOI: the truth with a 2-voxel margin, degraded exactly as the QCT
       * (box integration, PSF, calibration, noise), margin cut off so the PSF sees the bone around */
      const int margin = 2;
      double big[3] = { (nc + 2 * margin) * s, (nc + 2 * margin) * s, (nc + 2 * margin) * s };
      g_autoptr(TbVolume) truth_big = tb_phantom_truth (ph, voi->centre, big, fine, NULL, NULL, NULL, error);
      if (truth_big == NULL)
        return FALSE;
      g_autoptr(TbVolume) hu_big = tb_phantom_degrade (ph, truth_big, cs->upscale, pp->noise_seed, error);
      if (hu_big == NULL)
        return FALSE;
      TbBox inner = { margin, margin, margin, nc, nc, nc };
      g_autoptr(TbVolume) hu = tb_volume_crop (hu_big, &inner, error);
      if (hu == NULL)
        return FALSE;
      for (gsize e = 0; e < tb_volume_n_voxels (hu); e++)
        hu->data[e] = (float) ((hu->data[e] - pp->hu_a) / pp->hu_b);   /* -> BMD */
      rho0 = tb_topopt_relative_density (hu, pp->marrow_bmd, pp->tissue_bmd, error);
      if (rho0 == NULL)
        return FALSE;
      double stress[3][6], w[3];
      case_hip_stresses (stress, w);
      model = tb_topopt_voi_model_stress (rho0, cs->upscale, 3, (const double (*)[6]) stress, w, error);
      if (model == NULL)
        return FALSE;
    }
  TbTopoptSettings set = *base;
  set.upscale = cs->upscale;
  set.max_iterations = cs->max_iterations;
  g_autoptr(TbTopoptRun) run = tb_topopt_run_new_bone (model, rho0, &set, error);
  if (run == NULL)
    return FALSE;
  gint64 t0 = g_get_monotonic_time ();
  if (!tb_topopt_run_run (run, NULL, error))
    return FALSE;
  out->seconds = (g_get_monotonic_time () - t0) * 1e-6;
  if (g_getenv ("TB_BENCH_HISTORY") != NULL)   /* a folder: each VOI's history CSV goes there */
    {
      g_autofree char *name = g_strdup_printf ("%s-history.csv", cs->voi);
      g_autofree char *path = g_build_filename (g_getenv ("TB_BENCH_HISTORY"), name, NULL);
      if (!tb_topopt_run_write_history (run, path, error))
        return FALSE;
    }
  const TbTopoptReport *r = tb_topopt_run_get_report (run);
  out->iterations = r->iteration;
  out->s_per_it = out->seconds / MAX (1, r->iteration);
  out->t_fe = r->t_fe; out->t_filter = r->t_filter; out->t_sens = r->t_sensitivity; out->t_update = r->t_update;
  out->n_g = r->n_constraints;
  memcpy (out->g, r->constraints, r->n_constraints * sizeof (double));
  out->state = tb_topopt_run_get_state (run);
  g_strlcpy (out->message, tb_topopt_run_get_message (run), sizeof out->message);

  g_autoptr(TbVolume) to = tb_topopt_run_density_volume (run, truth->spacing, truth->origin, error);
  if (to == NULL)
    return FALSE;
  /* baseline: trilinear upscale, thresholded so that BV/TV = mean rho0 (the clinical BV/TV) */
  const double sp[3] = { fine, fine, fine };
  g_autoptr(TbVolume) up = tb_volume_resample (rho0, sp, error);
  if (up == NULL)
    return FALSE;
  gsize n = tb_volume_n_voxels (up);
  double mean0 = 0;
  for (gsize e = 0; e < tb_volume_n_voxels (rho0); e++)
    mean0 += rho0->data[e];
  mean0 /= tb_volume_n_voxels (rho0);
  g_autofree float *sorted = g_memdup2 (up->data, n * sizeof (float));
  qsort (sorted, n, sizeof (float), case_cmp_float);
  gsize keep = (gsize) lround (mean0 * n);
  double thr = keep == 0 ? G_MAXFLOAT : sorted[n - MIN (keep, n)];

  g_autoptr(TbVolume) bt = case_binary (truth, 0.5);
  g_autoptr(TbVolume) bo = case_binary (to, 0.5);
  g_autoptr(TbVolume) bb = case_binary (up, thr);
  out->rho0_mean = mean0;
  out->bvtv_truth = case_bvtv (truth, 0.5);
  out->bvtv_to = case_bvtv (to, 0.5);
  out->bvtv_base = case_bvtv (up, thr);
  if (up->nx == truth->nx && up->ny == truth->ny && up->nz == truth->nz)
    {
      memcpy (bb->origin, truth->origin, sizeof bb->origin);
      memcpy (bb->spacing, truth->spacing, sizeof bb->spacing);
      out->ssim_to = tb_metrics_ssim (bo, bt, 1.0, TB_METRICS_SSIM_3D, NULL, NULL, NULL);
      out->ssim_base = tb_metrics_ssim (bb, bt, 1.0, TB_METRICS_SSIM_3D, NULL, NULL, NULL);
    }
  else
    out->ssim_to = out->ssim_base = NAN;
  if (cs->thickness)
    {
      out->tbth_truth = case_tbth (bt);
      out->tbth_to = case_tbth (bo);
      out->tbth_base = case_tbth (bb);
    }
  else
    out->tbth_truth = out->tbth_to = out->tbth_base = NAN;
  return TRUE;
}
