"""Repeated experiments: run a random experiment under several seeds and summarise it.

Every claim in the book about the outcome of a random experiment (a training run, sampled data,
a random initialisation) is checked over at least five seeds, the same way in every chapter::

    from dlcore.experiment import repeat

    def run(seed):
        rng = np.random.default_rng(seed)
        ...                                   # build data and model from rng (and torch.manual_seed(seed))
        return {"sgd": loss_sgd, "adam": loss_adam}

    res = repeat(run)                        # seeds 0..4
    print(res["adam"])                       # 0.123 ± 0.004 (5 seeds)
    gap = res["sgd"] - res["adam"]           # paired by seed
    assert gap.min > 0                       # Adam wins in every seed
    assert gap.interval()[0] > 0             # and the 95 % interval of the mean gap excludes 0

``repeat`` returns a :class:`Summary` (or a dict of them when ``fn`` returns a dict). A Summary
holds one value per seed; arithmetic between Summaries of the same seeds is element-wise, i.e.
paired by seed, which is what a comparison that changes one factor at a time needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from ._validate import as_float_array, check_callable, check_int

__all__ = ["Summary", "repeat", "DEFAULT_SEEDS"]

DEFAULT_SEEDS = (0, 1, 2, 3, 4)

# Two-sided 95 % quantiles of Student's t, t_{0.975}(df), for df = 1..30 (beyond: 1.96 + small
# correction is close enough; a table keeps dlcore free of scipy).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def _t975(df: int) -> float:
    return _T975[df - 1] if df <= len(_T975) else 1.960 + 2.4 / df


@dataclass(frozen=True)
class Summary:
    """One scalar outcome measured once per seed.

    Attributes: ``values`` (float64 array, one entry per seed) and ``seeds``. Properties give
    the mean, the sample standard deviation (ddof=1), min and max; :meth:`interval` a 95 %
    t-interval for the mean. ``str()`` prints ``mean ± sd (n seeds)``."""

    values: np.ndarray
    seeds: tuple

    def __post_init__(self):
        if not isinstance(self.seeds, tuple) or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in self.seeds):
            raise ValueError(f"seeds must be a tuple of ints, got {self.seeds!r}")
        v = as_float_array(self.values, "values", allow_nonfinite=True)
        if v.ndim != 1 or v.size != len(self.seeds):
            raise ValueError(f"values must be 1-D with one entry per seed ({len(self.seeds)}), "
                             f"got shape {v.shape}")
        if v.size < 2:
            raise ValueError(f"a Summary needs at least 2 seeds, got {v.size}")
        if not np.isfinite(v).all():
            raise ValueError(f"values must be finite, got {v}")
        object.__setattr__(self, "values", v)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def mean(self) -> float:
        return float(self.values.mean())

    @property
    def sd(self) -> float:
        return float(self.values.std(ddof=1))

    @property
    def sem(self) -> float:
        """Standard error of the mean, sd / sqrt(n)."""
        return self.sd / math.sqrt(self.n)

    @property
    def min(self) -> float:
        return float(self.values.min())

    @property
    def max(self) -> float:
        return float(self.values.max())

    def interval(self) -> tuple[float, float]:
        """95 % t-interval for the mean over seeds: mean ± t_{0.975}(n-1) · sem."""
        h = _t975(self.n - 1) * self.sem
        return self.mean - h, self.mean + h

    def fmt(self, digits: int = 3) -> str:
        """``mean ± sd`` rounded to ``digits`` significant decimals (``g`` format for tiny or
        huge values)."""
        digits = check_int(digits, "digits", min_value=0)
        m, s = self.mean, self.sd
        if m != 0 and (abs(m) < 10 ** -digits or abs(m) >= 10 ** 6):
            return f"{m:.{digits}g} ± {s:.{max(1, digits - 1)}g}"
        return f"{m:.{digits}f} ± {s:.{digits}f}"

    def __str__(self) -> str:
        return f"{self.fmt()} ({self.n} seeds)"

    def __repr__(self) -> str:
        return f"Summary({self.fmt()}, n={self.n})"

    # paired arithmetic -------------------------------------------------------------------
    def _other(self, other):
        if isinstance(other, Summary):
            if other.seeds != self.seeds:
                raise ValueError(f"paired arithmetic needs the same seeds: {self.seeds} vs {other.seeds}")
            return other.values
        if isinstance(other, (int, float, np.floating, np.integer)) and not isinstance(other, bool):
            return float(other)
        return NotImplemented

    def _op(self, other, f):
        o = self._other(other)
        if o is NotImplemented:
            return NotImplemented
        return Summary(f(self.values, o), self.seeds)

    def __sub__(self, other):
        return self._op(other, lambda a, b: a - b)

    def __rsub__(self, other):
        return self._op(other, lambda a, b: b - a)

    def __add__(self, other):
        return self._op(other, lambda a, b: a + b)

    __radd__ = __add__

    def __mul__(self, other):
        return self._op(other, lambda a, b: a * b)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._other(other)
        if o is NotImplemented:
            return NotImplemented
        if np.any(np.asarray(o) == 0):
            raise ValueError("division by a Summary or number that is zero for some seed")
        return Summary(self.values / o, self.seeds)

    def __rtruediv__(self, other):
        o = self._other(other)
        if o is NotImplemented:
            return NotImplemented
        if np.any(self.values == 0):
            raise ValueError("division by a Summary that is zero for some seed")
        return Summary(o / self.values, self.seeds)


def _seed_tuple(seeds) -> tuple:
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be an int (how many, from 0) or a sequence of ints, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 2:
            raise ValueError(f"seeds must be at least 2 (the book uses 5 or more), got {seeds}")
        return tuple(range(int(seeds)))
    try:
        out = tuple(seeds)
    except TypeError:
        raise ValueError(f"seeds must be an int or a sequence of ints, got {seeds!r}") from None
    if len(out) < 2 or len(set(out)) != len(out) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in out):
        raise ValueError(f"seeds must be at least 2 distinct non-negative ints, got {out!r}")
    return tuple(int(s) for s in out)


def repeat(fn: Callable[[int], object], seeds: int | Iterable[int] = DEFAULT_SEEDS):
    """Call ``fn(seed)`` for each seed and summarise the results.

    ``fn`` returns a number, or a dict mapping names to numbers (the same keys for every seed).
    Returns a :class:`Summary`, or a dict of Summaries with ``fn``'s keys. ``seeds`` is an int
    (that many seeds, 0, 1, ...) or a sequence of distinct non-negative ints; at least 2, and
    the book's rule is at least 5."""
    check_callable(fn, "fn", "a callable fn(seed)")
    seeds = _seed_tuple(seeds)
    results = [fn(s) for s in seeds]
    first = results[0]
    if isinstance(first, dict):
        keys = list(first)
        for s, r in zip(seeds, results):
            if not isinstance(r, dict) or list(r) != keys:
                raise ValueError(f"fn must return the same keys for every seed: seed {s} gave "
                                 f"{list(r) if isinstance(r, dict) else type(r).__name__}, expected {keys}")
        return {k: Summary(np.array([_scalar(r[k], k, s) for s, r in zip(seeds, results)]), seeds)
                for k in keys}
    return Summary(np.array([_scalar(r, "result", s) for s, r in zip(seeds, results)]), seeds)


def _scalar(x, name, seed) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) and not (
            isinstance(x, np.ndarray) and x.shape == ()):
        raise ValueError(f"{name} for seed {seed} must be a real number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} for seed {seed} is not finite: {v}")
    return v
