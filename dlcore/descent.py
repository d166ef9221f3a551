"""Small optimization problems and trajectories shared by the gradient-descent and optimizer pages.

* ``least_squares(rng)``: the running example of the gradient-descent chapter, least squares
  $L(w) = \\lVert Xw - y\\rVert^2 / (2N)$ on features of unequal scale, with its gradient,
  per-example gradients, constant Hessian and closed-form minimum;
* ``trajectory(opt, grad_fn, theta0, steps)``: apply a ``dlcore.optim`` optimizer to one
  parameter vector and return the whole path;
* ``best_time(fn, repeat)``: the best of a few wall-clock timings of ``fn()``;
* ``sharpness(loss_fn, params, iters, seed)``: the top Hessian eigenvalue of a PyTorch loss by
  power iteration with Hessian-vector products (PyTorch is imported inside the function).

NumPy only at import time, float64.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, check_callable, check_generator, check_int, check_positive

__all__ = ["LeastSquares", "least_squares", "trajectory", "best_time", "sharpness"]


def _finite(result, name):
    """``result``, or ValueError if it overflowed float64 (inputs near 1e154 and beyond)."""
    if not np.isfinite(result).all():
        raise ValueError(f"{name}: the result overflowed float64 (inputs too large, about 1e154 or more)")
    return result


@dataclass(frozen=True)
class LeastSquares:
    """Least squares ``L(w) = ||X w - y||^2 / (2N)``; ``X`` is (N, D), ``y`` is (N,).

    ``loss``, ``grad`` and ``example_grads`` take an optional ``(X, y)`` pair, so the same
    formulas serve a subset or a fresh sample of the data."""

    X: np.ndarray
    y: np.ndarray
    w_true: np.ndarray
    scales: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "X", as_float_array(self.X, "X", ndim=2))
        object.__setattr__(self, "y", as_float_array(self.y, "y", ndim=1))
        object.__setattr__(self, "w_true", as_float_array(self.w_true, "w_true", ndim=1))
        object.__setattr__(self, "scales", as_float_array(self.scales, "scales", ndim=1))
        N, D = self.X.shape
        if self.y.shape != (N,) or self.w_true.shape != (D,) or self.scales.shape != (D,):
            raise ValueError(f"y, w_true, scales: expected shapes ({N},), ({D},), ({D},) for X of "
                             f"shape {self.X.shape}, got {self.y.shape}, {self.w_true.shape}, "
                             f"{self.scales.shape}")

    def _data(self, X, y):
        X = self.X if X is None else as_float_array(X, "X")
        y = self.y if y is None else as_float_array(y, "y")
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"X, y: expected shapes (N, D) and (N,), got {X.shape} and {y.shape}")
        return X, y

    def _w(self, w, D):
        w = as_float_array(w, "w")
        if w.shape != (D,):
            raise ValueError(f"w: expected shape ({D},), got {w.shape}")
        return w

    def loss(self, w, X=None, y=None) -> float:
        X, y = self._data(X, y)
        r = X @ self._w(w, X.shape[1]) - y
        return _finite(0.5 * float(r @ r) / len(y), "loss")

    def grad(self, w, X=None, y=None) -> np.ndarray:
        X, y = self._data(X, y)
        return _finite(X.T @ (X @ self._w(w, X.shape[1]) - y) / len(y), "grad")

    def example_grads(self, w, X=None, y=None) -> np.ndarray:
        """Per-example gradients ``x_i (x_i^T w - y_i)``, shape (N, D); their mean is ``grad``."""
        X, y = self._data(X, y)
        return _finite(X * (X @ self._w(w, X.shape[1]) - y)[:, None], "example_grads")

    @property
    def hessian(self) -> np.ndarray:
        """``X^T X / N`` (constant: the loss is quadratic)."""
        return self.X.T @ self.X / len(self.y)

    @property
    def w_star(self) -> np.ndarray:
        """The minimizer, by ``numpy.linalg.lstsq``."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    @property
    def L_star(self) -> float:
        return self.loss(self.w_star)


def least_squares(rng, n=500, scales=(1.0, 1.0, 0.7, 0.5, 0.3), noise=0.5) -> LeastSquares:
    """Draw the problem from ``rng`` (a ``numpy.random.Generator``), in this order: ``X`` (n, D)
    standard normal times ``scales``, ``w_true`` (D,), then the noise of ``y = X w_true + noise * e``."""
    rng = check_generator(rng)
    n = check_int(n, "n", min_value=2)
    scales = as_float_array(scales, "scales")
    if scales.ndim != 1 or scales.size == 0 or np.any(scales <= 0):
        raise ValueError(f"scales: expected a non-empty 1-D array of positive numbers, got {scales}")
    noise = check_positive(noise, "noise", allow_zero=True)
    X = rng.standard_normal((int(n), scales.size)) * scales
    w_true = rng.standard_normal(scales.size)
    y = X @ w_true + noise * rng.standard_normal(int(n))
    return LeastSquares(X=X, y=y, w_true=w_true, scales=scales)


def trajectory(opt, grad_fn, theta0, steps) -> np.ndarray:
    """Apply ``opt`` (a ``dlcore.optim`` optimizer) ``steps`` times to one parameter vector,
    with gradient ``grad_fn(theta)``; return the path, shape (steps + 1, *theta0.shape)."""
    if not hasattr(opt, "step"):
        raise ValueError(f"opt: expected an optimizer with a step(params, grads) method, got {type(opt).__name__}")
    check_callable(grad_fn, "grad_fn")
    steps = check_int(steps, "steps", min_value=0)
    p = {"theta": np.array(as_float_array(theta0, "theta0"), dtype=np.float64)}
    path = [p["theta"].copy()]
    for _ in range(int(steps)):
        opt.step(p, {"theta": grad_fn(p["theta"])})
        path.append(p["theta"].copy())
    return np.array(path)


def best_time(fn, repeat=5) -> float:
    """The smallest of ``repeat`` wall-clock timings (seconds) of ``fn()``."""
    check_callable(fn, "fn")
    repeat = check_int(repeat, "repeat", min_value=1)
    best = np.inf
    for _ in range(int(repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def sharpness(loss_fn, params, iters=20, seed=0) -> float:
    """The Hessian eigenvalue of largest magnitude of ``loss_fn(*params)`` at ``params`` (the
    "sharpness" when the loss is locally convex), by ``iters`` steps of power iteration with
    Hessian-vector products (double backpropagation, PyTorch). ``params`` is a list of float64
    tensors (copied, not modified); the start vector is drawn from
    ``numpy.random.default_rng(seed)``, one standard normal array per parameter, in order."""
    import torch

    check_callable(loss_fn, "loss_fn")
    if not isinstance(params, (list, tuple)) or not params or not all(
            isinstance(p, torch.Tensor) and p.dtype == torch.float64 for p in params):
        raise ValueError("params: expected a non-empty list of float64 torch tensors")
    iters = check_int(iters, "iters", min_value=1)
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    grads = torch.autograd.grad(loss_fn(*ps), ps, create_graph=True)
    g = np.random.default_rng(check_int(seed, "seed", min_value=0))
    v = [torch.tensor(g.standard_normal(tuple(p.shape)), dtype=torch.float64) for p in ps]
    lam = 0.0
    for _ in range(int(iters)):
        norm = torch.sqrt(sum((a * a).sum() for a in v))
        v = [a / norm for a in v]
        hv = torch.autograd.grad(grads, ps, grad_outputs=v, retain_graph=True)
        lam = float(sum((a * b).sum() for a, b in zip(v, hv)))
        v = [h.detach() for h in hv]
    return lam
