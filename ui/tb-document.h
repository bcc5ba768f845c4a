/* tb-document.h — one open session: the volumes, VOIs, load cases and results, apart from widgets.
 *
 * Views observe the document through its signals; every edit of a VOI or a load goes through a
 * tb_document_* call that records an undo step (a snapshot of the editable state before the edit),
 * so menus, drags and tests reach the same code. Results (enhanced VOIs, morphometry) are keyed by
 * the VOI's id, which survives undo/redo. The document lives on the main thread only; jobs hand it
 * their results from their completion callback.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_DOCUMENT_ERROR (tb_document_error_quark ())
GQuark tb_document_error_quark (void);

typedef enum {
  TB_DOCUMENT_ERROR_INVALID,   /* a session file that is not one, or a value out of range */
  TB_DOCUMENT_ERROR_MOVED,     /* a file the session refers to is gone or changed */
  TB_DOCUMENT_ERROR_NO_IMAGE,  /* a step that needs an image before it */
} TbDocumentError;

typedef enum {
  TB_METHOD_CLINICAL = 0,  /* the clinical density, nearest (what the scanner saw) */
  TB_METHOD_TRILINEAR,     /* the clinical density, trilinear at the fine resolution */
  TB_METHOD_TO,
  TB_METHOD_NN,
  TB_METHOD_TRUTH,         /* the phantom's truth, when the image is the demo femur */
  TB_N_METHODS
} TbMethod;

const char *tb_method_get_name  (TbMethod method);   /* "clinical", "to", ... (files, JSON) */
const char *tb_method_get_label (TbMethod method);   /* translated, for people */
const char *tb_method_get_short_label (TbMethod method);   /* translated, one word (menus) */

typedef struct {
  guint id;
  char *name;
  double centre[3];   /* mm, world */
  double size[3];     /* mm */
  double rgba[4];
} TbDocVoi;

typedef enum { TB_LOAD_FORCE, TB_LOAD_SUPPORT } TbLoadKind;

typedef struct {
  TbLoadKind kind;
  double point[3];    /* mm, world: where a force acts or the support's centre */
  double vector[3];   /* N (force); ignored for supports */
  double radius;      /* mm: 0 = a point load, > 0 = a patch of that radius */
} TbDocLoad;

typedef struct {
  char *name;
  double weight;
  GArray *loads;      /* TbDocLoad */
} TbDocLoadCase;

/* Which part changed, for the "changed" signal. */
typedef enum {
  TB_CHANGE_VOLUMES = 1 << 0,
  TB_CHANGE_VOIS    = 1 << 1,
  TB_CHANGE_LOADS   = 1 << 2,
  TB_CHANGE_RESULTS = 1 << 3,
  TB_CHANGE_CURSOR  = 1 << 4,
  TB_CHANGE_HISTORY = 1 << 5,
  TB_CHANGE_MEASURES = 1 << 6,   /* morphometry values and step notes */
} TbChange;

#define TB_TYPE_DOCUMENT (tb_document_get_type ())
G_DECLARE_FINAL_TYPE (TbDocument, tb_document, TB, DOCUMENT, GObject)

TbDocument     *tb_document_new              (void);

/* Volumes. The document takes a reference; NULL clears. hu is the image as loaded (HU).
 * Calibration: BMD (mg HA/cm^3) = a + b * HU, as the segment stage fits it. */
void            tb_document_set_image        (TbDocument *doc, TbVolume *hu, const char *source_path,
                                              const char *source_checksum);
TbVolume       *tb_document_get_image        (TbDocument *doc);
const char     *tb_document_get_source_path  (TbDocument *doc);
const char     *tb_document_get_source_checksum (TbDocument *doc);
void            tb_document_set_demo         (TbDocument *doc, gpointer phantom, GDestroyNotify free_func,
                                              double spacing);
gpointer        tb_document_get_phantom      (TbDocument *doc);   /* TbPhantom *, or NULL */
double          tb_document_get_demo_spacing (TbDocument *doc);
void            tb_document_set_calibration  (TbDocument *doc, double a, double b);
void            tb_document_get_calibration  (TbDocument *doc, double *a, double *b);
gboolean        tb_document_is_calibrated    (TbDocument *doc);
void            tb_document_set_density      (TbDocument *doc, TbVolume *rho);   /* relative density */
TbVolume       *tb_document_get_density      (TbDocument *doc);
void            tb_document_set_mask         (TbDocument *doc, TbMask *mask);
TbMask         *tb_document_get_mask         (TbDocument *doc);
void            tb_document_set_truth_mask   (TbDocument *doc, TbMask *mask);
TbMask         *tb_document_get_truth_mask   (TbDocument *doc);
void            tb_document_set_fe_done      (TbDocument *doc, gboolean done, const char *summary);
gboolean        tb_document_get_fe_done      (TbDocument *doc);

/* The linked crosshair (world mm). */
void            tb_document_set_cursor       (TbDocument *doc, const double world[3]);
void            tb_document_get_cursor       (TbDocument *doc, double world[3]);

/* VOIs. Returned pointers stay valid until the next edit. */
guint           tb_document_get_n_vois       (TbDocument *doc);
const TbDocVoi *tb_document_get_voi          (TbDocument *doc, guint index);
const TbDocVoi *tb_document_find_voi         (TbDocument *doc, guint id);
const TbDocVoi *tb_document_find_voi_by_name (TbDocument *doc, const char *name);
guint           tb_document_add_voi          (TbDocument *doc, const char *name, const double centre[3],
                                              const double size[3]);          /* returns the id */
void            tb_document_set_voi_box      (TbDocument *doc, guint id, const double centre[3],
                                              const double size[3]);
void            tb_document_set_voi_name     (TbDocument *doc, guint id, const char *name);
void            tb_document_set_voi_color    (TbDocument *doc, guint id, const double rgba[4]);
void            tb_document_remove_voi       (TbDocument *doc, guint id);
guint           tb_document_get_selected_voi (TbDocument *doc);               /* 0 = none */
void            tb_document_select_voi       (TbDocument *doc, guint id);

/* Load cases. */
guint           tb_document_get_n_load_cases (TbDocument *doc);
const TbDocLoadCase *tb_document_get_load_case (TbDocument *doc, guint index);
guint           tb_document_add_load_case    (TbDocument *doc, const char *name, double weight);
void            tb_document_set_load_case_weight (TbDocument *doc, guint index, double weight);
void            tb_document_remove_load_case (TbDocument *doc, guint index);
void            tb_document_add_load         (TbDocument *doc, guint case_index, const TbDocLoad *load);
void            tb_document_set_load         (TbDocument *doc, guint case_index, guint load_index,
                                              const TbDocLoad *load);
void            tb_document_remove_load      (TbDocument *doc, guint case_index, guint load_index);
void            tb_document_clear_load_cases (TbDocument *doc);

/* A drag: begin snapshots the state once; the edits in between record no steps; end records one. */
void            tb_document_begin_edit       (TbDocument *doc, const char *label);
void            tb_document_end_edit         (TbDocument *doc);
gboolean        tb_document_can_undo         (TbDocument *doc);
gboolean        tb_document_can_redo         (TbDocument *doc);
const char     *tb_document_get_undo_label   (TbDocument *doc);
void            tb_document_undo             (TbDocument *doc);
void            tb_document_clear_history    (TbDocument *doc);
void            tb_document_redo             (TbDocument *doc);

/* Results of a VOI: an enhanced relative-density volume at its own (fine) grid. */
void            tb_document_set_result       (TbDocument *doc, guint voi_id, TbMethod method, TbVolume *rho);
TbVolume       *tb_document_get_result       (TbDocument *doc, guint voi_id, TbMethod method);
/* A morphometry row: names and values (NaN where not measured), owned by the document. */
void            tb_document_set_measure      (TbDocument *doc, guint voi_id, TbMethod method,
                                              const char *quantity, double value);
double          tb_document_get_measure      (TbDocument *doc, guint voi_id, TbMethod method,
                                              const char *quantity);

/* A pipeline step's result summary (step: TbPipelineStep), shown under the step; NULL clears. */
void            tb_document_set_note         (TbDocument *doc, guint step, const char *text);
const char     *tb_document_get_note         (TbDocument *doc, guint step);

/* Text settings saved with the session (key -> string, e.g. "nn-model": the network file). */
void            tb_document_set_text         (TbDocument *doc, const char *key, const char *value);
const char     *tb_document_get_text         (TbDocument *doc, const char *key);

/* Settings saved with the session (key -> double). */
void            tb_document_set_setting      (TbDocument *doc, const char *key, double value);
double          tb_document_get_setting      (TbDocument *doc, const char *key, double fallback);

/* Session files (JSON). Save writes results next to the session (results_dir) through
 * save_volume; open reads them back through load_volume; both hooks come from the io stage. */
typedef gboolean  (*TbSaveVolumeFunc) (const TbVolume *v, const char *path, GError **error);
typedef TbVolume *(*TbLoadVolumeFunc) (const char *path, GError **error);
gboolean        tb_document_save_session     (TbDocument *doc, const char *path, TbSaveVolumeFunc save_volume,
                                              GError **error);
/* Reads a session into a description the caller acts on (the image must be reopened first). */
JsonNode       *tb_session_read              (const char *path, GError **error);
gboolean        tb_document_apply_session    (TbDocument *doc, JsonNode *session, const char *session_path,
                                              TbLoadVolumeFunc load_volume, GError **error);

/* A checksum of a file (SHA-256, hex) and of a volume's voxels. */
char           *tb_checksum_file             (const char *path, GError **error);
char           *tb_checksum_volume           (const TbVolume *v);

G_END_DECLS
