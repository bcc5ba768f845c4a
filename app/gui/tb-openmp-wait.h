/* tb-openmp-wait.h — the desktop app's OpenMP workers wait passively (see tb-openmp-wait.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Call first thing in main(), before any thread exists. Unless the user set OMP_WAIT_POLICY, sets
 * it to PASSIVE and re-executes the program (argv as main got it) so that the OpenMP runtime sees
 * it; returns only when nothing needs doing or the re-execution failed. */
void tb_openmp_wait_passive (char **argv);

G_END_DECLS
