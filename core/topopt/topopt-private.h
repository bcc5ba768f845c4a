/* topopt-private.h — pieces of the topopt stage shared between its files (not public API). */
#pragma once

#include "tb-topopt.h"

G_BEGIN_DECLS

/* Physical volume (sum of densities) of a trial design; used by the OC bisection. */
typedef double (*TbTopoptVolumeFunc) (const double *x, gpointer user_data);

/* One OC step (88-line code): bisection on the volume multiplier; passive variables keep x. */
void tb_topopt_oc_update (gsize n, const double *x, const double *dc, const double *dv,
                          const guint8 *passive, double move, double xmin, double target,
                          TbTopoptVolumeFunc volume, gpointer user_data, double *xnew);

G_END_DECLS
