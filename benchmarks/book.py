"""Wall time and peak memory of the book's checks: nbval on each notebook, and the strict build.

nbval re-executes a notebook and compares every output with the committed one
(``python -m pytest notebooks/<nb>.ipynb -q``, with the repository's pytest settings).
The strict build is ``jupyter-book build -W -n --keep-going .`` into a temporary
``--path-output`` directory, so the repository's own ``_build`` is left alone.

Peak RSS: each nbval run is started from a fresh helper process, which reports the largest
peak resident set size among the processes it waited for (``getrusage(RUSAGE_CHILDREN)``:
pytest and, through it, the notebook's kernel), so the figure is the kernel's peak unless pytest
itself used more. Every notebook must stay under ``RSS_LIMIT`` (1 GiB); above it the row says
FAIL.

Run:  python -m benchmarks.book [--quick]   (--quick: only collect the notebooks' cells, no build)
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import cli, load_line, table

ROOT = Path(__file__).resolve().parent.parent
RSS_LIMIT = 1 << 30          # bytes, per notebook

# runs a command and prints the peak RSS (KiB on Linux) of its process tree's largest process
_RSS_WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
                "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
                "file=sys.stderr); sys.exit(p.returncode)")


def _timed(cmd, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def _jupyter_book():
    exe = Path(sys.executable).with_name("jupyter-book")
    return [str(exe)] if exe.exists() else ([shutil.which("jupyter-book")] if shutil.which("jupyter-book") else None)


def run(quick=False):
    print("== Book: nbval per notebook and the strict build (wall time and peak RSS, one run each) ==")
    print(load_line())
    notebooks = sorted((ROOT / "notebooks").rglob("*.ipynb"))
    notebooks = [nb for nb in notebooks if ".ipynb_checkpoints" not in nb.parts]
    rows, total, failed, peak = [], 0.0, False, 0
    if quick:
        # only collect the notebooks' cells, all in one pytest run (no kernel): it checks the
        # plumbing and times nothing useful
        t, proc = _timed([sys.executable, "-m", "pytest", "notebooks", "-q", "--collect-only"], ROOT)
        last = (proc.stdout.strip().splitlines() or ["?"])[-1]
        rows.append([f"nbval --collect-only notebooks/ ({len(notebooks)} notebooks)", f"{t:.1f}", "-",
                     "pass" if proc.returncode == 0 else "FAIL", last])
        notebooks = []
    extra = []
    for nb in notebooks:
        t, proc = _timed([sys.executable, "-c", _RSS_WRAPPER, sys.executable, "-m", "pytest",
                          str(nb.relative_to(ROOT)), "-q", *extra], ROOT)
        total += t
        rss = [int(ln.split()[1]) * 1024 for ln in proc.stderr.splitlines() if ln.startswith("PEAK_RSS_KIB")]
        rss = rss[-1] if rss else None
        peak = max(peak, rss or 0)
        ok = proc.returncode == 0 and (quick or rss is None or rss <= RSS_LIMIT)
        failed |= not ok
        last = (proc.stdout.strip().splitlines() or ["?"])[-1]
        label = "nbval --collect-only" if quick else "nbval"
        rows.append([f"{label} {nb.relative_to(ROOT)}", f"{t:.1f}",
                     f"{rss / 2**20:,.0f}" if rss else "?", "pass" if ok else "FAIL", last])
    if not quick:
        rows.append(["nbval, all notebooks", f"{total:.1f}", f"max {peak / 2**20:,.0f}",
                     "FAIL" if failed else "pass", f"limit {RSS_LIMIT / 2**20:,.0f} MiB per notebook"])
    jb = _jupyter_book()
    if quick:
        rows.append(["jupyter-book build -W -n --keep-going", "-", "-", "skipped", "(--quick)"])
    elif jb is None:
        rows.append(["jupyter-book build -W -n --keep-going", "-", "-", "skipped", "jupyter-book not installed"])
    else:
        with tempfile.TemporaryDirectory(prefix="jb-bench-") as out:
            t, proc = _timed([*jb, "build", "-W", "-n", "--keep-going", "--path-output", out, "."], ROOT)
        ok = proc.returncode == 0
        rows.append(["jupyter-book build -W -n --keep-going", f"{t:.1f}", "-", "pass" if ok else "FAIL",
                     "into a temporary --path-output"])
        if not ok:
            print((proc.stdout + proc.stderr)[-2000:])
    print(table(["step", "seconds", "peak RSS MiB", "result", "detail"], rows, aligns=["<", ">", ">", "<", "<"]))
    print()
    return rows


def main(argv=None):
    cli(run, __doc__, quick_help="collect the notebooks only, no build: a smoke run", argv=argv)


if __name__ == "__main__":
    main()
