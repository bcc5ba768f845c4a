/* nn-pairs.c — training pairs from the phantom: truth blocks at random positions in every trabecular
 * region, several seeds (a separate held-out seed set for validation), each degraded to clinical
 * resolution by exactly the phantom's QCT simulation (tb_phantom_degrade). The truth of an LR slice is
 * the HR slice at its centre (index scale/2 of the scale HR slices it integrates): a 2-D section at
 * the target resolution, which morphometry and 2-D stiffness can be measured on. */
#include "nn-private.h"
#include "phantom/tb-phantom.h"

#include <glib/gstdio.h>
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

static gboolean
make_seed (const TbNnPairsParams *p, guint64 seed, Pairs *out, double norm[2], GCancellable *cancellable,
           TbProgressFunc progress, gpointer user_data, double f0, double f1, GError **error)
{
  TbPhantomParams pp;
  tb_phantom_params_init (&pp);
  pp.seed = seed;
  pp.clinical_spacing = p->clinical_spacing;
  pp.noise_sigma = p->noise_sigma;
  pp.supersample = p->supersample;
  g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, error);
  if (ph == NULL)
    return FALSE;
  /* x = (HU - offset) / scale is the bone fraction for a noise-free, blur-free voxel */
  norm[0] = pp.hu_a + pp.hu_b * pp.marrow_bmd;
  norm[1] = pp.hu_b * (pp.tissue_bmd - pp.marrow_bmd);
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (seed * 2654435761u + 17));
  int s = p->scale, side = p->block + 2 * PAIRS_MARGIN, nz = p->slices + 2 * PAIRS_MARGIN;
  double hv = p->clinical_spacing / s;
  guint n_regions = G_N_ELEMENTS (trabecular_regions), n_blocks = n_regions * p->blocks_per_region;
  gsize lp = (gsize) p->patch * p->patch, hp = lp * s * s;
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
