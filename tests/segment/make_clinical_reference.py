#!/usr/bin/python3
"""Reference bone segmentation of the clinical CT (../shared/data/clinical_ct/example_ct.nii.gz, 3 mm),
written to tests/segment/data/clinical_ct_reference.nii.gz, against which test-segment-clinical scores
Trabecula's complementary segmentation. It uses none of Trabecula's code: SciPy and scikit-image
(Debian python3-scipy 1.10, python3-skimage 0.19) and the hand-placed geometry below, each value
taken from measurements on this image or from looking at its slices (tests/segment/data/README.md).

usage: make_clinical_reference.py CT.nii.gz OUT.nii.gz

Labels: 0 background; 1 other bone (pelvis, sacrum, lumbar spine, ribs); 2 the femur at high x (the
patient's left); 3 the femur at low x (the patient's right, with the screws); 255 not judged (metal
and its streaks), left out of every comparison.

1. Bone by hysteresis: seeds are the voxels >= 200 HU (about half-way between muscle, 30-40 HU, and
   the 250-500 HU that cortex reaches in 3 mm voxels); the region is every voxel of the 3x3x3-median-
   filtered image >= 85 HU 26-connected to a seed (half-way between muscle and the 100-160 HU medians
   of the lumbar vertebral bodies, the least dense bone here; the median filter takes the noise in
   muscle from SD 18 to SD 9 HU (a gluteal patch), so muscle stays 5 SD below 85 HU).
2. Marrow: cavities enclosed in 3D filled, then per axial slice the enclosed holes of up to 100 voxels
   (9 cm^2: fatty marrow of the femoral neck and of the iliac wings; the pelvic cavity, which an axial
   slice can see enclosed, is thousands).
3. Components under 50 voxels (1.35 cm^3) dropped: vessel calcifications (up to 30 voxels, 1100-1400
   HU, beside the aorta and iliac arteries); the smallest rib segments kept have 100 voxels and more.
4. Femora apart from the pelvis. At 3 mm the hip joint space (two cartilage layers, 4-5 mm) is at
   most a voxel of partial volume, so step 1 joins head and acetabulum. Each femoral head was fitted
   by eye with a sphere (axial slices 7-22 and coronal slices 37-53: the head's outline and its dome);
   the neck axis is the line from the head centre through the centroid of the bone 8-12 voxels along
   it (three iterations). Markers: the femur = the bone within R - 0.75 of the head centre, and the
   femoral shaft's cross-section in the lowest two slices (box by eye); other bone = everything at
   z >= 26 (above both acetabular roofs), the pubic symphysis (box), and, around each head, the bone
   between R + 1.75 and 13 voxels from its centre outside a 6-voxel cylinder about the neck (the
   acetabulum). A watershed of the median image, inverted and clipped at 500 HU (so that the screws'
   3000 HU do not lead the flood), assigns the rest: the femur/acetabulum boundary falls in the
   darkest surface of the 2.5-voxel band left between the markers.
5. Not judged (255): voxels >= 2000 HU (the screws) and everything within 3 voxels of them (streaks).
"""
import gzip
import struct
import sys
import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

SEED_HU, GROW_HU, MAX_HOLE_2D, MIN_COMPONENT = 200.0, 85.0, 100, 50
METAL_HU, METAL_MARGIN, CLIP_HU = 2000.0, 3, 500.0
# per hip: label, head centre (x, y, z voxels), head radius R, neck axis from the head, shaft box
# (x0, x1, y0, y1, z0, z1, inclusive)
HIPS = ((2, (85.5, 45.0, 13.25), 6.75, (0.604, -0.091, -0.792), (84, 104, 36, 52, 0, 1)),
        (3, (30.0, 45.5, 14.5), 7.0, (-0.52, -0.14, -0.84), (8, 30, 28, 52, 0, 1)))
ABOVE_ROOFS_Z, SYMPHYSIS = 26, (45, 72, 45, 62, 0, 3)
IN_MARGIN, OUT_MARGIN, ACETABULUM_OUTER, NECK_RADIUS = 0.75, 1.75, 13.0, 6.0


def read_nifti(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    nx, ny, nz = struct.unpack("<3h", raw[42:48])
    dt = struct.unpack("<h", raw[70:72])[0]
    off = int(struct.unpack("<f", raw[108:112])[0])
    slope, inter = struct.unpack("<2f", raw[112:120])
    types = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 512: np.uint16}
    a = np.frombuffer(raw[off:], dtype=types[dt], count=nx * ny * nz).reshape(nz, ny, nx).astype(np.float32)
    return a * (slope if slope != 0 else 1) + inter, raw[:348]


def write_nifti_u8(path, header, labels):
    h = bytearray(header)
    h[70:72] = struct.pack("<h", 2)              # datatype uint8
    h[72:74] = struct.pack("<h", 8)              # bitpix
    h[108:112] = struct.pack("<f", 352.0)        # vox_offset
    h[112:120] = struct.pack("<2f", 1.0, 0.0)    # scl_slope, scl_inter
    h[124:132] = struct.pack("<2f", 255.0, 0.0)  # cal_max, cal_min
    # no name and mtime 0 in the gzip header: the same bytes on every run
    with open(path, "wb") as out, gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as f:
        f.write(bytes(h) + b"\0\0\0\0" + labels.astype(np.uint8).tobytes())


def main():
    ct, header = read_nifti(sys.argv[1])
    med = ndimage.median_filter(ct, size=3)
    full = np.ones((3, 3, 3), bool)

    lab, n = ndimage.label(med >= GROW_HU, full)                                   # 1
    seeded = np.zeros(n + 1, bool)
    seeded[np.unique(lab[(ct >= SEED_HU) & (lab > 0)])] = True
    seeded[0] = False
    bone = seeded[lab]

    bone = ndimage.binary_fill_holes(bone)                                        # 2
    for z in range(bone.shape[0]):
        holes, m = ndimage.label(ndimage.binary_fill_holes(bone[z]) & ~bone[z])
        if m:
            small = np.bincount(holes.ravel()) <= MAX_HOLE_2D
            small[0] = False
            bone[z] |= small[holes]

    lab, n = ndimage.label(bone, full)                                            # 3
    size = np.bincount(lab.ravel())
    big = size >= MIN_COMPONENT
    big[0] = False
    print("step 3: %d components, %d under %d voxels dropped (%d voxels)"
          % (n, (~big[1:]).sum(), MIN_COMPONENT, size[1:][~big[1:]].sum()))
    bone = big[lab]

    zz, yy, xx = np.indices(ct.shape)                                              # 4

    def box(b):
        return (xx >= b[0]) & (xx <= b[1]) & (yy >= b[2]) & (yy <= b[3]) & (zz >= b[4]) & (zz <= b[5])

    markers = np.zeros(ct.shape, np.int32)
    markers[bone & ((zz >= ABOVE_ROOFS_Z) | box(SYMPHYSIS))] = 1
    femur_markers = []
    for label, c, radius, neck, shaft in HIPS:
        v = np.stack([xx - c[0], yy - c[1], zz - c[2]], -1)
        d = np.linalg.norm(v, axis=-1)
        e = np.array(neck) / np.linalg.norm(neck)
        t = v @ e
        perp = np.linalg.norm(v - t[..., None] * e, axis=-1)
        in_neck = (t > 0) & (perp < NECK_RADIUS)
        markers[bone & (d >= radius + OUT_MARGIN) & (d <= ACETABULUM_OUTER) & ~in_neck] = 1
        femur_markers.append((label, bone & ((d <= radius - IN_MARGIN) | box(shaft))))
    for label, m in femur_markers:
        markers[m] = label
    labels = watershed(-np.minimum(med, CLIP_HU), markers=markers, mask=bone, connectivity=3).astype(np.uint8)

    ignore = ndimage.binary_dilation(ct >= METAL_HU, full, iterations=METAL_MARGIN)  # 5
    labels[ignore] = 255
    for label in (1, 2, 3):
        print("label %d: %d voxels" % (label, (labels == label).sum()))
    print("not judged: %d voxels (%d of them bone)" % (ignore.sum(), (ignore & bone).sum()))
    # how much one voxel layer weighs at 3 mm: the Dice of the reference with itself less one layer
    judged = (labels > 0) & (labels < 255)
    eroded = ndimage.binary_erosion(bone, ndimage.generate_binary_structure(3, 1)) & ~ignore
    print("Dice (reference, reference eroded by one 6-connected layer): %.3f"
          % (2 * (judged & eroded).sum() / (judged.sum() + eroded.sum())))
    write_nifti_u8(sys.argv[2], header, labels)


if __name__ == "__main__":
    main()
