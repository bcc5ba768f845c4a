/* tb-stage-topopt.c — Enhance a VOI by topology optimization, live: each iteration's density goes to
 * the document (the slice views redraw it) and its objective, constraints and design change to the
 * charts, coalesced by the job runner into one update per frame.
 *
 * The VOI's loads: the localized model of the whole-bone FE (paper 000; what `trabecula-cli enhance
 * --method to` does): the VOI cut out of the solved bone with the forces the rest of the bone exerts
 * on its boundary. When that cannot be built (the VOI reaches past the FE grid, holds no bone, ...),
 * the apparent stress the solved bone carries through the VOI, as tractions on its faces. The step's
 * summary says which.
 *
 * Pause waits between iterations. A load case's weight changed meanwhile reaches the run as is; a
 * force or support changed (its point, vector, patch) solves the whole bone again under the new loads
 * on the worker and gives the VOI model the new boundary forces: the run continues from its current
 * design under the new load (this is how a student watches the bone adapt). */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "tb-stage-fe.h"
#include "tb-chart.h"
#include "topopt/tb-topopt.h"
#include "phantom/tb-phantom.h"

#define MAX_CASES 16
#define MAX_CONSTRAINTS 16

typedef struct {
  int iteration;
  double objective, change;
  int n_constraints;
  double constraints[MAX_CONSTRAINTS];
  char *names[MAX_CONSTRAINTS];
  TbVolume *density;
} ToReport;

static void
to_report_free (ToReport *r)
{
  for (int i = 0; i < r->n_constraints; i++)
    g_free (r->names[i]);
  g_clear_pointer (&r->density, tb_volume_unref);
  g_free (r);
}

typedef enum { LOADS_LOCALIZED, LOADS_APPARENT_STRESS } LoadPath;

typedef struct {
  TbDocument *doc;
  guint voi_id;
  TbChart *charts[3];
  guint constraint_series[MAX_CONSTRAINTS];
  int n_constraint_series;
  /* inputs, copied on the main thread */
  TbVolume *rho;             /* the whole relative density */
  double voi_centre[3], voi_size[3];
  TbWholeBone *wb;           /* the solved whole bone the VOI's loads come from (the worker's after a re-solve) */
  /* the VOI's problem, built by the worker */
  LoadPath path;
  char *path_reason;         /* why the apparent stress: the localized model's error */
  TbVolume *rho0;
  TbFeModel *model;
  TbTopoptSettings settings;
  double fine_spacing[3], fine_origin[3];
  double truth_centre[3], truth_size[3];
  TbPhantom *phantom;        /* borrowed from the document; read-only and thread-safe */
  TbVolume *previous;        /* the VOI's TO result before this run, restored on failure */
  TbVolume *final, *truth;
  TbJob *job;                /* borrowed, for the worker's progress */
  int max_iterations, iterations, load_changes;
  char *load_error;          /* the last load edit that could not be applied, and why */
  char *message;
  /* edits of the load cases while it runs: the latest copy, for the worker to take */
  GMutex lock;
  GArray *pending_cases;
  gboolean pending_loads;    /* forces or supports changed, not only weights */
  GArray *seen_cases;        /* main thread: the loads the last edit left */
  gulong changed_id;
} ToJob;

static void
to_job_free (ToJob *t)
{
  if (t->changed_id != 0)
    g_signal_handler_disconnect (t->doc, t->changed_id);
  for (int i = 0; i < 3; i++)
    if (t->charts[i] != NULL)
      g_object_remove_weak_pointer (G_OBJECT (t->charts[i]), (gpointer *) &t->charts[i]);
  g_clear_object (&t->doc);
  g_clear_pointer (&t->rho, tb_volume_unref);
  g_clear_pointer (&t->wb, tb_whole_bone_unref);
  g_clear_pointer (&t->pending_cases, tb_stage_free_load_cases);
  g_clear_pointer (&t->seen_cases, tb_stage_free_load_cases);
  g_free (t->path_reason);
  g_free (t->load_error);
  g_clear_pointer (&t->rho0, tb_volume_unref);
  g_clear_pointer (&t->model, tb_fe_model_unref);
  g_clear_pointer (&t->previous, tb_volume_unref);
  g_clear_pointer (&t->final, tb_volume_unref);
  g_clear_pointer (&t->truth, tb_volume_unref);
  g_free (t->message);
  g_mutex_clear (&t->lock);
  g_free (t);
}

/* The VOI's model under the whole bone wb, by the job's load path; on the first call (path not yet
 * chosen: model NULL) the localized model when it can be built, else the apparent stress. rho0 (the
 * VOI's clinical density) is set on the first call; later calls keep the same box. */
static TbFeModel *
voi_model (ToJob *t, TbWholeBone *wb, GError **error)
{
  int n = t->settings.upscale;
  gboolean first = t->rho0 == NULL;
  if (first || t->path == LOADS_LOCALIZED)
    {
      g_autoptr(GError) local = NULL;
      TbBox box;
      TbFeModel *m = tb_whole_bone_localize (wb, t->voi_centre, t->voi_size, n, &box, &local);
      if (m != NULL && first)
        {
          t->rho0 = tb_volume_crop (t->rho, &box, error);
          if (t->rho0 == NULL)
            {
              tb_fe_model_unref (m);
              return NULL;
            }
          t->path = LOADS_LOCALIZED;
        }
      if (m != NULL || !first)
        {
          if (m == NULL)
            g_propagate_error (error, g_steal_pointer (&local));
          return m;
        }
      t->path = LOADS_APPARENT_STRESS;
      t->path_reason = g_strdup (local->message);
    }
  /* the apparent stress of the solved bone in the VOI, as tractions on its faces */
  if (first)
    {
      TbBox box;
      if (!tb_box_from_world (t->rho, t->voi_centre, t->voi_size, &box, error)
          || (t->rho0 = tb_volume_crop (t->rho, &box, error)) == NULL)
        return NULL;
    }
  int n_cases = MIN (tb_whole_bone_get_n_cases (wb), MAX_CASES);
  double stress[MAX_CASES][6];
  for (int c = 0; c < n_cases; c++)
    if (!tb_whole_bone_apparent_stress (wb, t->voi_centre, t->voi_size, c, stress[c], error))
      return NULL;
  return tb_topopt_voi_model_stress (t->rho0, n, n_cases, (const double (*)[6]) stress,
                                     tb_whole_bone_get_weights (wb), error);
}

/* The run's model takes the boundary forces of fresh (same grid, same supports): the forces are
 * changed in place, case by case, and a case the document no longer has keeps weight 0. */
static gboolean
apply_new_loads (TbTopoptRun *run, TbFeModel *fresh, GArray *cases, GError **error)
{
  TbFeModel *model = tb_topopt_run_get_model (run);
  gsize n_dofs = tb_fe_model_n_dofs (model), n_nodes = tb_fe_model_n_nodes (model);
  int have = tb_fe_model_n_load_cases (model), want = tb_fe_model_n_load_cases (fresh);
  g_autofree double *old = g_new (double, n_dofs);
  for (int lc = 0; lc < MAX (have, want); lc++)
    {
      if (lc >= have)
        tb_fe_model_add_load_case (model, tb_fe_model_load_case_name (fresh, lc), tb_fe_model_load_case_weight (fresh, lc));
      const double *f_old = tb_fe_model_get_forces (model, lc);
      memcpy (old, f_old, n_dofs * sizeof (double));
      const double *f_new = lc < want ? tb_fe_model_get_forces (fresh, lc) : NULL;
      for (gsize node = 0; node < n_nodes; node++)
        {
          double d[3] = { 0, 0, 0 };
          gboolean any = FALSE;
          for (int a = 0; a < 3; a++)
            {
              d[a] = (f_new != NULL ? f_new[node * 3 + a] : 0) - old[node * 3 + a];
              any |= d[a] != 0;
            }
          if (any)
            tb_fe_model_add_force (model, lc, node, d);
        }
    }
  if (!tb_topopt_run_model_changed (run, error))
    return FALSE;
  for (int lc = 0; lc < MAX (have, want); lc++)
    tb_topopt_run_set_weight (run, lc, lc < (int) cases->len ? g_array_index (cases, TbDocLoadCase, lc).weight : 0);
  return TRUE;
}

/* Solves the whole bone again under the edited cases and gives the run the VOI's new boundary forces. */
static gboolean
apply_load_edit (ToJob *t, TbTopoptRun *run, GArray *cases, GCancellable *cancellable, GError **error)
{
  tb_job_progress (t->job, -1, _("The loads changed: solving the whole bone again"));
  TbWholeBone *wb = tb_whole_bone_resolve (t->wb, cases, cancellable, NULL, NULL, error);
  if (wb == NULL)
    return FALSE;
  g_autoptr(TbFeModel) fresh = voi_model (t, wb, error);
  if (fresh == NULL || !apply_new_loads (run, fresh, cases, error))
    {
      tb_whole_bone_unref (wb);
      return FALSE;
    }
  tb_whole_bone_unref (t->wb);
  t->wb = wb;
  t->load_changes++;
  return TRUE;
}

/* Worker: the load cases edited since the last iteration reach the run. An edit that cannot be
 * applied (a force moved off the bone) leaves the run under its loads and says why; only a
 * cancellation ends the run. */
static gboolean
take_load_edits (ToJob *t, TbTopoptRun *run, GCancellable *cancellable, GError **error)
{
  g_mutex_lock (&t->lock);
  GArray *cases = g_steal_pointer (&t->pending_cases);
  gboolean loads = t->pending_loads;
  t->pending_loads = FALSE;
  g_mutex_unlock (&t->lock);
  if (cases == NULL)
    return TRUE;
  gboolean ok = TRUE;
  if (!loads)
    {
      /* only weights: the FE solutions stay, the objective's sum takes the new weights */
      int n = tb_fe_model_n_load_cases (tb_topopt_run_get_model (run));
      for (int lc = 0; lc < n; lc++)
        tb_topopt_run_set_weight (run, lc, lc < (int) cases->len ? g_array_index (cases, TbDocLoadCase, lc).weight : 0);
    }
  else
    {
      g_autoptr(GError) local = NULL;
      if (!apply_load_edit (t, run, cases, cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              ok = FALSE;
            }
          else
            {
              g_free (t->load_error);
              t->load_error = g_strdup (local->message);
              g_autofree char *msg = g_strdup_printf (_("The changed loads were not applied: %s"), local->message);
              tb_job_progress (t->job, -1, msg);
            }
        }
    }
  tb_stage_free_load_cases (cases);
  return ok;
}

/* Worker thread: copy what the main thread will show (the density is valid during the call only). */
static void
on_topopt_report (const TbTopoptReport *report, gpointer user_data)
{
  ToJob *t = user_data;
  ToReport *r = g_new0 (ToReport, 1);
  r->iteration = report->iteration;
  r->objective = report->objective;
  r->change = report->change;
  r->n_constraints = MIN (report->n_constraints, MAX_CONSTRAINTS);
  for (int i = 0; i < r->n_constraints; i++)
    {
      r->constraints[i] = report->constraints[i];
      r->names[i] = g_strdup (report->constraint_names != NULL ? report->constraint_names[i] : "g");
    }
  int n = t->settings.upscale;
  r->density = tb_volume_new (t->rho0->nx * n, t->rho0->ny * n, t->rho0->nz * n, t->fine_spacing, NULL);
  if (r->density != NULL)
    {
      memcpy (r->density->origin, t->fine_origin, sizeof t->fine_origin);
      memcpy (r->density->data, report->density, tb_volume_n_voxels (r->density) * sizeof (float));
    }
  tb_job_report (t->job, r, (GDestroyNotify) to_report_free);
  g_autofree char *msg = g_strdup_printf (_("Iteration %d: objective %.4g, change %.3g"), report->iteration,
                                          report->objective, report->change);
  tb_job_progress (t->job, (double) report->iteration / t->max_iterations, msg);
}

static gboolean
to_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  ToJob *t = data;
  t->job = job;
  tb_job_progress (job, 0, _("Setting up the VOI's optimization"));
  t->model = voi_model (t, t->wb, error);
  if (t->model == NULL)
    return FALSE;
  int n = t->settings.upscale;
  for (int a = 0; a < 3; a++)
    {
      double s = t->rho0->spacing[a];
      int dims[3] = { t->rho0->nx, t->rho0->ny, t->rho0->nz };
      t->fine_spacing[a] = s / n;
      t->fine_origin[a] = t->rho0->origin[a] - s / 2 + s / (2.0 * n);
      t->truth_centre[a] = t->rho0->origin[a] + (dims[a] - 1) * s / 2;
      t->truth_size[a] = dims[a] * s;
    }
  g_autoptr(TbTopoptRun) run = tb_topopt_run_new_bone (t->model, t->rho0, &t->settings, error);
  if (run == NULL)
    return FALSE;
  tb_topopt_run_set_report_func (run, on_topopt_report, t);
  for (t->iterations = 0; t->iterations < t->max_iterations; t->iterations++)
    {
      if (!tb_job_wait_if_paused (job, cancellable, error)
          || !take_load_edits (t, run, cancellable, error)
          || !tb_topopt_run_step (run, cancellable, error))
        return FALSE;
      if (tb_topopt_run_get_state (run) != TB_TOPOPT_RUNNING)
        {
          t->iterations++;
          break;
        }
    }
  /* the run's own ending, as the CLI's tb_topopt_run_run has it: the final constraints, the
   * least-violating design kept when infeasible, and the message saying so (it steps no further) */
  if (!tb_topopt_run_run (run, cancellable, error))
    return FALSE;
  t->message = g_strdup (tb_topopt_run_get_message (run));
  t->final = tb_topopt_run_density_volume (run, t->fine_spacing, t->fine_origin, error);
  if (t->final == NULL)
    return FALSE;
  if (t->phantom != NULL)
    {
      tb_job_progress (job, 1, _("The phantom's truth in the VOI"));
      t->truth = tb_phantom_truth (t->phantom, t->truth_centre, t->truth_size, t->fine_spacing[0],
                                   cancellable, NULL, NULL, error);
      if (t->truth == NULL)
        return FALSE;
    }
  return TRUE;
}

static const GdkRGBA series_colors[] = {
  { 0.21, 0.52, 0.89, 1 }, { 0.90, 0.38, 0.00, 1 }, { 0.18, 0.76, 0.49, 1 }, { 0.57, 0.25, 0.67, 1 },
  { 0.75, 0.11, 0.16, 1 }, { 0.96, 0.76, 0.07, 1 },
};

/* Main thread: grow the charts with every iteration; show the latest density once. */
static void
to_reports (TbJob *job, gpointer data, GPtrArray *reports)
{
  ToJob *t = data;
  for (guint i = 0; i < reports->len; i++)
    {
      ToReport *r = g_ptr_array_index (reports, i);
      if (t->charts[0] != NULL)
        tb_chart_append (t->charts[0], 0, r->iteration, r->objective);
      if (t->charts[1] != NULL)
        {
          while (t->n_constraint_series < r->n_constraints)
            {
              int k = t->n_constraint_series++;
              t->constraint_series[k] = tb_chart_add_series (t->charts[1], r->names[k],
                                                             &series_colors[(k + 1) % G_N_ELEMENTS (series_colors)]);
            }
          for (int k = 0; k < r->n_constraints; k++)
            tb_chart_append (t->charts[1], t->constraint_series[k], r->iteration, r->constraints[k]);
        }
      if (t->charts[2] != NULL)
        tb_chart_append (t->charts[2], 0, r->iteration, r->change);
    }
  ToReport *last = g_ptr_array_index (reports, reports->len - 1);
  if (last->density != NULL && tb_document_find_voi (t->doc, t->voi_id) != NULL)
    tb_document_set_result (t->doc, t->voi_id, TB_METHOD_TO, last->density);
}

static void
to_done (TbJob *job, gpointer data, const GError *error)
{
  ToJob *t = data;
  if (tb_document_find_voi (t->doc, t->voi_id) == NULL)
    return;   /* the VOI was deleted meanwhile: nothing to show */
  if (error != NULL)
    {
      /* leave the session as it was: the live density goes, the earlier result (if any) returns */
      tb_document_set_result (t->doc, t->voi_id, TB_METHOD_TO, t->previous);
      return;
    }
  tb_document_set_result (t->doc, t->voi_id, TB_METHOD_TO, t->final);
  if (t->truth != NULL)
    tb_document_set_result (t->doc, t->voi_id, TB_METHOD_TRUTH, t->truth);
  g_autofree char *loads = t->path == LOADS_LOCALIZED
    ? g_strdup_printf (_("loads localized from the whole-bone FE (VOI on its %.3g mm grid)"),
                       tb_whole_bone_get_fe_spacing (t->wb))
    : g_strdup_printf (_("loads by the whole bone's apparent stress (no localized model: %s)"), t->path_reason);
  g_autofree char *changes = t->load_changes > 0
    ? g_strdup_printf (ngettext ("; the loads changed %d time while it ran", "; the loads changed %d times while it ran",
                                 t->load_changes), t->load_changes)
    : g_strdup ("");
  if (t->load_error != NULL)
    {
      g_autofree char *c = g_steal_pointer (&changes);
      changes = g_strdup_printf (_("%s; a load change was not applied (%s)"), c, t->load_error);
    }
  g_autofree char *note = g_strdup_printf (_("%d iterations at %.0f µm, %s%s: %s"), t->iterations,
                                           t->fine_spacing[0] * 1000, loads, changes,
                                           t->message != NULL ? t->message : "");
  tb_document_set_note (t->doc, TB_STEP_TO, note);
}

/* Main thread: a load case edited while the run is paused (or running) reaches it between iterations;
 * the worker takes the latest copy. */
static void
on_doc_changed (TbDocument *doc, guint what, ToJob *t)
{
  if (!(what & TB_CHANGE_LOADS))
    return;
  GArray *cases = tb_stage_copy_load_cases (doc);
  gboolean loads = !tb_stage_load_cases_same_loads (cases, t->seen_cases);
  tb_stage_free_load_cases (t->seen_cases);
  t->seen_cases = tb_stage_copy_load_cases (doc);
  g_mutex_lock (&t->lock);
  tb_stage_free_load_cases (t->pending_cases);
  t->pending_cases = cases;
  t->pending_loads |= loads;
  g_mutex_unlock (&t->lock);
}

TbJob *
tb_stage_job_topopt (TbDocument *doc, guint voi_id, gpointer charts[3], GError **error)
{
  g_autofree char *need = NULL;
  if (!tb_stage_can_run (doc, TB_STEP_TO, &need))
    {
      g_set_error_literal (error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_NO_IMAGE, need);
      return NULL;
    }
  const TbDocVoi *voi = tb_document_find_voi (doc, voi_id);
  TbWholeBone *wb = tb_stage_get_whole_bone (doc);
  g_return_val_if_fail (voi != NULL && wb != NULL, NULL);

  ToJob *t = g_new0 (ToJob, 1);
  g_mutex_init (&t->lock);
  t->doc = g_object_ref (doc);
  t->voi_id = voi_id;
  t->rho = tb_volume_ref (tb_document_get_density (doc));
  memcpy (t->voi_centre, voi->centre, sizeof t->voi_centre);
  memcpy (t->voi_size, voi->size, sizeof t->voi_size);
  t->wb = tb_whole_bone_ref (wb);
  t->seen_cases = tb_stage_copy_load_cases (doc);
  /* loads edited since the whole-bone FE ran reach the run before its first iteration */
  if (!tb_stage_load_cases_same_loads (t->seen_cases, tb_whole_bone_get_cases (wb))
      || !tb_stage_load_cases_same_weights (t->seen_cases, tb_whole_bone_get_cases (wb)))
    {
      t->pending_cases = tb_stage_copy_load_cases (doc);
      t->pending_loads = !tb_stage_load_cases_same_loads (t->seen_cases, tb_whole_bone_get_cases (wb));
    }
  tb_topopt_settings_init (&t->settings, TB_TOPOPT_BONE);
  t->settings.upscale = (int) tb_document_get_setting (doc, "to-upscale", 4);
  t->settings.n_levels = t->settings.upscale >= 4 ? 2 : 1;
  t->settings.penal = tb_document_get_setting (doc, "to-penal", 3);
  t->settings.rmin = tb_document_get_setting (doc, "to-rmin", 1.5);
  t->settings.eps1 = tb_document_get_setting (doc, "to-eps1", 0.002);
  t->settings.eps2 = tb_document_get_setting (doc, "to-eps2", 0.25);
  /* void keeps the core default's ratio (marrow, 1e-4 E0), as the CLI's enhance does: with 1e-9 a
   * loaded patch cut off by the black-and-white design sent c/c0 up 8-177x in single iterations */
  double void_ratio = t->settings.Emin / t->settings.E0;
  t->settings.E0 = tb_document_get_setting (doc, "fe-e0", 15000);
  t->settings.Emin = t->settings.E0 * void_ratio;
  t->max_iterations = (int) tb_document_get_setting (doc, "to-iterations", 30);
  t->settings.max_iterations = t->max_iterations;
  t->phantom = tb_document_get_phantom (doc);
  TbVolume *prev = tb_document_get_result (doc, voi_id, TB_METHOD_TO);
  t->previous = prev != NULL ? tb_volume_ref (prev) : NULL;
  t->changed_id = g_signal_connect (doc, "changed", G_CALLBACK (on_doc_changed), t);

  for (int i = 0; i < 3; i++)
    {
      t->charts[i] = charts != NULL ? charts[i] : NULL;
      if (t->charts[i] == NULL)
        continue;
      g_object_add_weak_pointer (G_OBJECT (t->charts[i]), (gpointer *) &t->charts[i]);
      tb_chart_clear (t->charts[i]);
    }
  if (t->charts[0] != NULL)
    tb_chart_add_series (t->charts[0], _("c / c₀"), &series_colors[0]);
  if (t->charts[2] != NULL)
    tb_chart_add_series (t->charts[2], _("max |Δx|"), &series_colors[2]);

  g_autofree char *title = g_strdup_printf (_("Enhancing %s (TO)"), voi->name);
  return tb_job_new (title, to_work, to_reports, to_done, t, (GDestroyNotify) to_job_free);
}
