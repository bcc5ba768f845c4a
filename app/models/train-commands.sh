#!/bin/sh
# The exact commands that made app/models/srresnet2d-x8.safetensors (run from the project root after
# `meson setup build && ninja -C build`). Wall times are from the shared 2-core machine (load 10-20).
set -e
CLI=build/app/cli/trabecula-cli
DATA=${DATA:-/tmp/trabecula-pairs-x8}
RUN=${RUN:-/tmp/trabecula-run-x8}

# 1. Pairs: phantom truth at 78 µm in the six trabecular regions (one random block per region and seed),
#    degraded by tb_phantom_degrade (box integration, 1 mm PSF, 20 HU noise, calibration) to 0.625 mm.
#    576 training pairs (seeds 1, 2), 288 validation pairs (held-out seed 101). ~3 min.
nice -n 5 $CLI make_pairs --out "$DATA" --train-seeds 1-2 --val-seeds 101 --blocks-per-region 1 \
    --slices 8 --patches-per-slice 6 --supersample 1

# 2. Training: L2 loss, 40 epochs x 36 steps of 16 pairs, AdamW 2e-3 cosine to 1e-5, one thread. ~33 min.
nice -n 5 $CLI train --data "$DATA" --out "$RUN" --arch srresnet --features 16 --blocks 3 --scale 8 \
    --loss l2 --epochs 40 --batch 16 --lr 2e-3 --lr-min 1e-5 --weight-decay 1e-4 --clip 1 --seed 1 -j 1 \
    --max-minutes 38
cp "$RUN/model.safetensors" app/models/srresnet2d-x8.safetensors

# 3. Quality: held-out phantom seeds 201, 202 (four VOIs each) and the degraded micro-CT. ~9 min.
build/tests/nn/nn-evaluate app/models/srresnet2d-x8.safetensors 201 202 \
    --microct ../shared/data/microct/LHDL_3155_D_4_bc_uint8_200x200x200_19.5um.tif
