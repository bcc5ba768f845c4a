/* tb-window.c — the main window: layout, actions, jobs and their messages. */
#include "config-ui.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include "tb-window.h"
#include "tb-stage-jobs.h"
#include "tb-gpu.h"
#include "tb-backend.h"

struct _TbWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwWindowTitle *window_title;
  GtkWidget *backend_label, *info_bar, *info_label, *flap, *panes;
  GtkWidget *pane[4];
  GtkWidget *fourth_stack, *charts_box, *log_scale_check, *compare_box, *compare_a, *compare_b, *compare_mode;
  TbMorphoTable *morpho_table;
  TbPipelinePanel *pipeline_panel;
  TbSidebar *sidebar;

  TbDocument *doc;
  TbJobRunner *runner;
  GtkWidget *views[3];
  GtkWidget *charts[TB_N_CHARTS];
  GtkWidget *compare;
  int maximized;             /* pane index, -1 = all four */
  char *last_message;
  char *session_path;
  /* a session being reopened: applied when the job that opens its image ends */
  JsonNode *pending_session;
  char *pending_session_path;
  TbJob *pending_job;
  /* the Preferences' computation settings and what the GPU probe found (NULL while it runs) */
  TbBackendChoice backend;
  int threads;
  TbGpuInfo *gpu;
  char *backend_note;
};

G_DEFINE_FINAL_TYPE (TbWindow, tb_window, ADW_TYPE_APPLICATION_WINDOW)

/* Messages */

void
tb_window_toast (TbWindow *self, const char *text)
{
  g_free (self->last_message);
  self->last_message = g_strdup (text);
  AdwToast *toast = adw_toast_new (text);
  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
tb_window_show_error (TbWindow *self, const char *what, const GError *error)
{
  g_autofree char *text = g_strdup_printf ("%s: %s", what, error != NULL ? error->message : _("unknown error"));
  g_free (self->last_message);
  self->last_message = g_strdup (text);
  gtk_label_set_text (GTK_LABEL (self->info_label), text);
  gtk_info_bar_set_revealed (GTK_INFO_BAR (self->info_bar), TRUE);
  g_message ("%s", text);
}

const char *tb_window_get_last_message (TbWindow *self) { return self->last_message; }

gboolean
tb_window_is_showing_error (TbWindow *self)
{
  return gtk_info_bar_get_revealed (GTK_INFO_BAR (self->info_bar));
}

void
tb_window_dismiss_error (TbWindow *self)
{
  gtk_info_bar_set_revealed (GTK_INFO_BAR (self->info_bar), FALSE);
}

static void
on_info_bar_response (GtkInfoBar *bar, int response, TbWindow *self)
{
  gtk_info_bar_set_revealed (bar, FALSE);
}

/* Accessors */

TbDocument *tb_window_get_document (TbWindow *self) { return self->doc; }
TbJobRunner *tb_window_get_runner (TbWindow *self) { return self->runner; }
TbSliceView *tb_window_get_slice_view (TbWindow *self, TbAxis axis) { return TB_SLICE_VIEW (self->views[axis]); }
TbChart *tb_window_get_chart (TbWindow *self, TbChartKind kind) { return TB_CHART (self->charts[kind]); }
TbCompareView *tb_window_get_compare_view (TbWindow *self) { return TB_COMPARE_VIEW (self->compare); }
TbSidebar *tb_window_get_sidebar (TbWindow *self) { return self->sidebar; }
TbPipelinePanel *tb_window_get_pipeline_panel (TbWindow *self) { return self->pipeline_panel; }
TbMorphoTable *tb_window_get_morpho_table (TbWindow *self) { return self->morpho_table; }

void
tb_window_show_page (TbWindow *self, const char *page)
{
  gtk_stack_set_visible_child_name (GTK_STACK (self->fourth_stack), page);
}

/* Action state follows the document and the runner */

static void
update_actions (TbWindow *self)
{
  static const struct { TbPipelineStep step; const char *action; } steps[] = {
    { TB_STEP_CALIBRATE, "run-calibrate" }, { TB_STEP_SEGMENT, "run-segment" }, { TB_STEP_FE, "run-fe" },
    { TB_STEP_TO, "run-to" }, { TB_STEP_NN, "run-nn" }, { TB_STEP_MEASURE, "run-measure" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autofree char *need = NULL;
      gboolean ok = tb_stage_can_run (self->doc, steps[i].step, &need) && tb_stage_is_built (steps[i].step, &need);
      g_autofree char *action = g_strconcat ("win.", steps[i].action, NULL);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), action, ok);
      const char *note = tb_document_get_note (self->doc, steps[i].step);
      if (!ok)
        tb_pipeline_panel_set_status (self->pipeline_panel, steps[i].step, need);
      else
        tb_pipeline_panel_set_status (self->pipeline_panel, steps[i].step, note != NULL ? note : _("Ready"));
    }
  gboolean busy = tb_job_runner_get_busy (self->runner);
  gboolean has_image = tb_document_get_image (self->doc) != NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", tb_document_can_undo (self->doc));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", tb_document_can_redo (self->doc));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel", busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.pause", busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-session", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-session-as", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.delete-voi", tb_document_get_selected_voi (self->doc) != 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.add-voi-preset", tb_document_get_phantom (self->doc) != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.add-voi-at-cursor", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export-png", has_image);
}

static void
on_document_changed (TbDocument *doc, guint what, TbWindow *self)
{
  if (what & TB_CHANGE_VOLUMES)
    {
      const char *path = tb_document_get_source_path (doc);
      g_autofree char *base = path != NULL ? g_path_get_basename (path) : NULL;
      adw_window_title_set_subtitle (self->window_title,
                                     tb_document_get_image (doc) == NULL ? ""
                                     : base != NULL ? base : _("Demo femur (simulated QCT)"));
    }
  update_actions (self);
}

static void
on_runner_notify_busy (TbJobRunner *runner, GParamSpec *pspec, TbWindow *self)
{
  update_actions (self);
}

/* Job results reach the user */

static void
on_job_finished (TbJobRunner *runner, TbJob *job, const GError *error, TbWindow *self)
{
  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *t = g_strdup_printf (_("%s: cancelled, nothing changed"), tb_job_get_title (job));
      tb_window_toast (self, t);
    }
  else if (error != NULL)
    tb_window_show_error (self, tb_job_get_title (job), error);

  if (job == self->pending_job)
    {
      self->pending_job = NULL;
      g_autoptr(JsonNode) session = g_steal_pointer (&self->pending_session);
      g_autofree char *path = g_steal_pointer (&self->pending_session_path);
      g_autoptr(GError) local = NULL;
      if (error == NULL)
        {
          tb_pipeline_panel_apply_defaults (self->pipeline_panel);
          if (!tb_document_apply_session (self->doc, session, path, tb_stage_load_volume, &local))
            tb_window_show_error (self, _("Could not reopen the session"), local);
          else
            {
              g_free (self->session_path);
              self->session_path = g_strdup (path);
              tb_pipeline_panel_apply_defaults (self->pipeline_panel);
              tb_window_toast (self, _("Session reopened"));
            }
        }
    }
  else if (error == NULL && tb_document_get_image (self->doc) != NULL)
    tb_pipeline_panel_apply_defaults (self->pipeline_panel);
  update_actions (self);
}

/* Opening */

void
tb_window_open_demo (TbWindow *self, double spacing)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TbJob) job = tb_stage_job_open_demo (self->doc, spacing, &error);
  if (job == NULL)
    tb_window_show_error (self, _("Could not open the demo femur"), error);
  else
    tb_job_runner_push (self->runner, job);
}

void
tb_window_open_file (TbWindow *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(TbJob) job = tb_stage_job_open_file (self->doc, path, &error);
  if (job == NULL)
    {
      tb_window_show_error (self, _("Could not open the image"), error);
      return;
    }
  tb_job_runner_push (self->runner, job);
}

void
tb_window_open_session (TbWindow *self, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) session = tb_session_read (path, &error);
  if (session == NULL)
    {
      tb_window_show_error (self, _("Could not open the session"), error);
      return;
    }
  JsonObject *input = json_object_get_object_member (json_node_get_object (session), "input");
  const char *kind = json_object_get_string_member_with_default (input, "kind", "");
  g_autoptr(TbJob) job = NULL;
  if (g_strcmp0 (kind, "demo") == 0)
    {
      job = tb_stage_job_open_demo (self->doc, json_object_get_double_member_with_default (input, "spacing", 0.625), &error);
      if (job == NULL)
        {
          tb_window_show_error (self, _("Could not open the session"), error);
          return;
        }
    }
  else
    {
      const char *image = json_object_get_string_member_with_default (input, "path", NULL);
      const char *sum = json_object_get_string_member_with_default (input, "sha256", NULL);
      if (image == NULL || !g_file_test (image, G_FILE_TEST_EXISTS))
        {
          g_set_error (&error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_MOVED,
                       _("The session's image %s is no longer there. Move it back, or open the image and place the VOIs again"),
                       image != NULL ? image : "?");
          tb_window_show_error (self, _("Could not open the session"), error);
          return;
        }
      g_autofree char *actual = tb_checksum_file (image, &error);
      if (actual == NULL || (sum != NULL && g_strcmp0 (sum, actual) != 0))
        {
          if (error == NULL)
            g_set_error (&error, TB_DOCUMENT_ERROR, TB_DOCUMENT_ERROR_MOVED,
                         _("The image %s changed since the session was saved"), image);
          tb_window_show_error (self, _("Could not open the session"), error);
          return;
        }
      g_autoptr(GFile) file = g_file_new_for_path (image);
      job = tb_stage_job_open_file (self->doc, image, &error);
      if (job == NULL)
        {
          tb_window_show_error (self, _("Could not open the session"), error);
          return;
        }
    }
  g_clear_pointer (&self->pending_session, json_node_unref);
  g_free (self->pending_session_path);
  self->pending_session = g_steal_pointer (&session);
  self->pending_session_path = g_strdup (path);
  self->pending_job = job;
  tb_job_runner_push (self->runner, job);
}

gboolean
tb_window_save_session (TbWindow *self, const char *path, GError **error)
{
  if (!tb_document_save_session (self->doc, path, tb_stage_save_volume, error))
    return FALSE;
  g_free (self->session_path);
  self->session_path = g_strdup (path);
  return TRUE;
}

/* File choosers (GtkFileChooserNative: GTK 4.8 has no GtkFileDialog) */

typedef void (*ChosenFunc) (TbWindow *self, GFile *file, gpointer data);

static void
on_chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  TbWindow *self = g_object_get_data (G_OBJECT (dialog), "tb-window");
  ChosenFunc func = (ChosenFunc) g_object_get_data (G_OBJECT (dialog), "tb-func");
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      func (self, file, user_data);
    }
  g_object_unref (dialog);
}

static void
choose_file (TbWindow *self, const char *title, GtkFileChooserAction action, const char *accept,
             const char *suggested, GtkFileFilter *filter, ChosenFunc func, gpointer data)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, accept, _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  if (suggested != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  if (filter != NULL)
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_set_data (G_OBJECT (dialog), "tb-window", self);
  g_object_set_data (G_OBJECT (dialog), "tb-func", func);
  g_signal_connect (dialog, "response", G_CALLBACK (on_chooser_response), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void chosen_image (TbWindow *self, GFile *file, gpointer data) { tb_window_open_file (self, file); }

static void
chosen_session (TbWindow *self, GFile *file, gpointer data)
{
  g_autofree char *path = g_file_get_path (file);
  tb_window_open_session (self, path);
}

static void
chosen_save_session (TbWindow *self, GFile *file, gpointer data)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) error = NULL;
  if (!tb_window_save_session (self, path, &error))
    tb_window_show_error (self, _("Could not save the session"), error);
  else
    tb_window_toast (self, _("Session saved"));
}

static void
chosen_png (TbWindow *self, GFile *file, gpointer data)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) error = NULL;
  if (!tb_widget_save_png (self->views[GPOINTER_TO_INT (data)], path, &error))
    tb_window_show_error (self, _("Could not export the view"), error);
  else
    tb_window_toast (self, _("View exported"));
}

static void
chosen_csv (TbWindow *self, GFile *file, gpointer data)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *csv = tb_morpho_table_to_csv (self->doc);
  g_autoptr(GError) error = NULL;
  if (!g_file_set_contents (path, csv, -1, &error))
    tb_window_show_error (self, _("Could not export the measurements"), error);
  else
    tb_window_toast (self, _("Measurements exported"));
}

static void
chosen_tiff_folder (TbWindow *self, GFile *file, gpointer data)
{
  g_autofree char *dir = g_file_get_path (file);
  g_autoptr(GError) error = NULL;
  guint n = 0;
  for (guint i = 0; i < tb_document_get_n_vois (self->doc); i++)
    {
      const TbDocVoi *voi = tb_document_get_voi (self->doc, i);
      for (TbMethod m = TB_METHOD_TO; m < TB_N_METHODS; m++)
        {
          TbVolume *r = tb_document_get_result (self->doc, voi->id, m);
          if (r == NULL)
            continue;
          g_autofree char *name = g_strdup_printf ("%s-%s.tif", voi->name, tb_method_get_name (m));
          g_strdelimit (name, "/\\ ", '_');
          g_autofree char *path = g_build_filename (dir, name, NULL);
          if (!tb_stage_save_volume (r, path, &error))
            {
              tb_window_show_error (self, _("Could not export the enhanced VOIs"), error);
              return;
            }
          n++;
        }
    }
  g_autofree char *t = g_strdup_printf (ngettext ("%u volume exported", "%u volumes exported", n), n);
  tb_window_toast (self, t);
}

static void
chosen_nn_model (TbWindow *self, GFile *file, gpointer data)
{
  g_autofree char *path = g_file_get_path (file);
  tb_document_set_text (self->doc, "nn-model", path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *t = g_strdup_printf (_("Network: %s"), base);
  tb_window_toast (self, t);
}

/* Actions */

static void
action_choose_nn_model (GtkWidget *w, const char *name, GVariant *param)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Trained networks (safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  choose_file (TB_WINDOW (w), _("Choose a Trained Network"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), NULL,
               filter, chosen_nn_model, NULL);
}

static void
action_open (GtkWidget *w, const char *name, GVariant *param)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("CT images (TIFF, NIfTI, MetaImage)"));
  const char *patterns[] = { "*.tif", "*.tiff", "*.TIF", "*.nii", "*.nii.gz", "*.mhd", "*.mha" };
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++)
    gtk_file_filter_add_pattern (filter, patterns[i]);
  choose_file (TB_WINDOW (w), _("Open a CT Image"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL, filter,
               chosen_image, NULL);
}

static void
action_open_demo (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  double spacing = 0.625;
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = app != NULL ? g_object_get_data (G_OBJECT (app), "tb-settings") : NULL;
  if (settings != NULL)
    spacing = g_settings_get_double (settings, "demo-spacing");
  tb_window_open_demo (self, spacing);
}

static void
action_open_session (GtkWidget *w, const char *name, GVariant *param)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Trabecula sessions"));
  gtk_file_filter_add_pattern (filter, "*.trabecula");
  gtk_file_filter_add_pattern (filter, "*.json");
  choose_file (TB_WINDOW (w), _("Open a Session"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL, filter,
               chosen_session, NULL);
}

static void
action_save_session_as (GtkWidget *w, const char *name, GVariant *param)
{
  choose_file (TB_WINDOW (w), _("Save the Session"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"),
               _("session.trabecula"), NULL, chosen_save_session, NULL);
}

static void
action_save_session (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  if (self->session_path == NULL)
    {
      action_save_session_as (w, name, param);
      return;
    }
  g_autoptr(GFile) file = g_file_new_for_path (self->session_path);
  chosen_save_session (self, file, NULL);
}

static void
action_export_png (GtkWidget *w, const char *name, GVariant *param)
{
  static const char *names[] = { N_("axial.png"), N_("coronal.png"), N_("sagittal.png") };
  int i = CLAMP (g_variant_get_int32 (param), 0, 2);
  /* the menu's "axial" is the third view (TB_AXIS_Z = 2) */
  int axis = (int[]) { TB_AXIS_Z, TB_AXIS_Y, TB_AXIS_X }[i];
  choose_file (TB_WINDOW (w), _("Export the View as PNG"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _(names[i]),
               NULL, chosen_png, GINT_TO_POINTER (axis));
}

static void
action_export_csv (GtkWidget *w, const char *name, GVariant *param)
{
  choose_file (TB_WINDOW (w), _("Export the Measurements"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
               _("measurements.csv"), NULL, chosen_csv, NULL);
}

static void
action_export_tiff (GtkWidget *w, const char *name, GVariant *param)
{
  choose_file (TB_WINDOW (w), _("Export Enhanced VOIs to a Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
               _("_Export"), NULL, NULL, chosen_tiff_folder, NULL);
}

static void
action_undo (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  if (tb_document_can_undo (self->doc))
    tb_document_undo (self->doc);
}

static void
action_redo (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  if (tb_document_can_redo (self->doc))
    tb_document_redo (self->doc);
}

static void
set_maximized_pane (TbWindow *self, int pane)
{
  self->maximized = pane;
  for (int i = 0; i < 4; i++)
    gtk_widget_set_visible (self->pane[i], pane < 0 || pane == i);
}

static void
action_maximize_pane (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  int i = g_variant_get_int32 (param);
  set_maximized_pane (self, self->maximized == i ? -1 : CLAMP (i, 0, 3));
}

static void
action_restore_panes (GtkWidget *w, const char *name, GVariant *param)
{
  set_maximized_pane (TB_WINDOW (w), -1);
}

static void
push_or_explain (TbWindow *self, const char *what, TbJob *job, GError *error)
{
  if (job == NULL)
    {
      tb_window_show_error (self, what, error);
      g_clear_error (&error);
      return;
    }
  tb_job_runner_push (self->runner, job);
  tb_job_unref (job);
}

static void
action_run (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  GError *error = NULL;
  TbJob *job = NULL;
  if (g_str_equal (name, "win.run-calibrate"))
    job = tb_stage_job_calibrate (self->doc, &error);
  else if (g_str_equal (name, "win.run-segment"))
    job = tb_stage_job_segment (self->doc, &error);
  else if (g_str_equal (name, "win.run-fe"))
    job = tb_stage_job_fe (self->doc, &error);
  else if (g_str_equal (name, "win.run-to"))
    {
      tb_window_show_page (self, "charts");
      TbChart *charts[TB_N_CHARTS];
      for (int i = 0; i < TB_N_CHARTS; i++)
        charts[i] = TB_CHART (self->charts[i]);
      job = tb_stage_job_topopt (self->doc, tb_document_get_selected_voi (self->doc), (gpointer *) charts, &error);
    }
  else if (g_str_equal (name, "win.run-nn"))
    job = tb_stage_job_nn (self->doc, tb_document_get_selected_voi (self->doc), &error);
  else if (g_str_equal (name, "win.run-measure"))
    {
      tb_window_show_page (self, "measure");
      job = tb_stage_job_measure (self->doc, tb_document_get_selected_voi (self->doc), &error);
    }
  push_or_explain (self, _("Cannot run this step"), job, error);
}

static void
action_cancel (GtkWidget *w, const char *name, GVariant *param)
{
  tb_job_runner_cancel (TB_WINDOW (w)->runner);
}

static void
action_pause (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  tb_job_runner_set_paused (self->runner, !tb_job_runner_get_paused (self->runner));
}

static void
action_add_voi_preset (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  g_autoptr(GError) error = NULL;
  if (tb_stage_add_voi_preset (self->doc, g_variant_get_string (param, NULL), &error) == 0)
    tb_window_show_error (self, _("Cannot add the VOI"), error);
}

static void
action_add_voi_at_cursor (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  double cursor[3], size[3] = { 5, 5, 5 };  /* paper 000's VOIs are 5 mm cubes */
  tb_document_get_cursor (self->doc, cursor);
  tb_document_add_voi (self->doc, NULL, cursor, size);
}

static void
action_delete_voi (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  guint id = tb_document_get_selected_voi (self->doc);
  if (id != 0)
    tb_document_remove_voi (self->doc, id);
}

static void
action_load_hip_presets (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  g_autoptr(GError) error = NULL;
  if (!tb_stage_add_hip_presets (self->doc, &error))
    tb_window_show_error (self, _("Cannot place the hip load cases"), error);
}

static void
action_add_load_case (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  g_autofree char *n = g_strdup_printf (_("Load case %u"), tb_document_get_n_load_cases (self->doc) + 1);
  tb_document_add_load_case (self->doc, n, 1.0);
}

static void
add_load_at_cursor (TbWindow *self, TbLoadKind kind)
{
  guint c = 0, l;
  if (tb_document_get_n_load_cases (self->doc) == 0)
    tb_document_add_load_case (self->doc, _("Load case 1"), 1.0);
  else if (!tb_sidebar_get_selected_load (self->sidebar, &c, &l))
    c = 0;
  TbDocLoad load = { .kind = kind, .radius = kind == TB_LOAD_SUPPORT ? 5 : 0 };
  tb_document_get_cursor (self->doc, load.point);
  if (kind == TB_LOAD_FORCE)
    load.vector[2] = -1000;   /* 1 kN downwards: a start the user then drags */
  tb_document_add_load (self->doc, c, &load);
}

static void
action_add_force (GtkWidget *w, const char *name, GVariant *param)
{
  add_load_at_cursor (TB_WINDOW (w), TB_LOAD_FORCE);
}

static void
action_add_support (GtkWidget *w, const char *name, GVariant *param)
{
  add_load_at_cursor (TB_WINDOW (w), TB_LOAD_SUPPORT);
}

static void
action_delete_load (GtkWidget *w, const char *name, GVariant *param)
{
  TbWindow *self = TB_WINDOW (w);
  guint c, l;
  if (!tb_sidebar_get_selected_load (self->sidebar, &c, &l))
    return;
  if (l == G_MAXUINT)
    tb_document_remove_load_case (self->doc, c);
  else
    tb_document_remove_load (self->doc, c, l);
}

/* Drag and drop: a file or folder dropped anywhere on the window opens it */

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, TbWindow *self)
{
  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  GSList *files = g_value_get_boxed (value);
  if (files == NULL)
    return FALSE;
  GFile *file = files->data;
  g_autofree char *path = g_file_get_path (file);
  if (path != NULL && (g_str_has_suffix (path, ".trabecula") || g_str_has_suffix (path, ".json")))
    tb_window_open_session (self, path);
  else
    tb_window_open_file (self, file);
  return TRUE;
}

/* Backend indicator: the GPU probe may take a second, so it runs off the main thread. */

static void
probe_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  TbGpuInfo *info = g_new0 (TbGpuInfo, 1);
  tb_gpu_probe (info);
  g_task_return_pointer (task, info, g_free);
}

/* The indicator shows where the jobs compute now; a GPU choice that cannot be honoured is said once
 * (a toast) and stays visible in the indicator. */
static void
update_backend (TbWindow *self)
{
  TbBackendState st;
  tb_backend_resolve (self->backend, self->gpu, self->threads, &st);
  tb_job_runner_set_threads (self->runner, self->threads);
  gtk_label_set_text (GTK_LABEL (self->backend_label), st.label);
  gtk_widget_set_tooltip_text (self->backend_label, st.tooltip);
  if (st.note != NULL)
    gtk_widget_add_css_class (self->backend_label, "warning");
  else
    gtk_widget_remove_css_class (self->backend_label, "warning");
  if (st.note != NULL && g_strcmp0 (st.note, self->backend_note) != 0)
    tb_window_toast (self, st.note);
  g_free (self->backend_note);
  self->backend_note = g_steal_pointer (&st.note);
  tb_backend_state_clear (&st);
}

static void
probe_done (GObject *source, GAsyncResult *res, gpointer data)
{
  TbWindow *self = TB_WINDOW (source);
  g_free (self->gpu);
  self->gpu = g_task_propagate_pointer (G_TASK (res), NULL);
  update_backend (self);
}

void
tb_window_set_compute_preferences (TbWindow *self, guint backend, int threads)
{
  g_return_if_fail (TB_IS_WINDOW (self));
  self->backend = MIN (backend, TB_BACKEND_GPU);
  self->threads = MAX (threads, 0);
  update_backend (self);
}

const char *
tb_window_get_backend_label (TbWindow *self)
{
  return gtk_label_get_text (GTK_LABEL (self->backend_label));
}

const char *
tb_window_get_backend_note (TbWindow *self)
{
  return self->backend_note;
}

gboolean
tb_window_backend_probed (TbWindow *self)
{
  return self->gpu != NULL;
}

static void
on_compute_settings_changed (GSettings *settings, const char *key, TbWindow *self)
{
  tb_window_set_compute_preferences (self, g_settings_get_uint (settings, "backend"),
                                     (int) g_settings_get_double (settings, "threads"));
}

void
tb_window_bind_settings (TbWindow *self, GSettings *settings)
{
  g_return_if_fail (TB_IS_WINDOW (self) && G_IS_SETTINGS (settings));
  g_signal_connect_object (settings, "changed::backend", G_CALLBACK (on_compute_settings_changed), self, 0);
  g_signal_connect_object (settings, "changed::threads", G_CALLBACK (on_compute_settings_changed), self, 0);
  on_compute_settings_changed (settings, NULL, self);
}

/* Compare controls */

static void
on_compare_changed (GObject *dd, GParamSpec *pspec, TbWindow *self)
{
  tb_compare_view_set_methods (TB_COMPARE_VIEW (self->compare),
                               gtk_drop_down_get_selected (GTK_DROP_DOWN (self->compare_a)),
                               gtk_drop_down_get_selected (GTK_DROP_DOWN (self->compare_b)));
  tb_compare_view_set_mode (TB_COMPARE_VIEW (self->compare),
                            gtk_drop_down_get_selected (GTK_DROP_DOWN (self->compare_mode)));
}

static void
on_log_scale_toggled (GtkCheckButton *check, TbWindow *self)
{
  gboolean log = gtk_check_button_get_active (check);
  tb_chart_set_log_scale (TB_CHART (self->charts[TB_CHART_OBJECTIVE]), log);
  tb_chart_set_log_scale (TB_CHART (self->charts[TB_CHART_CONSTRAINTS]), log);
}

static GtkWidget *
pane_button (int index)
{
  GtkWidget *b = gtk_button_new_from_icon_name ("view-fullscreen-symbolic");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (b), "win.maximize-pane");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (b), "i", index);
  gtk_widget_set_tooltip_text (b, _("Maximize or restore this pane"));
  gtk_widget_set_halign (b, GTK_ALIGN_END);
  gtk_widget_set_valign (b, GTK_ALIGN_START);
  gtk_widget_set_margin_top (b, 4);
  gtk_widget_set_margin_end (b, 4);
  gtk_widget_add_css_class (b, "osd");
  gtk_widget_add_css_class (b, "circular");
  return b;
}

static void
tb_window_dispose (GObject *object)
{
  TbWindow *self = TB_WINDOW (object);
  if (self->runner != NULL)
    {
      tb_job_runner_cancel_all (self->runner);
      g_signal_handlers_disconnect_by_data (self->runner, self);
    }
  if (self->doc != NULL)
    g_signal_handlers_disconnect_by_data (self->doc, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), TB_TYPE_WINDOW);
  g_clear_object (&self->runner);
  g_clear_object (&self->doc);
  g_clear_pointer (&self->pending_session, json_node_unref);
  g_clear_pointer (&self->pending_session_path, g_free);
  g_clear_pointer (&self->last_message, g_free);
  g_clear_pointer (&self->session_path, g_free);
  g_clear_pointer (&self->gpu, g_free);
  g_clear_pointer (&self->backend_note, g_free);
  G_OBJECT_CLASS (tb_window_parent_class)->dispose (object);
}

static void
tb_window_class_init (TbWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = tb_window_dispose;

  g_type_ensure (TB_TYPE_SIDEBAR);
  g_type_ensure (TB_TYPE_PIPELINE_PANEL);
  g_type_ensure (TB_TYPE_MORPHO_TABLE);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/trabecula/Trabecula/ui/tb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TbWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, backend_label);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, info_bar);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, panes);
  gtk_widget_class_bind_template_child_full (widget_class, "pane0", FALSE, G_STRUCT_OFFSET (TbWindow, pane[0]));
  gtk_widget_class_bind_template_child_full (widget_class, "pane1", FALSE, G_STRUCT_OFFSET (TbWindow, pane[1]));
  gtk_widget_class_bind_template_child_full (widget_class, "pane2", FALSE, G_STRUCT_OFFSET (TbWindow, pane[2]));
  gtk_widget_class_bind_template_child_full (widget_class, "pane3", FALSE, G_STRUCT_OFFSET (TbWindow, pane[3]));
  gtk_widget_class_bind_template_child (widget_class, TbWindow, fourth_stack);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, charts_box);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, log_scale_check);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, compare_box);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, compare_a);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, compare_b);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, compare_mode);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, morpho_table);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, pipeline_panel);
  gtk_widget_class_bind_template_child (widget_class, TbWindow, sidebar);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, action_open);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, action_open_demo);
  gtk_widget_class_install_action (widget_class, "win.open-session", NULL, action_open_session);
  gtk_widget_class_install_action (widget_class, "win.save-session", NULL, action_save_session);
  gtk_widget_class_install_action (widget_class, "win.save-session-as", NULL, action_save_session_as);
  gtk_widget_class_install_action (widget_class, "win.export-png", "i", action_export_png);
  gtk_widget_class_install_action (widget_class, "win.export-tiff", NULL, action_export_tiff);
  gtk_widget_class_install_action (widget_class, "win.export-csv", NULL, action_export_csv);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, action_undo);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, action_redo);
  gtk_widget_class_install_action (widget_class, "win.maximize-pane", "i", action_maximize_pane);
  gtk_widget_class_install_action (widget_class, "win.restore-panes", NULL, action_restore_panes);
  gtk_widget_class_install_action (widget_class, "win.run-calibrate", NULL, action_run);
  gtk_widget_class_install_action (widget_class, "win.run-segment", NULL, action_run);
  gtk_widget_class_install_action (widget_class, "win.run-fe", NULL, action_run);
  gtk_widget_class_install_action (widget_class, "win.run-to", NULL, action_run);
  gtk_widget_class_install_action (widget_class, "win.run-nn", NULL, action_run);
  gtk_widget_class_install_action (widget_class, "win.run-measure", NULL, action_run);
  gtk_widget_class_install_action (widget_class, "win.choose-nn-model", NULL, action_choose_nn_model);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, action_cancel);
  gtk_widget_class_install_action (widget_class, "win.pause", NULL, action_pause);
  gtk_widget_class_install_action (widget_class, "win.add-voi-preset", "s", action_add_voi_preset);
  gtk_widget_class_install_action (widget_class, "win.add-voi-at-cursor", NULL, action_add_voi_at_cursor);
  gtk_widget_class_install_action (widget_class, "win.delete-voi", NULL, action_delete_voi);
  gtk_widget_class_install_action (widget_class, "win.load-hip-presets", NULL, action_load_hip_presets);
  gtk_widget_class_install_action (widget_class, "win.add-load-case", NULL, action_add_load_case);
  gtk_widget_class_install_action (widget_class, "win.add-force", NULL, action_add_force);
  gtk_widget_class_install_action (widget_class, "win.add-support", NULL, action_add_support);
  gtk_widget_class_install_action (widget_class, "win.delete-load", NULL, action_delete_load);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK, "win.open-demo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save-session", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.save-session-as", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.restore-panes", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "win.delete-voi", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK, "win.cancel", NULL);
  for (int i = 0; i < 4; i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK, "win.maximize-pane", "i", i);
}

static void
tb_window_init (TbWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->maximized = -1;
  self->doc = tb_document_new ();
  self->runner = tb_job_runner_new ();

  /* the three linked slice views: axial, coronal, sagittal */
  static const TbAxis axes[3] = { TB_AXIS_Z, TB_AXIS_Y, TB_AXIS_X };
  for (int i = 0; i < 3; i++)
    {
      self->views[axes[i]] = tb_slice_view_new (self->doc, axes[i]);
      gtk_overlay_set_child (GTK_OVERLAY (self->pane[i]), self->views[axes[i]]);
      gtk_overlay_add_overlay (GTK_OVERLAY (self->pane[i]), pane_button (i));
    }
  gtk_overlay_add_overlay (GTK_OVERLAY (self->pane[3]), pane_button (3));

  static const char *chart_titles[TB_N_CHARTS] = { N_("Objective (compliance / start)"), N_("Constraints"),
                                                    N_("Design change") };
  for (int i = 0; i < TB_N_CHARTS; i++)
    {
      self->charts[i] = tb_chart_new (_(chart_titles[i]));
      gtk_box_append (GTK_BOX (self->charts_box), self->charts[i]);
    }
  tb_chart_set_log_scale (TB_CHART (self->charts[TB_CHART_CHANGE]), TRUE);
  g_signal_connect (self->log_scale_check, "toggled", G_CALLBACK (on_log_scale_toggled), self);

  self->compare = tb_compare_view_new (self->doc);
  gtk_box_append (GTK_BOX (self->compare_box), self->compare);
  const char *methods[TB_N_METHODS + 1];
  for (int m = 0; m < TB_N_METHODS; m++)
    methods[m] = tb_method_get_short_label (m);
  methods[TB_N_METHODS] = NULL;
  const char *modes[] = { _("Side by side"), _("Wipe"), _("Difference"), _("Flicker"), NULL };
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->compare_a), G_LIST_MODEL (gtk_string_list_new (methods)));
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->compare_b), G_LIST_MODEL (gtk_string_list_new (methods)));
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->compare_mode), G_LIST_MODEL (gtk_string_list_new (modes)));
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->compare_a), TB_METHOD_CLINICAL);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->compare_b), TB_METHOD_TO);
  g_signal_connect (self->compare_a, "notify::selected", G_CALLBACK (on_compare_changed), self);
  g_signal_connect (self->compare_b, "notify::selected", G_CALLBACK (on_compare_changed), self);
  g_signal_connect (self->compare_mode, "notify::selected", G_CALLBACK (on_compare_changed), self);

  tb_sidebar_set_document (self->sidebar, self->doc);
  tb_pipeline_panel_set_document (self->pipeline_panel, self->doc);
  tb_pipeline_panel_set_runner (self->pipeline_panel, self->runner);
  tb_morpho_table_set_document (self->morpho_table, self->doc);
  g_signal_connect (self->doc, "changed", G_CALLBACK (on_document_changed), self);
  g_signal_connect (self->runner, "notify::busy", G_CALLBACK (on_runner_notify_busy), self);
  g_signal_connect (self->runner, "job-finished", G_CALLBACK (on_job_finished), self);
  g_signal_connect (self->info_bar, "response", G_CALLBACK (on_info_bar_response), self);

  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  update_backend (self);   /* "Probing…" until the probe answers */
  GTask *task = g_task_new (self, NULL, probe_done, NULL);
  g_task_run_in_thread (task, probe_thread);
  g_object_unref (task);

  update_actions (self);
}

TbWindow *
tb_window_new (AdwApplication *app)
{
  return g_object_new (TB_TYPE_WINDOW, "application", app, NULL);
}

/* Screenshots: render the widget's snapshot with the window's renderer. */
gboolean
tb_widget_save_png (GtkWidget *widget, const char *path, GError **error)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GtkNative *native = gtk_widget_get_native (widget);
  if (w <= 0 || h <= 0 || native == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The view is not on screen: nothing to export"));
      return FALSE;
    }
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), w, h);
  g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The view drew nothing"));
      return FALSE;
    }
  GskRenderer *renderer = gtk_native_get_renderer (native);
  g_autoptr(GdkTexture) texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  /* Write to a temporary name and rename: nothing half-written. */
  g_autofree char *tmp = g_strconcat (path, ".part", NULL);
  if (!gdk_texture_save_to_png (texture, tmp))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write %s"), path);
      g_unlink (tmp);
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), _("Could not write %s: %s"), path, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
