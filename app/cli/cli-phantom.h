/* cli-phantom.h — the phantom's output step, shared by `trabecula-cli phantom` and `demo`. */
#pragma once

#include "tb-cli.h"
#include "phantom/tb-phantom.h"

G_BEGIN_DECLS

typedef struct {
  TbPhantomParams params;
  double truth_voxel;      /* mm; truth VOIs are written at this voxel size */
  gboolean no_truth;       /* write only the clinical QCT, labels and JSON */
  gboolean tiff;           /* clinical volumes as TIFF instead of NIfTI (.nii.gz) */
} TbCliPhantomOptions;

typedef struct {
  TbPhantom *phantom;
  TbPhantomQct *qct;
  double measured_bvtv[4]; /* of the VOI truths (fraction >= 0.5), or -1 without truth */
  GPtrArray *written;      /* paths written, in order (owned) */
} TbCliPhantomResult;

void     tb_cli_phantom_options_init (TbCliPhantomOptions *opts);
/* Make the phantom and write everything into dir (created if needed); prints each file written. */
gboolean tb_cli_phantom_write        (const char *dir, const TbCliPhantomOptions *opts,
                                      TbCliPhantomResult *result, GError **error);
void     tb_cli_phantom_result_clear (TbCliPhantomResult *result);

G_END_DECLS
