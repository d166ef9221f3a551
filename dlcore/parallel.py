"""Parallel training written out in NumPy: collectives, tensor parallelism, pipeline schedules.

Devices are simulated by lists: ``buffers[r]`` is what rank ``r`` holds. Nothing runs in
parallel here; the point is to see (and count) what each rank computes and sends.

Collectives (ring algorithms, Patarasuk and Yuan 2009; what NCCL and gloo use for large
tensors):

* ``ring_reduce_scatter(buffers)``: each rank's vector is cut into ``p`` chunks
  (``np.array_split``); in ``p - 1`` steps every rank sends one chunk to its right neighbour,
  which adds it to its own copy. Afterwards rank ``r`` holds the sum over ranks of chunk ``r``.
* ``ring_all_gather(chunks)``: ``p - 1`` more steps pass the reduced chunks around the ring
  until every rank has all of them.
* ``ring_all_reduce(buffers)`` = reduce-scatter + all-gather: every rank ends with the sum.
  Each rank sends ``2 (p - 1)`` chunks, ``2 (p - 1) / p * n`` elements for vectors of length
  ``n`` divisible by ``p``: almost independent of ``p``, which is why the ring is
  bandwidth-optimal. ``naive_all_reduce`` (everyone sends to rank 0, which adds and sends the
  sum back) is there for comparison: rank 0 receives and sends ``(p - 1) n`` elements.
  Both return ``(results, sent)``, with ``sent[r]`` the number of elements rank ``r`` sent.

Tensor parallelism of ``y = x @ W + b`` (dlcore's layout, ``W`` of shape (in, out); PyTorch's
``nn.Linear.weight`` is ``W.T``), over ``p`` shards as in Megatron-LM (Shoeybi et al., 2019):

* ``column_parallel_linear``: shard ``i`` holds columns ``W[:, cols_i]`` and ``b[cols_i]``
  and computes ``x @ W_i + b_i``, a slice of the output's features; concatenating the
  slices (an all-gather) gives ``y``.
* ``row_parallel_linear``: shard ``i`` holds rows ``W[rows_i, :]`` and the matching slice of
  the input's features and computes the partial product ``x_i @ W_i``; their sum (an
  all-reduce) plus ``b``, added once, gives ``y``.
* ``megatron_mlp``: a column-parallel layer, the activation applied to each shard's slice,
  then a row-parallel layer: one all-reduce for the whole MLP, because an element-wise
  activation commutes with splitting the features.

Both return ``(y, partials)`` with the per-shard pieces, so a notebook can look at them.

Pipeline parallelism: ``pipeline_schedule(n_stages, n_micro, schedule)`` simulates GPipe
(all forwards, then all backwards) and 1F1B (PipeDream-flush: after a warm-up, one forward
and one backward in turn) with stages that wait for their inputs. It returns the timed ops,
the makespan, the bubble fraction (idle share of stage-time) and each stage's peak number of
micro-batches whose activations are held (forwarded, not yet backwarded).
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_int, check_positive

__all__ = ["ring_reduce_scatter", "ring_all_gather", "ring_all_reduce", "naive_all_reduce",
           "split_columns", "split_rows", "column_parallel_linear", "row_parallel_linear",
           "megatron_mlp", "pipeline_schedule", "gpipe_bubble_fraction"]


def _buffers(buffers, name="buffers"):
    if not isinstance(buffers, (list, tuple)) or not buffers:
        raise ValueError(f"{name}: expected a non-empty list with one 1-D array per rank, "
                         f"got {type(buffers).__name__}")
    arrays = [as_float_array(b, f"{name}[{r}]", ndim=1) for r, b in enumerate(buffers)]
    for r, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            raise ValueError(f"{name}[{r}]: expected shape {arrays[0].shape} (the shape of "
                             f"{name}[0]), got shape {a.shape}")
    return arrays


def ring_reduce_scatter(buffers):
    """Ring reduce-scatter. ``buffers``: one 1-D array per rank, all the same length.

    Returns ``(chunks, sent)``: ``chunks[r]`` is the sum over ranks of chunk ``r`` (the
    chunks of ``np.array_split(v, p)``), ``sent[r]`` the elements rank ``r`` sent."""
    arrays = _buffers(buffers)
    p = len(arrays)
    work = [[c.copy() for c in np.array_split(a, p)] for a in arrays]
    sent = [0] * p
    for t in range(p - 1):
        # every rank sends at once: first collect the messages, then deliver them
        msgs = [((r - 1 - t) % p, work[r][(r - 1 - t) % p].copy()) for r in range(p)]
        for r, (c, data) in enumerate(msgs):
            sent[r] += data.size
            work[(r + 1) % p][c] += data
    return [work[r][r] for r in range(p)], sent


def ring_all_gather(chunks):
    """Ring all-gather: rank ``r`` starts with ``chunks[r]`` (1-D arrays, lengths may differ);
    returns ``(full, sent)`` with ``full[r]`` the concatenation of all chunks on rank ``r``."""
    if not isinstance(chunks, (list, tuple)) or not chunks:
        raise ValueError(f"chunks: expected a non-empty list with one 1-D array per rank, "
                         f"got {type(chunks).__name__}")
    arrays = [as_float_array(c, f"chunks[{r}]", ndim=1) for r, c in enumerate(chunks)]
    p = len(arrays)
    have = [{r: arrays[r].copy()} for r in range(p)]
    sent = [0] * p
    for t in range(p - 1):
        msgs = [((r - t) % p, have[r][(r - t) % p]) for r in range(p)]
        for r, (c, data) in enumerate(msgs):
            sent[r] += data.size
            have[(r + 1) % p][c] = data.copy()
    return [np.concatenate([have[r][c] for c in range(p)]) for r in range(p)], sent


def ring_all_reduce(buffers):
    """Ring all-reduce (sum) = ``ring_reduce_scatter`` then ``ring_all_gather``.

    Returns ``(results, sent)``: ``results[r]`` is the element-wise sum of all buffers (a new
    array per rank), ``sent[r]`` the elements rank ``r`` sent, ``2 (p - 1) n / p`` when ``p``
    divides the length ``n``. The sum is the same as ``np.sum(buffers, axis=0)`` up to
    rounding: each chunk is added in a different order around the ring."""
    chunks, sent1 = ring_reduce_scatter(buffers)
    full, sent2 = ring_all_gather(chunks)
    return full, [a + b for a, b in zip(sent1, sent2)]


def naive_all_reduce(buffers):
    """All-reduce through rank 0: every other rank sends its vector to rank 0, which adds them
    and sends the sum back. Returns ``(results, sent)``; rank 0 sends ``(p - 1) n`` elements
    (and receives as many), every other rank ``n``."""
    arrays = _buffers(buffers)
    p, n = len(arrays), arrays[0].size
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    sent = [(p - 1) * n] + [n] * (p - 1)
    return [total.copy() for _ in range(p)], sent


def _n_shards(n_shards, size, what):
    k = check_int(n_shards, "n_shards", min_value=1)
    if k > size:
        raise ValueError(f"n_shards: expected at most {size} (the number of {what}), got {k}")
    return k


def split_columns(W, n_shards):
    """``W`` (in, out) cut into ``n_shards`` column blocks (``np.array_split`` along axis 1)."""
    W = as_float_array(W, "W", ndim=2)
    return np.array_split(W, _n_shards(n_shards, W.shape[1], "columns"), axis=1)


def split_rows(W, n_shards):
    """``W`` (in, out) cut into ``n_shards`` row blocks (``np.array_split`` along axis 0)."""
    W = as_float_array(W, "W", ndim=2)
    return np.array_split(W, _n_shards(n_shards, W.shape[0], "rows"), axis=0)


def _linear_args(x, W, b):
    x = as_float_array(x, "x", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"x: expected shape (N, {W.shape[0]}) (W has {W.shape[0]} rows), "
                         f"got shape {x.shape}")
    if b is not None:
        b = as_float_array(b, "b", ndim=1)
        if b.shape != (W.shape[1],):
            raise ValueError(f"b: expected shape ({W.shape[1]},), got shape {b.shape}")
    return x, W, b


def column_parallel_linear(x, W, b, n_shards):
    """``x @ W + b`` computed by ``n_shards`` devices that each hold a column block of ``W``.

    Returns ``(y, partials)``: ``partials[i] = x @ W[:, cols_i] + b[cols_i]`` (N, out_i) and
    ``y`` their concatenation along the features (an all-gather in a real run)."""
    x, W, b = _linear_args(x, W, b)
    blocks = split_columns(W, n_shards)
    bias = np.array_split(b, len(blocks)) if b is not None else [None] * len(blocks)
    partials = [x @ Wi + (bi if bi is not None else 0.0) for Wi, bi in zip(blocks, bias)]
    return np.concatenate(partials, axis=1), partials


def row_parallel_linear(x, W, b, n_shards):
    """``x @ W + b`` computed by ``n_shards`` devices that each hold a row block of ``W`` and
    the matching block of the input's features.

    Returns ``(y, partials)``: ``partials[i] = x[:, rows_i] @ W[rows_i, :]`` (N, out), and
    ``y = sum(partials) + b`` (the sum is an all-reduce in a real run; the bias is added once,
    after it)."""
    x, W, b = _linear_args(x, W, b)
    blocks = split_rows(W, n_shards)
    xs = np.array_split(x, len(blocks), axis=1)
    partials = [xi @ Wi for xi, Wi in zip(xs, blocks)]
    y = partials[0].copy()
    for part in partials[1:]:
        y += part
    if b is not None:
        y += b
    return y, partials


def megatron_mlp(x, W1, b1, W2, b2, n_shards, activation):
    """``activation(x @ W1 + b1) @ W2 + b2`` with W1 split by columns and W2 by rows over
    ``n_shards`` devices (Megatron-LM's MLP). ``activation`` is an element-wise function of an
    array. Returns ``(y, partials)`` with the row-parallel layer's partial outputs; device
    ``i`` never needs another device's hidden units, so the only communication is the sum of
    ``partials``."""
    x, W1, b1 = _linear_args(x, W1, b1)
    if not callable(activation):
        raise ValueError(f"activation: expected an element-wise function, got {type(activation).__name__}")
    W2 = as_float_array(W2, "W2", ndim=2)
    if W2.shape[0] != W1.shape[1]:
        raise ValueError(f"W2: expected {W1.shape[1]} rows (W1 has {W1.shape[1]} columns), "
                         f"got shape {W2.shape}")
    _, hidden = column_parallel_linear(x, W1, b1, n_shards)
    h = [np.asarray(activation(hi), dtype=np.float64) for hi in hidden]
    rows = np.array_split(np.arange(W2.shape[0]), len(h))
    partials = [hi @ W2[r] for hi, r in zip(h, rows)]
    y = partials[0].copy()
    for part in partials[1:]:
        y += part
    if b2 is not None:
        b2 = as_float_array(b2, "b2", ndim=1)
        if b2.shape != (W2.shape[1],):
            raise ValueError(f"b2: expected shape ({W2.shape[1]},), got shape {b2.shape}")
        y += b2
    return y, partials


def gpipe_bubble_fraction(n_stages, n_micro) -> float:
    """``(p - 1) / (m + p - 1)``: the idle share of a GPipe (or 1F1B) schedule with ``p``
    equal stages and ``m`` micro-batches."""
    p = check_int(n_stages, "n_stages", min_value=1)
    m = check_int(n_micro, "n_micro", min_value=1)
    return (p - 1) / (m + p - 1)


def _stage_ops(p, m, s, schedule):
    if schedule == "gpipe":
        return [("F", j) for j in range(m)] + [("B", j) for j in reversed(range(m))]
    warm = min(p - s - 1, m)
    ops = [("F", j) for j in range(warm)]
    for i in range(m - warm):
        ops += [("F", warm + i), ("B", i)]
    return ops + [("B", j) for j in range(m - warm, m)]


def pipeline_schedule(n_stages, n_micro, schedule="gpipe", *, forward_time=1.0,
                      backward_time=2.0):
    """Simulate a pipeline of ``n_stages`` equal stages on ``n_micro`` micro-batches.

    ``schedule``: ``"gpipe"`` (every stage runs all forwards, then all backwards in reverse
    order) or ``"1f1b"`` (stage ``s`` runs ``min(p - s - 1, m)`` warm-up forwards, then
    alternates one forward and one backward, then drains the backwards). A forward of
    micro-batch ``j`` on stage ``s`` waits for stage ``s - 1``'s forward of ``j``; a backward
    waits for stage ``s + 1``'s backward of ``j`` (the last stage: for its own forward).

    Returns a dict: ``ops`` (a list of ``(stage, kind, micro, start, end)``), ``makespan``,
    ``bubble`` (``1 - busy / (p * makespan)``) and ``peak_in_flight`` (per stage, the most
    micro-batches forwarded and not yet backwarded at any time: whose activations it holds)."""
    p = check_int(n_stages, "n_stages", min_value=1)
    m = check_int(n_micro, "n_micro", min_value=1)
    if schedule not in ("gpipe", "1f1b"):
        raise ValueError(f"schedule: expected 'gpipe' or '1f1b', got {schedule!r}")
    tf = check_positive(forward_time, "forward_time")
    tb = check_positive(backward_time, "backward_time")
    queues = [_stage_ops(p, m, s, schedule) for s in range(p)]
    done, free, pos, ops = {}, [0.0] * p, [0] * p, []
    while any(pos[s] < len(queues[s]) for s in range(p)):
        progressed = False
        for s in range(p):
            if pos[s] == len(queues[s]):
                continue
            kind, j = queues[s][pos[s]]
            if kind == "F":
                dep = None if s == 0 else ("F", s - 1, j)
            else:
                dep = ("F", s, j) if s == p - 1 else ("B", s + 1, j)
            if dep is not None and dep not in done:
                continue
            start = max(free[s], done[dep] if dep is not None else 0.0)
            end = start + (tf if kind == "F" else tb)
            done[(kind, s, j)] = end
            free[s] = end
            pos[s] += 1
            ops.append((s, kind, j, start, end))
            progressed = True
        if not progressed:                       # cannot happen for these two schedules
            raise RuntimeError("pipeline_schedule: deadlock")
    makespan = max(end for *_, end in ops)
    busy = m * (tf + tb) * p
    peak = []
    for s in range(p):
        events = sorted([(st, 1) for (ss, k, _, st, _) in ops if ss == s and k == "F"]
                        + [(en, -1) for (ss, k, _, _, en) in ops if ss == s and k == "B"],
                        key=lambda e: (e[0], e[1]))
        level = best = 0
        for _, d in events:
            level += d
            best = max(best, level)
        peak.append(best)
    ops.sort(key=lambda o: (o[3], o[0]))
    return {"ops": ops, "makespan": makespan, "bubble": 1.0 - busy / (p * makespan),
            "peak_in_flight": peak}
