/* tb-ui.h — libtrabecula-ui's one setup call: resources, CSS and widget types. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The GResource (templates, CSS, gtk/help-overlay.ui): before an application's startup, so GTK
 * finds the shortcuts window at the resource base path. Needs no display. Idempotent. */
void tb_ui_register_resources (void);
/* Call once after gtk_init / adw_init (AdwApplication's startup does both): resources, CSS, types. */
void tb_ui_init (void);

G_END_DECLS
