/* tb-preferences-window.c — rows bound to the application's GSettings. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include "tb-preferences-window.h"

struct _TbPreferencesWindow
{
  AdwPreferencesWindow parent_instance;
  GtkWidget *backend_row, *threads_spin, *to_upscale_spin, *to_iterations_spin, *nn_upscale_spin, *demo_spacing_spin;
};

G_DEFINE_FINAL_TYPE (TbPreferencesWindow, tb_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
tb_preferences_window_class_init (TbPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/trabecula/Trabecula/ui/tb-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TbPreferencesWindow, backend_row);
  gtk_widget_class_bind_template_child (widget_class, TbPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, TbPreferencesWindow, to_upscale_spin);
  gtk_widget_class_bind_template_child (widget_class, TbPreferencesWindow, to_iterations_spin);
  gtk_widget_class_bind_template_child (widget_class, TbPreferencesWindow, nn_upscale_spin);
  gtk_widget_class_bind_template_child (widget_class, TbPreferencesWindow, demo_spacing_spin);
}

static void
tb_preferences_window_init (TbPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
tb_preferences_window_new (GtkWindow *parent, GSettings *settings)
{
  TbPreferencesWindow *self = g_object_new (TB_TYPE_PREFERENCES_WINDOW, "transient-for", parent, "modal", TRUE, NULL);
  if (settings != NULL)
    {
      g_settings_bind (settings, "backend", self->backend_row, "selected", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "to-upscale", self->to_upscale_spin, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "to-iterations", self->to_iterations_spin, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "nn-upscale", self->nn_upscale_spin, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "demo-spacing", self->demo_spacing_spin, "value", G_SETTINGS_BIND_DEFAULT);
    }
  else
    gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
  return GTK_WIDGET (self);
}
