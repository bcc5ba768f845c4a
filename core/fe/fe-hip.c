/* fe-hip.c — the classic proximal-femur load cases on a whole-bone voxel model.
 *
 * Magnitudes and angles: Carter, Orr & Fyhrie 1989 (J Biomech 22:231) as used by Beaupre, Orr &
 * Carter 1990 (J Orthop Res 8:662) and by Jang & Kim for the localized model of paper 000: a joint
 * reaction force on the femoral head and an abductor force on the greater trochanter, in the frontal
 * plane, angles measured from the shaft axis; weights from 6000 / 2000 / 2000 daily cycles.
 * Directions (force ON the femur): joint force points distally, tilted laterally by its angle
 * (negative: medially); abductor force points proximally, tilted medially by its angle.
 */
#include "fe-private.h"

#include <string.h>

static const TbFeHipCase default_cases[] = {
  { "one-legged stance", 2317.0, 24.0, 703.0, 28.0, 0.6 },
  { "abduction", 1158.0, -15.0, 351.0, -8.0, 0.2 },
  { "adduction", 1548.0, 56.0, 468.0, 35.0, 0.2 },
};

const TbFeHipCase *
tb_fe_hip_cases_default (guint *n_cases)
{
  if (n_cases != NULL)
    *n_cases = G_N_ELEMENTS (default_cases);
  return default_cases;
}

static gboolean
unit (const double v[3], double out[3])
{
  double n = sqrt (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  if (!(n > 0) || !isfinite (n))
    return FALSE;
  for (int a = 0; a < 3; a++)
    out[a] = v[a] / n;
  return TRUE;
}

static void
node_world (const TbFeModel *m, gsize n, double x[3])
{
  int i = n % m->nn[0], j = (n / m->nn[0]) % m->nn[1], k = n / ((gsize) m->nn[0] * m->nn[1]);
  x[0] = m->origin[0] + i * m->h[0];
  x[1] = m->origin[1] + j * m->h[1];
  x[2] = m->origin[2] + k * m->h[2];
}

/* bone nodes (touching an element with rho >= 0.1 max) and surface bone nodes (also touching a
 * non-bone element or the grid's edge) */
static void
classify_nodes (const TbFeModel *m, guint8 *bone, guint8 *surface)
{
  float rmax = 0;
  for (gsize e = 0; e < m->n_el; e++)
    rmax = MAX (rmax, m->rho[e]);
  g_autofree guint8 *soft = g_new0 (guint8, m->n_nodes);
  memset (bone, 0, m->n_nodes);
  for (gsize e = 0; e < m->n_el; e++)
    {
      gsize nodes[8];
      tb_fe_element_nodes (m, e, nodes);
      gboolean b = m->rho[e] >= 0.1f * rmax;
      for (int a = 0; a < 8; a++)
        {
          if (b) bone[nodes[a]] = 1;
          else soft[nodes[a]] = 1;
        }
    }
  for (gsize n = 0; n < m->n_nodes; n++)
    {
      int i = n % m->nn[0], j = (n / m->nn[0]) % m->nn[1], k = n / ((gsize) m->nn[0] * m->nn[1]);
      gboolean edge = i == 0 || j == 0 || k == 0 || i == m->nn[0] - 1 || j == m->nn[1] - 1 || k == m->nn[2] - 1;
      surface[n] = bone[n] && (soft[n] || edge);
    }
}

/* spread force F over the surface bone nodes within radius r of point p; FALSE if none */
static gsize
add_patch (TbFeModel *m, int lc, const guint8 *surface, const double p[3], double r, const double F[3])
{
  GArray *hit = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize n = 0; n < m->n_nodes; n++)
    {
      if (!surface[n])
        continue;
      double x[3];
      node_world (m, n, x);
      double d2 = 0;
      for (int a = 0; a < 3; a++)
        d2 += (x[a] - p[a]) * (x[a] - p[a]);
      if (d2 <= r * r)
        g_array_append_val (hit, n);
    }
  gsize cnt = hit->len;
  for (guint q = 0; q < hit->len; q++)
    {
      double f[3] = { F[0] / cnt, F[1] / cnt, F[2] / cnt };
      tb_fe_model_add_force (m, lc, g_array_index (hit, gsize, q), f);
    }
  g_array_free (hit, TRUE);
  return cnt;
}

gboolean
tb_fe_model_add_hip_loads (TbFeModel *m, const TbFemurLandmarks *lm, const TbFeHipCase *cases, guint n_cases,
                           double patch_radius, double fixed_length, GError **error)
{
  g_return_val_if_fail (m != NULL && lm != NULL, FALSE);
  if (cases == NULL)
    cases = tb_fe_hip_cases_default (&n_cases);
  double up[3], nrm[3], lat[3];
  if (m->dim != 3 || !unit (lm->shaft_axis, up) || !unit (lm->frontal_normal, nrm) || !(lm->head_radius > 0))
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID,
                   "hip loads need a 3D model and landmarks with a shaft axis, a frontal-plane normal and a head radius");
      return FALSE;
    }
  double l0[3] = { nrm[1] * up[2] - nrm[2] * up[1], nrm[2] * up[0] - nrm[0] * up[2], nrm[0] * up[1] - nrm[1] * up[0] };
  if (!unit (l0, lat))
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "hip loads: the shaft axis lies along the frontal normal");
      return FALSE;
    }
  double rj = patch_radius > 0 ? patch_radius : 0.5 * lm->head_radius;
  double ra = patch_radius > 0 ? patch_radius : MAX (6.0, 2.0 * m->h[0]);
  double fl = fixed_length > 0 ? fixed_length : MAX (5.0, 2.0 * m->h[2]);
  g_autofree guint8 *bone = g_new (guint8, m->n_nodes), *surface = g_new (guint8, m->n_nodes);
  classify_nodes (m, bone, surface);
  /* supports: bone nodes within fl of the distal cut along the shaft */
  gsize n_fixed = 0;
  for (gsize n = 0; n < m->n_nodes; n++)
    {
      if (!bone[n])
        continue;
      double x[3], s = 0;
      node_world (m, n, x);
      for (int a = 0; a < 3; a++)
        s += (x[a] - lm->shaft_distal[a]) * up[a];
      if (s <= fl)
        {
          tb_fe_model_fix (m, n, TB_FE_XYZ);
          n_fixed++;
        }
    }
  if (n_fixed == 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE,
                   "hip loads: no bone within %g mm of the distal shaft cut (%g, %g, %g): is the model the whole "
                   "proximal femur, and is its origin set?", fl, lm->shaft_distal[0], lm->shaft_distal[1], lm->shaft_distal[2]);
      return FALSE;
    }
  for (guint c = 0; c < n_cases; c++)
    {
      const TbFeHipCase *hc = &cases[c];
      double tj = hc->joint_angle * G_PI / 180, ta = hc->abductor_angle * G_PI / 180;
      double dj[3], da[3], pj[3], Fj[3], Fa[3];
      for (int a = 0; a < 3; a++)
        {
          dj[a] = -cos (tj) * up[a] + sin (tj) * lat[a];
          da[a] = cos (ta) * up[a] - sin (ta) * lat[a];
          pj[a] = lm->head_centre[a] - lm->head_radius * dj[a];  /* where the force enters the head */
          Fj[a] = hc->joint_force * dj[a];
          Fa[a] = hc->abductor_force * da[a];
        }
      int lc = tb_fe_model_add_load_case (m, hc->name, hc->weight);
      gsize nj = add_patch (m, lc, surface, pj, rj, Fj);
      gsize na = add_patch (m, lc, surface, lm->greater_trochanter, ra, Fa);
      if (nj == 0 || na == 0)
        {
          g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE,
                       "hip load case \"%s\": no bone surface within %g mm of the %s (%g, %g, %g); check the landmarks "
                       "and the model origin", hc->name, nj == 0 ? rj : ra, nj == 0 ? "femoral head contact point" :
                       "greater trochanter", nj == 0 ? pj[0] : lm->greater_trochanter[0],
                       nj == 0 ? pj[1] : lm->greater_trochanter[1], nj == 0 ? pj[2] : lm->greater_trochanter[2]);
          return FALSE;
        }
    }
  return TRUE;
}
