"""Checker of the memory-and-parallelism chapter: ``check_ring_all_reduce`` (the sum of every
rank's vector, on every rank).
"""
from __future__ import annotations

import numpy as np

from ._common import _require_callable, _call, _as_array, _close, _failw, _ok

__all__ = ["check_ring_all_reduce"]

# ========================================================= parallel: ring all-reduce (sum)

# (ranks, length): equal chunks, more ranks, a length not divisible by the ranks, fewer
# elements than ranks (some chunks are empty), and a single rank
_ALLREDUCE_CASES = [(2, 6), (4, 8), (3, 7), (5, 3), (1, 4)]


def _allreduce_buffers(k):
    p, n = _ALLREDUCE_CASES[k - 1]
    g = np.random.default_rng(3100 + k)
    return [g.standard_normal(n) for _ in range(p)]


def _reduce_scatter_only(bufs):
    """Rank r holds the full sum only in its own chunk (the reduce-scatter's result)."""
    p, total = len(bufs), np.sum(bufs, axis=0)
    out = []
    for r in range(p):
        mine = [c.copy() for c in np.array_split(bufs[r], p)]
        mine[r] = np.array_split(total, p)[r]
        out.append(np.concatenate(mine))
    return out


def check_ring_all_reduce(fn) -> bool:
    """Check ``fn(buffers) -> results``: all-reduce with a sum. ``buffers`` is a list with one
    1-D array per rank (all the same length); ``results`` must be a list with one array per
    rank, each the element-wise sum of all buffers. Write it as the ring does: reduce-scatter
    (``p - 1`` steps in which every rank passes one chunk of ``np.array_split(v, p)`` to its
    right neighbour, who adds it), then all-gather (``p - 1`` steps passing the reduced
    chunks on). Compared with ``np.sum`` on five cases (2 to 5 ranks, a length not divisible
    by the ranks, fewer elements than ranks, one rank) to rtol 1e-8."""
    _require_callable(fn, "fn(buffers) -> list of per-rank sums")
    title = "Ring all-reduce"
    for k, (p, n) in enumerate(_ALLREDUCE_CASES, start=1):
        bufs = _allreduce_buffers(k)
        where = f"Case {k} of {len(_ALLREDUCE_CASES)} ({p} ranks, vectors of length {n})"
        out, err = _call(fn, [b.copy() for b in bufs])
        if err is not None:
            hint = ("with fewer elements than ranks some chunks are empty: "
                    "np.array_split handles that, indexing by n // p does not."
                    if n < p or n % p else "run it by hand on this case and read the traceback.")
            return _failw(title, where, f"your function raised {err}", hint)
        if not isinstance(out, (list, tuple)) or len(out) != p:
            got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (list, tuple)) else "")
            return _failw(title, where, f"expected a list of {p} arrays (one per rank), got {got}",
                          "return one result per rank: every rank ends with the sum.")
        total = np.sum(bufs, axis=0)
        for r, value in enumerate(out):
            y = _as_array(value)
            if y is None or y.shape != total.shape:
                shape = "not an array" if y is None else f"shape {y.shape}"
                return _failw(title, where, f"rank {r}'s result is {shape}, expected shape {total.shape}",
                              "each rank's result is a full vector of the input's length.")
        got = [_as_array(v) for v in out]
        if all(_close(y, total) for y in got):
            continue
        r = next(i for i, y in enumerate(got) if not _close(y, total))
        chunks = np.array_split(np.arange(n), p)
        bad = [c for c, idx in enumerate(chunks) if idx.size and not _close(got[r][idx], total[idx])]
        problem = f"rank {r} differs from the sum in chunk(s) {bad} (of np.array_split(v, {p}))"
        if all(_close(y, total / p) for y in got):
            hint = ("you returned the mean: all-reduce(sum) adds; data parallelism divides by "
                    "the number of ranks afterwards.")
        elif _close(got[0], total) and all(_close(y, b) for y, b in zip(got[1:], bufs[1:])):
            hint = ("only rank 0 has the sum: that is a reduce. An all-reduce leaves the sum on "
                    "every rank (add the all-gather phase).")
        elif all(_close(y, v) for y, v in zip(got, _reduce_scatter_only(bufs))):
            hint = ("each rank has the sum only in its own chunk: that is the reduce-scatter. "
                    "Add the all-gather phase: p - 1 steps passing the reduced chunks around.")
        else:
            hint = ("in reduce-scatter step t, rank r sends chunk (r - t - 1) % p to rank "
                    "(r + 1) % p, which adds it to its own copy; after p - 1 steps rank r holds "
                    "the sum of chunk r. Then pass the reduced chunks on for p - 1 steps.")
        return _failw(title, where, problem, hint)
    return _ok(f"{title}: correct. Every rank ends with the sum on all "
               f"{len(_ALLREDUCE_CASES)} cases (1 to 5 ranks, uneven and empty chunks).")
