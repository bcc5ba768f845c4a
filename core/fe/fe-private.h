/* fe-private.h — the model's layout shared by the files of core/fe (not a public header). */
#pragma once

#include "tb-fe.h"

#include <math.h>

typedef struct {
  char *name;
  double weight;
  double *f;       /* n_dofs external nodal forces */
  double *u_pres;  /* n_dofs prescribed values (NULL: all zero) */
} TbFeLoadCase;

struct _TbFeModel {
  int ref_count;
  int dim;            /* 2 or 3 */
  int n[3];           /* elements per axis (n[2] = 1 in 2D) */
  int nn[3];          /* nodes per axis (nn[2] = 1 in 2D) */
  double h[3], origin[3];
  double E0, Emin, nu, penal, thickness;
  gsize n_el, n_nodes, n_dofs;
  float *rho;
  guint8 *outside;    /* per element: taken out of the model (no stiffness; fe-trim.c), or NULL */
  guint8 *fixed;      /* per DOF: 1 constrained */
  double *spring;     /* per DOF stiffness or NULL */
  GPtrArray *cases;   /* TbFeLoadCase* */
  int nen, nke;       /* nodes per element (4/8), element DOFs (8/24) */
  double K0[24 * 24]; /* unit-modulus element stiffness */
  int stamp;          /* bumps when stiffness or supports change */
};

/* fe-element.c */
void   tb_fe_element_stiffness (int dim, const double h[3], double nu, double thickness, double *K0);
void   tb_fe_element_strain_centre (int dim, const double h[3], double B[6 * 24]); /* strain = B ue */
void   tb_fe_element_constitutive (int dim, double E, double nu, double D[36]);

/* fe-model.c */
static inline double
tb_fe_simp (const TbFeModel *m, float rho)
{
  double r = rho;
  return m->Emin + (m->E0 - m->Emin) * (m->penal == 3.0 ? r * r * r : pow (r, m->penal));
}
/* element e's modulus: SIMP of its density, 0 where trimmed away */
static inline double
tb_fe_element_modulus_at (const TbFeModel *m, gsize e)
{
  return m->outside != NULL && m->outside[e] ? 0.0 : tb_fe_simp (m, m->rho[e]);
}
/* element (ei,ej,ek): node ids of its local nodes a = ax + 2ay + 4az */
void   tb_fe_element_nodes (const TbFeModel *m, gsize e, gsize nodes[8]);
int    tb_fe_node_elements (const TbFeModel *m, gsize node, gsize els[8]);
void   tb_fe_element_gather (const TbFeModel *m, gsize e, const double *u, double *ue);
#include <omp.h>
void     tb_fe_apply_kernel (const TbFeModel *m, const double *E, const double *x, double *y, int n_threads);
/* the same, visiting only elements erange[2r] .. erange[2r+1]-1 of element row r = ey + ny ez (those with
 * E != 0) and zeroing y only on the active entries act (the vectors are zero elsewhere, tb-fe.h);
 * single: each element's product in float (for smoothing; the vectors and the sums at nodes stay double) */
void     tb_fe_apply_kernel_active (const TbFeModel *m, const double *E, const int *erange, const TbFeActive *act,
                                    gboolean single, const double *x, double *y, int n_threads);
/* q over the active entries of A (const TbFeActive *), share t_ by share: put
 * "#pragma omp parallel for schedule(static)" (and any reduction) right before it, one thread a share */
#define TB_FE_ACTIVE_FOR(A, q) \
  for (int t_ = 0; t_ < (A)->n_part; t_++) \
    for (gsize s_ = (A)->part[t_]; s_ < (A)->part[t_ + 1]; s_++) \
      for (gsize q = (A)->span[s_].lo, q##_end_ = (A)->span[s_].hi; q < q##_end_; q++)
/* an owned TbFeActive (fe-kernel.c) */
typedef struct {
  TbFeActive a;
  TbFeSpan *span;
  gsize *part;
} TbFeActiveBuf;
/* from spans in increasing order (adjacent ones are merged, long ones cut so shares balance) */
void     tb_fe_active_build (TbFeActiveBuf *b, const TbFeSpan *spans, gsize n_spans, int n_part);
void     tb_fe_active_clear (TbFeActiveBuf *b);
gboolean tb_fe_cpu_avx512 (void);  /* AVX-512F here and TB_FE_NO_SIMD unset (fe-kernel.c) */
void     tb_fe_energy_kernel (const TbFeModel *m, const double *u, double *out);  /* u_e' K0 u_e */
double  *tb_fe_model_moduli (const TbFeModel *m);
const guint8 *tb_fe_hierarchy_fixed (TbFeHierarchy *H);
const double *tb_fe_hierarchy_moduli (TbFeHierarchy *H);
const double *tb_fe_solver_moduli (const TbFeSolver *S);
/* union-find with path halving, over node or element indices (fe-islands.c, fe-condense.c) */
static inline gsize
tb_fe_uf_find (gsize *p, gsize a)
{
  while (p[a] != a)
    {
      p[a] = p[p[a]];
      a = p[a];
    }
  return a;
}

static inline void
tb_fe_uf_unite (gsize *p, gsize a, gsize b)
{
  a = tb_fe_uf_find (p, a);
  b = tb_fe_uf_find (p, b);
  if (a != b)
    p[MAX (a, b)] = MIN (a, b);
}

/* fe-condense.c: floating stiff parts eliminated from the CG (NULL: none to condense) */
typedef struct _TbFeCondense TbFeCondense;
TbFeCondense *tb_fe_condense_new      (const TbFeModel *m, const double *E);
void          tb_fe_condense_free     (TbFeCondense *C);
int           tb_fe_condense_n_groups (const TbFeCondense *C);
gsize         tb_fe_condense_n_nodes  (const TbFeCondense *C);
const double *tb_fe_condense_moduli   (const TbFeCondense *C);   /* for the hierarchy */
void          tb_fe_condense_reduce   (const TbFeCondense *C, const TbFeModel *m, const guint8 *fixed, gsize n,
                                       int nv, double *q);
void          tb_fe_condense_zero     (const TbFeCondense *C, gsize n, int nv, double *x);
void          tb_fe_condense_recover  (const TbFeCondense *C, const TbFeModel *m, double *u);
void          tb_fe_condense_mark     (const TbFeCondense *C, guint8 *flags);

/* fe-islands.c */
typedef struct _TbFeIslands TbFeIslands;
TbFeIslands *tb_fe_islands_new (const TbFeModel *m, const double *E, const guint8 *fixed, GError **error);
void         tb_fe_islands_free (TbFeIslands *I);
int          tb_fe_islands_count (const TbFeIslands *I);
void         tb_fe_islands_precondition (TbFeIslands *I, gsize n_dofs, int nv, const double *r, double *z,
                                         void (*M) (gpointer, int, const double *, double *), gpointer data);
