/* tb-preferences-window.h — backend, threads and the default TO / NN settings (GSettings). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TB_TYPE_PREFERENCES_WINDOW (tb_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (TbPreferencesWindow, tb_preferences_window, TB, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* settings may be NULL (no schema installed): the window then only shows the defaults. */
GtkWidget *tb_preferences_window_new (GtkWindow *parent, GSettings *settings);

G_END_DECLS
