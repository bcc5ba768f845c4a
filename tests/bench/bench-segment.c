/* bench-segment.c — watershed + complementary segmentation of the whole phantom QCT (target <= 10 s), and
 * the watershed flood against scikit-image's (skimage.segmentation.watershed, same relief, same markers),
 * timed in the same run. Also the real clinical CT when ../shared/data is present.
 * Timings on a shared machine are noisy: run it on a quiet one, or read the ratios. */
#include "tb-runtime.h"
#include "segment/tb-segment.h"
#include "phantom/tb-phantom.h"
#include "../segment/segment-test-common.h"

#include <omp.h>
#include <string.h>
#include <time.h>

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

typedef struct {
  char name[96];
  double ours, peer, target;  /* seconds; peer/target NaN when none */
} Row;

static GArray *rows;

static void
add_row (const char *name, double ours, double peer, double target)
{
  Row r = { { 0 }, ours, peer, target };
  g_strlcpy (r.name, name, sizeof r.name);
  g_array_append_val (rows, r);
}

/* the markers the watershed method builds: bone components + not-enclosed tissue as background */
static TbMask *
simple_markers (const TbVolume *ct, double t_bone, double t_bg)
{
  gsize n = tb_volume_n_voxels (ct);
  g_autoptr(TbMask) bone = tb_mask_new (ct->nx, ct->ny, ct->nz, ct->spacing, NULL);
  for (gsize i = 0; i < n; i++)
    bone->data[i] = ct->data[i] > t_bone;
  TbMask *m = tb_segment_components (bone, 6, NULL, NULL);
  for (gsize i = 0; i < n; i++)
    {
      if (m->data[i])
        m->data[i] = m->data[i] == 255 ? 0 : m->data[i] + 1;
      if (ct->data[i] < t_bg)
        m->data[i] = 1;
    }
  return m;
}

static void
bench_ct (const char *label, const TbVolume *ct, const TbSegmentParams *params)
{
  GError *error = NULL;
  double t0 = now ();
  clock_t c0 = clock ();
  g_autoptr(TbSegmentResult) res = tb_segment_run (ct, params, NULL, NULL, NULL, &error);
  double t_total = now () - t0;
  g_print ("# %s: complementary wall %.2f s, CPU %.2f s over all threads (the CPU time is what a quiet "
           "machine's wall time approaches, divided by the threads it gets)\n", label, t_total,
           (double) (clock () - c0) / CLOCKS_PER_SEC);
  g_assert_no_error (error);
  char name[96];
  g_snprintf (name, sizeof name, "complementary, all steps, %s %dx%dx%d", label, ct->nx, ct->ny, ct->nz);
  add_row (name, t_total, NAN, 10.0);
  g_print ("# %s: %u objects, t_bone %.1f HU, %u joint splits\n", label, res->n_objects, res->t_bone, res->n_splits);

  /* the flood alone, ours and scikit-image's, on the same relief and markers */
  g_autoptr(TbVolume) relief = tb_segment_gradient (ct, params->gradient_sigma, &error);
  g_assert_no_error (error);
  g_autoptr(TbMask) markers = simple_markers (ct, res->t_bone, res->t_background);
  t0 = now ();
  g_autoptr(TbMask) ws = tb_segment_watershed (relief, markers, NULL, NULL, NULL, &error);
  double t_ws = now () - t0;
  g_assert_no_error (error);
  double t_peer = NAN;
  g_autofree char *dir = tb_test_tmpdir ();
  g_autofree char *fr = g_build_filename (dir, "r.raw", NULL), *fm = g_build_filename (dir, "m.raw", NULL),
                  *fo = g_build_filename (dir, "o.raw", NULL);
  gsize n = tb_volume_n_voxels (ct);
  segment_test_write (fr, relief->data, n * 4);
  segment_test_write (fm, markers->data, n);
  g_autofree char *sx = g_strdup_printf ("%d", ct->nx), *sy = g_strdup_printf ("%d", ct->ny),
                  *sz = g_strdup_printf ("%d", ct->nz);
  const char *args[] = { "watershed", fr, fm, sx, sy, sz, fo, NULL };
  g_autofree char *out = segment_test_peer (args);
  if (out != NULL)
    {
      t_peer = g_ascii_strtod (out, NULL);
      g_autofree char *ref = NULL;
      gsize len = 0;
      if (g_file_get_contents (fo, &ref, &len, NULL) && len == n)
        {
          gsize same = 0;
          for (gsize i = 0; i < n; i++)
            same += (guint8) ref[i] == ws->data[i];
          g_print ("# %s: watershed labels equal to scikit-image's on %.4f %% of voxels\n", label, 100.0 * same / n);
        }
    }
  tb_test_rmdir (dir);
  g_snprintf (name, sizeof name, "watershed flood, %s", label);
  add_row (name, t_ws, t_peer, NAN);
}

static void
drop_debug (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
  g_test_init (&argc, &argv, NULL);  /* only for g_test_skip used by the shared helpers */
  g_log_set_handler ("Trabecula", G_LOG_LEVEL_DEBUG, drop_debug, NULL);
  rows = g_array_new (FALSE, FALSE, sizeof (Row));
  g_print ("# bench-segment: %d OpenMP threads; timings on a shared machine are noisy\n", omp_get_max_threads ());

  TbPhantomParams pp;
  tb_phantom_params_init (&pp);
  GError *error = NULL;
  g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, &error);
  g_assert_no_error (error);
  double t0 = now ();
  g_autoptr(TbPhantomQct) qct = tb_phantom_simulate_qct (ph, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_print ("# phantom QCT simulated in %.1f s (not counted)\n", now () - t0);
  TbSegmentParams params;
  tb_segment_params_init (&params);
  bench_ct ("phantom QCT 0.625 mm", qct->hu, &params);

  const char *dir = g_getenv ("TB_SHARED_DATA");
  g_autofree char *path = dir ? g_build_filename (dir, "clinical_ct", "example_ct.nii.gz", NULL) : NULL;
  if (path != NULL && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(TbVolume) ct = segment_test_read_nifti (path);
      bench_ct ("clinical CT 3 mm", ct, &params);
    }

  g_print ("\n| case | ours (s) | scikit-image (s) | ratio (peer/ours) | target | met |\n|---|---|---|---|---|---|\n");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = &g_array_index (rows, Row, i);
      g_autofree char *peer = isnan (r->peer) ? g_strdup ("-") : g_strdup_printf ("%.3f", r->peer);
      g_autofree char *ratio = isnan (r->peer) ? g_strdup ("-") : g_strdup_printf ("%.2fx", r->peer / r->ours);
      g_autofree char *target = isnan (r->target) ? g_strdup ("-") : g_strdup_printf ("<= %.0f s", r->target);
      const char *met = isnan (r->target) ? "-" : r->ours <= r->target ? "yes" : "NO";
      g_print ("| %s | %.3f | %s | %s | %s | %s |\n", r->name, r->ours, peer, ratio, target, met);
    }
  g_array_unref (rows);
  return 0;
}
