/* gui-test.h — helpers for the GUI tests: a main loop that runs until a condition holds, and
 * pixels of a widget as drawn (the real snapshot, rendered by the window's renderer). */
#pragma once

#include <gtk/gtk.h>
#include <adwaita.h>
#include "tb-ui.h"

typedef gboolean (*GuiCondition) (gpointer data);

/* gtk_test_init, libadwaita and the UI library; every warning of the toolkit is fatal (as
 * G_DEBUG=fatal-warnings would make it), while the core stages' own warnings about the physics of
 * an input (the "Trabecula" domain) are logged, not fatal: they are the stages' reports, not bugs. */
static inline void
gui_test_init (int *argc, char ***argv)
{
  gtk_test_init (argc, argv, NULL);
  adw_init ();
  tb_ui_init ();
  static const char *domains[] = { "Gtk", "Gdk", "Gsk", "Adwaita", "GLib", "GLib-GObject", "GLib-GIO",
                                   "Pango", "GdkPixbuf", "Json" };
  for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
    g_log_set_fatal_mask (domains[i], G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_FATAL_MASK);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_FATAL_MASK);
}

/* Iterates the default main context until cond(data) or timeout_s; returns cond's last value. */
static inline gboolean
gui_wait (GuiCondition cond, gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

/* Runs the main loop for ms milliseconds (lets layout and drawing happen). */
static inline void gui_pump (int ms);
static inline void
gui_pump (int ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

/* The widget drawn now, as a texture (what tb_widget_save_png writes). */
static inline GdkTexture *
gui_render (GtkWidget *widget)
{
  /* a widget queued for redraw has no render node until the next frame; while a job's updates
   * keep queueing redraws, a frame may just have been invalidated again: try the next one */
  gui_pump (40);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
  GskRenderNode *node = NULL;
  for (int attempt = 0; node == NULL && attempt < 50; attempt++)
    {
      if (attempt > 0)
        gui_pump (20);
      g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
      GtkSnapshot *snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), w, h);
      node = gtk_snapshot_free_to_node (snapshot);
    }
  g_assert_nonnull (node);
  GdkTexture *texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                                     &GRAPHENE_RECT_INIT (0, 0, w, h));
  gsk_render_node_unref (node);
  return texture;
}

/* BGRA pixels of a texture (caller frees), width * height * 4 bytes, stride width * 4. */
static inline guint8 *
gui_pixels (GdkTexture *t)
{
  int w = gdk_texture_get_width (t), h = gdk_texture_get_height (t);
  guint8 *p = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (t, p, (gsize) w * 4);
  return p;
}

/* Number of distinct grey levels and the mean absolute difference of two textures in a rectangle. */
static inline double
gui_mean_abs_diff (GdkTexture *a, GdkTexture *b, int x0, int y0, int x1, int y1)
{
  /* the common part when sizes differ (a window whose info bar came and went) */
  int wa = gdk_texture_get_width (a), wb = gdk_texture_get_width (b);
  int h = MIN (gdk_texture_get_height (a), gdk_texture_get_height (b)), w = MIN (wa, wb);
  g_autofree guint8 *pa = gui_pixels (a), *pb = gui_pixels (b);
  double sum = 0;
  long n = 0;
  for (int y = MAX (y0, 0); y < MIN (y1, h); y++)
    for (int x = MAX (x0, 0); x < MIN (x1, w); x++)
      for (int c = 0; c < 3; c++, n++)
        sum += abs ((int) pa[((gsize) y * wa + x) * 4 + c] - (int) pb[((gsize) y * wb + x) * 4 + c]);
  return n > 0 ? sum / n : 0;
}

/* Standard deviation of the pixel values: a blank (one-colour) image has 0. */
static inline double
gui_pixel_stddev (GdkTexture *t)
{
  int w = gdk_texture_get_width (t), h = gdk_texture_get_height (t);
  g_autofree guint8 *p = gui_pixels (t);
  double s = 0, s2 = 0;
  gsize n = (gsize) w * h * 3;
  for (gsize i = 0; i < (gsize) w * h; i++)
    for (int c = 0; c < 3; c++)
      {
        double v = p[i * 4 + c];
        s += v;
        s2 += v * v;
      }
  double mean = s / n;
  return sqrt (MAX (s2 / n - mean * mean, 0));
}

/* Where the tests write their screenshots: $TB_SCREENSHOT_DIR or the build folder. */
static inline char *
gui_screenshot_path (const char *name)
{
  const char *dir = g_getenv ("TB_SCREENSHOT_DIR");
  g_autofree char *fallback = g_build_filename (g_getenv ("TB_BUILD_DIR") ? g_getenv ("TB_BUILD_DIR") : ".",
                                                "screenshots", NULL);
  if (dir == NULL)
    dir = fallback;
  g_mkdir_with_parents (dir, 0755);
  return g_build_filename (dir, name, NULL);
}
