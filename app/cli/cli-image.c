/* cli-image.c — reading, writing and number parsing shared by the image subcommands. */
#include "cli-image.h"

#include <math.h>
#include <string.h>

gboolean
tb_cli_parse_doubles (const char *text, double *out, int n)
{
  if (text == NULL)
    return FALSE;
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  if ((int) g_strv_length (parts) != n)
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      char *end = NULL;
      const char *s = g_strstrip (parts[i]);
      out[i] = g_ascii_strtod (s, &end);
      if (*s == '\0' || end == NULL || *end != '\0' || !isfinite (out[i]))
        return FALSE;
    }
  return TRUE;
}

gboolean
tb_cli_parse_ints (const char *text, int *out, int n)
{
  double d[16];
  g_return_val_if_fail (n <= 16, FALSE);
  if (!tb_cli_parse_doubles (text, d, n))
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      if (d[i] != floor (d[i]) || fabs (d[i]) > G_MAXINT)
        return FALSE;
      out[i] = (int) d[i];
    }
  return TRUE;
}

gboolean
tb_cli_parse_spacing (const char *text, double out[3])
{
  if (text == NULL)
    return FALSE;
  if (strchr (text, ',') == NULL)
    {
      if (!tb_cli_parse_doubles (text, out, 1))
        return FALSE;
      out[1] = out[2] = out[0];
    }
  else if (!tb_cli_parse_doubles (text, out, 3))
    return FALSE;
  return out[0] > 0 && out[1] > 0 && out[2] > 0;
}

TbVolume *
tb_cli_read (const char *command, const char *path, const double *fallback_spacing, TbIoInfo *info)
{
  TbIoReadOptions opts = { { 0, 0, 0 }, tb_cli_progress, NULL };
  if (fallback_spacing != NULL)
    memcpy (opts.fallback_spacing, fallback_spacing, sizeof opts.fallback_spacing);
  g_autoptr(GError) error = NULL;
  TbVolume *v = tb_io_read (path, &opts, info, NULL, &error);
  if (v == NULL)
    tb_cli_fail (command, error);
  return v;
}

gboolean
tb_cli_input_spacing (const char *command, const char *text, double out[3], int *status)
{
  if (text == NULL)
    return TRUE;
  if (tb_cli_parse_spacing (text, out))
    return TRUE;
  *status = tb_cli_usage (command, "--input-spacing wants S or SX,SY,SZ in mm (positive numbers), not '%s'", text);
  return FALSE;
}

int
tb_cli_write (const char *command, const char *path, const TbVolume *v, const char *type_name)
{
  TbIoPixelType type = TB_IO_PIXEL_FLOAT32;
  if (type_name != NULL && (!tb_io_pixel_type_from_name (type_name, &type)
                            || (type != TB_IO_PIXEL_FLOAT32 && type != TB_IO_PIXEL_UINT16 && type != TB_IO_PIXEL_UINT8)))
    return tb_cli_usage (command, "--type must be float32, uint16 or uint8, not '%s'", type_name);
  g_autoptr(GError) error = NULL;
  if (!tb_io_write (path, v, type, &error))
    return tb_cli_fail (command, error);
  g_print ("wrote %s: %d x %d x %d voxels of %g x %g x %g mm, %s\n", path, v->nx, v->ny, v->nz,
           v->spacing[0], v->spacing[1], v->spacing[2], tb_io_pixel_type_name (type));
  return TB_CLI_OK;
}
