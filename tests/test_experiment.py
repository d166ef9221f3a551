"""dlcore.experiment: repeated experiments over seeds, summaries and paired comparisons."""
import math

import numpy as np
import pytest

from dlcore.experiment import DEFAULT_SEEDS, Summary, repeat


def test_repeat_scalar_calls_fn_once_per_seed_in_order():
    calls = []
    s = repeat(lambda seed: calls.append(seed) or float(seed))
    assert calls == list(DEFAULT_SEEDS) and s.seeds == DEFAULT_SEEDS
    assert s.mean == 2.0 and s.min == 0.0 and s.max == 4.0
    assert math.isclose(s.sd, np.std([0, 1, 2, 3, 4], ddof=1))
    assert math.isclose(s.sem, s.sd / math.sqrt(5))


def test_interval_is_the_t_interval():
    vals = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 0.5])
    s = Summary(vals, tuple(range(6)))
    lo, hi = s.interval()
    half = 2.571 * vals.std(ddof=1) / math.sqrt(6)  # t_{0.975}(5) = 2.571
    assert math.isclose(lo, vals.mean() - half) and math.isclose(hi, vals.mean() + half)


def test_interval_covers_the_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        lo, hi = Summary(rng.normal(1.0, 2.0, size=5), DEFAULT_SEEDS).interval()
        hits += lo <= 1.0 <= hi
    assert 0.93 < hits / 2000 < 0.97


def test_dict_results_and_paired_arithmetic():
    res = repeat(lambda seed: {"a": seed + 1.0, "b": 2.0 * (seed + 1)}, seeds=[3, 5, 7])
    assert set(res) == {"a", "b"} and res["a"].seeds == (3, 5, 7)
    gap = res["b"] - res["a"]
    np.testing.assert_array_equal(gap.values, [4.0, 6.0, 8.0])
    ratio = res["b"] / res["a"]
    np.testing.assert_array_equal(ratio.values, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal((1 - res["a"]).values, [-3.0, -5.0, -7.0])
    np.testing.assert_array_equal((res["a"] * 2).values, res["b"].values)


def test_formatting():
    s = Summary(np.array([0.1234, 0.1250, 0.1300, 0.1210, 0.1290]), DEFAULT_SEEDS)
    assert str(s) == f"{s.mean:.3f} ± {s.sd:.3f} (5 seeds)"
    tiny = Summary(np.array([1e-9, 2e-9, 3e-9]), (0, 1, 2))
    assert tiny.fmt() == "2e-09 ± 1e-09"


@pytest.mark.parametrize("seeds", [1, 0, -3, True, [1], [1, 1], [0, -1], ["a", "b"], None, 2.5])
def test_bad_seeds(seeds):
    with pytest.raises(ValueError, match="seeds"):
        repeat(lambda s: 1.0, seeds=seeds)


@pytest.mark.parametrize("out", [float("nan"), float("inf"), "x", None, True, np.ones(2)])
def test_bad_results(out):
    with pytest.raises(ValueError):
        repeat(lambda s: out)


def test_bad_fn_and_mismatched_keys_and_seeds():
    with pytest.raises(ValueError, match="callable"):
        repeat(3)
    with pytest.raises(ValueError, match="same keys"):
        repeat(lambda s: {"a": 1.0} if s == 0 else {"b": 1.0})
    a = Summary(np.ones(3), (0, 1, 2))
    b = Summary(np.ones(3), (1, 2, 3))
    with pytest.raises(ValueError, match="same seeds"):
        a - b
    with pytest.raises(ValueError, match="zero"):
        a / Summary(np.array([1.0, 0.0, 1.0]), (0, 1, 2))
    with pytest.raises(ValueError, match="one entry per seed"):
        Summary(np.ones(4), (0, 1, 2))
