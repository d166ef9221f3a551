"""dlcore.parallel (collectives, tensor parallelism, pipeline schedules) and dlcore.ddp_demo
(torch.distributed with gloo on the loopback interface, two processes)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from dlcore import ddp_demo, parallel as P


@pytest.mark.parametrize("p, n", [(1, 5), (2, 6), (3, 7), (4, 16), (5, 3), (8, 64)])
def test_ring_all_reduce_sums_and_counts_traffic(p, n, rng):
    bufs = [rng.standard_normal(n) for _ in range(p)]
    copies = [b.copy() for b in bufs]
    results, sent = P.ring_all_reduce(bufs)
    for r in range(p):
        np.testing.assert_allclose(results[r], np.sum(copies, axis=0), rtol=1e-12, atol=1e-12)
    assert all(np.array_equal(a, b) for a, b in zip(bufs, copies))            # inputs untouched
    assert len({id(r) for r in results}) == p                                  # one array per rank
    chunks = [c.size for c in np.array_split(np.zeros(n), p)]
    # each rank sends p - 1 chunks in each phase: all chunks but one
    for r in range(p):
        assert sent[r] == 2 * n - chunks[r] - chunks[(r + 1) % p]
    if n % p == 0:
        assert all(s == 2 * (p - 1) * n // p for s in sent)


def test_reduce_scatter_gives_rank_r_chunk_r_and_all_gather_inverts(rng):
    bufs = [rng.standard_normal(10) for _ in range(4)]
    chunks, _ = P.ring_reduce_scatter(bufs)
    total = np.array_split(np.sum(bufs, axis=0), 4)
    for r in range(4):
        np.testing.assert_allclose(chunks[r], total[r], rtol=1e-12, atol=1e-12)
    full, sent = P.ring_all_gather(chunks)
    assert all(np.array_equal(f, np.concatenate(chunks)) for f in full)
    assert sent == [sum(c.size for c in chunks) - chunks[(r + 1) % 4].size for r in range(4)]


def test_naive_all_reduce_traffic(rng):
    bufs = [rng.standard_normal(6) for _ in range(4)]
    results, sent = P.naive_all_reduce(bufs)
    assert sent == [18, 6, 6, 6]
    np.testing.assert_allclose(results[3], np.sum(bufs, axis=0), rtol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_column_and_row_parallel_linear_equal_torch(k, rng):
    x, W, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    ref = torch.nn.functional.linear(torch.tensor(x), torch.tensor(W.T), torch.tensor(b)).numpy()
    y_col, parts_col = P.column_parallel_linear(x, W, b, k)
    y_row, parts_row = P.row_parallel_linear(x, W, b, min(k, 6))
    np.testing.assert_allclose(y_col, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_row, ref, rtol=1e-12, atol=1e-12)
    assert [q.shape[1] for q in parts_col] == [c.shape[1] for c in np.array_split(W, k, axis=1)]
    assert all(q.shape == (4, 5) for q in parts_row)
    y_nob, _ = P.row_parallel_linear(x, W, None, 2)
    np.testing.assert_allclose(y_nob, x @ W, rtol=1e-12, atol=1e-12)


def test_megatron_mlp_equals_unsplit_and_needs_the_sum(rng):
    x = rng.standard_normal((3, 4))
    W1, b1 = rng.standard_normal((4, 8)), rng.standard_normal(8)
    W2, b2 = rng.standard_normal((8, 4)), rng.standard_normal(4)
    gelu = lambda z: torch.nn.functional.gelu(torch.tensor(z)).numpy()  # noqa: E731
    ref = gelu(x @ W1 + b1) @ W2 + b2
    y, parts = P.megatron_mlp(x, W1, b1, W2, b2, 4, gelu)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    assert len(parts) == 4 and not np.allclose(parts[0] + b2, ref)   # one shard alone is wrong


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("p, m", [(1, 1), (1, 4), (2, 1), (4, 4), (4, 16), (6, 3), (8, 32)])
@pytest.mark.parametrize("tb", [1.0, 2.0])
def test_pipeline_bubble_matches_formula(schedule, p, m, tb):
    res = P.pipeline_schedule(p, m, schedule, backward_time=tb)
    assert res["makespan"] == pytest.approx((m + p - 1) * (1 + tb))
    assert res["bubble"] == pytest.approx(P.gpipe_bubble_fraction(p, m), abs=1e-12)
    want = [m] * p if schedule == "gpipe" else [min(p - s, m) for s in range(p)]
    assert res["peak_in_flight"] == want
    assert len(res["ops"]) == 2 * p * m
    # dependencies hold: a stage's forward of j starts after the previous stage's
    end = {(s, k, j): e for s, k, j, _, e in res["ops"]}
    for s, k, j, st, _ in res["ops"]:
        if k == "F" and s > 0:
            assert st >= end[(s - 1, "F", j)]
        if k == "B" and s < p - 1:
            assert st >= end[(s + 1, "B", j)]


@pytest.mark.parametrize("call, msg", [
    (lambda: P.ring_all_reduce([]), r"^buffers: expected a non-empty list"),
    (lambda: P.ring_all_reduce([np.zeros(3), np.zeros(4)]), r"^buffers\[1\]: expected shape \(3,\)"),
    (lambda: P.ring_all_reduce([np.zeros((2, 2))]), r"^buffers\[0\]: expected a 1-D array"),
    (lambda: P.ring_all_gather("ab"), r"^chunks: expected a non-empty list"),
    (lambda: P.split_columns(np.zeros((2, 3)), 4), r"^n_shards: expected at most 3"),
    (lambda: P.split_rows(np.zeros((2, 3)), 0), r"^n_shards: expected an integer >= 1"),
    (lambda: P.column_parallel_linear(np.zeros((2, 3)), np.zeros((4, 2)), None, 1), r"^x: expected shape \(N, 4\)"),
    (lambda: P.row_parallel_linear(np.zeros((2, 4)), np.zeros((4, 2)), np.zeros(3), 1), r"^b: expected shape \(2,\)"),
    (lambda: P.megatron_mlp(np.zeros((1, 2)), np.zeros((2, 4)), None, np.zeros((3, 2)), None, 2, np.tanh),
     r"^W2: expected 4 rows"),
    (lambda: P.megatron_mlp(np.zeros((1, 2)), np.zeros((2, 4)), None, np.zeros((4, 2)), None, 2, "tanh"),
     r"^activation: expected an element-wise function"),
    (lambda: P.pipeline_schedule(4, 8, "zb"), r"^schedule: expected 'gpipe' or '1f1b'"),
    (lambda: P.pipeline_schedule(0, 8), r"^n_stages: expected an integer >= 1"),
    (lambda: P.pipeline_schedule(2, 2, forward_time=0), r"^forward_time: expected a finite number > 0"),
    (lambda: P.gpipe_bubble_fraction(2, 2.0), r"^n_micro: expected an integer"),
])
def test_bad_arguments(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


# ----------------------------------------------------------------------------- ddp_demo

def test_reference_gradient_matches_torch_autograd():
    prob = ddp_demo.make_problem(3)
    p = prob["params"]
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    X, y = torch.tensor(prob["X"]), torch.tensor(prob["y"])
    out = torch.tanh(X @ t["0.W"] + t["0.b"]) @ t["2.W"] + t["2.b"]
    torch.nn.functional.mse_loss(out, y).backward()
    ref = ddp_demo.reference_gradient(prob)
    for k in p:
        np.testing.assert_allclose(ref[k], t[k].grad.numpy(), rtol=1e-12, atol=1e-14)
    assert ddp_demo.flatten(ref).shape == (sum(v.size for v in p.values()),)


def test_ddp_on_gloo_equals_full_batch_gradient_and_ring_all_reduce():
    configs = [(4, 4), (6, 2)]
    out = ddp_demo.run(configs, seed=1, timeout=180)
    prob = ddp_demo.make_problem(1)
    assert out["world_size"] == 2
    for sizes, res in zip(configs, out["results"]):
        full = ddp_demo.flatten(ddp_demo.reference_gradient(prob, np.arange(sum(sizes))))
        starts = np.cumsum((0,) + sizes)
        local = [ddp_demo.flatten(ddp_demo.reference_gradient(prob, np.arange(starts[r], starts[r + 1])))
                 for r in range(2)]
        for r in range(2):
            np.testing.assert_allclose(res["local"][r], local[r], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(res["ddp_global"][r], full, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(res["ddp_mean"][r], (local[0] + local[1]) / 2, rtol=1e-12, atol=1e-14)
            ring, _ = P.ring_all_reduce(res["local"])
            np.testing.assert_allclose(res["allreduced"][r], ring[r], rtol=1e-12, atol=1e-14)
        gap = np.abs(res["ddp_mean"][0] - full).max()
        assert (gap < 1e-12) == (sizes[0] == sizes[1])      # mean of means: right only if equal


def test_ddp_timeout_kills_every_worker(monkeypatch):
    started = []
    real = subprocess.Popen

    def spy(*a, **kw):
        proc = real(*a, **kw)
        started.append(proc)
        return proc
    monkeypatch.setattr(subprocess, "Popen", spy)
    with pytest.raises(TimeoutError, match="killed"):
        ddp_demo.run([(2, 2)], timeout=0.2)
    assert len(started) == 2 and all(p.poll() is not None for p in started)


@pytest.mark.parametrize("call, msg", [
    (lambda: ddp_demo.run([]), r"^configs: expected a non-empty list"),
    (lambda: ddp_demo.run([(8,)]), r"^configs\[0\]: expected a tuple of at least 2"),
    (lambda: ddp_demo.run([(8, 8), (4, 4, 4)]), r"^configs: expected the same number of ranks"),
    (lambda: ddp_demo.run([(10, 10)]), r"^configs\[0\]: expected shard sizes summing to at most 16"),
    (lambda: ddp_demo.run([(2, 0)]), r"^configs\[0\]\[1\]: expected an integer >= 1"),
    (lambda: ddp_demo.run([(2, 2)], timeout=0), r"^timeout: expected a finite number > 0"),
    (lambda: ddp_demo.reference_gradient({}), r"^problem: expected the dict"),
    (lambda: ddp_demo.reference_gradient(ddp_demo.make_problem(0), [99]), r"^rows: expected a non-empty"),
    (lambda: ddp_demo.flatten({"a": 1}), r"^grads: expected a dict with keys"),
    (lambda: ddp_demo.make_problem(-1), r"^seed: expected an integer >= 0"),
])
def test_ddp_bad_arguments(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
