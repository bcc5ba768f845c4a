/* fe-export.c — the model as a CalculiX / Abaqus input deck, to check Trabecula in another solver.
 * Node order: C3D8 / CPS4 number the bottom face counter-clockwise, then the top face (Abaqus manual,
 * "Three-dimensional solid element library"); our local node a = ax + 2ay + 4az maps as below.
 * ccx reads at most 20 characters per field, so numbers are written with 15 significant digits.
 * C3D8 is the fully integrated trilinear brick (2x2x2 Gauss), the same element as ours. */
#include "fe-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static const int ccx_order[8] = { 0, 1, 3, 2, 4, 5, 7, 6 };

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

gboolean
tb_fe_export_ccx (const TbFeModel *m, const char *path, int n_bins, GError **error)
{
  g_return_val_if_fail (m != NULL && path != NULL, FALSE);
  if (n_bins <= 0)
    n_bins = 1000;
  /* materials: one per distinct modulus when there are at most n_bins of them (exact), else n_bins
   * equal-width density bins, each with the modulus of its mean density */
  g_autofree double *E = tb_fe_model_moduli (m);
  g_autofree double *sorted = g_memdup2 (E, m->n_el * sizeof (double));
  qsort (sorted, m->n_el, sizeof (double), cmp_double);
  gsize n_distinct = 0;
  for (gsize e = 0; e < m->n_el; e++)
    if (e == 0 || sorted[e] != sorted[e - 1])
      sorted[n_distinct++] = sorted[e];
  gboolean exact = n_distinct <= (gsize) n_bins;
  int n_mat = exact ? (int) n_distinct : n_bins;
  g_autofree int *mat = g_new (int, m->n_el);
  g_autofree double *mat_E = g_new0 (double, n_mat);
  if (exact)
    {
      for (gsize e = 0; e < m->n_el; e++)
        {
          double *p = bsearch (&E[e], sorted, n_distinct, sizeof (double), cmp_double);
          mat[e] = (int) (p - sorted);
        }
      memcpy (mat_E, sorted, n_distinct * sizeof (double));
    }
  else
    {
      g_autofree double *sum = g_new0 (double, n_mat);
      g_autofree gsize *cnt = g_new0 (gsize, n_mat);
      for (gsize e = 0; e < m->n_el; e++)
        {
          int b = MIN ((int) (m->rho[e] * n_bins), n_bins - 1);
          mat[e] = b;
          sum[b] += m->rho[e];
          cnt[b]++;
        }
      for (int b = 0; b < n_mat; b++)
        mat_E[b] = tb_fe_simp (m, (float) (cnt[b] ? sum[b] / cnt[b] : (b + 0.5) / n_bins));
    }

  if (m->outside != NULL)   /* trimmed away (fe-trim.c): not part of the model */
    for (gsize e = 0; e < m->n_el; e++)
      if (m->outside[e])
        mat[e] = -1;

  g_autofree char *tmp = g_strdup_printf ("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_IO, "cannot write %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  FILE *f = fdopen (fd, "w");
  int dim = m->dim;
  fprintf (f, "** Trabecula FE export: %d x %d x %d %s elements, %" G_GSIZE_FORMAT " nodes, units mm N MPa\n",
           m->n[0], m->n[1], m->n[2], dim == 3 ? "C3D8" : "CPS4", m->n_nodes);
  fprintf (f, "** materials: %s\n", exact ? "one per distinct modulus (exact)" : "density bins (approximate)");
  fprintf (f, "*HEADING\nTrabecula voxel model\n*NODE, NSET=NALL\n");
  for (int k = 0; k < m->nn[2]; k++)
    for (int j = 0; j < m->nn[1]; j++)
      for (int i = 0; i < m->nn[0]; i++)
        {
          gsize n = tb_fe_model_node (m, i, j, k);
          if (dim == 3)
            fprintf (f, "%" G_GSIZE_FORMAT ", %.15g, %.15g, %.15g\n", n + 1, m->origin[0] + i * m->h[0],
                     m->origin[1] + j * m->h[1], m->origin[2] + k * m->h[2]);
          else
            fprintf (f, "%" G_GSIZE_FORMAT ", %.15g, %.15g\n", n + 1, m->origin[0] + i * m->h[0],
                     m->origin[1] + j * m->h[1]);
        }
  for (int b = 0; b < n_mat; b++)
    {
      gboolean any = FALSE;
      for (gsize e = 0; e < m->n_el && !any; e++)
        any = mat[e] == b;
      if (!any)
        continue;
      fprintf (f, "*ELEMENT, TYPE=%s, ELSET=EM%d\n", dim == 3 ? "C3D8" : "CPS4", b + 1);
      for (gsize e = 0; e < m->n_el; e++)
        if (mat[e] == b)
          {
            gsize nodes[8];
            tb_fe_element_nodes (m, e, nodes);
            fprintf (f, "%" G_GSIZE_FORMAT, e + 1);
            for (int a = 0; a < m->nen; a++)
              fprintf (f, ", %" G_GSIZE_FORMAT, nodes[dim == 3 ? ccx_order[a] : ccx_order[a]] + 1);
            fprintf (f, "\n");
          }
      fprintf (f, "*MATERIAL, NAME=M%d\n*ELASTIC\n%.15g, %.15g\n", b + 1, mat_E[b], m->nu);
      if (dim == 3)
        fprintf (f, "*SOLID SECTION, ELSET=EM%d, MATERIAL=M%d\n", b + 1, b + 1);
      else
        fprintf (f, "*SOLID SECTION, ELSET=EM%d, MATERIAL=M%d\n%.15g\n", b + 1, b + 1, m->thickness);
    }
  if (m->spring != NULL)
    {
      /* one grounded SPRING1 element per spring DOF */
      gsize id = m->n_el + 1;
      for (gsize d = 0; d < m->n_dofs; d++)
        if (m->spring[d] > 0)
          {
            fprintf (f, "*ELEMENT, TYPE=SPRING1, ELSET=ES%" G_GSIZE_FORMAT "\n%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT "\n",
                     id, id, d / dim + 1);
            fprintf (f, "*SPRING, ELSET=ES%" G_GSIZE_FORMAT "\n%d\n%.15g\n", id, (int) (d % dim) + 1, m->spring[d]);
            id++;
          }
    }
  for (guint lc = 0; lc < m->cases->len; lc++)
    {
      TbFeLoadCase *C = g_ptr_array_index (m->cases, lc);
      fprintf (f, "** load case %u: %s (weight %g)\n*STEP\n*STATIC\n*BOUNDARY, OP=NEW\n", lc + 1, C->name, C->weight);
      for (gsize d = 0; d < m->n_dofs; d++)
        if (m->fixed[d])
          fprintf (f, "%" G_GSIZE_FORMAT ", %d, %d, %.15g\n", d / dim + 1, (int) (d % dim) + 1, (int) (d % dim) + 1,
                   C->u_pres != NULL ? C->u_pres[d] : 0.0);
      fprintf (f, "*CLOAD, OP=NEW\n");
      for (gsize d = 0; d < m->n_dofs; d++)
        if (C->f[d] != 0)
          fprintf (f, "%" G_GSIZE_FORMAT ", %d, %.15g\n", d / dim + 1, (int) (d % dim) + 1, C->f[d]);
      fprintf (f, "*NODE PRINT, NSET=NALL\nU\n*NODE PRINT, NSET=NALL\nRF\n*NODE FILE\nU\n*END STEP\n");
    }
  gboolean ok = !ferror (f);
  ok = (fclose (f) == 0) && ok;
  if (!ok || g_rename (tmp, path) != 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_IO, "cannot write %s: %s", path, g_strerror (errno));
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}
