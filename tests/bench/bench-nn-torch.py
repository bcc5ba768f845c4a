#!/usr/bin/python3
"""PyTorch peer for bench-nn: the same SR-ResNet (tests/nn/make_reference.py's module), the same
batch, input size and threads. Prints one line: seconds per iteration (median of the timed runs).
Usage: bench-nn-torch.py MODE(infer|train) DIMS FEATURES BLOCKS SCALE BATCH SIZE THREADS ITERS"""
import os, sys, time, statistics
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn"))
import torch
import torch.nn.functional as F

mode, dims, feat, blocks, scale, batch, size, threads, iters = sys.argv[1], *map(int, sys.argv[2:10])
torch.set_num_threads(threads)
torch.manual_seed(0)
# the module definition lives in the reference script; import it without running its main part
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn", "make_reference.py")).read()
src = src[:src.index("tensors, meta = {}, {}")] + src[src.index("# --- architectures"):src.index("def model_case")]
ns = {"__file__": os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn", "make_reference.py")}
exec(compile(src, "make_reference.py", "exec"), ns)
net = ns["SRResNet"](dims, feat, blocks, scale)
shape = (batch, 1) + (size,) * dims
x = torch.randn(*shape)
times = []
if mode == "infer":
    net.eval()
    with torch.no_grad():
        net(x)
        for _ in range(iters):
            t = time.perf_counter(); net(x); times.append(time.perf_counter() - t)
else:
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-4)
    y = torch.rand(batch, 1, *((size * scale,) * dims))
    def step():
        opt.zero_grad()
        loss = F.l1_loss(net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    step()
    for _ in range(iters):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
print("%.6f" % statistics.median(times))
