/* cli-image.h — what the image subcommands (info, convert, crop, resample) share:
 * reading with an optional fallback voxel size, writing by extension, and number lists. */
#pragma once

#include "tb-cli.h"
#include "io/tb-io.h"

G_BEGIN_DECLS

/* "S" -> S,S,S or "SX,SY,SZ"; every value finite and > 0. */
gboolean  tb_cli_parse_spacing (const char *text, double out[3]);
/* Exactly n comma-separated numbers. */
gboolean  tb_cli_parse_doubles (const char *text, double *out, int n);
gboolean  tb_cli_parse_ints    (const char *text, int *out, int n);

/* Reads IN (fallback_spacing: NULL or 3 values in mm); on failure prints the one-line message. */
TbVolume *tb_cli_read          (const char *command, const char *path, const double *fallback_spacing,
                                TbIoInfo *info);
/* Parses --input-spacing (NULL text: nothing to do); on a bad value prints usage and sets *status. */
gboolean  tb_cli_input_spacing (const char *command, const char *text, double out[3], int *status);
/* Writes OUT by extension with the type name (NULL: float32); returns the exit status. */
int       tb_cli_write         (const char *command, const char *path, const TbVolume *v, const char *type_name);

/* The option entry every image subcommand takes. */
#define TB_CLI_INPUT_SPACING_ENTRY(var) \
  { "input-spacing", 0, 0, G_OPTION_ARG_STRING, &(var), \
    "Voxel size in mm used when IN states none (S or SX,SY,SZ)", "S" }

G_END_DECLS
