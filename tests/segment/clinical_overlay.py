#!/usr/bin/python3
"""The clinical CT's segmentation beside the reference, as one PNG (docs/clinical-ct-segmentation.png):
  clinical_overlay.py CT.nii.gz OURS.nii.gz REFERENCE.nii.gz OUT.png
OURS: Trabecula's labels (trabecula-cli segment CT OURS.nii.gz); REFERENCE: tests/segment/data/
clinical_ct_reference.nii.gz. Top row a coronal slice through both femoral heads (y = 45, z <= 40),
bottom row an axial one (z = 15); left ours, right the reference. Our objects at the two head points
of test-segment-clinical.c are red (high x) and blue (low x), all other objects green, with a white
line where two objects meet; the reference's femora likewise, its metal zone (not judged) yellow.
Bone window -200..1200 HU, superior up, x to the right. Needs numpy, scipy and PIL."""
import sys
import numpy as np
from PIL import Image, ImageDraw
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from make_clinical_reference import read_nifti

HEADS = ((86, 44, 15), (28, 44, 17))   # x, y, z
COLOURS = {1: (60, 210, 60), 2: (255, 60, 60), 3: (70, 130, 255), 255: (255, 230, 0)}
ZOOM = 4


def classes(ours):
    """Our labels as the reference's classes: 2 / 3 the head objects, 1 any other object."""
    out = np.where(ours > 0, 1, 0).astype(np.int32)
    for cls, (x, y, z) in zip((2, 3), HEADS):
        if ours[z, y, x] > 0:
            out[ours == ours[z, y, x]] = cls
    return out


def panel(ct, cls, objects, title):
    g = np.clip((ct + 200) / 1400, 0, 1) * 255
    rgb = np.stack([g, g, g], -1)
    for c, col in COLOURS.items():
        m = cls == c
        rgb[m] = 0.55 * rgb[m] + 0.45 * np.array(col)
    rgb = rgb.astype(np.uint8).repeat(ZOOM, 0).repeat(ZOOM, 1)
    o = objects.repeat(ZOOM, 0).repeat(ZOOM, 1)
    edge = np.zeros(o.shape, bool)
    edge[:-1] |= (o[:-1] != o[1:]) & (o[:-1] > 0) & (o[1:] > 0)
    edge[:, :-1] |= (o[:, :-1] != o[:, 1:]) & (o[:, :-1] > 0) & (o[:, 1:] > 0)
    rgb[edge] = 255
    im = Image.fromarray(rgb)
    ImageDraw.Draw(im).text((4, 4), title, fill=(255, 255, 0))
    return np.asarray(im)


def main():
    ct, _ = read_nifti(sys.argv[1])
    ours, _ = read_nifti(sys.argv[2])
    ref, _ = read_nifti(sys.argv[3])
    ours, ref = ours.astype(np.int32), ref.astype(np.int32)
    mine = classes(ours)
    rows = []
    for name, take in (("coronal y=45", lambda a: a[:41, 45, :][::-1]), ("axial z=15", lambda a: a[15])):
        rows.append(np.concatenate([panel(take(ct), take(mine), take(ours), "Trabecula, " + name),
                                    np.full((take(ct).shape[0] * ZOOM, 6, 3), 255, np.uint8),
                                    panel(take(ct), take(ref), take(ref), "reference, " + name)], 1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0))) for r in rows]
    Image.fromarray(np.concatenate(rows, 0)).save(sys.argv[4])
    print("wrote", sys.argv[4])


if __name__ == "__main__":
    main()
