"""Wall time and peak memory of the book's checks: nbval on each notebook, and the strict build.

nbval re-executes a notebook and compares every output with the committed one
(``python -m pytest notebooks/<nb>.ipynb -q``, with the repository's pytest settings).
The strict build is ``jupyter-book build -W -n --keep-going .`` into a temporary
``--path-output`` directory, so the repository's own ``_build`` is left alone.

Peak RSS: while each nbval run goes, a thread reads /proc every 20 ms and sums the resident
set size (VmRSS) of every process in the run's tree: pytest, the notebook's kernel and any
process the notebook starts (the data-parallel page starts worker processes). The table gives
the largest such sum, and the largest single process's own high-water mark (VmHWM, which the
kernel keeps, so a peak between two samples is not missed for that process). Every notebook
must stay under ``RSS_LIMIT`` (1 GiB) in total; above it the row says FAIL. Without /proc
(not Linux) the columns say "?".

Run:  python -m benchmarks.book [--quick]   (--quick: only collect the notebooks' cells, no build)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ._common import cli, load_line, table

ROOT = Path(__file__).resolve().parent.parent
RSS_LIMIT = 1 << 30          # bytes, per notebook

def _tree(pid):
    """pid and all its descendants (Linux /proc; [] if unreadable)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run_measured(cmd, cwd, interval=0.02):
    """Run ``cmd``; return (seconds, CompletedProcess-like, peak summed RSS bytes, largest
    single-process VmHWM bytes), the memory figures None without /proc."""
    t0 = time.perf_counter()
    # one notebook per pytest run, so no warm kernel server (conftest.py): it would save nothing
    # here and add its own resident memory to the tree's sum
    env = {**os.environ, "DLBOOK_FORK_KERNELS": "0"}
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    peak = {"sum": 0, "hwm": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = _tree(proc.pid)
            peak["sum"] = max(peak["sum"], sum(_status_kib(p, "VmRSS") for p in pids))
            peak["hwm"] = max([peak["hwm"]] + [_status_kib(p, "VmHWM") for p in pids])
            done.wait(interval)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    done.set()
    watcher.join()
    seconds = time.perf_counter() - t0
    result = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if not os.path.isdir("/proc/self/task"):
        return seconds, result, None, None
    return seconds, result, peak["sum"] * 1024, peak["hwm"] * 1024


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
        rows.append([f"nbval --collect-only notebooks/ ({len(notebooks)} notebooks)", f"{t:.1f}", "-", "-",
                     "pass" if proc.returncode == 0 else "FAIL", last])
        notebooks = []
    extra = []
    for nb in notebooks:
        t, proc, rss, hwm = _run_measured([sys.executable, "-m", "pytest", str(nb.relative_to(ROOT)),
                                           "-q", *extra], ROOT)
        total += t
        peak = max(peak, rss or 0)
        ok = proc.returncode == 0 and (quick or rss is None or rss <= RSS_LIMIT)
        failed |= not ok
        last = (proc.stdout.strip().splitlines() or ["?"])[-1]
        label = "nbval --collect-only" if quick else "nbval"
        rows.append([f"{label} {nb.relative_to(ROOT)}", f"{t:.1f}",
                     f"{rss / 2**20:,.0f}" if rss else "?", f"{hwm / 2**20:,.0f}" if hwm else "?",
                     "pass" if ok else "FAIL", last])
    if not quick:
        rows.append(["nbval, all notebooks", f"{total:.1f}", f"max {peak / 2**20:,.0f}", "-",
                     "FAIL" if failed else "pass", f"limit {RSS_LIMIT / 2**20:,.0f} MiB per notebook"])
    jb = _jupyter_book()
    if quick:
        rows.append(["jupyter-book build -W -n --keep-going", "-", "-", "-", "skipped", "(--quick)"])
    elif jb is None:
        rows.append(["jupyter-book build -W -n --keep-going", "-", "-", "-", "skipped", "jupyter-book not installed"])
    else:
        with tempfile.TemporaryDirectory(prefix="jb-bench-") as out:
            t, proc = _timed([*jb, "build", "-W", "-n", "--keep-going", "--path-output", out, "."], ROOT)
        ok = proc.returncode == 0
        rows.append(["jupyter-book build -W -n --keep-going", f"{t:.1f}", "-", "-", "pass" if ok else "FAIL",
                     "into a temporary --path-output"])
        if not ok:
            print((proc.stdout + proc.stderr)[-2000:])
    print(table(["step", "seconds", "peak RSS MiB (tree)", "largest process MiB", "result", "detail"], rows,
                aligns=["<", ">", ">", ">", "<", "<"]))
    print()
    return rows


def main(argv=None):
    cli(run, __doc__, quick_help="collect the notebooks only, no build: a smoke run", argv=argv)


if __name__ == "__main__":
    main()
