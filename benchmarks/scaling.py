"""How dlcore's training-step time grows: batch size doubling, then width doubling.

Each row is one MLP 784-H-H-10 with ReLU trained by SGD (momentum 0.9) on a batch of N,
timed like ``train_step`` (median over many steps after warm-up). Next to the time is
the FLOP count of the step's matrix products (forward x @ W, backward x.T @ dout, and
dout @ W.T for every layer but the first; 2 FLOPs per multiply-add) and the time per FLOP. The
matmul FLOPs grow linearly in N and roughly quadratically in H; if time/FLOP stays
roughly flat down a column the step costs what its matmuls cost: near-linear scaling,
no hidden super-linear work. Small steps have a higher time/FLOP: fixed per-call
overhead that does not shrink with the problem.

Run:  python -m benchmarks.scaling [--quick]
"""
from __future__ import annotations

import argparse

from ._common import machine_lines, median_time, table
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
    print()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and steps: a smoke run")
    run(quick=ap.parse_args(argv).quick)


if __name__ == "__main__":
    main()
