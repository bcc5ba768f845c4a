/* fe-element.c — the one reference element: trilinear hex8 / bilinear quad4 on an h0 x h1 (x h2)
 * box, full Gauss integration (2x2x2 / 2x2), isotropic linear elasticity (plane stress in 2D). */
#include "fe-private.h"

#include <math.h>
#include <string.h>

void
tb_fe_element_constitutive (int dim, double E, double nu, double D[36])
{
  memset (D, 0, 36 * sizeof (double));
  if (dim == 2)
    {
      /* plane stress, strain order xx, yy, gamma_xy */
      double c = E / (1.0 - nu * nu);
      /* stride 6, as in 3D */
      D[0] = c; D[1] = c * nu; D[6] = c * nu; D[7] = c; D[14] = c * (1.0 - nu) / 2.0;
      return;
    }
  /* strain order xx, yy, zz, gamma_xy, gamma_yz, gamma_xz */
  double lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu));
  double mu = E / (2.0 * (1.0 + nu));
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      D[a * 6 + b] = lam + (a == b ? 2.0 * mu : 0.0);
  for (int a = 3; a < 6; a++)
    D[a * 6 + a] = mu;
}

/* B at natural point xi (in [-1,1]^dim); local node a = ax + 2 ay + 4 az. */
static void
strain_matrix (int dim, const double h[3], const double xi[3], double *B)
{
  int nen = dim == 2 ? 4 : 8, nke = nen * dim, nstr = dim == 2 ? 3 : 6;
  memset (B, 0, (gsize) nstr * nke * sizeof (double));
  for (int a = 0; a < nen; a++)
    {
      double s[3] = { (a & 1) ? 1 : -1, (a & 2) ? 1 : -1, (a & 4) ? 1 : -1 };
      double d[3];
      if (dim == 2)
        {
          d[0] = s[0] * (1 + s[1] * xi[1]) / 4.0 * 2.0 / h[0];
          d[1] = s[1] * (1 + s[0] * xi[0]) / 4.0 * 2.0 / h[1];
          B[0 * nke + 2 * a] = d[0];
          B[1 * nke + 2 * a + 1] = d[1];
          B[2 * nke + 2 * a] = d[1];
          B[2 * nke + 2 * a + 1] = d[0];
          continue;
        }
      d[0] = s[0] * (1 + s[1] * xi[1]) * (1 + s[2] * xi[2]) / 8.0 * 2.0 / h[0];
      d[1] = s[1] * (1 + s[0] * xi[0]) * (1 + s[2] * xi[2]) / 8.0 * 2.0 / h[1];
      d[2] = s[2] * (1 + s[0] * xi[0]) * (1 + s[1] * xi[1]) / 8.0 * 2.0 / h[2];
      B[0 * nke + 3 * a] = d[0];
      B[1 * nke + 3 * a + 1] = d[1];
      B[2 * nke + 3 * a + 2] = d[2];
      B[3 * nke + 3 * a] = d[1];
      B[3 * nke + 3 * a + 1] = d[0];
      B[4 * nke + 3 * a + 1] = d[2];
      B[4 * nke + 3 * a + 2] = d[1];
      B[5 * nke + 3 * a] = d[2];
      B[5 * nke + 3 * a + 2] = d[0];
    }
}

void
tb_fe_element_strain_centre (int dim, const double h[3], double B[6 * 24])
{
  double xi[3] = { 0, 0, 0 };
  strain_matrix (dim, h, xi, B);
}

void
tb_fe_element_stiffness (int dim, const double h[3], double nu, double thickness, double *K0)
{
  int nen = dim == 2 ? 4 : 8, nke = nen * dim, nstr = dim == 2 ? 3 : 6, ngp = dim == 2 ? 4 : 8;
  double D[36], B[6 * 24], DB[6 * 24];
  tb_fe_element_constitutive (dim, 1.0, nu, D);
  /* constant Jacobian: det J = volume / 2^dim, Gauss weights 1 */
  double detJ = dim == 2 ? h[0] * h[1] / 4.0 * thickness : h[0] * h[1] * h[2] / 8.0;
  double g = 1.0 / sqrt (3.0);
  memset (K0, 0, (gsize) nke * nke * sizeof (double));
  for (int q = 0; q < ngp; q++)
    {
      double xi[3] = { (q & 1) ? g : -g, (q & 2) ? g : -g, (q & 4) ? g : -g };
      strain_matrix (dim, h, xi, B);
      for (int r = 0; r < nstr; r++)
        for (int c = 0; c < nke; c++)
          {
            double s = 0;
            for (int k = 0; k < nstr; k++)
              s += D[r * 6 + k] * B[k * nke + c];
            DB[r * nke + c] = s;
          }
      for (int a = 0; a < nke; a++)
        for (int b = 0; b < nke; b++)
          {
            double s = 0;
            for (int k = 0; k < nstr; k++)
              s += B[k * nke + a] * DB[k * nke + b];
            K0[a * nke + b] += s * detJ;
          }
    }
  /* exact symmetry (the sums above are symmetric up to rounding) */
  for (int a = 0; a < nke; a++)
    for (int b = a + 1; b < nke; b++)
      {
        double s = 0.5 * (K0[a * nke + b] + K0[b * nke + a]);
        K0[a * nke + b] = K0[b * nke + a] = s;
      }
}
