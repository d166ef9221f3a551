"""dlcore.data.minibatches: one epoch covers every example once, the same batches as a
PyTorch DataLoader fed the same permutation, memmap-friendly, and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from dlcore.data import minibatches


@pytest.mark.parametrize("n,bs", [(1, 1), (10, 3), (10, 5), (10, 10), (7, 100), (64, 8)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_one_epoch_covers_every_example_once(n, bs, shuffle):
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    y = np.arange(n)
    batches = list(minibatches(X, y, bs, shuffle=shuffle, rng=3))
    sizes = [len(b[1]) for b in batches]
    assert len(batches) == -(-n // bs)                              # ceil(n / bs)
    assert sizes[:-1] == [bs] * (len(batches) - 1) and sizes[-1] == n - bs * (len(batches) - 1)
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(n))
    for xb, yb in batches:                                          # pairs stay aligned
        np.testing.assert_array_equal(xb, X[yb])
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(n))


def test_order_is_rng_permutation_and_reproducible():
    X, y = np.zeros((13, 1)), np.arange(13)
    got = np.concatenate([yb for _, yb in minibatches(X, y, 4, rng=7)])
    np.testing.assert_array_equal(got, np.random.default_rng(7).permutation(13))
    g = np.random.default_rng(7)
    got_g = np.concatenate([yb for _, yb in minibatches(X, y, 4, rng=g)])
    np.testing.assert_array_equal(got_g, got)


@pytest.mark.parametrize("n,bs", [(10, 3), (32, 8), (5, 7)])
def test_same_batches_as_torch_dataloader(n, bs):
    g = np.random.default_rng(0)
    X, y = g.normal(size=(n, 3)), g.integers(0, 4, n)
    perm = np.random.default_rng(1).permutation(n)
    ds = TensorDataset(torch.tensor(X, dtype=torch.float64), torch.tensor(y))
    loader = DataLoader(ds, batch_size=bs, sampler=perm.tolist(), num_workers=0)
    ours = list(minibatches(X, y, bs, rng=np.random.default_rng(1)))
    theirs = list(loader)
    assert len(ours) == len(theirs)
    for (xb, yb), (xt, yt) in zip(ours, theirs):
        np.testing.assert_array_equal(xb, xt.numpy())
        np.testing.assert_array_equal(yb, yt.numpy())


def test_batches_are_copies_and_dtype_is_kept():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6, dtype=np.int32)
    xb, yb = next(minibatches(X, y, 4, shuffle=False))
    assert xb.dtype == np.float32 and yb.dtype == np.int32
    xb[:] = -1
    assert X.min() == 0                                             # X untouched


def test_memmap_is_read_one_batch_at_a_time(tmp_path):
    path = tmp_path / "x.dat"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(20, 3))
    X[:] = np.arange(60, dtype=np.float32).reshape(20, 3)
    X.flush()
    Xm = np.load(path, mmap_mode="r")
    out = list(minibatches(Xm, np.arange(20), 6, rng=0))
    assert all(type(xb) is np.ndarray for xb, _ in out)            # plain arrays, not memmaps
    for xb, yb in out:
        np.testing.assert_array_equal(xb, X[yb])


def test_inputs_are_checked_before_the_first_batch():
    with pytest.raises(ValueError):
        minibatches(np.zeros((3, 2)), np.zeros(2), 2)               # no next() needed


def raises(match):
    return pytest.raises(ValueError, match=match)


@pytest.mark.parametrize("call,msg", [
    (lambda: minibatches(np.zeros((3, 2)), np.zeros(2), 2), r"^y: expected 3 labels .* got 2"),
    (lambda: minibatches(np.zeros((0, 2)), np.zeros(0), 2), r"^X: expected at least one example"),
    (lambda: minibatches(np.float64(1.0), np.zeros(1), 1), r"^X: expected an array with a first"),
    (lambda: minibatches(np.zeros(3), np.float64(1.0), 1), r"^y: expected an array with a first"),
    (lambda: minibatches(np.array(["a", "b"]), np.zeros(2), 1), r"^X: expected a real numeric array, got dtype <U1"),
    (lambda: minibatches(np.zeros(3), np.zeros(3), 0), r"^batch_size: expected an integer >= 1, got 0"),
    (lambda: minibatches(np.zeros(3), np.zeros(3), 2.0), r"^batch_size: expected an integer, got float 2.0"),
    (lambda: minibatches(np.zeros(3), np.zeros(3), True), r"^batch_size: expected an integer, got bool True"),
    (lambda: minibatches(np.zeros(3), np.zeros(3), 1, shuffle="yes"), r"^shuffle: expected a bool \(True or False\), got str 'yes'"),
    (lambda: minibatches(np.zeros(3), np.zeros(3), 1, rng=-1), r"^rng: expected None, a non-negative int seed or a numpy Generator, got int -1"),
    (lambda: minibatches(np.zeros(3), np.zeros(3), 1, rng="0"), r"^rng: expected None, a non-negative int seed"),
])
def test_bad_inputs_raise_naming_the_argument(call, msg):
    with raises(msg):
        call()
