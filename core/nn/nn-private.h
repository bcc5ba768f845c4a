/* nn-private.h — what the files of core/nn share and nobody else needs. */
#pragma once

#include "tb-nn.h"

extern const TbNnOps nn_cpu_conv_ops, nn_cpu_relu_ops, nn_cpu_add_ops, nn_cpu_concat_ops,
  nn_cpu_shuffle_ops, nn_cpu_pool_ops, nn_cpu_upsample_ops;

TbNnTensor *nn_tensor_ensure (TbNnTensor *t, const int shape[6]);

/* Network construction (nn-net.c), used by the architecture builders (nn-arch.c). */
TbNnNet    *nn_net_alloc     (const TbNnArch *arch);
int         nn_net_conv      (TbNnNet *net, int input, const char *name, int cin, int cout,
                              int k, int stride, int pad);
int         nn_net_op        (TbNnNet *net, TbNnKind kind, int in0, int in1, int factor, float slope);
void        nn_net_init_params (TbNnNet *net, guint64 seed);
gboolean    nn_net_build     (TbNnNet *net, const TbNnArch *arch, GError **error);  /* nn-arch.c */
GHashTable *nn_net_meta      (TbNnNet *net);
