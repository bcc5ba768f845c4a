/* nn-private.h — what the files of core/nn share and nobody else needs. */
#pragma once

#include "tb-nn.h"

extern const TbNnOps nn_cpu_conv_ops, nn_cpu_relu_ops, nn_cpu_add_ops, nn_cpu_concat_ops,
  nn_cpu_shuffle_ops, nn_cpu_pool_ops, nn_cpu_upsample_ops;

TbNnTensor *nn_tensor_ensure (TbNnTensor *t, const int shape[6]);

/* The direct convolution's inner loop (nn-conv-kernels.c): y[m ldy + q] = bias[m] + sum over k of
 * w[k mr + m] x[off[k] + q] for mr channels and q in [0, nq) rounded up to the kernel's width
 * (at most NN_CONV_NC_MAX columns), then max (y, 0) if relu. fn[mr] for mr = 1, 2, 4 .. mr_max. */
#define NN_CONV_NC_MAX 64
typedef void (*NnConvKernelFn) (int K, const float *w, const float *bias, const float *x, const int *off,
                                int nq, float *y, gsize ldy, gboolean relu);
typedef struct {
  const char *name;
  int mr_max;
  NnConvKernelFn fn[9];
} NnConvKernels;
const NnConvKernels *nn_conv_kernels (void);
/* Inference: a stride-1 convolution with the ReLU after it (relu) and/or the pixel shuffle after it
 * (shuffle: its factor, > 0; its output region gets the values, conv_out->t only gives the
 * convolution region's shape) in one pass; FALSE (nothing done) for other strides. */
gboolean    nn_conv_forward_region_fused (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *conv_out,
                                          gboolean relu, int shuffle, const TbNnRegion *shuffled);
/* Upsampling taps along one axis (nn-layers.c): output o of n_in * f reads inputs i0 and i1 with
 * weights 1 - w1 and w1 (nearest: i0 = i1, w1 = 0). */
void        nn_upsample_tap  (int o, int n_in, int f, gboolean linear, int *i0, int *i1, float *w1);

/* Network construction (nn-net.c), used by the architecture builders (nn-arch.c). */
TbNnNet    *nn_net_alloc     (const TbNnArch *arch);
int         nn_net_conv      (TbNnNet *net, int input, const char *name, int cin, int cout,
                              int k, int stride, int pad);
int         nn_net_op        (TbNnNet *net, TbNnKind kind, int in0, int in1, int factor, float slope);
void        nn_net_init_params (TbNnNet *net, guint64 seed);
gboolean    nn_net_build     (TbNnNet *net, const TbNnArch *arch, GError **error);  /* nn-arch.c */
GHashTable *nn_net_meta      (TbNnNet *net);
/* tb_nn_quilt_cut with its own size above which it goes coarse to fine (G_MAXINT: voxel by voxel). */
void        nn_quilt_cut_levels (const float *a, const float *b, int n0, int n1, int ov, int max_nodes,
                                 guint8 *take_b);
