/* tb-cli.h — the subcommands of trabecula-cli and the few things they share.
 *
 * Exit status: 0 success, 1 bad usage (unknown option, missing argument), 2 bad input (a file that
 * cannot be read, a VOI outside the image, ...). Every failure prints ONE clear line on stderr. */
#pragma once

#include <glib.h>
#include "tb-volume.h"

G_BEGIN_DECLS

enum { TB_CLI_OK = 0, TB_CLI_USAGE = 1, TB_CLI_INPUT = 2 };

typedef int (*TbCliRun) (int argc, char **argv);

typedef struct {
  const char *name;
  const char *summary;
  TbCliRun run;
} TbCliCommand;

/* Parse options of a subcommand; on failure prints the error and returns FALSE. --help prints and exits 0. */
gboolean tb_cli_parse (GOptionContext *ctx, int *argc, char ***argv);
/* Print "trabecula-cli NAME: message" for a usage error and return TB_CLI_USAGE. */
int      tb_cli_usage (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Print "trabecula-cli NAME: error->message" and return TB_CLI_INPUT. */
int      tb_cli_fail (const char *command, const GError *error);
/* Progress to stderr on a terminal: one line, rewritten in place at most every 0.2 s. */
void     tb_cli_progress (double fraction, const char *message, gpointer user_data);

/* `enhance --method to|nn` hands over to these (cli-enhance.c) */
int tb_cli_enhance_to (int argc, char **argv);
int tb_cli_enhance_nn (int argc, char **argv);

/* the subcommands: int tb_cli_NAME (int argc, char **argv), listed in cli-commands.def */
#define TB_CLI_COMMAND(name, summary) int tb_cli_##name (int argc, char **argv);
#include "cli-commands.def"
#undef TB_CLI_COMMAND

G_END_DECLS
