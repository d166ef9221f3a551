"""Optimizers that reproduce ``torch.optim`` step for step.

Every optimizer has ``step(params, grads)``: ``params`` and ``grads`` are dicts of
arrays with the same keys (e.g. ``model.params`` and ``model.grads``); each parameter
array is updated **in place**. Per-parameter state lives in ``opt.state[name]`` (for
Adam: ``step``, ``m``, ``v``), so a notebook can print every state variable.
If ``record=True`` the optimizer also appends a dict of the step's intermediates
(``m_hat``, ``v_hat``, ``update``, ...) per parameter to ``opt.history``.

The update formulas follow the PyTorch documentation of each class; the comments
give them in maths.
"""
from __future__ import annotations

import numpy as np

from ._validate import (as_float_array, check_all_finite, check_bool, check_finite, check_positive,
                        check_unit_interval)

__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "AdamW"]

_SQRT_MAX = float(np.sqrt(np.finfo(np.float64).max))    # about 1.34e154: a larger g has g*g = inf


def _sub_scaled(p, lr, d, scratch):
    """p -= lr * d in place, the product written into a reused scratch array instead of a
    new temporary on every step (same operations, same rounding as ``p -= lr * d``)."""
    if p.ndim == 0 or np.ndim(d) == 0:
        p -= lr * d
        return
    key = p.shape
    tmp = scratch.get(key)
    if tmp is None:
        tmp = scratch[key] = np.empty(p.shape)
    np.multiply(d, lr, out=tmp)
    p -= tmp


class Optimizer:
    squares_grad = False     # AdaGrad, RMSProp, Adam: g * g must not overflow

    def __init__(self, lr, record=False):
        self.lr = check_positive(lr, "lr", allow_zero=True)
        self._scratch: dict[tuple, np.ndarray] = {}  # per-shape temporaries, reused across steps
        self.state: dict[str, dict] = {}
        self.record = check_bool(record, "record")
        self.history: list[dict[str, dict]] = []

    def step(self, params, grads):
        if not isinstance(params, dict) or not isinstance(grads, dict):
            raise ValueError(f"params, grads: expected dicts of arrays, got {type(params).__name__}, {type(grads).__name__}")
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(f"grads: expected a gradient for every parameter, missing {missing}")
        checked = {}  # validate every pair before updating anything: a bad input leaves params untouched
        for name, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype != np.float64:
                raise ValueError(f"params[{name!r}]: expected a float64 ndarray (updated in place), got {type(p).__name__} {getattr(p, 'dtype', '')}")
            if not p.flags.writeable:
                raise ValueError(f"params[{name!r}]: expected a writeable array (updated in place), got a read-only array")
            check_all_finite(p, f"params[{name!r}]")
            g = as_float_array(grads[name], f"grads[{name!r}]")
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}]: expected shape {p.shape} (the shape of the parameter), got shape {g.shape}")
            if self.squares_grad and g.size:
                with np.errstate(over="ignore"):
                    overflow = not np.isfinite(np.vdot(g, g)) and np.abs(g).max() > _SQRT_MAX
                if overflow:
                    raise ValueError(f"grads[{name!r}]: expected |values| below {_SQRT_MAX:.3g} "
                                     f"({type(self).__name__} squares the gradient), got "
                                     f"{float(np.abs(g).max()):.3g}")
            checked[name] = g
        log = {}
        for name, p in params.items():
            g = checked[name]
            state = self.state.setdefault(name, {"step": 0})
            state["step"] += 1
            before = p.copy() if self.record else None
            info = self._update(p, g, state)
            if self.record:
                info = {k: np.array(v, copy=True) for k, v in (info or {}).items()}
                info["update"] = p - before
                log[name] = info
        if self.record:
            self.history.append(log)

    def _update(self, p, g, state):  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """torch.optim.SGD.

    g = grad + weight_decay * p
    momentum: b = g on the first step, then b = momentum * b + (1 - dampening) * g;
              nesterov uses g + momentum * b, otherwise b
    p = p - lr * (that direction)
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0, record=False):
        super().__init__(lr, record)
        self.momentum = check_positive(momentum, "momentum", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
        self.dampening = check_unit_interval(dampening, "dampening", closed_right=True)
        self.nesterov = check_bool(nesterov, "nesterov")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"nesterov: requires momentum > 0 and dampening = 0, got momentum={momentum}, dampening={dampening}")

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        d = g
        if self.momentum:
            if "momentum_buffer" not in state:
                # np.array, not g.copy(): for a 0-d parameter with weight decay, g is a NumPy
                # scalar, whose copy is immutable, and the in-place updates below would be lost
                state["momentum_buffer"] = np.array(g, dtype=np.float64, copy=True)
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                if self.dampening:
                    buf += (1.0 - self.dampening) * g
                else:
                    buf += g                            # (1 - 0) * g is g: skip the temporary
            buf = state["momentum_buffer"]
            d = g + self.momentum * buf if self.nesterov else buf
        _sub_scaled(p, self.lr, d, self._scratch)
        return {"direction": d} if self.record else None


class AdaGrad(Optimizer):
    """torch.optim.Adagrad (lr_decay = 0, initial accumulator 0).

    s = s + g^2;  p = p - lr * g / (sqrt(s) + eps)
    """

    squares_grad = True

    def __init__(self, lr=0.01, eps=1e-10, weight_decay=0.0, record=False):
        super().__init__(lr, record)
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        s = state.setdefault("sum", np.zeros_like(p))
        s += g * g
        p -= self.lr * g / (np.sqrt(s) + self.eps)
        return {"sum": s} if self.record else None


class RMSProp(Optimizer):
    """torch.optim.RMSprop.

    v = alpha v + (1 - alpha) g^2;  centered: also m = alpha m + (1 - alpha) g and v - m^2 is used
    d = g / (sqrt(v) + eps);  momentum: b = momentum b + d, step along b
    p = p - lr * d
    """

    squares_grad = True

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, record=False):
        super().__init__(lr, record)
        self.alpha = check_unit_interval(alpha, "alpha", closed_right=True)
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
        self.momentum = check_positive(momentum, "momentum", allow_zero=True)
        self.centered = check_bool(centered, "centered")

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = state.setdefault("square_avg", np.zeros_like(p))
        v *= self.alpha
        v += (1.0 - self.alpha) * g * g
        if self.centered:
            m = state.setdefault("grad_avg", np.zeros_like(p))
            m *= self.alpha
            m += (1.0 - self.alpha) * g
            denom = np.sqrt(v - m * m) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        d = g / denom
        if self.momentum:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p))
            buf *= self.momentum
            buf += d
            d = buf
        p -= self.lr * d
        return {"square_avg": v, "denom": denom} if self.record else None


class Adam(Optimizer):
    """torch.optim.Adam (amsgrad=False). weight_decay here is an L2 term added to the gradient.

    g = grad + weight_decay * p
    m = b1 m + (1 - b1) g;      v = b2 v + (1 - b2) g^2
    m_hat = m / (1 - b1^t);     v_hat = v / (1 - b2^t)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)       (eps outside the square root)
    """

    decoupled = False
    squares_grad = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, record=False):
        super().__init__(lr, record)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_unit_interval(betas[0], "betas[0]"), check_unit_interval(betas[1], "betas[1]"))
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)

    def _update(self, p, g, state):
        b1, b2 = self.betas
        t = state["step"]
        if self.weight_decay:
            if self.decoupled:
                p *= 1.0 - self.lr * self.weight_decay     # AdamW: decay the weights directly
            else:
                g = g + self.weight_decay * p             # Adam: L2 gradient, later divided by sqrt(v_hat)
        m = state.setdefault("m", np.zeros_like(p))
        v = state.setdefault("v", np.zeros_like(p))
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * g * g
        bc1 = 1.0 - b1 ** t
        bc2 = 1.0 - b2 ** t
        denom = np.sqrt(v) / np.sqrt(bc2) + self.eps
        p -= (self.lr / bc1) * (m / denom)
        if self.record:
            return {"g": g, "m": m, "v": v, "m_hat": m / bc1, "v_hat": v / bc2}
        return None


class AdamW(Adam):
    """torch.optim.AdamW: decoupled weight decay p = p (1 - lr * weight_decay), then the Adam step on the raw gradient."""

    decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, record=False):
        super().__init__(lr, betas, eps, weight_decay, record)
