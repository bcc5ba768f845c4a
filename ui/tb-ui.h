/* tb-ui.h — libtrabecula-ui's one setup call: resources, CSS and widget types. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Call once after gtk_init / adw_init (AdwApplication's startup does both). */
void tb_ui_init (void);

G_END_DECLS
