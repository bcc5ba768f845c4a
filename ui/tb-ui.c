/* tb-ui.c — registers the GResource, loads the stylesheet and the widget types for templates. */
#include "config-ui.h"

#include "tb-ui.h"
#include "tb-ui-resources.h"
#include "tb-window.h"

void
tb_ui_register_resources (void)
{
  static gboolean done;
  if (done)
    return;
  done = TRUE;
  g_resources_register (tb_ui_get_resource ());
}

void
tb_ui_init (void)
{
  static gboolean done;
  if (done)
    return;
  done = TRUE;
  tb_ui_register_resources ();
  GtkCssProvider *css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/io/github/trabecula/Trabecula/ui/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref (css);
  g_type_ensure (TB_TYPE_SLICE_VIEW);
  g_type_ensure (TB_TYPE_CHART);
  g_type_ensure (TB_TYPE_COMPARE_VIEW);
  g_type_ensure (TB_TYPE_SIDEBAR);
  g_type_ensure (TB_TYPE_PIPELINE_PANEL);
  g_type_ensure (TB_TYPE_MORPHO_TABLE);
  g_type_ensure (TB_TYPE_WINDOW);
}
