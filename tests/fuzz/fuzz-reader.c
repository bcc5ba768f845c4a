/* fuzz-reader.c — libFuzzer harness for the image readers: every input goes through tb_io_read
 * (which picks the reader by content) from a file named *.FUZZ_EXT. run-fuzz.sh builds it once per
 * reader (-DFUZZ_EXT="tif", "nii", "mhd", "dcm") and runs each on that reader's seed corpus. */
#include "io/tb-io.h"

#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>

#ifndef FUZZ_EXT
#define FUZZ_EXT "tif"
#endif

static char *path;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* headers that claim huge images must be refused, not allocated */
  g_setenv ("TB_MEMORY_LIMIT", "256M", TRUE);
  path = g_strdup_printf ("%s/tb-fuzz-%d." FUZZ_EXT, g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir (),
                          (int) getpid ());
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    abort ();
  GError *error = NULL;
  TbVolume *v = tb_io_read (path, NULL, NULL, NULL, &error);
  /* exactly one of a volume and an error */
  if ((v == NULL) == (error == NULL))
    abort ();
  if (v != NULL)
    tb_volume_unref (v);
  g_clear_error (&error);
  g_unlink (path);
  return 0;
}
