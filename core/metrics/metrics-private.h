/* metrics-private.h — the argument checks PSNR and SSIM share (not public). */
#pragma once

#include "tb-metrics.h"

gboolean tb_metrics_check_pair (const TbVolume *a, const TbVolume *b, double data_range,
                                const TbMask *mask, GError **error);
