/* trabecula-cli — the batch front end: the same core stages as the GUI, one subcommand each. */
#include "tb-runtime.h"
#include "tb-cli.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const TbCliCommand commands[] = {
#define TB_CLI_COMMAND(name, summary) { #name, summary, tb_cli_##name },
#include "cli-commands.def"
#undef TB_CLI_COMMAND
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: trabecula-cli COMMAND [OPTIONS...]\n\n"
                "Recover trabecular bone micro-architecture from clinical CT.\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      /* identifiers use '_', the command line '-': make_pairs is `make-pairs` */
      g_autofree char *name = g_strdelimit (g_strdup (commands[i].name), "_", '-');
      fprintf (out, "  %-12s %s\n", name, commands[i].summary);
    }
  fprintf (out, "\nRun 'trabecula-cli COMMAND --help' for the options of a command.\n");
}

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      print_usage (stderr);
      return TB_CLI_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return TB_CLI_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("trabecula-cli " TB_VERSION "\n");
      return TB_CLI_OK;
    }
  g_autofree char *wanted = g_strdelimit (g_strdup (argv[1]), "-", '_');
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (wanted, commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  g_printerr ("trabecula-cli: unknown command '%s'\n\n", argv[1]);
  print_usage (stderr);
  return TB_CLI_USAGE;
}
