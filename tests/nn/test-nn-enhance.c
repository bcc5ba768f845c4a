/* test-nn-enhance.c — patchwise inference: overlap-tile is bit-identical to one whole-image pass
 * (2-D and 3-D nets; a box to one plain pass over the whole CT, in any tiling), minimum-error seams are invisible (gradient energy across the seam bands within
 * 10 % of inside the patches), a spacing mismatch and bad settings are refused, cancel stops. */
#include "nn/tb-nn.h"
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
  g_test_add_func ("/nn/enhance/box", test_box);
  g_test_add_func ("/nn/enhance/refusals", test_refusals);
  g_test_add_func ("/nn/enhance/cancel", test_cancel);
  return g_test_run ();
}
