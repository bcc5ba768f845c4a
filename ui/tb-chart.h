/* tb-chart.h — a line chart that grows point by point (convergence curves of a running job).
 *
 * Each series is a name, a colour and its points (x, y). The y axis is linear or logarithmic
 * (non-positive values are left out on a log axis); hovering shows the values of every series at
 * the nearest x. Appending queues one redraw; a thousand appends between two frames draw once.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TB_TYPE_CHART (tb_chart_get_type ())
G_DECLARE_FINAL_TYPE (TbChart, tb_chart, TB, CHART, GtkWidget)

GtkWidget  *tb_chart_new             (const char *title);
void        tb_chart_set_title       (TbChart *chart, const char *title);
guint       tb_chart_add_series      (TbChart *chart, const char *name, const GdkRGBA *color);
guint       tb_chart_get_n_series    (TbChart *chart);
void        tb_chart_append          (TbChart *chart, guint series, double x, double y);
guint       tb_chart_get_n_points    (TbChart *chart, guint series);
/* The index-th point of a series; FALSE when it has fewer points. */
gboolean    tb_chart_get_point       (TbChart *chart, guint series, guint index, double *x, double *y);
void        tb_chart_clear           (TbChart *chart);          /* removes all series */
void        tb_chart_set_log_scale   (TbChart *chart, gboolean log_scale);
gboolean    tb_chart_get_log_scale   (TbChart *chart);
/* Hover readout at widget x (as the pointer does); returns the text shown, or NULL. */
const char *tb_chart_hover           (TbChart *chart, double x, double y);

G_END_DECLS
