"""Attention forward + backward, dlcore vs PyTorch (CPU, eager, float64).

dlcore: ``scaled_dot_product_attention`` then ``scaled_dot_product_attention_backward`` (which
recomputes the attention weights from Q and K, as FlashAttention's backward does, instead of
keeping them from the forward call). PyTorch: ``torch.nn.functional.scaled_dot_product_attention``
on tensors that require grad, then ``out.backward(dout)`` (autograd; PyTorch picks its CPU
kernel). No mask, default scale 1/sqrt(E), the same arrays on both sides; the script first
checks that both give the same output and gradients.

The matrix products of one step: forward Q K^T and P V (4 B H L^2 E FLOPs), backward dV, dP,
dQ, dK (8 B H L^2 E): 12 B H L^2 E in all (dlcore's recomputation adds 2 B H L^2 E more, for
Q K^T). The (L, L) weights take B H L^2 * 8 bytes: 4 MiB at the first size, 8 MiB at the second.

Run:  python -m benchmarks.attention [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from ._common import blas_info, machine_lines, table
from .train_step import interleaved_medians

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
        out = sdpa(q, k, v)
        return out, sdpa_bwd(dout, q, k, v)

    def torch_step():
        for t in (tq, tk, tv):
            t.grad = None
        out = TF.scaled_dot_product_attention(tq, tk, tv)
        out.backward(tdout)
        return out

    def check():
        """Compare the two libraries on one step each; return the two wall times."""
        t0 = time.perf_counter()
        out, grads = dl_step()
        t1 = time.perf_counter()
        out_t = torch_step()
        t2 = time.perf_counter()
        pairs = [(out, out_t.detach().numpy())] + [(g, t.grad.numpy())
                                                   for g, t in zip(grads, (tq, tk, tv))]
        for a, b in pairs:
            if not np.allclose(a, b, rtol=1e-9, atol=1e-12):
                raise AssertionError("dlcore and PyTorch disagree on attention: max diff "
                                     f"{np.abs(a - b).max():.2e}")
        return t1 - t0, t2 - t1

    return dl_step, torch_step, check


def run(quick=False):
    import torch

    nthreads = blas_info()["threads"] or torch.get_num_threads()
    torch.set_num_threads(nthreads)
    print("== Attention forward + backward: dlcore vs PyTorch SDPA + autograd (float64, CPU) ==")
    for line in machine_lines(torch):
        print(line)
    rows = []
    for B, H, L, E in SIZES:
        dl_step, torch_step, check = build(B, H, L, E)
        t_dl, t_torch = check()                 # quick mode: the checking step's times
        if not quick:
            t_dl, t_torch = interleaved_medians([dl_step, torch_step], rounds=5,
                                                steps_per_round=5, warmup=2, settle=0.3)
        flops = 12 * B * H * L * L * E
        rows.append([f"B {B}, H {H}, L {L}, E {E}", f"{t_dl * 1e6:,.0f}",
                     f"{t_torch * 1e6:,.0f}", f"{t_dl / t_torch:.2f}",
                     f"{flops / 1e6:,.0f}", f"{flops / t_torch / 1e9:.1f}"])
    print("times: median µs per forward + backward; " + (
        "quick mode, one step each: not a measurement" if quick else
        "5 alternating rounds of 5 steps, each after >= 0.3 s of untimed warm-up"))
    print(table(["attention (B, H, L, E)", "dlcore µs", "PyTorch µs", "dlcore/PyTorch",
                 "matmul MFLOP", "PyTorch GFLOP/s"], rows))
    print("dlcore's backward recomputes the weights (2 B H L^2 E FLOPs more than listed).")
    print()
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few steps: a smoke run, not a measurement")
    args = ap.parse_args(argv)
    run(quick=args.quick)


if __name__ == "__main__":
    main()
