/* morpho-measure.c — all measures of a binary volume in one call, and their text forms. */
#include "tb-morpho.h"
#include "morpho-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stddef.h>

#define MIL_DIRECTIONS 64
#define MIL_SEED 1

typedef struct {
  const char *name;
  gsize offset;
  const char *unit;
  const char *definition;
} Row;

/* One row per measure: the name users know (Bouxsein 2010), its unit and definition. */
static const Row rows[] = {
  { "TV", offsetof (TbMorphoResult, tv), "mm^3", "total volume: voxels in the region x voxel volume" },
  { "BV", offsetof (TbMorphoResult, bv), "mm^3", "bone volume: bone voxels in the region x voxel volume" },
  { "BV/TV", offsetof (TbMorphoResult, bv_tv), "1", "bone volume fraction (voxel count)" },
  { "BS", offsetof (TbMorphoResult, bs), "mm^2", "bone surface: area of the marching-cubes mesh (iso 1/2)" },
  { "BS/BV", offsetof (TbMorphoResult, bs_bv), "1/mm", "specific bone surface, BS / BV (voxel count)" },
  { "Tb.Th", offsetof (TbMorphoResult, tb_th), "mm", "mean local thickness of bone, maximal spheres (Hildebrand & Ruegsegger 1997; BoneJ radii)" },
  { "Tb.Th.SD", offsetof (TbMorphoResult, tb_th_sd), "mm", "standard deviation of the local thickness over bone voxels" },
  { "Tb.Th.Max", offsetof (TbMorphoResult, tb_th_max), "mm", "largest local thickness" },
  { "Tb.Sp", offsetof (TbMorphoResult, tb_sp), "mm", "mean local thickness of the marrow space (same method)" },
  { "Tb.Sp.SD", offsetof (TbMorphoResult, tb_sp_sd), "mm", "standard deviation of the separation" },
  { "Tb.Sp.Max", offsetof (TbMorphoResult, tb_sp_max), "mm", "largest separation" },
  { "Tb.N", offsetof (TbMorphoResult, tb_n), "1/mm", "trabecular number, 1 / (Tb.Th + Tb.Sp)" },
  { "SMI", offsetof (TbMorphoResult, smi), "1", "structure model index 6 V (dS/dr) / S^2 on the smoothed mesh (plate 0, rod 3, sphere 4)" },
  { "Euler", offsetof (TbMorphoResult, euler), "1", "Euler characteristic, 26-connected bone (Odgaard & Gundersen 1993)" },
  { "DeltaChi", offsetof (TbMorphoResult, delta_chi), "1", "Euler characteristic with BoneJ's stack-edge correction" },
  { "Conn", offsetof (TbMorphoResult, conn), "1", "connectivity, 1 - DeltaChi" },
  { "Conn.D", offsetof (TbMorphoResult, conn_d), "1/mm^3", "connectivity density, Conn / TV" },
  { "DA", offsetof (TbMorphoResult, da), "1", "degree of anisotropy 1 - min/max eigenvalue of the MIL fabric tensor" },
};

static double
row_value (const TbMorphoResult *r, const Row *row)
{
  return *(const double *) ((const char *) r + row->offset);
}

static void
note (GString *notes, const char *text)
{
  if (notes->len > 0)
    g_string_append (notes, "; ");
  g_string_append (notes, text);
}

void
tb_morpho_result_clear (TbMorphoResult *result)
{
  if (result != NULL)
    g_clear_pointer (&result->notes, g_free);
}

double
tb_morpho_surface (const TbMask *m, double *smi)
{
  g_return_val_if_fail (m != NULL, NAN);
  TbMorphoMesh mesh;
  if (!tb_morpho_mesh_build (m, NULL, &mesh, NULL))
    return NAN;
  double area = tb_morpho_mesh_area (&mesh, NULL);
  if (smi != NULL)
    *smi = tb_morpho_mesh_smi (&mesh, NULL, NULL);
  tb_morpho_mesh_clear (&mesh);
  return area;
}

/* a stage's own 0..1 progress mapped into [lo, hi] of the whole measurement */
typedef struct {
  TbProgressFunc progress;
  gpointer user_data;
  double lo, hi;
} SubProgress;

static void
sub_progress (double fraction, const char *message, gpointer data)
{
  SubProgress *sp = data;
  sp->progress (sp->lo + (sp->hi - sp->lo) * CLAMP (fraction, 0.0, 1.0), message, sp->user_data);
}

static void
report (TbProgressFunc progress, gpointer user_data, double f, const char *msg)
{
  if (progress != NULL)
    progress (f, msg, user_data);
}

gboolean
tb_morpho_measure (const TbMask *bone, const TbMask *tv, TbMorphoFlags flags,
                   TbMorphoResult *r, GCancellable *cancellable,
                   TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (bone != NULL && r != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    *(double *) ((char *) r + rows[i].offset) = NAN;
  for (int i = 0; i < 3; i++)
    r->fabric[i] = NAN;
  for (int i = 0; i < 9; i++)
    r->fabric_axes[i] = NAN;
  r->notes = NULL;

  if (tv != NULL && (tv->nx != bone->nx || tv->ny != bone->ny || tv->nz != bone->nz))
    {
      g_set_error (error, TB_MORPHO_ERROR, TB_MORPHO_ERROR_GRID,
                   "The region mask is %d x %d x %d but the image is %d x %d x %d",
                   tv->nx, tv->ny, tv->nz, bone->nx, bone->ny, bone->nz);
      return FALSE;
    }
  g_autoptr(GString) notes = g_string_new (NULL);
  const double vox = bone->spacing[0] * bone->spacing[1] * bone->spacing[2];
  const gsize n = tb_mask_n_voxels (bone);
  guint64 n_tv = 0, n_bv = 0;
#pragma omp parallel for reduction(+:n_tv, n_bv) schedule(static)
  for (gsize i = 0; i < n; i++)
    if (tv == NULL || tv->data[i] != 0)
      {
        n_tv++;
        n_bv += bone->data[i] != 0;
      }
  if (n_tv == 0)
    {
      note (notes, "the region (TV) is empty: every measure is undefined");
      r->notes = g_string_free (g_steal_pointer (&notes), FALSE);
      return TRUE;
    }
  r->tv = (double) n_tv * vox;
  r->bv = (double) n_bv * vox;
  r->bv_tv = (double) n_bv / (double) n_tv;
  if (n_bv == 0)
    note (notes, "no bone voxel in the region: BS/BV, Tb.Th, SMI and DA are undefined");

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  /* Euler number, edge correction, connectivity */
  r->euler = tb_morpho_euler_in_region (bone, tv, &r->delta_chi);
  r->conn = 1.0 - r->delta_chi;
  r->conn_d = r->conn / r->tv;
  report (progress, user_data, 0.1, "Surface");

  /* surface and SMI */
  if (n_bv > 0)
    {
      TbMorphoMesh mesh;
      if (!tb_morpho_mesh_build (bone, tv, &mesh, error))
        return FALSE;
      r->bs = tb_morpho_mesh_area (&mesh, NULL);
      r->bs_bv = r->bs / r->bv;
      if (!(flags & TB_MORPHO_SKIP_SMI) && !g_cancellable_is_cancelled (cancellable))
        {
          report (progress, user_data, 0.2, "SMI");
          SubProgress sp = { progress, user_data, 0.2, 0.35 };
          r->smi = tb_morpho_mesh_smi (&mesh, progress ? sub_progress : NULL, &sp);
        }
      tb_morpho_mesh_clear (&mesh);
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* local thickness of bone and of marrow */
  if (!(flags & TB_MORPHO_SKIP_THICKNESS))
    {
      for (int phase = 1; phase >= 0; phase--)
        {
          if (phase == 1 && n_bv == 0)
            continue;  /* already noted: no bone */
          report (progress, user_data, phase ? 0.35 : 0.6, phase ? "Trabecular thickness" : "Trabecular separation");
          GError *local = NULL;
          double *mean = phase ? &r->tb_th : &r->tb_sp;
          double *sd = phase ? &r->tb_th_sd : &r->tb_sp_sd;
          double *max = phase ? &r->tb_th_max : &r->tb_sp_max;
          SubProgress sp = { progress, user_data, phase ? 0.35 : 0.6, phase ? 0.6 : 0.85 };
          TbVolume *map = tb_morpho_local_thickness (bone, phase, tv, mean, sd, max, cancellable,
                                                     progress ? sub_progress : NULL, &sp, &local);
          if (map == NULL)
            {
              if (!g_error_matches (local, TB_MORPHO_ERROR, TB_MORPHO_ERROR_EMPTY))
                {
                  g_propagate_error (error, local);
                  return FALSE;
                }
              note (notes, local->message);
              g_error_free (local);
            }
          else
            tb_volume_unref (map);
        }
      r->tb_n = 1.0 / (r->tb_th + r->tb_sp);
    }

  /* anisotropy */
  if (!(flags & TB_MORPHO_SKIP_ANISOTROPY) && n_bv > 0)
    {
      report (progress, user_data, 0.85, "Anisotropy");
      GError *local = NULL;
      SubProgress sp = { progress, user_data, 0.85, 1.0 };
      r->da = tb_morpho_anisotropy_in_region (bone, tv, MIL_DIRECTIONS, MIL_SEED, r->fabric, r->fabric_axes,
                                              progress ? sub_progress : NULL, &sp, &local);
      if (local != NULL)
        {
          note (notes, local->message);
          g_error_free (local);
        }
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  report (progress, user_data, 1.0, "Done");
  if (notes->len > 0)
    r->notes = g_string_free (g_steal_pointer (&notes), FALSE);
  return TRUE;
}

/* %.9g keeps every digit a float-derived measure has; nan/inf print as such */
static void
append_number (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (isnan (v))
    g_string_append (s, "nan");
  else if (isinf (v))
    g_string_append (s, v > 0 ? "inf" : "-inf");
  else
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

char *
tb_morpho_result_to_table (const TbMorphoResult *r)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%-10s %16s  %-7s %s\n", "measure", "value", "unit", "definition");
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      GString *v = g_string_new (NULL);
      append_number (v, row_value (r, &rows[i]));
      g_string_append_printf (s, "%-10s %16s  %-7s %s\n", rows[i].name, v->str, rows[i].unit, rows[i].definition);
      g_string_free (v, TRUE);
    }
  if (r->notes != NULL)
    g_string_append_printf (s, "note: %s\n", r->notes);
  return g_string_free (s, FALSE);
}

char *
tb_morpho_result_to_csv (const TbMorphoResult *r)
{
  GString *s = g_string_new ("measure,value,unit,definition\n");
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_string_append_printf (s, "%s,", rows[i].name);
      append_number (s, row_value (r, &rows[i]));
      g_string_append_printf (s, ",%s,\"%s\"\n", rows[i].unit, rows[i].definition);
    }
  if (r->notes != NULL)
    g_string_append_printf (s, "note,,,\"%s\"\n", r->notes);
  return g_string_free (s, FALSE);
}

char *
tb_morpho_result_to_json (const TbMorphoResult *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "measures");
  json_builder_begin_array (b);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      double v = row_value (r, &rows[i]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, rows[i].name);
      json_builder_set_member_name (b, "value");
      if (isfinite (v))
        json_builder_add_double_value (b, v);
      else
        json_builder_add_null_value (b);  /* JSON has no NaN: null, with the reason in "notes" */
      json_builder_set_member_name (b, "unit");
      json_builder_add_string_value (b, rows[i].unit);
      json_builder_set_member_name (b, "definition");
      json_builder_add_string_value (b, rows[i].definition);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "fabric_eigenvalues");
  json_builder_begin_array (b);
  for (int i = 0; i < 3; i++)
    if (isfinite (r->fabric[i]))
      json_builder_add_double_value (b, r->fabric[i]);
    else
      json_builder_add_null_value (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "notes");
  if (r->notes != NULL)
    json_builder_add_string_value (b, r->notes);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}
