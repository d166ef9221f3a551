"""Smoke test of the benchmarks: ``python -m benchmarks --quick`` runs and prints its tables."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_quick_prints_tables():
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for heading in ("== Training step", "== Scaling", "== Convolution", "== Attention", "== Book"):
        assert heading in out, out
    for column in ("dlcore/PyTorch", "dlcore/floor", "ps per FLOP", "seconds", "peak RSS MiB",
                   "peak MiB", "load average"):
        assert column in out, out
    for size in ("64-128-128-10, batch 64", "784-256-256-10, batch 128", "784-1024-1024-10, batch 512",
                 "B 4, H 8, L 128, E 64", "B 1, H 4, L 512, E 64",
                 "N 8, C 16->32, 32x32, k 3, pad 1", "N 32, C 3->16, 28x28, k 5, pad 0"):
        assert size in out, out
    assert "FAIL" not in out, out
    # no time limit asserted here: timings belong in the benchmark tables, not in pass/fail
    print(f"python -m benchmarks --quick took {elapsed:.1f} s")
