"""How dlcore's cost grows: the MLP training step as batch and width double, the convolution as
the image side doubles, attention as the sequence length doubles (time and peak memory).

Each row is one MLP 784-H-H-10 with ReLU trained by SGD (momentum 0.9) on a batch of N,
timed like ``train_step`` (median over many steps after warm-up). Next to the time is
the FLOP count of the step's matrix products (forward x @ W, backward x.T @ dout, and
dout @ W.T for every layer but the first; 2 FLOPs per multiply-add) and the time per FLOP. The
matmul FLOPs grow linearly in N and roughly quadratically in H; if time/FLOP stays
roughly flat down a column the step costs what its matmuls cost: near-linear scaling,
no hidden super-linear work. Small steps have a higher time/FLOP: fixed per-call
overhead that does not shrink with the problem.

Convolution: ``Conv2d(16, 32, 3, padding=1)`` forward + backward on N 8 images of side S; its
matmul FLOPs grow as S^2, so time/FLOP should stay flat. Attention: ``scaled_dot_product_attention``
forward + backward at B 1, H 4, E 64 for length L; FLOPs and the (L, L) weights grow as L^2, so
doubling L should multiply time and peak memory by about 4 (the peak is NumPy's allocations
during one step, by ``tracemalloc``, the inputs excluded).

Run:  python -m benchmarks.scaling [--quick]
"""
from __future__ import annotations


from ._common import cli, machine_lines, median_time, table
from .train_step import build, matmul_flops

BATCHES = [32, 64, 128, 256, 512]
WIDTHS = [64, 128, 256, 512, 1024]


def _row(widths, batch, quick):
    dl_step = build(widths, batch)[0]
    flops = matmul_flops(widths, batch)
    if quick:
        repeat, warm = 3, 1
    else:
        # aim at ~1 s of timing per row whatever its size
        repeat = max(15, min(400, int(2e11 / max(flops, 1) / 50)))
        warm = max(3, repeat // 10)
    t = median_time(dl_step, repeat=repeat, warmup=warm)
    return t, flops


def _table(label, rows):
    out, base = [], None
    for name, (t, flops) in rows:
        per = t / flops * 1e12
        if base is None:
            base = (t, flops)
        out.append([name, f"{t * 1e6:,.0f}", f"{t / base[0]:.2f}x", f"{flops / 1e6:,.1f}",
                    f"{flops / base[1]:.2f}x", f"{per:.1f}", f"{flops / t / 1e9:.1f}"])
    return table([label, "step µs", "time vs first", "matmul MFLOP", "FLOP vs first",
                  "ps per FLOP", "GFLOP/s"], out)


def _conv_rows(quick):
    from .conv import build as conv_build, flops as conv_flops
    out = []
    sides = [8, 16, 32] if quick else [8, 16, 32, 64, 128]
    for side in sides:
        size = (8, 16, 32, side, side, 3, 1)
        step = conv_build(size)[0]
        f = conv_flops(size)
        repeat = 3 if quick else max(10, min(200, int(2e10 / f)))
        out.append((f"S = {side} (N 8, C 16->32, k 3)", (median_time(step, repeat=repeat, warmup=2), f)))
    return out


def _attention_rows(quick):
    import tracemalloc

    import numpy as np
    from dlcore.attention import scaled_dot_product_attention as sdpa
    from dlcore.attention import scaled_dot_product_attention_backward as sdpa_bwd
    rows = []
    for L in ([128, 256, 512] if quick else [128, 256, 512, 1024, 2048]):
        g = np.random.default_rng(0)
        q, k, v, d = (g.standard_normal((1, 4, L, 64)) for _ in range(4))

        def step():
            _, p = sdpa(q, k, v, return_weights=True)
            sdpa_bwd(d, q, k, v, weights=p)
        f = 12 * 4 * L * L * 64
        repeat = 3 if quick else max(5, min(100, int(2e10 / f)))
        t = median_time(step, repeat=repeat, warmup=1)
        tracemalloc.start()
        step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append((L, t, f, peak))
    return rows


def _attention_table(rows):
    out = []
    L0, t0, f0, m0 = rows[0]
    for L, t, f, m in rows:
        out.append([f"L = {L}", f"{t * 1e6:,.0f}", f"{t / t0:.2f}x", f"{(L / L0) ** 2:.0f}x",
                    f"{f / t * 1e-9:.1f}", f"{m / 2**20:,.1f}", f"{m / m0:.2f}x"])
    return table(["attention (B 1, H 4, E 64)", "fwd+bwd µs", "time vs first", "L^2 vs first",
                  "GFLOP/s", "peak MiB", "memory vs first"], out)


def run(quick=False):
    print("== Scaling: dlcore training-step time vs matmul FLOPs (784-H-H-10, ReLU, SGD momentum 0.9) ==")
    for line in machine_lines():
        print(line)
    batches = BATCHES[:3] if quick else BATCHES
    widths = WIDTHS[:3] if quick else WIDTHS
    rows = [(f"N = {n} (H = 256)", _row((784, 256, 256, 10), n, quick)) for n in batches]
    print("Batch size doubles:")
    print(_table("batch", rows))
    rows = [(f"H = {h} (N = 128)", _row((784, h, h, 10), 128, quick)) for h in widths]
    print("Width doubles:")
    print(_table("width", rows))
    print("Convolution forward + backward, image side doubles (FLOPs x4 per row):")
    print(_table("conv2d", _conv_rows(quick)))
    print("Attention forward + backward, sequence length doubles (FLOPs and weights x4 per row):")
    print(_attention_table(_attention_rows(quick)))
    print()


def main(argv=None):
    cli(run, __doc__, quick_help="fewer sizes and steps: a smoke run", argv=argv)


if __name__ == "__main__":
    main()
