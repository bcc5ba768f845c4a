/* bench-morpho.c — local thickness, Euler number and SSIM against SciPy / scikit-image, measured
 * in the same run on the same arrays. Prints: case | ours | peer | ratio | target | met.
 * The micro-CT is segmented by tests/morpho/microct_reference.py (Gaussian sigma 1, Otsu), whose
 * plain SciPy maximal-sphere local thickness is the thickness peer. Timings are best of N on a
 * shared machine: noisy. */
#include "tb-runtime.h"
#include "tb-test.h"
#include "morpho/tb-morpho.h"
#include "metrics/tb-metrics.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#define REPEATS 3

static double
best_of (double (*run) (gpointer), gpointer data, double *value)
{
  double best = HUGE_VAL;
  for (int r = 0; r < REPEATS; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      *value = run (data);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  return best;
}

static double
cpu_seconds (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double run_thickness (gpointer m)
{
  double mean;
  g_autoptr(TbVolume) map = tb_morpho_local_thickness (m, TRUE, NULL, &mean, NULL, NULL, NULL, NULL, NULL, NULL);
  return mean;
}
static double run_euler (gpointer m)
{
  double chi;
  tb_morpho_euler (m, &chi, NULL);
  return chi;
}
typedef struct { TbVolume *a, *b; TbMetricsSsimMode mode; } SsimJob;
static double run_ssim (gpointer p)
{
  SsimJob *j = p;
  return tb_metrics_ssim (j->a, j->b, 255.0, j->mode, NULL, NULL, NULL);
}

static TbVolume *
image (int nx, int ny, int nz, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  TbVolume *v = tb_volume_new (nx, ny, nz, NULL, NULL);
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    {
      int x = i % nx, y = (i / nx) % ny;
      v->data[i] = (float) (128 + 60 * sin (0.05 * x) * cos (0.07 * y) + 30 * g_rand_double_range (rand, -1, 1));
    }
  return v;
}

static void
row (const char *name, double ours, double peer, double target_ratio, const char *target, gboolean met)
{
  printf ("| %-34s | %9.4f s | %9.4f s | %7.1fx | %-18s | %-3s |\n", name, ours, peer, peer / ours, target,
          met ? "yes" : "NO");
  (void) target_ratio;
}

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
  const char *src = g_getenv ("TB_SOURCE_DIR");
  const char *data = g_getenv ("TB_SHARED_DATA");
  if (src == NULL || data == NULL || !g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      printf ("bench-morpho: needs TB_SOURCE_DIR, TB_SHARED_DATA and /usr/bin/python3 (run it with meson test --benchmark)\n");
      return 77;
    }
  g_autofree char *tif = g_build_filename (data, "microct", "LHDL_3155_D_4_bc_uint8_200x200x200_19.5um.tif", NULL);
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *mask_path = g_build_filename (dir, "mask.raw", NULL);
  g_autofree char *cmd = g_strdup_printf ("/usr/bin/python3 %s/tests/morpho/microct_reference.py %s %s",
                                          src, tif, mask_path);
  g_autofree char *out = NULL;
  int status;
  if (!g_spawn_command_line_sync (cmd, &out, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
    {
      printf ("bench-morpho: the SciPy reference did not run (scikit-image or tifffile missing?)\n");
      tb_test_rmdir (dir);
      return 77;
    }
  double peer_thick = NAN, peer_tbth = NAN, peer_cpu = NAN;
  int nx = 0, ny = 0, nz = 0;
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (g_str_has_prefix (*l, "thickness_seconds ")) peer_thick = g_ascii_strtod (*l + 18, NULL);
      if (g_str_has_prefix (*l, "tbth ")) peer_tbth = g_ascii_strtod (*l + 5, NULL);
      if (g_str_has_prefix (*l, "thickness_cpu_seconds ")) peer_cpu = g_ascii_strtod (*l + 22, NULL);
      if (g_str_has_prefix (*l, "shape ")) sscanf (*l + 6, "%d %d %d", &nx, &ny, &nz);
    }
  g_autoptr(TbMask) m = tb_mask_new (nx, ny, nz, NULL, NULL);
  gsize len = 0;
  g_autofree char *raw = NULL;
  g_file_get_contents (mask_path, &raw, &len, NULL);
  g_assert_cmpuint (len, ==, tb_mask_n_voxels (m));
  memcpy (m->data, raw, len);

  /* arrays for SSIM: 2D 1024^2 and 3D 128^3 */
  g_autoptr(TbVolume) a2 = image (1024, 1024, 1, 1), b2 = image (1024, 1024, 1, 2);
  g_autoptr(TbVolume) a3 = image (128, 128, 128, 3), b3 = image (128, 128, 128, 4);
  struct { const char *name; TbVolume *v; } files[] = { { "a2d.raw", a2 }, { "b2d.raw", b2 }, { "a3d.raw", a3 }, { "b3d.raw", b3 } };
  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *p = g_build_filename (dir, files[f].name, NULL);
      g_file_set_contents (p, (char *) files[f].v->data, tb_volume_n_voxels (files[f].v) * sizeof (float), NULL);
    }
  g_autofree char *meta = g_strdup_printf ("nx2 1024\nny2 1024\nn3 128\nmx %d\nmy %d\nmz %d\n", nx, ny, nz);
  g_autofree char *meta_path = g_build_filename (dir, "meta.txt", NULL);
  g_file_set_contents (meta_path, meta, -1, NULL);
  g_autofree char *cmd2 = g_strdup_printf ("/usr/bin/python3 %s/tests/bench/bench_morpho_peer.py %s %d", src, dir, REPEATS);
  g_autofree char *out2 = NULL;
  if (!g_spawn_command_line_sync (cmd2, &out2, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
    {
      printf ("bench-morpho: the scikit-image peer did not run\n");
      tb_test_rmdir (dir);
      return 77;
    }
  double peer_s2 = NAN, peer_s3 = NAN, peer_eu = NAN, v_s2 = NAN, v_s3 = NAN, v_eu = NAN;
  g_auto(GStrv) l2 = g_strsplit (out2, "\n", -1);
  for (char **l = l2; *l; l++)
    {
      if (g_str_has_prefix (*l, "ssim2d ")) sscanf (*l + 7, "%lf %lf", &peer_s2, &v_s2);
      if (g_str_has_prefix (*l, "ssim3d ")) sscanf (*l + 7, "%lf %lf", &peer_s3, &v_s3);
      if (g_str_has_prefix (*l, "euler ")) sscanf (*l + 6, "%lf %lf", &peer_eu, &v_eu);
    }
  tb_test_rmdir (dir);

  double tbth, chi, s2, s3;
  double c0 = cpu_seconds ();
  double t_thick = best_of (run_thickness, m, &tbth);
  double cpu_thick = (cpu_seconds () - c0) / REPEATS;  /* all threads, mean of the runs */
  double t_eu = best_of (run_euler, m, &chi);
  SsimJob j2 = { a2, b2, TB_METRICS_SSIM_2D }, j3 = { a3, b3, TB_METRICS_SSIM_3D };
  double t_s2 = best_of (run_ssim, &j2, &s2);
  double t_s3 = best_of (run_ssim, &j3, &s3);

  printf ("Morphometry and metrics benchmark, %d OpenMP threads, best of %d (shared machine: timings are noisy)\n",
          g_get_num_processors (), REPEATS);
  printf ("| %-34s | %11s | %11s | %8s | %-18s | %-3s |\n", "case", "ours", "peer", "ratio", "target", "met");
  printf ("|%s|%s|%s|%s|%s|%s|\n", "------------------------------------", "-------------", "-------------",
          "----------", "--------------------", "-----");
  row ("local thickness 200^3 micro-CT", t_thick, peer_thick, 0, "<= 0.5 s, > SciPy", t_thick <= 0.5 && t_thick < peer_thick);
  row ("Euler number 200^3 (skimage)", t_eu, peer_eu, 5, ">= 5x skimage", peer_eu / t_eu >= 5);
  row ("SSIM 2D 1024^2 (skimage)", t_s2, peer_s2, 5, ">= 5x skimage", peer_s2 / t_s2 >= 5);
  row ("SSIM 3D 128^3 (skimage)", t_s3, peer_s3, 5, ">= 5x skimage", peer_s3 / t_s3 >= 5);
  printf ("local thickness CPU time (all threads, independent of other users' load): ours %.3f s, SciPy %.3f s\n",
          cpu_thick, peer_cpu);
  printf ("machine load average at the end: ");
  g_autofree char *loadavg = NULL;
  if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL))
    printf ("%s", loadavg);
  else
    printf ("unknown\n");
  printf ("values: Tb.Th ours %.6f vs SciPy %.6f voxels; Euler ours %.0f vs skimage %.0f; "
          "SSIM 2D %.12f vs %.12f; 3D %.12f vs %.12f\n", tbth, peer_tbth, chi, v_eu, s2, v_s2, s3, v_s3);
  return 0;
}
