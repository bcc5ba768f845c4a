/* cli-enhance-nn.c — `trabecula-cli enhance --method nn IN OUT`: a CT/QCT volume (HU) through a trained
 * generator, patch by patch, stitched by overlap-tile (exact), minimum-error seams or seam surfaces,
 * or blending.
 * Ctrl-C cancels within one patch or tile and writes nothing. */
#include "cli-image.h"
#include "nn/tb-nn.h"

#include <math.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  interrupted = 1;
}

static void
enhance_progress (double fraction, const char *message, gpointer user_data)
{
  if (interrupted)
    g_cancellable_cancel (user_data);
  tb_cli_progress (fraction, message, NULL);
}

/* bounding box of the mask's non-zero voxels */
static gboolean
mask_box (const TbMask *m, TbBox *box)
{
  int lo[3] = { G_MAXINT, G_MAXINT, G_MAXINT }, hi[3] = { -1, -1, -1 };
  for (int z = 0; z < m->nz; z++)
    for (int y = 0; y < m->ny; y++)
      for (int x = 0; x < m->nx; x++)
        if (m->data[((gsize) z * m->ny + y) * m->nx + x])
          {
            int c[3] = { x, y, z };
            for (int a = 0; a < 3; a++)
              {
                lo[a] = MIN (lo[a], c[a]);
                hi[a] = MAX (hi[a], c[a]);
              }
          }
  if (hi[0] < 0)
    return FALSE;
  *box = (TbBox) { lo[0], lo[1], lo[2], hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1 };
  return TRUE;
}

int
tb_cli_enhance_nn (int argc, char **argv)
{
  g_autofree char *model = NULL, *voi = NULL, *slices = NULL, *mask_path = NULL, *stitch = NULL, *type = NULL,
                  *input_spacing = NULL;
  gboolean resample = FALSE;
  int scale = 0;
  TbNnEnhanceParams p;
  tb_nn_enhance_params_init (&p);
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (safetensors), e.g. app/models/srresnet2d-x8.safetensors", "FILE" },
    { "voi", 0, 0, G_OPTION_ARG_STRING, &voi, "Voxel box to enhance: first voxel and size", "X0,Y0,Z0,NX,NY,NZ" },
    { "slices", 0, 0, G_OPTION_ARG_STRING, &slices, "Slice range along z, first and last (inclusive)", "Z0,Z1" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path, "Bone mask (same grid): its bounding box, 0 outside it", "FILE" },
    { "stitch", 's', 0, G_OPTION_ARG_STRING, &stitch, "tile (default, exact), quilt (minimum-error seams, per slice in 3-D), cut (minimum-error seam surfaces) or blend", "HOW" },
    { "patch", 0, 0, G_OPTION_ARG_INT, &p.patch, "Tile (tile: the whole box within --memory-mb) or patch (quilt, blend: 96) side in input voxels", "N" },
    { "memory-mb", 0, 0, G_OPTION_ARG_INT, &p.memory_mb, "Tile: activation memory one tile may take, 0 no limit (512)", "MB" },
    { "overlap", 0, 0, G_OPTION_ARG_INT, &p.overlap, "Halo (tile) or overlap (quilt, blend) in input voxels (auto)", "N" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale, "Expected scale factor: refuse a model with another", "N" },
    { "resample", 0, 0, G_OPTION_ARG_NONE, &resample, "Resample the input to the model's voxel size when it differs", NULL },
    { "type", 't', 0, G_OPTION_ARG_STRING, &type, "Output type for TIFF: float32 (default), uint16, uint8", "TYPE" },
    TB_CLI_INPUT_SPACING_ENTRY (input_spacing),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("IN OUT — enhance a CT volume (HU) with a trained network");
  g_option_context_set_description (ctx, "The output holds the network's bone fraction at spacing / scale (2-D models: "
                                         "x and y only). Give at most one of --voi, --slices, --mask.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 3 || model == NULL)
    return tb_cli_usage ("enhance", "expected --model FILE, IN and OUT");
  if ((voi != NULL) + (slices != NULL) + (mask_path != NULL) > 1)
    return tb_cli_usage ("enhance", "give at most one of --voi, --slices, --mask");
  if (stitch == NULL || strcmp (stitch, "tile") == 0)
    p.stitch = TB_NN_STITCH_TILE;
  else if (strcmp (stitch, "quilt") == 0)
    p.stitch = TB_NN_STITCH_QUILT;
  else if (strcmp (stitch, "blend") == 0)
    p.stitch = TB_NN_STITCH_BLEND;
  else if (strcmp (stitch, "cut") == 0)
    p.stitch = TB_NN_STITCH_CUT;
  else
    return tb_cli_usage ("enhance", "--stitch is tile, quilt, cut or blend, not '%s'", stitch);
  int b[6] = { 0 };
  if (voi != NULL && !tb_cli_parse_ints (voi, b, 6))
    return tb_cli_usage ("enhance", "--voi wants six integers X0,Y0,Z0,NX,NY,NZ");
  if (slices != NULL && !tb_cli_parse_ints (slices, b, 2))
    return tb_cli_usage ("enhance", "--slices wants Z0,Z1");
  double fallback[3];
  int status = TB_CLI_OK;
  if (!tb_cli_input_spacing ("enhance", input_spacing, fallback, &status))
    return status;

  g_autoptr(GError) error = NULL;
  g_autoptr(TbNnNet) net = tb_nn_net_load (model, &error);
  if (net == NULL)
    return tb_cli_fail ("enhance", error);
  const TbNnArch *arch = tb_nn_net_get_arch (net);
  if (scale > 0 && scale != arch->scale)
    {
      g_set_error (&error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "%s upscales by %d, not by the %d asked for", model, arch->scale, scale);
      return tb_cli_fail ("enhance", error);
    }
  g_autoptr(TbVolume) ct = tb_cli_read ("enhance", argv[1], input_spacing ? fallback : NULL, NULL);
  if (ct == NULL)
    return TB_CLI_INPUT;
  g_autoptr(TbMask) mask = NULL;
  if (mask_path != NULL)
    {
      mask = tb_io_read_mask (mask_path, NULL, NULL, NULL, &error);
      if (mask == NULL)
        return tb_cli_fail ("enhance", error);
      if (mask->nx != ct->nx || mask->ny != ct->ny || mask->nz != ct->nz)
        {
          g_set_error (&error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH, "The mask is %dx%dx%d, the image %dx%dx%d: not the same grid",
                       mask->nx, mask->ny, mask->nz, ct->nx, ct->ny, ct->nz);
          return tb_cli_fail ("enhance", error);
        }
    }
  double want = tb_nn_net_get_meta_double (net, "input_spacing_mm", 0.0);
  if (resample && want > 0.0)
    {
      double sp[3] = { want, want, arch->dims == 3 ? want : ct->spacing[2] };
      gboolean differs = FALSE;
      for (int a = 0; a < 3; a++)
        differs |= fabs (sp[a] - ct->spacing[a]) > 0.02 * sp[a];
      if (differs)
        {
          if (voi != NULL || mask != NULL)
            return tb_cli_usage ("enhance", "--resample works on whole images or --slices; resample first for a VOI or mask");
          g_printerr ("enhance: resampling %.4g x %.4g x %.4g mm to %.4g x %.4g x %.4g mm\n",
                      ct->spacing[0], ct->spacing[1], ct->spacing[2], sp[0], sp[1], sp[2]);
          TbVolume *r = tb_volume_resample (ct, sp, &error);
          if (r == NULL)
            return tb_cli_fail ("enhance", error);
          tb_volume_unref (ct);
          ct = r;
        }
    }
  TbBox box = { 0, 0, 0, ct->nx, ct->ny, ct->nz };
  if (voi != NULL)
    box = (TbBox) { b[0], b[1], b[2], b[3], b[4], b[5] };
  else if (slices != NULL)
    box = (TbBox) { 0, 0, b[0], ct->nx, ct->ny, b[1] - b[0] + 1 };
  else if (mask != NULL && !mask_box (mask, &box))
    return tb_cli_usage ("enhance", "the mask %s is empty", mask_path);

  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  struct sigaction sa = { 0 };
  sa.sa_handler = on_sigint;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  g_autoptr(TbVolume) out = tb_nn_enhance (net, ct, &box, &p, cancel, enhance_progress, cancel, &error);
  if (out == NULL)
    return tb_cli_fail ("enhance", error);
  if (mask != NULL)
    {
      int sc[3] = { out->nx / box.nx, out->ny / box.ny, out->nz / box.nz };
      for (int z = 0; z < out->nz; z++)
        for (int y = 0; y < out->ny; y++)
          for (int x = 0; x < out->nx; x++)
            {
              int mx = box.x0 + x / sc[0], my = box.y0 + y / sc[1], mz = box.z0 + z / sc[2];
              if (!mask->data[((gsize) mz * mask->ny + my) * mask->nx + mx])
                out->data[tb_volume_index (out, x, y, z)] = 0.0f;
            }
    }
  return tb_cli_write ("enhance", argv[2], out, type);
}
