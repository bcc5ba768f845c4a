/* phantom-anatomy.c — the femur's shape (signed distance), its cortex, its regions, VOIs, landmarks.
 *
 * The outer surface is a smooth union of round cones and spheres (exact signed distances,
 * Quilez, "distance functions"), so |grad sdf| <= 1 and a voxel whose centre is farther from
 * the surface than its half-diagonal lies wholly on one side: that is what lets the sampler skip it. */
#include "phantom-private.h"

#include <math.h>
#include <string.h>

/* Shape parameters (mm, degrees); see tb-phantom.h for the picture. */
#define NECK_SHAFT_ANGLE 127.0
#define ANTEVERSION      12.0
#define NECK_LENGTH      52.0   /* neck base (on the shaft axis) to head centre */
#define HEAD_RADIUS      23.0
#define NECK_BASE_Z     -31.3   /* puts the head centre at z = 0 */
#define DISTAL_CUT_Z    -125.0

static inline double dot3 (const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static inline double
smoothstep (double e0, double e1, double x)
{
  double t = CLAMP ((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

/* Polynomial smooth minimum (Quilez): never above min(a, b), at most k/4 below it. */
static inline double
smin (double a, double b, double k)
{
  double h = MAX (k - fabs (a - b), 0.0) / k;
  return MIN (a, b) - h * h * k * 0.25;
}

static inline double
sd_sphere (const double p[3], const double c[3], double r)
{
  double d[3] = { p[0] - c[0], p[1] - c[1], p[2] - c[2] };
  return sqrt (dot3 (d, d)) - r;
}

/* Exact signed distance to a round cone from a (radius r1) to b (radius r2) — Quilez. */
static double
sd_round_cone (const double p[3], const double a[3], const double b[3], double r1, double r2)
{
  double ba[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
  double pa[3] = { p[0] - a[0], p[1] - a[1], p[2] - a[2] };
  double l2 = dot3 (ba, ba), rr = r1 - r2, a2 = l2 - rr * rr, il2 = 1.0 / l2;
  double y = dot3 (pa, ba), z = y - l2;
  double xv[3] = { pa[0] * l2 - ba[0] * y, pa[1] * l2 - ba[1] * y, pa[2] * l2 - ba[2] * y };
  double x2 = dot3 (xv, xv), y2 = y * y * l2, z2 = z * z * l2;
  double k = (rr > 0 ? 1.0 : rr < 0 ? -1.0 : 0.0) * rr * rr * x2;
  if ((z > 0 ? 1.0 : z < 0 ? -1.0 : 0.0) * a2 * z2 > k)
    return sqrt (x2 + z2) * il2 - r2;
  if ((y > 0 ? 1.0 : y < 0 ? -1.0 : 0.0) * a2 * y2 < k)
    return sqrt (x2 + y2) * il2 - r1;
  return (sqrt (x2 * a2 * il2) + y * rr) * il2 - r1;
}

/* The primitives; world frame of tb-phantom.h (+x lateral, +y anterior, +z proximal). */
static const double shaft_a[3] = { 0, 0, -140 }, shaft_b[3] = { 0, 0, -60 };
static const double shaft_r1 = 13.0, shaft_r2 = 15.0;
static const double meta_b[3] = { 0, 1, -22 };
static const double meta_r2 = 19.0;
static const double gt_a[3] = { 5, -3, -35 }, gt_b[3] = { 11, -5, -6 };
static const double gt_r1 = 13.0, gt_r2 = 10.0;
static const double lt_c[3] = { -11, -10, -46 };
static const double lt_r = 6.0;
static const double neck_r1 = 17.0, neck_r2 = 14.5;
static const double k_neck = 5.0, k_meta = 8.0, k_gt = 6.0, k_lt = 4.0;

/* The periosteal surface without the distal cut: the cortex follows it, so the cut face shows
 * the open medullary canal (where the FE stage fixes the bone). */
double
tb_phantom_shell_sdf (const TbPhantom *ph, const double p[3])
{
  const double *u = ph->neck_axis, *b = ph->neck_base, *h = ph->head_centre;
  double na[3], nb[3];
  for (int d = 0; d < 3; d++)
    {
      na[d] = b[d] + 6.0 * u[d];
      nb[d] = h[d] - 9.0 * u[d];
    }
  double s = smin (sd_sphere (p, h, ph->head_radius), sd_round_cone (p, na, nb, neck_r1, neck_r2), k_neck);
  double shaft = MIN (sd_round_cone (p, shaft_a, shaft_b, shaft_r1, shaft_r2),
                      sd_round_cone (p, shaft_b, meta_b, shaft_r2, meta_r2));
  s = smin (s, shaft, k_meta);
  s = smin (s, sd_round_cone (p, gt_a, gt_b, gt_r1, gt_r2), k_gt);
  return smin (s, sd_sphere (p, lt_c, lt_r), k_lt);
}

double
tb_phantom_sdf (const TbPhantom *ph, const double p[3])
{
  return MAX (tb_phantom_shell_sdf (ph, p), DISTAL_CUT_Z - p[2]);  /* the flat distal cut */
}

/* Cortical thickness (mm): 0.7 on the head, 1.0 on the neck and trochanters, rising to 4.0 on the
 * diaphysis (z from -40 to -80) — the thin-to-thick gradient of the proximal femur. Its gradient
 * is at most 3 * 1.5 / 40 + 0.3 * 1.5 / 5 < 0.25 / mm (TB_PHANTOM_CORTEX_LIPSCHITZ). */
double
tb_phantom_cortex_thickness (const TbPhantom *ph, const double p[3])
{
  double t = 1.0 + 3.0 * smoothstep (40.0, 80.0, -p[2]);
  double s = 0.0;
  for (int d = 0; d < 3; d++)
    s += (p[d] - ph->neck_base[d]) * ph->neck_axis[d];
  double head = smoothstep (ph->neck_length - 20.0, ph->neck_length - 15.0, s);
  return t * (1.0 - head) + 0.7 * head;
}

static inline void
paint (double w[TB_N_REGIONS], TbRegion r, double a)
{
  if (a <= 0.0)
    return;
  for (int i = 0; i < TB_N_REGIONS; i++)
    w[i] *= 1.0 - a;
  w[r] += a;
}

/* smoothstep of an argument x whose Lipschitz constant times the ball radius is lr; clears
 * *konst unless the value is the same everywhere in the ball. */
static inline double
smoothstep_ball (double e0, double e1, double x, double lr, gboolean *konst)
{
  if (x + lr <= e0)
    return 0.0;
  if (x - lr >= e1)
    return 1.0;
  *konst = FALSE;
  return smoothstep (e0, e1, x);
}

/* product of two memberships: constant when both are, or when either is a constant 0 */
static inline double
product_ball (double a, gboolean ka, double b, gboolean kb, gboolean *konst)
{
  if (!((ka && kb) || (ka && a == 0.0) || (kb && b == 0.0)))
    *konst = FALSE;
  return a * b;
}

/* Region weights: layers painted over the intertrochanteric region in order (shaft, greater and
 * lesser trochanter, neck, Ward's triangle, head), each a smooth membership in [0, 1]; the weights
 * sum to 1 and are pure (one weight 1) inside each layer's core, where the VOI presets sit.
 * Returns TRUE when the weights are the same everywhere within `radius` of p (each membership's
 * argument is 1-Lipschitz, Ward's ellipsoid radius 1/6.5-Lipschitz). */
gboolean
tb_phantom_region_weights_ball (const TbPhantom *ph, const double p[3], double radius, double w[TB_N_REGIONS])
{
  gboolean konst = TRUE, k1, k2;
  double r = radius;
  memset (w, 0, sizeof (double) * TB_N_REGIONS);
  w[TB_REGION_INTERTROCHANTER] = 1.0;
  paint (w, TB_REGION_SHAFT, 1.0 - smoothstep_ball (-62.0, -52.0, p[2], r, &konst));
  k1 = k2 = TRUE;
  double gx = smoothstep_ball (9.0, 15.0, p[0], r, &k1), gz = smoothstep_ball (-36.0, -28.0, p[2], r, &k2);
  paint (w, TB_REGION_GREATER_TROCHANTER, product_ball (gx, k1, gz, k2, &konst));
  paint (w, TB_REGION_LESSER_TROCHANTER, 1.0 - smoothstep_ball (5.0, 9.0, sd_sphere (p, lt_c, 0.0), r, &konst));

  double q[3] = { p[0] - ph->neck_base[0], p[1] - ph->neck_base[1], p[2] - ph->neck_base[2] };
  double s = dot3 (q, ph->neck_axis);
  double r2 = dot3 (q, q) - s * s;
  double rperp = sqrt (MAX (r2, 0.0));
  k1 = k2 = TRUE;
  double na = smoothstep_ball (12.0, 18.0, s, r, &k1);
  double nb = 1.0 - smoothstep_ball (17.0, 21.0, rperp, r, &k2);
  paint (w, TB_REGION_NECK, product_ball (na, k1, nb, k2, &konst));

  /* Ward's triangle: an ellipsoid (7 mm along the neck axis, 6.5 mm across) at the neck base */
  double c[3] = { p[0] - ph->wards_centre[0], p[1] - ph->wards_centre[1], p[2] - ph->wards_centre[2] };
  double ca = dot3 (c, ph->neck_axis);
  double cr2 = MAX (dot3 (c, c) - ca * ca, 0.0);
  double qe = sqrt (ca * ca / (7.0 * 7.0) + cr2 / (6.5 * 6.5));
  paint (w, TB_REGION_WARDS, 1.0 - smoothstep_ball (0.7, 1.05, qe, r / 6.5, &konst));

  paint (w, TB_REGION_HEAD, smoothstep_ball (ph->neck_length - 20.0, ph->neck_length - 15.0, s, r, &konst));
  return konst;
}

void
tb_phantom_region_weights (const TbPhantom *ph, const double p[3], double w[TB_N_REGIONS])
{
  tb_phantom_region_weights_ball (ph, p, 0.0, w);
}

TbRegion
tb_phantom_region_from_weights (const double w[TB_N_REGIONS])
{
  int best = TB_REGION_HEAD;
  for (int i = TB_REGION_HEAD; i < TB_N_REGIONS; i++)
    if (w[i] > w[best])
      best = i;
  return (TbRegion) best;
}

/* A point on the surface: bisection along a ray from an inside point to an outside point. */
static void
surface_point (const TbPhantom *ph, const double inside[3], const double outside[3], double out[3])
{
  double a = 0.0, b = 1.0;
  for (int it = 0; it < 60; it++)
    {
      double m = 0.5 * (a + b), p[3];
      for (int d = 0; d < 3; d++)
        p[d] = inside[d] + m * (outside[d] - inside[d]);
      if (tb_phantom_sdf (ph, p) <= 0.0)
        a = m;
      else
        b = m;
    }
  for (int d = 0; d < 3; d++)
    out[d] = inside[d] + a * (outside[d] - inside[d]);
}

static void
set_voi (TbPhantomVoi *v, const char *name, const char *label, TbRegion region,
         const double c[3], double target)
{
  v->name = name;
  v->label = label;
  v->region = region;
  memcpy (v->centre, c, sizeof v->centre);
  v->size[0] = v->size[1] = v->size[2] = 5.0;
  v->target_bvtv = target;
}

void
tb_phantom_anatomy_init (TbPhantom *ph)
{
  double nsa = NECK_SHAFT_ANGLE * G_PI / 180.0, av = ANTEVERSION * G_PI / 180.0;
  /* angle(neck axis, distal shaft axis -z) = neck-shaft angle; anteversion turns it anteriorly */
  double u[3] = { -sin (nsa) * cos (av), sin (nsa) * sin (av), -cos (nsa) };
  memcpy (ph->neck_axis, u, sizeof u);
  ph->neck_length = NECK_LENGTH;
  ph->head_radius = HEAD_RADIUS;
  double base[3] = { 0.0, 0.0, NECK_BASE_Z };
  memcpy (ph->neck_base, base, sizeof base);
  for (int d = 0; d < 3; d++)
    ph->head_centre[d] = base[d] + NECK_LENGTH * u[d];
  /* Ward's triangle: 10 mm up the neck axis, 3 mm towards the inferior (calcar) side */
  double inf[3] = { -u[2], 0.0, u[0] };  /* in the frontal plane, normal to u, downwards */
  double ni = sqrt (dot3 (inf, inf));
  for (int d = 0; d < 3; d++)
    ph->wards_centre[d] = base[d] + 10.0 * u[d] + 3.0 * inf[d] / ni;

  /* Bounding box: union of the primitives' boxes, grown by k/4 (the most a smooth union adds). */
  double lo[3], hi[3];
  for (int d = 0; d < 3; d++)
    {
      double na = base[d] + 6.0 * u[d], nb = ph->head_centre[d] - 9.0 * u[d];
      lo[d] = MIN (MIN (shaft_a[d] - shaft_r1, meta_b[d] - meta_r2), ph->head_centre[d] - HEAD_RADIUS);
      hi[d] = MAX (MAX (shaft_a[d] + shaft_r1, meta_b[d] + meta_r2), ph->head_centre[d] + HEAD_RADIUS);
      lo[d] = MIN (lo[d], MIN (na - neck_r1, nb - neck_r2));
      hi[d] = MAX (hi[d], MAX (na + neck_r1, nb + neck_r2));
      lo[d] = MIN (lo[d], MIN (gt_a[d] - gt_r1, gt_b[d] - gt_r2));
      hi[d] = MAX (hi[d], MAX (gt_a[d] + gt_r1, gt_b[d] + gt_r2));
      lo[d] = MIN (lo[d], lt_c[d] - lt_r);
      hi[d] = MAX (hi[d], lt_c[d] + lt_r);
      lo[d] -= (k_neck + k_meta + k_gt + k_lt) * 0.25;
      hi[d] += (k_neck + k_meta + k_gt + k_lt) * 0.25;
    }
  lo[2] = DISTAL_CUT_Z;
  memcpy (ph->bone_lo, lo, sizeof lo);
  memcpy (ph->bone_hi, hi, sizeof hi);

  /* Landmarks */
  TbFemurLandmarks *lm = &ph->landmarks;
  memcpy (lm->head_centre, ph->head_centre, sizeof lm->head_centre);
  lm->head_radius = HEAD_RADIUS;
  double gt_in[3] = { gt_b[0], gt_b[1], gt_b[2] };   /* abductor insertion: superolateral GT */
  double gt_out[3] = { gt_b[0] + 40.0 * 0.5, gt_b[1], gt_b[2] + 40.0 * 0.866 };
  surface_point (ph, gt_in, gt_out, lm->greater_trochanter);
  lm->shaft_axis[0] = 0.0; lm->shaft_axis[1] = 0.0; lm->shaft_axis[2] = 1.0;
  lm->shaft_distal[0] = 0.0; lm->shaft_distal[1] = 0.0; lm->shaft_distal[2] = DISTAL_CUT_Z;
  lm->frontal_normal[0] = 0.0; lm->frontal_normal[1] = 1.0; lm->frontal_normal[2] = 0.0;
  memcpy (lm->neck_axis, u, sizeof lm->neck_axis);

  /* VOI presets of paper 000, each 5 mm and wholly inside its region's pure core */
  double c[3];
  set_voi (&ph->vois[0], "head", "Femoral head", TB_REGION_HEAD, ph->head_centre, 0.29);
  for (int d = 0; d < 3; d++)
    c[d] = base[d] + 25.0 * u[d];
  set_voi (&ph->vois[1], "neck", "Femoral neck", TB_REGION_NECK, c, 0.18);
  set_voi (&ph->vois[2], "wards", "Ward's triangle", TB_REGION_WARDS, ph->wards_centre, 0.09);
  double it[3] = { 2.0, -2.0, -40.0 };
  set_voi (&ph->vois[3], "intertrochanter", "Intertrochanteric", TB_REGION_INTERTROCHANTER, it, 0.13);
}
