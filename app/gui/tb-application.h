/* tb-application.h — the AdwApplication: app actions (new window, preferences, about, quit),
 * the GSettings of the preferences, and the command line (--demo). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TB_TYPE_APPLICATION (tb_application_get_type ())
G_DECLARE_FINAL_TYPE (TbApplication, tb_application, TB, APPLICATION, AdwApplication)

TbApplication *tb_application_new (void);

G_END_DECLS
