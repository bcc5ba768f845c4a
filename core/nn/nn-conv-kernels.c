/* nn-conv-kernels.c — the inner loop of the direct convolution (nn-conv.c), for AVX-512, AVX2 + FMA
 * and plain C, picked once by what the CPU has; TB_NN_KERNELS=avx512|avx2|generic picks one (tests
 * run each that the CPU has). Each kernel computes, for mr output channels m and the columns q in
 * [0, nq) rounded up to its width,
 *     y[m ldy + q] = bias[m] + sum over k = 0 .. K-1, in order, of w[k mr + m] * x[off[k] + q]
 * (then max (y, 0) if relu): the same operations for every column, whichever lane or call it is in.
 * The vector kernels fuse each multiply-add (one rounding), the plain one rounds twice; a process
 * uses one set throughout, so its results do not depend on how an image is cut. */
#include "nn-private.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_X86 1
#endif

#define KERNEL_ARGS int K, const float *w, const float *bias, const float *x, const int *off, int nq, \
                    float *y, gsize ldy, gboolean relu

/* Plain C: blocks of 16 columns; the compiler vectorizes what the target allows. */
static inline __attribute__ ((always_inline)) void
kernel_c (const int MR, KERNEL_ARGS)
{
  for (int q = 0; q < nq; q += 16)
    {
      float acc[4][16];
      for (int m = 0; m < MR; m++)
        for (int j = 0; j < 16; j++)
          acc[m][j] = 0.0f;
      for (int k = 0; k < K; k++)
        {
          const float *s = x + off[k] + q;
          for (int m = 0; m < MR; m++)
            {
              float wk = w[k * MR + m];
              for (int j = 0; j < 16; j++)
                {
                  float p = wk * s[j];
                  acc[m][j] = acc[m][j] + p;
                }
            }
        }
      for (int m = 0; m < MR; m++)
        for (int j = 0; j < 16; j++)
          {
            float v = acc[m][j] + bias[m];
            y[m * ldy + q + j] = relu ? (v > 0.0f ? v : 0.0f) : v;
          }
    }
}

/* -ffp-contract would fuse the multiply and add above on targets that have FMA; off keeps the plain
 * kernel's rounding the same whatever the compiler targets. */
#pragma GCC push_options
#pragma GCC optimize ("fp-contract=off")
static void kernel_c1 (KERNEL_ARGS) { kernel_c (1, K, w, bias, x, off, nq, y, ldy, relu); }
static void kernel_c2 (KERNEL_ARGS) { kernel_c (2, K, w, bias, x, off, nq, y, ldy, relu); }
static void kernel_c4 (KERNEL_ARGS) { kernel_c (4, K, w, bias, x, off, nq, y, ldy, relu); }
#pragma GCC pop_options

#ifdef NN_X86
/* AVX-512: MR channels x NV vectors of 16 columns of accumulators (8 x 2 = 16 of the 32 registers). */
#define AVX512 __attribute__ ((target ("avx512f")))
static inline __attribute__ ((always_inline)) AVX512 void
kernel_avx512 (const int MR, const int NV, KERNEL_ARGS)
{
  const __m512 zero = _mm512_setzero_ps ();
  for (int q = 0; q < nq; q += 16 * NV)
    {
      __m512 acc[8][4];
#pragma GCC unroll 8
      for (int m = 0; m < MR; m++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
          acc[m][v] = zero;
      for (int k = 0; k < K; k++)
        {
          const float *s = x + off[k] + q;
          __m512 b[4];
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            b[v] = _mm512_loadu_ps (s + 16 * v);
#pragma GCC unroll 8
          for (int m = 0; m < MR; m++)
            {
              __m512 wk = _mm512_set1_ps (w[k * MR + m]);
#pragma GCC unroll 4
              for (int v = 0; v < NV; v++)
                acc[m][v] = _mm512_fmadd_ps (wk, b[v], acc[m][v]);
            }
        }
#pragma GCC unroll 8
      for (int m = 0; m < MR; m++)
        {
          __m512 bm = _mm512_set1_ps (bias[m]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            {
              __m512 r = _mm512_add_ps (acc[m][v], bm);
              if (relu)
                r = _mm512_max_ps (r, zero);   /* r > 0 ? r : 0, like the ReLU layer */
              _mm512_storeu_ps (y + m * ldy + q + 16 * v, r);
            }
        }
    }
}

static AVX512 void kernel_avx512_1 (KERNEL_ARGS) { kernel_avx512 (1, 4, K, w, bias, x, off, nq, y, ldy, relu); }
static AVX512 void kernel_avx512_2 (KERNEL_ARGS) { kernel_avx512 (2, 4, K, w, bias, x, off, nq, y, ldy, relu); }
static AVX512 void kernel_avx512_4 (KERNEL_ARGS) { kernel_avx512 (4, 4, K, w, bias, x, off, nq, y, ldy, relu); }
static AVX512 void kernel_avx512_8 (KERNEL_ARGS) { kernel_avx512 (8, 2, K, w, bias, x, off, nq, y, ldy, relu); }

/* AVX2 + FMA: 16 registers of 8 floats; 4 channels x 2 vectors of accumulators. */
#define AVX2 __attribute__ ((target ("avx2,fma")))
static inline __attribute__ ((always_inline)) AVX2 void
kernel_avx2 (const int MR, const int NV, KERNEL_ARGS)
{
  const __m256 zero = _mm256_setzero_ps ();
  for (int q = 0; q < nq; q += 8 * NV)
    {
      __m256 acc[4][4];
#pragma GCC unroll 4
      for (int m = 0; m < MR; m++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
          acc[m][v] = zero;
      for (int k = 0; k < K; k++)
        {
          const float *s = x + off[k] + q;
          __m256 b[4];
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            b[v] = _mm256_loadu_ps (s + 8 * v);
#pragma GCC unroll 4
          for (int m = 0; m < MR; m++)
            {
              __m256 wk = _mm256_broadcast_ss (w + k * MR + m);
#pragma GCC unroll 4
              for (int v = 0; v < NV; v++)
                acc[m][v] = _mm256_fmadd_ps (wk, b[v], acc[m][v]);
            }
        }
#pragma GCC unroll 4
      for (int m = 0; m < MR; m++)
        {
          __m256 bm = _mm256_broadcast_ss (bias + m);
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            {
              __m256 r = _mm256_add_ps (acc[m][v], bm);
              if (relu)
                r = _mm256_max_ps (r, zero);
              _mm256_storeu_ps (y + m * ldy + q + 8 * v, r);
            }
        }
    }
}

static AVX2 void kernel_avx2_1 (KERNEL_ARGS) { kernel_avx2 (1, 4, K, w, bias, x, off, nq, y, ldy, relu); }
static AVX2 void kernel_avx2_2 (KERNEL_ARGS) { kernel_avx2 (2, 4, K, w, bias, x, off, nq, y, ldy, relu); }
static AVX2 void kernel_avx2_4 (KERNEL_ARGS) { kernel_avx2 (4, 2, K, w, bias, x, off, nq, y, ldy, relu); }
#endif

static const NnConvKernels kernels_c = { "generic", 4, { NULL, kernel_c1, kernel_c2, NULL, kernel_c4 } };
#ifdef NN_X86
static const NnConvKernels kernels_avx2 = {
  "avx2", 4, { NULL, kernel_avx2_1, kernel_avx2_2, NULL, kernel_avx2_4 } };
static const NnConvKernels kernels_avx512 = {
  "avx512", 8, { NULL, kernel_avx512_1, kernel_avx512_2, NULL, kernel_avx512_4, NULL, NULL, NULL, kernel_avx512_8 } };
#endif

/* The sets this CPU can run, best first. */
static int
available (const NnConvKernels **sets)
{
  int n = 0;
#ifdef NN_X86
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f"))
    sets[n++] = &kernels_avx512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    sets[n++] = &kernels_avx2;
#endif
  sets[n++] = &kernels_c;
  return n;
}

static const NnConvKernels *chosen;

const NnConvKernels *
nn_conv_kernels (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      const NnConvKernels *sets[3];
      int n = available (sets);
      chosen = sets[0];
      const char *want = g_getenv ("TB_NN_KERNELS");
      if (want != NULL && *want != '\0')
        {
          chosen = NULL;
          for (int i = 0; i < n; i++)
            if (strcmp (sets[i]->name, want) == 0)
              chosen = sets[i];
          if (chosen == NULL)
            {
              g_warning ("TB_NN_KERNELS=%s: not one this CPU runs; using %s", want, sets[0]->name);
              chosen = sets[0];
            }
        }
      g_once_init_leave (&once, 1);
    }
  return chosen;
}

const char *
tb_nn_kernels_name (void)
{
  return nn_conv_kernels ()->name;
}

gboolean
tb_nn_set_kernels (const char *name)
{
  nn_conv_kernels ();
  const NnConvKernels *sets[3];
  int n = available (sets);
  for (int i = 0; i < n; i++)
    if (strcmp (sets[i]->name, name) == 0)
      {
        chosen = sets[i];
        return TRUE;
      }
  return FALSE;
}
