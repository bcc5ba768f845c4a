/* bench-phantom.c — speed of the phantom: the whole-femur QCT at 0.625 mm and a 5 mm VOI truth at
 * 50 um, against the plain per-voxel evaluation (every sub-point of every voxel classified, no
 * skipping), measured in the same run on the same threads. The plain QCT is timed on every 12th
 * slice and scaled by 12 (it would take minutes in full); the plain VOI truth is timed in full.
 * Both paths give the same bytes (tests/phantom checks it), so the ratio is pure speed.
 *   usage: bench-phantom [--quick]     (--quick: the head VOI only, no QCT) */
#include "tb-runtime.h"
#include "phantom/tb-phantom.h"
#include "phantom/phantom-private.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* CPU seconds of the whole process (all threads): on a shared machine the wall time depends on the
 * other users; CPU time / threads is what the same run takes on idle cores. */
static double
cpu (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int n_threads = 1;

static void
row (const char *name, double ours, double ours_cpu, double peer, double peer_cpu, double target)
{
  double idle = ours_cpu / n_threads;
  g_print ("| %-46s | %7.2f s | %7.1f s | %7.2f s | %7.1f s | %6.1fx | <= %3.0f s | %-3s |\n", name, ours,
           ours_cpu, peer, peer_cpu, peer_cpu / ours_cpu, target, MIN (ours, idle) <= target ? "yes" : "NO");
}

static double
plain_qct_seconds (const TbPhantom *ph, const TbPhantomQct *q, int step)
{
  double t0 = now ();
  const TbPhantomParams *pp = tb_phantom_get_params (ph);
  double lo[3], hi[3];
  tb_phantom_get_bounds (ph, lo, hi);
  for (int d = 0; d < 3; d++)
    {
      lo[d] -= pp->margin;
      hi[d] += pp->margin;
    }
  int n_slices = 0;
  for (int k = step / 2; k < q->hu->nz; k += step, n_slices++)
    {
      g_autoptr(TbVolume) slab = tb_volume_new (q->hu->nx, q->hu->ny, 1, q->hu->spacing, NULL);
      tb_volume_voxel_to_world (q->hu, 0, 0, k, slab->origin);
      g_autoptr(TbVolume) m = tb_volume_new_like (slab, NULL);
      g_autoptr(TbVolume) s = tb_volume_new_like (slab, NULL);
      tb_phantom_sample_grid (ph, slab, pp->supersample, FALSE, lo, hi, slab->data, m->data, s->data,
                              NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    }
  return (now () - t0) * (double) q->hu->nz / n_slices;
}

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
  gboolean quick = argc > 1 && strcmp (argv[1], "--quick") == 0;
#ifdef _OPENMP
  n_threads = omp_get_max_threads ();
#endif
  g_print ("Phantom benchmark: %d OpenMP threads, %s\n\n", n_threads, quick ? "quick" : "full");
  g_print ("| %-46s | %9s | %9s | %9s | %9s | %7s | %8s | %-3s |\n", "case", "ours wall", "ours CPU",
           "peer wall", "peer CPU", "ratio", "target", "met");
  g_print ("|%s|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------------------------", "-----------",
           "-----------", "-----------", "-----------", "---------", "----------", "-----");

  double t0 = now ();
  g_autoptr(TbPhantom) ph = tb_phantom_new (NULL, NULL);
  double t_new = now () - t0;

  guint n;
  const TbPhantomVoi *v = tb_phantom_get_vois (ph, &n);
  for (guint i = 0; i < (quick ? 1 : n); i++)
    {
      t0 = now ();
      double c0 = cpu ();
      g_autoptr(TbVolume) fast = tb_phantom_truth (ph, v[i].centre, v[i].size, 0.05, NULL, NULL, NULL, NULL);
      double ours = now () - t0, ours_cpu = cpu () - c0;
      g_autoptr(TbVolume) slow = tb_volume_new_like (fast, NULL);
      t0 = now ();
      c0 = cpu ();
      tb_phantom_sample_grid (ph, slow, tb_phantom_get_params (ph)->supersample, FALSE, NULL, NULL,
                              slow->data, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
      double peer = now () - t0, peer_cpu = cpu () - c0;
      g_assert_true (memcmp (fast->data, slow->data, tb_volume_n_voxels (fast) * sizeof (float)) == 0);
      g_autofree char *name = g_strdup_printf ("VOI truth %s 5 mm @ 50 um (100^3)", v[i].name);
      row (name, ours, ours_cpu, peer, peer_cpu, 5.0);
    }

  if (!quick)
    {
      t0 = now ();
      double c0 = cpu ();
      g_autoptr(TbPhantomQct) q = tb_phantom_simulate_qct (ph, NULL, NULL, NULL, NULL);
      double ours = now () - t0, ours_cpu = cpu () - c0;
      c0 = cpu ();
      double peer = plain_qct_seconds (ph, q, 12);
      double peer_cpu = (cpu () - c0) * 12.0;
      g_autofree char *name = g_strdup_printf ("whole-femur QCT 0.625 mm (%dx%dx%d)", q->hu->nx, q->hu->ny, q->hu->nz);
      row (name, ours, ours_cpu, peer, peer_cpu, 20.0);
    }
  g_print ("\nphantom construction (lattices, BV/TV calibration): %.2f s\n", t_new);
  g_print ("ratio = peer CPU / ours CPU; met: min (wall, CPU / threads) <= target (CPU / threads is the\n"
           "wall time on idle cores; this machine is shared, so wall times are noisy and longer).\n");
  g_print ("peer = the same sampler with skipping off: every one of the 4^3 sub-points of every voxel\n"
           "classified; the plain QCT is timed on every 12th slice and scaled by 12.\n");
  return 0;
}
