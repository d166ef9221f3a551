"""Checkers of the gradient-descent, optimizers and initialization chapters:
``check_sgd_momentum_step``, ``check_adam_step`` and ``check_clip_grad_norm``.
"""
from __future__ import annotations

import numpy as np

from ._common import (RTOL, ATOL, _require_callable, _call, _as_array, _close, _failw, _ok,
                      _unpack, _first_nonfinite, _step_close, _quiet, _differs)

__all__ = ["check_sgd_momentum_step", "check_adam_step", "check_clip_grad_norm"]

# =============================================== gradient descent: SGD with momentum

# (shape, lr, momentum, first step): on the first step the velocity is zero (PyTorch
# then starts the buffer at g, which is mu * 0 + g)
# (lr differs from 1 - momentum everywhere, so that a damped velocity (1 - momentum) * grad
# cannot pass for lr * grad)
_SGD_CASES = [((3,), 0.2, 0.9, True), ((2, 3), 0.05, 0.9, False), ((4,), 0.3, 0.5, False),
              ((3, 3), 0.02, 0.99, False)]


def _sgd_reference(param, grad, velocity, lr, momentum):
    from ..optim import SGD
    opt = SGD(lr=lr, momentum=momentum)
    params = {"p": param.copy()}
    opt.state["p"] = {"step": 1, "momentum_buffer": velocity.copy()}
    opt.step(params, {"p": grad.copy()})
    return params["p"], opt.state["p"]["momentum_buffer"]


def check_sgd_momentum_step(fn) -> bool:
    """Check ``fn(param, grad, velocity, lr, momentum) -> (new_param, new_velocity)``.

    One step of SGD with momentum in PyTorch's convention (``torch.optim.SGD``, no
    dampening, no Nesterov)::

        v <- momentum * v + grad;    param <- param - lr * v

    Return new arrays (or the updated inputs). Compared with ``dlcore.optim.SGD`` on four
    cases, the first with a zero velocity (the first step); the parameter is checked
    through its update ``new_param - param``.
    """
    _require_callable(fn, "fn(param, grad, velocity, lr, momentum) -> (new_param, new_velocity)")
    title = "SGD momentum step"
    for k, (shape, lr, mu, first) in enumerate(_SGD_CASES, start=1):
        g_ = np.random.default_rng(500 + k)
        p, grad = g_.standard_normal(shape), g_.standard_normal(shape)
        vel = np.zeros(shape) if first else g_.standard_normal(shape)
        ref_p, ref_v = _sgd_reference(p, grad, vel, lr, mu)
        where = (f"Case {k} of {len(_SGD_CASES)} (param {shape}, lr {lr}, momentum {mu}"
                 + (", zero velocity)" if first else ")"))
        out, err = _call(fn, p, grad, vel, lr, mu)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "run it by hand on arrays of this shape and read the traceback.")
        arrays = _unpack(out, ("new_param", "new_velocity"), title, where)
        if arrays is None:
            return False
        new_p, new_v = arrays
        for name, arr in (("new_param", new_p), ("new_velocity", new_v)):
            if arr.shape != shape:
                return _failw(title, where, f"{name} has shape {arr.shape}, expected {shape}",
                              "the update is element-wise: every array keeps param's shape.")
        bad = _first_nonfinite(arrays, ("new_param", "new_velocity"))
        if bad:
            return _failw(title, where, f"{bad} contains NaN or inf",
                          "the inputs are finite and moderate: look for a division or np.empty.")
        v_ok, p_ok = _close(new_v, ref_v), _step_close(new_p, p, ref_p)
        if v_ok and p_ok:
            continue
        if v_ok:
            variants = [
                (p + lr * ref_v, "the parameter moves uphill: param - lr * v, not param + lr * v."),
                (p - lr * vel, "you stepped with the old velocity: update v first, then "
                               "param - lr * v with the new v."),
                (p - lr * grad, "you stepped along the raw gradient: with momentum the step "
                                "is param - lr * v, with the new velocity v."),
                (p - lr * (grad + mu * ref_v), "that is the Nesterov step (grad + momentum * v); "
                                               "plain momentum steps along v itself."),
            ]
            hint = next((h for v, h in variants if _step_close(new_p, p, v)),
                        "the velocity is right: the step is param - lr * new_velocity.")
            return _failw(title, where, _differs("new_param", new_p, ref_p), hint)
        variants = [
            (mu * vel - lr * grad,
             "that is the other convention (v = momentum * v - lr * grad; param += v, as in "
             "Sutskever et al. and CS231n). PyTorch's buffer holds v = momentum * v + grad, "
             "without lr and without the minus sign; the step is param - lr * v."),
            (mu * vel + lr * grad,
             "lr belongs in the parameter step, not in the velocity: PyTorch keeps "
             "v = momentum * v + grad and steps param - lr * v (so lr can change during "
             "training without rescaling v)."),
            (mu * vel + (1 - mu) * grad,
             "you damped the gradient, v = momentum * v + (1 - momentum) * grad (an average): "
             "PyTorch's default adds the full gradient, v = momentum * v + grad."),
            (mu * vel - grad,
             "the velocity has the wrong sign: v = momentum * v + grad accumulates the gradient; "
             "the minus sign is in the step, param - lr * v."),
            (vel, "new_velocity is the old velocity: return the updated v."),
            (grad, "the new velocity is momentum * v + grad, not grad alone: keep the "
                   "momentum term."),
        ]
        hint = next((h for v, h in variants if _close(new_v, v)),
                    "v = momentum * v + grad, then param = param - lr * v.")
        return _failw(title, where, _differs("new_velocity", new_v, ref_v), hint)
    _ok(f"{title}: correct. new_param and new_velocity match dlcore.optim.SGD "
          f"(torch.optim.SGD's convention) on {len(_SGD_CASES)} cases to rtol 1e-8.")
    return True


# =============================================================== optimizers: Adam

# (shape, gradient scale, lr, (beta1, beta2), eps, steps): the second sequence has gradients
# of about 1e-5, so that sqrt(v_hat) ~ 1e-5 and the place of eps matters
_ADAM_CASES = [((2, 3), 1.0, 1e-2, (0.9, 0.999), 1e-8, 3),
               ((4,), 1e-5, 1e-3, (0.9, 0.999), 1e-8, 3),
               ((3,), 1.0, 0.1, (0.5, 0.75), 1e-6, 2)]


def _adam_reference(p, grad, m, v, t, lr, betas, eps):
    from ..optim import Adam
    opt = Adam(lr=lr, betas=betas, eps=eps)
    params = {"p": p.copy()}
    opt.state["p"] = {"step": t - 1, "m": m.copy(), "v": v.copy()}
    opt.step(params, {"p": grad.copy()})
    return params["p"], opt.state["p"]["m"], opt.state["p"]["v"]


def _adam_variant(p, grad, m, v, t, lr, b1, b2, eps, *, correct_m=True, correct_v=True,
                  t_shift=0, eps_inside=False, sign=1.0):
    m2 = b1 * m + (1 - b1) * grad
    v2 = b2 * v + (1 - b2) * grad * grad
    tt = t + t_shift
    mh = m2 / (1 - b1 ** tt) if correct_m else m2
    vh = v2 / (1 - b2 ** tt) if correct_v else v2
    denom = np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps
    return p - sign * lr * mh / denom


def check_adam_step(fn) -> bool:
    """Check ``fn(param, grad, m, v, t, lr, beta1, beta2, eps) -> (new_param, m, v)``.

    One Adam step as ``torch.optim.Adam`` (no weight decay); ``t`` is the number of this
    step, 1 on the first::

        m <- beta1 m + (1 - beta1) g;          v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t);             v_hat = v / (1 - beta2^t)
        param <- param - lr * m_hat / (sqrt(v_hat) + eps)

    Return the raw moments ``m``, ``v`` (not the bias-corrected ones). Compared with
    ``dlcore.optim.Adam`` along three short sequences of steps (t = 1, 2, ...), one with
    gradients of about 1e-5 where eps matters; the parameter is checked through its update.
    """
    _require_callable(fn, "fn(param, grad, m, v, t, lr, beta1, beta2, eps) -> (new_param, m, v)")
    title = "Adam step"
    names = ("new_param", "m", "v")
    total = sum(c[-1] for c in _ADAM_CASES)
    k = 0
    for s, (shape, scale, lr, (b1, b2), eps, steps) in enumerate(_ADAM_CASES, start=1):
        g_ = np.random.default_rng(600 + s)
        p, m, v = g_.standard_normal(shape), np.zeros(shape), np.zeros(shape)
        for t in range(1, steps + 1):
            k += 1
            grad = scale * g_.standard_normal(shape)
            ref_p, ref_m, ref_v = _adam_reference(p, grad, m, v, t, lr, (b1, b2), eps)
            where = (f"Case {k} of {total} (param {shape}, t = {t}"
                     + (", gradients ~1e-5)" if scale < 1e-3 else ")"))
            out, err = _call(fn, p, grad, m, v, t, lr, b1, b2, eps)
            if err is not None:
                hint = ("at t = 1 the corrections are 1 - beta1 and 1 - beta2: with t counted "
                        "from 0, 1 - beta1**0 = 0 and you divide by zero."
                        if t == 1 and "ZeroDivision" in err else
                        "run it by hand on arrays of this shape and read the traceback.")
                return _failw(title, where, f"your function raised {err}", hint)
            arrays = _unpack(out, names, title, where)
            if arrays is None:
                return False
            for name, arr in zip(names, arrays):
                if arr.shape != shape:
                    return _failw(title, where, f"{name} has shape {arr.shape}, expected {shape}",
                                  "Adam is element-wise: every array keeps param's shape.")
            new_p, new_m, new_v = arrays
            bad = _first_nonfinite(arrays, names)
            if bad:
                hint = ("at t = 1 the corrections are 1 - beta1 and 1 - beta2: with t counted "
                        "from 0, 1 - beta1**0 = 0 and m_hat = m / 0."
                        if t == 1 else "look for a division by zero or a sqrt of a negative.")
                return _failw(title, where, f"{bad} contains NaN or inf", hint)
            args = (p, grad, m, v, t, lr, b1, b2, eps)
            if not _close(new_m, ref_m):
                if _close(new_m, ref_m / (1 - b1 ** t)):
                    hint = ("you returned the bias-corrected m_hat: return the raw moment m "
                            "(the state for the next step); correct only inside the step.")
                elif _close(new_m, b1 * m + grad):
                    hint = "m is a moving average: m = beta1 * m + (1 - beta1) * grad."
                else:
                    hint = "m = beta1 * m + (1 - beta1) * grad."
                return _failw(title, where, _differs("m", new_m, ref_m), hint)
            if not _close(new_v, ref_v):
                if _close(new_v, ref_v / (1 - b2 ** t)):
                    hint = ("you returned the bias-corrected v_hat: return the raw moment v; "
                            "correct only inside the step.")
                elif _close(new_v, b2 * v + (1 - b2) * np.abs(grad)) \
                        or _close(new_v, b2 * v + (1 - b2) * grad):
                    hint = "v averages the squared gradient: v = beta2 * v + (1 - beta2) * grad**2."
                else:
                    hint = "v = beta2 * v + (1 - beta2) * grad**2."
                return _failw(title, where, _differs("v", new_v, ref_v), hint)
            if not _step_close(new_p, p, ref_p):
                variants = [
                    (dict(correct_m=False, correct_v=False),
                     "no bias correction: m and v start at 0, so early on they are too small by "
                     "factors 1 - beta1**t and 1 - beta2**t; divide by them (m_hat, v_hat)."),
                    (dict(correct_v=False), "you bias-corrected m but not v: v_hat = v / (1 - beta2**t)."),
                    (dict(correct_m=False), "you bias-corrected v but not m: m_hat = m / (1 - beta1**t)."),
                    (dict(eps_inside=True),
                     "eps goes outside the square root: sqrt(v_hat) + eps, not sqrt(v_hat + eps) "
                     "(with gradients ~1e-5 the two differ by a factor of about 10)."),
                    (dict(t_shift=1),
                     "t is already the number of this step (1 on the first): do not add 1 to it."),
                    (dict(t_shift=-1),
                     "t starts at 1, not 0: the correction at step t is 1 - beta**t with the "
                     "step's own number."),
                    (dict(sign=-1.0), "the parameter moves uphill: param - lr * m_hat / (...)."),
                ]
                hint = next((h for kw, h in variants
                             if _step_close(new_p, p, _quiet(lambda: _adam_variant(*args, **kw)))),
                            "param - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - "
                            "beta1**t) and v_hat = v / (1 - beta2**t) from the new m and v.")
                return _failw(title, where, _differs("new_param", new_p, ref_p), hint)
            p, m, v = ref_p, ref_m, ref_v
    _ok(f"{title}: correct. new_param, m and v match dlcore.optim.Adam (torch.optim.Adam) on "
          f"{total} steps of {len(_ADAM_CASES)} sequences, including gradients of ~1e-5, "
          "to rtol 1e-8.")
    return True


# ======================================================= initialization: clip grad norm

# (shapes, scale, max_norm): case 2 is below the threshold (nothing may change); in case 4
# every array alone is below max_norm but together they are above it
_CLIP_CASES = [([(3, 2), (4,), (2, 2, 2)], 2.0, 1.0), ([(3, 2), (4,), (2, 2, 2)], 0.1, 1.0),
               ([(5,)], 3.0, 2.0), ([(2, 2), (2, 2), (2, 2), (2, 2)], 0.35, 1.0)]


def _clip_reference(arrays, max_norm):
    from ..clip import clip_grad_norm
    ref = [a.copy() for a in arrays]
    total = clip_grad_norm(ref, max_norm)
    return ref, total


def check_clip_grad_norm(fn) -> bool:
    """Check ``fn(grads, max_norm) -> total_norm``: clip a list of arrays by their global norm.

    As ``torch.nn.utils.clip_grad_norm_``: ``total = sqrt(sum_i ||g_i||^2)`` over *all* the
    arrays, every array is multiplied **in place** by ``min(1, max_norm / (total + 1e-6))``,
    and the norm before clipping is returned. Compared with ``dlcore.clip.clip_grad_norm``
    on four cases, one below the threshold (nothing may change).
    """
    _require_callable(fn, "fn(grads, max_norm) -> total_norm")
    title = "Clip grad norm"
    for k, (shapes, scale, max_norm) in enumerate(_CLIP_CASES, start=1):
        g_ = np.random.default_rng(700 + k)
        orig = [scale * g_.standard_normal(s) for s in shapes]
        ref, ref_total = _clip_reference(orig, max_norm)
        clipping = ref_total > max_norm
        where = (f"Case {k} of {len(_CLIP_CASES)} ({len(shapes)} array"
                 + ("s" if len(shapes) > 1 else "")
                 + f", total norm {ref_total:.2g}, max_norm {max_norm})")
        grads = [a.copy() for a in orig]
        out, err = _call(fn, grads, max_norm)
        if err is not None:
            return _failw(title, where, f"your function raised {err}",
                          "grads is a Python list of float64 arrays of different shapes: "
                          "loop over it (np.stack fails on such a list).")
        total = None if isinstance(out, (list, tuple)) else _as_array(out)
        if total is None or total.shape not in ((), (1,)):
            what = (f"an array of shape {total.shape}" if total is not None
                    else f"a {type(out).__name__}")
            return _failw(title, where, f"expected the total norm (a float), got {what}",
                          "clip the arrays in place and return the total norm before clipping, "
                          "a single number.")
        total = float(total.reshape(()))
        got = [_as_array(a) for a in grads]
        if any(a is None or a.shape != r.shape for a, r in zip(got, ref)) or len(got) != len(ref):
            return _failw(title, where, "the arrays in grads changed shape or type",
                          "scale each array in place with g *= coef; do not replace them.")
        if not (np.isfinite(total) and all(np.all(np.isfinite(a)) for a in got)):
            return _failw(title, where, "NaN or inf in the result",
                          "the gradients are finite here: look for a division by zero.")
        arrays_ok = all(_close(a, r) for a, r in zip(got, ref))
        if arrays_ok and np.isclose(total, ref_total, rtol=RTOL, atol=ATOL):
            continue
        if not arrays_ok:
            norms = [np.linalg.norm(a) for a in orig]
            sum_norms = float(np.sum(norms))
            variants = [
                ([a * min(1.0, max_norm / (nm + 1e-6)) for a, nm in zip(orig, norms)],
                 "you clipped each array by its own norm: clip_grad_norm_ uses the global norm "
                 "sqrt(sum_i ||g_i||^2) of all the arrays together and scales every array by "
                 "the same factor, which keeps the direction of the whole gradient."),
                ([a * min(1.0, max_norm / nm) for a, nm in zip(orig, norms)],
                 "you clipped each array by its own norm: use the global norm of all arrays "
                 "together, one factor for every array."),
                ([a * (max_norm / (ref_total + 1e-6)) for a in orig],
                 "you rescale even below the threshold: the factor is min(1, max_norm / (total "
                 "+ 1e-6)), so gradients shorter than max_norm are left alone (clipping never "
                 "makes a gradient longer)."),
                ([a * min(1.0, max_norm / ref_total) for a in orig],
                 "PyTorch's factor is max_norm / (total + 1e-6) (clamped at 1): the 1e-6 "
                 "guards against a zero norm, and leaving it out changes the result by about "
                 "1e-7 relative, more than this check's 1e-8."),
                ([a * min(1.0, max_norm / (sum_norms + 1e-6)) for a in orig],
                 "the global norm is sqrt(sum_i ||g_i||^2), not the sum of the arrays' norms."),
                ([np.clip(a, -max_norm, max_norm) for a in orig],
                 "that is clipping by value (np.clip): clip by norm rescales every array by one "
                 "factor, min(1, max_norm / (total + 1e-6))."),
            ]
            if clipping and all(np.array_equal(a, o) for a, o in zip(got, orig)):
                hint = ("the arrays in grads are unchanged: clip in place (g *= coef, or "
                        "g[...] = ...). `g = g * coef` or a new list only rebinds a name and "
                        "the caller never sees the result.")
            else:
                hint = next((h for v, h in variants if all(_close(a, b) for a, b in zip(got, v))),
                            "multiply every array in place by min(1, max_norm / (total + 1e-6)), "
                            "total = sqrt(sum_i ||g_i||^2).")
            i = next(i for i, (a, r) in enumerate(zip(got, ref)) if not _close(a, r))
            return _failw(title, where, _differs(f"grads[{i}] after the call", got[i], ref[i]),
                          hint)
        if np.isclose(total, min(ref_total, max_norm), rtol=1e-5):
            hint = ("you returned the norm after clipping: return the total norm before "
                    "clipping, as torch.nn.utils.clip_grad_norm_ does (useful for logging).")
        elif np.isclose(total, ref_total ** 2, rtol=RTOL):
            hint = "you returned the squared norm: take the square root."
        else:
            hint = "return total = sqrt(sum_i ||g_i||^2), computed before clipping."
        return _failw(title, where, f"returned total norm {total:.2g}, expected {ref_total:.2g}",
                      hint)
    _ok(f"{title}: correct. The arrays (clipped in place) and the returned norm match "
          f"dlcore.clip.clip_grad_norm (torch.nn.utils.clip_grad_norm_) on {len(_CLIP_CASES)} "
          "cases to rtol 1e-8.")
    return True
