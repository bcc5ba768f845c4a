/* cli-topopt.c — `trabecula-cli topopt problem.json`: classic compliance minimization under a
 * volume fraction (MBB beam, cantilevers, any supports and loads), 2D or 3D.
 *
 * problem.json (every key but nelx, nely, supports and loads is optional; defaults in brackets):
 *   "nelx", "nely", "nelz" [1 = 2D plane stress]   elements per axis
 *   "element_size" [[1, 1, 1]]   mm;  "E0" [1], "Emin" [1e-9], "nu" [0.3], "penal" [3]
 *   "volfrac" [0.5], "rmin" [1.5] (elements), "filter" ["density" | "sensitivity"],
 *   "optimizer" ["oc" | "mma"], "move" [0.2], "tol" [0.01], "max_iterations" [1000],
 *   "projection": {"beta": 1, "beta_max": 16, "every": 40, "eta": 0.5}   (absent = none)
 *   "supports": [ {"nodes": [[i,j,k], [i,j,k]], "fix": "xy"} ]   node box (corners inclusive;
 *               one corner = one node), fixed components among x, y, z
 *   "loads": [ {"name": "tip", "weight": 1, "nodes": [[i,j,k]], "force": [fx, fy, fz]} ]   the force
 *               is applied at EVERY node of the box; entries with the same name form one load case
 *   "passive": [ {"elements": [[i,j,k], [i,j,k]], "value": "void" | "solid"} ]
 * Nodes (i,j,k) run 0..nelx, 0..nely, 0..nelz (k = 0 in 2D); elements 0..nel-1.
 * Example (the 88-line MBB half-beam):
 *   {"nelx": 60, "nely": 20, "volfrac": 0.5, "rmin": 1.5, "filter": "sensitivity",
 *    "supports": [{"nodes": [[0,0,0],[0,20,0]], "fix": "x"}, {"nodes": [[60,0,0]], "fix": "y"}],
 *    "loads": [{"nodes": [[0,20,0]], "force": [0,-1,0]}]}                                          */
#include "tb-cli.h"
#include "topopt/tb-topopt.h"
#include "io/tb-io.h"

#include <json-glib/json-glib.h>
#include <string.h>

static double
get_double (JsonObject *o, const char *key, double fallback)
{
  return json_object_has_member (o, key) ? json_object_get_double_member (o, key) : fallback;
}

/* "nodes": [[i,j,k]] or [[i,j,k],[i,j,k]] -> an inclusive box, checked against the limits. */
static gboolean
get_box (JsonObject *o, const char *key, const int lim[3], int lo[3], int hi[3], GError **error)
{
  JsonArray *a = json_object_has_member (o, key) ? json_object_get_array_member (o, key) : NULL;
  guint len = a != NULL ? json_array_get_length (a) : 0;
  if (len < 1 || len > 2)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "\"%s\" needs one or two [i, j, k] corners", key);
      return FALSE;
    }
  for (guint c = 0; c < len; c++)
    {
      JsonArray *p = json_array_get_array_element (a, c);
      if (p == NULL || json_array_get_length (p) < 2)
        {
          g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID, "\"%s\": a corner must be [i, j] or [i, j, k]", key);
          return FALSE;
        }
      for (int d = 0; d < 3; d++)
        {
          int v = d < (int) json_array_get_length (p) ? (int) json_array_get_int_element (p, d) : 0;
          if (v < 0 || v > lim[d])
            {
              g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                           "\"%s\": index %d on axis %c is outside 0..%d", key, v, "xyz"[d], lim[d]);
              return FALSE;
            }
          if (c == 0)
            lo[d] = hi[d] = v;
          else
            {
              lo[d] = MIN (lo[d], v);
              hi[d] = MAX (hi[d], v);
            }
        }
    }
  return TRUE;
}

static TbFeModel *
model_from_json (JsonObject *o, TbTopoptSettings *s, guint8 **passive_out, GError **error)
{
  if (!json_object_has_member (o, "nelx") || !json_object_has_member (o, "nely"))
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID, "The problem needs \"nelx\" and \"nely\"");
      return NULL;
    }
  int n[3] = { (int) json_object_get_int_member (o, "nelx"), (int) json_object_get_int_member (o, "nely"),
               json_object_has_member (o, "nelz") ? (int) json_object_get_int_member (o, "nelz") : 1 };
  double h[3] = { 1, 1, 1 };
  if (json_object_has_member (o, "element_size"))
    {
      JsonArray *a = json_object_get_array_member (o, "element_size");
      for (guint d = 0; a != NULL && d < MIN (3u, json_array_get_length (a)); d++)
        h[d] = json_array_get_double_element (a, d);
    }
  tb_topopt_settings_init (s, TB_TOPOPT_VOLUME);
  s->E0 = get_double (o, "E0", s->E0);
  s->Emin = get_double (o, "Emin", s->Emin);
  s->nu = get_double (o, "nu", s->nu);
  s->penal = get_double (o, "penal", s->penal);
  s->volfrac = get_double (o, "volfrac", s->volfrac);
  s->rmin = get_double (o, "rmin", s->rmin);
  s->move = get_double (o, "move", s->move);
  s->tol = get_double (o, "tol", s->tol);
  s->max_iterations = (int) get_double (o, "max_iterations", s->max_iterations);
  const char *filter = json_object_get_string_member_with_default (o, "filter", "density");
  const char *opt = json_object_get_string_member_with_default (o, "optimizer", "oc");
  if (g_strcmp0 (filter, "density") != 0 && g_strcmp0 (filter, "sensitivity") != 0)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID, "\"filter\": \"%s\"; use \"density\" or \"sensitivity\"", filter);
      return NULL;
    }
  if (g_strcmp0 (opt, "oc") != 0 && g_strcmp0 (opt, "mma") != 0)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID, "\"optimizer\": \"%s\"; use \"oc\" or \"mma\"", opt);
      return NULL;
    }
  s->filter = g_str_equal (filter, "density") ? TB_TOPOPT_FILTER_DENSITY : TB_TOPOPT_FILTER_SENSITIVITY;
  s->optimizer = g_str_equal (opt, "oc") ? TB_TOPOPT_OC : TB_TOPOPT_MMA;
  if (json_object_has_member (o, "projection"))
    {
      JsonObject *p = json_object_get_object_member (o, "projection");
      s->beta = get_double (p, "beta", 1);
      s->beta_max = get_double (p, "beta_max", 16);
      s->beta_every = (int) get_double (p, "every", 40);
      s->eta = get_double (p, "eta", 0.5);
    }

  g_autoptr(TbFeModel) model = tb_fe_model_new (n[0], n[1], n[2], h, error);
  if (model == NULL)
    return NULL;
  int dim = tb_fe_model_get_dim (model);
  const int node_lim[3] = { n[0], n[1], dim == 3 ? n[2] : 0 };
  const int elem_lim[3] = { n[0] - 1, n[1] - 1, n[2] - 1 };

  JsonArray *sup = json_object_has_member (o, "supports") ? json_object_get_array_member (o, "supports") : NULL;
  JsonArray *loads = json_object_has_member (o, "loads") ? json_object_get_array_member (o, "loads") : NULL;
  if (sup == NULL || json_array_get_length (sup) == 0 || loads == NULL || json_array_get_length (loads) == 0)
    {
      g_set_error (error, TB_TOPOPT_ERROR, TB_TOPOPT_ERROR_INVALID,
                   "The problem needs \"supports\" and \"loads\" (see trabecula-cli topopt --help)");
      return NULL;
    }
  for (guint q = 0; q < json_array_get_length (sup); q++)
    {
      JsonObject *so = json_array_get_object_element (sup, q);
      int lo[3], hi[3];
      if (so == NULL || !get_box (so, "nodes", node_lim, lo, hi, error))
        return NULL;
      const char *fix = json_object_get_string_member_with_default (so, "fix", "xyz");
      guint comp = (strchr (fix, 'x') ? TB_FE_X : 0) | (strchr (fix, 'y') ? TB_FE_Y : 0)
                   | (dim == 3 && strchr (fix, 'z') ? TB_FE_Z : 0);
      for (int k = lo[2]; k <= hi[2]; k++)
        for (int j = lo[1]; j <= hi[1]; j++)
          for (int i = lo[0]; i <= hi[0]; i++)
            tb_fe_model_fix (model, tb_fe_model_node (model, i, j, k), comp);
    }
  for (guint q = 0; q < json_array_get_length (loads); q++)
    {
      JsonObject *lo_ = json_array_get_object_element (loads, q);
      int lo[3], hi[3];
      if (lo_ == NULL || !get_box (lo_, "nodes", node_lim, lo, hi, error))
        return NULL;
      const char *name = json_object_get_string_member_with_default (lo_, "name", "load");
      int lc = -1;
      for (int c = 0; c < tb_fe_model_n_load_cases (model); c++)
        if (g_str_equal (tb_fe_model_load_case_name (model, c), name))
          lc = c;
      if (lc < 0)
        lc = tb_fe_model_add_load_case (model, name, get_double (lo_, "weight", 1.0));
      double f[3] = { 0, 0, 0 };
      JsonArray *fa = json_object_has_member (lo_, "force") ? json_object_get_array_member (lo_, "force") : NULL;
      for (guint d = 0; fa != NULL && d < MIN (3u, json_array_get_length (fa)); d++)
        f[d] = json_array_get_double_element (fa, d);
      for (int k = lo[2]; k <= hi[2]; k++)
        for (int j = lo[1]; j <= hi[1]; j++)
          for (int i = lo[0]; i <= hi[0]; i++)
            tb_fe_model_add_force (model, lc, tb_fe_model_node (model, i, j, k), f);
    }
  *passive_out = NULL;
  JsonArray *pas = json_object_has_member (o, "passive") ? json_object_get_array_member (o, "passive") : NULL;
  if (pas != NULL && json_array_get_length (pas) > 0)
    {
      guint8 *passive = g_new0 (guint8, (gsize) n[0] * n[1] * n[2]);
      for (guint q = 0; q < json_array_get_length (pas); q++)
        {
          JsonObject *po = json_array_get_object_element (pas, q);
          int lo[3], hi[3];
          if (po == NULL || !get_box (po, "elements", elem_lim, lo, hi, error))
            {
              g_free (passive);
              return NULL;
            }
          const char *v = json_object_get_string_member_with_default (po, "value", "void");
          guint8 code = g_str_equal (v, "solid") ? 1 : 2;
          for (int k = lo[2]; k <= hi[2]; k++)
            for (int j = lo[1]; j <= hi[1]; j++)
              for (int i = lo[0]; i <= hi[0]; i++)
                passive[i + (gsize) n[0] * (j + (gsize) n[1] * k)] = code;
        }
      *passive_out = passive;
    }
  return g_steal_pointer (&model);
}

static void
print_report (const TbTopoptReport *r, gpointer data)
{
  gboolean *quiet = data;
  if (*quiet)
    return;
  g_print ("It.%5d  obj %12.5f  vol %+.4f  ch %.4f  FE %4d its %.3f s\n", r->iteration, r->objective,
           r->constraints[0], r->change, r->fe_iterations, r->t_fe);
}

int
tb_cli_topopt (int argc, char **argv)
{
  g_autofree char *output = NULL, *history = NULL;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Final density as a 32-bit float TIFF (ImageJ spacing)", "FILE.tif" },
    { "history", 'H', 0, G_OPTION_ARG_FILENAME, &history, "Iteration history as CSV", "FILE.csv" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the final line", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("PROBLEM.json — minimize compliance under a volume fraction");
  g_option_context_set_description (ctx,
    "PROBLEM.json keys: nelx, nely, nelz (1 = 2D), element_size, E0, Emin, nu, penal, volfrac,\n"
    "rmin, filter (density|sensitivity), optimizer (oc|mma), move, tol, max_iterations,\n"
    "projection {beta, beta_max, every, eta}, supports [{nodes: [[i,j,k],[i,j,k]], fix: \"xy\"}],\n"
    "loads [{name, weight, nodes, force: [fx,fy,fz]}], passive [{elements, value: void|solid}].\n"
    "Example (88-line MBB): {\"nelx\":60,\"nely\":20,\"filter\":\"sensitivity\",\n"
    "  \"supports\":[{\"nodes\":[[0,0],[0,20]],\"fix\":\"x\"},{\"nodes\":[[60,0]],\"fix\":\"y\"}],\n"
    "  \"loads\":[{\"nodes\":[[0,20]],\"force\":[0,-1]}]}");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 2)
    return tb_cli_usage ("topopt", "expected one PROBLEM.json");

  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, argv[1], &error))
    return tb_cli_fail ("topopt", error);
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return tb_cli_usage ("topopt", "%s is not a JSON object", argv[1]);
  TbTopoptSettings s;
  g_autofree guint8 *passive = NULL;
  g_autoptr(TbFeModel) model = model_from_json (json_node_get_object (root), &s, &passive, &error);
  if (model == NULL)
    return tb_cli_fail ("topopt", error);
  g_autoptr(TbTopoptRun) run = tb_topopt_run_new (model, &s, &error);
  if (run == NULL || (passive != NULL && !tb_topopt_run_set_passive (run, passive, &error)))
    return tb_cli_fail ("topopt", error);
  tb_topopt_run_set_report_func (run, print_report, &quiet);
  if (!tb_topopt_run_run (run, NULL, &error))
    return tb_cli_fail ("topopt", error);
  const TbTopoptReport *r = tb_topopt_run_get_report (run);
  g_print ("%s; compliance %.6g, volume fraction %.4f\n", tb_topopt_run_get_message (run), r->objective,
           r->constraints[0] + s.volfrac);
  if (history != NULL && !tb_topopt_run_write_history (run, history, &error))
    return tb_cli_fail ("topopt", error);
  if (output != NULL)
    {
      int n[3];
      double h[3];
      tb_fe_model_get_dims (model, n, h);
      const double origin[3] = { h[0] / 2, h[1] / 2, h[2] / 2 };   /* element centres; node 0 at 0 */
      g_autoptr(TbVolume) v = tb_topopt_run_density_volume (run, h, origin, &error);
      if (v == NULL || !tb_io_write_tiff (output, v, TB_IO_PIXEL_FLOAT32, &error))
        return tb_cli_fail ("topopt", error);
    }
  return TB_CLI_OK;
}
