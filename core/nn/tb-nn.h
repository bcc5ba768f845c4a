/* tb-nn.h — a small CPU neural-network engine for super-resolution of bone CT (papers 001–004).
 *
 * Tensors are float32, N,C,H,W (ndim 4) or N,C,D,H,W (ndim 5), C-contiguous like PyTorch.
 * A network is a graph of nodes; each node is a layer of one kind whose backend is a table of
 * functions (TbNnOps: shape, forward, backward). The CPU tables live in core/nn; a cuDNN backend
 * fills the same tables (tb_nn_set_backend) without touching the graph, the model files or training.
 * Stride-1 convolutions run forward as a direct convolution with vector kernels for the CPU (AVX-512,
 * AVX2 + FMA, plain C); other strides and backward are im2col + cblas_sgemm. OpenMP splits samples x
 * row bands or column blocks; OpenBLAS is held at one thread (tb_nn_init) so the two never nest.
 * Inference can run on part of the output (tb_nn_net_forward_region): every layer computes only
 * what the next ones need, and an output voxel gets the same bits however the image is cut.
 *
 * Architectures (metadata "arch", tensor names = PyTorch state_dict names, see tests/nn/make_reference.py):
 *   srresnet  head.{weight,bias}, body.B.conv1/conv2, body_out, up.S (conv before pixel shuffle), tail;
 *             out = tail(...) + linear upsample(input)   (in_channels 1; dims 2 slice-wise, 3 patch-wise)
 *   unet      input linearly upsampled by scale, then enc.L.conv1/conv2, pool, dec.L.up/conv1/conv2, out
 *   patchgan  disc.I (4x4 convolutions, stride 2 then 1, LeakyReLU 0.2), disc.out
 * Weights [Cout, Cin, (kd,) kh, kw], biases [Cout]. Model files are safetensors; __metadata__ keys:
 *   format "trabecula-nn-1", arch, dims, in_channels, features, blocks, depth, layers, scale,
 *   input_offset, input_scale (x = (HU - offset) / scale), input_spacing_mm, output ("bone_fraction"),
 *   recipe, provenance, validation (free text). A file from PyTorch with these names loads and runs.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "tb-volume.h"

G_BEGIN_DECLS

#define TB_NN_ERROR (tb_nn_error_quark ())
GQuark tb_nn_error_quark (void);

typedef enum {
  TB_NN_ERROR_INVALID,   /* a parameter or shape that makes no sense */
  TB_NN_ERROR_FORMAT,    /* a model or dataset file that is not what it claims */
  TB_NN_ERROR_MISMATCH,  /* a model that does not fit the data (tensor shape, scale, spacing) */
} TbNnError;

typedef struct {
  int ndim;                  /* 4 or 5 */
  int n, c, d, h, w;         /* d = 1 when ndim = 4 */
  float *data;
} TbNnTensor;

TbNnTensor *tb_nn_tensor_new   (int ndim, int n, int c, int d, int h, int w);  /* zero-filled */
TbNnTensor *tb_nn_tensor_new_like (const TbNnTensor *t);
void        tb_nn_tensor_free  (TbNnTensor *t);
gsize       tb_nn_tensor_size  (const TbNnTensor *t);
gboolean    tb_nn_tensor_same_shape (const TbNnTensor *a, const TbNnTensor *b);

typedef enum {
  TB_NN_CONV, TB_NN_RELU, TB_NN_LEAKY_RELU, TB_NN_ADD, TB_NN_CONCAT, TB_NN_PIXEL_SHUFFLE,
  TB_NN_AVG_POOL, TB_NN_UPSAMPLE_NEAREST, TB_NN_UPSAMPLE_LINEAR, TB_NN_N_KINDS
} TbNnKind;

typedef struct _TbNnLayer TbNnLayer;

/* Part of a node's grid (inference on a region): t holds the voxels from lo of a grid of full voxels,
 * per axis x, y, z (= w, h, d; in 2-D z is lo 0 of full 1); t's n and c are the whole node's. */
typedef struct {
  TbNnTensor *t;
  int lo[3], full[3];
} TbNnRegion;

/* One backend's functions for one layer kind. backward ADDS into grad_in[i] (NULL: not wanted)
 * and into the layer's parameter gradients. forward_region (inference) fills out->t, already shaped,
 * with exactly the values forward on the whole grids would give there, bit for bit; each in[i]->t
 * covers what that needs (tb_nn_net_forward_region plans it). A NULL forward_region makes
 * tb_nn_net_forward_region run the whole net and crop. */
typedef struct {
  const char *name;
  gboolean (*shape)    (const TbNnLayer *l, const TbNnTensor *const *in, int shape[6], GError **error);
  void     (*forward)  (const TbNnLayer *l, const TbNnTensor *const *in, TbNnTensor *out);
  void     (*backward) (TbNnLayer *l, const TbNnTensor *const *in, const TbNnTensor *out,
                        const TbNnTensor *grad_out, TbNnTensor **grad_in);
  void     (*forward_region) (const TbNnLayer *l, const TbNnRegion *const *in, const TbNnRegion *out);
} TbNnOps;

struct _TbNnLayer {
  TbNnKind kind;
  char *name;                /* parameter prefix ("body.0.conv1"); NULL for parameter-free layers */
  int inputs[2], n_inputs;   /* node indices; -1 = the network input */
  int dims;                  /* 2 or 3 spatial dimensions */
  int cin, cout, k, stride, pad;  /* convolution */
  int factor;                /* shuffle, pooling, upsampling */
  float slope;               /* LeakyReLU */
  TbNnTensor *weight, *bias, *grad_weight, *grad_bias;  /* 5-D weight for 3-D conv, 4-D for 2-D */
};

void          tb_nn_init        (void);  /* thread settings; called by every entry point */
/* The CPU convolution kernels in use: "avx512", "avx2" (+ FMA) or "generic", the best the CPU has;
 * tb_nn_set_kernels picks another the CPU has (tests, benchmarks; not while a net runs). */
const char   *tb_nn_kernels_name (void);
gboolean      tb_nn_set_kernels (const char *name);
void          tb_nn_set_backend (TbNnKind kind, const TbNnOps *ops);  /* NULL restores the CPU one */
const TbNnOps *tb_nn_get_ops    (TbNnKind kind);

/* Networks */
typedef struct _TbNnNet TbNnNet;

typedef struct {
  const char *arch;          /* "srresnet", "unet", "patchgan" */
  int dims, in_channels, features, blocks, depth, layers, scale;
} TbNnArch;

TbNnNet    *tb_nn_net_new       (const TbNnArch *arch, guint64 init_seed, GError **error);
void        tb_nn_net_free      (TbNnNet *net);
const TbNnArch *tb_nn_net_get_arch (const TbNnNet *net);
guint       tb_nn_net_n_layers  (const TbNnNet *net);
TbNnLayer  *tb_nn_net_get_layer (TbNnNet *net, guint i);
gsize       tb_nn_net_n_params  (const TbNnNet *net);
int         tb_nn_net_receptive_radius (const TbNnNet *net);  /* in input pixels, rounded up */
/* Metadata (string -> string), saved in and loaded from the model file's __metadata__. */
void        tb_nn_net_set_meta  (TbNnNet *net, const char *key, const char *value);
const char *tb_nn_net_get_meta  (const TbNnNet *net, const char *key);
double      tb_nn_net_get_meta_double (const TbNnNet *net, const char *key, double fallback);

/* Forward keeps every activation when train is TRUE, so that backward can follow; the returned
 * tensor belongs to the net until the next forward. backward ADDS parameter gradients. */
const TbNnTensor *tb_nn_net_forward (TbNnNet *net, const TbNnTensor *input, gboolean train, GError **error);
void        tb_nn_net_backward  (TbNnNet *net, const TbNnTensor *grad_out, TbNnTensor *grad_input);
/* Inference on part of the output: output voxels [lo, lo + n) (x, y, z of the output grid; z 0 and
 * 1 in 2-D) of tb_nn_net_forward (net, input), bit for bit, computing every layer only on the part
 * of its grid that the layers after it need (no halo recomputed). Returns a new tensor. peak_bytes
 * (may be NULL) gets the most activation memory it held at once; tb_nn_net_region_bytes says that
 * beforehand without computing (input may have data NULL). */
TbNnTensor *tb_nn_net_forward_region (TbNnNet *net, const TbNnTensor *input, const int lo[3], const int n[3],
                                      gsize *peak_bytes, GError **error);
gsize       tb_nn_net_region_bytes (TbNnNet *net, const TbNnTensor *input, const int lo[3], const int n[3],
                                    GError **error);
void        tb_nn_net_zero_grad (TbNnNet *net);

gboolean    tb_nn_net_save      (TbNnNet *net, const char *path, GError **error);
TbNnNet    *tb_nn_net_load      (const char *path, GError **error);

/* The model that ships with Trabecula (app/models, installed to DATADIR/trabecula/models). */
#define TB_NN_SHIPPED_MODEL "srresnet2d-x8.safetensors"
/* Finds a shipped model file by name, the one search order of the CLI and the GUI: the folder
 * $TRABECULA_MODELS_DIR, then installed_dir (the installed models), then source_dir (the source
 * tree's app/models, for a build run uninstalled); either dir may be NULL. The first regular file
 * found (newly allocated path), or NULL when none has it. */
char       *tb_nn_find_shipped_model (const char *name, const char *installed_dir, const char *source_dir);

/* Safetensors, raw: every F32 tensor by name (a GHashTable of TbNnTensor, 4-D/5-D or flat as
 * ndim 4 with n = element count) and the metadata. */
gboolean    tb_nn_safetensors_read  (const char *path, GHashTable **tensors, GHashTable **meta, GError **error);
gboolean    tb_nn_safetensors_write (const char *path, GHashTable *tensors, GHashTable *meta, GError **error);

/* Losses: return the loss and write d loss / d pred into grad (may be NULL). */
double      tb_nn_loss_l1       (const TbNnTensor *pred, const TbNnTensor *target, TbNnTensor *grad);
double      tb_nn_loss_l2       (const TbNnTensor *pred, const TbNnTensor *target, TbNnTensor *grad);
/* Least-squares GAN (Mao et al. 2017): 0.5 mean((D - label)^2). */
double      tb_nn_loss_lsgan    (const TbNnTensor *pred, float label, TbNnTensor *grad);
/* 1 - mean SSIM of every 2-D plane (nn-loss-ssim.c): the window and constants of tb_metrics_ssim
 * (data range 1), so it is 1 - the SSIM the evaluation reports. Planes need h, w >= 11. */
double      tb_nn_loss_ssim     (const TbNnTensor *pred, const TbNnTensor *target, TbNnTensor *grad);

/* AdamW (Loshchilov & Hutter 2019, PyTorch's AdamW) with global-norm gradient clipping. */
typedef struct _TbNnAdam TbNnAdam;
TbNnAdam   *tb_nn_adam_new      (TbNnNet *net, double beta1, double beta2, double eps, double weight_decay);
void        tb_nn_adam_free     (TbNnAdam *adam);
double      tb_nn_adam_step     (TbNnAdam *adam, double lr, double clip_norm);  /* returns the grad norm */
gboolean    tb_nn_adam_save     (TbNnAdam *adam, const char *path, GHashTable *meta, GError **error);
gboolean    tb_nn_adam_load     (TbNnAdam *adam, const char *path, GError **error);
/* Cosine decay after a linear warm-up: lr at step t of total. */
double      tb_nn_lr_cosine     (double lr, double lr_min, guint64 warmup, guint64 t, guint64 total);

/* Training pairs (nn-pairs.c): truth patches of the phantom at random positions in every trabecular
 * region, for several seeds, each degraded by tb_phantom_degrade; a dataset folder holds
 * manifest.json, train.safetensors and val.safetensors ("lr" [N,1,p,p] normalized input, "hr"
 * [N,1,p*s,p*s] bone fraction of the HR slice at the centre of the LR slice). */
typedef struct {
  const char *out_dir;
  const guint64 *train_seeds, *val_seeds;
  guint n_train_seeds, n_val_seeds;
  int blocks_per_region;     /* random blocks per region per seed */
  int patch;                 /* LR patch side (voxels) */
  int block;                 /* LR block side from which patches are cut (>= patch) */
  int slices;                /* LR slices per block (each gives pairs) */
  int patches_per_slice;
  int scale;                 /* clinical voxel / truth voxel */
  int supersample;           /* truth integration sub-samples per axis */
  double clinical_spacing, noise_sigma;
  /* optional: bone-fraction volumes at clinical_spacing / scale (topology-optimization results),
   * degraded like the phantom blocks into more training pairs (patches_per_slice per LR slice) */
  const char *const *extra_truth;
  guint n_extra_truth;
  const char *command_line;  /* recorded in the manifest */
} TbNnPairsParams;

void        tb_nn_pairs_params_init (TbNnPairsParams *p);
gboolean    tb_nn_make_pairs    (const TbNnPairsParams *p, GCancellable *cancellable,
                                 TbProgressFunc progress, gpointer user_data, GError **error);

typedef struct _TbNnDataset TbNnDataset;
TbNnDataset *tb_nn_dataset_load (const char *dir, const char *split, GError **error);
void        tb_nn_dataset_free  (TbNnDataset *ds);
guint       tb_nn_dataset_size  (const TbNnDataset *ds);
JsonObject *tb_nn_dataset_manifest (const TbNnDataset *ds);
/* Copy samples idx[0..n) into lr / hr (shaped [n,...]), each transformed by one of the 8 symmetries
 * of the square (aug[i] in 0..7, NULL = identity). */
void        tb_nn_dataset_batch (const TbNnDataset *ds, const guint *idx, const guint8 *aug, guint n,
                                 TbNnTensor *lr, TbNnTensor *hr);
const TbNnTensor *tb_nn_dataset_tensor (const TbNnDataset *ds, const char *name);  /* "lr", "hr" */

/* Training (nn-train.c): pixel-loss pre-training, then optional adversarial fine-tuning with a PatchGAN
 * (least squares). Writes OUT/model.safetensors, OUT/checkpoint*.safetensors (resume), OUT/log.csv. */
typedef struct {
  const char *dataset, *out_dir;
  TbNnArch arch;
  const char *loss;          /* "l1", "l2" or "l1+ssim" (ssim_weight (1 - SSIM) + (1 - ssim_weight) L1) */
  double ssim_weight;        /* of the SSIM term in "l1+ssim" (0.84, Zhao et al. 2017) */
  int epochs, adv_epochs, batch, steps_per_epoch;  /* steps 0: one pass over the data */
  double lr, lr_min, weight_decay, clip_norm, adv_weight;
  guint64 seed;
  gboolean resume;
  double max_seconds;        /* > 0: stop after the epoch that passes it (recorded in the recipe) */
  const char *command_line;  /* recorded in the model's metadata */
} TbNnTrainParams;

void        tb_nn_train_params_init (TbNnTrainParams *p);
gboolean    tb_nn_train         (const TbNnTrainParams *p, GCancellable *cancellable,
                                 TbProgressFunc progress, gpointer user_data, GError **error);

/* Patchwise inference: overlap-tile (exact: tiles by tb_nn_net_forward_region, no halo recomputed),
 * Dijkstra seam quilting (paper 001; a seam per 2-D slice of a 3-D overlap), linear blend, or
 * quilting along minimum graph cuts (a seam surface through each 3-D overlap; 2-D nets: as quilt). */
typedef enum { TB_NN_STITCH_TILE, TB_NN_STITCH_QUILT, TB_NN_STITCH_BLEND, TB_NN_STITCH_CUT } TbNnStitch;

typedef struct {
  TbNnStitch stitch;
  int patch;                 /* patch (quilt, blend) or tile (tile) side in input voxels; 0: 96 (quilt,
                              * blend), tile: the whole box, halved while over memory_mb */
  int overlap;               /* quilt/blend: overlap in input voxels; tile: halo (>= receptive radius) */
  int batch;
  int memory_mb;             /* tile: activation memory one tile may take (512; 0: no limit) */
} TbNnEnhanceParams;

void        tb_nn_enhance_params_init (TbNnEnhanceParams *p);
/* Enhance a CT volume in HU (box NULL = whole volume). 2D nets run slice by slice along z. Returns
 * the network output (bone fraction) at spacing / scale (2D: x and y only). The input spacing must
 * match the model's input_spacing_mm within 2 %, otherwise TB_NN_ERROR_MISMATCH. */
TbVolume   *tb_nn_enhance       (TbNnNet *net, const TbVolume *ct, const TbBox *box,
                                 const TbNnEnhanceParams *params, GCancellable *cancellable,
                                 TbProgressFunc progress, gpointer user_data, GError **error);
/* Minimum-error seam through an overlap (paper 001): a and b are the two patches' values on the
 * same len x ov pixels (row-major, len rows along the seam). Dijkstra's shortest path from row 0 to
 * row len-1 through the cost (a - b)^2 (4-connected); take_b[i] = 1 right of and on the path. */
void        tb_nn_quilt_seam    (const float *a, const float *b, int len, int ov, guint8 *take_b);
/* Minimum-error seam surface (Kwatra et al. 2003): a and b on the same n0 x n1 x ov voxels (ov
 * fastest, across the overlap). Neighbours s, t (6-connected) cost e(s) + e(t) to part, e = (a - b)^2;
 * the faces o = 0 and o = ov - 1 are tied to A and B at cost e. take_b[i] = 1 on B's side of the
 * minimum cut (Boykov-Kolmogorov max flow); with n0 = 1 a seam curve through a 2-D overlap. Above
 * 2^17 voxels it goes coarse to fine: the cut of 2^3-voxel cells, refined voxel by voxel next to it. */
void        tb_nn_quilt_cut     (const float *a, const float *b, int n0, int n1, int ov, guint8 *take_b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbNnTensor, tb_nn_tensor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbNnNet, tb_nn_net_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbNnAdam, tb_nn_adam_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TbNnDataset, tb_nn_dataset_free)

G_END_DECLS
