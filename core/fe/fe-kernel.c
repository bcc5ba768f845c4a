/* fe-kernel.c — y = K x on the fine voxel grid, element by element and matrix-free.
 *
 * Every element's stiffness is E_e K0 with one reference K0, so the work is a batched small matrix
 * product: for each element, 24x24 (8x8 in 2D) multiply-adds. That is where an FE solve spends most of
 * its time, so it gets a hand-vectorized path: W consecutive elements along x are processed at once,
 * one element per SIMD lane ("element-in-lane"). Their node values are contiguous in memory (the DOFs
 * of nodes base..base+W-1 are interleaved x,y,z), so loading them is three plain vector loads and a
 * de-interleave by permutes, and K0 x_e becomes 576 fused multiply-adds with K0 entries broadcast from
 * L1 into 24 accumulators that stay in registers. No library offers this (BLAS would need the element
 * vectors gathered into a matrix first, which costs as much as the product here), hence our own code.
 *
 * The AVX-512 path is chosen at run time; other CPUs use the portable scalar rows, which give the same
 * sums in a different order (results agree to rounding).
 */
#include "fe-private.h"

#include <string.h>

/* ---- portable rows ---- */

/* One row of elements (ey, ez), ex = ex0..nx-1: y += E_e K0 x_e, for dim 2 (quad4) or 3 (hex8), a
 * constant at each call so the loops unroll. K0 is symmetric, so column q of K0 is row q: accumulating
 * columns keeps nke independent sums. */
static inline __attribute__ ((always_inline)) void
row_scalar (const int dim, const double *K0, const double *E, const gsize off[8], gsize base, int ex0, int nx,
            const double *x, double *y)
{
  const int nen = dim == 3 ? 8 : 4, nke = nen * dim;
  base += ex0;
  for (int ex = ex0; ex < nx; ex++, base++)
    {
      if (E[ex] == 0)
        continue;  /* empty space (Emin = 0 outside a bone): no stiffness, no work */
      double xe[24], ye[24];
      for (int b = 0; b < nen; b++)
        for (int c = 0; c < dim; c++)
          xe[b * dim + c] = x[(base + off[b]) * dim + c];
      for (int r = 0; r < nke; r++)
        ye[r] = 0;
      for (int q = 0; q < nke; q++)
        {
          const double xq = xe[q], *col = K0 + q * nke;
          for (int r = 0; r < nke; r++)
            ye[r] += col[r] * xq;
        }
      const double Ee = E[ex];
      for (int b = 0; b < nen; b++)
        for (int c = 0; c < dim; c++)
          y[(base + off[b]) * dim + c] += Ee * ye[b * dim + c];
    }
}

/* ---- AVX-512: 8 elements per vector ---- */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TB_HAVE_AVX512_PATH 1
typedef double v8d __attribute__ ((vector_size (64)));
typedef long long v8i __attribute__ ((vector_size (64)));
#define AVX512 __attribute__ ((target ("avx512f"), always_inline)) static inline

AVX512 v8d
ld (const double *p)
{
  v8d v;
  memcpy (&v, p, sizeof v);
  return v;
}

AVX512 void
st (double *p, v8d v)
{
  memcpy (p, &v, sizeof v);
}

/* p holds 8 nodes' (x, y, z): 24 doubles -> the 8 x's, y's, z's */
AVX512 void
deinterleave3 (const double *p, v8d *X, v8d *Y, v8d *Z)
{
  v8d a = ld (p), b = ld (p + 8), c = ld (p + 16);
  v8d x1 = __builtin_shuffle (a, b, (v8i) { 0, 3, 6, 9, 12, 15, 0, 0 });
  v8d y1 = __builtin_shuffle (a, b, (v8i) { 1, 4, 7, 10, 13, 0, 0, 0 });
  v8d z1 = __builtin_shuffle (a, b, (v8i) { 2, 5, 8, 11, 14, 0, 0, 0 });
  *X = __builtin_shuffle (x1, c, (v8i) { 0, 1, 2, 3, 4, 5, 10, 13 });
  *Y = __builtin_shuffle (y1, c, (v8i) { 0, 1, 2, 3, 4, 8, 11, 14 });
  *Z = __builtin_shuffle (z1, c, (v8i) { 0, 1, 2, 3, 4, 9, 12, 15 });
}

/* p[0..24) += interleave (X, Y, Z) */
AVX512 void
add_interleaved3 (double *p, v8d X, v8d Y, v8d Z)
{
  /* a = x0 y0 z0 x1 y1 z1 x2 y2 ; b = z2 x3 y3 z3 x4 y4 z4 x5 ; c = y5 z5 x6 y6 z6 x7 y7 z7 */
  v8d xy = __builtin_shuffle (X, Y, (v8i) { 0, 8, 0, 1, 9, 0, 2, 10 });
  v8d a = __builtin_shuffle (xy, Z, (v8i) { 0, 1, 8, 3, 4, 9, 6, 7 });
  v8d zx = __builtin_shuffle (Z, X, (v8i) { 2, 11, 0, 3, 12, 0, 4, 13 });
  v8d b = __builtin_shuffle (zx, Y, (v8i) { 0, 1, 11, 3, 4, 12, 6, 7 });
  v8d yz = __builtin_shuffle (Y, Z, (v8i) { 5, 13, 0, 6, 14, 0, 7, 15 });
  v8d c = __builtin_shuffle (yz, X, (v8i) { 0, 1, 14, 3, 4, 15, 6, 7 });
  st (p, ld (p) + a);
  st (p + 8, ld (p + 8) + b);
  st (p + 16, ld (p + 16) + c);
}

AVX512 void
deinterleave2 (const double *p, v8d *X, v8d *Y)
{
  v8d a = ld (p), b = ld (p + 8);
  *X = __builtin_shuffle (a, b, (v8i) { 0, 2, 4, 6, 8, 10, 12, 14 });
  *Y = __builtin_shuffle (a, b, (v8i) { 1, 3, 5, 7, 9, 11, 13, 15 });
}

AVX512 void
add_interleaved2 (double *p, v8d X, v8d Y)
{
  v8d a = __builtin_shuffle (X, Y, (v8i) { 0, 8, 1, 9, 2, 10, 3, 11 });
  v8d b = __builtin_shuffle (X, Y, (v8i) { 4, 12, 5, 13, 6, 14, 7, 15 });
  st (p, ld (p) + a);
  st (p + 8, ld (p + 8) + b);
}

__attribute__ ((target ("avx512f")))
static int
row_3d_avx512 (const double *K0, const double *E, const gsize off[8], gsize base, int nx,
               const double *x, double *y)
{
  int ex = 0;
  for (; ex + 8 <= nx; ex += 8)
    {
      v8d Ev = ld (E + ex);
      if (Ev[0] == 0 && Ev[1] == 0 && Ev[2] == 0 && Ev[3] == 0 && Ev[4] == 0 && Ev[5] == 0 && Ev[6] == 0
          && Ev[7] == 0)
        continue;
      v8d xv[24], acc[24];
      for (int b = 0; b < 8; b++)
        deinterleave3 (x + (base + ex + off[b]) * 3, &xv[3 * b], &xv[3 * b + 1], &xv[3 * b + 2]);
#pragma GCC unroll 24
      for (int r = 0; r < 24; r++)
        acc[r] = xv[0] * K0[r];
      for (int q = 1; q < 24; q++)
        {
          const double *col = K0 + q * 24;  /* K0 symmetric: column q = row q */
#pragma GCC unroll 24
          for (int r = 0; r < 24; r++)
            acc[r] += xv[q] * col[r];
        }
      for (int b = 0; b < 8; b++)
        add_interleaved3 (y + (base + ex + off[b]) * 3, acc[3 * b] * Ev, acc[3 * b + 1] * Ev, acc[3 * b + 2] * Ev);
    }
  return ex;
}

__attribute__ ((target ("avx512f")))
static int
row_2d_avx512 (const double *K0, const double *E, const gsize off[8], gsize base, int nx,
               const double *x, double *y)
{
  int ex = 0;
  for (; ex + 8 <= nx; ex += 8)
    {
      v8d Ev = ld (E + ex);
      v8d xv[8], acc[8];
      for (int b = 0; b < 4; b++)
        deinterleave2 (x + (base + ex + off[b]) * 2, &xv[2 * b], &xv[2 * b + 1]);
#pragma GCC unroll 8
      for (int r = 0; r < 8; r++)
        acc[r] = xv[0] * K0[r];
#pragma GCC unroll 8
      for (int q = 1; q < 8; q++)
        {
          const double *col = K0 + q * 8;
#pragma GCC unroll 8
          for (int r = 0; r < 8; r++)
            acc[r] += xv[q] * col[r];
        }
      for (int b = 0; b < 4; b++)
        add_interleaved2 (y + (base + ex + off[b]) * 2, acc[2 * b] * Ev, acc[2 * b + 1] * Ev);
    }
  return ex;
}

/* ---- AVX-512 in single precision: 16 elements per vector ----
 *
 * For the multigrid smoother (fe-multigrid.c): a preconditioner needs a few digits, not sixteen, and
 * the product K0 x_e in float runs 16 elements per vector instead of 8. The vectors stay double (the
 * CG and the transfers are unchanged): node values are rounded to float on load and the element
 * forces widened back to double before they are added, so sums over the elements meeting at a node
 * are still formed in double. This is how matrix-free multigrid is run in deal.II (Kronbichler &
 * Ljungkvist 2019: single-precision V-cycle inside a double CG, the same iteration counts). */

#include <immintrin.h>

#define AVX512F __attribute__ ((target ("avx512f"), always_inline)) static inline

/* two 8-float halves -> one 16-float vector */
AVX512F __m512
join8 (__m256 lo, __m256 hi)
{
  return _mm512_castpd_ps (_mm512_insertf64x4 (_mm512_castps_pd (_mm512_castps256_ps512 (lo)),
                                               _mm256_castps_pd (hi), 1));
}

/* 16 doubles (two vectors) from p, rounded to float */
AVX512F __m512
ld16 (const double *p)
{
  return join8 (_mm512_cvtpd_ps (_mm512_loadu_pd (p)), _mm512_cvtpd_ps (_mm512_loadu_pd (p + 8)));
}

/* p[0..16) += v, widened to double */
AVX512F void
add16 (double *p, __m512 v)
{
  __m512d lo = _mm512_cvtps_pd (_mm512_castps512_ps256 (v));
  __m512d hi = _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (v), 1)));
  _mm512_storeu_pd (p, _mm512_add_pd (_mm512_loadu_pd (p), lo));
  _mm512_storeu_pd (p + 8, _mm512_add_pd (_mm512_loadu_pd (p + 8), hi));
}

/* lanes of out = lanes i of the concatenation (a, b) (i < 16: a, else b) */
#define PERM2(a, idx, b) _mm512_permutex2var_ps ((a), (idx), (b))

/* p holds 16 nodes' (x, y, z) as 48 doubles -> the 16 x's, y's, z's in float */
AVX512F void
deinterleave3_f (const double *p, __m512 *X, __m512 *Y, __m512 *Z)
{
  __m512 a = ld16 (p), b = ld16 (p + 16), c = ld16 (p + 32);
  /* a: x0 y0 z0 .. x5 (16), b: y5 z5 .. , c: .. z15; take every third element */
  const __m512i ix1 = _mm512_setr_epi32 (0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0);
  const __m512i iy1 = _mm512_setr_epi32 (1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0);
  const __m512i iz1 = _mm512_setr_epi32 (2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0);
  const __m512i ix2 = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29);
  const __m512i iy2 = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30);
  const __m512i iz2 = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31);
  *X = PERM2 (PERM2 (a, ix1, b), ix2, c);
  *Y = PERM2 (PERM2 (a, iy1, b), iy2, c);
  *Z = PERM2 (PERM2 (a, iz1, b), iz2, c);
}

/* p[0..48) += interleave (X, Y, Z), widened to double */
AVX512F void
add_interleaved3_f (double *p, __m512 X, __m512 Y, __m512 Z)
{
  /* out a = x0 y0 z0 x1 .. x5 (lanes 0..15 of the interleaved stream), b = lanes 16..31, c = 32..47;
   * stream lane s holds component s % 3 of node s / 3 */
  const __m512i ia1 = _mm512_setr_epi32 (0, 16, 0, 1, 17, 0, 2, 18, 0, 3, 19, 0, 4, 20, 0, 5);
  const __m512i ia2 = _mm512_setr_epi32 (0, 1, 16, 3, 4, 17, 6, 7, 18, 9, 10, 19, 12, 13, 20, 15);
  const __m512i ib1 = _mm512_setr_epi32 (5, 0, 22, 6, 0, 23, 7, 0, 24, 8, 0, 25, 9, 0, 26, 10);
  const __m512i ib2 = _mm512_setr_epi32 (0, 21, 2, 3, 22, 5, 6, 23, 8, 9, 24, 11, 12, 25, 14, 15);
  const __m512i ic1 = _mm512_setr_epi32 (0, 11, 27, 0, 12, 28, 0, 13, 29, 0, 14, 30, 0, 15, 31, 0);
  const __m512i ic2 = _mm512_setr_epi32 (26, 1, 2, 27, 4, 5, 28, 7, 8, 29, 10, 11, 30, 13, 14, 31);
  __m512 a = PERM2 (PERM2 (X, ia1, Y), ia2, Z);
  /* b = y5 z5 x6 y6 z6 .. y10 (Y first), c = z10 x11 y11 .. z15 (X first) */
  __m512 b = PERM2 (PERM2 (Y, ib1, X), ib2, Z);
  __m512 c = PERM2 (PERM2 (X, ic1, Y), ic2, Z);
  add16 (p, a);
  add16 (p + 16, b);
  add16 (p + 32, c);
}

AVX512F void
deinterleave2_f (const double *p, __m512 *X, __m512 *Y)
{
  __m512 a = ld16 (p), b = ld16 (p + 16);
  *X = PERM2 (a, _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  *Y = PERM2 (a, _mm512_setr_epi32 (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
}

AVX512F void
add_interleaved2_f (double *p, __m512 X, __m512 Y)
{
  add16 (p, PERM2 (X, _mm512_setr_epi32 (0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), Y));
  add16 (p + 16, PERM2 (X, _mm512_setr_epi32 (8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), Y));
}

/* one row, 16 elements at a time; dim 3 or 2 (constant at each call); K0f: K0 in float */
AVX512F int
row_f_impl (const int dim, const float *K0f, const double *E, const gsize off[8], gsize base, int nx,
            const double *x, double *y)
{
  const int nen = dim == 3 ? 8 : 4, nke = nen * dim;
  int ex = 0;
  for (; ex + 16 <= nx; ex += 16)
    {
      __m512d e0 = _mm512_loadu_pd (E + ex), e1 = _mm512_loadu_pd (E + ex + 8);
      if (_mm512_cmpneq_pd_mask (e0, _mm512_setzero_pd ()) == 0 && _mm512_cmpneq_pd_mask (e1, _mm512_setzero_pd ()) == 0)
        continue;
      __m512 Ev = join8 (_mm512_cvtpd_ps (e0), _mm512_cvtpd_ps (e1));
      __m512 xv[24], acc[24];
      for (int b = 0; b < nen; b++)
        if (dim == 3)
          deinterleave3_f (x + (base + ex + off[b]) * 3, &xv[3 * b], &xv[3 * b + 1], &xv[3 * b + 2]);
        else
          deinterleave2_f (x + (base + ex + off[b]) * 2, &xv[2 * b], &xv[2 * b + 1]);
#pragma GCC unroll 24
      for (int r = 0; r < nke; r++)
        acc[r] = _mm512_mul_ps (xv[0], _mm512_set1_ps (K0f[r]));
      for (int q = 1; q < nke; q++)
        {
          const float *col = K0f + q * nke;
#pragma GCC unroll 24
          for (int r = 0; r < nke; r++)
            acc[r] = _mm512_fmadd_ps (xv[q], _mm512_set1_ps (col[r]), acc[r]);
        }
      for (int b = 0; b < nen; b++)
        if (dim == 3)
          add_interleaved3_f (y + (base + ex + off[b]) * 3, _mm512_mul_ps (acc[3 * b], Ev),
                              _mm512_mul_ps (acc[3 * b + 1], Ev), _mm512_mul_ps (acc[3 * b + 2], Ev));
        else
          add_interleaved2_f (y + (base + ex + off[b]) * 2, _mm512_mul_ps (acc[2 * b], Ev),
                              _mm512_mul_ps (acc[2 * b + 1], Ev));
    }
  return ex;
}

__attribute__ ((target ("avx512f")))
static int
row_3d_avx512_f (const float *K0f, const double *E, const gsize off[8], gsize base, int nx, const double *x, double *y)
{
  return row_f_impl (3, K0f, E, off, base, nx, x, y);
}

__attribute__ ((target ("avx512f")))
static int
row_2d_avx512_f (const float *K0f, const double *E, const gsize off[8], gsize base, int nx, const double *x, double *y)
{
  return row_f_impl (2, K0f, E, off, base, nx, x, y);
}

/* out[ex] = x_e^T K0 x_e for 8 elements at a time; returns the first element not done */
AVX512 int
energy_row_impl (const double *K0, const int nke, const gsize off[8], gsize base, int nx, const double *x, double *out)
{
  int ex = 0;
  for (; ex + 8 <= nx; ex += 8)
    {
      v8d xv[24], acc[24];
      if (nke == 24)
        for (int b = 0; b < 8; b++)
          deinterleave3 (x + (base + ex + off[b]) * 3, &xv[3 * b], &xv[3 * b + 1], &xv[3 * b + 2]);
      else
        for (int b = 0; b < 4; b++)
          deinterleave2 (x + (base + ex + off[b]) * 2, &xv[2 * b], &xv[2 * b + 1]);
      for (int r = 0; r < nke; r++)
        acc[r] = xv[0] * K0[r];
      for (int q = 1; q < nke; q++)
        {
          const double *col = K0 + q * nke;
          for (int r = 0; r < nke; r++)
            acc[r] += xv[q] * col[r];
        }
      v8d e = acc[0] * xv[0];
      for (int r = 1; r < nke; r++)
        e += acc[r] * xv[r];
      st (out + ex, e);
    }
  return ex;
}

__attribute__ ((target ("avx512f")))
static int
energy_row_avx512 (const double *K0, int nke, const gsize off[8], gsize base, int nx, const double *x, double *out)
{
  return nke == 24 ? energy_row_impl (K0, 24, off, base, nx, x, out) : energy_row_impl (K0, 8, off, base, nx, x, out);
}
#endif

/* the processor runs AVX-512F and TB_FE_NO_SIMD is unset: the one switch for every AVX-512 FE path
 * (these kernels and the AVX-512 build of fe-multigrid.c) */
gboolean
tb_fe_cpu_avx512 (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  static int have = -1;
  if (have < 0)
    {
      __builtin_cpu_init ();
      have = __builtin_cpu_supports ("avx512f") && g_getenv ("TB_FE_NO_SIMD") == NULL;
    }
  return have;
#else
  return FALSE;
#endif
}

static gboolean
use_avx512 (void)
{
#ifdef TB_HAVE_AVX512_PATH
  return tb_fe_cpu_avx512 ();
#else
  return FALSE;
#endif
}

/* y = K x element by element. Races are avoided by slabs: the outermost element axis is cut into an
 * even number of chunks; even chunks run in parallel, then odd ones (chunks of one parity share no node).
 * E holds the per-element moduli. With erange and act (fe-private.h), rows are walked only where they
 * hold elements with stiffness and y is zeroed only on the active entries: a whole bone's box is mostly
 * air. */
void
tb_fe_apply_kernel_active (const TbFeModel *m, const double *E, const int *erange, const TbFeActive *act,
                           gboolean single, const double *x, double *y, int n_threads)
{
  const int dim = m->dim, nen = m->nen;
  const int nx = m->n[0], ny = m->n[1];
  const gsize nnx = m->nn[0], nny = m->nn[1];
  gsize off[8];
  for (int a = 0; a < nen; a++)
    off[a] = (a & 1) + nnx * (((a >> 1) & 1) + nny * ((a >> 2) & 1));
  int nt = n_threads > 0 ? n_threads : omp_get_max_threads ();
  gboolean simd = use_avx512 ();
  int vw = simd && single ? 16 : 8;  /* elements per vector */
  float K0f[24 * 24];
  for (int i = 0; i < m->nke * m->nke; i++)
    K0f[i] = (float) m->K0[i];
  /* slabs along z in 3D, along y in 2D; rows are (ey, ez) pairs */
  int ns = dim == 3 ? m->n[2] : ny;
  int nchunks = MIN (ns, 8 * nt);
  nchunks = MAX (2, nchunks - (nchunks & 1));
#pragma omp parallel num_threads(nt)
  {
    if (act != NULL)
      {
#pragma omp for schedule(static)
        TB_FE_ACTIVE_FOR (act, d)
          y[d] = 0;
      }
    else
      {
#pragma omp for schedule(static)
        for (gsize d = 0; d < m->n_dofs; d++)
          y[d] = 0;
      }
    for (int phase = 0; phase < 2; phase++)
      {
#pragma omp for schedule(dynamic, 1)
        for (int c = phase; c < nchunks; c += 2)
          {
            int s0 = (int) ((gint64) ns * c / nchunks), s1 = (int) ((gint64) ns * (c + 1) / nchunks);
            for (int s = s0; s < s1; s++)
              {
                int ey0 = dim == 3 ? 0 : s, ey1 = dim == 3 ? ny : s + 1, ez = dim == 3 ? s : 0;
                for (int ey = ey0; ey < ey1; ey++)
                  {
                    gsize r = (gsize) ey + (gsize) ny * ez;
                    int lo = erange != NULL ? erange[2 * r] : 0, hi = erange != NULL ? erange[2 * r + 1] : nx;
                    if (lo >= hi)
                      continue;
                    if (simd && erange != NULL)
                      {
                        /* whole vectors (elements outside [lo, hi) have E = 0 and add zeros),
                         * rather than a scalar remainder at 5x the cost per element */
                        int w = (hi - lo + vw - 1) / vw * vw;
                        if (w > nx)
                          w = (hi - lo + 7) / 8 * 8;
                        if (w <= nx)
                          {
                            lo = MIN (lo, nx - w);
                            hi = lo + w;
                          }
                      }
                    gsize base = nnx * ((gsize) ey + nny * (gsize) ez) + lo;
                    const double *Er = E + (gsize) nx * r + lo;
                    int done = 0;
#ifdef TB_HAVE_AVX512_PATH
                    if (simd && single)
                      done = dim == 3 ? row_3d_avx512_f (K0f, Er, off, base, hi - lo, x, y)
                                      : row_2d_avx512_f (K0f, Er, off, base, hi - lo, x, y);
                    if (simd)
                      done += dim == 3 ? row_3d_avx512 (m->K0, Er + done, off, base + done, hi - lo - done, x, y)
                                       : row_2d_avx512 (m->K0, Er + done, off, base + done, hi - lo - done, x, y);
#endif
                    if (dim == 3)
                      row_scalar (3, m->K0, Er, off, base, done, hi - lo, x, y);
                    else
                      row_scalar (2, m->K0, Er, off, base, done, hi - lo, x, y);
                  }
              }
          }
      }
  }
  (void) simd;
  (void) K0f;
  if (m->spring == NULL)
    return;
  if (act != NULL)
    {
#pragma omp parallel for schedule(static) num_threads(nt)
      TB_FE_ACTIVE_FOR (act, d)
        y[d] += m->spring[d] * x[d];
    }
  else
    for (gsize d = 0; d < m->n_dofs; d++)
      y[d] += m->spring[d] * x[d];
}

void
tb_fe_apply_kernel (const TbFeModel *m, const double *E, const double *x, double *y, int n_threads)
{
  tb_fe_apply_kernel_active (m, E, NULL, NULL, FALSE, x, y, n_threads);
}

/* ---- active entries ---- */

#define SPAN_CUT 4096  /* longest span kept whole: shares of a dense grid balance to within this */

void
tb_fe_active_build (TbFeActiveBuf *b, const TbFeSpan *spans, gsize n_spans, int n_part)
{
  tb_fe_active_clear (b);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (TbFeSpan));
  gsize total = 0;
  for (gsize i = 0; i < n_spans; )
    {
      TbFeSpan t = spans[i++];
      while (i < n_spans && spans[i].lo == t.hi)
        t.hi = spans[i++].hi;
      for (gsize lo = t.lo; lo < t.hi; lo += SPAN_CUT)
        {
          TbFeSpan c = { lo, MIN (t.hi, lo + SPAN_CUT) };
          g_array_append_val (out, c);
          total += c.hi - c.lo;
        }
    }
  n_part = MAX (n_part, 1);
  b->part = g_new (gsize, n_part + 1);
  b->part[0] = 0;
  gsize s = 0, acc = 0;
  for (int t = 1; t < n_part; t++)
    {
      while (s < out->len && acc + (g_array_index (out, TbFeSpan, s).hi - g_array_index (out, TbFeSpan, s).lo) / 2
                               < total * t / n_part)
        {
          acc += g_array_index (out, TbFeSpan, s).hi - g_array_index (out, TbFeSpan, s).lo;
          s++;
        }
      b->part[t] = s;
    }
  b->part[n_part] = out->len;
  b->a.n_span = out->len;
  b->a.n_active = total;
  b->a.n_part = n_part;
  b->span = (TbFeSpan *) g_array_free (out, FALSE);
  b->a.span = b->span;
  b->a.part = b->part;
}

void
tb_fe_active_clear (TbFeActiveBuf *b)
{
  g_free (b->span);
  g_free (b->part);
  memset (b, 0, sizeof *b);
}

/* out_e = u_e^T K0 u_e (unit-modulus element energy, times 2), every element */
void
tb_fe_energy_kernel (const TbFeModel *m, const double *u, double *out)
{
  const int dim = m->dim, nen = m->nen, nke = m->nke;
  const int nx = m->n[0], ny = m->n[1], nz = m->n[2];
  const gsize nnx = m->nn[0], nny = m->nn[1];
  gsize off[8];
  for (int a = 0; a < nen; a++)
    off[a] = (a & 1) + nnx * (((a >> 1) & 1) + nny * ((a >> 2) & 1));
  gboolean simd = use_avx512 ();
#pragma omp parallel for collapse(2) schedule(static)
  for (int ez = 0; ez < nz; ez++)
    for (int ey = 0; ey < ny; ey++)
      {
        gsize base = nnx * ((gsize) ey + nny * (gsize) ez);
        double *o = out + (gsize) nx * ((gsize) ey + (gsize) ny * ez);
        int ex = 0;
#ifdef TB_HAVE_AVX512_PATH
        if (simd)
          ex = energy_row_avx512 (m->K0, nke, off, base, nx, u, o);
#endif
        for (; ex < nx; ex++)
          {
            double ue[24], s = 0;
            for (int b = 0; b < nen; b++)
              for (int c = 0; c < dim; c++)
                ue[b * dim + c] = u[(base + ex + off[b]) * dim + c];
            for (int a = 0; a < nke; a++)
              {
                double t = 0;
                for (int b = 0; b < nke; b++)
                  t += m->K0[a * nke + b] * ue[b];
                s += ue[a] * t;
              }
            o[ex] = s;
          }
      }
  (void) simd;
}
