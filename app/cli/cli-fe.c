/* cli-fe.c — `trabecula-cli fe`: linear elastic voxel FE on a volume, loads from JSON or the femur
 * phantom's hip cases; writes displacement, energy-density and von Mises TIFFs, prints compliance and
 * solver statistics.
 *
 * loads.json:
 *   { "supports": [ { "axis": "z", "index": 0, "components": "xyz" },      node plane (index -1 = last)
 *                   { "node": [i, j, k], "components": "xy" } ],
 *     "cases": [ { "name": "compression", "weight": 1.0,
 *                  "forces": [ { "node": [i, j, k], "f": [fx, fy, fz] } ],            N
 *                  "plane_forces": [ { "axis": "z", "index": -1, "f": [0, 0, -100] } ], total N, spread evenly
 *                  "displacements": [ { "axis": "z", "index": -1, "component": "z", "value": -0.01 } ] } ] } mm
 */
#include "tb-cli.h"
#include "fe/tb-fe.h"
#include "io/tb-io.h"
#include "phantom/tb-phantom.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static gboolean
parse_axis (const char *s, int *axis)
{
  if (s == NULL || strlen (s) != 1 || s[0] < 'x' || s[0] > 'z')
    return FALSE;
  *axis = s[0] - 'x';
  return TRUE;
}

static guint
parse_components (const char *s)
{
  guint c = 0;
  for (; s != NULL && *s; s++)
    c |= *s == 'x' ? TB_FE_X : *s == 'y' ? TB_FE_Y : *s == 'z' ? TB_FE_Z : 0;
  return c;
}

static gboolean
json_node3 (JsonObject *o, const char *key, const int n[3], int dim, int out[3], GError **error)
{
  JsonArray *a = json_object_has_member (o, key) ? json_object_get_array_member (o, key) : NULL;
  if (a == NULL || json_array_get_length (a) < (guint) dim)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "loads: \"%s\" must be an array of %d node indices", key, dim);
      return FALSE;
    }
  for (int c = 0; c < 3; c++)
    {
      out[c] = c < dim ? (int) json_array_get_int_element (a, c) : 0;
      int nn = c < dim ? n[c] + 1 : 1;
      if (out[c] < 0 || out[c] >= nn)
        {
          g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE, "loads: node index %d on axis %c is outside 0..%d",
                       out[c], 'x' + c, nn - 1);
          return FALSE;
        }
    }
  return TRUE;
}

static void
json_vec3 (JsonObject *o, const char *key, double v[3])
{
  v[0] = v[1] = v[2] = 0;
  JsonArray *a = json_object_has_member (o, key) ? json_object_get_array_member (o, key) : NULL;
  for (guint c = 0; a != NULL && c < MIN (3u, json_array_get_length (a)); c++)
    v[c] = json_array_get_double_element (a, c);
}

/* nodes of one plane: axis, index (negative counts from the end) */
static GArray *
plane_nodes (TbFeModel *m, JsonObject *o, GError **error)
{
  int n[3], axis;
  tb_fe_model_get_dims (m, n, NULL);
  int dim = tb_fe_model_get_dim (m);
  if (!parse_axis (json_object_get_string_member_with_default (o, "axis", ""), &axis) || axis >= dim)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "loads: \"axis\" must be x, y%s", dim == 3 ? " or z" : "");
      return NULL;
    }
  int nn[3] = { n[0] + 1, n[1] + 1, dim == 3 ? n[2] + 1 : 1 };
  int index = (int) json_object_get_int_member_with_default (o, "index", 0);
  if (index < 0)
    index += nn[axis];
  if (index < 0 || index >= nn[axis])
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_OUTSIDE, "loads: plane index outside 0..%d", nn[axis] - 1);
      return NULL;
    }
  GArray *a = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (int k = 0; k < nn[2]; k++)
    for (int j = 0; j < nn[1]; j++)
      for (int i = 0; i < nn[0]; i++)
        {
          int ijk[3] = { i, j, k };
          if (ijk[axis] == index)
            {
              gsize node = tb_fe_model_node (m, i, j, k);
              g_array_append_val (a, node);
            }
        }
  return a;
}

static gboolean
apply_loads_json (TbFeModel *m, const char *path, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_file (p, path, error))
    return FALSE;
  JsonNode *root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "%s: expected a JSON object with \"supports\" and \"cases\"", path);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  int n[3], dim = tb_fe_model_get_dim (m);
  tb_fe_model_get_dims (m, n, NULL);
  JsonArray *sup = json_object_has_member (o, "supports") ? json_object_get_array_member (o, "supports") : NULL;
  for (guint q = 0; sup != NULL && q < json_array_get_length (sup); q++)
    {
      JsonObject *s = json_array_get_object_element (sup, q);
      guint comp = parse_components (json_object_get_string_member_with_default (s, "components", "xyz"));
      if (json_object_has_member (s, "node"))
        {
          int ijk[3];
          if (!json_node3 (s, "node", n, dim, ijk, error))
            return FALSE;
          tb_fe_model_fix (m, tb_fe_model_node (m, ijk[0], ijk[1], ijk[2]), comp);
          continue;
        }
      g_autoptr(GArray) nodes = plane_nodes (m, s, error);
      if (nodes == NULL)
        return FALSE;
      for (guint t = 0; t < nodes->len; t++)
        tb_fe_model_fix (m, g_array_index (nodes, gsize, t), comp);
    }
  JsonArray *cases = json_object_has_member (o, "cases") ? json_object_get_array_member (o, "cases") : NULL;
  if (cases == NULL || json_array_get_length (cases) == 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "%s: no \"cases\": give at least one load case", path);
      return FALSE;
    }
  for (guint q = 0; q < json_array_get_length (cases); q++)
    {
      JsonObject *c = json_array_get_object_element (cases, q);
      g_autofree char *def = g_strdup_printf ("case %u", q + 1);
      int lc = tb_fe_model_add_load_case (m, json_object_get_string_member_with_default (c, "name", def),
                                          json_object_get_double_member_with_default (c, "weight", 1.0));
      JsonArray *fs = json_object_has_member (c, "forces") ? json_object_get_array_member (c, "forces") : NULL;
      for (guint t = 0; fs != NULL && t < json_array_get_length (fs); t++)
        {
          JsonObject *f = json_array_get_object_element (fs, t);
          int ijk[3];
          double v[3];
          if (!json_node3 (f, "node", n, dim, ijk, error))
            return FALSE;
          json_vec3 (f, "f", v);
          tb_fe_model_add_force (m, lc, tb_fe_model_node (m, ijk[0], ijk[1], ijk[2]), v);
        }
      JsonArray *pf = json_object_has_member (c, "plane_forces") ? json_object_get_array_member (c, "plane_forces") : NULL;
      for (guint t = 0; pf != NULL && t < json_array_get_length (pf); t++)
        {
          JsonObject *f = json_array_get_object_element (pf, t);
          g_autoptr(GArray) nodes = plane_nodes (m, f, error);
          if (nodes == NULL)
            return FALSE;
          double v[3];
          json_vec3 (f, "f", v);
          for (guint r = 0; r < nodes->len; r++)
            {
              double each[3] = { v[0] / nodes->len, v[1] / nodes->len, v[2] / nodes->len };
              tb_fe_model_add_force (m, lc, g_array_index (nodes, gsize, r), each);
            }
        }
      JsonArray *ds = json_object_has_member (c, "displacements") ? json_object_get_array_member (c, "displacements") : NULL;
      for (guint t = 0; ds != NULL && t < json_array_get_length (ds); t++)
        {
          JsonObject *d = json_array_get_object_element (ds, t);
          int comp;
          if (!parse_axis (json_object_get_string_member_with_default (d, "component", ""), &comp) || comp >= dim)
            {
              g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "loads: a displacement needs \"component\": x, y or z");
              return FALSE;
            }
          double value = json_object_get_double_member_with_default (d, "value", 0.0);
          if (json_object_has_member (d, "node"))
            {
              int ijk[3];
              if (!json_node3 (d, "node", n, dim, ijk, error))
                return FALSE;
              tb_fe_model_prescribe (m, lc, tb_fe_model_node (m, ijk[0], ijk[1], ijk[2]), comp, value);
              continue;
            }
          g_autoptr(GArray) nodes = plane_nodes (m, d, error);
          if (nodes == NULL)
            return FALSE;
          for (guint r = 0; r < nodes->len; r++)
            tb_fe_model_prescribe (m, lc, g_array_index (nodes, gsize, r), comp, value);
        }
    }
  return TRUE;
}

static char *
safe_name (const char *s)
{
  char *r = g_strdup (s);
  for (char *c = r; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_')
      *c = '_';
  return r;
}

static gboolean
write_results (TbFeSolver *S, const TbVolume *in, const char *dir, GError **error)
{
  TbFeModel *m = tb_fe_solver_get_model (S);
  int n[3], dim = tb_fe_model_get_dim (m);
  double h[3];
  tb_fe_model_get_dims (m, n, h);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_IO, "cannot create the folder %s", dir);
      return FALSE;
    }
  gsize ne = tb_fe_model_n_elements (m);
  for (int lc = 0; lc < tb_fe_model_n_load_cases (m); lc++)
    {
      g_autofree char *stem = safe_name (tb_fe_model_load_case_name (m, lc));
      const double *u = tb_fe_solver_get_displacement (S, lc);
      /* nodal displacements on the node grid: its voxel centres are the nodes */
      g_autoptr(TbVolume) un = tb_volume_new (n[0] + 1, n[1] + 1, dim == 3 ? n[2] + 1 : 1, h, error);
      if (un == NULL)
        return FALSE;
      for (int a = 0; a < 3; a++)
        un->origin[a] = in->origin[a] - in->spacing[a] / 2;
      for (int c = 0; c < dim; c++)
        {
          for (gsize q = 0; q < tb_fe_model_n_nodes (m); q++)
            un->data[q] = (float) u[q * dim + c];
          g_autofree char *name = g_strdup_printf ("%s_u%c.tif", stem, 'x' + c);
          g_autofree char *path = g_build_filename (dir, name, NULL);
          if (!tb_io_write_tiff (path, un, TB_IO_PIXEL_FLOAT32, error))
            return FALSE;
          g_print ("  wrote %s\n", path);
        }
      g_autoptr(TbVolume) ev = tb_volume_new_like (in, error);
      if (ev == NULL)
        return FALSE;
      g_assert (tb_volume_n_voxels (ev) == ne);
      tb_fe_solver_energy_density (S, lc, ev->data);
      g_autofree char *en = g_strdup_printf ("%s_energy_density.tif", stem);
      g_autofree char *ep = g_build_filename (dir, en, NULL);
      if (!tb_io_write_tiff (ep, ev, TB_IO_PIXEL_FLOAT32, error))
        return FALSE;
      g_print ("  wrote %s (strain-energy density, MPa)\n", ep);
      tb_fe_solver_von_mises (S, lc, ev->data);
      g_autofree char *vn = g_strdup_printf ("%s_von_mises.tif", stem);
      g_autofree char *vp = g_build_filename (dir, vn, NULL);
      if (!tb_io_write_tiff (vp, ev, TB_IO_PIXEL_FLOAT32, error))
        return FALSE;
      g_print ("  wrote %s (von Mises stress, MPa)\n", vp);
    }
  return TRUE;
}

int
tb_cli_fe (int argc, char **argv)
{
  g_autofree char *loads = NULL, *output = NULL, *deck = NULL, *smoother = NULL, *coarse = NULL;
  gboolean femur = FALSE, density = FALSE, verbose = FALSE;
  double threshold = G_MAXDOUBLE, E0 = 15000, emin_ratio = 1e-9, nu = 0.3, penal = 3, rtol = 1e-8, trim = -1;
  int levels = 0, max_iter = 1000;
  GOptionEntry entries[] = {
    { "loads", 'l', 0, G_OPTION_ARG_FILENAME, &loads, "Supports and load cases (JSON, see below)", "FILE" },
    { "femur-loads", 0, 0, G_OPTION_ARG_NONE, &femur, "The three hip load cases at the phantom femur's landmarks", NULL },
    { "threshold", 't', 0, G_OPTION_ARG_DOUBLE, &threshold, "Voxels above T are solid (rho 1), the rest void (rho 0)", "T" },
    { "density", 'd', 0, G_OPTION_ARG_NONE, &density, "Voxel values are relative densities in [0, 1]", NULL },
    { "E0", 0, 0, G_OPTION_ARG_DOUBLE, &E0, "Tissue modulus in MPa (default 15000)", "MPA" },
    { "emin-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &emin_ratio, "Void modulus / E0 (default 1e-9; 0 = empty)", "R" },
    { "nu", 0, 0, G_OPTION_ARG_DOUBLE, &nu, "Poisson's ratio (default 0.3)", "NU" },
    { "penal", 0, 0, G_OPTION_ARG_DOUBLE, &penal, "SIMP exponent p (default 3)", "P" },
    { "rtol", 0, 0, G_OPTION_ARG_DOUBLE, &rtol, "Relative residual tolerance (default 1e-8)", "TOL" },
    { "max-iter", 0, 0, G_OPTION_ARG_INT, &max_iter, "CG iteration limit (default 1000)", "N" },
    { "levels", 0, 0, G_OPTION_ARG_INT, &levels, "Multigrid levels (0 = automatic, 1 = Jacobi-PCG)", "N" },
    { "smoother", 0, 0, G_OPTION_ARG_STRING, &smoother, "chebyshev (default) or jacobi", "NAME" },
    { "coarse", 0, 0, G_OPTION_ARG_STRING, &coarse, "galerkin (default) or rediscretized", "NAME" },
    { "trim", 0, 0, G_OPTION_ARG_DOUBLE, &trim, "Whole bone: take out the surroundings (elements more than 2 away "
      "from any denser than RHO, and pieces not joined to the largest body); e.g. 0.02", "RHO" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write displacement, energy and von Mises TIFFs here", "DIR" },
    { "export-ccx", 0, 0, G_OPTION_ARG_FILENAME, &deck, "Write a CalculiX/Abaqus deck of the model", "FILE" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print the residual history", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("VOLUME — linear elastic voxel FE (hex8 / quad4)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
    "loads.json: {\"supports\": [{\"axis\": \"z\", \"index\": 0, \"components\": \"xyz\"}],\n"
    "  \"cases\": [{\"name\": \"c\", \"weight\": 1, \"plane_forces\": [{\"axis\": \"z\", \"index\": -1, \"f\": [0,0,-100]}],\n"
    "             \"forces\": [{\"node\": [i,j,k], \"f\": [fx,fy,fz]}],\n"
    "             \"displacements\": [{\"axis\": \"z\", \"index\": -1, \"component\": \"z\", \"value\": -0.01}]}]}\n"
    "Units: mm, N, MPa. Node (i,j,k) is the corner of voxels; index -1 is the last node plane.");
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 2)
    return tb_cli_usage ("fe", "expected one VOLUME");
  if ((loads == NULL) == !femur)
    return tb_cli_usage ("fe", "give exactly one of --loads FILE or --femur-loads");
  if ((threshold != G_MAXDOUBLE) == density)
    return tb_cli_usage ("fe", "give exactly one of --threshold T or --density");
  if (trim != -1 && !(trim >= 0 && trim < 1))
    return tb_cli_usage ("fe", "--trim %g is not a bone fraction: give RHO in [0, 1), e.g. --trim 0.02", trim);
  TbFeSettings s;
  tb_fe_settings_init (&s);
  s.rtol = rtol;
  s.max_iter = max_iter;
  s.levels = levels;
  s.verbose = verbose;
  if (smoother != NULL)
    {
      if (g_strcmp0 (smoother, "jacobi") == 0) s.smoother = TB_FE_SMOOTHER_JACOBI;
      else if (g_strcmp0 (smoother, "chebyshev") != 0) return tb_cli_usage ("fe", "--smoother: jacobi or chebyshev");
    }
  if (coarse != NULL)
    {
      if (g_strcmp0 (coarse, "rediscretized") == 0) s.coarse = TB_FE_COARSE_REDISCRETIZED;
      else if (g_strcmp0 (coarse, "galerkin") != 0) return tb_cli_usage ("fe", "--coarse: galerkin or rediscretized");
    }

  g_autoptr(GError) error = NULL;
  TbIoInfo info;
  g_autoptr(TbVolume) v = tb_io_read (argv[1], NULL, &info, NULL, &error);
  if (v == NULL)
    return tb_cli_fail ("fe", error);
  if (!tb_volume_check_finite (v, argv[1], &error))
    return tb_cli_fail ("fe", error);
  g_autoptr(TbVolume) rho = tb_volume_copy (v, &error);
  if (rho == NULL)
    return tb_cli_fail ("fe", error);
  for (gsize q = 0; q < tb_volume_n_voxels (rho); q++)
    rho->data[q] = density ? rho->data[q] : (v->data[q] > threshold ? 1.0f : 0.0f);
  guint64 need = tb_fe_model_estimate_memory (v->nx, v->ny, v->nz, 3);
  if (!tb_memory_check (need, "the FE model", &error))
    return tb_cli_fail ("fe", error);
  g_autoptr(TbFeModel) m = tb_fe_model_new_from_volume (rho, &error);
  if (m == NULL || !tb_fe_model_set_material (m, E0, emin_ratio * E0, nu, penal, &error))
    return tb_cli_fail ("fe", error);
  if (trim >= 0)
    g_print ("trimmed %" G_GSIZE_FORMAT " elements of the surroundings\n",
             tb_fe_model_trim_surroundings (m, (float) trim, TB_WHOLE_BONE_HALO));
  if (loads != NULL && !apply_loads_json (m, loads, &error))
    return tb_cli_fail ("fe", error);
  if (femur)
    {
      TbPhantomParams pp;
      tb_phantom_params_init (&pp);
      g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, &error);
      if (ph == NULL)
        return tb_cli_fail ("fe", error);
      TbFemurLandmarks lm;
      tb_phantom_get_landmarks (ph, &lm);
      if (!tb_fe_model_add_hip_loads (m, &lm, NULL, 0, 0, 0, &error))
        return tb_cli_fail ("fe", error);
    }
  if (deck != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (deck);
      g_mkdir_with_parents (parent, 0755);
      if (!tb_fe_export_ccx (m, deck, 0, &error))
        return tb_cli_fail ("fe", error);
      g_print ("wrote %s (CalculiX deck)\n", deck);
    }
  g_autofree char *desc = tb_fe_settings_describe (&s);
  int n[3];
  tb_fe_model_get_dims (m, n, NULL);
  g_print ("model: %d x %d x %d elements, %" G_GSIZE_FORMAT " DOFs, E0 %g MPa, Emin %g MPa, nu %g, p %g\n",
           n[0], n[1], n[2], tb_fe_model_n_dofs (m), E0, emin_ratio * E0, nu, penal);
  g_print ("solver: %s\n", desc);
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(TbFeSolver) S = tb_fe_solver_new (m, &s, &error);
  if (S == NULL || !tb_fe_solve (S, NULL, tb_cli_progress, NULL, &error))
    return tb_cli_fail ("fe", error);
  g_print ("%-28s %10s %12s %16s %8s\n", "load case", "iterations", "rel. resid.", "compliance N mm", "seconds");
  for (int lc = 0; lc < tb_fe_model_n_load_cases (m); lc++)
    {
      TbFeCaseStats st;
      tb_fe_solver_get_stats (S, lc, &st);
      g_print ("%-28s %10d %12.3e %16.8g %8.2f\n", tb_fe_model_load_case_name (m, lc), st.iterations,
               st.rel_residual, st.compliance, st.seconds);
    }
  g_print ("weighted compliance %.8g N mm; %d multigrid levels; total %.2f s\n",
           tb_fe_solver_weighted_compliance (S), tb_fe_solver_n_levels (S), (g_get_monotonic_time () - t0) / 1e6);
  int condensed, deflated;
  tb_fe_solver_get_floating (S, &condensed, &deflated);
  if (condensed + deflated > 0)
    g_print ("stiff parts joined to no support or load: %d group(s) condensed out of the CG, %d deflated "
             "(they carry no load; their displacements are set by the void around them)\n", condensed, deflated);
  if (output != NULL && !write_results (S, v, output, &error))
    return tb_cli_fail ("fe", error);
  return TB_CLI_OK;
}
