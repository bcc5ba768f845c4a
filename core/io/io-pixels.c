/* io-pixels.c — stored pixel values to float32: one tight typed loop per type, no per-voxel calls. */
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

/* Unaligned loads through memcpy (the compiler makes them plain moves); swap when asked. */
#define CONVERT(CTYPE, UTYPE, SWAP)                                                \
  G_STMT_START {                                                                   \
    const guint8 *s = src;                                                         \
    for (gsize i = 0; i < n; i++)                                                  \
      {                                                                            \
        UTYPE u;                                                                   \
        memcpy (&u, s + i * sizeof (UTYPE), sizeof (UTYPE));                       \
        if (swap)                                                                  \
          u = SWAP (u);                                                            \
        CTYPE c;                                                                   \
        memcpy (&c, &u, sizeof c);                                                 \
        dst[i] = scaled ? (float) (slope * (double) c + inter) : (float) c;        \
      }                                                                            \
  } G_STMT_END

#define NOSWAP(u) (u)

static inline guint64
swap64 (guint64 u)
{
  return GUINT64_SWAP_LE_BE (u);
}

void
tb_io_pixels_to_float (const void *src, TbIoPixelType type, gsize n, gboolean swap,
                       double slope, double inter, float *dst)
{
  const gboolean scaled = !(slope == 1.0 && inter == 0.0);
  switch (type)
    {
    case TB_IO_PIXEL_UINT8: CONVERT (guint8, guint8, NOSWAP); break;
    case TB_IO_PIXEL_INT8: CONVERT (gint8, guint8, NOSWAP); break;
    case TB_IO_PIXEL_UINT16: CONVERT (guint16, guint16, GUINT16_SWAP_LE_BE); break;
    case TB_IO_PIXEL_INT16: CONVERT (gint16, guint16, GUINT16_SWAP_LE_BE); break;
    case TB_IO_PIXEL_UINT32: CONVERT (guint32, guint32, GUINT32_SWAP_LE_BE); break;
    case TB_IO_PIXEL_INT32: CONVERT (gint32, guint32, GUINT32_SWAP_LE_BE); break;
    case TB_IO_PIXEL_FLOAT32: CONVERT (float, guint32, GUINT32_SWAP_LE_BE); break;
    case TB_IO_PIXEL_FLOAT64: CONVERT (double, guint64, swap64); break;
    default: g_return_if_reached ();
    }
}
