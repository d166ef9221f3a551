"""Wall time of the book's checks: nbval on each notebook, and the strict Jupyter Book build.

nbval re-executes a notebook and compares every output with the committed one
(``python -m pytest notebooks/<nb>.ipynb -q``, with the repository's pytest settings).
The strict build is ``jupyter-book build -W -n --keep-going .`` into a temporary
``--path-output`` directory, so the repository's own ``_build`` is left alone.

Run:  python -m benchmarks.book [--quick]   (--quick: only collect the notebooks' cells, no build)
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import table

ROOT = Path(__file__).resolve().parent.parent


def _timed(cmd, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def _jupyter_book():
    exe = Path(sys.executable).with_name("jupyter-book")
    return [str(exe)] if exe.exists() else ([shutil.which("jupyter-book")] if shutil.which("jupyter-book") else None)


def run(quick=False):
    print("== Book: nbval per notebook and the strict build (wall time, one run each) ==")
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    # --quick only collects the notebooks' cells (no kernel): it checks the plumbing, times nothing useful
    extra = ["--collect-only"] if quick else []
    rows, total, failed = [], 0.0, False
    for nb in notebooks:
        t, proc = _timed([sys.executable, "-m", "pytest", str(nb.relative_to(ROOT)), "-q", *extra], ROOT)
        total += t
        ok = proc.returncode == 0
        failed |= not ok
        last = (proc.stdout.strip().splitlines() or ["?"])[-1]
        label = "nbval --collect-only" if quick else "nbval"
        rows.append([f"{label} {nb.relative_to(ROOT)}", f"{t:.1f}", "pass" if ok else "FAIL", last])
    rows.append([f"{'nbval --collect-only' if quick else 'nbval'}, all notebooks", f"{total:.1f}",
                 "FAIL" if failed else "pass", ""])
    jb = _jupyter_book()
    if quick:
        rows.append(["jupyter-book build -W -n --keep-going", "-", "skipped", "(--quick)"])
    elif jb is None:
        rows.append(["jupyter-book build -W -n --keep-going", "-", "skipped", "jupyter-book not installed"])
    else:
        with tempfile.TemporaryDirectory(prefix="jb-bench-") as out:
            t, proc = _timed([*jb, "build", "-W", "-n", "--keep-going", "--path-output", out, "."], ROOT)
        ok = proc.returncode == 0
        rows.append(["jupyter-book build -W -n --keep-going", f"{t:.1f}", "pass" if ok else "FAIL",
                     "into a temporary --path-output"])
        if not ok:
            print((proc.stdout + proc.stderr)[-2000:])
    print(table(["step", "seconds", "result", "detail"], rows, aligns=["<", ">", "<", "<"]))
    print()
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="collect the notebooks only, no build: a smoke run")
    run(quick=ap.parse_args(argv).quick)


if __name__ == "__main__":
    main()
