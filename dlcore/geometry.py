"""Geometry of high-dimensional data: the curse of dimensionality, measured.

Three facts about :math:`\\mathbb{R}^d` that the foundations chapter measures with these helpers:

* **Distances concentrate.** For points drawn i.i.d. in the cube :math:`[0,1]^d`, the squared
  distance from a query is a sum of :math:`d` i.i.d. terms, so its mean grows like :math:`d/6`
  while its standard deviation grows only like :math:`\\sqrt d`. The ratio of the nearest to the
  farthest distance therefore tends to 1 (``distance_ratio``, ``distance_concentration``).
* **Volume lives in the corners and near the surface.** The ball of radius 1 inscribed in the
  cube :math:`[-1,1]^d` has volume :math:`\\pi^{d/2}/\\Gamma(d/2+1)`, a fraction of the cube's
  :math:`2^d` that goes to 0 (``ball_volume``, ``inscribed_ball_fraction``); a shell of relative
  thickness :math:`\\varepsilon` holds a fraction :math:`1-(1-\\varepsilon)^d` of any body's
  volume (``shell_fraction``).
* **Real data are not uniform.** Data on a low-dimensional manifold embedded in
  :math:`\\mathbb{R}^D` keep the distance structure of their intrinsic dimension
  (``embedded_manifold``), which a PCA spectrum (``pca_spectrum``) and nearest-neighbour
  classification (``knn_predict``) reveal.

Everything is float64 NumPy. Distances use :math:`\\|x-y\\|^2 = \\|x\\|^2 + \\|y\\|^2 - 2x^\\top y`
with negative round-off clipped to 0 before the square root; when that overflows (coordinates
beyond about 1e154), the points are first divided by a power of two, which is exact.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import (as_float_array, check_unit_interval, as_generator, check_int,
                        check_positive)

__all__ = ["pairwise_distances", "distance_ratio", "distance_concentration", "ball_volume",
           "inscribed_ball_fraction", "shell_fraction", "embedded_manifold", "pca_spectrum",
           "knn_predict"]


_LOG_MAX = math.log(np.finfo(np.float64).max)


def _int_at_least(value, name, minimum):
    return check_int(value, name, min_value=minimum)


def _pow2_scale(*arrays):
    """A power of two near the largest |entry|: dividing by it is exact and keeps squares finite."""
    m = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    return 2.0 ** (math.frexp(m)[1] - 1) if m > 0 else 1.0


def pairwise_distances(X, Y=None):
    """Euclidean distances between the rows of ``X`` (N, D) and of ``Y`` (M, D): shape (N, M).

    ``Y=None`` means ``Y = X``; the diagonal is then exactly 0.
    """
    X = as_float_array(X, "X", ndim=2)
    same = Y is None
    Y = X if same else as_float_array(Y, "Y", ndim=2)
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"Y: expected shape (M, {X.shape[1]}) (the columns of X), got shape {Y.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        d = _distances(X, Y, same)
    if not np.isfinite(d).all():                 # squares overflowed: measure in units of s
        s = _pow2_scale(X, Y)
        with np.errstate(over="ignore"):         # a distance beyond 1.8e308 is inf, honestly
            d = _distances(X / s, Y / s, same) * s
    return d


def _distances(X, Y, same):
    sq = (X * X).sum(axis=1)[:, None] + (Y * Y).sum(axis=1)[None, :] - 2.0 * (X @ Y.T)
    np.maximum(sq, 0.0, out=sq)                  # round-off can make tiny distances negative
    if same:
        np.fill_diagonal(sq, 0.0)
    return np.sqrt(sq)


def distance_ratio(points, query):
    """min / max of the Euclidean distances from ``query`` (D,) to the rows of ``points`` (N, D).

    Close to 0: the nearest neighbour is much nearer than the farthest point (distances are
    informative). Close to 1: every point is about equally far (distances have concentrated).
    """
    points = as_float_array(points, "points", ndim=2)
    query = as_float_array(query, "query", ndim=1)
    if query.shape[0] != points.shape[1]:
        raise ValueError(f"query: expected shape ({points.shape[1]},), got shape {query.shape}")
    if points.shape[0] < 2:
        raise ValueError(f"points: expected at least 2 rows, got shape {points.shape}")
    d = pairwise_distances(query[None, :], points)[0]
    if d.max() == 0:
        raise ValueError("points: expected at least one point different from the query")
    return float(d.min() / d.max())


def distance_concentration(dims, n_points=1000, n_queries=10, rng=0):
    """Mean ``distance_ratio`` of a uniform query to ``n_points`` uniform points in [0,1]^d.

    Returns an array with one value per entry of ``dims``. Each dimension draws fresh data from
    ``rng`` (a seed or a Generator), so the result is deterministic for a fixed seed.
    """
    dims = np.asarray(dims)
    if dims.ndim != 1 or dims.size == 0 or not np.issubdtype(dims.dtype, np.integer) or dims.min() < 1:
        raise ValueError(f"dims: expected a non-empty 1-D sequence of positive integers, got {dims!r}")
    n_points = _int_at_least(n_points, "n_points", 2)
    n_queries = _int_at_least(n_queries, "n_queries", 1)
    g = as_generator(rng)
    out = np.empty(dims.size)
    for i, d in enumerate(dims):
        pts = g.random((n_points, int(d)))
        qs = g.random((n_queries, int(d)))
        dist = pairwise_distances(qs, pts)
        out[i] = float(np.mean(dist.min(axis=1) / dist.max(axis=1)))
    return out


def ball_volume(d, r=1.0):
    """Volume of the d-dimensional ball of radius ``r``: pi^(d/2) r^d / Gamma(d/2 + 1)."""
    d = _int_at_least(d, "d", 1)
    r = check_positive(r, "r", allow_zero=True)
    if r == 0:
        return 0.0
    log_volume = 0.5 * d * math.log(math.pi) + d * math.log(r) - math.lgamma(0.5 * d + 1)
    return math.exp(log_volume) if log_volume < _LOG_MAX else math.inf   # inf: beyond float64


def inscribed_ball_fraction(d):
    """Fraction of the cube [-1, 1]^d filled by its inscribed unit ball (the rest is 'corners')."""
    d = _int_at_least(d, "d", 1)
    return float(math.exp(0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1) - d * math.log(2.0)))


def shell_fraction(d, eps):
    """Fraction of a d-dimensional body's volume within relative distance ``eps`` of its surface.

    Scaling a body by (1 - eps) multiplies its volume by (1 - eps)^d, so the outer shell holds
    1 - (1 - eps)^d, which tends to 1 as d grows for any fixed eps > 0.
    """
    d = _int_at_least(d, "d", 1)
    eps = check_unit_interval(eps, "eps", closed_right=True)
    return float(-math.expm1(d * math.log1p(-eps))) if eps < 1 else 1.0


def embedded_manifold(n, ambient_dim, kind="plane", noise=0.0, rng=0):
    """``n`` points on a 2-D manifold, isometrically embedded in R^ambient_dim.

    ``kind="plane"``: intrinsic coordinates ``U`` uniform on [0, 1]^2, placed on a random
    2-D subspace. ``kind="swiss_roll"``: ``U`` uniform on [0, 1]^2 rolled up into a 3-D swiss
    roll (angle 1.5*pi*(1 + 2*u0), height 10*u1, divided by 10) placed on a random 3-D
    subspace. The random subspace has orthonormal columns, so distances *along* it are kept.
    ``noise`` adds isotropic Gaussian noise of that standard deviation in all ambient
    directions. Returns ``(X, U)`` with shapes (n, ambient_dim) and (n, 2).
    """
    n = _int_at_least(n, "n", 1)
    if kind not in ("plane", "swiss_roll"):
        raise ValueError(f"kind: expected 'plane' or 'swiss_roll', got {kind!r}")
    k = 2 if kind == "plane" else 3
    ambient_dim = _int_at_least(ambient_dim, "ambient_dim", k)
    noise = check_positive(noise, "noise", allow_zero=True)
    g = as_generator(rng)
    U = g.random((n, 2))
    if kind == "plane":
        Z = U
    else:
        t = 1.5 * np.pi * (1.0 + 2.0 * U[:, 0])
        Z = np.stack([t * np.cos(t), 10.0 * U[:, 1], t * np.sin(t)], axis=1) / 10.0
    Q, _ = np.linalg.qr(g.standard_normal((ambient_dim, k)))   # orthonormal columns
    X = Z @ Q.T
    if noise > 0:
        X = X + noise * g.standard_normal(X.shape)
    return X, U


def pca_spectrum(X):
    """Fractions of the total variance along the principal axes of ``X`` (N, D), descending.

    The squared singular values of the centred data, divided by their sum; the number of
    fractions is min(N, D). A spectrum with k large values says the data lie close to a
    k-dimensional affine subspace (an upper bound on the intrinsic dimension).
    """
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] < 2:
        raise ValueError(f"X: expected at least 2 rows, got shape {X.shape}")
    m = np.max(np.abs(X))
    if m > 1e150 or m < 1e-150:            # squared singular values would over- or underflow:
        X = X / _pow2_scale(X)             # divide by a power of two (exact; same fractions)
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    var = s ** 2
    total = var.sum()
    if total == 0:
        raise ValueError("X: expected rows that are not all identical (zero variance)")
    return var / total


def knn_predict(X_train, y_train, X_test, k=5):
    """Majority vote of the ``k`` nearest training rows (Euclidean) for every test row.

    Neighbours are sorted by distance with a stable sort (ties: lower training index first);
    vote ties go to the smallest label. ``y_train`` holds non-negative integer labels.
    """
    X_train = as_float_array(X_train, "X_train", ndim=2)
    X_test = as_float_array(X_test, "X_test", ndim=2)
    y_train = np.asarray(y_train)
    if y_train.shape != (X_train.shape[0],) or not np.issubdtype(y_train.dtype, np.integer) \
            or (y_train.size and y_train.min() < 0):
        raise ValueError(f"y_train: expected non-negative integer labels of shape ({X_train.shape[0]},), "
                         f"got dtype {y_train.dtype} and shape {y_train.shape}")
    k = _int_at_least(k, "k", 1)
    if k > X_train.shape[0]:
        raise ValueError(f"k: expected at most {X_train.shape[0]} (the number of training rows), got {k}")
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test: expected shape (M, {X_train.shape[1]}), got shape {X_test.shape}")
    dist = pairwise_distances(X_test, X_train)
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    votes = y_train[nearest]
    n_classes = int(y_train.max()) + 1
    counts = np.zeros((X_test.shape[0], n_classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(X_test.shape[0]), k), votes.ravel()), 1)
    return counts.argmax(axis=1)
