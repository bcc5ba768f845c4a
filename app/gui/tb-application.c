/* tb-application.c — startup, windows, app actions and options. */
#include "config-ui.h"

#include <glib/gi18n.h>
#include "tb-application.h"
#include "tb-ui.h"
#include "tb-window.h"
#include "tb-preferences-window.h"

struct _TbApplication
{
  AdwApplication parent_instance;
  GSettings *settings;
  gboolean demo;
  double demo_spacing;
};

G_DEFINE_FINAL_TYPE (TbApplication, tb_application, ADW_TYPE_APPLICATION)

/* The schema is installed with the app; an uninstalled build finds the one compiled in the build
 * folder; without either the preferences fall back to their defaults (no abort, as
 * g_settings_new would). */
static GSettings *
load_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source != NULL ? g_settings_schema_source_lookup (source, TB_APP_ID, TRUE) : NULL;
  if (schema == NULL)
    {
      g_autoptr(GSettingsSchemaSource) local = g_settings_schema_source_new_from_directory (TB_SCHEMA_BUILD_DIR, source,
                                                                                            FALSE, NULL);
      if (local != NULL)
        schema = g_settings_schema_source_lookup (local, TB_APP_ID, FALSE);
    }
  return schema != NULL ? g_settings_new_full (schema, NULL, NULL) : NULL;
}

static TbWindow *
new_window (TbApplication *self)
{
  TbWindow *win = tb_window_new (ADW_APPLICATION (self));
  if (self->settings != NULL)
    tb_window_bind_settings (win, self->settings);   /* backend and threads, followed while it lives */
  gtk_window_present (GTK_WINDOW (win));
  return win;
}

static void
tb_application_activate (GApplication *app)
{
  TbApplication *self = TB_APPLICATION (app);
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (win == NULL)
    win = GTK_WINDOW (new_window (self));
  if (self->demo)
    {
      self->demo = FALSE;
      double spacing = self->demo_spacing > 0 ? self->demo_spacing
                       : self->settings != NULL ? g_settings_get_double (self->settings, "demo-spacing") : 0.625;
      tb_window_open_demo (TB_WINDOW (win), spacing);
    }
  gtk_window_present (win);
}

static void
tb_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  TbApplication *self = TB_APPLICATION (app);
  for (int i = 0; i < n_files; i++)
    {
      TbWindow *win = new_window (self);
      g_autofree char *path = g_file_get_path (files[i]);
      if (path != NULL && (g_str_has_suffix (path, ".trabecula") || g_str_has_suffix (path, ".json")))
        tb_window_open_session (win, path);
      else
        tb_window_open_file (win, files[i]);
    }
}

static void
action_new_window (GSimpleAction *a, GVariant *p, gpointer app)
{
  new_window (TB_APPLICATION (app));
}

static void
action_preferences (GSimpleAction *a, GVariant *p, gpointer app)
{
  TbApplication *self = TB_APPLICATION (app);
  GtkWidget *prefs = tb_preferences_window_new (gtk_application_get_active_window (GTK_APPLICATION (app)),
                                                self->settings);
  gtk_window_present (GTK_WINDOW (prefs));
}

static void
action_about (GSimpleAction *a, GVariant *p, gpointer app)
{
  const char *developers[] = { "The Trabecula developers", NULL };
  GtkWidget *about = adw_about_window_new ();
  g_object_set (about,
                "transient-for", gtk_application_get_active_window (GTK_APPLICATION (app)),
                "application-name", _("Trabecula"),
                "application-icon", TB_APP_ID,
                "version", TB_VERSION,
                "comments", _("Recovers trabecular bone micro-architecture from clinical CT by topology optimization "
                              "and neural networks, and measures it."),
                "license-type", GTK_LICENSE_GPL_3_0,
                "developers", developers,
                "website", "https://github.com/trabecula/trabecula",
                NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
action_quit (GSimpleAction *a, GVariant *p, gpointer app)
{
  g_application_quit (G_APPLICATION (app));
}

static void
tb_application_startup (GApplication *app)
{
  TbApplication *self = TB_APPLICATION (app);
  tb_ui_register_resources ();   /* first: GTK loads gtk/help-overlay.ui during startup */
  G_APPLICATION_CLASS (tb_application_parent_class)->startup (app);
  tb_ui_init ();
  gtk_window_set_default_icon_name (TB_APP_ID);
  self->settings = load_settings ();
  g_object_set_data (G_OBJECT (app), "tb-settings", self->settings);
  static const GActionEntry entries[] = {
    { "new-window", action_new_window }, { "preferences", action_preferences },
    { "about", action_about }, { "quit", action_quit },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  const char *quit[] = { "<Primary>q", NULL }, *nw[] = { "<Primary>n", NULL }, *prefs[] = { "<Primary>comma", NULL };
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.new-window", nw);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", prefs);
}

static int
tb_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  TbApplication *self = TB_APPLICATION (app);
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("trabecula %s\n", TB_VERSION);
      return 0;
    }
  self->demo = g_variant_dict_contains (options, "demo");
  g_variant_dict_lookup (options, "demo-spacing", "d", &self->demo_spacing);
  if (self->demo_spacing != 0 && !(self->demo_spacing >= 0.1 && self->demo_spacing <= 5))
    {
      g_printerr (_("--demo-spacing must be between 0.1 and 5 mm\n"));
      return 1;
    }
  return -1;
}

static void
tb_application_finalize (GObject *object)
{
  TbApplication *self = TB_APPLICATION (object);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (tb_application_parent_class)->finalize (object);
}

static void
tb_application_class_init (TbApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = tb_application_finalize;
  app_class->startup = tb_application_startup;
  app_class->activate = tb_application_activate;
  app_class->open = tb_application_open;
  app_class->handle_local_options = tb_application_handle_local_options;
}

static void
tb_application_init (TbApplication *self)
{
  const GOptionEntry options[] = {
    { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Open the demo femur at start"), NULL },
    { "demo-spacing", 0, 0, G_OPTION_ARG_DOUBLE, NULL, N_("Voxel size of the demo femur's QCT (mm)"), N_("MM") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[IMAGE or SESSION…]"));
}

TbApplication *
tb_application_new (void)
{
  /* NON_UNIQUE: each start is its own process, so a test or a batch never talks to another instance. */
  return g_object_new (TB_TYPE_APPLICATION, "application-id", TB_APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/io/github/trabecula/Trabecula", NULL);
}
