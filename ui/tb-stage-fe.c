/* tb-stage-fe.c — the whole-bone FE step under the document's load cases, the hip presets, and what
 * the TO step loads its VOI with: the localized model of a VOI cut out of the solved bone, or the
 * apparent stress the bone carries through it. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "tb-stage-fe.h"
#include "phantom/tb-phantom.h"

static void
normalize (double v[3])
{
  double n = sqrt (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  if (n > 0)
    for (int a = 0; a < 3; a++)
      v[a] /= n;
}

gboolean
tb_stage_add_hip_presets (TbDocument *doc, GError **error)
{
  TbPhantom *phantom = tb_document_get_phantom (doc);
  if (phantom == NULL)
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE,
                           _("The hip presets need femur landmarks: open the demo femur, or add forces by hand"));
      return FALSE;
    }
  TbFemurLandmarks lm;
  tb_phantom_get_landmarks (phantom, &lm);
  /* lateral = frontal normal x shaft axis (+y x +z = +x) */
  const double *ax = lm.shaft_axis, *fn = lm.frontal_normal;
  double lat[3] = { fn[1] * ax[2] - fn[2] * ax[1], fn[2] * ax[0] - fn[0] * ax[2], fn[0] * ax[1] - fn[1] * ax[0] };
  normalize (lat);
  /* the FE stage's cases (Carter, Orr & Fyhrie 1989; Beaupré, Orr & Carter 1990) and its directions:
   * the joint force points distally, tilted laterally by its angle; the abductor proximally, medially */
  guint n_cases;
  const TbFeHipCase *hip_cases = tb_fe_hip_cases_default (&n_cases);
  tb_document_begin_edit (doc, _("Hip load presets"));
  for (guint c = 0; c < n_cases; c++)
    {
      guint ci = tb_document_add_load_case (doc, hip_cases[c].name, hip_cases[c].weight);
      double a = hip_cases[c].joint_angle * G_PI / 180, b = hip_cases[c].abductor_angle * G_PI / 180;
      TbDocLoad joint = { .kind = TB_LOAD_FORCE, .radius = 0.5 * lm.head_radius };
      TbDocLoad abductor = { .kind = TB_LOAD_FORCE, .radius = 5 };
      for (int k = 0; k < 3; k++)
        {
          /* joint: pushes the head distally and laterally; abductor: pulls medially and proximally */
          double d = -cos (a) * ax[k] + sin (a) * lat[k];
          joint.vector[k] = hip_cases[c].joint_force * d;
          abductor.vector[k] = hip_cases[c].abductor_force * (cos (b) * ax[k] - sin (b) * lat[k]);
          abductor.point[k] = lm.greater_trochanter[k];
        }
      double dir[3] = { joint.vector[0], joint.vector[1], joint.vector[2] };
      normalize (dir);
      for (int k = 0; k < 3; k++)
        joint.point[k] = lm.head_centre[k] - dir[k] * lm.head_radius;   /* where the force enters */
      TbDocLoad support = { .kind = TB_LOAD_SUPPORT, .radius = 20 };
      memcpy (support.point, lm.shaft_distal, sizeof support.point);
      tb_document_add_load (doc, ci, &joint);
      tb_document_add_load (doc, ci, &abductor);
      tb_document_add_load (doc, ci, &support);
    }
  tb_document_end_edit (doc);
  return TRUE;
}

/* The solved whole bone, kept on the document for the TO step. */
struct _TbWholeBone
{
  gatomicrefcount ref_count;
  TbFeSolver *solver;
  TbVolume *grid;          /* the (coarsened) density the model was built from: its geometry */
  int coarsen;             /* grid voxels are coarsen^3 blocks of the density's voxels ... */
  int offset[3];           /* ... starting at this density voxel */
  double e0;
  GArray *cases;           /* the load cases it was solved under (TbDocLoadCase copies) */
  int n_cases;
  double weights[16];
};

TbWholeBone *
tb_whole_bone_ref (TbWholeBone *wb)
{
  g_atomic_ref_count_inc (&wb->ref_count);
  return wb;
}

void
tb_whole_bone_unref (TbWholeBone *wb)
{
  if (wb == NULL || !g_atomic_ref_count_dec (&wb->ref_count))
    return;
  g_clear_pointer (&wb->solver, tb_fe_solver_free);
  g_clear_pointer (&wb->grid, tb_volume_unref);
  g_clear_pointer (&wb->cases, tb_stage_free_load_cases);
  g_free (wb);
}

/* Load cases copied for a worker */

static GArray *
copy_cases (GArray *from)
{
  GArray *cases = g_array_new (FALSE, FALSE, sizeof (TbDocLoadCase));
  for (guint c = 0; c < from->len; c++)
    {
      const TbDocLoadCase *lc = &g_array_index (from, TbDocLoadCase, c);
      TbDocLoadCase copy = { g_strdup (lc->name), lc->weight, g_array_copy (lc->loads) };
      g_array_append_val (cases, copy);
    }
  return cases;
}

GArray *
tb_stage_copy_load_cases (TbDocument *doc)
{
  double scale = tb_document_get_setting (doc, "fe-body-scale", 1);
  GArray *cases = g_array_new (FALSE, FALSE, sizeof (TbDocLoadCase));
  for (guint c = 0; c < tb_document_get_n_load_cases (doc); c++)
    {
      const TbDocLoadCase *lc = tb_document_get_load_case (doc, c);
      TbDocLoadCase copy = { g_strdup (lc->name), lc->weight, g_array_copy (lc->loads) };
      for (guint l = 0; l < copy.loads->len; l++)
        for (int a = 0; a < 3; a++)
          g_array_index (copy.loads, TbDocLoad, l).vector[a] *= scale;
      g_array_append_val (cases, copy);
    }
  return cases;
}

void
tb_stage_free_load_cases (GArray *cases)
{
  for (guint c = 0; cases != NULL && c < cases->len; c++)
    {
      TbDocLoadCase *lc = &g_array_index (cases, TbDocLoadCase, c);
      g_free (lc->name);
      g_array_unref (lc->loads);
    }
  if (cases != NULL)
    g_array_unref (cases);
}

gboolean
tb_stage_load_cases_same_weights (GArray *a, GArray *b)
{
  if (a == NULL || b == NULL || a->len != b->len)
    return FALSE;
  for (guint c = 0; c < a->len; c++)
    if (g_array_index (a, TbDocLoadCase, c).weight != g_array_index (b, TbDocLoadCase, c).weight)
      return FALSE;
  return TRUE;
}

gboolean
tb_stage_load_cases_same_loads (GArray *a, GArray *b)
{
  if (a == NULL || b == NULL || a->len != b->len)
    return FALSE;
  for (guint c = 0; c < a->len; c++)
    {
      GArray *la = g_array_index (a, TbDocLoadCase, c).loads, *lb = g_array_index (b, TbDocLoadCase, c).loads;
      if (la->len != lb->len)
        return FALSE;
      for (guint l = 0; l < la->len; l++)
        {
          const TbDocLoad *x = &g_array_index (la, TbDocLoad, l), *y = &g_array_index (lb, TbDocLoad, l);
          if (x->kind != y->kind || x->radius != y->radius)
            return FALSE;
          for (int k = 0; k < 3; k++)
            if (x->point[k] != y->point[k] || x->vector[k] != y->vector[k])
              return FALSE;
        }
    }
  return TRUE;
}

TbWholeBone *
tb_stage_get_whole_bone (TbDocument *doc)
{
  return g_object_get_data (G_OBJECT (doc), "tb-whole-bone");
}

/* The elements (of density > 0.3: bone) whose centre lies within radius of p, at least the nearest. */
static GArray *
bone_elements_near (const TbVolume *g, const double p[3], double radius)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gsize));
  double ijk[3];
  tb_volume_world_to_voxel (g, p, ijk);
  double r = MAX (radius, 0.75 * g->spacing[0]);
  int reach[3];
  for (int a = 0; a < 3; a++)
    reach[a] = (int) ceil (r / g->spacing[a]) + 1;
  int n[3] = { g->nx, g->ny, g->nz };
  int lo[3], hi[3];
  for (int a = 0; a < 3; a++)
    {
      lo[a] = MAX (0, (int) floor (ijk[a]) - reach[a]);
      hi[a] = MIN (n[a] - 1, (int) ceil (ijk[a]) + reach[a]);
    }
  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      for (int i = lo[0]; i <= hi[0]; i++)
        {
          double w[3];
          tb_volume_voxel_to_world (g, i, j, k, w);
          double d = sqrt ((w[0] - p[0]) * (w[0] - p[0]) + (w[1] - p[1]) * (w[1] - p[1]) + (w[2] - p[2]) * (w[2] - p[2]));
          gsize e = tb_volume_index (g, i, j, k);
          if (d <= r && g->data[e] > 0.3f)
            g_array_append_val (out, e);
        }
  return out;
}

typedef struct {
  TbDocument *doc;
  TbVolume *rho;
  TbMask *mask;
  GArray *cases;          /* TbDocLoadCase copies */
  double e0;
  TbWholeBone *result;
  double seconds;
} FeJob;

static void
fe_job_free (FeJob *f)
{
  g_clear_object (&f->doc);
  g_clear_pointer (&f->rho, tb_volume_unref);
  g_clear_pointer (&f->mask, tb_mask_unref);
  g_clear_pointer (&f->cases, tb_stage_free_load_cases);
  g_clear_pointer (&f->result, tb_whole_bone_unref);
  g_free (f);
}

/* The FE grid: the density cropped to the bone's bounding box (plus one voxel: the air around a
 * femur holds no load and would only slow the solver), coarsened by box means to at most ~30k
 * elements so the solve takes seconds on two cores; the apparent stresses a VOI needs vary on the
 * scale of the bone, not of a voxel. */
static TbVolume *
coarse_density (const TbVolume *rho, const TbMask *mask, int *coarsen, int offset[3], GError **error)
{
  int lo[3] = { rho->nx, rho->ny, rho->nz }, hi[3] = { -1, -1, -1 };
  for (int k = 0; k < rho->nz; k++)
    for (int j = 0; j < rho->ny; j++)
      for (int i = 0; i < rho->nx; i++)
        if (mask->data[tb_volume_index (rho, i, j, k)])
          {
            int p[3] = { i, j, k };
            for (int a = 0; a < 3; a++)
              {
                lo[a] = MIN (lo[a], p[a]);
                hi[a] = MAX (hi[a], p[a]);
              }
          }
  if (hi[0] < 0)
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                           _("The bone mask is empty: segment the image again"));
      return NULL;
    }
  int n[3] = { rho->nx, rho->ny, rho->nz }, size[3];
  for (int a = 0; a < 3; a++)
    {
      lo[a] = MAX (lo[a] - 1, 0);
      hi[a] = MIN (hi[a] + 1, n[a] - 1);
      size[a] = hi[a] - lo[a] + 1;
    }
  double count = (double) size[0] * size[1] * size[2];
  int f = MAX (1, (int) ceil (cbrt (count / 3e4)));
  for (int a = 0; a < 3; a++)
    size[a] -= size[a] % f;
  TbBox box = { lo[0], lo[1], lo[2], size[0], size[1], size[2] };
  *coarsen = f;
  memcpy (offset, lo, sizeof lo);
  g_autoptr(TbVolume) cropped = tb_volume_crop (rho, &box, error);
  if (cropped == NULL)
    return NULL;
  return f == 1 ? g_steal_pointer (&cropped) : tb_volume_downscale (cropped, f, f, f, error);
}

/* The whole bone on grid under the load cases: its model, and the solver with the solution. */
static TbWholeBone *
whole_bone_solve (TbVolume *grid, int coarsen, const int offset[3], double e0, GArray *cases,
                  GCancellable *cancellable, TbProgressFunc progress, gpointer user_data, GError **error)
{
  TbVolume *g = grid;
  g_autoptr(TbFeModel) model = tb_fe_model_new (g->nx, g->ny, g->nz, g->spacing, error);
  if (model == NULL)
    return NULL;
  double origin[3];
  for (int a = 0; a < 3; a++)
    origin[a] = g->origin[a] - g->spacing[a] / 2;   /* node 0 sits at the first voxel's corner */
  tb_fe_model_set_origin (model, origin);
  /* SIMP with p = 2 for the whole bone's apparent behaviour (as the TO stage's localized model) */
  if (!tb_fe_model_set_material (model, e0, e0 * 1e-6, 0.3, 2.0, error)
      || !tb_fe_model_set_density (model, g->data, error))
    return NULL;
  /* the air and soft tissue around the bone out of the model, as the TO stage does */
  tb_fe_model_trim_surroundings (model, TB_WHOLE_BONE_TRIM_RHO, TB_WHOLE_BONE_HALO);
  for (guint c = 0; c < cases->len; c++)
    {
      TbDocLoadCase *lc = &g_array_index (cases, TbDocLoadCase, c);
      int id = tb_fe_model_add_load_case (model, lc->name, lc->weight);
      for (guint l = 0; l < lc->loads->len; l++)
        {
          TbDocLoad *load = &g_array_index (lc->loads, TbDocLoad, l);
          g_autoptr(GArray) els = bone_elements_near (g, load->point, load->radius);
          /* a point on the bone's surface may fall in a partial-volume element of the coarse grid:
           * reach up to two elements further before calling it off the bone */
          for (int grow = 1; els->len == 0 && grow <= 2; grow++)
            {
              g_array_unref (els);
              els = bone_elements_near (g, load->point, MAX (load->radius, 0.75 * g->spacing[0]) + grow * g->spacing[0]);
            }
          if (els->len == 0)
            {
              g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                           _("The %s at (%.1f, %.1f, %.1f) mm in “%s” touches no bone: move it onto the bone"),
                           load->kind == TB_LOAD_FORCE ? _("force") : _("support"),
                           load->point[0], load->point[1], load->point[2], lc->name);
              return NULL;
            }
          for (guint e = 0; e < els->len; e++)
            {
              gsize el = g_array_index (els, gsize, e);
              int i = el % g->nx, j = (el / g->nx) % g->ny, k = el / ((gsize) g->nx * g->ny);
              for (int corner = 0; corner < 8; corner++)
                {
                  gsize node = tb_fe_model_node (model, i + (corner & 1), j + ((corner >> 1) & 1), k + (corner >> 2));
                  if (load->kind == TB_LOAD_SUPPORT)
                    tb_fe_model_fix (model, node, TB_FE_XYZ);
                  else
                    {
                      /* the patch's force, shared evenly by its elements' corners */
                      double fv[3] = { load->vector[0] / (8.0 * els->len), load->vector[1] / (8.0 * els->len),
                                       load->vector[2] / (8.0 * els->len) };
                      tb_fe_model_add_force (model, id, node, fv);
                    }
                }
            }
        }
    }
  TbFeSettings fs;
  tb_fe_settings_init (&fs);
  fs.rtol = 1e-6;   /* apparent stresses to 6 digits are ample for loading a VOI */
  g_autoptr(TbFeSolver) solver = tb_fe_solver_new (model, &fs, error);
  if (solver == NULL || !tb_fe_solve (solver, cancellable, progress, user_data, error))
    return NULL;
  TbWholeBone *wb = g_new0 (TbWholeBone, 1);
  g_atomic_ref_count_init (&wb->ref_count);
  wb->solver = g_steal_pointer (&solver);
  wb->grid = tb_volume_ref (grid);
  wb->coarsen = coarsen;
  memcpy (wb->offset, offset, sizeof wb->offset);
  wb->e0 = e0;
  wb->cases = copy_cases (cases);
  wb->n_cases = MIN ((int) cases->len, 16);
  for (int c = 0; c < wb->n_cases; c++)
    wb->weights[c] = g_array_index (cases, TbDocLoadCase, c).weight;
  return wb;
}

TbWholeBone *
tb_whole_bone_resolve (TbWholeBone *wb, GArray *cases, GCancellable *cancellable, TbProgressFunc progress,
                       gpointer user_data, GError **error)
{
  return whole_bone_solve (wb->grid, wb->coarsen, wb->offset, wb->e0, cases, cancellable, progress, user_data, error);
}

static gboolean
fe_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  FeJob *f = data;
  gint64 t0 = g_get_monotonic_time ();
  int coarsen, offset[3];
  g_autoptr(TbVolume) g = coarse_density (f->rho, f->mask, &coarsen, offset, error);
  if (g == NULL)
    return FALSE;
  f->result = whole_bone_solve (g, coarsen, offset, f->e0, f->cases, cancellable, tb_job_progress_func, job, error);
  if (f->result == NULL)
    return FALSE;
  f->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return TRUE;
}

static void
fe_done (TbJob *job, gpointer data, const GError *error)
{
  FeJob *f = data;
  if (error != NULL)
    return;
  GString *s = g_string_new (NULL);
  TbFeModel *m = tb_fe_solver_get_model (f->result->solver);
  g_string_append_printf (s, _("%zu elements of %.2g mm, %.1f s; compliance"),
                          (size_t) tb_fe_model_n_elements (m), f->result->grid->spacing[0], f->seconds);
  for (int c = 0; c < f->result->n_cases; c++)
    {
      TbFeCaseStats st;
      tb_fe_solver_get_stats (f->result->solver, c, &st);
      g_string_append_printf (s, " %.3g", st.compliance);
    }
  g_string_append (s, _(" N·mm"));
  g_object_set_data_full (G_OBJECT (f->doc), "tb-whole-bone", g_steal_pointer (&f->result),
                          (GDestroyNotify) tb_whole_bone_unref);
  tb_document_set_fe_done (f->doc, TRUE, s->str);
  tb_document_set_note (f->doc, TB_STEP_FE, s->str);
  g_string_free (s, TRUE);
}

TbJob *
tb_stage_job_fe (TbDocument *doc, GError **error)
{
  g_autofree char *need = NULL;
  if (!tb_stage_can_run (doc, TB_STEP_FE, &need))
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, need);
      return NULL;
    }
  FeJob *f = g_new0 (FeJob, 1);
  f->doc = g_object_ref (doc);
  f->rho = tb_volume_ref (tb_document_get_density (doc));
  f->mask = tb_mask_ref (tb_document_get_mask (doc));
  f->e0 = tb_document_get_setting (doc, "fe-e0", 15000);
  f->cases = tb_stage_copy_load_cases (doc);
  return tb_job_new (_("Whole-bone FE"), fe_work, NULL, fe_done, f, (GDestroyNotify) fe_job_free);
}

/* Apparent stress of a box (world centre/size, the part inside the FE grid) of the solved bone, load
 * case lc: the volume average of each element's stress at its centre (trilinear hex: dN/dx = (2a - 1) / (4 h) there; isotropic
 * Hooke's law with the element's SIMP modulus). Order sxx, syy, szz, sxy, syz, sxz (MPa). */
/* The grid voxels whose centres lie in the box, clipped to the grid (a VOI may reach past the bone's
 * bounding box, which the FE grid is); FALSE when nothing is left. */
static gboolean
box_in_grid (const TbVolume *g, const double centre[3], const double size[3], TbBox *box, GError **error)
{
  int lo[3], n[3] = { g->nx, g->ny, g->nz }, cnt[3];
  for (int d = 0; d < 3; d++)
    {
      double first = (centre[d] - 0.5 * size[d] - g->origin[d]) / g->spacing[d];
      int a = (int) ceil (first - 1e-9), b = a + MAX (1, (int) lround (size[d] / g->spacing[d]));
      lo[d] = MAX (a, 0);
      cnt[d] = MIN (b, n[d]) - lo[d];
      if (cnt[d] < 1)
        {
          g_set_error (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_INVALID,
                       _("The VOI at (%.1f, %.1f, %.1f) mm lies outside the whole-bone FE model: move it onto the bone"),
                       centre[0], centre[1], centre[2]);
          return FALSE;
        }
    }
  *box = (TbBox) { lo[0], lo[1], lo[2], cnt[0], cnt[1], cnt[2] };
  return TRUE;
}

gboolean
tb_whole_bone_apparent_stress (TbWholeBone *wb, const double centre[3], const double size[3], int lc,
                               double stress[6], GError **error)
{
  TbBox box;
  if (!box_in_grid (wb->grid, centre, size, &box, error))
    return FALSE;
  TbFeModel *m = tb_fe_solver_get_model (wb->solver);
  const double *u = tb_fe_solver_get_displacement (wb->solver, lc);
  const double *h = wb->grid->spacing;
  double nu = 0.3, sum[6] = { 0 };
  gsize count = 0;
  for (int k = box.z0; k < box.z0 + box.nz; k++)
    for (int j = box.y0; j < box.y0 + box.ny; j++)
      for (int i = box.x0; i < box.x0 + box.nx; i++)
        {
          double g[3][3] = { { 0 } };   /* g[c][d] = d u_c / d x_d */
          for (int corner = 0; corner < 8; corner++)
            {
              int a = corner & 1, b = (corner >> 1) & 1, c = corner >> 2;
              gsize node = tb_fe_model_node (m, i + a, j + b, k + c);
              double dn[3] = { (2 * a - 1) / (4 * h[0]), (2 * b - 1) / (4 * h[1]), (2 * c - 1) / (4 * h[2]) };
              for (int comp = 0; comp < 3; comp++)
                for (int d = 0; d < 3; d++)
                  g[comp][d] += u[node * 3 + comp] * dn[d];
            }
          double E = tb_fe_model_element_modulus (m, tb_volume_index (wb->grid, i, j, k));
          double lam = E * nu / ((1 + nu) * (1 - 2 * nu)), mu = E / (2 * (1 + nu));
          double tr = g[0][0] + g[1][1] + g[2][2];
          sum[0] += lam * tr + 2 * mu * g[0][0];
          sum[1] += lam * tr + 2 * mu * g[1][1];
          sum[2] += lam * tr + 2 * mu * g[2][2];
          sum[3] += mu * (g[0][1] + g[1][0]);
          sum[4] += mu * (g[1][2] + g[2][1]);
          sum[5] += mu * (g[0][2] + g[2][0]);
          count++;
        }
  for (int s = 0; s < 6; s++)
    stress[s] = sum[s] / MAX (count, 1);
  return TRUE;
}

/* The localized model (paper 000; Kim et al. 2016): the VOI cut out of the solved whole bone with the
 * forces the rest of the bone exerts on its boundary (tb_fe_localize). The FE grid's elements are
 * coarsen^3 blocks of the density's voxels, so the VOI becomes the FE elements whose centres lie in
 * the box, and each is split into upscale x coarsen sub-elements per axis: the density's voxels
 * split by upscale, as the run's rho0 (the clinical voxels of clinical_box) is. */
TbFeModel *
tb_whole_bone_localize (TbWholeBone *wb, const double centre[3], const double size[3], int upscale,
                        TbBox *clinical_box, GError **error)
{
  TbBox g;
  if (!tb_box_from_world (wb->grid, centre, size, &g, error))
    return NULL;
  TbFeModel *model = tb_fe_localize (wb->solver, &g, upscale * wb->coarsen, error);
  if (model == NULL)
    return NULL;
  int f = wb->coarsen;
  *clinical_box = (TbBox) { wb->offset[0] + g.x0 * f, wb->offset[1] + g.y0 * f, wb->offset[2] + g.z0 * f,
                            g.nx * f, g.ny * f, g.nz * f };
  return model;
}

double tb_whole_bone_get_fe_spacing (TbWholeBone *wb) { return wb->grid->spacing[0]; }
GArray *tb_whole_bone_get_cases (TbWholeBone *wb) { return wb->cases; }
int tb_whole_bone_get_n_cases (TbWholeBone *wb) { return wb->n_cases; }
const double *tb_whole_bone_get_weights (TbWholeBone *wb) { return wb->weights; }
