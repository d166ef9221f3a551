"""Optimizers that reproduce ``torch.optim`` step for step.

Every optimizer has ``step(params, grads)``: ``params`` and ``grads`` are dicts of
arrays with the same keys (e.g. ``model.params`` and ``model.grads``); each parameter
array is updated **in place**. Per-parameter state lives in ``opt.state[name]`` (for
Adam: ``step``, ``m``, ``v``), so a notebook can print every state variable.
If ``record=True`` the optimizer also appends a dict of the step's intermediates
(``m_hat``, ``v_hat``, ``update``, ...) per parameter to ``opt.history``.

The update formulas follow the PyTorch documentation of each class; the comments
give them in maths. Each class writes its formulas once, in ``_update(p, g, s)``, on
arrays. ``step`` applies them to blocks of at most 65,536 entries of a parameter (and of
its gradient and state), one block after the other: every pass of the update (SGD with
momentum makes four: ``b *= momentum``, ``b += g``, ``lr * b``, ``p -= ...``) then reads
data that the previous pass left in the CPU cache, as a fused kernel would, instead of
streaming the whole parameter from memory four times. The operations, and so the
results, are exactly those on whole arrays.

Many small parameters (a Transformer's dozens of weight matrices, biases and norm scales)
make the per-array work dominate: a dozen NumPy calls per parameter and step, each with its
Python overhead. When the parameters hold at most ``_FLAT_MAX`` entries in all and at most
``_FLAT_MEAN`` per array on average, ``step`` therefore copies them and their gradients into
one flat array each, applies ``_update`` to the flat arrays (in blocks of ``_FLAT_BLOCK``
entries), and copies the parameters back, as PyTorch's ``foreach`` implementations group
their tensors. The state arrays then live in one flat array per kind, and
``opt.state[name]`` holds views of it (still updated in place, still printable). Element-wise
operations give the same result entry by entry however the entries are grouped, so both paths
give identical floats (tests/test_optim.py checks it bit for bit).

Checks: ``step`` first checks every gradient (a NaN, an inf, a wrong shape, a missing key,
or, for the optimizers that square it, a gradient beyond 1.3e154 raises ``ValueError`` and
changes nothing), then checks each parameter block right after its update, while it is in
cache: NaN or inf there means the parameter was not finite (or the step overflowed float64),
and raises ``ValueError`` naming it (the parameters before it are then already updated). The
flat path checks the flat parameter array after the update and, if it is not finite, copies
the parameters back up to the first one that is not and raises naming that one; the state of
every parameter has then taken the step, also of those after it, which are not written back.
An exception inside the update itself (e.g. under ``np.errstate(over="raise")``) leaves the
state as far as the update got, on either path. (The flat path is taken only when no two
parameters' memory spans overlap, every parameter has taken the same number of steps with
state of its own shape, and ``record=False``; the gradients' values are checked after all
their shapes, so with several bad gradients the one named may differ between the paths.)
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import (as_float_array, check_all_finite, check_bool, check_finite, check_positive,
                        check_unit_interval)

__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "AdamW"]

_SQRT_MAX = float(np.sqrt(np.finfo(np.float64).max))    # about 1.34e154: a larger g has g*g = inf
_BLOCK = 1 << 16      # entries per block: 512 KiB of float64 per array
_FLAT_MAX = 1 << 18   # at most this many entries in all: one flat update (see the module docstring)
_FLAT_MEAN = 2048      # ... and at most this many per array on average. Adam's step, AMD EPYC:
                       # TinyLM's 77 arrays (1 K entries on average) 1,300-1,400 us array by array,
                       # 620-680 us flat; an MLP's 4 arrays of 26 K in all 183 us, flat 150-400 us
_FLAT_BLOCK = 1 << 15  # entries per block of the flat update (TinyLM's 77 K entries: blocks of 16-32 K
                       # were best; all 77 K in one block took Adam 2.5 times as long)


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
        self._flat: dict | None = None   # the flat layout (_flat_layout), kept across steps

    def step(self, params, grads):
        if not isinstance(params, dict) or not isinstance(grads, dict):
            raise ValueError(f"params, grads: expected dicts of arrays, got {type(params).__name__}, {type(grads).__name__}")
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(f"grads: expected a gradient for every parameter, missing {missing}")
        checked = {}  # check every gradient before updating anything: a bad one changes nothing
        for name, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype != np.float64:
                raise ValueError(f"params[{name!r}]: expected a float64 ndarray (updated in place), got {type(p).__name__} {getattr(p, 'dtype', '')}")
            if not p.flags.writeable:
                raise ValueError(f"params[{name!r}]: expected a writeable array (updated in place), got a read-only array")
            g = as_float_array(grads[name], f"grads[{name!r}]", allow_nonfinite=True)
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}]: expected shape {p.shape} (the shape of the parameter), got shape {g.shape}")
            checked[name] = g
        layout = None if self.record else self._flat_layout(params)
        if layout is not None:
            self._step_flat(params, checked, layout)
            return
        for name, g in checked.items():
            self._check_grad(g, f"grads[{name!r}]")
        log = {}
        for name, p in params.items():
            g = checked[name]
            state = self.state.setdefault(name, {"step": 0})
            state["step"] += 1
            # the arrays the formulas read and write, and whether they were just created
            s = dict(state, new=self._init_state(p, state))
            if self.record:
                before = p.copy()
                info = self._update(p, g, s)
                check_all_finite(p, f"params[{name!r}]", _AFTER)
                info = {k: np.array(v, copy=True) for k, v in (info or {}).items()}
                info["update"] = p - before
                log[name] = info
            else:
                self._update_in_blocks(name, p, g, s)
        if self.record:
            self.history.append(log)

    def _flat_layout(self, params):
        """The flat layout for these parameters (built now or kept from the last step), or None
        when the per-array path applies: few or large parameters, two names for one array's
        memory, or state that the parameters do not share (steps taken apart). Building it
        changes nothing in ``self.state``: ``_step_flat`` installs it once the gradients pass."""
        key = tuple((name, id(p), p.shape) for name, p in params.items())
        lay = self._flat
        if lay is not None and lay["key"] == key and (not lay["installed"] or (all(
                self.state.get(name) is st and all(st.get(k) is v for k, v in views.items())
                for name, (st, views) in lay["installed"].items())
                and len({st["step"] for st, _ in lay["installed"].values()}) == 1)):
            return lay                       # (state replaced, deleted or its steps edited: anew)
        self._flat = None
        sizes = [p.size for p in params.values()]
        if len(sizes) < 2 or sum(sizes) > min(_FLAT_MAX, _FLAT_MEAN * len(sizes)):
            return None
        if _overlap(list(params.values())):
            return None
        states = [self.state.get(name) for name in params]
        if any(st is None for st in states) and any(st is not None for st in states):
            return None
        if states[0] is not None and len({st["step"] for st in states}) != 1:
            return None
        total = sum(sizes)
        flat_state = {"step": 0}
        new = self._init_state(np.empty(total), flat_state)   # the flat state arrays
        kinds = [k for k, v in flat_state.items() if isinstance(v, np.ndarray)]
        if states[0] is not None and any(
                {k for k, v in st.items() if isinstance(v, np.ndarray)} != set(kinds)
                or any(st[k].shape != p.shape for k in kinds)
                for st, p in zip(states, params.values())):
            return None
        self._flat = {"key": key, "bounds": np.cumsum([0] + sizes).tolist(), "new": new,
                      "installed": None, "p": np.empty(total), "g": np.empty(total),
                      "arrays": {k: flat_state[k] for k in kinds}}
        return self._flat

    def _install(self, params, layout):
        """Point ``self.state[name]`` at views of the flat state arrays (copying in the state
        of earlier per-array steps, if any)."""
        bounds, arrays = layout["bounds"], layout["arrays"]
        names = list(params)
        if names[0] in self.state:                            # state from earlier steps
            for k, flat in arrays.items():
                np.concatenate([self.state[name][k].reshape(-1) for name in names], out=flat)
            layout["new"] = False
        installed = {}
        for (name, p), a, b in zip(params.items(), bounds[:-1], bounds[1:]):
            st = self.state.setdefault(name, {"step": 0})
            views = {k: flat[a:b].reshape(p.shape) for k, flat in arrays.items()}
            st.update(views)
            installed[name] = (st, views)
        layout["installed"] = installed         # what _flat_layout checks before reusing it

    def __getstate__(self):
        """A copy or a pickle keeps the state arrays but not the flat layout (its views would
        no longer be views of it): the copy builds its own on its next step."""
        return dict(self.__dict__, _flat=None)

    def _step_flat(self, params, grads, layout):
        """One update of every parameter as one flat array (see the module docstring)."""
        pf, gf, bounds = layout["p"], layout["g"], layout["bounds"]
        np.concatenate([g.reshape(-1) for g in grads.values()], out=gf)
        try:
            self._check_grad(gf, "grads")
        except ValueError:                    # name the gradient at fault
            for name, g in grads.items():
                self._check_grad(g, f"grads[{name!r}]")
            raise
        if layout["installed"] is None:
            self._install(params, layout)
        np.concatenate([p.reshape(-1) for p in params.values()], out=pf)
        step = 0
        for name in params:
            st = self.state[name]
            st["step"] += 1
            step = st["step"]
        try:
            self._update_blocks(pf, gf, {"step": step, "new": layout["new"]}, layout["arrays"],
                                _FLAT_BLOCK)
        except BaseException:                 # e.g. np.errstate(over="raise"): no parameter is
            self._flat = None                 # written back; the state got as far as the update
            raise
        layout["new"] = False
        finite = bool(np.isfinite(pf).all())
        for (name, p), a, b in zip(params.items(), bounds[:-1], bounds[1:]):
            np.copyto(p, pf[a:b].reshape(p.shape))
            if not finite:                    # stop at the first parameter that is not finite
                check_all_finite(p, f"params[{name!r}]", _AFTER)

    def _check_grad(self, g, name):
        """Finite, and for an optimizer that squares it, below sqrt(float64 max)."""
        if not self.squares_grad or not g.size:
            check_all_finite(g, name)
            return
        hi, lo = float(g.max()), float(g.min())          # two passes, no temporary
        if not (math.isfinite(hi) and math.isfinite(lo)):
            check_all_finite(g, name)
        if max(hi, -lo) > _SQRT_MAX:
            raise ValueError(f"{name}: expected |values| below {_SQRT_MAX:.3g} "
                             f"({type(self).__name__} squares the gradient), got {max(hi, -lo):.3g}")

    def _update_in_blocks(self, name, p, g, s):
        """``_update`` on consecutive blocks of ``_BLOCK`` entries of ``p``, ``g`` and the state
        arrays (whole arrays when small or not contiguous); each updated block is checked."""
        arrays = [k for k, v in s.items() if isinstance(v, np.ndarray) and v.shape == p.shape]
        if p.size <= _BLOCK or not (p.flags.c_contiguous and g.flags.c_contiguous
                                    and all(s[k].flags.c_contiguous for k in arrays)):
            self._update(p, g, s)
            check_all_finite(p, f"params[{name!r}]", _AFTER)
            return
        self._update_blocks(p.reshape(-1), g.reshape(-1), s, {k: s[k].reshape(-1) for k in arrays},
                            _BLOCK, check=lambda pb: check_all_finite(pb, f"params[{name!r}]", _AFTER))

    def _update_blocks(self, pf, gf, s, flat, size, check=None):
        """``_update`` on consecutive blocks of ``size`` entries of the 1-D ``pf``, ``gf`` and the
        1-D state arrays ``flat`` (``s`` holds the rest: ``step``, ``new``); ``check`` sees each
        updated block of ``pf`` while it is in cache."""
        for start in range(0, pf.size, size):
            block = slice(start, start + size)
            s.update((k, v[block]) for k, v in flat.items())
            self._update(pf[block], gf[block], s)
            if check is not None:
                check(pf[block])

    def _init_state(self, p, state) -> bool:
        """Create the state arrays ``_update`` needs (in ``state``); True if any was created."""
        return False

    def _update(self, p, g, s):  # pragma: no cover - abstract
        """Apply the formulas to ``p`` (in place) given ``g``; ``s`` holds the state: its arrays
        (views of the same block), ``step`` and ``new`` (the arrays were just created)."""
        raise NotImplementedError


def _overlap(arrays) -> bool:
    """True if the memory spans of two of the arrays overlap (they may share entries)."""
    spans = sorted(np.lib.array_utils.byte_bounds(a) for a in arrays if a.size)
    return any(lo < prev_hi for (_, prev_hi), (lo, _) in zip(spans, spans[1:]))


_AFTER = " after the update (the parameter held NaN or inf, or the step overflowed float64)"


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

    def _init_state(self, p, state):
        if self.momentum and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.empty_like(p)     # b = g, written by the first update
            return True
        return False

    def _update(self, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        d = g
        if self.momentum:
            buf = s["momentum_buffer"]
            if s["new"]:
                buf[...] = g                            # b = g on the first step
            else:
                buf *= self.momentum
                if self.dampening:
                    buf += (1.0 - self.dampening) * g
                else:
                    buf += g                            # (1 - 0) * g is g: skip the temporary
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

    def _init_state(self, p, state):
        if "sum" in state:
            return False
        state["sum"] = np.zeros_like(p)
        return True

    def _update(self, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        acc = s["sum"]
        acc += g * g
        p -= self.lr * g / (np.sqrt(acc) + self.eps)
        return {"sum": acc} if self.record else None


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

    def _init_state(self, p, state):
        names = ["square_avg"] + ["grad_avg"] * self.centered + ["momentum_buffer"] * bool(self.momentum)
        created = [k for k in names if k not in state]
        for k in created:
            state[k] = np.zeros_like(p)
        return bool(created)

    def _update(self, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = s["square_avg"]
        v *= self.alpha
        v += (1.0 - self.alpha) * g * g
        if self.centered:
            m = s["grad_avg"]
            m *= self.alpha
            m += (1.0 - self.alpha) * g
            denom = np.sqrt(v - m * m) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        d = g / denom
        if self.momentum:
            buf = s["momentum_buffer"]
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

    def _init_state(self, p, state):
        if "m" in state:
            return False
        state["m"], state["v"] = np.zeros_like(p), np.zeros_like(p)
        return True

    def _update(self, p, g, s):
        b1, b2 = self.betas
        t = s["step"]
        if self.weight_decay:
            if self.decoupled:
                p *= 1.0 - self.lr * self.weight_decay     # AdamW: decay the weights directly
            else:
                g = g + self.weight_decay * p             # Adam: L2 gradient, later divided by sqrt(v_hat)
        m, v = s["m"], s["v"]
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
