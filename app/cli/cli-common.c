/* cli-common.c — option parsing, error reporting and progress shared by the subcommands. */
#include "tb-cli.h"

#include <stdio.h>
#include <unistd.h>

gboolean
tb_cli_parse (GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      g_printerr ("trabecula-cli %s: %s (see --help)\n", (*argv)[0], error->message);
      return FALSE;
    }
  return TRUE;
}

int
tb_cli_usage (const char *command, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_printerr ("trabecula-cli %s: %s (see trabecula-cli %s --help)\n", command, msg, command);
  return TB_CLI_USAGE;
}

int
tb_cli_fail (const char *command, const GError *error)
{
  g_printerr ("trabecula-cli %s: %s\n", command, error != NULL ? error->message : "failed");
  return TB_CLI_INPUT;
}

void
tb_cli_progress (double fraction, const char *message, gpointer user_data)
{
  static gint64 last;
  static gboolean tty = -1;
  if (tty == -1)
    tty = isatty (STDERR_FILENO);
  if (!tty)
    return;
  gint64 now = g_get_monotonic_time ();
  if (fraction < 1.0 && now - last < 200000)
    return;
  last = now;
  if (fraction >= 0)
    fprintf (stderr, "\r\033[K%3.0f%%  %s", 100.0 * fraction, message != NULL ? message : "");
  else
    fprintf (stderr, "\r\033[K%s", message != NULL ? message : "");
  if (fraction >= 1.0)
    fputc ('\n', stderr);
  fflush (stderr);
}
