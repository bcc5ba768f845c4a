/* phantom-trabecular.c — the trabecular field T(p): bone where T > 0 inside the endosteal surface.
 *
 * Trajectories (Wolff/Koch): in the frontal plane, polar coordinates (rho, theta) about an axis
 * parallel to y through O (below the neck, medial to the shaft). Rays from O run from the medial
 * calcar up into the superior head (the compressive group); circles about O arc from the lateral
 * cortex below the greater trochanter over the neck into the head (the tensile group); the two
 * families cross at right angles, as principal stress trajectories do.
 *   Pt = cos (2 pi rho / L + a0 + A w0)                 sheets along the circles (tensile)
 *   Pc = cos (n(rho) theta + a1 + A w1)                 sheets along the rays (compressive);
 *        n(rho) = round (2 pi rho / L) in 4 mm bands, blended linearly between bands, so that
 *        the ray spacing stays near L and rays fork where the bands meet
 *   Y  = cos (2 pi y / Ly + a2 + A w2)                  antero-posterior layering
 * a_i seeded phase offsets, w_i seeded value noise (1.6 mm lattice, A = 1.8 rad) that warps the phases.
 * Components: plate_c = Pc, plate_t = Pt, rod_c = (Pc+Y)/2, rod_t = (Pt+Y)/2, rod_y = (Pc+Pt)/2;
 *   F = max_i (comp_i + beta_i * h - delta_i),   h: seeded value noise (1 mm lattice) that perforates,
 *   T = F - tau - fade(z),  fade = 4 (1 - smoothstep (-85, -60, z)) empties the medullary canal.
 * A plate of spacing L is bone where cos > c: thickness L acos (c) / pi; a rod where the mean of
 * two cosines > c: diameter L 2 sqrt (1 - c) / pi. */
#include "phantom-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WAVE_L      0.80    /* mm, plate/rod spacing along both trajectory families */
#define WAVE_LY     0.90    /* mm, antero-posterior spacing */
#define BAND        4.0     /* mm, radial band width for the ray count */
#define WARP_AMP    1.8     /* rad */
#define WARP_STEP   1.6     /* mm */
#define PERF_STEP   1.0     /* mm */
#define OFF         2.0     /* delta of a component that is absent */
static const double origin_o[2] = { -27.0, -57.0 };   /* O: (x, z) */

/* Architecture by region (paper 000, Fig. 1 / Table 1): head dense plates along the compressive
 * trajectories with thinner tensile plates; neck perforated compressive plates plus tensile rods;
 * Ward's triangle sparse thin rods; intertrochanteric rods of both families crossing at right angles. */
static const TbTrabParams region_design[TB_N_REGIONS] = {
  [TB_REGION_HEAD] = { { 0.00, 0.20, OFF, OFF, 0.30 }, { 0.30, 0.50, 0, 0, 0.2 }, 0 },
  [TB_REGION_NECK] = { { 0.00, OFF, 0.28, 0.26, OFF }, { 0.40, 0, 0.2, 0.2, 0 }, 0 },
  [TB_REGION_WARDS] = { { OFF, OFF, 0.26, 0.26, 0.30 }, { 0, 0, 0.2, 0.2, 0.2 }, 0 },
  [TB_REGION_INTERTROCHANTER] = { { OFF, OFF, 0.22, 0.22, 0.35 }, { 0, 0, 0.15, 0.15, 0.15 }, 0 },
};
#define BETA_MAX 0.60

static guint64
splitmix64 (guint64 x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static inline double
hash_unit (guint64 seed, guint64 a)
{
  return (double) (splitmix64 (seed ^ splitmix64 (a)) >> 11) * (1.0 / 9007199254740992.0);
}

static gboolean
lattice_init (TbNoiseLattice *l, const TbPhantom *ph, double step, int channels, guint64 seed, GError **error)
{
  l->inv_step = 1.0 / step;
  l->channels = channels;
  gsize total = (gsize) channels;
  for (int d = 0; d < 3; d++)
    {
      l->lo[d] = ph->bone_lo[d] - 2.0 * step;
      l->n[d] = (int) ceil ((ph->bone_hi[d] - ph->bone_lo[d]) / step) + 5;
      total *= (gsize) l->n[d];
    }
  if (!tb_memory_check (total * sizeof (float), "The phantom's noise lattice", error))
    return FALSE;
  l->values = g_new (float, total);
  for (gsize i = 0; i < total; i++)
    l->values[i] = (float) (2.0 * hash_unit (seed, i) - 1.0);
  return TRUE;
}

/* Value noise, cubic Hermite between lattice values in [-1, 1]; |grad| <= 1.5 * 2 * sqrt 3 / step. */
static inline void
lattice_eval (const TbNoiseLattice *l, const double p[3], double *out)
{
  int i0[3];
  double w[3][2];
  for (int d = 0; d < 3; d++)
    {
      double g = CLAMP ((p[d] - l->lo[d]) * l->inv_step, 0.0, (double) l->n[d] - 1.0001);
      int i = (int) g;
      double t = g - i;
      double s = t * t * (3.0 - 2.0 * t);
      i0[d] = i;
      w[d][0] = 1.0 - s;
      w[d][1] = s;
    }
  int c = l->channels;
  for (int ch = 0; ch < c; ch++)
    out[ch] = 0.0;
  for (int dz = 0; dz < 2; dz++)
    for (int dy = 0; dy < 2; dy++)
      {
        double wyz = w[2][dz] * w[1][dy];
        const float *row = l->values + (((gsize) (i0[2] + dz) * l->n[1] + (i0[1] + dy)) * l->n[0] + i0[0]) * c;
        for (int ch = 0; ch < c; ch++)
          out[ch] += wyz * (w[0][0] * row[ch] + w[0][1] * row[c + ch]);
      }
}

/* F without tau or fade, for the given (blended) parameters. */
static double
field_f (const TbPhantom *ph, const double p[3], const TbTrabParams *par)
{
  double warp[3], perf;
  lattice_eval (&ph->warp, p, warp);
  lattice_eval (&ph->perforation, p, &perf);

  double dx = p[0] - origin_o[0], dz = p[2] - origin_o[1];
  double rho = sqrt (dx * dx + dz * dz), theta = atan2 (dz, dx);
  double k = 2.0 * G_PI / WAVE_L;
  double pt = cos (k * rho + ph->phase_offset[0] + WARP_AMP * warp[0]);
  double b = rho / BAND - 0.5, b0 = floor (b), t = b - b0;
  double n0 = round (k * (b0 + 0.5) * BAND), n1 = round (k * (b0 + 1.5) * BAND);
  double ph1 = ph->phase_offset[1] + WARP_AMP * warp[1];
  double pc = (1.0 - t) * cos (n0 * theta + ph1) + t * cos (n1 * theta + ph1);
  double y = cos (2.0 * G_PI / WAVE_LY * p[1] + ph->phase_offset[2] + WARP_AMP * warp[2]);

  double comp[TB_N_COMP] = { pc, pt, 0.5 * (pc + y), 0.5 * (pt + y), 0.5 * (pc + pt) };
  double f = -G_MAXDOUBLE;
  for (int i = 0; i < TB_N_COMP; i++)
    f = MAX (f, comp[i] + par->beta[i] * perf - par->delta[i]);
  return f;
}

void
tb_phantom_trabecular_params (const TbPhantom *ph, const double w[TB_N_REGIONS], TbTrabParams *par)
{
  memset (par, 0, sizeof *par);
  for (int r = TB_REGION_HEAD; r < TB_N_REGIONS; r++)
    {
      if (w[r] == 0.0)
        continue;
      const TbTrabParams *q = &ph->region_params[r];
      for (int i = 0; i < TB_N_COMP; i++)
        {
          par->delta[i] += w[r] * q->delta[i];
          par->beta[i] += w[r] * q->beta[i];
        }
      par->tau += w[r] * q->tau;
    }
}

double
tb_phantom_trabecular_fade (double z)
{
  double t = CLAMP ((z + 85.0) / 25.0, 0.0, 1.0);
  return 4.0 * (1.0 - t * t * (3.0 - 2.0 * t));
}

double
tb_phantom_trabecular_eval (const TbPhantom *ph, const double p[3], const TbTrabParams *par)
{
  double fd = tb_phantom_trabecular_fade (p[2]);
  if (fd >= TB_PHANTOM_FADE_EMPTY)   /* F <= 1 + beta, tau > -1: no bone in the canal */
    return -1.0;
  return field_f (ph, p, par) - par->tau - fd;
}

double
tb_phantom_trabecular_value (const TbPhantom *ph, const double p[3], const double w[TB_N_REGIONS])
{
  TbTrabParams par;
  tb_phantom_trabecular_params (ph, w, &par);
  return tb_phantom_trabecular_eval (ph, p, &par);
}

static int
cmp_desc (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x < y) - (x > y);
}

/* tau of a region so that the fraction of its VOI with F > tau is the target: the (1 - target)
 * quantile of F over a low-discrepancy point set (Roberts' R3 sequence) filling the VOI. */
static double
calibrate_tau (const TbPhantom *ph, const TbPhantomVoi *voi)
{
  enum { N = 60000 };
  const double g = 1.22074408460575947536;   /* root of x^4 = x + 1 */
  const double a[3] = { 1.0 / g, 1.0 / (g * g), 1.0 / (g * g * g) };
  double *f = g_new (double, N);
  const TbTrabParams *par = &ph->region_params[voi->region];
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++)
    {
      double p[3];
      for (int d = 0; d < 3; d++)
        {
          double u = fmod (0.5 + a[d] * (n + 1), 1.0);
          p[d] = voi->centre[d] + (u - 0.5) * voi->size[d];
        }
      f[n] = field_f (ph, p, par);
    }
  qsort (f, N, sizeof (double), cmp_desc);
  int k = CLAMP ((int) lround (voi->target_bvtv * N), 1, N - 1);
  double tau = 0.5 * (f[k - 1] + f[k]);
  g_free (f);
  return tau;
}

gboolean
tb_phantom_trabecular_init (TbPhantom *ph, GError **error)
{
  guint64 seed = splitmix64 (ph->params.seed ^ 0x7472616265637561ull);
  for (int i = 0; i < 3; i++)
    ph->phase_offset[i] = 2.0 * G_PI * hash_unit (seed, 1000 + i);
  if (!lattice_init (&ph->warp, ph, WARP_STEP, 3, splitmix64 (seed + 1), error)
      || !lattice_init (&ph->perforation, ph, PERF_STEP, 1, splitmix64 (seed + 2), error))
    return FALSE;

  memcpy (ph->region_params, region_design, sizeof region_design);
  /* each VOI lies in its region's pure core, so only its own tau acts there */
  for (int v = 0; v < 4; v++)
    ph->region_params[ph->vois[v].region].tau = calibrate_tau (ph, &ph->vois[v]);
  TbTrabParams it = ph->region_params[TB_REGION_INTERTROCHANTER];
  ph->region_params[TB_REGION_SHAFT] = it;
  ph->region_params[TB_REGION_LESSER_TROCHANTER] = it;
  it.tau += 0.03;   /* the greater trochanter a little sparser */
  ph->region_params[TB_REGION_GREATER_TROCHANTER] = it;

  /* |grad T| bound: phase gradients (wave numbers, with the band rounding at rho >= 14 mm giving
   * at most 1.45 x for rho >= 10 mm), warp and perforation noise, the band blend, and the parameters' blending
   * between regions (smoothstep slope 1.5 / 2.3 mm at its steepest, three layers, a range of
   * OFF + BETA_MAX), with a 25 % margin. */
  double noise_grad = 1.5 * 2.0 * sqrt (3.0);
  double g_field = 2.0 * G_PI / MIN (WAVE_L, WAVE_LY) * 1.45 + WARP_AMP * noise_grad / WARP_STEP
                   + 2.0 / BAND + BETA_MAX * noise_grad / PERF_STEP;
  double g_param = 3.0 * 1.5 / 2.3 * (OFF + BETA_MAX) + 4.0 * 1.5 / 25.0;
  ph->lipschitz = 1.25 * (g_field + g_param);
  return TRUE;
}

/* A tighter bound on |grad T| for points at least rho_min from O that share the parameters `par`:
 * the ray family's wave number n / rho <= (k (b0 + 1.5) BAND + 0.5) / rho_min for the bands that
 * can meet there, the band blend 2 / BAND, the warp, the perforation of the strongest beta, the
 * canal's fade; 10 % margin. */
double
tb_phantom_trabecular_lipschitz (const TbPhantom *ph, const TbTrabParams *par, double rho_min)
{
  if (rho_min < 10.0)
    return ph->lipschitz;
  double k = 2.0 * G_PI / WAVE_L;
  double b0 = floor (rho_min / BAND - 0.5);
  double kc = (k * (b0 + 1.5) * BAND + 0.5) / rho_min;
  double noise_grad = 1.5 * 2.0 * sqrt (3.0);
  double beta = 0.0;
  for (int i = 0; i < TB_N_COMP; i++)
    beta = MAX (beta, fabs (par->beta[i]));
  double g = MAX (MAX (k, kc), 2.0 * G_PI / WAVE_LY) + 2.0 / BAND + WARP_AMP * noise_grad / WARP_STEP
             + beta * noise_grad / PERF_STEP + 4.0 * 1.5 / 25.0;
  return 1.1 * g;
}

double
tb_phantom_trabecular_rho (const double p[3])
{
  double dx = p[0] - origin_o[0], dz = p[2] - origin_o[1];
  return sqrt (dx * dx + dz * dz);
}

void
tb_phantom_trabecular_clear (TbPhantom *ph)
{
  g_clear_pointer (&ph->warp.values, g_free);
  g_clear_pointer (&ph->perforation.values, g_free);
}
