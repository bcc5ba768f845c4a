/* tb-stage-fe.h — the solved whole bone that the FE step leaves on the document, for the TO step. */
#pragma once

#include "tb-document.h"
#include "fe/tb-fe.h"

G_BEGIN_DECLS

typedef struct _TbWholeBone TbWholeBone;

TbWholeBone  *tb_stage_get_whole_bone       (TbDocument *doc);   /* NULL before the FE step */
void          tb_whole_bone_free            (TbWholeBone *wb);
int           tb_whole_bone_get_n_cases     (TbWholeBone *wb);
const double *tb_whole_bone_get_weights     (TbWholeBone *wb);
/* The volume-averaged stress in a box (world mm) under load case lc: sxx syy szz sxy syz sxz, MPa. */
gboolean      tb_whole_bone_apparent_stress (TbWholeBone *wb, const double centre[3], const double size[3],
                                             int lc, double stress[6], GError **error);

G_END_DECLS
