/* tb-runtime.h — process set-up every Trabecula program runs first (CLI, GUI, benchmarks). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Makes the numerical libraries behave on this machine, before any work starts:
 *  - OpenBLAS (Debian's DYNAMIC_ARCH build) picks its kernels from the CPU model; on virtual machines
 *    that hide the model it falls back to "Prescott" (SSE3) kernels, 5-10x slower than the CPU can do.
 *    The choice is made when the library loads, before main(), and can only be changed through
 *    OPENBLAS_CORETYPE: when the fallback was taken and the CPU has AVX-512 (SkylakeX kernels) or
 *    AVX2+FMA (Haswell), that variable is set.
 *  - OpenBLAS runs single-threaded: Trabecula parallelizes with OpenMP around its BLAS calls, and
 *    idle OpenBLAS threads spin (sched_yield) next to the OpenMP workers on a small machine.
 *  - OpenMP workers wait passively unless OMP_WAIT_POLICY is set: spinning workers steal the cores
 *    from other processes and from a GUI main loop (measured: 4.4 s vs 0.97 s for one test here).
 *    libgomp also reads its environment when it loads.
 * When a variable had to be set, the program re-executes itself once (/proc/self/exe) so the libraries
 * see it. The user's own settings are never overridden; TB_NO_REEXEC=1 disables the re-execution.
 * argv must be main()'s argv (NULL-terminated). Returns normally when no re-execution happens. */
void tb_runtime_init (char **argv);

G_END_DECLS
