"""Attention forward + backward, dlcore vs PyTorch (CPU, eager, float64).

dlcore: ``scaled_dot_product_attention(..., return_weights=True)`` then
``scaled_dot_product_attention_backward(..., weights=P)``, which reuses the forward pass's
attention weights P, as autograd keeps what the backward needs. PyTorch: ``torch.nn.functional.scaled_dot_product_attention``
on tensors that require grad, then ``out.backward(dout)`` (autograd; PyTorch picks its CPU
kernel). No mask, default scale 1/sqrt(E), the same arrays on both sides; the script first
checks that both give the same output and gradients.

The matrix products of one step: forward Q K^T and P V (4 B H L^2 E FLOPs), backward dV, dP,
dQ, dK (8 B H L^2 E): 12 B H L^2 E in all (without ``weights=`` dlcore's backward would recompute
P: 2 B H L^2 E more, for Q K^T, and a softmax). The (L, L) weights take B H L^2 * 8 bytes: 4 MiB at the first size, 8 MiB at the second.

Run:  python -m benchmarks.attention [--quick]
"""
from __future__ import annotations

import numpy as np

from ._common import (cli, compare_pair, machine_lines, match_torch_threads, rounds_line, table,
                      timed_check)

SIZES = [(4, 8, 128, 64), (1, 4, 512, 64)]       # (B, H, L, E), self-attention: S = L


def build(B, H, L, E, seed=0):
    import torch
    import torch.nn.functional as TF
    from dlcore.attention import (scaled_dot_product_attention as sdpa,
                                  scaled_dot_product_attention_backward as sdpa_bwd)

    rng = np.random.default_rng(seed)
    q, k, v, dout = (rng.standard_normal((B, H, L, E)) for _ in range(4))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tdout = torch.tensor(dout)

    def dl_step():
        out, p = sdpa(q, k, v, return_weights=True)
        return out, sdpa_bwd(dout, q, k, v, weights=p)

    def torch_step():
        for t in (tq, tk, tv):
            t.grad = None
        out = TF.scaled_dot_product_attention(tq, tk, tv)
        out.backward(tdout)
        return out

    def check():
        """Compare the two libraries on one step each; return the two wall times."""
        return timed_check(dl_step, torch_step, lambda mine, out_t: [(mine[0], out_t.detach().numpy())] + [
            (g, t.grad.numpy()) for g, t in zip(mine[1], (tq, tk, tv))], "attention", atol=1e-12)

    return dl_step, torch_step, check


def run(quick=False):
    import torch

    match_torch_threads(torch)
    print("== Attention forward + backward: dlcore vs PyTorch SDPA + autograd (float64, CPU) ==")
    for line in machine_lines(torch):
        print(line)
    rows = []
    for B, H, L, E in SIZES:
        dl_step, torch_step, check = build(B, H, L, E)
        t_dl, t_torch, ratio = compare_pair(dl_step, torch_step, check, quick,
                                            steps_per_round=5, warmup=2)
        flops = 12 * B * H * L * L * E
        rows.append([f"B {B}, H {H}, L {L}, E {E}", f"{t_dl * 1e6:,.0f}",
                     f"{t_torch * 1e6:,.0f}", ratio,
                     f"{flops / 1e6:,.0f}", f"{flops / t_torch / 1e9:.1f}"])
    print("times: median µs per forward + backward; " + (
        "quick mode, one step each: not a measurement" if quick else rounds_line("5 steps")))
    print(table(["attention (B, H, L, E)", "dlcore µs", "PyTorch µs", "dlcore/PyTorch",
                 "matmul MFLOP", "PyTorch GFLOP/s"], rows))
    print("dlcore keeps the forward pass's weights P for its backward (weights=P), as autograd does.")
    print()
    return rows


def main(argv=None):
    cli(run, __doc__, argv=argv)


if __name__ == "__main__":
    main()
