"""One full training step, dlcore vs PyTorch (CPU, eager, float64), and vs the BLAS floor.

A step is: forward through an MLP with ReLU, softmax cross-entropy on class labels,
backward, and an SGD update with momentum 0.9 (lr 0.01), for both libraries, on the
same weights and the same data. PyTorch runs with as many intra-op threads as NumPy's
BLAS has, so both get the same cores.

The "BLAS floor" is the time of only the step's matrix products, done with the same
NumPy on arrays of the same shapes: per layer the forward x @ W, and in the backward
dW = x.T @ dout and, except for the first layer, dx = dout @ W.T. Neither library computes
the gradient of the input batch (dlcore: ``backward(g, need_input_grad=False)``; PyTorch:
the input does not require grad), so both do the same matrix products. dlcore / floor - 1
is the share of the step spent outside matrix multiplication.

Run:  python -m benchmarks.train_step [--quick]
"""
from __future__ import annotations

import statistics

import numpy as np

from ._common import (ROUNDS, cli, interleaved_rounds, machine_lines, match_torch_threads,
                      ratio_cell, rounds_line, table)

SIZES = [((64, 128, 128, 10), 64), ((784, 256, 256, 10), 128), ((784, 1024, 1024, 10), 512)]
LR, MOMENTUM = 0.01, 0.9


def build(widths, batch, seed=0):
    import torch
    import dlcore
    from dlcore import layers as L

    rng = np.random.default_rng(seed)
    mods = []
    for i in range(len(widths) - 1):
        mods.append(L.Linear(widths[i], widths[i + 1], rng=rng))
        if i < len(widths) - 2:
            mods.append(L.ReLU())
    net = L.Sequential(*mods)
    X = rng.standard_normal((batch, widths[0]))
    y = rng.integers(0, widths[-1], size=batch)

    tmods = []
    for m in mods:
        if isinstance(m, L.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.params["W"].T.copy()))
                lin.bias.copy_(torch.from_numpy(m.params["b"].copy()))
            tmods.append(lin)
        else:
            tmods.append(torch.nn.ReLU())
    tnet = torch.nn.Sequential(*tmods)
    tX = torch.from_numpy(X.copy())
    ty = torch.from_numpy(y.astype(np.int64))

    opt = dlcore.optim.SGD(lr=LR, momentum=MOMENTUM)
    topt = torch.optim.SGD(tnet.parameters(), lr=LR, momentum=MOMENTUM)
    ce = dlcore.losses.softmax_cross_entropy
    tce = torch.nn.functional.cross_entropy

    def dl_step():
        logits = net.forward(X)
        _, g = ce(logits, y)
        net.backward(g, need_input_grad=False)   # like PyTorch: no dL/dx for the data
        opt.step(net.params, net.grads)

    def torch_step():
        topt.zero_grad()
        loss = tce(tnet(tX), ty)
        loss.backward()
        topt.step()

    # the matmuls of one dlcore step, on arrays of the same shapes
    Ws = [rng.standard_normal((widths[i], widths[i + 1])) for i in range(len(widths) - 1)]
    xs = [rng.standard_normal((batch, widths[i])) for i in range(len(widths) - 1)]
    ds = [rng.standard_normal((batch, widths[i + 1])) for i in range(len(widths) - 1)]

    def floor_step():
        for x, W in zip(xs, Ws):
            x @ W
        for i, (x, W, d) in enumerate(zip(xs, Ws, ds)):
            x.T @ d
            if i:                  # the first layer's dx is not needed (nor computed)
                d @ W.T

    return dl_step, torch_step, floor_step, (net, tnet, X, y)


def _check_same_step(widths, batch, steps=3):
    """Both libraries really do the same training: equal losses over a few steps."""
    import dlcore
    import torch
    dl_step, torch_step, _, (net, tnet, X, y) = build(widths, batch)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    for _ in range(steps):
        ours = dlcore.losses.softmax_cross_entropy(net.forward(X), y)[0]
        with torch.no_grad():
            theirs = torch.nn.functional.cross_entropy(tnet(tX), ty).item()
        if not np.isclose(ours, theirs, rtol=1e-9, atol=1e-12):
            raise AssertionError(f"dlcore and PyTorch disagree: loss {ours!r} vs {theirs!r}")
        dl_step()
        torch_step()


def matmul_flops(widths, batch) -> int:
    """FLOPs (2 per multiply-add) of a training step's matrix products: forward and dW for
    every layer, dx for every layer but the first."""
    layers = list(zip(widths[:-1], widths[1:]))
    return sum(3 * 2 * batch * a * b for a, b in layers) - 2 * batch * widths[0] * widths[1]


def run(quick=False):
    import torch

    match_torch_threads(torch)
    print("== Training step: dlcore vs PyTorch (float64, CPU, eager), SGD momentum 0.9 ==")
    for line in machine_lines(torch):
        print(line)
    rows = []
    for widths, batch in SIZES:
        dl_step, torch_step, floor_step, extra = build(widths, batch)
        _check_same_step(widths, batch)
        big = widths[1] >= 1024
        if quick:
            rounds, per, warm, settle = 1, (3 if big else 10), 2, 0.0
        else:
            rounds, per, warm, settle = (ROUNDS, 20, 3, 0.3) if big else (ROUNDS, 200, 20, 0.3)
        r_dl, r_torch, r_floor = interleaved_rounds(
            [dl_step, torch_step, floor_step], rounds=rounds,
            steps_per_round=per, warmup=warm, settle=settle)
        t_dl, t_torch, t_floor = (statistics.median(r) for r in (r_dl, r_torch, r_floor))
        flops = matmul_flops(widths, batch)
        rows.append([
            f"{'-'.join(map(str, widths))}, batch {batch}",
            f"{t_dl * 1e6:,.0f}", f"{t_torch * 1e6:,.0f}", f"{t_floor * 1e6:,.0f}",
            ratio_cell(r_dl, r_torch), ratio_cell(r_dl, r_floor),
            f"{flops / t_floor / 1e9:.1f}",
        ])
    print("times: median µs per step; " + ("quick mode, a few steps: not a measurement" if quick else
                                           rounds_line("200 steps (20 at the largest size)")))
    print(table(["MLP (ReLU), batch", "dlcore µs", "PyTorch µs", "BLAS floor µs", "dlcore/PyTorch",
                 "dlcore/floor", "floor GFLOP/s"], rows))
    print("Both libraries do the same matrix products: neither computes dL/dx for the input batch.")
    print()
    return rows


def main(argv=None):
    cli(run, __doc__, argv=argv)


if __name__ == "__main__":
    main()
