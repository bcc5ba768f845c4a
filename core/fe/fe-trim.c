/* fe-trim.c — taking the surroundings of a bone out of a whole-bone model.
 *
 * A density map of a whole bone fills a box of which the bone is a small part (the proximal femur at
 * 0.625 mm: about 14 % of the box). At Emin the rest only costs: every CG iteration walks it, and its
 * DOFs make the problem three times larger than it is. Trimming keeps the elements within halo
 * elements of the bone (those denser than rho_bone), so the bone's surface keeps the soft layer it
 * had, and drops every piece that the halo does not join to the largest body (noise specks in the
 * air), which with no stiffness around them would float freely. The multigrid then skips the trimmed
 * space (TbFeOps.active).
 */
#include "fe-private.h"
#include "segment/tb-segment.h"

/* the dilation by a (2 halo + 1)^dim box: a running window along each axis in turn */
static void
dilate_axis (const TbFeModel *m, int axis, int halo, guint8 *a)
{
  const int n = m->n[axis];
  const gsize lines = m->n_el / n;
#pragma omp parallel
  {
    guint8 *line = g_new (guint8, n);
#pragma omp for schedule(static)
    for (gsize L = 0; L < lines; L++)
      {
        gsize stride, base = tb_grid_line_start (m->n[0], m->n[1], axis, L, &stride);
        int count = 0;   /* set entries in the window [i - halo, i + halo] */
        for (int i = 0; i < MIN (halo, n); i++)
          count += a[base + i * stride] != 0;
        for (int i = 0; i < n; i++)
          {
            if (i + halo < n)
              count += a[base + (i + halo) * stride] != 0;
            if (i - halo - 1 >= 0)
              count -= a[base + (i - halo - 1) * stride] != 0;
            line[i] = count > 0;
          }
        for (int i = 0; i < n; i++)
          a[base + i * stride] = line[i];
      }
    g_free (line);
  }
}

gsize
tb_fe_model_trim_surroundings (TbFeModel *m, float rho_bone, int halo)
{
  g_return_val_if_fail (m != NULL && halo >= 0, 0);
  const gsize ne = m->n_el;
  g_autoptr(GError) error = NULL;
  g_autoptr(TbMask) keep = tb_mask_new (m->n[0], m->n[1], m->n[2], m->h, &error);
  if (keep == NULL)
    {
      g_warning ("FE: the surroundings stay in the model: %s", error->message);
      return 0;
    }
  gsize n_bone = 0;
  for (gsize e = 0; e < ne; e++)
    n_bone += keep->data[e] = m->rho[e] > rho_bone;
  if (n_bone == 0)
    return 0;   /* no bone to keep: taking everything out would leave nothing to solve */
  for (int axis = 0; axis < m->dim; axis++)
    dilate_axis (m, axis, halo, keep->data);
  /* the largest face-connected body: label 1 (labels go by decreasing size) */
  g_autoptr(TbMask) body = tb_segment_components (keep, 6, NULL, &error);
  if (body == NULL)
    {
      g_warning ("FE: the surroundings stay in the model: %s", error->message);
      return 0;
    }
  g_clear_pointer (&m->outside, g_free);
  m->outside = g_new (guint8, ne);
  gsize n_out = 0;
  for (gsize e = 0; e < ne; e++)
    {
      m->outside[e] = body->data[e] != 1;
      n_out += m->outside[e];
    }
  if (n_out == 0)
    g_clear_pointer (&m->outside, g_free);
  m->stamp++;
  return n_out;
}

gsize
tb_fe_model_n_trimmed (const TbFeModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  gsize n = 0;
  if (m->outside != NULL)
    for (gsize e = 0; e < m->n_el; e++)
      n += m->outside[e];
  return n;
}
