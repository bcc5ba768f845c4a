/* io-pixels.c — stored pixel values to float32: one tight loop per type and per case (swapped or
 * not, scaled or not), so the compiler vectorizes it; no per-voxel calls or branches. */
#include "io-private.h"

#include <string.h>

gsize
tb_io_pixel_size (TbIoPixelType type)
{
  switch (type)
    {
    case TB_IO_PIXEL_UINT8: case TB_IO_PIXEL_INT8: return 1;
    case TB_IO_PIXEL_UINT16: case TB_IO_PIXEL_INT16: return 2;
    case TB_IO_PIXEL_UINT32: case TB_IO_PIXEL_INT32: case TB_IO_PIXEL_FLOAT32: return 4;
    case TB_IO_PIXEL_FLOAT64: return 8;
    default: return 0;
    }
}

static inline guint8 swap8 (guint8 u) { return u; }
static inline guint16 swap16 (guint16 u) { return GUINT16_SWAP_LE_BE (u); }
static inline guint32 swap32 (guint32 u) { return GUINT32_SWAP_LE_BE (u); }
static inline guint64 swap64 (guint64 u) { return GUINT64_SWAP_LE_BE (u); }

/* Loads go through memcpy (plain moves once compiled) so unaligned buffers are fine. Single
 * threaded on purpose: the loop is memory-bound, and OpenMP threads on a busy machine cost more
 * than they gain (measured in bench-io). */
#define LOOP(CTYPE, UTYPE, SWAPF, DO_SWAP, SCALED)                                 \
  for (gsize i = 0; i < n; i++)                                                    \
    {                                                                              \
      UTYPE u;                                                                     \
      memcpy (&u, s + i * sizeof (UTYPE), sizeof (UTYPE));                         \
      if (DO_SWAP)                                                                 \
        u = SWAPF (u);                                                             \
      CTYPE c;                                                                     \
      memcpy (&c, &u, sizeof c);                                                   \
      dst[i] = SCALED ? (float) (slope * (double) c + inter) : (float) c;          \
    }

#define CONVERT(CTYPE, UTYPE, SWAPF)                                               \
  G_STMT_START {                                                                   \
    const guint8 *s = src;                                                         \
    if (!swap && !scaled) { LOOP (CTYPE, UTYPE, SWAPF, 0, 0) }                     \
    else if (!swap) { LOOP (CTYPE, UTYPE, SWAPF, 0, 1) }                           \
    else if (!scaled) { LOOP (CTYPE, UTYPE, SWAPF, 1, 0) }                         \
    else { LOOP (CTYPE, UTYPE, SWAPF, 1, 1) }                                      \
  } G_STMT_END

void
tb_io_pixels_to_float (const void *src, TbIoPixelType type, gsize n, gboolean swap,
                       double slope, double inter, float *dst)
{
  const gboolean scaled = !(slope == 1.0 && inter == 0.0);
  switch (type)
    {
    case TB_IO_PIXEL_UINT8: CONVERT (guint8, guint8, swap8); break;
    case TB_IO_PIXEL_INT8: CONVERT (gint8, guint8, swap8); break;
    case TB_IO_PIXEL_UINT16: CONVERT (guint16, guint16, swap16); break;
    case TB_IO_PIXEL_INT16: CONVERT (gint16, guint16, swap16); break;
    case TB_IO_PIXEL_UINT32: CONVERT (guint32, guint32, swap32); break;
    case TB_IO_PIXEL_INT32: CONVERT (gint32, guint32, swap32); break;
    case TB_IO_PIXEL_FLOAT32: CONVERT (float, guint32, swap32); break;
    case TB_IO_PIXEL_FLOAT64: CONVERT (double, guint64, swap64); break;
    default: g_return_if_reached ();
    }
}
