/* main.c — trabecula, the desktop application. */
#include "config-ui.h"

#include <locale.h>
#include <glib/gi18n.h>
#include "tb-application.h"
#include "tb-runtime.h"

int
main (int argc, char *argv[])
{
  /* first, before any thread: OpenMP workers must not spin beside the main loop, and OpenBLAS must
   * use this CPU's kernels; both are read when the libraries load, so this may restart the program
   * once (core/tb-runtime.h) */
  tb_runtime_init (argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, TB_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_autoptr(TbApplication) app = tb_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
