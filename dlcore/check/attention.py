"""Checker of the attention chapter: ``check_attention`` (scaled dot-product attention, forward
and backward).
"""
from __future__ import annotations

import numpy as np

from ._common import (_require_callable, _call, _close, _failw, _ok, _unpack,
                      _first_nonfinite, _quiet, _differs)

__all__ = ["check_attention"]

# ======================================================== attention: forward and backward

# (query, key, value shapes, mask kind, factor on q and k): a square case (L = S = E = Ev, so
# only values reveal a transpose), L != S with Ev != E, a causal mask, leading batch and head
# axes with a padding-like mask, and scores of about ±1e3 (a softmax without the max shift
# overflows)
_ATT_CASES = [(((4, 4), (4, 4), (4, 4)), None, 1.0),
              (((2, 3), (5, 3), (5, 4)), None, 1.0),
              (((5, 4), (5, 4), (5, 2)), "causal", 1.0),
              (((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)), "padding", 1.0),
              (((3, 8), (6, 8), (6, 3)), None, 35.0)]


def _softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _att_case(k):
    shapes, kind, factor = _ATT_CASES[k - 1]
    g_ = np.random.default_rng(1600 + k)
    q, key, v = (g_.standard_normal(s) for s in shapes)
    q, key = factor * q, factor * key
    L, S = shapes[0][-2], shapes[1][-2]
    mask = None
    if kind == "causal":
        mask = np.tril(np.ones((L, S), dtype=bool))
    elif kind == "padding":
        mask = np.ones((L, S), dtype=bool)
        mask[:, 4:] = False                         # the last two keys are padding
        mask[1, 2] = False
    dout = g_.standard_normal(shapes[0][:-2] + (L, shapes[2][-1]))
    return q, key, v, mask, dout


def _variants(q, k, v, mask, dout):
    """The pieces of a correct answer and of typical wrong ones."""
    T = lambda a: np.swapaxes(a, -1, -2)             # noqa: E731
    E = q.shape[-1]
    scale = 1.0 / np.sqrt(E)
    bias = 0.0 if mask is None else np.where(mask, 0.0, -np.inf)
    raw = q @ T(k)

    def probs(s):
        return _softmax(s + bias)
    p = probs(scale * raw)
    dp = dout @ T(v)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return {"p": p, "dp": dp, "ds": ds, "scale": scale, "T": T, "raw": raw, "probs": probs,
            "bias": bias}


def _forward_hint(out, q, k, v, mask, parts):
    T, raw, probs, scale = parts["T"], parts["raw"], parts["probs"], parts["scale"]
    cands = [
        (lambda: probs(raw) @ v,
         "you forgot the scale: the scores are q @ k.T / sqrt(E), E = q.shape[-1]."),
        (lambda: probs(raw / q.shape[-1]) @ v,
         "the scale is 1 / sqrt(E), not 1 / E: dividing by E shrinks the scores too much."),
        (lambda: _softmax(scale * raw + parts["bias"], axis=-2) @ v,
         "the softmax runs over the keys, the last axis (axis=-1): each query's weights over "
         "the S keys sum to 1."),
        (lambda: _softmax(scale * raw) @ v,
         "the mask is not applied: set the masked scores to -np.inf (or a large negative "
         "number) before the softmax, np.where(mask, s, -np.inf)."),
        (lambda: (_softmax(scale * raw) * mask) @ v,
         "you zeroed the masked weights after the softmax, so the rows no longer sum to 1: "
         "mask the scores before the softmax."),
        (lambda: _softmax(scale * raw * mask) @ v,
         "multiplying the scores by the mask gives the masked keys a score of 0, not -inf: "
         "they still get weight. Use np.where(mask, s, -np.inf)."),
    ]
    for f, h in cands:
        if mask is None and "mask" in h:
            continue
        ref = _quiet(f)
        if ref.shape == out.shape and np.all(np.isfinite(ref)) and _close(out, ref):
            return h
    return ("out = softmax(q @ k.T / sqrt(E) + mask) @ v, the softmax over the last axis, "
            "with -inf where the mask is False.")


def check_attention(fn) -> bool:
    """Check ``fn(q, k, v, mask, dout) -> (out, dq, dk, dv)``: scaled dot-product attention.

    ``q`` (..., L, E), ``k`` (..., S, E), ``v`` (..., S, Ev); ``mask`` is None or a boolean
    (L, S) array, True where a query may attend (PyTorch's SDPA convention), broadcast over
    the leading axes; ``out = softmax(q k^T / sqrt(E) + mask) v`` with the softmax over the
    keys; ``dout = dL/dout``. Compared with ``dlcore.attention`` on five cases (a square case,
    L != S with Ev != E, a causal mask, batch and head axes with a padding mask, scores of
    about ±1e3).
    """
    from ..attention import (scaled_dot_product_attention as sdpa,
                             scaled_dot_product_attention_backward as sdpa_bwd)
    _require_callable(fn, "fn(q, k, v, mask, dout) -> (out, dq, dk, dv)")
    title = "Attention forward and backward"
    names = ("out", "dq", "dk", "dv")
    for k_ in range(1, len(_ATT_CASES) + 1):
        q, k, v, mask, dout = _att_case(k_)
        ref = (sdpa(q, k, v, attn_mask=mask),) + sdpa_bwd(dout, q, k, v, attn_mask=mask)
        kind = _ATT_CASES[k_ - 1][1]
        where = (f"Case {k_} of {len(_ATT_CASES)} (q {q.shape}, k {k.shape}, v {v.shape}"
                 + (f", {kind} mask)" if kind else ", large scores)" if k_ == 5 else ")"))
        out, err = _call(fn, q, k, v, mask, dout)
        if err is not None:
            hint = ("the shapes are (..., L, E), (..., S, E), (..., S, Ev): transpose only the "
                    "last two axes, np.swapaxes(k, -1, -2), not k.T."
                    if q.ndim > 2 and any(t in err for t in ("mismatch", "align", "broadcast"))
                    else "run it by hand on arrays of these shapes and read the traceback.")
            return _failw(title, where, f"your function raised {err}", hint)
        arrays = _unpack(out, names, title, where)
        if arrays is None:
            return False
        for name, arr, r in zip(names, arrays, ref):
            if arr.shape != r.shape:
                hint = {"out": "out has shape (..., L, Ev): weights (L, S) times v (S, Ev).",
                        "dq": "dq has q's shape: dS @ k, with dS of shape (L, S).",
                        "dk": "dk has k's shape (S, E): dS^T @ q, not dS @ q.",
                        "dv": "dv has v's shape (S, Ev): P^T @ dout, not P @ dout."}[name]
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {r.shape}",
                              hint)
        bad = _first_nonfinite(arrays, names)
        if bad:
            if k_ == 5:
                hint = ("the scores reach about ±1e3 and exp overflows: subtract each row's "
                        "max before exp (softmax is unchanged by the shift).")
            elif mask is not None:
                hint = ("a row came out NaN: either the mask is inverted (True = may attend), "
                        "leaving a query with no key, or -inf was multiplied by 0; mask with "
                        "np.where(mask, s, -np.inf).")
            else:
                hint = "the inputs are finite and moderate: look for a division or np.empty."
            return _failw(title, where, f"{bad} contains NaN or inf", hint)
        got = dict(zip(names, arrays))
        want = dict(zip(names, ref))
        parts = _variants(q, k, v, mask, dout)
        T, p, dp, ds, scale = parts["T"], parts["p"], parts["dp"], parts["ds"], parts["scale"]
        if not _close(got["out"], want["out"]):
            return _failw(title, where, _differs("out", got["out"], want["out"]),
                          _forward_hint(got["out"], q, k, v, mask, parts))
        if not _close(got["dv"], want["dv"]):
            hint = ("dv = P^T @ dout (each key collects the gradient of the queries that read "
                    "it), not P @ dout." if _close(got["dv"], p @ dout) else
                    "dv = P^T @ dout, with P the attention weights of the forward pass.")
            return _failw(title, where, _differs("dv", got["dv"], want["dv"]), hint)
        wrong_ds = [
            (p * dp, "the softmax backward is missing its second term: dS = P * (dP - "
                     "sum(dP * P, axis=-1, keepdims=True)), dP = dout @ v^T."),
            (dp, "you skipped the softmax: the gradient reaching the scores is dS = P * (dP - "
                 "sum(dP * P, axis=-1, keepdims=True)), not dP = dout @ v^T."),
            (p * (dp - (dp * p).sum(axis=-2, keepdims=True)),
             "the row sum in the softmax backward runs over the keys (axis=-1), like the "
             "softmax."),
        ]
        for name in ("dq", "dk"):
            if _close(got[name], want[name]):
                continue

            def grad_of(d, sc=scale, name=name):
                return sc * (d @ k) if name == "dq" else sc * (T(d) @ q)
            hint = next((h for d, h in wrong_ds if _close(got[name], grad_of(d))), None)
            if hint is None and _close(got[name], grad_of(ds, 1.0)):
                hint = (f"{name} is missing the factor 1/sqrt(E): the scores are scaled, so is "
                        f"their gradient.")
            if hint is None and name == "dk" and _close(got[name], scale * (ds @ q)):
                hint = "dk = scale * dS^T @ q: the keys index the columns of dS."
            if hint is None:
                hint = ("with dS = P * (dP - sum(dP * P, axis=-1)): dq = dS @ k / sqrt(E) and "
                        "dk = dS^T @ q / sqrt(E).")
            return _failw(title, where, _differs(name, got[name], want[name]), hint)
    _ok(f"{title}: correct. out, dq, dk and dv match dlcore.attention on {len(_ATT_CASES)} "
        f"cases (L != S, a causal and a padding mask, batch and head axes, scores of ±1e3) "
        f"to rtol 1e-8.")
    return True
