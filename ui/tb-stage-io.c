/* tb-stage-io.c — images and result volumes to and from files (the io stage), and Open as a job. */
#include "config-ui.h"

#include <glib/gi18n-lib.h>
#include "tb-stage-jobs.h"
#include "io/tb-io.h"

gboolean
tb_stage_save_volume (const TbVolume *v, const char *path, GError **error)
{
  /* 32-bit float TIFF with ImageJ metadata: Fiji opens it at the right scale; nothing is rounded. */
  return tb_io_write_tiff (path, v, TB_IO_PIXEL_FLOAT32, error);
}

TbVolume *
tb_stage_load_volume (const char *path, GError **error)
{
  return tb_io_read (path, NULL, NULL, NULL, error);
}

typedef struct {
  TbDocument *doc;
  char *path;
  TbVolume *volume;
  char *checksum;
  TbIoInfo info;
} OpenJob;

static void
open_job_free (OpenJob *o)
{
  g_clear_object (&o->doc);
  g_free (o->path);
  g_clear_pointer (&o->volume, tb_volume_unref);
  g_free (o->checksum);
  g_free (o);
}

static gboolean
open_work (TbJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  OpenJob *o = data;
  TbIoReadOptions opts = { .progress = tb_job_progress_func, .progress_data = job };
  tb_job_progress (job, 0, _("Reading"));
  o->volume = tb_io_read (o->path, &opts, &o->info, cancellable, error);
  if (o->volume == NULL)
    return FALSE;
  /* The session's checksum of the file is taken when a session is saved (SHA-256 of a 200 MB CT
   * costs a second that opening need not pay). */
  return TRUE;
}

static void
open_done (TbJob *job, gpointer data, const GError *error)
{
  OpenJob *o = data;
  if (error != NULL)
    return;
  tb_document_set_image (o->doc, o->volume, o->path, o->checksum);
  g_autofree char *note = g_strdup_printf (_("%s, %d×%d×%d, spacing from %s%s%s"), tb_io_format_name (o->info.format),
                                           o->info.nx, o->info.ny, o->info.nz, o->info.spacing_source,
                                           o->info.note[0] ? "; " : "", o->info.note);
  tb_document_set_note (o->doc, TB_STEP_CALIBRATE, note);
}

TbJob *
tb_stage_job_open_file (TbDocument *doc, const char *path, GError **error)
{
  if (path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("Only local files can be opened"));
      return NULL;
    }
  OpenJob *o = g_new0 (OpenJob, 1);
  o->doc = g_object_ref (doc);
  o->path = g_strdup (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *title = g_strdup_printf (_("Opening %s"), base);
  return tb_job_new (title, open_work, NULL, open_done, o, (GDestroyNotify) open_job_free);
}
