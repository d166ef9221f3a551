"""Shared helpers for the benchmarks: timing, machine description, plain-text tables."""
from __future__ import annotations

import ctypes
import os
import platform
import statistics
import time

import numpy as np


def median_time(fn, *, repeat: int, warmup: int, number: int = 1) -> float:
    """Median wall time in seconds of ``fn()`` over ``repeat`` timed runs after ``warmup`` untimed ones.

    Each timed run calls ``fn`` ``number`` times and is divided by ``number``, so very short
    calls are not dominated by the clock's resolution.
    """
    for _ in range(warmup):
        fn()
    times = []
    clock = time.perf_counter
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn()
        times.append((clock() - t0) / number)
    return statistics.median(times)


def table(headers, rows, aligns=None) -> str:
    """A plain-text table (also valid Markdown) with right-aligned numbers."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(headers)]
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    def fmt(r):
        return "| " + " | ".join(f"{c:{a}{w}}" for c, a, w in zip(r, aligns, widths)) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == ">" else ("-" * (w + 2)) for a, w in zip(aligns, widths)) + "|"
    return "\n".join([fmt([str(h) for h in headers]), sep, *(fmt(r) for r in cells)])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _openblas_c(names, restype):
    """Call the first of the OpenBLAS C functions ``names`` (no arguments) found in an OpenBLAS
    loaded into this process (NumPy's, via /proc/self/maps); None if there is none."""
    try:
        with open("/proc/self/maps") as f:
            libs = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and ".so" in ln}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in names:
            f = getattr(lib, sym, None)
            if f is not None:
                f.restype = restype
                return f()
    return None


def _openblas_threads():
    """Threads of NumPy's OpenBLAS via its C API (when threadpoolctl is not installed)."""
    n = _openblas_c(("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                     "openblas_get_num_threads"), ctypes.c_int)
    return None if n is None else int(n)


def blas_info() -> dict:
    """BLAS name/version and thread count of NumPy (threadpoolctl if installed, else OpenBLAS's C API)."""
    info = {"name": "?", "version": "?", "threads": None, "threadpoolctl": None}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["name"], info["version"] = blas.get("name", "?"), blas.get("version", "?")
    except Exception:  # older NumPy: no dict mode
        pass
    try:
        from threadpoolctl import threadpool_info
        pools = threadpool_info()
        info["threadpoolctl"] = [
            f"{p.get('internal_api')} {p.get('version')} threads={p.get('num_threads')} arch={p.get('architecture')}"
            for p in pools]
        for p in pools:
            if p.get("user_api") == "blas":
                info["threads"] = p.get("num_threads")
                break
    except ImportError:
        pass
    if info["threads"] is None:
        info["threads"] = _openblas_threads()
    return info


def machine_lines(torch_mod=None) -> list[str]:
    b = blas_info()
    lines = [
        f"CPU: {_cpu_model()} ({os.cpu_count()} logical cores visible)",
        f"Python {platform.python_version()}, NumPy {np.__version__}, BLAS {b['name']} {b['version']} "
        f"({b['threads'] if b['threads'] is not None else '?'} threads)",
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(not set)')}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(not set)')}",
    ]
    if b["threadpoolctl"]:
        lines.append("threadpoolctl: " + "; ".join(b["threadpoolctl"]))
    else:
        lines.append("threadpoolctl: not installed (thread count read from OpenBLAS's C API)")
    if torch_mod is not None:
        lines.append(f"PyTorch {torch_mod.__version__} (CPU, eager), torch threads = {torch_mod.get_num_threads()}")
    lines += simd_lines(torch_mod)
    lines.append(load_line())
    return lines


def _openblas_arch():
    """The kernel family OpenBLAS runs ('Haswell', 'SkylakeX', ...; None if unknown), from
    threadpoolctl, else from OpenBLAS's C API (openblas_get_corename)."""
    try:
        from threadpoolctl import threadpool_info
        for p in threadpool_info():
            if p.get("internal_api") == "openblas":
                return p.get("architecture")
    except ImportError:
        pass
    name = _openblas_c(("scipy_openblas_get_corename64_", "openblas_get_corename64_",
                        "openblas_get_corename"), ctypes.c_char_p)
    return None if name is None else name.decode()


def _cpu_vector_isa() -> str:
    """The widest x86 vector extension the CPU reports: from /proc/cpuinfo's flags (NumPy's own
    detection reads a feature as absent once NPY_DISABLE_CPU_FEATURES switches it off)."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    if not flags:
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as feats
        except ImportError:                                        # NumPy 1.x
            from numpy.core._multiarray_umath import __cpu_features__ as feats
        flags = {k.lower() for k, v in feats.items() if v}
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "neither AVX2 nor AVX-512"


def simd_lines(torch_mod=None) -> list[str]:
    """Which vector instructions the libraries use: OpenBLAS held on AVX2 kernels by
    OPENBLAS_CORETYPE on an AVX-512 CPU runs narrower products than the CPU allows."""
    cpu = _cpu_vector_isa()
    arch = _openblas_arch()
    parts = [f"SIMD: the CPU has {cpu}", f"OpenBLAS kernels {arch or '?'}"]
    torch_cap = None
    if torch_mod is not None:
        try:
            torch_cap = torch_mod.backends.cpu.get_cpu_capability()
        except AttributeError:
            pass
        parts.append(f"PyTorch (ATen) capability {torch_cap or '?'}")
    lines = [", ".join(parts)]
    narrow = arch is not None and arch.lower() in ("haswell", "zen")      # AVX2 kernel families
    if cpu == "AVX-512" and narrow and os.environ.get("OPENBLAS_CORETYPE"):
        lines.append(f"note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} keeps OpenBLAS on "
                     f"its {arch} (AVX2) kernels on this AVX-512 CPU (without the variable OpenBLAS "
                     "picks its own)")
    return lines


def load_line() -> str:
    """The load average now (1, 5, 15 min) against the cores: above the core count, other
    processes were competing for the CPU and the timings are inflated."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average: unavailable"
    busy = " (machine shared: timings inflated)" if one > (os.cpu_count() or 1) * 0.5 else ""
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores{busy}"


def cpu_slug() -> str:
    """A file name for this CPU's results: 'intel-xeon-processor-skylake-ibrs', ...; with
    '-openblas-haswell' (say) when OPENBLAS_CORETYPE chooses OpenBLAS's kernels, so that runs
    on the same CPU with and without the variable keep separate files."""
    import re
    slug = re.sub(r"[^a-z0-9]+", "-", _cpu_model().lower().replace("(r)", "").replace("(tm)", "")).strip("-")
    core = os.environ.get("OPENBLAS_CORETYPE", "").strip()
    if core:
        slug += "-openblas-" + re.sub(r"[^a-z0-9]+", "-", core.lower()).strip("-")
    return slug


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}"


def match_torch_threads(torch_mod) -> int:
    """Give PyTorch as many threads as NumPy's BLAS uses (a fair comparison); returns it."""
    n = blas_info()["threads"] or torch_mod.get_num_threads()
    torch_mod.set_num_threads(n)
    return n


def timed_check(dl_step, torch_step, pairs_of, what: str, rtol=1e-9, atol=1e-12):
    """One step of each library, timed; ``pairs_of(dl_result, torch_result)`` lists the
    (dlcore array, torch array) pairs that must agree. Raises if they do not; returns the two
    wall times (a benchmark never times code that computes something else)."""
    t0 = time.perf_counter()
    mine = dl_step()
    t1 = time.perf_counter()
    theirs = torch_step()
    t2 = time.perf_counter()
    for a, b in pairs_of(mine, theirs):
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            raise AssertionError(f"dlcore and PyTorch disagree on {what}: max diff "
                                 f"{np.abs(a - b).max():.2e}")
    return t1 - t0, t2 - t1


ROUNDS = 7        # alternating rounds per timed comparison


def interleaved_rounds(fns, *, rounds, steps_per_round, warmup, settle=0.2):
    """Per-round median seconds per call of each fn, timed block by block in alternation.

    Each round runs every fn in turn: first untimed calls for at least ``warmup`` calls and
    ``settle`` seconds, then ``steps_per_round`` timed calls. The untimed lead-in matters:
    after a library's parallel region its worker threads keep spinning for a while
    (OpenBLAS's and OpenMP's wait policies), and on 2 cores those spinning threads would
    steal time from the other library's first steps. Alternating rounds spreads slow
    drifts of the machine (frequency, other load) over all fns alike, and a ratio taken
    round by round compares two libraries measured seconds apart (``ratio_cell``).
    Returns one list per fn, one median per round.
    """
    per_round = [[] for _ in fns]
    clock = time.perf_counter
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t_end, k = clock() + settle, 0
            while k < warmup or clock() < t_end:
                fn()
                k += 1
            samples = []
            for _ in range(steps_per_round):
                t0 = clock()
                fn()
                samples.append(clock() - t0)
            per_round[i].append(statistics.median(samples))
    return per_round


def ratio_cell(numerator_rounds, denominator_rounds):
    """The median of the round-by-round ratios, with their range: "1.05 (0.98-1.12)"."""
    ratios = [a / b for a, b in zip(numerator_rounds, denominator_rounds)]
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def rounds_line(steps: str) -> str:
    """The sentence under a table that says how its times and ratios were taken."""
    return (f"{ROUNDS} alternating rounds of {steps}, each after >= 0.3 s of untimed warm-up; "
            f"ratios: the median of the {ROUNDS} round-by-round ratios (their range in brackets)")


def compare_pair(dl_step, torch_step, check, quick, *, steps_per_round, warmup):
    """Check that both libraries agree (``check``), then time them in alternation.

    Returns (dlcore seconds, PyTorch seconds, ratio cell); in quick mode the checking step's
    single times, which are not a measurement."""
    t_dl, t_torch = check()
    r_dl, r_torch = [t_dl], [t_torch]
    if not quick:
        r_dl, r_torch = interleaved_rounds([dl_step, torch_step], rounds=ROUNDS,
                                           steps_per_round=steps_per_round, warmup=warmup, settle=0.3)
        t_dl, t_torch = statistics.median(r_dl), statistics.median(r_torch)
    return t_dl, t_torch, ratio_cell(r_dl, r_torch)


def cli(run, doc: str, quick_help="few steps: a smoke run, not a measurement", argv=None):
    """The command line every benchmark module shares: ``--quick`` or a full run."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=quick_help)
    run(quick=ap.parse_args(argv).quick)
