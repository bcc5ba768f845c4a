/* topopt-error.c — the error domain of the topopt stage. */
#include "tb-topopt.h"

G_DEFINE_QUARK (tb-topopt-error-quark, tb_topopt_error)
