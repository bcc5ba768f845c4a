/* tb-job-runner.h — the one place that owns worker threads: a queue of jobs run one after the other.
 *
 * A job's work function runs in a GTask thread. It reports progress (tb_job_progress) and, for
 * iterative stages, reports (tb_job_report: one per iteration) from that thread. Following Sysprof,
 * the worker only stores the latest values under a mutex and schedules ONE idle callback when none
 * is pending, so a thousand iterations per frame cost one redraw. On the main thread the runner
 * publishes fraction, message and ETA as properties, hands the collected reports to the job's
 * report callback, and at the end calls the job's done callback — with the error when the work
 * failed or was cancelled, in which case the job must leave the document as it was.
 */
#pragma once

#include <gio/gio.h>
#include "tb-volume.h"

G_BEGIN_DECLS

typedef struct _TbJob TbJob;

/* In the worker thread. Returns FALSE with error set on failure (G_IO_ERROR_CANCELLED on Cancel). */
typedef gboolean (*TbJobWorkFunc)   (TbJob *job, gpointer data, GCancellable *cancellable, GError **error);
/* On the main thread: the reports collected since the last call (in order), then the end. */
typedef void     (*TbJobReportFunc) (TbJob *job, gpointer data, GPtrArray *reports);
typedef void     (*TbJobDoneFunc)   (TbJob *job, gpointer data, const GError *error);

TbJob       *tb_job_new            (const char *title, TbJobWorkFunc work, TbJobReportFunc report,
                                    TbJobDoneFunc done, gpointer data, GDestroyNotify data_free);
TbJob       *tb_job_ref            (TbJob *job);
void         tb_job_unref          (TbJob *job);
const char  *tb_job_get_title      (TbJob *job);
gpointer     tb_job_get_data       (TbJob *job);

/* From the worker: any frequency; the runner keeps the latest. */
void         tb_job_progress       (TbJob *job, double fraction, const char *message);
void         tb_job_report         (TbJob *job, gpointer report, GDestroyNotify report_free);
/* A TbProgressFunc that forwards to tb_job_progress (user_data = the job). */
void         tb_job_progress_func  (double fraction, const char *message, gpointer job);

/* Pause: the worker calls tb_job_wait_if_paused between iterations; it returns FALSE when
 * the job was cancelled while it waited (error set). */
void         tb_job_set_paused     (TbJob *job, gboolean paused);
gboolean     tb_job_get_paused     (TbJob *job);
gboolean     tb_job_wait_if_paused (TbJob *job, GCancellable *cancellable, GError **error);
gboolean     tb_job_is_running     (TbJob *job);
/* TRUE while the worker is held in tb_job_wait_if_paused (the pause has taken hold). */
gboolean     tb_job_is_waiting     (TbJob *job);
/* The OpenMP thread count its worker runs with (set when the job starts). */
int          tb_job_get_n_threads  (TbJob *job);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbJob, tb_job_unref)

#define TB_TYPE_JOB_RUNNER (tb_job_runner_get_type ())
G_DECLARE_FINAL_TYPE (TbJobRunner, tb_job_runner, TB, JOB_RUNNER, GObject)

/* Properties: "busy" (bool), "title", "message", "fraction" (double, <0 unknown),
 * "eta" (double seconds, <0 unknown), "paused" (bool), "n-queued" (uint).
 * Signals: "job-finished" (TbJob *, const GError * or NULL). */
TbJobRunner *tb_job_runner_new     (void);
void         tb_job_runner_push    (TbJobRunner *runner, TbJob *job);   /* takes a reference */
TbJob       *tb_job_runner_get_current (TbJobRunner *runner);
/* The Preferences' CPU threads for the jobs' OpenMP loops (0 automatic: tb_backend_job_threads);
 * a job takes the count when it starts. get: the count a job starting now would use. */
void         tb_job_runner_set_threads (TbJobRunner *runner, int n_threads);
int          tb_job_runner_get_threads (TbJobRunner *runner);
gboolean     tb_job_runner_get_busy (TbJobRunner *runner);
void         tb_job_runner_cancel  (TbJobRunner *runner);               /* the current job */
void         tb_job_runner_cancel_all (TbJobRunner *runner);
void         tb_job_runner_set_paused (TbJobRunner *runner, gboolean paused);
gboolean     tb_job_runner_get_paused (TbJobRunner *runner);
double       tb_job_runner_get_fraction (TbJobRunner *runner);
const char  *tb_job_runner_get_message (TbJobRunner *runner);
double       tb_job_runner_get_eta (TbJobRunner *runner);
guint        tb_job_runner_get_n_queued (TbJobRunner *runner);
/* Longest gap (ms) between two publications so far in the current job (for diagnostics). */

G_END_DECLS
