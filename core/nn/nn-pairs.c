/* nn-pairs.c — training pairs from the phantom: truth blocks at random positions in every trabecular
 * region, several seeds (a separate held-out seed set for validation), each degraded to clinical
 * resolution by exactly the phantom's QCT simulation (tb_phantom_degrade); optionally also from
 * high-resolution volumes on disk (topology-optimization results), degraded the same way. The truth of an LR slice is
 * the HR slice at its centre (index scale/2 of the scale HR slices it integrates): a 2-D section at
 * the target resolution, which morphometry and 2-D stiffness can be measured on. */
#include "nn-private.h"
#include "phantom/tb-phantom.h"
#include "io/tb-io.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* PSF margin in LR voxels around the patches: the default PSF (1 mm FWHM, sigma 0.42 mm = 0.68 voxel)
 * has 3 sigma = 2.04 voxels, so pixels 2 voxels in barely see the block's edge (weight < 0.3 %). */
#define PAIRS_MARGIN 2

static const TbRegion trabecular_regions[] = {
  TB_REGION_HEAD, TB_REGION_NECK, TB_REGION_WARDS, TB_REGION_INTERTROCHANTER,
  TB_REGION_GREATER_TROCHANTER, TB_REGION_LESSER_TROCHANTER,
};

void
tb_nn_pairs_params_init (TbNnPairsParams *p)
{
  memset (p, 0, sizeof *p);
  p->blocks_per_region = 2;
  p->patch = 16;
  p->block = 24;
  p->slices = 4;
  p->patches_per_slice = 4;
  p->scale = 8;
  p->supersample = 2;
  p->clinical_spacing = 0.625;
  p->noise_sigma = 20.0;
}

typedef struct {
  GArray *lr, *hr;     /* floats */
  guint n;
} Pairs;

static gboolean
find_position (const TbPhantom *ph, TbRegion region, GRand *rand, double c[3])
{
  double lo[3], hi[3];
  tb_phantom_get_bounds (ph, lo, hi);
  for (int t = 0; t < 200000; t++)
    {
      for (int a = 0; a < 3; a++)
        c[a] = g_rand_double_range (rand, lo[a], hi[a]);
      if (tb_phantom_region_at (ph, c) == region)
        return TRUE;
    }
  return FALSE;
}

/* The phantom of one seed with the pairs' scanner settings, and the input normalization: x = (HU -
 * norm[0]) / norm[1] is the bone fraction of a noise-free, blur-free voxel. */
static TbPhantom *
pairs_phantom (const TbNnPairsParams *p, guint64 seed, double norm[2], GError **error)
{
  TbPhantomParams pp;
  tb_phantom_params_init (&pp);
  pp.seed = seed;
  pp.clinical_spacing = p->clinical_spacing;
  pp.noise_sigma = p->noise_sigma;
  pp.supersample = p->supersample;
  norm[0] = pp.hu_a + pp.hu_b * pp.marrow_bmd;
  norm[1] = pp.hu_b * (pp.tissue_bmd - pp.marrow_bmd);
  return tb_phantom_new (&pp, error);
}

/* One pair: the LR patch at (ox, oy) of slice k of ct (normalized), and the HR slice at that
 * slice's centre of truth. */
static void
append_pair (const TbNnPairsParams *p, const TbVolume *ct, const TbVolume *truth, int ox, int oy, int k,
             const double norm[2], Pairs *out)
{
  int s = p->scale;
  gsize lp = (gsize) p->patch * p->patch, hp = lp * s * s;
  gsize base_l = out->lr->len, base_h = out->hr->len;
  g_array_set_size (out->lr, base_l + lp);
  g_array_set_size (out->hr, base_h + hp);
  float *l = &g_array_index (out->lr, float, base_l), *h = &g_array_index (out->hr, float, base_h);
  for (int y = 0; y < p->patch; y++)
    for (int x = 0; x < p->patch; x++)
      l[y * p->patch + x] = (float) ((tb_volume_get (ct, ox + x, oy + y, k) - norm[0]) / norm[1]);
  int zh = k * s + s / 2, hs = p->patch * s;
  for (int y = 0; y < hs; y++)
    for (int x = 0; x < hs; x++)
      h[y * hs + x] = tb_volume_get (truth, ox * s + x, oy * s + y, zh);
  out->n++;
}

static gboolean
make_seed (const TbNnPairsParams *p, guint64 seed, Pairs *out, double norm[2], GCancellable *cancellable,
           TbProgressFunc progress, gpointer user_data, double f0, double f1, GError **error)
{
  g_autoptr(TbPhantom) ph = pairs_phantom (p, seed, norm, error);
  if (ph == NULL)
    return FALSE;
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (seed * 2654435761u + 17));
  int s = p->scale, side = p->block + 2 * PAIRS_MARGIN, nz = p->slices + 2 * PAIRS_MARGIN;
  double hv = p->clinical_spacing / s;
  guint n_regions = G_N_ELEMENTS (trabecular_regions), n_blocks = n_regions * p->blocks_per_region;
  for (guint b = 0; b < n_blocks; b++)
    {
      TbRegion region = trabecular_regions[b / p->blocks_per_region];
      double c[3];
      if (progress != NULL)
        {
          g_autofree char *msg = g_strdup_printf ("seed %" G_GUINT64_FORMAT ": block %u/%u", seed, b + 1, n_blocks);
          progress (f0 + (f1 - f0) * b / n_blocks, msg, user_data);
        }
      if (!find_position (ph, region, rand, c))
        continue;  /* a region this phantom does not have */
      double size[3] = { side * p->clinical_spacing, side * p->clinical_spacing, nz * p->clinical_spacing };
      g_autoptr(TbVolume) truth = tb_phantom_truth (ph, c, size, hv, cancellable, NULL, NULL, error);
      if (truth == NULL)
        return FALSE;
      if (truth->nx != side * s || truth->ny != side * s || truth->nz != nz * s)
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "The phantom's truth block is %dx%dx%d, expected %dx%dx%d",
                       truth->nx, truth->ny, truth->nz, side * s, side * s, nz * s);
          return FALSE;
        }
      g_autoptr(TbVolume) ct = tb_phantom_degrade (ph, truth, s, seed * 100003u + b + 1, error);
      if (ct == NULL)
        return FALSE;
      for (int k = PAIRS_MARGIN; k < PAIRS_MARGIN + p->slices; k++)
        for (int q = 0; q < p->patches_per_slice; q++)
          {
            int ox = PAIRS_MARGIN + g_rand_int_range (rand, 0, p->block - p->patch + 1);
            int oy = PAIRS_MARGIN + g_rand_int_range (rand, 0, p->block - p->patch + 1);
            append_pair (p, ct, truth, ox, oy, k, norm, out);
          }
    }
  return TRUE;
}

/* Pairs from a high-resolution bone-fraction volume on disk (a topology-optimization result,
 * `trabecula-cli enhance --method to`): degraded by the same QCT simulation as the phantom blocks
 * (the phantom of the first training seed supplies the scanner: calibration, PSF, noise; made at
 * the first file that passes the checks and kept in *ph for the others), then cut like them.
 * Training split only: validation stays on the held-out phantom seeds. */
static gboolean
make_extra (const TbNnPairsParams *p, const char *path, guint index, TbPhantom **ph, Pairs *out, double norm[2],
            GCancellable *cancellable, GError **error)
{
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (path, NULL, &info, cancellable, error);
  if (v == NULL)
    return FALSE;
  int s = p->scale;
  double hv = p->clinical_spacing / s;
  for (int a = 0; a < 3; a++)
    if (fabs (v->spacing[a] - hv) > 0.01 * hv)
      {
        g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_MISMATCH,
                     "%s has voxels of %.4g x %.4g x %.4g mm (%s); pairs at scale %d of %.4g mm need %.4g mm: "
                     "resample it first (trabecula-cli resample) or change --scale/--spacing",
                     path, v->spacing[0], v->spacing[1], v->spacing[2], info.spacing_source, s, p->clinical_spacing, hv);
        return FALSE;
      }
  for (gsize i = 0; i < tb_volume_n_voxels (v); i++)
    if (!isfinite (v->data[i]) || v->data[i] < -1e-3f || v->data[i] > 1.001f)
      {
        g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                     "%s is not a bone fraction map: voxel %" G_GSIZE_FORMAT " is %g (values must be finite, in [0, 1]; "
                     "a topology-optimization result or a binary segmentation is)", path, i, v->data[i]);
        return FALSE;
      }
  int lx = v->nx / s, ly = v->ny / s, lz = v->nz / s;
  if (lx < p->patch + 2 * PAIRS_MARGIN || ly < p->patch + 2 * PAIRS_MARGIN || lz < 1 + 2 * PAIRS_MARGIN)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                   "%s is %d x %d x %d clinical voxels at scale %d; a pair of patch %d needs at least %d x %d x %d "
                   "(the patch and a %d-voxel PSF margin): enhance a larger VOI or make pairs with a smaller --patch",
                   path, lx, ly, lz, s, p->patch, p->patch + 2 * PAIRS_MARGIN, p->patch + 2 * PAIRS_MARGIN,
                   1 + 2 * PAIRS_MARGIN, PAIRS_MARGIN);
      return FALSE;
    }
  /* whole clinical voxels only */
  TbBox whole = { 0, 0, 0, lx * s, ly * s, lz * s };
  g_autoptr(TbVolume) truth = tb_volume_crop (v, &whole, error);
  if (truth == NULL)
    return FALSE;
  for (gsize i = 0; i < tb_volume_n_voxels (truth); i++)
    truth->data[i] = CLAMP (truth->data[i], 0.0f, 1.0f);
  if (*ph == NULL && (*ph = pairs_phantom (p, p->train_seeds[0], norm, error)) == NULL)
    return FALSE;
  g_autoptr(TbVolume) ct = tb_phantom_degrade (*ph, truth, s, 7777777u + index, error);
  if (ct == NULL)
    return FALSE;
  g_autoptr(GRand) rand = g_rand_new_with_seed (31337u + index);
  for (int k = PAIRS_MARGIN; k < lz - PAIRS_MARGIN; k++)
    for (int q = 0; q < p->patches_per_slice; q++)
      {
        int ox = PAIRS_MARGIN + g_rand_int_range (rand, 0, lx - 2 * PAIRS_MARGIN - p->patch + 1);
        int oy = PAIRS_MARGIN + g_rand_int_range (rand, 0, ly - 2 * PAIRS_MARGIN - p->patch + 1);
        append_pair (p, ct, truth, ox, oy, k, norm, out);
      }
  return TRUE;
}

static gboolean
write_split (const TbNnPairsParams *p, const char *name, Pairs *pairs, GError **error)
{
  int hs = p->patch * p->scale;
  g_autoptr(TbNnTensor) lr = tb_nn_tensor_new (4, pairs->n, 1, 1, p->patch, p->patch);
  g_autoptr(TbNnTensor) hr = tb_nn_tensor_new (4, pairs->n, 1, 1, hs, hs);
  memcpy (lr->data, pairs->lr->data, pairs->lr->len * sizeof (float));
  memcpy (hr->data, pairs->hr->data, pairs->hr->len * sizeof (float));
  g_autoptr(GHashTable) t = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (t, "lr", lr);
  g_hash_table_insert (t, "hr", hr);
  g_autofree char *file = g_strconcat (name, ".safetensors", NULL);
  g_autofree char *path = g_build_filename (p->out_dir, file, NULL);
  return tb_nn_safetensors_write (path, t, NULL, error);
}

static void
add_seeds (JsonBuilder *b, const char *key, const guint64 *seeds, guint n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    json_builder_add_int_value (b, (gint64) seeds[i]);
  json_builder_end_array (b);
}

gboolean
tb_nn_make_pairs (const TbNnPairsParams *p, GCancellable *cancellable, TbProgressFunc progress,
                  gpointer user_data, GError **error)
{
  g_return_val_if_fail (p != NULL && p->out_dir != NULL, FALSE);
  if (p->n_train_seeds < 1 || p->n_val_seeds < 1 || p->patch < 4 || p->block < p->patch || p->slices < 1
      || p->patches_per_slice < 1 || p->blocks_per_region < 1 || p->scale < 2 || p->supersample < 1)
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                   "make-pairs needs train and validation seeds, patch >= 4, block >= patch, scale >= 2");
      return FALSE;
    }
  for (guint i = 0; i < p->n_train_seeds; i++)
    for (guint j = 0; j < p->n_val_seeds; j++)
      if (p->train_seeds[i] == p->val_seeds[j])
        {
          g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID,
                       "Seed %" G_GUINT64_FORMAT " is both a training and a validation seed: validation must be held out",
                       p->train_seeds[i]);
          return FALSE;
        }
  if (g_mkdir_with_parents (p->out_dir, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "Cannot create the folder %s", p->out_dir);
      return FALSE;
    }
  Pairs sets[2];
  double norm[2] = { 0, 1 };
  guint total = p->n_train_seeds + p->n_val_seeds, done = 0;
  for (int v = 0; v < 2; v++)
    {
      sets[v].lr = g_array_new (FALSE, FALSE, sizeof (float));
      sets[v].hr = g_array_new (FALSE, FALSE, sizeof (float));
      sets[v].n = 0;
    }
  gboolean ok = TRUE;
  /* the volumes on disk first: a file that will be refused is refused before minutes of phantom work */
  g_autofree guint *extra_pairs = g_new0 (guint, MAX (1u, p->n_extra_truth));
  g_autoptr(TbPhantom) scanner = NULL;
  for (guint i = 0; i < p->n_extra_truth && ok; i++)
    {
      guint before = sets[0].n;
      if (progress != NULL)
        {
          g_autofree char *msg = g_strdup_printf ("extra truth %u/%u: %s", i + 1, p->n_extra_truth, p->extra_truth[i]);
          progress (0.0, msg, user_data);
        }
      ok = make_extra (p, p->extra_truth[i], i, &scanner, &sets[0], norm, cancellable, error);
      extra_pairs[i] = sets[0].n - before;
    }
  for (int v = 0; v < 2 && ok; v++)
    {
      const guint64 *seeds = v == 0 ? p->train_seeds : p->val_seeds;
      guint ns = v == 0 ? p->n_train_seeds : p->n_val_seeds;
      for (guint i = 0; i < ns && ok; i++, done++)
        ok = make_seed (p, seeds[i], &sets[v], norm, cancellable, progress, user_data,
                        (double) done / total, (double) (done + 1) / total, error);
    }
  if (ok && (sets[0].n == 0 || sets[1].n == 0))
    {
      g_set_error (error, TB_NN_ERROR, TB_NN_ERROR_INVALID, "No pairs: the phantom had none of the trabecular regions");
      ok = FALSE;
    }
  ok = ok && write_split (p, "train", &sets[0], error) && write_split (p, "val", &sets[1], error);
  if (ok)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
#define MEMBER(k, add) (json_builder_set_member_name (b, k), add)
      MEMBER ("format", json_builder_add_string_value (b, "trabecula-pairs-1"));
      MEMBER ("source", json_builder_add_string_value (b, "phantom truth (tb_phantom_truth) degraded by tb_phantom_degrade"));
      MEMBER ("dims", json_builder_add_int_value (b, 2));
      MEMBER ("scale", json_builder_add_int_value (b, p->scale));
      MEMBER ("patch", json_builder_add_int_value (b, p->patch));
      MEMBER ("input_spacing_mm", json_builder_add_double_value (b, p->clinical_spacing));
      MEMBER ("output_spacing_mm", json_builder_add_double_value (b, p->clinical_spacing / p->scale));
      MEMBER ("input_offset", json_builder_add_double_value (b, norm[0]));
      MEMBER ("input_scale", json_builder_add_double_value (b, norm[1]));
      MEMBER ("noise_sigma_hu", json_builder_add_double_value (b, p->noise_sigma));
      MEMBER ("truth_supersample", json_builder_add_int_value (b, p->supersample));
      MEMBER ("blocks_per_region", json_builder_add_int_value (b, p->blocks_per_region));
      MEMBER ("block", json_builder_add_int_value (b, p->block));
      MEMBER ("slices_per_block", json_builder_add_int_value (b, p->slices));
      MEMBER ("patches_per_slice", json_builder_add_int_value (b, p->patches_per_slice));
      MEMBER ("regions", json_builder_add_string_value (b, "head, neck, wards, intertrochanter, greater trochanter, lesser trochanter"));
      add_seeds (b, "train_seeds", p->train_seeds, p->n_train_seeds);
      add_seeds (b, "val_seeds", p->val_seeds, p->n_val_seeds);
      if (p->n_extra_truth > 0)
        {
          json_builder_set_member_name (b, "extra_truth");
          json_builder_begin_array (b);
          for (guint i = 0; i < p->n_extra_truth; i++)
            {
              json_builder_begin_object (b);
              MEMBER ("file", json_builder_add_string_value (b, p->extra_truth[i]));
              MEMBER ("train_pairs", json_builder_add_int_value (b, extra_pairs[i]));
              MEMBER ("degraded_as", json_builder_add_string_value (b, "the phantom of the first training seed's QCT"));
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      MEMBER ("n_train", json_builder_add_int_value (b, sets[0].n));
      MEMBER ("n_val", json_builder_add_int_value (b, sets[1].n));
      MEMBER ("truth", json_builder_add_string_value (b, "bone fraction of the HR slice at the centre of each LR slice"));
      if (p->command_line != NULL)
        MEMBER ("command", json_builder_add_string_value (b, p->command_line));
#undef MEMBER
      json_builder_end_object (b);
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      g_autofree char *path = g_build_filename (p->out_dir, "manifest.json", NULL);
      ok = g_file_set_contents (path, text, -1, error);
    }
  for (int v = 0; v < 2; v++)
    {
      g_array_unref (sets[v].lr);
      g_array_unref (sets[v].hr);
    }
  return ok;
}
