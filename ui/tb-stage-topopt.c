/* tb-stage-topopt.c — Enhance a VOI by topology optimization, live: each iteration's density goes to
 * the document (the slice views redraw it) and its objective, constraints and design change to the
 * charts, coalesced by the job runner into one update per frame. Pause waits between iterations;
 * changing a load case's weight while paused continues from the current design with the new weight. */
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

typedef struct {
  TbDocument *doc;
  guint voi_id;
  TbChart *charts[3];
  guint constraint_series[MAX_CONSTRAINTS];
  int n_constraint_series;
  TbVolume *rho0;
  TbFeModel *model;
  TbTopoptSettings settings;
  double fine_spacing[3], fine_origin[3];
  double truth_centre[3], truth_size[3];
  TbPhantom *phantom;        /* borrowed from the document; read-only and thread-safe */
  TbVolume *previous;        /* the VOI's TO result before this run, restored on failure */
  TbVolume *final, *truth;
  TbJob *job;                /* borrowed, for the worker's progress */
  int max_iterations, iterations;
  char *message;
  GMutex lock;
  double weights[MAX_CASES];
  int n_cases;
  gboolean weights_changed;
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
  g_clear_pointer (&t->rho0, tb_volume_unref);
  g_clear_pointer (&t->model, tb_fe_model_unref);
  g_clear_pointer (&t->previous, tb_volume_unref);
  g_clear_pointer (&t->final, tb_volume_unref);
  g_clear_pointer (&t->truth, tb_volume_unref);
  g_free (t->message);
  g_mutex_clear (&t->lock);
  g_free (t);
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
  g_autoptr(TbTopoptRun) run = tb_topopt_run_new_bone (t->model, t->rho0, &t->settings, error);
  if (run == NULL)
    return FALSE;
  tb_topopt_run_set_report_func (run, on_topopt_report, t);
  for (t->iterations = 0; t->iterations < t->max_iterations; t->iterations++)
    {
      if (!tb_job_wait_if_paused (job, cancellable, error))
        return FALSE;
      g_mutex_lock (&t->lock);
      if (t->weights_changed)
        for (int c = 0; c < t->n_cases; c++)
          tb_topopt_run_set_weight (run, c, t->weights[c]);
      t->weights_changed = FALSE;
      g_mutex_unlock (&t->lock);
      if (!tb_topopt_run_step (run, cancellable, error))
        return FALSE;
      if (tb_topopt_run_get_state (run) != TB_TOPOPT_RUNNING)
        {
          t->iterations++;
          break;
        }
    }
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
  g_autofree char *note = g_strdup_printf (_("%d iterations at %.0f µm: %s"), t->iterations,
                                           t->fine_spacing[0] * 1000, t->message != NULL ? t->message : "");
  tb_document_set_note (t->doc, TB_STEP_TO, note);
}

/* Main thread: a weight edited while the run is paused (or running) reaches it between iterations. */
static void
on_doc_changed (TbDocument *doc, guint what, ToJob *t)
{
  if (!(what & TB_CHANGE_LOADS))
    return;
  g_mutex_lock (&t->lock);
  for (int c = 0; c < t->n_cases && c < (int) tb_document_get_n_load_cases (doc); c++)
    t->weights[c] = tb_document_get_load_case (doc, c)->weight;
  t->weights_changed = TRUE;
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

  TbVolume *rho = tb_document_get_density (doc);
  TbBox box;
  if (!tb_box_from_world (rho, voi->centre, voi->size, &box, error))
    return NULL;
  g_autoptr(TbVolume) rho0 = tb_volume_crop (rho, &box, error);
  if (rho0 == NULL)
    return NULL;
  int n_cases = MIN (tb_whole_bone_get_n_cases (wb), MAX_CASES);
  double stress[MAX_CASES][6];
  for (int c = 0; c < n_cases; c++)
    if (!tb_whole_bone_apparent_stress (wb, voi->centre, voi->size, c, stress[c], error))
      return NULL;

  ToJob *t = g_new0 (ToJob, 1);
  g_mutex_init (&t->lock);
  t->doc = g_object_ref (doc);
  t->voi_id = voi_id;
  t->n_cases = n_cases;
  for (int c = 0; c < n_cases; c++)
    t->weights[c] = tb_whole_bone_get_weights (wb)[c];
  tb_topopt_settings_init (&t->settings, TB_TOPOPT_BONE);
  t->settings.upscale = (int) tb_document_get_setting (doc, "to-upscale", 4);
  t->settings.n_levels = t->settings.upscale >= 4 ? 2 : 1;
  t->settings.penal = tb_document_get_setting (doc, "to-penal", 3);
  t->settings.rmin = tb_document_get_setting (doc, "to-rmin", 1.5);
  t->settings.eps1 = tb_document_get_setting (doc, "to-eps1", 0.002);
  t->settings.eps2 = tb_document_get_setting (doc, "to-eps2", 0.25);
  t->settings.E0 = tb_document_get_setting (doc, "fe-e0", 15000);
  t->settings.Emin = t->settings.E0 * 1e-9;
  t->max_iterations = (int) tb_document_get_setting (doc, "to-iterations", 30);
  t->settings.max_iterations = t->max_iterations;
  t->model = tb_topopt_voi_model_stress (rho0, t->settings.upscale, n_cases, (const double (*)[6]) stress,
                                         t->weights, error);
  if (t->model == NULL)
    {
      to_job_free (t);
      return NULL;
    }
  int n = t->settings.upscale;
  for (int a = 0; a < 3; a++)
    {
      double s = rho0->spacing[a];
      int dims[3] = { rho0->nx, rho0->ny, rho0->nz };
      t->fine_spacing[a] = s / n;
      t->fine_origin[a] = rho0->origin[a] - s / 2 + s / (2.0 * n);
      t->truth_centre[a] = rho0->origin[a] + (dims[a] - 1) * s / 2;
      t->truth_size[a] = dims[a] * s;
    }
  t->rho0 = g_steal_pointer (&rho0);
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
