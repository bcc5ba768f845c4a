/* test-gui-widgets.c — the widgets on a small synthetic CT, in a real window under Xvfb:
 * slice view drawing and gestures (VOI draw / handles / move, zoom, slices, window/level),
 * enhanced VOIs at their own resolution, the chart, the compare view, the job runner's
 * coalescing, pause and cancel, and the document's undo/redo. */
#include <math.h>
#include <glib/gstdio.h>
#include "gui-test.h"
#include "tb-window.h"
#include "tb-stage-jobs.h"
#include "nn/tb-nn.h"

/* A 64 x 64 x 40 CT at 0.5 mm: a ball of "bone" (800 HU) in soft tissue (40 HU), air at the edges. */
static TbVolume *
make_ct (void)
{
  double sp[3] = { 0.5, 0.5, 0.5 };
  TbVolume *v = tb_volume_new (64, 64, 40, sp, NULL);
  v->origin[0] = -16; v->origin[1] = -16; v->origin[2] = -10;
  for (int k = 0; k < v->nz; k++)
    for (int j = 0; j < v->ny; j++)
      for (int i = 0; i < v->nx; i++)
        {
          double r = sqrt ((i - 32.0) * (i - 32.0) + (j - 32.0) * (j - 32.0) + (k - 20.0) * (k - 20.0));
          v->data[tb_volume_index (v, i, j, k)] = r < 14 ? 800 : r < 28 ? 40 : -1000;
        }
  return v;
}

typedef struct {
  GtkWidget *window;
  TbDocument *doc;
  TbSliceView *axial, *coronal;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->doc = tb_document_new ();
  g_autoptr(TbVolume) ct = make_ct ();
  tb_document_set_image (f->doc, ct, NULL, NULL);
  f->window = gtk_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  f->axial = TB_SLICE_VIEW (tb_slice_view_new (f->doc, TB_AXIS_Z));
  f->coronal = TB_SLICE_VIEW (tb_slice_view_new (f->doc, TB_AXIS_Y));
  gtk_widget_set_size_request (GTK_WIDGET (f->axial), 400, 400);
  gtk_widget_set_size_request (GTK_WIDGET (f->coronal), 300, 400);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (f->axial));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (f->coronal));
  gtk_window_set_child (GTK_WINDOW (f->window), box);
  gtk_window_present (GTK_WINDOW (f->window));
  gui_pump (200);
  /* a known transform: 4 px/mm about the world origin */
  tb_slice_view_look_at (f->axial, (double[3]) { 0, 0, 0 }, 4.0);
  gui_pump (50);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_object_unref (f->doc);
  gui_pump (20);
}

static void
test_voi_draw_resize_move_undo (Fixture *f, gconstpointer data)
{
  /* Draw: press at (150,150), drag to (250,230): 100 x 80 px = 25 x 20 mm at 4 px/mm. */
  tb_slice_view_drag (f->axial, GDK_BUTTON_PRIMARY, 0, 150, 150, 250, 230, 8);
  g_assert_cmpuint (tb_document_get_n_vois (f->doc), ==, 1);
  const TbDocVoi *voi = tb_document_get_voi (f->doc, 0);
  guint id = voi->id;
  /* exact up to float rounding of the pixel -> mm map */
  g_assert_cmpfloat_with_epsilon (voi->size[0], 25.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->size[1], 20.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->size[2], 20.0, 1e-9);   /* depth = the smaller side */
  double w0[3], x, y;
  tb_slice_view_widget_to_world (f->axial, 200, 190, w0);
  g_assert_cmpfloat_with_epsilon (voi->centre[0], w0[0], 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->centre[1], w0[1], 1e-9);
  g_assert_cmpuint (tb_document_get_selected_voi (f->doc), ==, id);
  g_assert_true (tb_document_can_undo (f->doc));

  /* Resize by the bottom-right handle (screen (250, 230)) by +20, +12 px: +5 mm in x, -3 mm in y
   * edge (screen down is -y), so size grows 5 x 3 mm and the opposite corner stays. */
  double lo_x = voi->centre[0] - voi->size[0] / 2, hi_y = voi->centre[1] + voi->size[1] / 2;
  tb_slice_view_drag (f->axial, GDK_BUTTON_PRIMARY, 0, 250, 230, 270, 242, 5);
  voi = tb_document_find_voi (f->doc, id);
  g_assert_cmpfloat_with_epsilon (voi->size[0], 30.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->size[1], 23.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->centre[0] - voi->size[0] / 2, lo_x, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->centre[1] + voi->size[1] / 2, hi_y, 1e-9);

  /* Move: drag from inside by (-40, +8) px = (-10, -2) mm. */
  double c0[3];
  memcpy (c0, voi->centre, sizeof c0);
  tb_slice_view_world_to_widget (f->axial, voi->centre, &x, &y);
  tb_slice_view_drag (f->axial, GDK_BUTTON_PRIMARY, 0, x, y, x - 40, y + 8, 4);
  voi = tb_document_find_voi (f->doc, id);
  g_assert_cmpfloat_with_epsilon (voi->centre[0], c0[0] - 10, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->centre[1], c0[1] - 2, 1e-9);
  g_assert_cmpfloat_with_epsilon (voi->size[0], 30.0, 1e-9);

  /* One undo step per drag: undo the move, then the resize; redo both. */
  tb_document_undo (f->doc);
  voi = tb_document_find_voi (f->doc, id);
  g_assert_cmpfloat_with_epsilon (voi->centre[0], c0[0], 1e-9);
  tb_document_undo (f->doc);
  voi = tb_document_find_voi (f->doc, id);
  g_assert_cmpfloat_with_epsilon (voi->size[0], 25.0, 1e-9);
  tb_document_redo (f->doc);
  tb_document_redo (f->doc);
  voi = tb_document_find_voi (f->doc, id);
  g_assert_cmpfloat_with_epsilon (voi->centre[0], c0[0] - 10, 1e-9);
  g_assert_false (tb_document_can_redo (f->doc));
  /* undo the drawing itself: no VOI */
  tb_document_undo (f->doc);
  tb_document_undo (f->doc);
  tb_document_undo (f->doc);
  g_assert_cmpuint (tb_document_get_n_vois (f->doc), ==, 0);
}

static void
test_click_sets_linked_crosshair (Fixture *f, gconstpointer data)
{
  guint draws = tb_slice_view_get_n_draws (f->coronal);
  double w[3], cursor[3];
  tb_slice_view_widget_to_world (f->axial, 180, 230, w);
  tb_slice_view_drag (f->axial, GDK_BUTTON_PRIMARY, 0, 180, 230, 181, 230, 1);  /* 1 px: a click */
  tb_document_get_cursor (f->doc, cursor);
  g_assert_cmpfloat_with_epsilon (cursor[0], w[0], 1e-9);
  g_assert_cmpfloat_with_epsilon (cursor[1], w[1], 1e-9);
  g_assert_cmpuint (tb_document_get_n_vois (f->doc), ==, 0);
  /* the coronal view shows the slice through the new point */
  TbVolume *ct = tb_document_get_image (f->doc);
  g_assert_cmpint (tb_slice_view_get_slice (f->coronal), ==, (int) floor ((w[1] - ct->origin[1]) / 0.5 + 0.5));
  gui_pump (60);
  g_assert_cmpuint (tb_slice_view_get_n_draws (f->coronal), >, draws);
}

static void
test_scroll_zoom_window (Fixture *f, gconstpointer data)
{
  int k0 = tb_slice_view_get_slice (f->axial);
  tb_slice_view_step_slice (f->axial, 3);
  g_assert_cmpint (tb_slice_view_get_slice (f->axial), ==, k0 + 3);
  tb_slice_view_step_slice (f->axial, -1000);
  g_assert_cmpint (tb_slice_view_get_slice (f->axial), ==, 0);   /* clamped */

  /* zoom about the cursor: the world point under (100, 120) stays there */
  double before[3], after[3];
  tb_slice_view_widget_to_world (f->axial, 100, 120, before);
  tb_slice_view_zoom_at (f->axial, 2.5, 100, 120);
  tb_slice_view_widget_to_world (f->axial, 100, 120, after);
  g_assert_cmpfloat_with_epsilon (after[0], before[0], 1e-9);
  g_assert_cmpfloat_with_epsilon (after[1], before[1], 1e-9);
  g_assert_cmpfloat_with_epsilon (tb_slice_view_get_zoom (f->axial), 10.0, 1e-9);

  /* right drag: window/level; presets */
  tb_slice_view_apply_preset (f->axial, TB_WL_SOFT_TISSUE);
  double win, lev;
  tb_slice_view_drag (f->axial, GDK_BUTTON_SECONDARY, 0, 200, 200, 250, 190, 4);
  tb_slice_view_get_window (f->axial, &win, &lev);
  g_assert_cmpfloat_with_epsilon (win, 400 + 4 * 50, 1e-9);
  g_assert_cmpfloat_with_epsilon (lev, 40 + 2 * 10, 1e-9);
  tb_slice_view_apply_preset (f->axial, TB_WL_FULL);
  tb_slice_view_get_window (f->axial, &win, &lev);
  g_assert_cmpfloat_with_epsilon (win, 1800, 1e-9);   /* -1000 .. 800 */

  /* middle drag pans: the point under the start ends under the end */
  tb_slice_view_widget_to_world (f->axial, 200, 200, before);
  tb_slice_view_drag (f->axial, GDK_BUTTON_MIDDLE, 0, 200, 200, 230, 170, 3);
  tb_slice_view_widget_to_world (f->axial, 230, 170, after);
  g_assert_cmpfloat_with_epsilon (after[0], before[0], 1e-9);
  g_assert_cmpfloat_with_epsilon (after[1], before[1], 1e-9);

  /* readout: HU under the pointer at the ball's centre */
  double centre[3] = { 0, 0, 0 }, x, y;
  tb_document_set_cursor (f->doc, centre);
  tb_slice_view_world_to_widget (f->axial, centre, &x, &y);
  tb_slice_view_hover (f->axial, x, y);
  g_assert_nonnull (strstr (tb_slice_view_get_readout (f->axial), "800 HU"));
}

/* Enhanced VOI at its own resolution: a checkerboard at 1/4 voxel inside the VOI must show up as
 * many more grey transitions per row than the clinical voxels around it. */
static void
test_enhanced_voi_pixels (Fixture *f, gconstpointer data)
{
  double centre[3] = { 0, 0, 0 }, size[3] = { 8, 8, 8 };
  tb_document_set_cursor (f->doc, centre);
  guint id = tb_document_add_voi (f->doc, "test", centre, size);
  tb_slice_view_apply_preset (f->axial, TB_WL_FULL);
  tb_slice_view_look_at (f->axial, centre, 20.0);   /* 20 px/mm: a clinical voxel is 10 px */
  gui_pump (80);
  g_autoptr(GdkTexture) before = gui_render (GTK_WIDGET (f->axial));
  double sp[3] = { 0.125, 0.125, 0.125 };
  g_autoptr(TbVolume) fine = tb_volume_new (64, 64, 64, sp, NULL);
  for (int a = 0; a < 3; a++)
    fine->origin[a] = -4 + 0.0625;
  for (gsize i = 0; i < tb_volume_n_voxels (fine); i++)
    {
      int x = i % 64, yy = (i / 64) % 64;
      fine->data[i] = ((x / 1) + (yy / 1)) % 2;   /* checkerboard of single fine voxels */
    }
  tb_document_set_result (f->doc, id, TB_METHOD_TO, fine);
  gui_pump (80);
  g_autoptr(GdkTexture) after = gui_render (GTK_WIDGET (f->axial));
  double vx, vy;
  tb_slice_view_world_to_widget (f->axial, centre, &vx, &vy);
  /* inside the VOI the picture changed; outside it did not */
  g_assert_cmpfloat (gui_mean_abs_diff (before, after, vx - 60, vy - 60, vx + 60, vy + 60), >, 20);
  g_assert_cmpfloat (gui_mean_abs_diff (before, after, 0, 0, 40, 40), <, 0.5);
  /* transitions along a row: fine voxels are 2.5 px, clinical ones 10 px */
  g_autofree guint8 *p = gui_pixels (after);
  int w = gdk_texture_get_width (after), row = (int) vy + 3, inside = 0;
  for (int x = (int) vx - 60; x < (int) vx + 60; x++)
    inside += abs (p[((gsize) row * w + x) * 4 + 1] - p[((gsize) row * w + x + 1) * 4 + 1]) > 60;
  g_assert_cmpint (inside, >=, 30);   /* 120 px / 2.5 px per fine voxel = 48 edges; some land between pixels */

  g_autofree char *png = gui_screenshot_path ("widgets-enhanced-voi.png");
  g_autoptr(GError) error = NULL;
  g_assert_true (tb_widget_save_png (GTK_WIDGET (f->axial), png, &error));
  g_assert_no_error (error);
}

static void
test_mask_and_loads_overlay (Fixture *f, gconstpointer data)
{
  gui_pump (30);
  g_autoptr(GdkTexture) t0 = gui_render (GTK_WIDGET (f->axial));
  g_assert_cmpfloat (gui_pixel_stddev (t0), >, 10);   /* not blank */
  TbVolume *ct = tb_document_get_image (f->doc);
  g_autoptr(TbMask) m = tb_mask_new_like_volume (ct, NULL);
  for (gsize i = 0; i < tb_mask_n_voxels (m); i++)
    m->data[i] = ct->data[i] > 500;
  tb_document_set_mask (f->doc, m);
  gui_pump (30);
  g_autoptr(GdkTexture) t1 = gui_render (GTK_WIDGET (f->axial));
  g_assert_cmpfloat (gui_mean_abs_diff (t0, t1, 180, 180, 220, 220), >, 10);   /* inside the ball */
  g_assert_cmpfloat (gui_mean_abs_diff (t0, t1, 0, 0, 60, 60), <, 0.5);       /* air: unmasked */

  /* a force; drag its arrow head: the in-plane vector follows, one undo step */
  guint c = tb_document_add_load_case (f->doc, "stance", 1.0);
  TbDocLoad load = { .kind = TB_LOAD_FORCE, .point = { 0, 0, 0 }, .vector = { 500, 0, -100 } };
  tb_document_add_load (f->doc, c, &load);
  double head[3] = { 0.02 * 500, 0, 0 }, hx, hy, px, py;
  tb_slice_view_world_to_widget (f->axial, head, &hx, &hy);
  tb_slice_view_world_to_widget (f->axial, load.point, &px, &py);
  tb_slice_view_drag (f->axial, GDK_BUTTON_PRIMARY, 0, hx, hy, px, py - 40, 4);
  const TbDocLoad *l = &g_array_index (tb_document_get_load_case (f->doc, c)->loads, TbDocLoad, 0);
  g_assert_cmpfloat_with_epsilon (l->vector[0], 0, 1e-6);
  g_assert_cmpfloat_with_epsilon (l->vector[1], 10.0 / 0.02, 1e-6);   /* 40 px = 10 mm at 4 px/mm */
  g_assert_cmpfloat_with_epsilon (l->vector[2], -100, 1e-12);         /* out of plane: unchanged */
  tb_document_undo (f->doc);
  l = &g_array_index (tb_document_get_load_case (f->doc, c)->loads, TbDocLoad, 0);
  g_assert_cmpfloat_with_epsilon (l->vector[0], 500, 1e-12);
  tb_document_set_load_case_weight (f->doc, c, 3.0);
  tb_document_undo (f->doc);
  g_assert_cmpfloat (tb_document_get_load_case (f->doc, c)->weight, ==, 1.0);
}

static void
test_chart (void)
{
  GtkWidget *win = gtk_window_new ();
  TbChart *chart = TB_CHART (tb_chart_new ("objective"));
  gtk_window_set_child (GTK_WINDOW (win), GTK_WIDGET (chart));
  gtk_window_set_default_size (GTK_WINDOW (win), 400, 200);
  gtk_window_present (GTK_WINDOW (win));
  guint s = tb_chart_add_series (chart, "c", &(GdkRGBA) { 0.2, 0.4, 0.9, 1 });
  for (int i = 1; i <= 50; i++)
    tb_chart_append (chart, s, i, 100.0 / i);
  g_assert_cmpuint (tb_chart_get_n_points (chart, s), ==, 50);
  gui_pump (250);
  const char *text = tb_chart_hover (chart, 58 + 0.0, 50);  /* left edge of the plot: iteration 1 */
  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "c 100"));
  g_autoptr(GdkTexture) lin = gui_render (GTK_WIDGET (chart));
  tb_chart_set_log_scale (chart, TRUE);
  gui_pump (30);
  g_autoptr(GdkTexture) log = gui_render (GTK_WIDGET (chart));
  g_assert_cmpfloat (gui_mean_abs_diff (lin, log, 0, 30, 400, 200), >, 0.1);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Job runner */

typedef struct { int n_reports_seen, n_calls, last; gboolean done; GError *error; } JobLog;

static gboolean
flood_work (TbJob *job, gpointer data, GCancellable *c, GError **error)
{
  for (int i = 1; i <= 20000; i++)
    {
      tb_job_report (job, GINT_TO_POINTER (i), NULL);
      if (i % 1000 == 0)
        tb_job_progress (job, i / 20000.0, "flooding");
    }
  return TRUE;
}

static void
log_reports (TbJob *job, gpointer data, GPtrArray *reports)
{
  JobLog *log = data;
  log->n_calls++;
  for (guint i = 0; i < reports->len; i++)
    {
      int v = GPOINTER_TO_INT (g_ptr_array_index (reports, i));
      g_assert_cmpint (v, ==, log->last + 1);   /* every report, in order */
      log->last = v;
      log->n_reports_seen++;
    }
}

static void
log_done (TbJob *job, gpointer data, const GError *error)
{
  JobLog *log = data;
  log->done = TRUE;
  if (error != NULL)
    log->error = g_error_copy (error);
}

static gboolean log_is_done (gpointer data) { return ((JobLog *) data)->done; }

static void
test_runner_coalesces (void)
{
  g_autoptr(TbJobRunner) runner = tb_job_runner_new ();
  JobLog log = { 0 };
  g_autoptr(TbJob) job = tb_job_new ("flood", flood_work, log_reports, log_done, &log, NULL);
  tb_job_runner_push (runner, job);
  g_assert_true (gui_wait (log_is_done, &log, 20));
  g_assert_no_error (log.error);
  g_assert_cmpint (log.n_reports_seen, ==, 20000);
  /* the worker outruns the main loop: far fewer deliveries than reports */
  g_test_message ("20000 reports in %d main-loop deliveries", log.n_calls);
  g_assert_cmpint (log.n_calls, <, 2000);
}

static gboolean
wait_work (TbJob *job, gpointer data, GCancellable *c, GError **error)
{
  for (int i = 0; ; i++)
    {
      if (!tb_job_wait_if_paused (job, c, error))
        return FALSE;
      if (g_cancellable_set_error_if_cancelled (c, error))
        return FALSE;
      tb_job_report (job, GINT_TO_POINTER (i + 1), NULL);
      g_usleep (5000);
    }
}

static gboolean
fail_work (TbJob *job, gpointer data, GCancellable *c, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the input is bad: fix it");
  return FALSE;
}

static gboolean reports_over_10 (gpointer data) { return ((JobLog *) data)->last >= 10; }

static void
test_runner_pause_cancel_fail (void)
{
  g_autoptr(TbJobRunner) runner = tb_job_runner_new ();
  JobLog log = { 0 }, log2 = { 0 };
  g_autoptr(TbJob) job = tb_job_new ("wait", wait_work, log_reports, log_done, &log, NULL);
  g_autoptr(TbJob) failing = tb_job_new ("fail", fail_work, NULL, log_done, &log2, NULL);
  tb_job_runner_push (runner, job);
  tb_job_runner_push (runner, failing);
  g_assert_cmpuint (tb_job_runner_get_n_queued (runner), ==, 1);
  g_assert_true (gui_wait (reports_over_10, &log, 10));
  tb_job_runner_set_paused (runner, TRUE);
  gui_pump (100);
  int at_pause = log.last;
  gui_pump (300);
  g_assert_cmpint (log.last, <=, at_pause + 1);   /* at most the iteration in flight */
  tb_job_runner_set_paused (runner, FALSE);
  gui_pump (200);
  g_assert_cmpint (log.last, >, at_pause + 5);
  gint64 t0 = g_get_monotonic_time ();
  tb_job_runner_cancel (runner);
  g_assert_true (gui_wait (log_is_done, &log, 5));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);   /* cancelled within 1 s */
  g_assert_error (log.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* the queued job runs next and its failure arrives as a GError */
  g_assert_true (gui_wait (log_is_done, &log2, 5));
  g_assert_error (log2.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&log.error);
  g_clear_error (&log2.error);
}

/* The compare views' test grid: a 4 mm VOI "c" at the origin and a zeroed 32^3 volume of 0.125 mm
 * voxels that fills it */
static TbVolume *
compare_grid (Fixture *f, guint *id)
{
  double centre[3] = { 0, 0, 0 }, size[3] = { 4, 4, 4 };
  *id = tb_document_add_voi (f->doc, "c", centre, size);
  double sp[3] = { 0.125, 0.125, 0.125 };
  TbVolume *fine = tb_volume_new (32, 32, 32, sp, NULL);
  for (int a = 0; a < 3; a++)
    fine->origin[a] = -2 + 0.0625;
  return fine;
}

/* a compare view of the fixture's document in a 400 x 300 window, shown and drawn */
static TbCompareView *
show_compare_view (Fixture *f, GtkWidget **win)
{
  *win = gtk_window_new ();
  TbCompareView *cv = TB_COMPARE_VIEW (tb_compare_view_new (f->doc));
  gtk_window_set_child (GTK_WINDOW (*win), GTK_WIDGET (cv));
  gtk_window_set_default_size (GTK_WINDOW (*win), 400, 300);
  gtk_window_present (GTK_WINDOW (*win));
  gui_pump (100);
  return cv;
}

/* Compare view with two sources on one grid: modes switch, the wipe follows a drag. */
static void
test_compare_view (Fixture *f, gconstpointer data)
{
  guint id;
  g_autoptr(TbVolume) fine = compare_grid (f, &id);
  for (gsize i = 0; i < tb_volume_n_voxels (fine); i++)
    fine->data[i] = (i % 32) < 16 ? 0.1f : 0.9f;
  tb_document_set_result (f->doc, id, TB_METHOD_TO, fine);
  GtkWidget *win;
  TbCompareView *cv = show_compare_view (f, &win);
  const char *msg = NULL;
  g_assert_true (tb_compare_view_is_ready (cv, &msg));
  tb_compare_view_set_mode (cv, TB_COMPARE_WIPE);
  tb_compare_view_drag_wipe (cv, 200, 100, 5);
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_wipe (cv), 100.0 / gtk_widget_get_width (GTK_WIDGET (cv)), 1e-9);
  gui_pump (30);
  g_autoptr(GdkTexture) wipe1 = gui_render (GTK_WIDGET (cv));
  tb_compare_view_drag_wipe (cv, 100, 300, 5);
  gui_pump (30);
  g_autoptr(GdkTexture) wipe2 = gui_render (GTK_WIDGET (cv));
  g_assert_cmpfloat (gui_mean_abs_diff (wipe1, wipe2, 100, 0, 300, 300), >, 1);
  tb_compare_view_set_mode (cv, TB_COMPARE_DIFFERENCE);
  gui_pump (30);
  g_autoptr(GdkTexture) diff = gui_render (GTK_WIDGET (cv));
  g_assert_cmpfloat (gui_pixel_stddev (diff), >, 5);
  /* a missing source says so */
  tb_compare_view_set_methods (cv, TB_METHOD_CLINICAL, TB_METHOD_NN);
  g_assert_false (tb_compare_view_is_ready (cv, &msg));
  g_assert_nonnull (msg);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Mean absolute difference between the left and the right half of a side-by-side picture (the right
 * plane's rectangle starts at w/2 + 1), below the captions. Linked halves differ at most where a
 * pixel's centre falls exactly on a texel edge (nearest sampling may round either way there: one
 * column gives ~0.4); halves that show different regions differ by tens of grey levels. */
static double
halves_diff (GdkTexture *t)
{
  int w = gdk_texture_get_width (t), h = gdk_texture_get_height (t);
  g_autofree guint8 *p = gui_pixels (t);
  int half = w / 2 - 1, shift = w / 2 + 1;
  double sum = 0;
  long n = 0;
  for (int y = 24; y < h; y++)
    for (int x = 0; x < half; x++)
      for (int c = 0; c < 3; c++, n++)
        sum += abs ((int) p[((gsize) y * w + x) * 4 + c] - (int) p[((gsize) y * w + x + shift) * 4 + c]);
  return sum / MAX (n, 1);
}

static GtkEventController *
key_controller (GtkWidget *w)
{
  g_autoptr(GListModel) list = gtk_widget_observe_controllers (w);
  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (list, i);
      if (GTK_IS_EVENT_CONTROLLER_KEY (c))
        return c;
    }
  return NULL;
}

static gboolean
send_key (GtkWidget *w, const char *signal, guint keyval)
{
  gboolean handled = FALSE;
  GtkEventController *key = key_controller (w);
  g_assert_nonnull (key);
  if (g_str_equal (signal, "key-pressed"))
    g_signal_emit_by_name (key, signal, keyval, 0, (GdkModifierType) 0, &handled);
  else
    g_signal_emit_by_name (key, signal, keyval, 0, (GdkModifierType) 0);
  return handled;
}

static void
assert_same_plane_point (const double a[2], const double b[2])
{
  g_assert_cmpfloat_with_epsilon (a[0], b[0], 1e-9);
  g_assert_cmpfloat_with_epsilon (a[1], b[1], 1e-9);
}

/* Compare view: zoom about the pointer (Ctrl+wheel, or a pinch's factor) and pan (middle drag,
 * Space+drag), one transform for both sides of side by side, so they show the same region. */
static void
test_compare_zoom_pan (Fixture *f, gconstpointer data)
{
  guint id;
  g_autoptr(TbVolume) fine = compare_grid (f, &id);
  /* a pattern with detail in both directions: a zoomed or panned view differs from the fitted one */
  for (int k = 0; k < 32; k++)
    for (int j = 0; j < 32; j++)
      for (int i = 0; i < 32; i++)
        fine->data[tb_volume_index (fine, i, j, k)] = (float) (0.1 + 0.8 * (((i / 4) + (j / 3)) % 2) * (i + 1) / 32.0);
  tb_document_set_result (f->doc, id, TB_METHOD_TO, fine);
  tb_document_set_result (f->doc, id, TB_METHOD_NN, fine);
  GtkWidget *win;
  TbCompareView *cv = show_compare_view (f, &win);
  /* the same source on both sides (the captions differ: TO and NN), so linked halves look alike */
  tb_compare_view_set_methods (cv, TB_METHOD_TO, TB_METHOD_NN);
  tb_compare_view_set_mode (cv, TB_COMPARE_SIDE_BY_SIDE);
  g_assert_true (tb_compare_view_is_ready (cv, NULL));
  int w = gtk_widget_get_width (GTK_WIDGET (cv));
  g_assert_cmpint (w, ==, 400);
  g_autoptr(GdkTexture) fitted = gui_render (GTK_WIDGET (cv));
  g_assert_cmpfloat (halves_diff (fitted), <, 1);

  /* Ctrl+wheel over the left plane: the plane point under the pointer stays there */
  double before[2], after[2], right[2];
  int side;
  g_assert_true (tb_compare_view_widget_to_plane (cv, 80, 120, before, &side));
  g_assert_cmpint (side, ==, 0);
  for (int i = 0; i < 5; i++)
    tb_compare_view_scroll (cv, -1, GDK_CONTROL_MASK, 80, 120);
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_zoom (cv), pow (1.15, 5), 1e-9);
  tb_compare_view_widget_to_plane (cv, 80, 120, after, NULL);
  assert_same_plane_point (before, after);
  /* a plain wheel does not zoom */
  tb_compare_view_scroll (cv, -1, 0, 80, 120);
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_zoom (cv), pow (1.15, 5), 1e-9);
  /* linked: the same point of the right plane shows the same plane point */
  g_assert_true (tb_compare_view_widget_to_plane (cv, 80 + w / 2 + 1, 120, right, &side));
  g_assert_cmpint (side, ==, 1);
  assert_same_plane_point (before, right);
  g_autoptr(GdkTexture) zoomed = gui_render (GTK_WIDGET (cv));
  double d_zoom = gui_mean_abs_diff (fitted, zoomed, 0, 24, w, 300);
  g_test_message ("Ctrl+wheel x5: %.2f grey levels changed; halves differ by %.3f", d_zoom, halves_diff (zoomed));
  g_assert_cmpfloat (d_zoom, >, 2);
  g_assert_cmpfloat (halves_diff (zoomed), <, 1);

  /* a pinch over the right plane: the same code, about the fingers' centre */
  double p[2], q[2];
  tb_compare_view_widget_to_plane (cv, 300, 200, p, NULL);
  tb_compare_view_zoom_at (cv, 1.6, 300, 200);
  tb_compare_view_widget_to_plane (cv, 300, 200, q, NULL);
  assert_same_plane_point (p, q);

  /* middle drag pans: the plane point under the start ends under the end, on both sides */
  tb_compare_view_widget_to_plane (cv, 120, 120, before, NULL);
  tb_compare_view_drag (cv, GDK_BUTTON_MIDDLE, 120, 120, 150, 90, 4);
  tb_compare_view_widget_to_plane (cv, 150, 90, after, NULL);
  assert_same_plane_point (before, after);
  tb_compare_view_widget_to_plane (cv, 150 + w / 2 + 1, 90, right, NULL);
  assert_same_plane_point (before, right);
  g_autoptr(GdkTexture) panned = gui_render (GTK_WIDGET (cv));
  g_assert_cmpfloat (gui_mean_abs_diff (zoomed, panned, 0, 24, w, 300), >, 1);
  g_assert_cmpfloat (halves_diff (panned), <, 1);
  g_test_message ("halves differ by %.3f fitted, %.3f panned", halves_diff (fitted), halves_diff (panned));

  /* wipe mode: button 1 moves the curtain; Space+drag pans and leaves the curtain */
  tb_compare_view_set_mode (cv, TB_COMPARE_WIPE);
  tb_compare_view_set_wipe (cv, 0.5);
  double zoom = tb_compare_view_get_zoom (cv);
  tb_compare_view_widget_to_plane (cv, 200, 150, before, NULL);
  g_assert_true (send_key (GTK_WIDGET (cv), "key-pressed", GDK_KEY_space));
  tb_compare_view_drag (cv, GDK_BUTTON_PRIMARY, 200, 150, 170, 160, 3);
  send_key (GTK_WIDGET (cv), "key-released", GDK_KEY_space);
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_wipe (cv), 0.5, 1e-12);
  tb_compare_view_widget_to_plane (cv, 170, 160, after, NULL);
  assert_same_plane_point (before, after);
  tb_compare_view_drag (cv, GDK_BUTTON_PRIMARY, 200, 150, 100, 150, 3);
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_wipe (cv), 0.25, 1e-12);
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_zoom (cv), zoom, 1e-12);

  /* a new iteration of the same plane keeps the view; 0 fits it again */
  g_autoptr(TbVolume) next = tb_volume_copy (fine, NULL);
  tb_document_set_result (f->doc, id, TB_METHOD_TO, next);
  g_assert_true (tb_compare_view_is_ready (cv, NULL));
  g_assert_cmpfloat_with_epsilon (tb_compare_view_get_zoom (cv), zoom, 1e-12);
  g_assert_true (send_key (GTK_WIDGET (cv), "key-pressed", GDK_KEY_0));
  g_assert_cmpfloat (tb_compare_view_get_zoom (cv), ==, 1);
  tb_compare_view_set_mode (cv, TB_COMPARE_SIDE_BY_SIDE);
  g_autoptr(GdkTexture) refit = gui_render (GTK_WIDGET (cv));
  g_assert_cmpfloat (gui_mean_abs_diff (fitted, refit, 0, 24, w, 300), <, 0.01);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* The NN step finds the shipped model as the CLI does (tb_nn_find_shipped_model): a chosen file
 * first, then $TB_NN_MODEL, then $TRABECULA_MODELS_DIR and the installed and source-tree folders. */
static void
test_nn_model_lookup (void)
{
  g_autofree char *need = NULL;
  if (!tb_stage_is_built (TB_STEP_NN, &need))
    {
      g_test_skip (need);
      return;
    }
  g_autoptr(TbDocument) doc = tb_document_new ();
  g_autofree char *dir = g_dir_make_tmp ("trabecula-models-XXXXXX", NULL);
  g_autofree char *model = g_build_filename (dir, TB_NN_SHIPPED_MODEL, NULL);
  g_assert_true (g_file_set_contents (model, "x", 1, NULL));
  g_unsetenv ("TB_NN_MODEL");
  g_setenv ("TRABECULA_MODELS_DIR", dir, TRUE);
  g_autofree char *found = tb_stage_nn_model_path (doc);
  g_assert_cmpstr (found, ==, model);
  tb_document_set_text (doc, "nn-model", "/chosen/net.safetensors");
  g_autofree char *chosen = tb_stage_nn_model_path (doc);
  g_assert_cmpstr (chosen, ==, "/chosen/net.safetensors");
  g_unsetenv ("TRABECULA_MODELS_DIR");
  g_unlink (model);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add ("/Trabecula/SliceView/voi-draw-resize-move-undo", Fixture, NULL, fixture_setup,
              test_voi_draw_resize_move_undo, fixture_teardown);
  g_test_add ("/Trabecula/SliceView/click-sets-linked-crosshair", Fixture, NULL, fixture_setup,
              test_click_sets_linked_crosshair, fixture_teardown);
  g_test_add ("/Trabecula/SliceView/scroll-zoom-pan-window", Fixture, NULL, fixture_setup,
              test_scroll_zoom_window, fixture_teardown);
  g_test_add ("/Trabecula/SliceView/enhanced-voi-own-resolution", Fixture, NULL, fixture_setup,
              test_enhanced_voi_pixels, fixture_teardown);
  g_test_add ("/Trabecula/SliceView/mask-and-load-arrows", Fixture, NULL, fixture_setup,
              test_mask_and_loads_overlay, fixture_teardown);
  g_test_add ("/Trabecula/CompareView/wipe-and-difference", Fixture, NULL, fixture_setup,
              test_compare_view, fixture_teardown);
  g_test_add ("/Trabecula/CompareView/zoom-pan-linked", Fixture, NULL, fixture_setup,
              test_compare_zoom_pan, fixture_teardown);
  g_test_add_func ("/Trabecula/Chart/grow-log-hover", test_chart);
  g_test_add_func ("/Trabecula/Stages/nn-model-lookup", test_nn_model_lookup);
  g_test_add_func ("/Trabecula/JobRunner/coalesces", test_runner_coalesces);
  g_test_add_func ("/Trabecula/JobRunner/pause-cancel-fail", test_runner_pause_cancel_fail);
  return g_test_run ();
}
