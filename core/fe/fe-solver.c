/* fe-solver.c — settings, conjugate gradients preconditioned by one multigrid V-cycle, and results. */
#include "fe-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
tb_fe_settings_init (TbFeSettings *s)
{
  g_return_if_fail (s != NULL);
  memset (s, 0, sizeof *s);
  s->rtol = 1e-8;
  s->max_iter = 500;
  s->levels = 0;
  s->smoother = TB_FE_SMOOTHER_CHEBYSHEV;
  s->smooth_steps = 2;
  s->jacobi_omega = 0;
  s->coarse = TB_FE_COARSE_GALERKIN;
  s->n_threads = 0;
  s->verbose = g_getenv ("TB_FE_VERBOSE") != NULL;  /* like PETSc's -ksp_monitor, for any program */
  s->ops = NULL;
  s->island_modes = TRUE;
  s->condense_floating = TRUE;
  s->single_smoothing = TRUE;
  /* experiments, like PETSc's options database: TB_FE_BATCH, TB_FE_LEVELS override the defaults */
  s->batch = g_getenv ("TB_FE_BATCH") != NULL ? atoi (g_getenv ("TB_FE_BATCH")) : 0;
  if (g_getenv ("TB_FE_ISLANDS") != NULL)
    s->island_modes = atoi (g_getenv ("TB_FE_ISLANDS")) != 0;
  if (g_getenv ("TB_FE_CONDENSE") != NULL)
    s->condense_floating = atoi (g_getenv ("TB_FE_CONDENSE")) != 0;
  s->levels = g_getenv ("TB_FE_LEVELS") != NULL ? atoi (g_getenv ("TB_FE_LEVELS")) : 0;
  if (g_getenv ("TB_FE_SINGLE") != NULL)
    s->single_smoothing = atoi (g_getenv ("TB_FE_SINGLE")) != 0;
  if (g_getenv ("TB_FE_SMOOTH_STEPS") != NULL)
    s->smooth_steps = MAX (1, atoi (g_getenv ("TB_FE_SMOOTH_STEPS")));
}

char *
tb_fe_settings_describe (const TbFeSettings *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  GString *o = g_string_new (NULL);
  g_string_append_printf (o, "-ksp_type cg -ksp_rtol %g -ksp_max_it %d", s->rtol, s->max_iter);
  if (s->levels == 1)
    g_string_append (o, " -pc_type jacobi");
  else
    {
      g_string_append (o, " -pc_type mg -pc_mg_cycle_type v");
      if (s->levels > 0)
        g_string_append_printf (o, " -pc_mg_levels %d", s->levels);
      else
        g_string_append (o, " -pc_mg_levels auto");
      g_string_append_printf (o, " -pc_mg_galerkin %s", s->coarse == TB_FE_COARSE_GALERKIN ? "both" : "none");
      if (s->smoother == TB_FE_SMOOTHER_CHEBYSHEV)
        g_string_append_printf (o, " -mg_levels_ksp_type chebyshev -mg_levels_ksp_max_it %d"
                                " -mg_levels_ksp_chebyshev_eigenvalues 0.1,1.1 -mg_levels_pc_type jacobi",
                                s->smooth_steps);
      else
        {
          g_autofree char *om = s->jacobi_omega > 0 ? g_strdup_printf ("%g", s->jacobi_omega) : g_strdup ("4/(3*lmax)");
          g_string_append_printf (o, " -mg_levels_ksp_type richardson -mg_levels_ksp_max_it %d"
                                  " -mg_levels_ksp_richardson_scale %s -mg_levels_pc_type jacobi", s->smooth_steps, om);
        }
      if (s->single_smoothing)
        g_string_append (o, " -mg_fine_precision single");
      g_string_append (o, " -mg_coarse_ksp_type preonly -mg_coarse_pc_type cholesky (LAPACK banded)");
    }
  if (s->island_modes)
    g_string_append (o, " -fe_deflate_floating");
  if (s->condense_floating)
    g_string_append (o, " -fe_condense_floating");
  if (s->batch > 0)
    g_string_append_printf (o, " -fe_batch %d", s->batch);
  else
    g_string_append (o, " -fe_batch all");
  g_string_append_printf (o, " -omp_num_threads %d -ops %s", s->n_threads > 0 ? s->n_threads : omp_get_max_threads (),
                          (s->ops != NULL ? s->ops : tb_fe_ops_cpu ())->name);
  return g_string_free (o, FALSE);
}

typedef struct {
  double *u;
  TbFeCaseStats st;
  gboolean have;
} CaseResult;

struct _TbFeSolver {
  TbFeModel *model;
  TbFeSettings s;
  const TbFeOps *ops;
  TbFeHierarchy *H;
  int nl;
  double **vb, **vx, **vr;   /* per-level multigrid vectors, cap right-hand sides each */
  int cap;
  double *E;                 /* fine moduli */
  guint8 *fixed;             /* fine constrained DOFs incl. DOFs with no stiffness */
  GArray *res;               /* CaseResult */
  TbFeIslands *islands;      /* rigid modes of floating stiff parts (NULL: none) */
  TbFeCondense *cond;        /* floating parts eliminated from the CG (NULL: none) */
  TbFeActiveBuf whole;       /* every fine entry, for a table without an active entry */
  int stamp;
};

static void
free_vectors (TbFeSolver *S)
{
  for (int l = 0; l < S->nl; l++)
    {
      g_free (S->vb[l]); g_free (S->vx[l]); g_free (S->vr[l]);
    }
  g_clear_pointer (&S->vb, g_free);
  g_clear_pointer (&S->vx, g_free);
  g_clear_pointer (&S->vr, g_free);
  S->cap = 0;
}

/* A level's active entries (tb-fe.h); NULL: all of them (a table without the entry, coarse levels) */
static const TbFeActive *
level_active (TbFeSolver *S, int l)
{
  if (S->ops->active != NULL)
    return S->ops->active (S->H, l);
  if (l > 0)
    return NULL;
  if (S->whole.a.n_part == 0)
    {
      TbFeSpan t = { 0, S->model->n_dofs };
      tb_fe_active_build (&S->whole, &t, 1, S->s.n_threads > 0 ? S->s.n_threads : omp_get_max_threads ());
    }
  return &S->whole.a;
}

/* after new densities the empty space may have moved: the kept vectors must be zero outside it */
static void
zero_vectors (TbFeSolver *S)
{
  for (int l = 0; l < S->nl && S->cap > 0; l++)
    {
      gsize n = S->ops->n_dofs (S->H, l) * S->cap;
      memset (S->vb[l], 0, n * sizeof (double));
      memset (S->vx[l], 0, n * sizeof (double));
      memset (S->vr[l], 0, n * sizeof (double));
    }
}

/* per-level multigrid vectors for nv right-hand sides */
static void
reserve_vectors (TbFeSolver *S, int nv)
{
  if (S->cap >= nv)
    return;
  for (int l = 0; l < S->nl; l++)
    {
      gsize n = S->ops->n_dofs (S->H, l) * nv;
      g_free (S->vb[l]); g_free (S->vx[l]); g_free (S->vr[l]);
      S->vb[l] = g_new0 (double, n);
      S->vx[l] = g_new0 (double, n);
      S->vr[l] = g_new0 (double, n);
    }
  S->cap = nv;
}

static gboolean
check_supports (TbFeModel *M, GError **error)
{
  gboolean any = M->spring != NULL;
  for (gsize d = 0; d < M->n_dofs && !any; d++)
    any = M->fixed[d] != 0;
  if (!any)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_SINGULAR,
                   "FE model has no supports, so it can move freely and K u = f has no unique solution: "
                   "fix some DOFs (tb_fe_model_fix) or add springs");
      return FALSE;
    }
  return TRUE;
}

/* moduli, and the DOFs with no stiffness at all (held at zero): only possible where E = 0 somewhere */
static void
refresh_fine (TbFeSolver *S)
{
  TbFeModel *M = S->model;
  g_free (S->E);
  S->E = tb_fe_model_moduli (M);
  memcpy (S->fixed, M->fixed, M->n_dofs);
  gboolean any_empty = FALSE;
  for (gsize e = 0; e < M->n_el && !any_empty; e++)
    any_empty = !(S->E[e] > 0);
  if (!any_empty)
    return;
  g_autofree double *dg = g_new0 (double, M->n_dofs);
  for (gsize e = 0; e < M->n_el; e++)
    {
      gsize nodes[8];
      tb_fe_element_nodes (M, e, nodes);
      for (int a = 0; a < M->nen; a++)
        for (int c = 0; c < M->dim; c++)
          dg[nodes[a] * M->dim + c] += S->E[e] * M->K0[(a * M->dim + c) * M->nke + a * M->dim + c];
    }
  for (gsize d = 0; d < M->n_dofs; d++)
    S->fixed[d] = M->fixed[d] || !(dg[d] + (M->spring != NULL ? M->spring[d] : 0) > 0);
}

/* the moduli the hierarchy and the deflated modes are built for: the model's, with the condensed
 * parts softened (to 1e-2 E_max, fe-condense.c) */
static const double *
hierarchy_moduli (TbFeSolver *S)
{
  return S->cond != NULL ? tb_fe_condense_moduli (S->cond) : S->E;
}

static void
condense (TbFeSolver *S)
{
  g_clear_pointer (&S->cond, tb_fe_condense_free);
  if (S->s.condense_floating)
    S->cond = tb_fe_condense_new (S->model, S->E);
  if (S->s.verbose && S->cond != NULL)
    g_print ("FE: %d group(s) of floating stiff parts condensed out of the CG (%" G_GSIZE_FORMAT " nodes)\n",
             tb_fe_condense_n_groups (S->cond), tb_fe_condense_n_nodes (S->cond));
}

static gboolean
find_islands (TbFeSolver *S, GError **error)
{
  g_clear_pointer (&S->islands, tb_fe_islands_free);
  if (!S->s.island_modes)
    return TRUE;
  /* condensed parts count as supported: they are not the CG's to deflate */
  g_autofree guint8 *fixed = S->cond != NULL ? g_memdup2 (S->fixed, S->model->n_dofs) : NULL;
  if (fixed != NULL)
    tb_fe_condense_mark (S->cond, fixed);
  S->islands = tb_fe_islands_new (S->model, hierarchy_moduli (S), fixed != NULL ? fixed : S->fixed, error);
  if (S->islands == NULL)
    return FALSE;
  if (S->s.verbose)
    g_print ("FE: %d floating stiff part(s) deflated\n", tb_fe_islands_count (S->islands));
  return TRUE;
}

static gboolean
setup (TbFeSolver *S, GError **error)
{
  if (!check_supports (S->model, error))
    return FALSE;
  if (S->H != NULL)
    {
      S->ops->free (S->H);
      S->H = NULL;
    }
  free_vectors (S);
  refresh_fine (S);
  condense (S);
  if (!find_islands (S, error))
    return FALSE;
  S->H = S->ops->setup (S->model, hierarchy_moduli (S), &S->s, error);
  if (S->H == NULL)
    return FALSE;
  S->nl = S->ops->n_levels (S->H);
  S->vb = g_new0 (double *, S->nl);
  S->vx = g_new0 (double *, S->nl);
  S->vr = g_new0 (double *, S->nl);
  S->cap = 0;
  S->stamp = S->model->stamp;
  return TRUE;
}

TbFeSolver *
tb_fe_solver_new (TbFeModel *model, const TbFeSettings *settings, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  TbFeSolver *S = g_new0 (TbFeSolver, 1);
  S->model = tb_fe_model_ref (model);
  if (settings != NULL)
    S->s = *settings;
  else
    tb_fe_settings_init (&S->s);
  if (!(S->s.rtol > 0) || S->s.max_iter < 1)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID,
                   "FE solver settings: rtol %g and max_iter %d must be positive", S->s.rtol, S->s.max_iter);
      tb_fe_solver_free (S);
      return NULL;
    }
  S->ops = S->s.ops != NULL ? S->s.ops : tb_fe_ops_cpu ();
  S->fixed = g_new0 (guint8, model->n_dofs);
  S->res = g_array_new (FALSE, TRUE, sizeof (CaseResult));
  if (S->s.verbose)
    {
      g_autofree char *d = tb_fe_settings_describe (&S->s);
      g_print ("FE: %d x %d x %d elements, %" G_GSIZE_FORMAT " DOFs\nFE options: %s\n",
               model->n[0], model->n[1], model->n[2], model->n_dofs, d);
    }
  if (!setup (S, error))
    {
      tb_fe_solver_free (S);
      return NULL;
    }
  if (S->s.verbose)
    g_print ("FE: %d multigrid levels\n", S->nl);
  return S;
}

void
tb_fe_solver_free (TbFeSolver *S)
{
  if (S == NULL)
    return;
  tb_fe_active_clear (&S->whole);
  if (S->H != NULL)
    S->ops->free (S->H);
  free_vectors (S);
  for (guint i = 0; S->res != NULL && i < S->res->len; i++)
    g_free (g_array_index (S->res, CaseResult, i).u);
  if (S->res != NULL)
    g_array_free (S->res, TRUE);
  g_free (S->E);
  g_free (S->fixed);
  tb_fe_islands_free (S->islands);
  tb_fe_condense_free (S->cond);
  tb_fe_model_unref (S->model);
  g_free (S);
}

gboolean
tb_fe_solver_set_density (TbFeSolver *S, const float *rho, GError **error)
{
  g_return_val_if_fail (S != NULL && rho != NULL, FALSE);
  gint64 t0 = g_get_monotonic_time ();
  if (!tb_fe_model_set_density (S->model, rho, error))
    return FALSE;
  refresh_fine (S);
  gint64 t1 = g_get_monotonic_time ();
  condense (S);
  if (!find_islands (S, error))
    return FALSE;
  gint64 t2 = g_get_monotonic_time ();
  if (!S->ops->update (S->H, hierarchy_moduli (S), error))
    return FALSE;
  zero_vectors (S);
  if (S->s.verbose)
    g_print ("FE: new densities: moduli %.2f ms, floating parts %.2f ms, multigrid hierarchy %.2f ms\n",
             (t1 - t0) / 1e3, (t2 - t1) / 1e3, (g_get_monotonic_time () - t2) / 1e3);
  S->stamp = S->model->stamp;
  return TRUE;
}

TbFeModel *tb_fe_solver_get_model (TbFeSolver *S) { return S->model; }
int tb_fe_solver_n_levels (const TbFeSolver *S) { return S->nl; }

void
tb_fe_solver_get_floating (const TbFeSolver *S, int *condensed, int *deflated)
{
  if (condensed != NULL)
    *condensed = tb_fe_condense_n_groups (S->cond);
  if (deflated != NULL)
    *deflated = S->islands != NULL ? tb_fe_islands_count (S->islands) : 0;
}

static double
dot (const double *a, const double *b, gsize n)
{
  double s = 0;
#pragma omp parallel for reduction(+:s) schedule(static)
  for (gsize i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

/* the same over the active entries A (the vectors are zero elsewhere) */
static double
dot_active (const TbFeActive *A, const double *a, const double *b)
{
  double s = 0;
#pragma omp parallel for reduction(+:s) schedule(static)
  TB_FE_ACTIVE_FOR (A, i)
    s += a[i] * b[i];
  return s;
}

/* r = b - A x on level l through the table's apply */
static void
residual_by_apply (TbFeSolver *S, int l, int nv, const double *b, const double *x, double *r)
{
  gsize n = S->ops->n_dofs (S->H, l);
  const TbFeActive *A = level_active (S, l);
  S->ops->apply (S->H, l, nv, x, r);
  for (gsize v0 = 0; v0 < n * nv; v0 += n)
    if (A != NULL)
      {
#pragma omp parallel for schedule(static) if (A->n_active > 50000)
        TB_FE_ACTIVE_FOR (A, i)
          r[v0 + i] = b[v0 + i] - r[v0 + i];
      }
    else
      {
#pragma omp parallel for simd schedule(static) if (n > 50000)
        for (gsize i = 0; i < n; i++)
          r[v0 + i] = b[v0 + i] - r[v0 + i];
      }
}

/* one V-cycle for nv right-hand sides at once (vectors one after another, n_dofs (l) each) */
static void
vcycle (TbFeSolver *S, int l, int nv, const double *b, double *x)
{
  if (l == S->nl - 1)
    {
      S->ops->coarse_solve (S->H, nv, b, x);
      return;
    }
  double *r = S->vr[l];
  S->ops->smooth (S->H, l, nv, b, x, TRUE);
  if (S->ops->residual != NULL)
    S->ops->residual (S->H, l, nv, b, x, r);
  else
    residual_by_apply (S, l, nv, b, x, r);
  S->ops->restrict_ (S->H, l, nv, r, S->vb[l + 1]);
  vcycle (S, l + 1, nv, S->vb[l + 1], S->vx[l + 1]);
  S->ops->prolong_add (S->H, l, nv, S->vx[l + 1], x);
  S->ops->smooth (S->H, l, nv, b, x, FALSE);
}

static void
vcycle_cb (gpointer data, int nv, const double *r, double *z)
{
  vcycle (data, 0, nv, r, z);
}

/* How many load cases to solve together: the settings' batch, within the memory this machine has
 * (each extra right-hand side costs about 10 vectors of the fine level). */
static int
batch_size (TbFeSolver *S, int n_cases)
{
  int nb = S->s.batch > 0 ? MIN (S->s.batch, n_cases) : n_cases;
  guint64 per = (guint64) S->model->n_dofs * sizeof (double) * 10;
  guint64 avail = tb_memory_available ();
  while (nb > 1 && per * (guint64) (nb - S->cap) > avail / 2)
    nb--;
  return MAX (nb, 1);
}

/* Preconditioned CG on the load cases first .. first + nv - 1 together: one CG per case in lockstep,
 * each with its own step lengths and convergence test, sharing every preconditioner and operator pass
 * (PETSc's KSPMatSolve does the same). A case that has converged leaves the batch: the last active one
 * takes its slot, so the passes shrink as the cases finish. */
static gboolean
solve_batch (TbFeSolver *S, int first, int nv, GCancellable *cancellable, TbProgressFunc progress,
             gpointer user_data, double frac0, double frac1, GError **error)
{
  TbFeModel *M = S->model;
  const gsize n = M->n_dofs;
  gint64 t0 = g_get_monotonic_time ();
  reserve_vectors (S, nv);
  /* zeroed: the passes below touch only the active entries A (tb-fe.h) */
  const TbFeActive *A = level_active (S, 0);
  g_autofree double *r = g_new0 (double, n * nv);
  g_autofree double *z = g_new0 (double, n * nv);
  g_autofree double *p = g_new0 (double, n * nv);
  g_autofree double *q = g_new0 (double, n * nv);
  int slot_case[nv];           /* the load case in each slot */
  double bnorm[nv], rnorm[nv], rz_old[nv], bcase[nv];
  int its[nv];
  for (int j = 0; j < nv; j++)
    {
      int lc = first + j;
      TbFeLoadCase *C = g_ptr_array_index (M->cases, lc);
      CaseResult *R = &g_array_index (S->res, CaseResult, lc);
      if (R->u == NULL)
        R->u = g_new0 (double, n);
      double *u = R->u, *rj = r + j * n, *qj = q + j * n, *zj = z + j * n;
      slot_case[j] = lc;
      its[j] = 0;
      rz_old[j] = 0;
      /* prescribed values; DOFs with no stiffness stay 0 */
      for (gsize d = 0; d < n; d++)
        if (S->fixed[d])
          u[d] = (M->fixed[d] && C->u_pres != NULL) ? C->u_pres[d] : 0.0;
      /* the reduced right-hand side f - K u_p on the free DOFs (u_p: the prescribed values, zero
       * elsewhere) into rj: the reference norm, and the residual of a start from zero */
      if (C->u_pres != NULL)
        {
          memset (qj, 0, n * sizeof (double));
          for (gsize d = 0; d < n; d++)
            if (M->fixed[d])
              qj[d] = C->u_pres[d];
          tb_fe_apply_kernel (M, S->E, qj, zj, S->s.n_threads);
        }
#pragma omp parallel for schedule(static)
      for (gsize d = 0; d < n; d++)
        rj[d] = S->fixed[d] ? 0.0 : C->f[d] - (C->u_pres != NULL ? zj[d] : 0.0);
      if (S->cond != NULL)
        tb_fe_condense_reduce (S->cond, M, S->fixed, n, 1, rj);
      bnorm[j] = bcase[j] = sqrt (dot (rj, rj, n));
      /* the last solution, kept only when it is a better start than zero (after a density change
       * a soft part may have moved far, and CG would spend hundreds of iterations taking that
       * motion back). Without prescribed values "better" is measured in the energy norm, the one
       * CG minimizes: scaled to its best multiple alpha = u.f / u.K u, the start's energy error is
       * that of zero minus (u.f)^2 / u.K u, so any u with u.f > 0 qualifies. The residual's norm,
       * the test used before, rejected 87 of 150 starts in a bone VOI's TO: after a design update
       * the residual is large in the high frequencies a V-cycle removes at once. */
      if (S->cond != NULL)
        tb_fe_condense_zero (S->cond, n, 1, u);   /* the CG's unknowns are u_R; u_F follows at the end */
      tb_fe_apply_kernel (M, S->E, u, zj, S->s.n_threads);
      if (S->cond != NULL)
        tb_fe_condense_reduce (S->cond, M, S->fixed, n, 1, zj);
      gboolean energy_better = FALSE;
      if (C->u_pres == NULL)
        {
          double uf = 0, uku = 0;
#pragma omp parallel for reduction(+:uf,uku) schedule(static)
          for (gsize d = 0; d < n; d++)
            if (!S->fixed[d])
              {
                uf += u[d] * C->f[d];
                uku += u[d] * zj[d];
              }
          energy_better = uf > 0 && uku > 0;
          double alpha = energy_better ? uf / uku : 1.0;
#pragma omp parallel for schedule(static)
          for (gsize d = 0; d < n; d++)
            {
              u[d] *= alpha;
              zj[d] = S->fixed[d] ? 0.0 : C->f[d] - alpha * zj[d];
            }
        }
      else
        {
#pragma omp parallel for schedule(static)
          for (gsize d = 0; d < n; d++)
            zj[d] = S->fixed[d] ? 0.0 : C->f[d] - zj[d];
        }
      double warm = sqrt (dot (zj, zj, n));
      if (C->u_pres == NULL ? energy_better : !(warm > bnorm[j]))
        {
          memcpy (rj, zj, n * sizeof (double));
          rnorm[j] = warm;
        }
      else
        {
          for (gsize d = 0; d < n; d++)
            if (!S->fixed[d])
              u[d] = 0;
          rnorm[j] = bnorm[j];
          if (S->s.verbose && warm != bnorm[j])   /* (a first solve starts from zero quietly) */
            g_print ("FE case %d \"%s\": the last solution is a worse start than zero; starting from zero\n",
                     lc, C->name);
        }
      if (S->s.verbose)
        g_print ("FE case %d \"%s\": %3d KSP residual norm %.6e (rel %.3e)\n", lc, C->name, 0, rnorm[j],
                 bnorm[j] > 0 ? rnorm[j] / bnorm[j] : 0.0);
    }
  int active = nv;
  gint64 last = g_get_monotonic_time ();
  gboolean ok = TRUE;
  for (;;)
    {
      /* retire the converged (or hopeless) cases: move the last active slot into their place */
      for (int j = 0; j < active; )
        {
          if (bnorm[j] > 0 && rnorm[j] > S->s.rtol * bnorm[j] && isfinite (rnorm[j]) && its[j] < S->s.max_iter)
            {
              j++;
              continue;
            }
          int lc = slot_case[j];
          CaseResult *R = &g_array_index (S->res, CaseResult, lc);
          R->st.iterations = its[j];
          R->st.seconds = (g_get_monotonic_time () - t0) / 1e6;
          R->st.rel_residual = bnorm[j] > 0 ? rnorm[j] / bnorm[j] : 0.0;
          int k = active - 1;
          if (j != k)
            {
              memcpy (r + j * n, r + k * n, n * sizeof (double));
              memcpy (p + j * n, p + k * n, n * sizeof (double));
              slot_case[j] = slot_case[k];
              bnorm[j] = bnorm[k]; rnorm[j] = rnorm[k]; rz_old[j] = rz_old[k]; its[j] = its[k];
            }
          active--;
        }
      if (active == 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      tb_fe_islands_precondition (S->islands, n, active, r, z, vcycle_cb, S);
      if (S->cond != NULL)
        tb_fe_condense_zero (S->cond, n, active, z);
      for (int j = 0; j < active; j++)
        {
          double *pj = p + j * n, *zj = z + j * n;
          double rz = dot_active (A, r + j * n, zj);
          double beta = its[j] == 0 ? 0.0 : rz / rz_old[j];
#pragma omp parallel for schedule(static)
          TB_FE_ACTIVE_FOR (A, d)
            pj[d] = zj[d] + beta * pj[d];
          rz_old[j] = rz;
        }
      S->ops->apply (S->H, 0, active, p, q);
      if (S->cond != NULL)
        tb_fe_condense_reduce (S->cond, M, S->fixed, n, active, q);
      for (int j = 0; j < active; j++)
        {
          int lc = slot_case[j];
          TbFeLoadCase *C = g_ptr_array_index (M->cases, lc);
          double *pj = p + j * n, *qj = q + j * n, *rj = r + j * n;
          double *u = g_array_index (S->res, CaseResult, lc).u;
          double pq = dot_active (A, pj, qj);
          if (!(pq > 0))
            {
              g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_SINGULAR,
                           "FE load case \"%s\": the stiffness is not positive definite (p'Kp = %g at iteration %d); "
                           "the supports may not stop every rigid-body motion", C->name, pq, its[j]);
              return FALSE;
            }
          double a = rz_old[j] / pq, rr = 0;
#pragma omp parallel for reduction(+:rr) schedule(static)
          TB_FE_ACTIVE_FOR (A, d)
            {
              u[d] += a * pj[d];
              rj[d] -= a * qj[d];
              rr += rj[d] * rj[d];
            }
          rnorm[j] = sqrt (rr);
          its[j]++;
          if (S->s.verbose)
            g_print ("FE case %d \"%s\": %3d KSP residual norm %.6e (rel %.3e)\n", lc, C->name, its[j], rnorm[j],
                     rnorm[j] / bnorm[j]);
        }
      gint64 now = g_get_monotonic_time ();
      if (progress != NULL && now - last > 200000)
        {
          last = now;
          /* linear in log residual towards the tolerance, for the case furthest from it */
          double f = 1, worst = 0;
          for (int j = 0; j < active; j++)
            {
              f = MIN (f, log (bnorm[j] / MAX (rnorm[j], 1e-300)) / log (1.0 / S->s.rtol));
              worst = MAX (worst, rnorm[j] / bnorm[j]);
            }
          g_autofree char *msg = nv > 1
            ? g_strdup_printf ("FE: %d load cases together, iteration %d, residual %.2e", active, its[0], worst)
            : g_strdup_printf ("FE %s: iteration %d, residual %.2e",
                               ((TbFeLoadCase *) g_ptr_array_index (M->cases, slot_case[0]))->name, its[0], worst);
          progress (frac0 + (frac1 - frac0) * CLAMP (f, 0, 1), msg, user_data);
        }
    }
  /* true residual and compliance u' K u = f.u + R_p.u_p, per case */
  for (int j = 0; j < nv && ok; j++)
    {
      int lc = first + j;
      TbFeLoadCase *C = g_ptr_array_index (M->cases, lc);
      CaseResult *R = &g_array_index (S->res, CaseResult, lc);
      double *u = R->u;
      if (S->cond != NULL)
        tb_fe_condense_recover (S->cond, M, u);   /* u_F from u_R (f_F = 0) */
      tb_fe_apply_kernel (M, S->E, u, q, S->s.n_threads);
      double tr = 0, c = 0;
#pragma omp parallel for reduction(+:tr, c) schedule(static)
      for (gsize d = 0; d < n; d++)
        {
          if (!S->fixed[d])
            tr += (C->f[d] - q[d]) * (C->f[d] - q[d]);
          c += u[d] * q[d];
        }
      /* the recurrence's residual decided convergence; the true one is what we report */
      double rel_cg = R->st.rel_residual;
      R->st.rel_residual = bcase[j] > 0 ? sqrt (tr) / bcase[j] : 0.0;
      R->st.compliance = c;
      R->have = TRUE;
      if (!isfinite (rel_cg) || rel_cg > S->s.rtol)
        {
          g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_NOT_CONVERGED,
                       "FE load case \"%s\" did not converge: relative residual %.3g after %d iterations "
                       "(rtol %g); raise max_iter or check the supports", C->name, rel_cg, R->st.iterations, S->s.rtol);
          ok = FALSE;
        }
      if (S->s.verbose && ok)
        g_print ("FE case %d \"%s\": converged in %d iterations, compliance %.10g, %.2f s\n", lc, C->name,
                 R->st.iterations, c, R->st.seconds);
    }
  return ok;
}

/* loaded nodes with no stiff element around them (looked at node by node: TO solves every iteration) */
static void
warn_void_loads (TbFeSolver *S)
{
  TbFeModel *M = S->model;
  gsize bad = 0, first = 0;
  for (gsize node = 0; node < M->n_nodes; node++)
    {
      gboolean loaded = FALSE;
      for (guint lc = 0; lc < M->cases->len && !loaded; lc++)
        {
          TbFeLoadCase *C = g_ptr_array_index (M->cases, lc);
          for (int c = 0; c < M->dim; c++)
            loaded |= C->f[node * M->dim + c] != 0;
        }
      if (!loaded || (M->spring != NULL && M->spring[node * M->dim] > 0))
        continue;
      gsize els[8];
      int ne = tb_fe_node_elements (M, node, els);
      double emax = 0;
      for (int q = 0; q < ne; q++)
        emax = MAX (emax, S->E[els[q]]);
      if (!(emax > 1e-6 * M->E0))
        {
          if (bad == 0)
            first = node;
          bad++;
        }
    }
  if (bad > 0)
    g_warning ("FE: %" G_GSIZE_FORMAT " loaded node(s) (first: node %" G_GSIZE_FORMAT ") have no stiff element "
               "attached (E <= 1e-6 E0): the load acts on void and the displacements there are meaningless",
               bad, first);
}

gboolean
tb_fe_solve (TbFeSolver *S, GCancellable *cancellable, TbProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (S != NULL, FALSE);
  TbFeModel *M = S->model;
  if (M->cases->len == 0)
    {
      g_set_error (error, TB_FE_ERROR, TB_FE_ERROR_INVALID, "FE model has no load case: add one first");
      return FALSE;
    }
  if (S->stamp != M->stamp)
    {
      /* supports, material or density changed behind the solver's back: rebuild */
      if (!setup (S, error))
        return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  warn_void_loads (S);
  if (S->res->len < M->cases->len)
    g_array_set_size (S->res, M->cases->len);
  int nc = (int) M->cases->len;
  int nb = batch_size (S, nc);
  if (S->s.verbose && nc > 1)
    g_print ("FE: %d load cases, solved %d at a time\n", nc, nb);
  for (int lc = 0; lc < nc; lc += nb)
    {
      int nv = MIN (nb, nc - lc);
      if (!solve_batch (S, lc, nv, cancellable, progress, user_data, (double) lc / nc, (double) (lc + nv) / nc, error))
        return FALSE;
    }
  if (progress != NULL)
    progress (1.0, "FE solved", user_data);
  return TRUE;
}

static CaseResult *
result (const TbFeSolver *S, int lc)
{
  g_return_val_if_fail (lc >= 0 && lc < (int) S->res->len, NULL);
  CaseResult *R = &g_array_index (S->res, CaseResult, lc);
  g_return_val_if_fail (R->have, NULL);
  return R;
}

const double *
tb_fe_solver_get_displacement (const TbFeSolver *S, int lc)
{
  CaseResult *R = result (S, lc);
  return R != NULL ? R->u : NULL;
}

void
tb_fe_solver_get_stats (const TbFeSolver *S, int lc, TbFeCaseStats *st)
{
  CaseResult *R = result (S, lc);
  if (R != NULL)
    *st = R->st;
  else
    memset (st, 0, sizeof *st);
}

double
tb_fe_solver_weighted_compliance (const TbFeSolver *S)
{
  double c = 0;
  for (guint lc = 0; lc < S->res->len; lc++)
    c += tb_fe_model_load_case_weight (S->model, lc) * g_array_index (S->res, CaseResult, lc).st.compliance;
  return c;
}

void
tb_fe_solver_element_energy (const TbFeSolver *S, int lc, double *out)
{
  TbFeModel *M = S->model;
  int first = lc < 0 ? 0 : lc, last = lc < 0 ? (int) S->res->len - 1 : lc;
  memset (out, 0, M->n_el * sizeof (double));
  for (int c = first; c <= last; c++)
    {
      CaseResult *R = result (S, c);
      if (R == NULL)
        return;
      double w = lc < 0 ? tb_fe_model_load_case_weight (M, c) : 1.0;
      if (first == last)
        {
          tb_fe_energy_kernel (M, R->u, out);
          break;
        }
      g_autofree double *en = g_new (double, M->n_el);
      tb_fe_energy_kernel (M, R->u, en);
#pragma omp parallel for simd schedule(static)
      for (gsize e = 0; e < M->n_el; e++)
        out[e] += w * en[e];
    }
}

void
tb_fe_solver_energy_density (const TbFeSolver *S, int lc, float *out)
{
  TbFeModel *M = S->model;
  g_autofree double *en = g_new (double, M->n_el);
  tb_fe_solver_element_energy (S, lc, en);
  double vol = M->h[0] * M->h[1] * (M->dim == 3 ? M->h[2] : M->thickness);
  for (gsize e = 0; e < M->n_el; e++)
    out[e] = (float) (0.5 * S->E[e] * en[e] / vol);
}

void
tb_fe_solver_von_mises (const TbFeSolver *S, int lc, float *out)
{
  TbFeModel *M = S->model;
  CaseResult *R = result (S, lc);
  if (R == NULL)
    return;
  double B[6 * 24], D[36];
  tb_fe_element_strain_centre (M->dim, M->h, B);
  tb_fe_element_constitutive (M->dim, 1.0, M->nu, D);
  int nke = M->nke, ns = M->dim == 2 ? 3 : 6;
#pragma omp parallel for schedule(static)
  for (gsize e = 0; e < M->n_el; e++)
    {
      double ue[24], eps[6] = { 0 }, sg[6] = { 0 };
      tb_fe_element_gather (M, e, R->u, ue);
      for (int a = 0; a < ns; a++)
        for (int b = 0; b < nke; b++)
          eps[a] += B[a * nke + b] * ue[b];
      for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b++)
          sg[a] += S->E[e] * D[a * 6 + b] * eps[b];
      double vm;
      if (M->dim == 2)
        vm = sqrt (sg[0] * sg[0] - sg[0] * sg[1] + sg[1] * sg[1] + 3 * sg[2] * sg[2]);
      else
        vm = sqrt (0.5 * ((sg[0] - sg[1]) * (sg[0] - sg[1]) + (sg[1] - sg[2]) * (sg[1] - sg[2])
                          + (sg[2] - sg[0]) * (sg[2] - sg[0]))
                   + 3 * (sg[3] * sg[3] + sg[4] * sg[4] + sg[5] * sg[5]));
      out[e] = (float) vm;
    }
}

void
tb_fe_solver_reactions (const TbFeSolver *S, int lc, double *out)
{
  TbFeModel *M = S->model;
  CaseResult *R = result (S, lc);
  if (R == NULL)
    return;
  TbFeLoadCase *C = g_ptr_array_index (M->cases, lc);
  tb_fe_apply_kernel (M, S->E, R->u, out, S->s.n_threads);
  for (gsize d = 0; d < M->n_dofs; d++)
    out[d] -= C->f[d];
}

/* for fe-localize.c */
const double *
tb_fe_solver_moduli (const TbFeSolver *S)
{
  return S->E;
}
