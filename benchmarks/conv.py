"""Convolution forward + backward, dlcore vs PyTorch (CPU, eager, float64).

dlcore: ``dlcore.layers.Conv2d.forward`` then ``backward`` (im2col, one matrix product each for
the output, dL/dW and dL/dcols, then col2im). PyTorch: ``torch.nn.functional.conv2d`` on tensors
that require grad (input, weight, bias), then ``out.backward(dout)`` (autograd; PyTorch picks
its CPU kernel). The same arrays on both sides; the script first checks that both give the same
output and gradients.

Matrix products of one step (2 FLOPs per multiply-add): forward, dL/dW and dL/dx, each
2 N OH OW O C kh kw.

Run:  python -m benchmarks.conv [--quick]
"""
from __future__ import annotations

import numpy as np

from ._common import (cli, compare_pair, machine_lines, match_torch_threads, rounds_line, table,
                      timed_check)

# (N, C_in, C_out, H, W, k, padding)
SIZES = [(8, 16, 32, 32, 32, 3, 1), (32, 3, 16, 28, 28, 5, 0)]


def label(size):
    n, c, o, h, w, k, p = size
    return f"N {n}, C {c}->{o}, {h}x{w}, k {k}, pad {p}"


def flops(size):
    n, c, o, h, w, k, p = size
    oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
    return 3 * 2 * n * oh * ow * o * c * k * k


def build(size, seed=0):
    import torch
    import torch.nn.functional as TF
    from dlcore.layers import Conv2d

    n, c, o, h, w, k, p = size
    rng = np.random.default_rng(seed)
    conv = Conv2d(c, o, k, padding=p, rng=rng)
    x = rng.standard_normal((n, c, h, w))
    oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
    dout = rng.standard_normal((n, o, oh, ow))
    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(conv.params["W"], requires_grad=True)
    tb = torch.tensor(conv.params["b"], requires_grad=True)
    tdout = torch.tensor(dout)

    def dl_step():
        out = conv.forward(x)
        return out, conv.backward(dout)

    def torch_step():
        for t in (tx, tW, tb):
            t.grad = None
        out = TF.conv2d(tx, tW, tb, padding=p)
        out.backward(tdout)
        return out

    def check():
        """Compare the two libraries on one step each; return the two wall times."""
        return timed_check(dl_step, torch_step, lambda mine, out_t: [
            (mine[0], out_t.detach().numpy()), (mine[1], tx.grad.numpy()),
            (conv.grads["W"], tW.grad.numpy()), (conv.grads["b"], tb.grad.numpy())],
            "conv2d", atol=1e-10)

    return dl_step, torch_step, check


def run(quick=False):
    import torch

    match_torch_threads(torch)
    print("== Convolution forward + backward: dlcore Conv2d vs PyTorch F.conv2d + autograd (float64, CPU) ==")
    for line in machine_lines(torch):
        print(line)
    rows = []
    for size in SIZES:
        dl_step, torch_step, check = build(size)
        t_dl, t_torch, ratio = compare_pair(dl_step, torch_step, check, quick,
                                            steps_per_round=10, warmup=3)
        f = flops(size)
        rows.append([label(size), f"{t_dl * 1e6:,.0f}", f"{t_torch * 1e6:,.0f}",
                     ratio, f"{f / 1e6:,.0f}", f"{f / t_dl / 1e9:.1f}"])
    print("times: median µs per forward + backward; " + (
        "quick mode, one step each: not a measurement" if quick else rounds_line("10 steps")))
    print(table(["conv2d", "dlcore µs", "PyTorch µs", "dlcore/PyTorch", "matmul MFLOP",
                 "dlcore GFLOP/s"], rows))
    print()
    return rows


def main(argv=None):
    cli(run, __doc__, argv=argv)


if __name__ == "__main__":
    main()
