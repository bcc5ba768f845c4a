/* tb-pipeline-panel.c — step settings bound to document settings, and the job card. */
#include "config-ui.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>
#include "tb-pipeline-panel.h"

struct _TbPipelinePanel
{
  GtkWidget parent_instance;
  GtkWidget *scroller;
  GtkWidget *job_title, *job_progress, *job_message, *job_eta, *pause_button, *cancel_button;
  AdwPreferencesGroup *groups[TB_N_STEPS];
  GPtrArray *spins;        /* GtkSpinButton *, each with "tb-key" data */
  TbDocument *doc;
  TbJobRunner *runner;
  GSignalGroup *runner_signals;
  char *status[TB_N_STEPS];
  gint64 last_text_us;
};

G_DEFINE_FINAL_TYPE (TbPipelinePanel, tb_pipeline_panel, GTK_TYPE_WIDGET)

/* Every setting a step offers: its key in the document, label, unit, range and default. */
typedef struct {
  TbPipelineStep step;
  const char *key;
  const char *label;
  const char *unit;
  double min, max, step_size, def;
  int digits;
} Setting;

static const Setting settings[] = {
  { TB_STEP_CALIBRATE, "cal-a", N_("Intercept a (BMD = a + b·HU)"), N_("mg HA/cm³"), -2000, 2000, 1, 0, 1 },
  { TB_STEP_CALIBRATE, "cal-b", N_("Slope b"), N_("mg HA/cm³ per HU"), 0.01, 10, 0.01, 1, 3 },
  { TB_STEP_SEGMENT, "seg-sigma", N_("Gradient smoothing"), N_("voxels"), 0.3, 5, 0.1, 1, 1 },
  { TB_STEP_FE, "fe-e0", N_("Tissue modulus E₀"), N_("MPa"), 1000, 30000, 500, 15000, 0 },
  { TB_STEP_FE, "fe-body-scale", N_("Load scale"), N_("× default"), 0.1, 5, 0.1, 1, 1 },
  { TB_STEP_TO, "to-upscale", N_("Sub-voxels per voxel n"), N_("per axis"), 2, 8, 1, 4, 0 },
  { TB_STEP_TO, "to-iterations", N_("Iterations"), N_("max"), 1, 500, 1, 30, 0 },
  { TB_STEP_TO, "to-penal", N_("SIMP penalty p"), "", 1, 5, 0.5, 3, 1 },
  { TB_STEP_TO, "to-rmin", N_("Filter radius"), N_("sub-voxels"), 1, 4, 0.1, 1.5, 1 },
  { TB_STEP_TO, "to-eps1", N_("BMD tolerance ε₁"), "", 0.0001, 0.1, 0.0005, 0.002, 4 },
  { TB_STEP_TO, "to-eps2", N_("Black-and-white tolerance ε₂"), "", 0.01, 1, 0.01, 0.25, 2 },
  { TB_STEP_NN, "nn-upscale", N_("Upscale factor"), N_("per axis"), 2, 8, 1, 4, 0 },
  { TB_STEP_MEASURE, "measure-threshold", N_("Bone threshold"), N_("relative density"), 0.05, 0.95, 0.05, 0.5, 2 },
};

static void
on_spin_changed (GtkSpinButton *spin, TbPipelinePanel *self)
{
  if (self->doc != NULL)
    tb_document_set_setting (self->doc, g_object_get_data (G_OBJECT (spin), "tb-key"),
                             gtk_spin_button_get_value (spin));
}

void
tb_pipeline_panel_apply_defaults (TbPipelinePanel *self)
{
  if (self->doc == NULL)
    return;
  for (guint i = 0; i < self->spins->len; i++)
    {
      GtkSpinButton *spin = g_ptr_array_index (self->spins, i);
      const Setting *s = g_object_get_data (G_OBJECT (spin), "tb-setting");
      double v = tb_document_get_setting (self->doc, s->key, s->def);
      tb_document_set_setting (self->doc, s->key, v);
      g_signal_handlers_block_by_func (spin, on_spin_changed, self);
      gtk_spin_button_set_value (spin, v);
      g_signal_handlers_unblock_by_func (spin, on_spin_changed, self);
    }
}

void
tb_pipeline_panel_set_document (TbPipelinePanel *self, TbDocument *doc)
{
  g_set_object (&self->doc, doc);
  tb_pipeline_panel_apply_defaults (self);
}

static void
update_job_card (TbPipelinePanel *self)
{
  TbJobRunner *r = self->runner;
  gboolean busy = r != NULL && tb_job_runner_get_busy (r);
  TbJob *job = busy ? tb_job_runner_get_current (r) : NULL;
  g_autofree char *title = NULL;
  if (job != NULL)
    title = tb_job_runner_get_n_queued (r) > 0
      ? g_strdup_printf (_("%s (%u more queued)"), tb_job_get_title (job), tb_job_runner_get_n_queued (r))
      : g_strdup (tb_job_get_title (job));
  gtk_label_set_text (GTK_LABEL (self->job_title), title != NULL ? title : _("No job running"));
  double f = busy ? tb_job_runner_get_fraction (r) : 0;
  if (busy && f < 0)
    gtk_progress_bar_pulse (GTK_PROGRESS_BAR (self->job_progress));
  else
    gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->job_progress), CLAMP (f, 0, 1));
  /* texts change at most 4 times a second: a label's new text relayouts the window, the bar does not */
  gint64 now = g_get_monotonic_time ();
  if (busy && now - self->last_text_us < 250000 && self->last_text_us != 0)
    return;
  self->last_text_us = busy ? now : 0;
  const char *msg = busy ? tb_job_runner_get_message (r) : NULL;
  gtk_label_set_text (GTK_LABEL (self->job_message), msg != NULL ? msg : "");
  double eta = busy ? tb_job_runner_get_eta (r) : -1;
  g_autofree char *eta_text = NULL;
  if (eta >= 0)
    eta_text = eta < 60 ? g_strdup_printf (_("About %.0f s left"), eta)
                        : g_strdup_printf (_("About %.0f min left"), eta / 60);
  gtk_label_set_text (GTK_LABEL (self->job_eta), eta_text != NULL ? eta_text : "");
}

static void
on_runner_notify (GObject *runner, GParamSpec *pspec, TbPipelinePanel *self)
{
  update_job_card (self);
}

void
tb_pipeline_panel_set_runner (TbPipelinePanel *self, TbJobRunner *runner)
{
  g_set_object (&self->runner, runner);
  g_signal_group_set_target (self->runner_signals, runner);
  update_job_card (self);
}

void
tb_pipeline_panel_set_status (TbPipelinePanel *self, TbPipelineStep step, const char *text)
{
  g_return_if_fail (step < TB_N_STEPS);
  if (g_strcmp0 (self->status[step], text) == 0)
    return;   /* no relayout for the same words */
  g_free (self->status[step]);
  self->status[step] = g_strdup (text);
  adw_preferences_group_set_description (self->groups[step], text);
}

const char *
tb_pipeline_panel_get_status (TbPipelinePanel *self, TbPipelineStep step)
{
  return self->status[step];
}

static void
tb_pipeline_panel_dispose (GObject *object)
{
  TbPipelinePanel *self = TB_PIPELINE_PANEL (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), TB_TYPE_PIPELINE_PANEL);
  g_clear_object (&self->doc);
  g_clear_object (&self->runner);
  g_clear_object (&self->runner_signals);
  g_clear_pointer (&self->spins, g_ptr_array_unref);
  for (int i = 0; i < TB_N_STEPS; i++)
    g_clear_pointer (&self->status[i], g_free);
  G_OBJECT_CLASS (tb_pipeline_panel_parent_class)->dispose (object);
}

static void
tb_pipeline_panel_class_init (TbPipelinePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = tb_pipeline_panel_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/trabecula/Trabecula/ui/tb-pipeline-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, scroller);
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, job_title);
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, job_progress);
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, job_message);
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, job_eta);
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, pause_button);
  gtk_widget_class_bind_template_child (widget_class, TbPipelinePanel, cancel_button);
  gtk_widget_class_bind_template_child_full (widget_class, "calibrate_group", FALSE,
                                             G_STRUCT_OFFSET (TbPipelinePanel, groups[TB_STEP_CALIBRATE]));
  gtk_widget_class_bind_template_child_full (widget_class, "segment_group", FALSE,
                                             G_STRUCT_OFFSET (TbPipelinePanel, groups[TB_STEP_SEGMENT]));
  gtk_widget_class_bind_template_child_full (widget_class, "fe_group", FALSE,
                                             G_STRUCT_OFFSET (TbPipelinePanel, groups[TB_STEP_FE]));
  gtk_widget_class_bind_template_child_full (widget_class, "to_group", FALSE,
                                             G_STRUCT_OFFSET (TbPipelinePanel, groups[TB_STEP_TO]));
  gtk_widget_class_bind_template_child_full (widget_class, "nn_group", FALSE,
                                             G_STRUCT_OFFSET (TbPipelinePanel, groups[TB_STEP_NN]));
  gtk_widget_class_bind_template_child_full (widget_class, "measure_group", FALSE,
                                             G_STRUCT_OFFSET (TbPipelinePanel, groups[TB_STEP_MEASURE]));
}

static void
tb_pipeline_panel_init (TbPipelinePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->spins = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const Setting *s = &settings[i];
      GtkWidget *row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _(s->label));
      if (s->unit[0] != '\0')
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _(s->unit));
      GtkWidget *spin = gtk_spin_button_new_with_range (s->min, s->max, s->step_size);
      gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), s->digits);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), s->def);
      gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
      g_object_set_data (G_OBJECT (spin), "tb-key", (gpointer) s->key);
      g_object_set_data (G_OBJECT (spin), "tb-setting", (gpointer) s);
      gtk_widget_set_name (spin, s->key);
      g_signal_connect (spin, "value-changed", G_CALLBACK (on_spin_changed), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
      adw_preferences_group_add (self->groups[s->step], row);
      g_ptr_array_add (self->spins, spin);
    }
  self->runner_signals = g_signal_group_new (TB_TYPE_JOB_RUNNER);
  g_signal_group_connect (self->runner_signals, "notify", G_CALLBACK (on_runner_notify), self);
}
