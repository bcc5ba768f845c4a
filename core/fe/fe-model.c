/* fe-model.c — the voxel model: grid, material, supports, load cases, and K x matrix-free. */
#include "fe-private.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (tb-fe-error-quark, tb_fe_error)

guint64
tb_fe_model_estimate_memory (int nx, int ny, int nz, int n_load_cases)
{
  int dim = nz <= 1 ? 2 : 3;
  guint64 nodes = (guint64) (nx + 1) * (ny + 1) * (dim == 3 ? nz + 1 : 1);
  guint64 dofs = nodes * dim, els = (guint64) nx * ny * MAX (nz, 1);
  guint64 cases = MAX (n_load_cases, 1);
  /* fine: ~12 work vectors, u/f/prescribed per case, rho + E per element, flags;
   * level 1 stencil: nodes/2^dim * (3^dim * dim^2) floats, summed in doubles while it is built, the rest
   * of the hierarchy ~1/7 more. Load cases solved together need ~10 more fine vectors each, but the
   * solver batches only as many as the memory left allows (fe-solver.c, batch_size). */
  guint64 coarse = nodes / (dim == 3 ? 8 : 4) * (dim == 3 ? 243 : 36) * 8;
  return dofs * (12 * 8 + 1) + cases * dofs * 24 + els * 12 + coarse * 8 / 7;
}

TbFeModel *
tb_fe_model_new (int nx, int ny, int nz, const double h[3], GError **error)
{
  g_return_val_if_fail (h != NULL, NULL);
  if (nx < 1 || ny < 1 || nz < 1)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID,
                   "FE grid %d x %d x %d: every dimension must be at least 1 element", nx, ny, nz);
      return NULL;
    }
  for (int a = 0; a < (nz == 1 ? 2 : 3); a++)
    if (!(h[a] > 0) || !isfinite (h[a]))
      {
        g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID,
                     "FE element size %g mm along axis %d: it must be positive", h[a], a);
        return NULL;
      }
  guint64 need = tb_fe_model_estimate_memory (nx, ny, nz, 1);
  if (need > tb_memory_available ())
    {
      g_autofree char *s = g_format_size (need);
      g_autofree char *av = g_format_size (tb_memory_available ());
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_TOO_LARGE,
                   "FE model %d x %d x %d needs about %s but only %s is available: "
                   "crop or downscale the volume", nx, ny, nz, s, av);
      return NULL;
    }
  TbFeModel *m = g_new0 (TbFeModel, 1);
  m->ref_count = 1;
  m->dim = nz == 1 ? 2 : 3;
  m->n[0] = nx; m->n[1] = ny; m->n[2] = nz;
  m->nn[0] = nx + 1; m->nn[1] = ny + 1; m->nn[2] = m->dim == 3 ? nz + 1 : 1;
  m->h[0] = h[0]; m->h[1] = h[1]; m->h[2] = m->dim == 3 ? h[2] : 1.0;
  m->E0 = 1.0; m->Emin = 1e-9; m->nu = 0.3; m->penal = 3.0; m->thickness = 1.0;
  m->n_el = (gsize) nx * ny * nz;
  m->n_nodes = (gsize) m->nn[0] * m->nn[1] * m->nn[2];
  m->n_dofs = m->n_nodes * m->dim;
  m->nen = m->dim == 2 ? 4 : 8;
  m->nke = m->nen * m->dim;
  m->rho = g_new (float, m->n_el);
  for (gsize e = 0; e < m->n_el; e++)
    m->rho[e] = 1.0f;
  m->fixed = g_new0 (guint8, m->n_dofs);
  m->cases = g_ptr_array_new ();
  tb_fe_element_stiffness (m->dim, m->h, m->nu, m->thickness, m->K0);
  return m;
}

TbFeModel *
tb_fe_model_new_from_volume (const TbVolume *v, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  TbFeModel *m = tb_fe_model_new (v->nx, v->ny, v->nz, v->spacing, error);
  if (m == NULL)
    return NULL;
  if (!tb_fe_model_set_density (m, v->data, error))
    {
      tb_fe_model_unref (m);
      return NULL;
    }
  double o[3];
  for (int a = 0; a < 3; a++)
    o[a] = v->origin[a] - v->spacing[a] / 2;
  tb_fe_model_set_origin (m, o);
  return m;
}

TbFeModel *
tb_fe_model_ref (TbFeModel *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_atomic_int_inc (&m->ref_count);
  return m;
}

void
tb_fe_model_unref (TbFeModel *m)
{
  if (m == NULL || !g_atomic_int_dec_and_test (&m->ref_count))
    return;
  for (guint i = 0; i < m->cases->len; i++)
    {
      TbFeLoadCase *lc = g_ptr_array_index (m->cases, i);
      g_free (lc->name);
      g_free (lc->f);
      g_free (lc->u_pres);
      g_free (lc);
    }
  g_ptr_array_free (m->cases, TRUE);
  g_free (m->rho);
  g_free (m->outside);
  g_free (m->fixed);
  g_free (m->spring);
  g_free (m);
}

gboolean
tb_fe_model_set_material (TbFeModel *m, double E0, double Emin, double nu, double penal, GError **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  if (!(E0 > 0) || !(Emin >= 0) || !(Emin <= E0) || !(nu > -1 && nu < 0.5) || !(penal >= 1) || !isfinite (E0))
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID,
                   "FE material E0 = %g, Emin = %g, nu = %g, penal = %g: need E0 > 0, 0 <= Emin <= E0, "
                   "-1 < nu < 0.5 and penal >= 1", E0, Emin, nu, penal);
      return FALSE;
    }
  m->E0 = E0; m->Emin = Emin; m->nu = nu; m->penal = penal;
  tb_fe_element_stiffness (m->dim, m->h, m->nu, m->thickness, m->K0);
  m->stamp++;
  return TRUE;
}

void
tb_fe_model_set_thickness (TbFeModel *m, double t)
{
  g_return_if_fail (m != NULL && t > 0);
  m->thickness = t;
  tb_fe_element_stiffness (m->dim, m->h, m->nu, m->thickness, m->K0);
  m->stamp++;
}

void
tb_fe_model_set_origin (TbFeModel *m, const double origin[3])
{
  g_return_if_fail (m != NULL && origin != NULL);
  memcpy (m->origin, origin, sizeof m->origin);
}

gboolean
tb_fe_model_set_density (TbFeModel *m, const float *rho, GError **error)
{
  g_return_val_if_fail (m != NULL && rho != NULL, FALSE);
  for (gsize e = 0; e < m->n_el; e++)
    if (!(rho[e] >= 0.0f && rho[e] <= 1.0f))
      {
        g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_NONFINITE,
                     "FE density of element %" G_GSIZE_FORMAT " is %g: densities must be finite and in [0, 1]",
                     e, (double) rho[e]);
        return FALSE;
      }
  memcpy (m->rho, rho, m->n_el * sizeof (float));
  g_clear_pointer (&m->outside, g_free);   /* a trim belongs to the densities it was made for */
  m->stamp++;
  return TRUE;
}

const float *tb_fe_model_get_density (const TbFeModel *m) { return m->rho; }
int tb_fe_model_get_dim (const TbFeModel *m) { return m->dim; }
gsize tb_fe_model_n_elements (const TbFeModel *m) { return m->n_el; }
gsize tb_fe_model_n_nodes (const TbFeModel *m) { return m->n_nodes; }
gsize tb_fe_model_n_dofs (const TbFeModel *m) { return m->n_dofs; }
const double *tb_fe_model_reference_stiffness (const TbFeModel *m) { return m->K0; }

void
tb_fe_model_get_dims (const TbFeModel *m, int n[3], double h[3])
{
  for (int a = 0; a < 3; a++)
    {
      if (n != NULL) n[a] = m->n[a];
      if (h != NULL) h[a] = m->h[a];
    }
}

gsize
tb_fe_model_node (const TbFeModel *m, int i, int j, int k)
{
  return (gsize) i + (gsize) m->nn[0] * ((gsize) j + (gsize) m->nn[1] * (gsize) k);
}

double
tb_fe_model_element_modulus (const TbFeModel *m, gsize e)
{
  g_return_val_if_fail (e < m->n_el, 0.0);
  return tb_fe_element_modulus_at (m, e);
}

void
tb_fe_element_nodes (const TbFeModel *m, gsize e, gsize nodes[8])
{
  gsize ei = e % m->n[0], ej = (e / m->n[0]) % m->n[1], ek = e / ((gsize) m->n[0] * m->n[1]);
  gsize base = tb_fe_model_node (m, ei, ej, ek);
  for (int a = 0; a < m->nen; a++)
    nodes[a] = base + (a & 1) + (gsize) m->nn[0] * (((a >> 1) & 1) + (gsize) m->nn[1] * ((a >> 2) & 1));
}

/* the elements around a node (up to 8; fewer on the grid's faces), returns how many */
int
tb_fe_node_elements (const TbFeModel *m, gsize node, gsize els[8])
{
  gsize i = node % m->nn[0], j = (node / m->nn[0]) % m->nn[1], k = node / ((gsize) m->nn[0] * m->nn[1]);
  int n = 0;
  for (int dk = 0; dk < (m->dim == 3 ? 2 : 1); dk++)
    for (int dj = 0; dj < 2; dj++)
      for (int di = 0; di < 2; di++)
        {
          if (i < (gsize) di || j < (gsize) dj || k < (gsize) dk)
            continue;
          gsize ei = i - di, ej = j - dj, ek = k - dk;
          if (ei >= (gsize) m->n[0] || ej >= (gsize) m->n[1] || ek >= (gsize) m->n[2])
            continue;
          els[n++] = ei + (gsize) m->n[0] * (ej + (gsize) m->n[1] * ek);
        }
  return n;
}

void
tb_fe_element_gather (const TbFeModel *m, gsize e, const double *u, double *ue)
{
  gsize nodes[8];
  tb_fe_element_nodes (m, e, nodes);
  for (int a = 0; a < m->nen; a++)
    for (int c = 0; c < m->dim; c++)
      ue[a * m->dim + c] = u[nodes[a] * m->dim + c];
}

/* Supports */
void
tb_fe_model_fix (TbFeModel *m, gsize node, guint components)
{
  g_return_if_fail (m != NULL && node < m->n_nodes);
  for (int c = 0; c < m->dim; c++)
    if (components & (1u << c))
      m->fixed[node * m->dim + c] = 1;
  m->stamp++;
}

void
tb_fe_model_fix_plane (TbFeModel *m, TbAxis axis, int index, guint components)
{
  g_return_if_fail (m != NULL && axis >= 0 && axis < (TbAxis) m->dim);
  g_return_if_fail (index >= 0 && index < m->nn[axis]);
  for (int k = 0; k < m->nn[2]; k++)
    for (int j = 0; j < m->nn[1]; j++)
      for (int i = 0; i < m->nn[0]; i++)
        {
          int ijk[3] = { i, j, k };
          if (ijk[axis] == index)
            tb_fe_model_fix (m, tb_fe_model_node (m, i, j, k), components);
        }
}

void
tb_fe_model_add_spring (TbFeModel *m, gsize node, int component, double k)
{
  g_return_if_fail (m != NULL && node < m->n_nodes && component >= 0 && component < m->dim && k >= 0);
  if (m->spring == NULL)
    m->spring = g_new0 (double, m->n_dofs);
  m->spring[node * m->dim + component] += k;
  m->stamp++;
}

void
tb_fe_model_clear_supports (TbFeModel *m)
{
  memset (m->fixed, 0, m->n_dofs);
  g_clear_pointer (&m->spring, g_free);
  for (guint i = 0; i < m->cases->len; i++)
    g_clear_pointer (&((TbFeLoadCase *) g_ptr_array_index (m->cases, i))->u_pres, g_free);
  m->stamp++;
}

gboolean
tb_fe_model_is_constrained (const TbFeModel *m, gsize dof)
{
  g_return_val_if_fail (dof < m->n_dofs, FALSE);
  return m->fixed[dof] != 0;
}

/* Load cases */
int
tb_fe_model_add_load_case (TbFeModel *m, const char *name, double weight)
{
  g_return_val_if_fail (m != NULL, -1);
  TbFeLoadCase *lc = g_new0 (TbFeLoadCase, 1);
  lc->name = g_strdup (name != NULL ? name : "load");
  lc->weight = weight;
  lc->f = g_new0 (double, m->n_dofs);
  g_ptr_array_add (m->cases, lc);
  m->stamp++;
  return (int) m->cases->len - 1;
}

int tb_fe_model_n_load_cases (const TbFeModel *m) { return (int) m->cases->len; }

static TbFeLoadCase *
get_case (const TbFeModel *m, int lc)
{
  g_return_val_if_fail (lc >= 0 && lc < (int) m->cases->len, NULL);
  return g_ptr_array_index (m->cases, lc);
}

const char *
tb_fe_model_load_case_name (const TbFeModel *m, int lc)
{
  TbFeLoadCase *c = get_case (m, lc);
  return c != NULL ? c->name : NULL;
}

double
tb_fe_model_load_case_weight (const TbFeModel *m, int lc)
{
  TbFeLoadCase *c = get_case (m, lc);
  return c != NULL ? c->weight : 0.0;
}

const double *
tb_fe_model_get_forces (const TbFeModel *m, int lc)
{
  TbFeLoadCase *c = get_case (m, lc);
  return c != NULL ? c->f : NULL;
}

void
tb_fe_model_prescribe (TbFeModel *m, int lc, gsize node, int component, double value)
{
  TbFeLoadCase *c = get_case (m, lc);
  g_return_if_fail (c != NULL && node < m->n_nodes && component >= 0 && component < m->dim);
  if (c->u_pres == NULL)
    c->u_pres = g_new0 (double, m->n_dofs);
  c->u_pres[node * m->dim + component] = value;
  m->fixed[node * m->dim + component] = 1;
  m->stamp++;
}

void
tb_fe_model_add_force (TbFeModel *m, int lc, gsize node, const double f[3])
{
  TbFeLoadCase *c = get_case (m, lc);
  g_return_if_fail (c != NULL && node < m->n_nodes);
  for (int a = 0; a < m->dim; a++)
    c->f[node * m->dim + a] += f[a];
}

void
tb_fe_model_add_traction (TbFeModel *m, int lc, gsize e, TbFeFace face, const double t[3])
{
  g_return_if_fail (m != NULL && e < m->n_el && (int) face < 2 * m->dim);
  int axis = face / 2, side = face % 2;
  double area;
  if (m->dim == 2)
    area = m->h[1 - axis] * m->thickness;
  else
    area = m->h[(axis + 1) % 3] * m->h[(axis + 2) % 3];
  /* uniform traction on a bilinear face: each of its nodes takes a quarter (half in 2D), exactly */
  int nface = m->dim == 2 ? 2 : 4;
  gsize nodes[8];
  tb_fe_element_nodes (m, e, nodes);
  for (int a = 0; a < m->nen; a++)
    if (((a >> axis) & 1) == side)
      {
        double f[3];
        for (int c = 0; c < 3; c++)
          f[c] = t[c] * area / nface;
        tb_fe_model_add_force (m, lc, nodes[a], f);
      }
}

void
tb_fe_model_add_pressure (TbFeModel *m, int lc, gsize e, TbFeFace face, double p)
{
  double t[3] = { 0, 0, 0 };
  int axis = face / 2;
  /* outward normal is -axis on the min face, +axis on the max face; pressure pushes inward */
  t[axis] = (face % 2 == 0) ? p : -p;
  tb_fe_model_add_traction (m, lc, e, face, t);
}

double *
tb_fe_model_moduli (const TbFeModel *m)
{
  double *E = g_new (double, m->n_el);
#pragma omp parallel for schedule(static)
  for (gsize e = 0; e < m->n_el; e++)
    E[e] = tb_fe_element_modulus_at (m, e);
  return E;
}

void
tb_fe_model_apply_stiffness (const TbFeModel *m, const double *x, double *y)
{
  g_return_if_fail (m != NULL && x != NULL && y != NULL);
  g_autofree double *E = tb_fe_model_moduli (m);
  tb_fe_apply_kernel (m, E, x, y, 0);
}
