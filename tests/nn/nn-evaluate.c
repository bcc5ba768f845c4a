/* nn-evaluate.c — quality of a 2-D x8 model against trilinear upscaling + a BV/TV-preserving
 * threshold, on held-out phantom seeds (the four VOI presets of paper 000) and on the real micro-CT
 * degraded the same way. Rerun: build/tests/nn/nn-evaluate MODEL [SEEDS...] [--microct FILE] [--check]
 * (see app/models/README.md); --check exits 1 when a target of issue 6 is missed on the phantom seeds
 * (the test nn-quality runs it on the shipped model).
 *
 * Per VOI: a truth block at 78 µm (tb_phantom_truth), degraded by tb_phantom_degrade (the QCT chain);
 * the LR slice at the block's centre is enhanced by the model (tb_nn_enhance, overlap-tile); the truth
 * is the HR slice at that LR slice's centre (as in training). Baseline: tb_volume_resample (trilinear)
 * of the LR block to 78 µm, the same HR slice, thresholded so that its BV/TV equals the clinical
 * estimate (mean bone fraction of the LR slice's patch). Measures on the 10 x 10 mm section:
 * PSNR and SSIM (data range 1) of the model's bone fraction (clamped to [0,1]) and of the baseline's
 * binary image against the truth fraction; BV/TV and Tb.Th (local thickness, 2-D by extrusion)
 * of the binary images (truth at 0.5; the model's output binarized by the threshold that keeps its
 * own BV/TV estimate, the mean of its bone fraction; its BV/TV at 0.5 and the clinical estimate are
 * given in a comment line); 2-D apparent stiffness
 * Ex, Ey, Gxy (FE homogenization, tb_morpho_stiffness) of the binary images. */
#include "nn/tb-nn.h"
#include "phantom/tb-phantom.h"
#include "metrics/tb-metrics.h"
#include "morpho/tb-morpho.h"
#include "io/tb-io.h"
#include "segment/tb-segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LR_SIDE 16   /* 10 mm at 0.625 mm */
#define MARGIN 3

typedef struct {
  double psnr, ssim, bvtv, tbth, stiff[3];
} Measures;

static TbVolume *
slice_box (const TbVolume *v, int x0, int y0, int z, int n)
{
  double sp[3] = { v->spacing[0], v->spacing[1], v->spacing[2] };
  TbVolume *o = tb_volume_new (n, n, 1, sp, NULL);
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      o->data[y * n + x] = tb_volume_get (v, x0 + x, y0 + y, z);
  return o;
}

static TbVolume *
binarize (const TbVolume *v, double t)
{
  TbVolume *o = tb_volume_copy (v, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (o); i++)
    o->data[i] = v->data[i] >= t ? 1.0f : 0.0f;
  return o;
}

/* Tb.Th of a 2-D binary image: extruded along z (rods become plates whose thickness is the 2-D one),
 * measured on the middle slice only. */
static double
thickness_2d (const TbVolume *bin)
{
  int n = bin->nx, nz = 41;
  TbMask *m = tb_mask_new (n, bin->ny, nz, bin->spacing, NULL);
  TbMask *tv = tb_mask_new (n, bin->ny, nz, bin->spacing, NULL);
  gsize plane = (gsize) n * bin->ny;
  for (int z = 0; z < nz; z++)
    for (gsize i = 0; i < plane; i++)
      {
        m->data[z * plane + i] = bin->data[i] > 0.5f;
        tv->data[z * plane + i] = z == nz / 2;
      }
  double th = NAN, sd, mx;
  TbVolume *lt = tb_morpho_local_thickness (m, TRUE, tv, &th, &sd, &mx, NULL, NULL, NULL, NULL);
  if (lt != NULL)
    tb_volume_unref (lt);
  else
    th = NAN;
  tb_mask_unref (m);
  tb_mask_unref (tv);
  return th;
}

/* PSNR, SSIM of the grey image img (clamped to [0, 1]); BV/TV, Tb.Th, stiffness of the binary bin */
static void
measure (const TbVolume *img, const TbVolume *bin, const TbVolume *truth, Measures *m)
{
  g_autoptr(TbVolume) clamped = tb_volume_copy (img, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (clamped); i++)
    clamped->data[i] = CLAMP (clamped->data[i], 0.0f, 1.0f);
  m->psnr = tb_metrics_psnr (truth, clamped, 1.0, NULL, NULL);
  m->ssim = tb_metrics_ssim (truth, clamped, 1.0, TB_METRICS_SSIM_2D, NULL, NULL, NULL);
  double s = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (bin); i++)
    s += bin->data[i];
  m->bvtv = s / tb_volume_n_voxels (bin);
  m->tbth = thickness_2d (bin);
  TbStiffnessSettings st;
  tb_stiffness_settings_init (&st);
  st.e0 = 15000.0;
  st.two_d = TRUE;
  st.tolerance = 1e-6;   /* stiffness to ~1e-6: plenty for 25 % comparisons */
  st.e_void = 1e-3 * st.e0;   /* marrow at 0.1 % of tissue: conditioning 1000x better, Ex changes < 0.5 % */
  TbStiffnessResult r;
  if (tb_morpho_stiffness (bin, &st, &r, NULL, NULL, NULL, NULL))
    {
      m->stiff[0] = r.e[0]; m->stiff[1] = r.e[1]; m->stiff[2] = r.g[2];
    }
  else
    m->stiff[0] = m->stiff[1] = m->stiff[2] = NAN;
}

/* Binary image whose BV/TV is est: the est-quantile of img from the top as threshold. */
static TbVolume *
bvtv_threshold (const TbVolume *img, double est)
{
  return binarize (img, tb_threshold_keeping_fraction (img, est));
}

static double
rel (double a, double b)
{
  return fabs (a - b) / MAX (fabs (b), 1e-12);
}

typedef struct {
  double n, psnr[2], ssim[2], bvtv[2], tbth[2], stiff[2];
  int n_stiff;
} Summary;

static void
report (const char *name, const Measures *t, const Measures *nn, const Measures *bl, Summary *s)
{
  double sn = 0, sb = 0;
  for (int k = 0; k < 3; k++)
    {
      sn += rel (nn->stiff[k], t->stiff[k]) / 3;
      sb += rel (bl->stiff[k], t->stiff[k]) / 3;
    }
  printf ("| %s | %.2f / %.2f | %.3f / %.3f | %.3f: %.3f (%.0f%%) / %.3f (%.0f%%) | %.3f: %.3f (%.0f%%) / %.3f (%.0f%%) "
          "| %.0f%% / %.0f%% |\n", name, nn->psnr, bl->psnr, nn->ssim, bl->ssim,
          t->bvtv, nn->bvtv, 100 * rel (nn->bvtv, t->bvtv), bl->bvtv, 100 * rel (bl->bvtv, t->bvtv),
          t->tbth, nn->tbth, 100 * rel (nn->tbth, t->tbth), bl->tbth, 100 * rel (bl->tbth, t->tbth), 100 * sn, 100 * sb);
  s->n++;
  s->psnr[0] += nn->psnr; s->psnr[1] += bl->psnr;
  s->ssim[0] += nn->ssim; s->ssim[1] += bl->ssim;
  s->bvtv[0] += rel (nn->bvtv, t->bvtv); s->bvtv[1] += rel (bl->bvtv, t->bvtv);
  s->tbth[0] += rel (nn->tbth, t->tbth); s->tbth[1] += rel (bl->tbth, t->tbth);
  if (isfinite (sn) && isfinite (sb))
    {
      s->stiff[0] += sn; s->stiff[1] += sb; s->n_stiff++;
    }
}

/* Enhance the LR slice k (patch [m, m + n) in x and y) of the clinical block and build the baseline. */
static void
evaluate_block (TbNnNet *net, const TbVolume *truth, const TbVolume *ct, int k, int m, int n, double off, double scl,
                const char *name, Summary *sum)
{
  int s = tb_nn_net_get_arch (net)->scale, zh = k * s + s / 2;
  g_autoptr(GError) error = NULL;
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  TbBox box = { m, m, k, n, n, 1 };
  g_autoptr(TbVolume) nn = tb_nn_enhance (net, ct, &box, &p, NULL, NULL, NULL, &error);
  if (nn == NULL)
    g_error ("%s", error->message);
  g_autoptr(TbVolume) t = slice_box (truth, m * s, m * s, zh, n * s);
  /* the truth binarized at half bone; its mean fraction (the exact BV/TV) in the comment line */
  g_autoptr(TbVolume) tbin = binarize (t, 0.5);
  TbVolumeStats tstats;
  tb_volume_stats (t, &tstats);
  /* baseline: trilinear to the truth grid, the same slice, BV/TV-preserving threshold */
  double hs[3] = { truth->spacing[0], truth->spacing[1], truth->spacing[2] };
  g_autoptr(TbVolume) up = tb_volume_resample (ct, hs, &error);
  if (up == NULL)
    g_error ("%s", error->message);
  g_autoptr(TbVolume) lin = slice_box (up, m * s, m * s, zh, n * s);
  double est = 0;
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      est += (tb_volume_get (ct, m + x, m + y, k) - off) / scl;
  est = CLAMP (est / (n * n), 0.0, 1.0);
  gsize N = tb_volume_n_voxels (lin);
  for (gsize i = 0; i < tb_volume_n_voxels (nn); i++)
    g_assert (isfinite (nn->data[i]));
  /* the model's output keeps the box's grid; give it the truth slice's geometry for the measures */
  memcpy (nn->spacing, t->spacing, sizeof t->spacing);
  memcpy (nn->origin, t->origin, sizeof t->origin);
  memcpy (lin->spacing, t->spacing, sizeof t->spacing);
  memcpy (lin->origin, t->origin, sizeof t->origin);
  /* the model predicts the bone fraction: its mean over the section is its own BV/TV estimate (an
   * L2-trained network's is the conditional mean, which can correct what the clinical mean gets
   * wrong: a single HR slice against a blurred 0.625 mm slab); the baseline has only the clinical one */
  double est_nn = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (nn); i++)
    est_nn += CLAMP (nn->data[i], 0.0f, 1.0f);
  est_nn /= (double) tb_volume_n_voxels (nn);
  g_autoptr(TbVolume) base = bvtv_threshold (lin, est);
  g_autoptr(TbVolume) nn_bin = bvtv_threshold (nn, est_nn);
  g_autoptr(TbVolume) nn_half = binarize (nn, 0.5);
  double half = 0;
  for (gsize i = 0; i < N; i++)
    half += nn_half->data[i];
  Measures mt, mn, mb;
  measure (t, tbin, t, &mt);
  measure (nn, nn_bin, t, &mn);
  measure (base, base, t, &mb);
  printf ("<!-- %s: truth's mean bone fraction %.3f; model's own BV/TV estimate %.3f, the clinical one %.3f; "
          "model thresholded at 0.5 instead: BV/TV %.3f -->\n", name, tstats.mean, est_nn, est, half / N);
  report (name, &mt, &mn, &mb, sum);
}

static void
print_summary (const char *what, const Summary *s)
{
  printf ("\n%s, mean over %.0f sections: PSNR %.2f dB (model) vs %.2f dB (baseline), +%.2f dB; SSIM %.3f vs %.3f; "
          "BV/TV error %.1f%% vs %.1f%%; Tb.Th error %.1f%% vs %.1f%%; stiffness error (mean of Ex, Ey, Gxy) %.1f%% vs %.1f%% "
          "(%d sections)\n", what, s->n, s->psnr[0] / s->n, s->psnr[1] / s->n, (s->psnr[0] - s->psnr[1]) / s->n,
          s->ssim[0] / s->n, s->ssim[1] / s->n, 100 * s->bvtv[0] / s->n, 100 * s->bvtv[1] / s->n,
          100 * s->tbth[0] / s->n, 100 * s->tbth[1] / s->n, 100 * s->stiff[0] / MAX (1, s->n_stiff),
          100 * s->stiff[1] / MAX (1, s->n_stiff), s->n_stiff);
}

/* --check: the targets of issue 6 on the held-out phantom seeds; 1 when one is missed. The means are
 * over the sections, as printed; the tolerances are the issue's own numbers. */
static int
check_targets (const Summary *s)
{
  double dpsnr = (s->psnr[0] - s->psnr[1]) / s->n, bv = s->bvtv[0] / s->n, th = s->tbth[0] / s->n;
  double st = s->n_stiff > 0 ? s->stiff[0] / s->n_stiff : NAN;
  struct { const char *what; double value; gboolean met; } t[] = {
    { "PSNR gain over the baseline >= 3 dB", dpsnr, dpsnr >= 3.0 },
    { "SSIM above the baseline's (difference)", (s->ssim[0] - s->ssim[1]) / s->n, s->ssim[0] > s->ssim[1] },
    { "BV/TV error <= 10 %", 100 * bv, bv <= 0.10 },
    { "Tb.Th error <= 20 %", 100 * th, th <= 0.20 },
    { "stiffness error (mean of Ex, Ey, Gxy) <= 25 %", 100 * st, s->n_stiff == s->n && st <= 0.25 },
  };
  int missed = 0;
  printf ("\n");
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    {
      printf ("target %s: %.3f, %s\n", t[i].what, t[i].value, t[i].met ? "met" : "MISSED");
      missed += !t[i].met;
    }
  return missed > 0;
}

static void
header (void)
{
  printf ("| section | PSNR dB model / baseline | SSIM model / baseline | BV/TV truth: model (err) / baseline (err) "
          "| Tb.Th mm truth: model (err) / baseline (err) | stiffness err model / baseline |\n|---|---|---|---|---|---|\n");
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc < 2)
    {
      fprintf (stderr, "usage: nn-evaluate MODEL [SEED...] [--microct FILE] [--check]\n");
      return 1;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) net = tb_nn_net_load (argv[1], &error);
  if (net == NULL)
    g_error ("%s", error->message);
  int s = tb_nn_net_get_arch (net)->scale;
  double off = tb_nn_net_get_meta_double (net, "input_offset", 0), scl = tb_nn_net_get_meta_double (net, "input_scale", 1);
  GArray *seeds = g_array_new (FALSE, FALSE, sizeof (guint64));
  const char *microct = NULL;
  gboolean check = FALSE;
  for (int i = 2; i < argc; i++)
    {
      if (strcmp (argv[i], "--microct") == 0 && i + 1 < argc)
        microct = argv[++i];
      else if (strcmp (argv[i], "--check") == 0)
        check = TRUE;
      else
        {
          guint64 v = g_ascii_strtoull (argv[i], NULL, 10);
          g_array_append_val (seeds, v);
        }
    }
  if (seeds->len == 0 && microct == NULL)
    {
      guint64 d[3] = { 201, 202, 203 };
      g_array_append_vals (seeds, d, 3);
    }
  printf ("model %s (x%d); held-out phantom seeds:", argv[1], s);
  for (guint i = 0; i < seeds->len; i++)
    printf (" %" G_GUINT64_FORMAT, g_array_index (seeds, guint64, i));
  printf ("\n\n");
  Summary sum = { 0 };
  if (seeds->len > 0)
    header ();
  for (guint i = 0; i < seeds->len; i++)
    {
      TbPhantomParams pp;
      tb_phantom_params_init (&pp);
      pp.seed = g_array_index (seeds, guint64, i);
      pp.supersample = 4;   /* 64 samples per truth voxel: a 2x2x2 truth has so many voxels at exactly 0.5 that
                             * thresholding it at 0.5 adds 10-12 % BV/TV in the head and neck */
      g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, &error);
      guint nv;
      const TbPhantomVoi *vois = tb_phantom_get_vois (ph, &nv);
      for (guint v = 0; v < nv; v++)
        {
          int side = LR_SIDE + 2 * MARGIN, nz = 1 + 2 * MARGIN;
          double size[3] = { side * pp.clinical_spacing, side * pp.clinical_spacing, nz * pp.clinical_spacing };
          g_autoptr(TbVolume) truth = tb_phantom_truth (ph, vois[v].centre, size, pp.clinical_spacing / s, NULL, NULL, NULL, &error);
          if (truth == NULL)
            g_error ("%s", error->message);
          g_autoptr(TbVolume) ct = tb_phantom_degrade (ph, truth, s, 1000 + pp.seed, &error);
          if (ct == NULL)
            g_error ("%s", error->message);
          g_autofree char *name = g_strdup_printf ("seed %" G_GUINT64_FORMAT " %s", pp.seed, vois[v].name);
          evaluate_block (net, truth, ct, MARGIN, MARGIN, LR_SIDE, off, scl, name, &sum);
        }
    }
  int rc = 0;
  if (seeds->len > 0)
    {
      print_summary ("Phantom (held-out seeds)", &sum);
      if (check)
        rc = check_targets (&sum);
    }

  if (microct != NULL)
    {
      /* micro-CT at 19.5 µm: Gaussian (sigma 1 voxel) then threshold 63, the ciclope recipe; box mean 4x4x4
       * -> bone fraction at 78 µm; cropped to a multiple of 8; degraded by the phantom's QCT chain */
      g_autoptr(TbVolume) mct = tb_io_read (microct, NULL, NULL, NULL, &error);
      if (mct == NULL)
        g_error ("%s", error->message);
      g_autoptr(TbVolume) sm = tb_volume_copy (mct, NULL);
      int n[3] = { mct->nx, mct->ny, mct->nz };
      float w[5];
      for (int k = -2; k <= 2; k++)
        w[k + 2] = (float) exp (-0.5 * k * k);
      float ws = w[0] + w[1] + w[2] + w[3] + w[4];
      for (int a = 0; a < 3; a++)
        {
          g_autoptr(TbVolume) tmp = tb_volume_copy (sm, NULL);
          for (int z = 0; z < n[2]; z++)
            for (int y = 0; y < n[1]; y++)
              for (int x = 0; x < n[0]; x++)
                {
                  float acc = 0;
                  for (int k = -2; k <= 2; k++)
                    {
                      int c[3] = { x, y, z };
                      c[a] = CLAMP (c[a] + k, 0, n[a] - 1);
                      acc += w[k + 2] * tb_volume_get (tmp, c[0], c[1], c[2]);
                    }
                  sm->data[tb_volume_index (sm, x, y, z)] = acc / ws;
                }
        }
      for (gsize i = 0; i < tb_volume_n_voxels (sm); i++)
        sm->data[i] = sm->data[i] > 63.0f ? 1.0f : 0.0f;
      g_autoptr(TbVolume) frac = tb_volume_downscale (sm, 4, 4, 4, &error);
      int side = (frac->nx / s) * s;
      TbBox box = { 0, 0, 0, side, side, (frac->nz / s) * s };
      g_autoptr(TbVolume) truth = tb_volume_crop (frac, &box, &error);
      double sp78[3] = { 0.625 / s, 0.625 / s, 0.625 / s };
      memcpy (truth->spacing, sp78, sizeof sp78);
      TbPhantomParams pp;
      tb_phantom_params_init (&pp);
      g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, &error);
      Summary ms = { 0 };
      printf ("\nmicro-CT %s: %dx%dx%d at 19.5 µm -> truth %dx%dx%d at 78 µm -> QCT %dx%dx%d at 0.625 mm\n\n", microct,
              mct->nx, mct->ny, mct->nz, truth->nx, truth->ny, truth->nz, truth->nx / s, truth->ny / s, truth->nz / s);
      header ();
      g_autoptr(TbVolume) ct = tb_phantom_degrade (ph, truth, s, 7, &error);
      if (ct == NULL)
        g_error ("%s", error->message);
      for (int k = 1; k + 1 < ct->nz; k++)
        {
          g_autofree char *name = g_strdup_printf ("micro-CT LR slice %d", k);
          evaluate_block (net, truth, ct, k, 0, ct->nx, off, scl, name, &ms);
        }
      print_summary ("Micro-CT (degraded the same way)", &ms);
    }
  g_array_unref (seeds);
  return rc;
}
