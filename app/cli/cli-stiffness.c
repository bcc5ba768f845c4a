/* cli-stiffness.c — `trabecula-cli stiffness`: apparent stiffness of a VOI by FE homogenization. */
#include "tb-cli.h"
#include "io/tb-io.h"
#include "morpho/tb-morpho.h"

#include <math.h>

int
tb_cli_stiffness (int argc, char **argv)
{
  double threshold = NAN;
  TbStiffnessSettings s;
  tb_stiffness_settings_init (&s);
  gboolean two_d = FALSE;
  GOptionEntry entries[] = {
    { "threshold", 't', 0, G_OPTION_ARG_DOUBLE, &threshold, "Bone = voxels > T (else: a binary image, or densities in [0,1])", "T" },
    { "E0", 0, 0, G_OPTION_ARG_DOUBLE, &s.e0, "Tissue modulus in MPa (default 15000)", "MPA" },
    { "nu", 0, 0, G_OPTION_ARG_DOUBLE, &s.nu, "Poisson's ratio (default 0.3)", "NU" },
    { "2d", 0, 0, G_OPTION_ARG_NONE, &two_d, "Plane stress on the first slice: Ex, Ey, Gxy", NULL },
    { "tolerance", 0, 0, G_OPTION_ARG_DOUBLE, &s.tolerance, "Solver relative residual (default 1e-9)", "TOL" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("VOLUME — apparent stiffness of a VOI (kinematic boundary conditions)");
  g_option_context_set_summary (ctx,
    "Six unit strains (three in 2D) imposed as affine displacements on the VOI boundary; the mean\n"
    "stress from the reactions gives the apparent stiffness matrix C (MPa, Voigt order xx yy zz yz zx xy,\n"
    "engineering shear), and its inverse the moduli E1..E3, G23, G31, G12 and Poisson's ratios.\n"
    "Material: E = Emin + (E0 - Emin) rho^3 per voxel (SIMP), Emin = 1e-6 E0.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!tb_cli_parse (ctx, &argc, &argv))
    return TB_CLI_USAGE;
  if (argc != 2)
    return tb_cli_usage ("stiffness", "expected one VOLUME");
  s.two_d = two_d;

  g_autoptr(GError) error = NULL;
  g_autoptr(TbVolume) v = tb_io_read (argv[1], NULL, NULL, NULL, &error);
  if (v == NULL)
    return tb_cli_fail ("stiffness", error);
  gsize n = tb_volume_n_voxels (v);
  if (!isnan (threshold))
    {
      for (gsize i = 0; i < n; i++)
        v->data[i] = v->data[i] > threshold ? 1.0f : 0.0f;
    }
  else
    {
      /* a binary image (0/1, 0/255, 0/127) becomes 0/1; anything else must be densities in [0,1] */
      g_autoptr(TbMask) m = tb_morpho_binarize (v, NULL);
      if (m != NULL)
        for (gsize i = 0; i < n; i++)
          v->data[i] = m->data[i] ? 1.0f : 0.0f;
    }
  TbStiffnessResult r;
  if (!tb_morpho_stiffness (v, &s, &r, NULL, tb_cli_progress, NULL, &error))
    return tb_cli_fail ("stiffness", error);

  const gboolean d2 = two_d || v->nz == 1;
  const int nc = d2 ? 3 : 6;
  g_print ("Apparent stiffness C (MPa), %s:\n", d2 ? "plane stress, order xx yy xy" : "order xx yy zz yz zx xy");
  for (int i = 0; i < nc; i++)
    {
      for (int j = 0; j < nc; j++)
        g_print (" %12.6g", r.c[i * nc + j]);
      g_print ("\n");
    }
  if (d2)
    {
      g_print ("Ex   %12.6g MPa  apparent Young's modulus along x (1/S11)\n", r.e[0]);
      g_print ("Ey   %12.6g MPa  apparent Young's modulus along y (1/S22)\n", r.e[1]);
      g_print ("Gxy  %12.6g MPa  apparent shear modulus (1/S33)\n", r.g[2]);
      g_print ("nuxy %12.6g      Poisson's ratio (-S21/S11)\n", r.nu[0]);
    }
  else
    {
      static const char *gn[3] = { "G23", "G31", "G12" };
      static const char *nn[6] = { "nu12", "nu13", "nu23", "nu21", "nu31", "nu32" };
      for (int i = 0; i < 3; i++)
        g_print ("E%d   %12.6g MPa  apparent Young's modulus along axis %d (1/S%d%d)\n", i + 1, r.e[i], i + 1, i + 1, i + 1);
      for (int i = 0; i < 3; i++)
        g_print ("%-4s %12.6g MPa  apparent shear modulus (1/S%d%d)\n", gn[i], r.g[i], i + 4, i + 4);
      for (int i = 0; i < 6; i++)
        g_print ("%-4s %12.6g      Poisson's ratio (-Sji/Sii)\n", nn[i], r.nu[i]);
    }
  return TB_CLI_OK;
}
