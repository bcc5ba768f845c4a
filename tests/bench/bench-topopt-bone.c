/* bench-topopt-bone.c — the bone problem on the phantom's four VOI presets (paper 000):
 * 5 mm cubes, 0.625 mm clinical voxels, n = 8 -> 78 um. For each VOI: constraints at the end,
 * BV/TV of the result vs the truth at 78 um, SSIM and Tb.Th error against the truth, both for TO and
 * for the baseline "trilinear upscale + BV/TV-preserving threshold"; time per iteration and split.
 * The load cases are the localized FE's (the case): the phantom's whole-bone QCT solved once
 * under the three hip cases (coarsened x2, as the demo), each VOI cut out with its boundary forces.
 * TB_BENCH_LOADS=stress uses hip-direction apparent stresses on the VOI's faces instead (the CI
 * test's loads); TB_BENCH_COARSEN sets the whole-bone coarsening.
 *   bench-topopt-bone [N [ITERATIONS [EDGE_MM [VOI...]]]]   (defaults 8 80 0 = preset size, all four) */
#include "tb-runtime.h"
#include <stdlib.h>
#include "topopt/topopt-phantom-case.h"

int
main (int argc, char **argv)
{
  tb_runtime_init (argv);
  int n = argc > 1 ? atoi (argv[1]) : 8;
  setvbuf (stdout, NULL, _IOLBF, 0);
  int iterations = argc > 2 ? atoi (argv[2]) : 80;
  double edge = argc > 3 ? atof (argv[3]) : 0;
  const char *all[] = { "head", "neck", "wards", "intertrochanter" };
  const char **vois = argc > 4 ? (const char **) argv + 4 : all;
  int n_vois = argc > 4 ? argc - 4 : 4;

  g_autoptr(GError) error = NULL;
  TbPhantomParams pp;
  tb_phantom_params_init (&pp);
  g_autoptr(TbPhantom) ph = tb_phantom_new (&pp, &error);
  g_assert_no_error (error);
  TbTopoptSettings base;
  tb_topopt_settings_init (&base, TB_TOPOPT_BONE);
  /* experiments: TB_TO_<SETTING> overrides a default (see tb-topopt.h for their meaning) */
#define OVERRIDE(field, name, conv) \
  if (g_getenv ("TB_TO_" name) != NULL) base.field = conv (g_getenv ("TB_TO_" name));
  OVERRIDE (beta, "BETA", atof) OVERRIDE (beta_max, "BETA_MAX", atof) OVERRIDE (beta_every, "BETA_EVERY", atoi)
  OVERRIDE (rmin, "RMIN", atof) OVERRIDE (eps1, "EPS1", atof) OVERRIDE (eps2, "EPS2", atof)
  OVERRIDE (penal, "PENAL", atof) OVERRIDE (n_levels, "LEVELS", atoi) OVERRIDE (move, "MOVE", atof)
  OVERRIDE (bw_ramp, "BW_RAMP", atoi) OVERRIDE (eta, "ETA", atof) OVERRIDE (fe_rtol, "FE_RTOL", atof)
#undef OVERRIDE

  printf ("Bone problem on the phantom: n = %d (%.0f um), max %d iterations, defaults: levels %d, eps1 %g, "
          "eps2 %g, p %g, rmin %g, move %g, bw_ramp %d, beta %g (max %g, every %d)\n", n,
          1000 * pp.clinical_spacing / n, iterations, base.n_levels, base.eps1, base.eps2, base.penal, base.rmin,
          base.move, base.bw_ramp, base.beta, base.beta_max, base.beta_every);
  gboolean localized = g_strcmp0 (g_getenv ("TB_BENCH_LOADS"), "stress") != 0;
  int coarsen = g_getenv ("TB_BENCH_COARSEN") != NULL ? atoi (g_getenv ("TB_BENCH_COARSEN")) : 2;
  CaseWholeBone wb = { 0 };
  double total = 0;
  if (localized)
    {
      if (!case_whole_bone_init (ph, coarsen, &wb, &error))
        g_error ("whole-bone FE: %s", error->message);
      total += wb.seconds;
      printf ("Loads: localized FE, whole bone coarsened x%d (QCT + FE %.1f s)\n", coarsen, wb.seconds);
    }
  else
    printf ("Loads: hip-direction apparent stresses on the VOI faces\n");
  printf ("| VOI | iters | state | g_bmd_0 | g_bw | g_mass | rho0 mean | BV/TV truth | BV/TV TO | BV/TV base | SSIM TO | SSIM base "
          "| Tb.Th truth | Tb.Th TO | Tb.Th base | s/iter | last iteration: FE | filter | sens | update (s) |\n");
  printf ("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  CaseResult res[8];
  for (int v = 0; v < n_vois && v < 8; v++)
    {
      CaseSettings cs = { vois[v], edge, n, iterations, TRUE };
      CaseResult *r = &res[v];
      if (!case_run (ph, &cs, localized ? &wb : NULL, &base, r, &error))
        {
          printf ("| %s | failed: %s |\n", vois[v], error->message);
          g_clear_error (&error);
          continue;
        }
      total += r->seconds;
      printf ("| %s | %d | %s | %+.5f | %+.4f | %+.5f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f "
              "| %.2f | %.2f | %.3f | %.3f | %.3f |\n",
              vois[v], r->iterations, r->state == TB_TOPOPT_INFEASIBLE ? "infeasible" : r->state == TB_TOPOPT_CONVERGED ? "converged" : "max-iter",
              r->g[0], r->g[base.n_levels], r->g[r->n_g - 1], r->rho0_mean, r->bvtv_truth, r->bvtv_to, r->bvtv_base, r->ssim_to, r->ssim_base,
              r->tbth_truth, r->tbth_to, r->tbth_base, r->s_per_it, r->t_fe, r->t_filter, r->t_sens, r->t_update);
      fflush (stdout);
    }
  printf ("Total time %.1f s, whole-bone FE included (target: whole four-VOI run <= 1200 s)\n", total);
  case_whole_bone_clear (&wb);
  return 0;
}
