/* tb-stage-fe.h — the solved whole bone that the FE step leaves on the document, for the TO step:
 * its localized VOI models, apparent stresses, and a re-solve under changed loads. */
#pragma once

#include "tb-document.h"
#include "fe/tb-fe.h"

G_BEGIN_DECLS

typedef struct _TbWholeBone TbWholeBone;

TbWholeBone  *tb_stage_get_whole_bone       (TbDocument *doc);   /* NULL before the FE step; borrowed */
TbWholeBone  *tb_whole_bone_ref             (TbWholeBone *wb);
void          tb_whole_bone_unref           (TbWholeBone *wb);
int           tb_whole_bone_get_n_cases     (TbWholeBone *wb);
const double *tb_whole_bone_get_weights     (TbWholeBone *wb);
double        tb_whole_bone_get_fe_spacing  (TbWholeBone *wb);   /* mm, the FE elements' size */
GArray       *tb_whole_bone_get_cases       (TbWholeBone *wb);   /* the load cases it was solved under */
/* The volume-averaged stress in a box (world mm; the part inside the FE grid) under load case lc:
 * sxx syy szz sxy syz sxz, MPa. */
gboolean      tb_whole_bone_apparent_stress (TbWholeBone *wb, const double centre[3], const double size[3],
                                             int lc, double stress[6], GError **error);
/* The localized FE model of a box (world mm) of the solved bone, one case per whole-bone case, its
 * elements split so that each density voxel becomes upscale^3 sub-elements; clinical_box: the
 * density voxels it covers (the box snapped to whole FE elements). */
TbFeModel    *tb_whole_bone_localize        (TbWholeBone *wb, const double centre[3], const double size[3],
                                             int upscale, TbBox *clinical_box, GError **error);
/* The same bone solved again under other load cases (a worker thread: seconds). */
TbWholeBone  *tb_whole_bone_resolve         (TbWholeBone *wb, GArray *cases, GCancellable *cancellable,
                                             TbProgressFunc progress, gpointer user_data, GError **error);

/* The document's load cases copied for a worker (TbDocLoadCase, forces scaled by the
 * "fe-body-scale" setting); whether two copies have the same loads (forces and supports), the
 * same weights. */
GArray       *tb_stage_copy_load_cases      (TbDocument *doc);
void          tb_stage_free_load_cases      (GArray *cases);
gboolean      tb_stage_load_cases_same_loads (GArray *a, GArray *b);
gboolean      tb_stage_load_cases_same_weights (GArray *a, GArray *b);

G_END_DECLS
