/* tb-job-runner.c — GTask threads, one job at a time, progress coalesced into one idle update. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include <omp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tb-job-runner.h"
#include "tb-backend.h"

struct _TbJob
{
  gatomicrefcount ref_count;
  char *title;
  TbJobWorkFunc work;
  TbJobReportFunc report;
  TbJobDoneFunc done;
  gpointer data;
  GDestroyNotify data_free;

  TbJobRunner *runner;       /* main thread: set while the job runs */
  GCancellable *cancellable;
  gint64 started_us;
  int n_threads;             /* the OpenMP threads of its worker, fixed when it starts */

  GMutex lock;               /* guards everything below */
  GCond pause_cond;
  double fraction;
  char *message;
  GPtrArray *reports;
  gboolean idle_pending;
  gboolean paused;
  gboolean waiting;          /* the worker sits in tb_job_wait_if_paused */
  gboolean running;
};

struct _TbJobRunner
{
  GObject parent_instance;
  GQueue queue;              /* TbJob *, waiting */
  TbJob *current;
  double fraction;
  char *message;
  double eta;
  gboolean paused;
  int threads;               /* the Preferences' thread count; 0 automatic */
};

G_DEFINE_FINAL_TYPE (TbJobRunner, tb_job_runner, G_TYPE_OBJECT)

enum { PROP_0, PROP_BUSY, PROP_TITLE, PROP_MESSAGE, PROP_FRACTION, PROP_ETA, PROP_PAUSED, PROP_N_QUEUED, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { JOB_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Jobs */

TbJob *
tb_job_new (const char *title, TbJobWorkFunc work, TbJobReportFunc report, TbJobDoneFunc done,
            gpointer data, GDestroyNotify data_free)
{
  g_return_val_if_fail (work != NULL, NULL);
  TbJob *job = g_new0 (TbJob, 1);
  g_atomic_ref_count_init (&job->ref_count);
  job->title = g_strdup (title);
  job->work = work;
  job->report = report;
  job->done = done;
  job->data = data;
  job->data_free = data_free;
  job->fraction = -1;
  job->reports = g_ptr_array_new ();
  job->cancellable = g_cancellable_new ();
  g_mutex_init (&job->lock);
  g_cond_init (&job->pause_cond);
  return job;
}

TbJob *
tb_job_ref (TbJob *job)
{
  g_atomic_ref_count_inc (&job->ref_count);
  return job;
}

void
tb_job_unref (TbJob *job)
{
  if (!g_atomic_ref_count_dec (&job->ref_count))
    return;
  if (job->data_free != NULL)
    job->data_free (job->data);
  g_ptr_array_set_free_func (job->reports, NULL);
  g_ptr_array_unref (job->reports);  /* left-over reports were freed when the job ended */
  g_object_unref (job->cancellable);
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->pause_cond);
  g_free (job->message);
  g_free (job->title);
  g_free (job);
}

const char *tb_job_get_title (TbJob *job) { return job->title; }
gpointer tb_job_get_data (TbJob *job) { return job->data; }

typedef struct { gpointer report; GDestroyNotify free_func; } Report;

static void publish (TbJob *job);

static gboolean
publish_idle (gpointer user_data)
{
  publish (user_data);
  return G_SOURCE_REMOVE;
}

/* Worker side: store, and schedule one idle if none is pending (lock held). */
static void
schedule_locked (TbJob *job)
{
  if (job->idle_pending)
    return;
  job->idle_pending = TRUE;
  /* Below GTK's redraw priority, so many updates between two frames become one. */
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, publish_idle, tb_job_ref (job), (GDestroyNotify) tb_job_unref);
}

void
tb_job_progress (TbJob *job, double fraction, const char *message)
{
  g_mutex_lock (&job->lock);
  job->fraction = fraction;
  if (message != NULL && g_strcmp0 (message, job->message) != 0)
    {
      g_free (job->message);
      job->message = g_strdup (message);
    }
  schedule_locked (job);
  g_mutex_unlock (&job->lock);
}

void
tb_job_progress_func (double fraction, const char *message, gpointer job)
{
  tb_job_progress (job, fraction, message);
}

void
tb_job_report (TbJob *job, gpointer report, GDestroyNotify report_free)
{
  Report *r = g_new (Report, 1);
  r->report = report;
  r->free_func = report_free;
  g_mutex_lock (&job->lock);
  g_ptr_array_add (job->reports, r);
  schedule_locked (job);
  g_mutex_unlock (&job->lock);
}

void
tb_job_set_paused (TbJob *job, gboolean paused)
{
  g_mutex_lock (&job->lock);
  job->paused = paused;
  g_cond_broadcast (&job->pause_cond);
  g_mutex_unlock (&job->lock);
}

gboolean
tb_job_get_paused (TbJob *job)
{
  g_mutex_lock (&job->lock);
  gboolean p = job->paused;
  g_mutex_unlock (&job->lock);
  return p;
}

gboolean
tb_job_is_waiting (TbJob *job)
{
  g_mutex_lock (&job->lock);
  gboolean w = job->waiting;
  g_mutex_unlock (&job->lock);
  return w;
}

gboolean
tb_job_is_running (TbJob *job)
{
  return job->runner != NULL;
}

gboolean
tb_job_wait_if_paused (TbJob *job, GCancellable *cancellable, GError **error)
{
  g_mutex_lock (&job->lock);
  /* Cancellation is an input too: wake at least every 50 ms to look at it. */
  while (job->paused && !g_cancellable_is_cancelled (cancellable))
    {
      job->waiting = TRUE;
      g_cond_wait_until (&job->pause_cond, &job->lock, g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND);
    }
  job->waiting = FALSE;
  g_mutex_unlock (&job->lock);
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/* Main thread: publish what the worker stored. */
static void
publish (TbJob *job)
{
  g_mutex_lock (&job->lock);
  job->idle_pending = FALSE;
  double fraction = job->fraction;
  char *message = g_strdup (job->message);
  GPtrArray *reports = job->reports;
  job->reports = g_ptr_array_new ();
  g_mutex_unlock (&job->lock);

  TbJobRunner *runner = job->runner;
  if (runner != NULL && runner->current == job)
    {
      runner->fraction = fraction;
      g_free (runner->message);
      runner->message = message;
      message = NULL;
      double elapsed = (g_get_monotonic_time () - job->started_us) / 1e6;
      runner->eta = fraction > 0.01 && fraction < 1 ? elapsed * (1 - fraction) / fraction : -1;
      g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_FRACTION]);
      g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_MESSAGE]);
      g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_ETA]);
      if (reports->len > 0 && job->report != NULL)
        {
          GPtrArray *payload = g_ptr_array_new ();
          for (guint i = 0; i < reports->len; i++)
            g_ptr_array_add (payload, ((Report *) g_ptr_array_index (reports, i))->report);
          job->report (job, job->data, payload);
          g_ptr_array_unref (payload);
        }
    }
  for (guint i = 0; i < reports->len; i++)
    {
      Report *r = g_ptr_array_index (reports, i);
      if (r->free_func != NULL)
        r->free_func (r->report);
      g_free (r);
    }
  g_ptr_array_unref (reports);
  g_free (message);
}

/* Runner */

static void start_next (TbJobRunner *runner);

static void
run_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TbJob *job = task_data;
  GError *error = NULL;
  /* The window must never freeze: the job's threads yield to the main loop when the machine is
   * busy (nice 5; OpenMP threads this thread starts inherit it), and leave it one core of its own. */
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 5);
  /* the Preferences' thread count: this worker's OpenMP regions (and the stages' inside them) use it;
   * GTask reuses its threads, so every job sets its own */
  omp_set_num_threads (job->n_threads);
  if (job->work (job, job->data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    {
      if (error == NULL)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s failed for an unknown reason"), job->title);
      g_task_return_error (task, error);
    }
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TbJobRunner *runner = TB_JOB_RUNNER (source);
  TbJob *job = user_data;
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  publish (job);  /* the last reports before the end */
  runner->current = NULL;
  job->runner = NULL;
  if (job->done != NULL)
    job->done (job, job->data, error);
  g_signal_emit (runner, signals[JOB_FINISHED], 0, job, error);
  tb_job_unref (job);
  runner->fraction = -1;
  runner->eta = -1;
  g_clear_pointer (&runner->message, g_free);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_FRACTION]);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_MESSAGE]);
  start_next (runner);
}

static void
start_next (TbJobRunner *runner)
{
  if (runner->current != NULL)
    return;
  TbJob *job = g_queue_pop_head (&runner->queue);
  if (job == NULL)
    {
      if (runner->paused)
        {
          runner->paused = FALSE;
          g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_PAUSED]);
        }
      g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_BUSY]);
      g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_N_QUEUED]);
      return;
    }
  runner->current = job;
  job->runner = runner;
  job->started_us = g_get_monotonic_time ();
  job->n_threads = tb_backend_job_threads (runner->threads);
  runner->fraction = -1;
  runner->eta = -1;
  GTask *task = g_task_new (runner, job->cancellable, job_done, job);
  g_task_set_task_data (task, tb_job_ref (job), (GDestroyNotify) tb_job_unref);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, run_in_thread);
  g_object_unref (task);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_BUSY]);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_N_QUEUED]);
}

void
tb_job_runner_push (TbJobRunner *runner, TbJob *job)
{
  g_return_if_fail (TB_IS_JOB_RUNNER (runner));
  g_queue_push_tail (&runner->queue, tb_job_ref (job));
  if (runner->current == NULL)
    start_next (runner);
  else
    g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_N_QUEUED]);
}

void
tb_job_runner_set_threads (TbJobRunner *runner, int n_threads)
{
  g_return_if_fail (TB_IS_JOB_RUNNER (runner));
  runner->threads = MAX (0, n_threads);
}

int tb_job_runner_get_threads (TbJobRunner *runner) { return tb_backend_job_threads (runner->threads); }
int tb_job_get_n_threads (TbJob *job) { return job->n_threads; }
TbJob *tb_job_runner_get_current (TbJobRunner *runner) { return runner->current; }
gboolean tb_job_runner_get_busy (TbJobRunner *runner) { return runner->current != NULL; }
double tb_job_runner_get_fraction (TbJobRunner *runner) { return runner->fraction; }
const char *tb_job_runner_get_message (TbJobRunner *runner) { return runner->message; }
double tb_job_runner_get_eta (TbJobRunner *runner) { return runner->eta; }
guint tb_job_runner_get_n_queued (TbJobRunner *runner) { return runner->queue.length; }
gboolean tb_job_runner_get_paused (TbJobRunner *runner) { return runner->paused; }

void
tb_job_runner_cancel (TbJobRunner *runner)
{
  if (runner->current != NULL)
    g_cancellable_cancel (runner->current->cancellable);
}

void
tb_job_runner_cancel_all (TbJobRunner *runner)
{
  TbJob *job;
  while ((job = g_queue_pop_head (&runner->queue)) != NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled"));
      if (job->done != NULL)
        job->done (job, job->data, error);
      tb_job_unref (job);
    }
  tb_job_runner_cancel (runner);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_N_QUEUED]);
}

void
tb_job_runner_set_paused (TbJobRunner *runner, gboolean paused)
{
  if (runner->current == NULL)
    paused = FALSE;
  if (runner->paused == paused)
    return;
  runner->paused = paused;
  tb_job_set_paused (runner->current, paused);
  g_object_notify_by_pspec (G_OBJECT (runner), props[PROP_PAUSED]);
}

static void
tb_job_runner_dispose (GObject *object)
{
  TbJobRunner *runner = TB_JOB_RUNNER (object);
  TbJob *job;
  while ((job = g_queue_pop_head (&runner->queue)) != NULL)
    tb_job_unref (job);
  G_OBJECT_CLASS (tb_job_runner_parent_class)->dispose (object);
}

static void
tb_job_runner_finalize (GObject *object)
{
  TbJobRunner *runner = TB_JOB_RUNNER (object);
  g_free (runner->message);
  G_OBJECT_CLASS (tb_job_runner_parent_class)->finalize (object);
}

static void
tb_job_runner_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TbJobRunner *runner = TB_JOB_RUNNER (object);
  switch (prop_id)
    {
    case PROP_BUSY: g_value_set_boolean (value, runner->current != NULL); break;
    case PROP_TITLE: g_value_set_string (value, runner->current ? runner->current->title : NULL); break;
    case PROP_MESSAGE: g_value_set_string (value, runner->message); break;
    case PROP_FRACTION: g_value_set_double (value, runner->fraction); break;
    case PROP_ETA: g_value_set_double (value, runner->eta); break;
    case PROP_PAUSED: g_value_set_boolean (value, runner->paused); break;
    case PROP_N_QUEUED: g_value_set_uint (value, runner->queue.length); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tb_job_runner_class_init (TbJobRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = tb_job_runner_dispose;
  object_class->finalize = tb_job_runner_finalize;
  object_class->get_property = tb_job_runner_get_property;

  GParamFlags f = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  props[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, f);
  props[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, f);
  props[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, f);
  props[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, -1, 1, -1, f);
  props[PROP_ETA] = g_param_spec_double ("eta", NULL, NULL, -1, G_MAXDOUBLE, -1, f);
  props[PROP_PAUSED] = g_param_spec_boolean ("paused", NULL, NULL, FALSE, f);
  props[PROP_N_QUEUED] = g_param_spec_uint ("n-queued", NULL, NULL, 0, G_MAXUINT, 0, f);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[JOB_FINISHED] = g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_POINTER);
}

static void
tb_job_runner_init (TbJobRunner *runner)
{
  g_queue_init (&runner->queue);
  runner->fraction = -1;
  runner->eta = -1;
}

TbJobRunner *
tb_job_runner_new (void)
{
  return g_object_new (TB_TYPE_JOB_RUNNER, NULL);
}
