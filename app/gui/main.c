/* main.c — trabecula, the desktop application. */
#include "config-ui.h"

#include <locale.h>
#include <glib/gi18n.h>
#include "tb-application.h"
#include "tb-openmp-wait.h"

int
main (int argc, char *argv[])
{
  /* first, before any thread: OpenMP workers must not spin beside the main loop (tb-openmp-wait.c) */
  tb_openmp_wait_passive (argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, TB_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_autoptr(TbApplication) app = tb_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
