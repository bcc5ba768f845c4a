/* fe-condense.c — stiff parts that float free in void, eliminated from the CG (static condensation).
 *
 * A piece of bone that no chain of stiff elements (sharing a node: a corner or an edge carries force)
 * joins to a support, a spring or a load carries no load: it hangs in void of stiffness Emin. Thresholded
 * 2D slices are full of them (the 512^2 micro-CT slice of bench-fe: 141 parts, 12 310 elements), 3D
 * models have specks. fe-islands.c deflates their rigid-body modes, yet the geometric coarse grids still
 * see their stiffness: a coarse basis function that spans a part and a nearby strut of the loaded
 * structure ties the two, and the coarse operator is too stiff there. On that slice CG took 109
 * iterations; with those parts' elements set to void, 51, the compliance the same to 4e-7.
 *
 * We eliminate them exactly instead. With F the nodes of the floating parts and R the rest,
 *     K = [K_RR K_RF; K_FR K_FF],   S = K_RR - K_RF K_FF^-1 K_FR,
 * CG runs on S u_R = f_R (no load on F, by the choice of F), and u_F = -K_FF^-1 K_FR u_R afterwards.
 * K_FF (the parts and the void elements around them: positive definite as Emin > 0) is factored by
 * LAPACK's banded Cholesky once per density, one group at a time (parts that share a void element
 * couple in K_FF and form one group). An element whose nodes all lie in F enters K_FF only, so the
 * multigrid hierarchy may be built with other moduli there (tb_fe_condense_moduli: the parts softened
 * to PART_MODULUS below): its fine operator is still K_RR on R exactly and K_FR on F (the void
 * elements around a part keep their moduli), and its coarse levels no longer tie the parts to the
 * loaded structure. A group whose band factor would cost too much stays in the CG (deflated).
 */
#include "fe-private.h"

#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

/* The hierarchy sees a condensed part at this fraction of the stiffest modulus: soft enough that a
 * coarse basis function spanning it and a strut of the loaded structure no longer ties them, stiff
 * enough that the void around it still sees an inclusion far stiffer than itself, as in the condensed
 * operator S (at Emin, the V-cycle would precondition S's void around the parts badly). The 2D 512^2
 * slice (CG iterations, E_void / E_solid = 1e-9 | 1e-6): parts at 1e-9 E0: 176 | -, 1e-6: 58 | 127,
 * 1e-4: 51 | 85, 1e-3: 51 | 59, 1e-2: 44 | 58, 1e-1: 58 | 63, unchanged (1): 90 | 96; not condensed,
 * their rigid modes deflated: 109 | 189. */
#define PART_MODULUS 1e-2

/* a group's factor may take this many flops (n kd^2) and bytes, and all factors together the room of
 * four fine vectors plus 32 MB (within the memory estimate's work vectors, tb_fe_model_estimate_memory);
 * the groups beyond stay in the CG */
#define MAX_FLOPS 2e9
#define MAX_BYTES (256.0 * 1024 * 1024)
#define TOTAL_BYTES(n_dofs) (32.0 * (n_dofs) + 32.0 * 1024 * 1024)

typedef struct {
  gsize n;            /* nodes, in band order */
  gsize *nodes;
  int kd;             /* half bandwidth in DOFs */
  double *L;          /* Cholesky factor, LAPACK lower band storage, ldab = kd + 1 */
  gsize n_halo;       /* elements with nodes both in the group and in R */
  gsize *halo;
  double *halo_E;
  gint32 *halo_loc;   /* n_halo * nen: the node's index in the group, or -1 (an R node) */
  double *work;       /* n * dim */
} Group;

struct _TbFeCondense {
  int dim, nen, nke;
  const double *K0;   /* the model's reference stiffness */
  GArray *groups;     /* Group */
  gsize n_nodes;      /* condensed nodes */
  double *E;          /* moduli for the hierarchy */
};

static void
group_clear (Group *g)
{
  g_free (g->nodes);
  g_free (g->L);
  g_free (g->halo);
  g_free (g->halo_E);
  g_free (g->halo_loc);
  g_free (g->work);
}

void
tb_fe_condense_free (TbFeCondense *C)
{
  if (C == NULL)
    return;
  for (guint i = 0; i < C->groups->len; i++)
    group_clear (&g_array_index (C->groups, Group, i));
  g_array_free (C->groups, TRUE);
  g_free (C->E);
  g_free (C);
}

typedef struct { guint64 key; gsize node; } Keyed;

static int
cmp_keyed (const void *a, const void *b)
{
  const Keyed *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Band order of a group's nodes: lexicographic in its bounding box, the shortest axis fastest, so the
 * half bandwidth is about dim times the node count of the two shorter extents' cross-section. */
static void
band_order (const TbFeModel *M, gsize *nodes, gsize n)
{
  gsize lo[3] = { G_MAXSIZE, G_MAXSIZE, G_MAXSIZE }, hi[3] = { 0, 0, 0 };
  for (gsize i = 0; i < n; i++)
    {
      gsize c[3] = { nodes[i] % M->nn[0], (nodes[i] / M->nn[0]) % M->nn[1], nodes[i] / ((gsize) M->nn[0] * M->nn[1]) };
      for (int a = 0; a < 3; a++)
        {
          lo[a] = MIN (lo[a], c[a]);
          hi[a] = MAX (hi[a], c[a]);
        }
    }
  int ax[3] = { 0, 1, 2 };
  for (int i = 0; i < 3; i++)   /* ascending extent */
    for (int j = i + 1; j < 3; j++)
      if (hi[ax[j]] - lo[ax[j]] < hi[ax[i]] - lo[ax[i]])
        {
          int t = ax[i];
          ax[i] = ax[j];
          ax[j] = t;
        }
  Keyed *k = g_new (Keyed, n);
  for (gsize i = 0; i < n; i++)
    {
      gsize c[3] = { nodes[i] % M->nn[0], (nodes[i] / M->nn[0]) % M->nn[1], nodes[i] / ((gsize) M->nn[0] * M->nn[1]) };
      guint64 e0 = hi[ax[0]] - lo[ax[0]] + 1, e1 = hi[ax[1]] - lo[ax[1]] + 1;
      k[i].key = (c[ax[0]] - lo[ax[0]]) + e0 * ((c[ax[1]] - lo[ax[1]]) + e1 * (c[ax[2]] - lo[ax[2]]));
      k[i].node = nodes[i];
    }
  qsort (k, n, sizeof (Keyed), cmp_keyed);
  for (gsize i = 0; i < n; i++)
    nodes[i] = k[i].node;
  g_free (k);
}

/* The group's nodes are given; finds its elements, the band, the factor and the halo, and gives the
 * elements wholly inside the group (they enter K_FF only) the modulus `soft` at most in Eh, the
 * hierarchy's moduli. loc: per node, scratch set to the node's index here and reset to -1 before
 * returning. FALSE: too large, or not positive definite (then the group stays in the CG). */
static gboolean
group_build (const TbFeModel *M, const double *E, Group *G, gint32 *loc, GArray *els, double *budget,
             double soft, double *Eh)
{
  const int dim = M->dim, nen = M->nen, nke = M->nke;
  band_order (M, G->nodes, G->n);
  for (gsize i = 0; i < G->n; i++)
    loc[G->nodes[i]] = (gint32) i;
  /* the elements around the group's nodes, each once (an element's lowest group node finds it) */
  g_array_set_size (els, 0);
  gsize kdn = 0;
  for (gsize i = 0; i < G->n; i++)
    {
      gsize around[8];
      int na = tb_fe_node_elements (M, G->nodes[i], around);
      for (int q = 0; q < na; q++)
        {
          gsize nodes[8];
          tb_fe_element_nodes (M, around[q], nodes);
          gsize first = G_MAXSIZE, lo = G_MAXSIZE, hi = 0;
          for (int a = 0; a < nen; a++)
            if (loc[nodes[a]] >= 0)
              {
                gsize l = (gsize) loc[nodes[a]];
                lo = MIN (lo, l);
                hi = MAX (hi, l);
                first = MIN (first, l);
              }
          if (first != i)
            continue;
          g_array_append_val (els, around[q]);
          kdn = MAX (kdn, hi - lo);
        }
    }
  const gsize nd = G->n * dim;
  G->kd = (int) MIN ((kdn + 1) * dim - 1, nd - 1);
  const int ldab = G->kd + 1;
  const double bytes = (double) nd * ldab * sizeof (double);
  gboolean ok = (double) nd * G->kd * G->kd <= MAX_FLOPS && bytes <= MIN (MAX_BYTES, *budget);
  if (ok)
    {
      *budget -= bytes;
      G->L = g_new0 (double, nd * ldab);
      gsize n_halo = 0;
      for (guint q = 0; q < els->len; q++)
        {
          gsize e = g_array_index (els, gsize, q), nodes[8];
          tb_fe_element_nodes (M, e, nodes);
          gboolean halo = FALSE;
          for (int a = 0; a < nen; a++)
            {
              if (loc[nodes[a]] < 0)
                {
                  halo = TRUE;
                  continue;
                }
              for (int b = 0; b < nen; b++)
                if (loc[nodes[b]] >= 0)
                  for (int ca = 0; ca < dim; ca++)
                    for (int cb = 0; cb < dim; cb++)
                      {
                        gsize i = (gsize) loc[nodes[a]] * dim + ca, j = (gsize) loc[nodes[b]] * dim + cb;
                        if (i >= j)
                          G->L[(i - j) + j * ldab] += E[e] * M->K0[(a * dim + ca) * nke + b * dim + cb];
                      }
            }
          n_halo += halo;
        }
      ok = LAPACKE_dpbtrf (LAPACK_COL_MAJOR, 'L', (lapack_int) nd, G->kd, G->L, ldab) == 0;
      if (ok)
        {
          G->n_halo = 0;
          G->halo = g_new (gsize, MAX (n_halo, 1));
          G->halo_E = g_new (double, MAX (n_halo, 1));
          G->halo_loc = g_new (gint32, MAX (n_halo, 1) * nen);
          for (guint q = 0; q < els->len; q++)
            {
              gsize e = g_array_index (els, gsize, q), nodes[8];
              tb_fe_element_nodes (M, e, nodes);
              gboolean halo = FALSE;
              for (int a = 0; a < nen; a++)
                halo |= loc[nodes[a]] < 0;
              if (!halo)
                {
                  Eh[e] = MIN (E[e], soft);
                  continue;
                }
              for (int a = 0; a < nen; a++)
                G->halo_loc[G->n_halo * nen + a] = loc[nodes[a]];
              G->halo_E[G->n_halo] = E[e];
              G->halo[G->n_halo++] = e;
            }
          G->work = g_new (double, nd);
        }
    }
  for (gsize i = 0; i < G->n; i++)
    loc[G->nodes[i]] = -1;
  return ok;
}

TbFeCondense *
tb_fe_condense_new (const TbFeModel *M, const double *E)
{
  if (!(M->Emin > 0))
    return NULL;   /* K_FF would be singular: the parts' rigid motions are then free (fe-islands) */
  const int dim = M->dim, nen = M->nen;
  double emax = 0;
  for (gsize e = 0; e < M->n_el; e++)
    emax = MAX (emax, E[e]);
  const double stiff = 1e-3 * emax;   /* as fe-islands.c */
  /* parts: nodes joined by stiff elements */
  gsize *p = g_new (gsize, M->n_nodes);
  guint8 *in_part = g_new0 (guint8, M->n_nodes);
  for (gsize a = 0; a < M->n_nodes; a++)
    p[a] = a;
  for (gsize e = 0; e < M->n_el; e++)
    {
      if (!(E[e] >= stiff) || E[e] <= M->Emin)
        continue;
      gsize nodes[8];
      tb_fe_element_nodes (M, e, nodes);
      for (int a = 0; a < nen; a++)
        {
          in_part[nodes[a]] = 1;
          if (a > 0)
            tb_fe_uf_unite (p, nodes[0], nodes[a]);
        }
    }
  /* anchored parts: a support, a prescribed value, a spring or a load on any of their nodes */
  guint8 *anchored = g_new0 (guint8, M->n_nodes);
  for (gsize a = 0; a < M->n_nodes; a++)
    {
      if (!in_part[a])
        continue;
      gboolean anchor = FALSE;
      for (int c = 0; c < dim && !anchor; c++)
        {
          gsize d = a * dim + c;
          anchor = M->fixed[d] || (M->spring != NULL && M->spring[d] > 0);
          for (guint lc = 0; lc < M->cases->len && !anchor; lc++)
            anchor = ((TbFeLoadCase *) g_ptr_array_index (M->cases, lc))->f[d] != 0;
        }
      if (anchor)
        anchored[tb_fe_uf_find (p, a)] = 1;
    }
  /* floating nodes; then parts that share an element are joined into one group */
  gsize n_float = 0;
  for (gsize a = 0; a < M->n_nodes; a++)
    {
      if (in_part[a] && !anchored[tb_fe_uf_find (p, a)])
        n_float++;
      else
        in_part[a] = 0;   /* from here: 1 = floating */
    }
  g_free (anchored);
  TbFeCondense *C = NULL;
  if (n_float > 0)
    {
      for (gsize e = 0; e < M->n_el; e++)
        {
          gsize nodes[8];
          tb_fe_element_nodes (M, e, nodes);
          gsize first = G_MAXSIZE;
          for (int a = 0; a < nen; a++)
            if (in_part[nodes[a]])
              {
                if (first == G_MAXSIZE)
                  first = nodes[a];
                else
                  tb_fe_uf_unite (p, first, nodes[a]);
              }
        }
      /* the groups' node lists, by root */
      GHashTable *by_root = g_hash_table_new (g_direct_hash, g_direct_equal);
      GPtrArray *lists = g_ptr_array_new ();
      for (gsize a = 0; a < M->n_nodes; a++)
        {
          if (!in_part[a])
            continue;
          gsize r = tb_fe_uf_find (p, a);
          gpointer idx;
          GArray *list;
          if (g_hash_table_lookup_extended (by_root, GSIZE_TO_POINTER (r), NULL, &idx))
            list = g_ptr_array_index (lists, GPOINTER_TO_SIZE (idx));
          else
            {
              list = g_array_new (FALSE, FALSE, sizeof (gsize));
              g_hash_table_insert (by_root, GSIZE_TO_POINTER (r), GSIZE_TO_POINTER (lists->len));
              g_ptr_array_add (lists, list);
            }
          g_array_append_val (list, a);
        }
      g_hash_table_destroy (by_root);
      C = g_new0 (TbFeCondense, 1);
      C->dim = dim;
      C->nen = nen;
      C->nke = M->nke;
      C->K0 = M->K0;
      C->groups = g_array_new (FALSE, TRUE, sizeof (Group));
      C->E = g_memdup2 (E, M->n_el * sizeof (double));
      gint32 *loc = g_new (gint32, M->n_nodes);
      for (gsize a = 0; a < M->n_nodes; a++)
        loc[a] = -1;
      GArray *els = g_array_new (FALSE, FALSE, sizeof (gsize));
      double budget = TOTAL_BYTES (M->n_dofs);
      for (guint i = 0; i < lists->len; i++)
        {
          GArray *list = g_ptr_array_index (lists, i);
          Group G = { 0 };
          G.n = list->len;
          G.nodes = (gsize *) g_array_free (list, FALSE);
          if (!group_build (M, E, &G, loc, els, &budget, PART_MODULUS * emax, C->E))
            {
              group_clear (&G);
              continue;
            }
          C->n_nodes += G.n;
          g_array_append_val (C->groups, G);
        }
      g_array_free (els, TRUE);
      g_ptr_array_free (lists, TRUE);
      g_free (loc);
      if (C->groups->len == 0)
        g_clear_pointer (&C, tb_fe_condense_free);
    }
  g_free (p);
  g_free (in_part);
  return C;
}

int tb_fe_condense_n_groups (const TbFeCondense *C) { return C != NULL ? (int) C->groups->len : 0; }
gsize tb_fe_condense_n_nodes (const TbFeCondense *C) { return C != NULL ? C->n_nodes : 0; }
const double *tb_fe_condense_moduli (const TbFeCondense *C) { return C->E; }

/* y = K_FF^-1 v_F of one group into G->work (v NULL: v_F is in G->work already) */
static void
group_solve (const TbFeCondense *C, Group *G, const double *v)
{
  const int dim = C->dim;
  for (gsize i = 0; v != NULL && i < G->n; i++)
    for (int c = 0; c < dim; c++)
      G->work[i * dim + c] = v[G->nodes[i] * dim + c];
  LAPACKE_dpbtrs_work (LAPACK_COL_MAJOR, 'L', (lapack_int) (G->n * dim), G->kd, 1, G->L, G->kd + 1, G->work,
                       (lapack_int) (G->n * dim));
}

/* Halo element h couples the group's F nodes to the R nodes around it: ye = E_h K0 xe with xe taken
 * from one side only (from_F: y = G->work at the F nodes; else u at the R nodes), the rows of the
 * other side written to ye (the taking side's rows are left as they were). */
static void
halo_couple (const TbFeCondense *C, const Group *G, gsize h, const gsize nodes[8], gboolean from_F,
             const double *u, double ye[24])
{
  const int dim = C->dim, nen = C->nen, nke = C->nke;
  const gint32 *lc = G->halo_loc + h * nen;
  double xe[24];
  for (int a = 0; a < nen; a++)
    for (int c = 0; c < dim; c++)
      xe[a * dim + c] = (lc[a] >= 0) != from_F ? 0.0
                        : from_F ? G->work[(gsize) lc[a] * dim + c] : u[nodes[a] * dim + c];
  for (int a = 0; a < nen; a++)
    if ((lc[a] >= 0) != from_F)
      for (int c = 0; c < dim; c++)
        {
          const double *k = C->K0 + (a * dim + c) * nke;
          double s = 0;
          for (int b = 0; b < nke; b++)
            s += k[b] * xe[b];
          ye[a * dim + c] = G->halo_E[h] * s;
        }
}

/* v_R -= K_RF y with y = G->work (fixed DOFs untouched) */
static void
halo_subtract (const TbFeCondense *C, const TbFeModel *M, const Group *G, const guint8 *fixed, double *v)
{
  const int dim = C->dim, nen = C->nen;
  for (gsize h = 0; h < G->n_halo; h++)
    {
      const gint32 *lc = G->halo_loc + h * nen;
      gsize nodes[8];
      double ye[24];
      tb_fe_element_nodes (M, G->halo[h], nodes);
      halo_couple (C, G, h, nodes, TRUE, NULL, ye);
      for (int a = 0; a < nen; a++)
        for (int c = 0; lc[a] < 0 && c < dim; c++)
          if (!fixed[nodes[a] * dim + c])
            v[nodes[a] * dim + c] -= ye[a * dim + c];
    }
}

/* q holds K' p for p with p_F = 0 (K': the hierarchy's fine operator, whose R rows and F rows are
 * K_RR p_R and K_FR p_R): makes it S p, q_R -= K_RF K_FF^-1 q_F, q_F = 0 (fixed DOFs untouched).
 * The same turns a right-hand side b into the condensed one b_R - K_RF K_FF^-1 b_F. nv vectors of n. */
void
tb_fe_condense_reduce (const TbFeCondense *C, const TbFeModel *M, const guint8 *fixed, gsize n, int nv, double *q)
{
  for (int v = 0; v < nv; v++)
    {
      double *qv = q + (gsize) v * n;
      const int ng = (int) C->groups->len;
      /* the band solves read only F entries and write their group's own work: in parallel (they are
       * most of the cost, bound by reading the factors); the halos may share R nodes: in turn */
#pragma omp parallel for schedule(dynamic) if (ng > 1)
      for (int g = 0; g < ng; g++)
        group_solve (C, &g_array_index (C->groups, Group, g), qv);
      for (int g = 0; g < ng; g++)
        halo_subtract (C, M, &g_array_index (C->groups, Group, g), fixed, qv);
      tb_fe_condense_zero (C, n, 1, qv);
    }
}

void
tb_fe_condense_zero (const TbFeCondense *C, gsize n, int nv, double *x)
{
  for (int v = 0; v < nv; v++)
    for (guint g = 0; g < C->groups->len; g++)
      {
        const Group *G = &g_array_index (C->groups, Group, g);
        for (gsize i = 0; i < G->n; i++)
          for (int c = 0; c < C->dim; c++)
            x[(gsize) v * n + G->nodes[i] * C->dim + c] = 0;
      }
}

/* u_F = K_FF^-1 (f_F - K_FR u_R) = -K_FF^-1 K_FR u_R (no load on F); K_FR u_R from the halo
 * elements' K_e (u_R includes prescribed values). Groups in parallel: each writes its own u_F. */
void
tb_fe_condense_recover (const TbFeCondense *C, const TbFeModel *M, double *u)
{
  const int dim = C->dim, nen = C->nen, ng = (int) C->groups->len;
#pragma omp parallel for schedule(dynamic) if (ng > 1)
  for (int g = 0; g < ng; g++)
    {
      Group *G = &g_array_index (C->groups, Group, g);
      memset (G->work, 0, G->n * dim * sizeof (double));
      for (gsize h = 0; h < G->n_halo; h++)
        {
          const gint32 *lc = G->halo_loc + h * nen;
          gsize nodes[8];
          double ye[24];
          tb_fe_element_nodes (M, G->halo[h], nodes);
          halo_couple (C, G, h, nodes, FALSE, u, ye);
          for (int a = 0; a < nen; a++)
            for (int c = 0; lc[a] >= 0 && c < dim; c++)
              G->work[(gsize) lc[a] * dim + c] += ye[a * dim + c];
        }
      group_solve (C, G, NULL);
      for (gsize i = 0; i < G->n; i++)
        for (int c = 0; c < dim; c++)
          u[G->nodes[i] * dim + c] = -G->work[i * dim + c];
    }
}

/* flags the condensed DOFs (for fe-islands: a condensed part is no floating part of the CG's) */
void
tb_fe_condense_mark (const TbFeCondense *C, guint8 *flags)
{
  for (guint g = 0; g < C->groups->len; g++)
    {
      const Group *G = &g_array_index (C->groups, Group, g);
      for (gsize i = 0; i < G->n; i++)
        for (int c = 0; c < C->dim; c++)
          flags[G->nodes[i] * C->dim + c] = 1;
    }
}
