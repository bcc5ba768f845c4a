/* test-nn-enhance.c — patchwise inference: overlap-tile is bit-identical to one whole-image pass
 * (2-D and 3-D nets; a box to one plain pass over the whole CT, in any tiling), minimum-error seams
 * and seam surfaces (graph cut: a minimum, checked by brute force) are invisible (gradient energy
 * across the seams within 10 % of inside the patches), a spacing mismatch and bad settings are refused, cancel stops. */
#include "nn/tb-nn.h"
#include "nn/nn-private.h"
#include "tb-test.h"

#include <math.h>
#include <string.h>

/* A CT-like volume: random smooth "trabeculae" (thresholded sum of sinusoids), HU 0..1200 plus noise. */
static TbVolume *
make_ct (int nx, int ny, int nz, double sp, guint32 seed)
{
  double spacing[3] = { sp, sp, sp };
  TbVolume *v = tb_volume_new (nx, ny, nz, spacing, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  double a[4], fx[4], fy[4], fz[4];
  for (int k = 0; k < 4; k++)
    {
      a[k] = g_rand_double_range (r, 0, 6.28);
      fx[k] = g_rand_double_range (r, -1.2, 1.2);
      fy[k] = g_rand_double_range (r, -1.2, 1.2);
      fz[k] = g_rand_double_range (r, -1.2, 1.2);
    }
  for (int z = 0; z < nz; z++)
    for (int y = 0; y < ny; y++)
      for (int x = 0; x < nx; x++)
        {
          double s = 0;
          for (int k = 0; k < 4; k++)
            s += sin (a[k] + fx[k] * x + fy[k] * y + fz[k] * z);
          v->data[tb_volume_index (v, x, y, z)] = (float) (600.0 + 300.0 * s + g_rand_double_range (r, -20, 20));
        }
  return v;
}

static TbNnNet *
make_net (int dims, int scale)
{
  TbNnArch arch = { .arch = "srresnet", .dims = dims, .in_channels = 1, .features = 8, .blocks = 2, .scale = scale };
  g_autoptr(GError) error = NULL;
  TbNnNet *net = tb_nn_net_new (&arch, 5, &error);
  g_assert_no_error (error);
  tb_nn_net_set_meta (net, "input_spacing_mm", "0.625");
  tb_nn_net_set_meta (net, "input_offset", "0");
  tb_nn_net_set_meta (net, "input_scale", "1200");
  return net;
}

static void
check_tile_exact (int dims, int nx, int ny, int nz, int patch)
{
  g_autoptr(TbNnNet) net = make_net (dims, dims == 2 ? 4 : 2);
  g_autoptr(TbVolume) ct = make_ct (nx, ny, nz, 0.625, 3);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  p.patch = 1000;  /* one patch: the whole-image pass */
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) whole = tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.patch = patch;
  g_autoptr(TbVolume) tiled = tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tb_volume_same_grid (whole, tiled));
  gsize diff = 0;
  for (gsize i = 0; i < tb_volume_n_voxels (whole); i++)
    diff += memcmp (&whole->data[i], &tiled->data[i], sizeof (float)) != 0;
  g_test_message ("%d-D: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " voxels differ (receptive radius %d)", dims, diff,
                  tb_volume_n_voxels (whole), tb_nn_net_receptive_radius (net));
  g_assert_cmpuint (diff, ==, 0);
  /* geometry: the enhanced grid covers the same physical extent */
  g_assert_cmpfloat (fabs ((whole->origin[0] - whole->spacing[0] / 2) - (ct->origin[0] - ct->spacing[0] / 2)), <, 1e-9);
}

static void
test_tile_exact_2d (void)
{
  check_tile_exact (2, 41, 37, 2, 11);
}

static void
test_tile_exact_3d (void)
{
  check_tile_exact (3, 13, 11, 9, 5);
}

/* Run the net on LR columns [x0, x0 + w) of a one-slice ct (whole height): HR patch, row-major. */
static float *
run_crop (TbNnNet *net, const TbVolume *ct, int x0, int w, double offset, double scale)
{
  g_autoptr(TbNnTensor) t = tb_nn_tensor_new (4, 1, 1, 1, ct->ny, w);
  for (int y = 0; y < ct->ny; y++)
    for (int x = 0; x < w; x++)
      t->data[y * w + x] = (float) ((tb_volume_get (ct, x0 + x, y, 0) - offset) / scale);
  const TbNnTensor *o = tb_nn_net_forward (net, t, FALSE, NULL);
  return g_memdup2 (o->data, tb_nn_tensor_size (o) * sizeof (float));
}

/* Smooth random field: a sum of 6 sinusoids of wavelength >= ~10 pixels. */
static double
field (GRand *r, double *par, int x, int y, gboolean init)
{
  if (init)
    {
      for (int k = 0; k < 18; k += 3)
        {
          par[k] = g_rand_double_range (r, 0, 6.28);
          par[k + 1] = g_rand_double_range (r, -0.6, 0.6);
          par[k + 2] = g_rand_double_range (r, -0.6, 0.6);
        }
      return 0;
    }
  double s = 0;
  for (int k = 0; k < 18; k += 3)
    s += sin (par[k] + par[k + 1] * x + par[k + 2] * y);
  return s / 3.0;
}

/* Quilting's job (paper 001): two overlapping patch outputs that disagree (as GAN outputs or
 * binarized structures do): the same texture plus independent smooth deviations of 0.2 times its
 * amplitude (patches that mostly agree, the case of a trained generator). Across-seam
 * energy: mean squared x-difference over pixel pairs that straddle the cut (one pixel from each
 * patch); inside: the same over pairs outside the overlap. The minimum-error seam must keep
 * across/inside <= 1.10; a straight cut at the overlap's middle shows the measure sees seams. */
static void
test_quilt_seams (void)
{
  int W = 160, H = 128, off = 80, ov = 40, pw = 120;   /* A = columns [0, 120), B = [80, 200) cut to W */
  g_autoptr(GRand) r = g_rand_new_with_seed (21);
  double pt[18], pa[18], pb[18];
  field (r, pt, 0, 0, TRUE); field (r, pa, 0, 0, TRUE); field (r, pb, 0, 0, TRUE);
  g_autofree float *a = g_new (float, H * pw), *b = g_new (float, H * pw);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < pw; x++)
      {
        a[y * pw + x] = (float) (field (r, pt, x, y, FALSE) + 0.2 * field (r, pa, x, y, FALSE));
        b[y * pw + x] = (float) (field (r, pt, x + off, y, FALSE) + 0.2 * field (r, pb, x + off, y, FALSE));
      }
  g_autofree float *oa = g_new (float, H * ov), *ob = g_new (float, H * ov);
  g_autofree guint8 *take = g_new (guint8, H * ov);
  for (int y = 0; y < H; y++)
    for (int o = 0; o < ov; o++)
      {
        oa[y * ov + o] = a[y * pw + off + o];
        ob[y * ov + o] = b[y * pw + o];
      }
  tb_nn_quilt_seam (oa, ob, H, ov, take);
  g_autofree float *quilt = g_new (float, H * W), *straight = g_new (float, H * W);
  g_autofree guint8 *from_b = g_new (guint8, H * W), *from_b_straight = g_new (guint8, H * W);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        int i = y * W + x;
        gboolean in_ov = x >= off && x < off + ov;
        from_b[i] = x >= off + ov || (in_ov && take[y * ov + x - off]);
        from_b_straight[i] = x >= off + ov / 2;
        float va = x < pw ? a[y * pw + x] : 0.0f, vb = x >= off ? b[y * pw + x - off] : 0.0f;
        quilt[i] = from_b[i] ? vb : va;
        straight[i] = from_b_straight[i] ? vb : va;
      }
  double e[3] = { 0 };
  gsize n[3] = { 0 };
  for (int y = 0; y < H; y++)
    for (int x = 0; x + 1 < W; x++)
      {
        int i = y * W + x;
        double dq = quilt[i + 1] - quilt[i], ds = straight[i + 1] - straight[i];
        if (from_b[i] != from_b[i + 1]) { e[0] += dq * dq; n[0]++; }
        if (from_b_straight[i] != from_b_straight[i + 1]) { e[1] += ds * ds; n[1]++; }
        if (x + 1 < off || x >= off + ov) { e[2] += dq * dq; n[2]++; }
      }
  double rq = (e[0] / n[0]) / (e[2] / n[2]), rs = (e[1] / n[1]) / (e[2] / n[2]);
  g_test_message ("across-seam / inside gradient energy: minimum-error seam %.3f (%" G_GSIZE_FORMAT
                  " pairs), straight cut %.3f", rq, n[0], rs);
  g_assert_cmpfloat (rq, <=, 1.10);
  g_assert_cmpfloat (rs, >, 1.10);
}

/* tb_nn_enhance's quilt is the patches joined along the seam: it agrees with each patch's own output
 * away from the overlaps (a patch of 20 + 12 LR columns: starts 0 and 20). */
static void
test_quilt_enhance (void)
{
  g_autoptr(TbNnNet) net = make_net (2, 4);
  int s = 4, W = 52, H = 24;
  g_autoptr(TbVolume) ct = make_ct (W, H, 1, 0.625, 9);
  g_autofree float *a = run_crop (net, ct, 0, 32, 0, 1200), *b = run_crop (net, ct, 20, 32, 0, 1200);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  p.stitch = TB_NN_STITCH_QUILT;
  p.patch = 20;
  p.overlap = 12;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) q = tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (q->nx, ==, W * s);
  for (int y = 0; y < H * s; y++)
    for (int x = 0; x < W * s; x++)
      {
        float v = tb_volume_get (q, x, y, 0);
        if (x < 20 * s)
          g_assert_cmpfloat (v, ==, a[y * 32 * s + x]);
        else if (x >= 32 * s)
          g_assert_cmpfloat (v, ==, b[y * 32 * s + x - 20 * s]);
        else
          g_assert_true (v == a[y * 32 * s + x] || v == b[y * 32 * s + x - 20 * s]);
      }
}

/* The cost tb_nn_quilt_cut minimizes: e(s) + e(t) for neighbours on different sides, e(v) for a face
 * voxel on the other patch's side. */
static double
cut_cost (const float *a, const float *b, int n0, int n1, int ov, const guint8 *take)
{
  int nv = n0 * n1 * ov, step[3] = { n1 * ov, ov, 1 }, size[3] = { n0, n1, ov };
  double cost = 0.0;
  for (int v = 0; v < nv; v++)
    {
      int c[3] = { v / step[0], (v / ov) % n1, v % ov };
      double ev = ((double) a[v] - b[v]) * ((double) a[v] - b[v]);
      for (int ax = 0; ax < 3; ax++)
        if (c[ax] + 1 < size[ax] && take[v] != take[v + step[ax]])
          {
            int w = v + step[ax];
            cost += ev + ((double) a[w] - b[w]) * ((double) a[w] - b[w]);
          }
      if ((c[2] == 0 && take[v]) || (c[2] == ov - 1 && !take[v]))
        cost += ev;
    }
  return cost;
}

/* The graph cut is a minimum: on slabs of up to 18 voxels its cost equals the least over all 2^n
 * ways to split them. */
static void
test_cut_brute_force (void)
{
  const int cases[][3] = { { 2, 3, 3 }, { 1, 4, 4 }, { 3, 3, 2 }, { 1, 6, 1 }, { 2, 2, 4 }, { 1, 1, 5 } };
  g_autoptr(GRand) r = g_rand_new_with_seed (31);
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    for (int trial = 0; trial < 3; trial++)
      {
        int n0 = cases[k][0], n1 = cases[k][1], ov = cases[k][2], nv = n0 * n1 * ov;
        float a[18], b[18];
        guint8 take[18], t[18];
        double emax = 0.0;
        for (int i = 0; i < nv; i++)
          {
            a[i] = (float) g_rand_double (r);
            b[i] = (float) g_rand_double (r);
            emax = MAX (emax, ((double) a[i] - b[i]) * ((double) a[i] - b[i]));
          }
        tb_nn_quilt_cut (a, b, n0, n1, ov, take);
        double best = G_MAXDOUBLE;
        for (guint32 m = 0; m < (1u << nv); m++)
          {
            for (int i = 0; i < nv; i++)
              t[i] = (m >> i) & 1;
            best = MIN (best, cut_cost (a, b, n0, n1, ov, t));
          }
        double ours = cut_cost (a, b, n0, n1, ov, take);
        if (!(ours <= best + 1e-6 * emax))
          g_error ("%dx%dx%d trial %d: cut costs %.9g, the minimum is %.9g", n0, n1, ov, trial, ours, best);
      }
}

/* A planted surface: the patches agree exactly on a 2-voxel band across the overlap whose depth
 * wanders (by at most 1 between neighbours) and differ by >= 1 elsewhere; the cut must cost 0 and so
 * run inside the band: A before it, B after it. */
static void
test_cut_planted (void)
{
  int n0 = 6, n1 = 7, ov = 8, nv = n0 * n1 * ov;
  g_autoptr(GRand) r = g_rand_new_with_seed (32);
  g_autofree float *a = g_new (float, nv), *b = g_new (float, nv);
  g_autofree guint8 *take = g_new (guint8, nv);
  for (int i0 = 0; i0 < n0; i0++)
    for (int i1 = 0; i1 < n1; i1++)
      {
        int t = (i0 + i1) % 8, h = 1 + (t < 4 ? t : 8 - t);
        for (int o = 0; o < ov; o++)
          {
            int v = (i0 * n1 + i1) * ov + o;
            a[v] = (float) g_rand_double (r);
            b[v] = o == h || o == h + 1 ? a[v] : a[v] + 1.0f + (float) g_rand_double (r);
          }
      }
  tb_nn_quilt_cut (a, b, n0, n1, ov, take);
  g_assert_cmpfloat (cut_cost (a, b, n0, n1, ov, take), ==, 0.0);
  for (int i0 = 0; i0 < n0; i0++)
    for (int i1 = 0; i1 < n1; i1++)
      {
        int t = (i0 + i1) % 8, h = 1 + (t < 4 ? t : 8 - t);
        for (int o = 0; o < ov; o++)
          {
            int v = (i0 * n1 + i1) * ov + o;
            if (o < h)
              g_assert_cmpint (take[v], ==, 0);
            if (o > h + 1)
              g_assert_cmpint (take[v], ==, 1);
          }
      }
}

/* Above 2^17 voxels the cut is one of cells (here 2^3 voxels): a band of two cells where the patches
 * agree, planted as in test_cut_planted, holds the surface, which costs 0 voxel by voxel too. */
static void
test_cut_cells (void)
{
  int n0 = 64, n1 = 64, ov = 40, nv = n0 * n1 * ov;
  g_autoptr(GRand) r = g_rand_new_with_seed (35);
  g_autofree float *a = g_new (float, nv), *b = g_new (float, nv);
  g_autofree guint8 *take = g_new (guint8, nv);
  g_autofree int *h = g_new (int, n0 * n1);
  for (int i0 = 0; i0 < n0; i0++)
    for (int i1 = 0; i1 < n1; i1++)
      {
        int t = (i0 / 2 + i1 / 2) % 8;
        h[i0 * n1 + i1] = 2 * (1 + (t < 4 ? t : 8 - t));   /* the band: o in [h, h + 4) */
        for (int o = 0; o < ov; o++)
          {
            int v = (i0 * n1 + i1) * ov + o;
            a[v] = (float) g_rand_double (r);
            b[v] = o >= h[i0 * n1 + i1] && o < h[i0 * n1 + i1] + 4 ? a[v] : a[v] + 1.0f + (float) g_rand_double (r);
          }
      }
  tb_nn_quilt_cut (a, b, n0, n1, ov, take);
  g_assert_cmpfloat (cut_cost (a, b, n0, n1, ov, take), ==, 0.0);
  for (int v = 0; v < nv; v++)
    {
      int o = v % ov, hv = h[v / ov];
      if (o < hv)
        g_assert_cmpint (take[v], ==, 0);
      if (o >= hv + 4)
        g_assert_cmpint (take[v], ==, 1);
    }
}

/* Smooth random 3-D field: a sum of 6 plane waves of wavelength >= ~10 voxels. */
static void
field3_init (GRand *r, double *par)
{
  for (int k = 0; k < 24; k += 4)
    {
      par[k] = g_rand_double_range (r, 0, 6.28);
      for (int j = 1; j < 4; j++)
        par[k + j] = g_rand_double_range (r, -0.45, 0.45);
    }
}

static double
field3 (const double *par, int x, int y, int z)
{
  double s = 0;
  for (int k = 0; k < 24; k += 4)
    s += sin (par[k] + par[k + 1] * x + par[k + 2] * y + par[k + 3] * z);
  return s / 3.0;
}

/* Seams invisible in 3-D: as test_quilt_seams, two blocks overlapping along x that share a texture
 * and differ by independent smooth deviations; the seam surface's across-seam gradient energy (voxel
 * pairs along x, y or z on different sides) is within 10 % of inside the blocks; a straight cut is
 * not. Per-slice seams (the quilt stitch) are measured the same way for comparison. */
static void
check_cut_seams (int H, int D, int off, int ov, guint32 seed, int max_nodes)
{
  int pw = off + ov, W = off + pw;
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  double pt[24], pa[24], pb[24];
  field3_init (r, pt); field3_init (r, pa); field3_init (r, pb);
  gsize plane = (gsize) H * pw;
  g_autofree float *a = g_new (float, D * plane), *b = g_new (float, D * plane);
  for (int z = 0; z < D; z++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < pw; x++)
        {
          gsize i = z * plane + (gsize) y * pw + x;
          a[i] = (float) (field3 (pt, x, y, z) + 0.2 * field3 (pa, x, y, z));
          b[i] = (float) (field3 (pt, x + off, y, z) + 0.2 * field3 (pb, x + off, y, z));
        }
  int nv = D * H * ov;
  g_autofree float *oa = g_new (float, nv), *ob = g_new (float, nv);
  g_autofree guint8 *cut = g_new (guint8, nv), *seams = g_new (guint8, nv);
  for (int z = 0; z < D; z++)
    for (int y = 0; y < H; y++)
      for (int o = 0; o < ov; o++)
        {
          int v = (z * H + y) * ov + o;
          oa[v] = a[z * plane + (gsize) y * pw + off + o];
          ob[v] = b[z * plane + (gsize) y * pw + o];
        }
  if (max_nodes > 0)
    nn_quilt_cut_levels (oa, ob, D, H, ov, max_nodes, cut);
  else
    tb_nn_quilt_cut (oa, ob, D, H, ov, cut);
  g_autofree guint8 *exact = g_new (guint8, nv);
  nn_quilt_cut_levels (oa, ob, D, H, ov, G_MAXINT, exact);
  for (int z = 0; z < D; z++)
    tb_nn_quilt_seam (oa + (gsize) z * H * ov, ob + (gsize) z * H * ov, H, ov, seams + (gsize) z * H * ov);
  /* 0: cut, 1: per-slice seams, 2: straight, 3: cut voxel by voxel */
  double ratio[4];
  for (int m = 0; m < 4; m++)
    {
      double across = 0, inside = 0;
      gsize na = 0, ni = 0;
      #define FROM_B(x, y, z) ((x) >= off + ov || ((x) >= off && (m == 2 ? (x) >= off + ov / 2 : \
        (m == 0 ? cut : m == 1 ? seams : exact)[((z) * H + (y)) * ov + (x) - off])))
      #define VAL(x, y, z) (FROM_B (x, y, z) ? b[(z) * plane + (gsize) (y) * pw + (x) - off] : a[(z) * plane + (gsize) (y) * pw + (x)])
      for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
          for (int x = 0; x < W; x++)
            for (int ax = 0; ax < 3; ax++)
              {
                int x2 = x + (ax == 0), y2 = y + (ax == 1), z2 = z + (ax == 2);
                if (x2 >= W || y2 >= H || z2 >= D)
                  continue;
                double d = VAL (x2, y2, z2) - VAL (x, y, z);
                if (FROM_B (x, y, z) != FROM_B (x2, y2, z2))
                  {
                    across += d * d;
                    na++;
                  }
                else if ((x2 < off || x >= off + ov) && (x < off || x >= off + ov))
                  {
                    inside += d * d;
                    ni++;
                  }
              }
      #undef VAL
      #undef FROM_B
      ratio[m] = (across / na) / (inside / ni);
    }
  double cost = cut_cost (oa, ob, D, H, ov, cut), cost_exact = cut_cost (oa, ob, D, H, ov, exact);
  g_test_message ("%dx%dx%d overlap: across-seam / inside gradient energy (x, y, z pairs): seam surface %.3f "
                  "(voxel by voxel %.3f; cut cost %.4g, voxel by voxel %.4g), per-slice seams %.3f, straight cut %.3f",
                  D, H, ov, ratio[0], ratio[3], cost, cost_exact, ratio[1], ratio[2]);
  if (max_nodes == 0)
    {
      /* voxel by voxel: the seams within 10 %, better than slice by slice */
      g_assert_cmpmem (cut, nv, exact, nv);
      g_assert_cmpfloat (ratio[0], <=, 1.10);
      g_assert_cmpfloat (ratio[0], <, ratio[1]);
    }
  /* coarse to fine: within 5 % of the voxel-by-voxel cut */
  g_assert_cmpfloat (cost, <=, 1.05 * cost_exact);
  g_assert_cmpfloat (ratio[0], <=, 1.05 * ratio[3]);
  g_assert_cmpfloat (ratio[0], <, ratio[2]);
  g_assert_cmpfloat (ratio[2], >, 1.10);
}

/* One overlap cut voxel by voxel (14 400 voxels, within 10 %); then that one and one whose patches
 * disagree more (no cut gets within 10 % there) coarse to fine, as tb_nn_quilt_cut does above 2^17
 * voxels (here above 4096 and 8192: one level of cells), against their voxel-by-voxel cuts. */
static void
test_cut_seams (void)
{
  check_cut_seams (30, 24, 40, 20, 33, 0);
  check_cut_seams (30, 24, 40, 20, 33, 4096);
  check_cut_seams (32, 28, 44, 24, 34, 8192);
}

/* Run the 3-D net on LR columns [x0, x0 + w) of ct (all of y and z): HR block, x fastest. */
static float *
run_crop3 (TbNnNet *net, const TbVolume *ct, int x0, int w)
{
  g_autoptr(TbNnTensor) t = tb_nn_tensor_new (5, 1, 1, ct->nz, ct->ny, w);
  for (int z = 0; z < ct->nz; z++)
    for (int y = 0; y < ct->ny; y++)
      for (int x = 0; x < w; x++)
        t->data[((gsize) z * ct->ny + y) * w + x] = (float) (tb_volume_get (ct, x0 + x, y, z) / 1200.0);
  const TbNnTensor *o = tb_nn_net_forward (net, t, FALSE, NULL);
  return g_memdup2 (o->data, tb_nn_tensor_size (o) * sizeof (float));
}

/* tb_nn_enhance's cut stitch on a 3-D net: the two patches joined along one seam surface, each
 * patch's own output away from the overlap (patches of 10 + 6 LR columns: starts 0 and 10). */
static void
test_cut_enhance (void)
{
  g_autoptr(TbNnNet) net = make_net (3, 2);
  int s = 2, W = 26, H = 8, D = 6, w = 16;
  g_autoptr(TbVolume) ct = make_ct (W, H, D, 0.625, 10);
  g_autofree float *a = run_crop3 (net, ct, 0, w), *b = run_crop3 (net, ct, 10, w);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  p.stitch = TB_NN_STITCH_CUT;
  p.patch = 10;
  p.overlap = 6;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) q = tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (q->nx, ==, W * s);
  g_assert_cmpint (q->nz, ==, D * s);
  gsize from_a = 0, from_b = 0;
  for (int z = 0; z < D * s; z++)
    for (int y = 0; y < H * s; y++)
      for (int x = 0; x < W * s; x++)
        {
          float v = tb_volume_get (q, x, y, z);
          gsize row = ((gsize) z * H * s + y) * w * s;
          if (x < 10 * s)
            g_assert_cmpfloat (v, ==, a[row + x]);
          else if (x >= w * s)
            g_assert_cmpfloat (v, ==, b[row + x - 10 * s]);
          else
            {
              g_assert_true (v == a[row + x] || v == b[row + x - 10 * s]);
              from_a += v == a[row + x] && v != b[row + x - 10 * s];
              from_b += v == b[row + x - 10 * s] && v != a[row + x];
            }
        }
  g_test_message ("overlap voxels from A only %" G_GSIZE_FORMAT ", from B only %" G_GSIZE_FORMAT, from_a, from_b);
  g_assert_cmpuint (from_a, >, 0);
  g_assert_cmpuint (from_b, >, 0);
}

static void
test_refusals (void)
{
  g_autoptr(TbNnNet) net = make_net (2, 4);
  g_autoptr(TbVolume) ct = make_ct (20, 20, 1, 0.5, 3);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  g_autoptr(GError) error = NULL;
  g_assert_null (tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "0.625"));
  g_clear_error (&error);
  g_autoptr(TbVolume) ct2 = make_ct (20, 20, 1, 0.625, 3);
  p.overlap = 2;  /* a halo below the receptive radius */
  g_assert_null (tb_nn_enhance (net, ct2, NULL, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID);
  g_clear_error (&error);
  TbBox box = { 15, 15, 0, 10, 10, 1 };
  p.overlap = 0;
  g_assert_null (tb_nn_enhance (net, ct2, &box, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, TB_VOLUME_ERROR, TB_VOLUME_ERROR_OUTSIDE);
}

static void
cancel_now (double fraction, const char *message, gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

static void
test_cancel (void)
{
  g_autoptr(TbNnNet) net = make_net (2, 4);
  g_autoptr(TbVolume) ct = make_ct (40, 40, 3, 0.625, 3);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  p.patch = 8;
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_assert_null (tb_nn_enhance (net, ct, NULL, &p, c, cancel_now, c, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* A box enhances to the same voxels as the whole image over that box when it has the full halo. */
static void
test_box (void)
{
  g_autoptr(TbNnNet) net = make_net (2, 4);
  g_autoptr(TbVolume) ct = make_ct (48, 40, 3, 0.625, 4);
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  p.patch = 16;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) whole = tb_nn_enhance (net, ct, NULL, &p, NULL, NULL, NULL, &error);
  TbBox box = { 17, 15, 1, 9, 7, 2 };
  g_autoptr(TbVolume) part = tb_nn_enhance (net, ct, &box, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (part->nx, ==, 36);
  for (int z = 0; z < part->nz; z++)
    for (int y = 0; y < part->ny; y++)
      for (int x = 0; x < part->nx; x++)
        g_assert_cmpfloat (tb_volume_get (part, x, y, z), ==, tb_volume_get (whole, x + 17 * 4, y + 15 * 4, z + 1));
  g_assert_cmpfloat (fabs (part->origin[0] - (whole->origin[0] + 17 * 4 * whole->spacing[0])), <, 1e-9);
}

static void
count_ticks (double fraction, const char *message, gpointer user_data)
{
  (*(int *) user_data)++;
}

/* Overlap-tile on a box equals one plain pass of the net (every layer on its whole grid) over the
 * whole CT, cropped to the box, bit for bit: with the box as one tile, in tiles of 4 voxels, and
 * in tiles halved until they fit a 1 MB budget (the box's activations need several MB). */
static void
check_box_whole_ct (int dims, const int size[3], const TbBox *box)
{
  g_autoptr(TbNnNet) net = make_net (dims, dims == 2 ? 4 : 2);
  int s = dims == 2 ? 4 : 2, sz = dims == 3 ? s : 1;
  g_autoptr(TbVolume) ct = make_ct (size[0], size[1], size[2], 0.625, 9);
  g_autoptr(GError) error = NULL;
  /* the reference: the whole CT (each slice in 2-D), normalized as tb_nn_enhance does */
  int nz = dims == 3 ? 1 : ct->nz;
  g_autoptr(GPtrArray) ref = g_ptr_array_new_with_free_func ((GDestroyNotify) tb_nn_tensor_free);
  for (int sl = 0; sl < nz; sl++)
    {
      g_autoptr(TbNnTensor) x = tb_nn_tensor_new (dims + 2, 1, 1, dims == 3 ? ct->nz : 1, ct->ny, ct->nx);
      for (int z = 0; z < x->d; z++)
        for (int y = 0; y < ct->ny; y++)
          for (int xx = 0; xx < ct->nx; xx++)
            x->data[((gsize) z * ct->ny + y) * ct->nx + xx] =
              (float) ((tb_volume_get (ct, xx, y, dims == 3 ? z : sl) - 0.0) / 1200.0);
      const TbNnTensor *y = tb_nn_net_forward (net, x, TRUE, &error);
      g_assert_no_error (error);
      TbNnTensor *keep = tb_nn_tensor_new_like (y);
      memcpy (keep->data, y->data, tb_nn_tensor_size (y) * sizeof (float));
      g_ptr_array_add (ref, keep);
    }
  for (int mode = 0; mode < 3; mode++)
    {
      TbNnEnhanceParams p;
      tb_nn_enhance_params_init (&p);
      if (mode == 1)
        p.patch = 4;
      if (mode == 2)
        p.memory_mb = 1;
      int ticks = 0;
      g_autoptr(TbVolume) out = tb_nn_enhance (net, ct, box, &p, NULL, count_ticks, &ticks, &error);
      g_assert_no_error (error);
      int slices = dims == 3 ? 1 : box->nz;
      if (mode == 0)   /* the box as one tile (per slice) */
        g_assert_cmpint (ticks, ==, slices);
      else
        g_assert_cmpint (ticks, >=, 2 * slices);
      g_assert_cmpint (out->nx, ==, box->nx * s);
      g_assert_cmpint (out->nz, ==, box->nz * sz);
      gsize diff = 0;
      for (int z = 0; z < out->nz; z++)
        for (int y = 0; y < out->ny; y++)
          for (int x = 0; x < out->nx; x++)
            {
              const TbNnTensor *r = ref->pdata[dims == 3 ? 0 : box->z0 + z];
              int rz = dims == 3 ? box->z0 * s + z : 0;
              float want = r->data[((gsize) rz * r->h + box->y0 * s + y) * r->w + box->x0 * s + x];
              float got = out->data[tb_volume_index (out, x, y, z)];
              diff += memcmp (&want, &got, sizeof (float)) != 0;
            }
      g_test_message ("%d-D box, mode %d, %d tiles: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " voxels differ", dims,
                      mode, ticks, diff, tb_volume_n_voxels (out));
      g_assert_cmpuint (diff, ==, 0);
    }
}

static void
test_box_whole_ct_2d (void)
{
  int size[3] = { 100, 87, 3 };
  TbBox inside = { 21, 17, 1, 60, 50, 2 }, corner = { 0, 40, 0, 61, 47, 1 };
  check_box_whole_ct (2, size, &inside);
  check_box_whole_ct (2, size, &corner);
}

static void
test_box_whole_ct_3d (void)
{
  int size[3] = { 40, 37, 33 };
  TbBox inside = { 11, 10, 9, 20, 17, 16 }, corner = { 22, 0, 15, 18, 19, 18 };
  check_box_whole_ct (3, size, &inside);
  check_box_whole_ct (3, size, &corner);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/enhance/tile-exact-2d", test_tile_exact_2d);
  g_test_add_func ("/nn/enhance/tile-exact-3d", test_tile_exact_3d);
  g_test_add_func ("/nn/enhance/box-whole-ct-2d", test_box_whole_ct_2d);
  g_test_add_func ("/nn/enhance/box-whole-ct-3d", test_box_whole_ct_3d);
  g_test_add_func ("/nn/enhance/quilt-seams", test_quilt_seams);
  g_test_add_func ("/nn/enhance/quilt-enhance", test_quilt_enhance);
  g_test_add_func ("/nn/enhance/cut-brute-force", test_cut_brute_force);
  g_test_add_func ("/nn/enhance/cut-planted", test_cut_planted);
  g_test_add_func ("/nn/enhance/cut-cells", test_cut_cells);
  g_test_add_func ("/nn/enhance/cut-seams", test_cut_seams);
  g_test_add_func ("/nn/enhance/cut-enhance", test_cut_enhance);
  g_test_add_func ("/nn/enhance/box", test_box);
  g_test_add_func ("/nn/enhance/refusals", test_refusals);
  g_test_add_func ("/nn/enhance/cancel", test_cancel);
  return g_test_run ();
}
