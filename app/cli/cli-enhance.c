/* cli-enhance.c — `trabecula-cli enhance --method to|nn ...`: one command, two ways to rebuild
 * trabecular bone. It removes --method from the arguments and hands the rest to the method's own
 * parser (cli-enhance-to.c, cli-enhance-nn.c), whose --help lists its options. */
#include "tb-cli.h"

#include <stdio.h>
#include <string.h>

int
tb_cli_enhance (int argc, char **argv)
{
  const char *method = NULL;
  g_autofree char **rest = g_new0 (char *, argc + 1);
  int n = 0;

  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--method") == 0 || strcmp (argv[i], "-m") == 0)
        {
          if (i + 1 >= argc)
            return tb_cli_usage ("enhance", "--method needs a value: to or nn");
          method = argv[++i];
        }
      else if (g_str_has_prefix (argv[i], "--method="))
        method = argv[i] + strlen ("--method=");
      else
        rest[n++] = argv[i];
    }

  if (method == NULL)
    {
      gboolean help = FALSE;
      for (int i = 1; i < n; i++)
        help |= strcmp (rest[i], "--help") == 0 || strcmp (rest[i], "-h") == 0;
      if (help)
        {
          printf ("Usage: trabecula-cli enhance --method to|nn [OPTIONS...]\n\n"
                  "Rebuild trabecular bone inside a VOI or a whole bone.\n\n"
                  "  --method to   topology optimization (Wolff's law, paper 000): minutes per VOI\n"
                  "  --method nn   a trained generator, patch by patch with seam quilting: seconds\n\n"
                  "'trabecula-cli enhance --method to --help' and '... --method nn --help' list their options.\n");
          return TB_CLI_OK;
        }
      return tb_cli_usage ("enhance", "say which method: --method to (topology optimization) or --method nn (network)");
    }
  if (strcmp (method, "to") == 0)
    return tb_cli_enhance_to (n, rest);
  if (strcmp (method, "nn") == 0)
    return tb_cli_enhance_nn (n, rest);
  return tb_cli_usage ("enhance", "unknown method '%s': use to or nn", method);
}
