/* nn-arch.c — the architectures a model file can name, built from the layers. Tensor names are
 * those of the PyTorch modules in tests/nn/make_reference.py (state_dict keys). */
#include "nn-private.h"

#include <string.h>

static int
conv_relu (TbNnNet *net, int in, const char *name, int cin, int cout)
{
  int c = nn_net_conv (net, in, name, cin, cout, 3, 1, 1);
  return nn_net_op (net, TB_NN_RELU, c, -1, 0, 0.0f);
}

/* SR-ResNet (Ledig et al. 2017, without batch norm as in EDSR, Lim et al. 2017): a residual body at
 * the input resolution, then log2(scale) sub-pixel stages that halve the features (at least 4),
 * a 3x3 tail to one channel, plus the linearly upsampled input (the net learns the residual). */
static gboolean
build_srresnet (TbNnNet *net, const TbNnArch *a, GError **error)
{
  int F = a->features;
  int head = conv_relu (net, -1, "head", a->in_channels, F);
  int h = head;
  for (int b = 0; b < a->blocks; b++)
    {
      g_autofree char *n1 = g_strdup_printf ("body.%d.conv1", b), *n2 = g_strdup_printf ("body.%d.conv2", b);
      int c1 = conv_relu (net, h, n1, F, F);
      int c2 = nn_net_conv (net, c1, n2, F, F, 3, 1, 1);
      h = nn_net_op (net, TB_NN_ADD, c2, h, 0, 0.0f);
    }
  int bo = nn_net_conv (net, h, "body_out", F, F, 3, 1, 1);
  int x = nn_net_op (net, TB_NN_ADD, bo, head, 0, 0.0f);
  int f = F, rr = a->dims == 3 ? 8 : 4;
  for (int s = 0, sc = a->scale; sc > 1; s++, sc /= 2)
    {
      int fn = MAX (f / 2, 4);
      g_autofree char *name = g_strdup_printf ("up.%d", s);
      int c = nn_net_conv (net, x, name, f, fn * rr, 3, 1, 1);
      int p = nn_net_op (net, TB_NN_PIXEL_SHUFFLE, c, -1, 2, 0.0f);
      x = nn_net_op (net, TB_NN_RELU, p, -1, 0, 0.0f);
      f = fn;
    }
  int tail = nn_net_conv (net, x, "tail", f, 1, 3, 1, 1);
  int skip = a->scale > 1 ? nn_net_op (net, TB_NN_UPSAMPLE_LINEAR, -1, -1, a->scale, 0.0f) : -1;
  nn_net_op (net, TB_NN_ADD, tail, skip, 0, 0.0f);
  return TRUE;
}

/* U-Net (Ronneberger et al. 2015; paper 003 uses it for 2-D super-resolution): the input is first
 * linearly upsampled by scale; average pooling down, nearest upsampling + 3x3 conv up, skip concats. */
static gboolean
build_unet (TbNnNet *net, const TbNnArch *a, GError **error)
{
  int u = a->scale > 1 ? nn_net_op (net, TB_NN_UPSAMPLE_LINEAR, -1, -1, a->scale, 0.0f) : -1;
  int x = u, cin = a->in_channels;
  int enc[8] = { 0 }, ch[8] = { 0 };
  for (int l = 0; l < a->depth; l++)
    {
      ch[l] = a->features << l;
      g_autofree char *n1 = g_strdup_printf ("enc.%d.conv1", l), *n2 = g_strdup_printf ("enc.%d.conv2", l);
      int c = conv_relu (net, x, n1, cin, ch[l]);
      enc[l] = conv_relu (net, c, n2, ch[l], ch[l]);
      cin = ch[l];
      if (l < a->depth - 1)
        x = nn_net_op (net, TB_NN_AVG_POOL, enc[l], -1, 2, 0.0f);
    }
  x = enc[a->depth - 1];
  for (int l = a->depth - 2; l >= 0; l--)
    {
      g_autofree char *nu = g_strdup_printf ("dec.%d.up", l), *n1 = g_strdup_printf ("dec.%d.conv1", l),
                      *n2 = g_strdup_printf ("dec.%d.conv2", l);
      int up = nn_net_op (net, TB_NN_UPSAMPLE_NEAREST, x, -1, 2, 0.0f);
      int uc = conv_relu (net, up, nu, ch[l + 1], ch[l]);
      int cat = nn_net_op (net, TB_NN_CONCAT, uc, enc[l], 0, 0.0f);
      int c = conv_relu (net, cat, n1, 2 * ch[l], ch[l]);
      x = conv_relu (net, c, n2, ch[l], ch[l]);
    }
  int out = nn_net_conv (net, x, "out", ch[0], 1, 3, 1, 1);
  nn_net_op (net, TB_NN_ADD, out, u, 0, 0.0f);
  return TRUE;
}

/* PatchGAN (Isola et al. 2017, pix2pix): 4x4 convolutions, stride 2 then 1, LeakyReLU 0.2, no
 * normalization; each output scores one overlapping patch of the input as real or fake. */
static gboolean
build_patchgan (TbNnNet *net, const TbNnArch *a, GError **error)
{
  int x = -1, cin = a->in_channels;
  for (int i = 0; i <= a->layers; i++)
    {
      int cout = a->features * MIN (1 << i, 8);
      g_autofree char *name = g_strdup_printf ("disc.%d", i);
      int c = nn_net_conv (net, x, name, cin, cout, 4, i < a->layers ? 2 : 1, 1);
      x = nn_net_op (net, TB_NN_LEAKY_RELU, c, -1, 0, 0.2f);
      cin = cout;
    }
  nn_net_conv (net, x, "disc.out", cin, 1, 4, 1, 1);
  return TRUE;
}

gboolean
nn_net_build (TbNnNet *net, const TbNnArch *a, GError **error)
{
  gboolean scale_ok = a->scale >= 1 && a->scale <= 16 && (a->scale & (a->scale - 1)) == 0;
  if ((a->dims != 2 && a->dims != 3) || a->in_channels < 1 || a->features < 1 || !scale_ok)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                   "Architecture %s: dims %d, in_channels %d, features %d, scale %d are not valid "
                   "(dims 2 or 3, scale a power of two up to 16)", a->arch, a->dims, a->in_channels, a->features, a->scale);
      return FALSE;
    }
  if (strcmp (a->arch, "srresnet") == 0)
    {
      if (a->in_channels != 1 || a->blocks < 0)
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "srresnet needs in_channels 1 and blocks >= 0");
          return FALSE;
        }
      return build_srresnet (net, a, error);
    }
  if (strcmp (a->arch, "unet") == 0)
    {
      if (a->dims != 2 || a->in_channels != 1 || a->depth < 1 || a->depth > 6)
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "unet is 2-D with in_channels 1 and depth 1..6");
          return FALSE;
        }
      return build_unet (net, a, error);
    }
  if (strcmp (a->arch, "patchgan") == 0)
    {
      if (a->layers < 1 || a->layers > 5)
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "patchgan needs layers 1..5");
          return FALSE;
        }
      return build_patchgan (net, a, error);
    }
  g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
               "Unknown architecture '%s' (known: srresnet, unet, patchgan)", a->arch);
  return FALSE;
}
