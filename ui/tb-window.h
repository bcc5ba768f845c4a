/* tb-window.h — the main window: header bar, sidebar, three linked slice views and a fourth pane
 * (convergence charts, compare view, measurements), the pipeline panel, and every command as a
 * window action ("win.open-demo", "win.run-to", "win.undo", ...) so menus, shortcuts and tests
 * reach the same code. */
#pragma once

#include <adwaita.h>
#include "tb-document.h"
#include "tb-job-runner.h"
#include "tb-slice-view.h"
#include "tb-chart.h"
#include "tb-compare-view.h"
#include "tb-sidebar.h"
#include "tb-pipeline-panel.h"
#include "tb-morpho-table.h"

G_BEGIN_DECLS

#define TB_TYPE_WINDOW (tb_window_get_type ())
G_DECLARE_FINAL_TYPE (TbWindow, tb_window, TB, WINDOW, AdwApplicationWindow)

typedef enum { TB_CHART_OBJECTIVE, TB_CHART_CONSTRAINTS, TB_CHART_CHANGE, TB_N_CHARTS } TbChartKind;

TbWindow        *tb_window_new              (AdwApplication *app);
TbDocument      *tb_window_get_document     (TbWindow *win);
TbJobRunner     *tb_window_get_runner       (TbWindow *win);
TbSliceView     *tb_window_get_slice_view   (TbWindow *win, TbAxis axis);
TbChart         *tb_window_get_chart        (TbWindow *win, TbChartKind kind);
TbCompareView   *tb_window_get_compare_view (TbWindow *win);
TbSidebar       *tb_window_get_sidebar      (TbWindow *win);
TbPipelinePanel *tb_window_get_pipeline_panel (TbWindow *win);
TbMorphoTable   *tb_window_get_morpho_table (TbWindow *win);
/* Shows the 4th pane's page: "charts", "compare" or "measure". */
void             tb_window_show_page        (TbWindow *win, const char *page);

/* Opening (asynchronous: they queue a job; the document changes when it ends). */
void             tb_window_open_demo        (TbWindow *win, double spacing);
void             tb_window_open_file        (TbWindow *win, GFile *file);
void             tb_window_open_session     (TbWindow *win, const char *path);
gboolean         tb_window_save_session     (TbWindow *win, const char *path, GError **error);

/* The last message shown to the user (toast or info bar), for tests; NULL when none. */
const char      *tb_window_get_last_message (TbWindow *win);
void             tb_window_show_error       (TbWindow *win, const char *what, const GError *error);
void             tb_window_toast            (TbWindow *win, const char *text);
gboolean         tb_window_is_showing_error (TbWindow *win);
void             tb_window_dismiss_error    (TbWindow *win);

/* The Preferences' computation settings: backend (TbBackendChoice: 0 automatic, 1 CPU, 2 GPU) and
 * CPU threads for the jobs (0 automatic). bind_settings follows the app's GSettings ("backend",
 * "threads"). The indicator's text, the note when the choice cannot be honoured (else NULL), and
 * whether the GPU probe has answered. */
void             tb_window_set_compute_preferences (TbWindow *win, guint backend, int threads);
void             tb_window_bind_settings    (TbWindow *win, GSettings *settings);
const char      *tb_window_get_backend_label (TbWindow *win);
const char      *tb_window_get_backend_note (TbWindow *win);
gboolean         tb_window_backend_probed   (TbWindow *win);

/* PNG of a widget as it is drawn now (a view, a pane or the whole window). */
gboolean         tb_widget_save_png         (GtkWidget *widget, const char *path, GError **error);

G_END_DECLS
