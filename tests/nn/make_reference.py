#!/usr/bin/python3
"""Reference tensors for the nn engine's tests, made with PyTorch (Debian python3-torch).

Run once by hand: /usr/bin/python3 tests/nn/make_reference.py  (needs torch; CI does not).
Writes tests/nn/data/reference.safetensors: for every case, its inputs ("CASE.x0", "CASE.x1"),
parameters ("CASE.weight", "CASE.bias"), the output ("CASE.y"), a random output gradient
("CASE.gy") and the gradients torch computes ("CASE.gx0", "CASE.gx1", "CASE.gweight", "CASE.gbias");
the metadata entry CASE is a JSON string with the layer's kind and settings.
Also writes PyTorch modules of the architectures (state_dict in the safetensors layout, with
Trabecula's __metadata__) and their reference input/output, to show that such files load and run.
References are computed in float64 from float32-rounded inputs and stored as float32.
"""
import json, os, struct, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(6)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def rnd(*shape):
    return torch.randn(*shape, dtype=torch.float32).double().requires_grad_(True)


def shuffle3d(x, r):
    n, c, d, h, w = x.shape
    c //= r ** 3
    return x.view(n, c, r, r, r, d, h, w).permute(0, 1, 5, 2, 6, 3, 7, 4).reshape(n, c, d * r, h * r, w * r)


tensors, meta = {}, {}


def case(name, settings, fn, xs, params=()):
    y = fn(*xs, *params)
    gy = torch.randn(y.shape, dtype=torch.float32).double()
    grads = torch.autograd.grad(y, list(xs) + list(params), gy)
    for i, x in enumerate(xs):
        tensors[f"{name}.x{i}"] = x
        tensors[f"{name}.gx{i}"] = grads[i]
    for p, g, pn in zip(params, grads[len(xs):], ("weight", "bias")):
        tensors[f"{name}.{pn}"] = p
        tensors[f"{name}.g{pn}"] = g
    tensors[f"{name}.y"] = y
    tensors[f"{name}.gy"] = gy
    meta[name] = json.dumps(settings)


def conv(name, dims, n, cin, cout, size, k, s, p):
    x = rnd(n, cin, *size)
    w = rnd(cout, cin, *([k] * dims)) * 0.3
    w = w.detach().requires_grad_(True)
    b = rnd(cout)
    f = F.conv2d if dims == 2 else F.conv3d
    case(name, dict(kind="conv", dims=dims, cin=cin, cout=cout, k=k, stride=s, pad=p),
         lambda x, w, b: f(x, w, b, stride=s, padding=p), [x], [w, b])


conv("conv2d_k3", 2, 2, 3, 5, (11, 13), 3, 1, 1)
conv("conv2d_k4s2", 2, 3, 2, 3, (13, 9), 4, 2, 1)
conv("conv2d_k5", 2, 1, 3, 2, (9, 7), 5, 1, 2)
conv("conv2d_k1", 2, 2, 5, 3, (7, 5), 1, 1, 0)
conv("conv3d_k3", 3, 2, 3, 4, (5, 7, 9), 3, 1, 1)
conv("conv3d_k4s2", 3, 1, 2, 3, (7, 9, 5), 4, 2, 1)

case("relu2d", dict(kind="relu", dims=2), F.relu, [rnd(2, 3, 7, 9)])
case("leaky3d", dict(kind="leaky_relu", dims=3, slope=0.2), lambda x: F.leaky_relu(x, 0.2), [rnd(1, 2, 3, 5, 7)])
case("add2d", dict(kind="add", dims=2), lambda a, b: a + b, [rnd(2, 3, 5, 7), rnd(2, 3, 5, 7)])
case("concat3d", dict(kind="concat", dims=3), lambda a, b: torch.cat([a, b], 1), [rnd(2, 3, 3, 5, 7), rnd(2, 2, 3, 5, 7)])
case("shuffle2d_r2", dict(kind="pixel_shuffle", dims=2, factor=2), lambda x: F.pixel_shuffle(x, 2), [rnd(2, 12, 5, 7)])
case("shuffle2d_r3", dict(kind="pixel_shuffle", dims=2, factor=3), lambda x: F.pixel_shuffle(x, 3), [rnd(1, 18, 3, 5)])
case("shuffle3d_r2", dict(kind="pixel_shuffle", dims=3, factor=2), lambda x: shuffle3d(x, 2), [rnd(2, 16, 3, 5, 7)])
case("pool2d", dict(kind="avg_pool", dims=2, factor=2), lambda x: F.avg_pool2d(x, 2), [rnd(2, 3, 11, 13)])
case("pool3d", dict(kind="avg_pool", dims=3, factor=2), lambda x: F.avg_pool3d(x, 2), [rnd(1, 2, 5, 7, 9)])
case("nearest2d_x3", dict(kind="upsample_nearest", dims=2, factor=3),
     lambda x: F.interpolate(x, scale_factor=3, mode="nearest"), [rnd(2, 2, 5, 7)])
case("nearest3d_x2", dict(kind="upsample_nearest", dims=3, factor=2),
     lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), [rnd(1, 2, 3, 5, 7)])
case("linear2d_x2", dict(kind="upsample_linear", dims=2, factor=2),
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), [rnd(2, 2, 5, 7)])
case("linear2d_x8", dict(kind="upsample_linear", dims=2, factor=8),
     lambda x: F.interpolate(x, scale_factor=8, mode="bilinear", align_corners=False), [rnd(1, 1, 3, 5)])
case("linear3d_x3", dict(kind="upsample_linear", dims=3, factor=3),
     lambda x: F.interpolate(x, scale_factor=3, mode="trilinear", align_corners=False), [rnd(1, 2, 3, 5, 7)])

# losses: the value is stored as a 1-element "y"; gradients of the mean
p, t = rnd(2, 1, 5, 7), torch.randn(2, 1, 5, 7).double()
for name, fn in (("loss_l1", lambda a: F.l1_loss(a, t)), ("loss_l2", lambda a: F.mse_loss(a, t)),
                 ("loss_lsgan", lambda a: 0.5 * torch.mean((a - 1.0) ** 2))):
    y = fn(p)
    g, = torch.autograd.grad(y, [p])
    tensors[f"{name}.x0"], tensors[f"{name}.x1"], tensors[f"{name}.y"] = p, t, y.reshape(1)
    tensors[f"{name}.gx0"] = g
    meta[name] = json.dumps(dict(kind=name))


# --- architectures, written as the documented PyTorch modules ---
class SRResNet(nn.Module):
    def __init__(self, dims, features, blocks, scale):
        super().__init__()
        C = nn.Conv2d if dims == 2 else nn.Conv3d
        self.dims, self.scale = dims, scale
        self.head = C(1, features, 3, padding=1)
        self.body = nn.ModuleList()
        for _ in range(blocks):
            blk = nn.Module()
            blk.conv1 = C(features, features, 3, padding=1)
            blk.conv2 = C(features, features, 3, padding=1)
            self.body.append(blk)
        self.body_out = C(features, features, 3, padding=1)
        self.up = nn.ModuleList()
        f, s = features, scale
        while s > 1:
            fn = max(f // 2, 4)
            self.up.append(C(f, fn * 2 ** dims, 3, padding=1))
            f, s = fn, s // 2
        self.tail = C(f, 1, 3, padding=1)

    def forward(self, x):
        h = head = F.relu(self.head(x))
        for b in self.body:
            h = b.conv2(F.relu(b.conv1(h))) + h
        h = self.body_out(h) + head
        for c in self.up:
            h = c(h)
            h = F.pixel_shuffle(h, 2) if self.dims == 2 else shuffle3d(h, 2)
            h = F.relu(h)
        mode = "bilinear" if self.dims == 2 else "trilinear"
        return self.tail(h) + F.interpolate(x, scale_factor=self.scale, mode=mode, align_corners=False)


class UNet(nn.Module):
    def __init__(self, features, depth, scale):
        super().__init__()
        self.scale, self.depth = scale, depth
        ch = [features << l for l in range(depth)]
        self.enc = nn.ModuleList()
        cin = 1
        for l in range(depth):
            m = nn.Module()
            m.conv1, m.conv2 = nn.Conv2d(cin, ch[l], 3, padding=1), nn.Conv2d(ch[l], ch[l], 3, padding=1)
            self.enc.append(m)
            cin = ch[l]
        self.dec = nn.ModuleList()
        for l in range(depth - 1):
            m = nn.Module()
            m.up = nn.Conv2d(ch[l + 1], ch[l], 3, padding=1)
            m.conv1, m.conv2 = nn.Conv2d(2 * ch[l], ch[l], 3, padding=1), nn.Conv2d(ch[l], ch[l], 3, padding=1)
            self.dec.append(m)
        self.out = nn.Conv2d(ch[0], 1, 3, padding=1)

    def forward(self, x):
        u = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False) if self.scale > 1 else x
        h, skips = u, []
        for l, m in enumerate(self.enc):
            h = F.relu(m.conv2(F.relu(m.conv1(h))))
            skips.append(h)
            if l < self.depth - 1:
                h = F.avg_pool2d(h, 2)
        for l in range(self.depth - 2, -1, -1):
            m = self.dec[l]
            h = F.relu(m.up(F.interpolate(h, scale_factor=2, mode="nearest")))
            h = torch.cat([h, skips[l]], 1)
            h = F.relu(m.conv2(F.relu(m.conv1(h))))
        return self.out(h) + u


class PatchGAN(nn.Module):
    def __init__(self, dims, in_channels, features, layers):
        super().__init__()
        C = nn.Conv2d if dims == 2 else nn.Conv3d
        self.disc = nn.ModuleDict()
        cin = in_channels
        for i in range(layers + 1):
            cout = features * min(2 ** i, 8)
            self.disc[str(i)] = C(cin, cout, 4, stride=2 if i < layers else 1, padding=1)
            cin = cout
        self.disc["out"] = C(cin, 1, 4, stride=1, padding=1)
        self.layers = layers

    def forward(self, x):
        for i in range(self.layers + 1):
            x = F.leaky_relu(self.disc[str(i)](x), 0.2)
        return self.disc["out"](x)


def model_case(name, module, arch_meta, in_shape):
    module = module.double()
    x = rnd(*in_shape)
    y = module(x)
    gy = torch.randn(y.shape, dtype=torch.float32).double()
    params = dict(module.named_parameters())
    grads = torch.autograd.grad(y, [x] + list(params.values()), gy)
    tensors[f"{name}.x0"], tensors[f"{name}.y"], tensors[f"{name}.gy"], tensors[f"{name}.gx0"] = x, y, gy, grads[0]
    for (pn, _), g in zip(params.items(), grads[1:]):
        tensors[f"{name}.g.{pn}"] = g
    m = {k: str(v) for k, v in arch_meta.items()}
    m["format"] = "trabecula-nn-1"
    m["provenance"] = "tests/nn/make_reference.py (PyTorch %s), random weights" % torch.__version__
    write_safetensors(os.path.join(OUT, name + ".safetensors"), dict(module.state_dict()), m)
    meta[name] = json.dumps(dict(kind="model", file=name + ".safetensors"))


def randomize(module):
    # random weights of a size that keeps activations O(1)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float32) * (0.5 / max(1, p[0].numel()) ** 0.5))
    return module


model_case("model_srresnet2d", randomize(SRResNet(2, 8, 2, 4)),
           dict(arch="srresnet", dims=2, in_channels=1, features=8, blocks=2, scale=4), (2, 1, 7, 5))
model_case("model_srresnet3d", randomize(SRResNet(3, 8, 1, 2)),
           dict(arch="srresnet", dims=3, in_channels=1, features=8, blocks=1, scale=2), (1, 1, 3, 5, 7))
model_case("model_unet", randomize(UNet(4, 3, 2)),
           dict(arch="unet", dims=2, in_channels=1, features=4, depth=3, scale=2), (1, 1, 6, 10))
model_case("model_patchgan", randomize(PatchGAN(2, 1, 4, 2)),
           dict(arch="patchgan", dims=2, in_channels=1, features=4, layers=2, scale=1), (2, 1, 21, 19))

write_safetensors(os.path.join(OUT, "reference.safetensors"), tensors, meta)
total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
print(f"wrote {len(tensors)} tensors, {len(meta)} cases, {total} bytes in {OUT}")
