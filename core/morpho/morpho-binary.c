/* morpho-binary.c — the error domain, and turning a "binary" image into a mask, refusing
 * anything that is not binary (a grey image passed by mistake would give meaningless numbers). */
#include "tb-morpho.h"

#include <math.h>

G_DEFINE_QUARK (tb-morpho-error-quark, tb_morpho_error)

TbMask *
tb_morpho_binarize (const TbVolume *v, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Collect up to 8 distinct values: enough to say what was found. */
  float found[8];
  int n_found = 0;
  gboolean more = FALSE;
  gsize n = tb_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    {
      float x = v->data[i];
      int f;
      for (f = 0; f < n_found; f++)
        if (found[f] == x || (isnan (x) && isnan (found[f])))
          break;
      if (f < n_found)
        continue;
      if (n_found == G_N_ELEMENTS (found))
        {
          more = TRUE;
          break;
        }
      found[n_found++] = x;
    }

  float one = 0.0f;
  gboolean ok = !more;
  for (int f = 0; f < n_found && ok; f++)
    {
      float x = found[f];
      if (x == 0.0f)
        continue;
      if ((x == 1.0f || x == 255.0f || x == 127.0f) && (one == 0.0f || one == x))
        one = x;
      else
        ok = FALSE;
    }
  if (!ok)
    {
      GString *s = g_string_new (NULL);
      for (int f = 0; f < n_found; f++)
        g_string_append_printf (s, "%s%g", f ? ", " : "", (double) found[f]);
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_NOT_BINARY,
                   "The image is not binary: it holds the values %s%s; a binary image holds 0 and "
                   "one of 1, 255 or 127. Segment it first (e.g. trabecula-cli segment)",
                   s->str, more ? ", ..." : "");
      g_string_free (s, TRUE);
      return NULL;
    }

  TbMask *m = tb_mask_new_like_volume (v, error);
  if (m == NULL)
    return NULL;
#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n; i++)
    m->data[i] = v->data[i] != 0.0f;
  return m;
}

double
tb_morpho_area_fraction (const TbMask *m, const TbMask *tv, int z)
{
  g_return_val_if_fail (m != NULL && z >= 0 && z < m->nz, NAN);
  gsize plane = (gsize) m->nx * m->ny, off = plane * z;
  guint64 bone = 0, total = 0;
  for (gsize p = 0; p < plane; p++)
    {
      if (tv != NULL && tv->data[off + p] == 0)
        continue;
      total++;
      bone += m->data[off + p] != 0;
    }
  return total ? (double) bone / (double) total : NAN;
}
