"""Small synthetic datasets, generated (never downloaded) from a seed."""
from __future__ import annotations

import numpy as np

from ._validate import as_generator, check_all_finite, check_bool, check_int, check_positive

__all__ = ["blobs", "spirals", "xor", "toy_segmentation", "minibatches", "digits", "shift_images"]


def blobs(n=300, n_classes=3, dim=2, spread=1.0, rng=0):
    """Gaussian clusters around class centres on a circle of radius 3; returns (X, y)."""
    n, n_classes = check_int(n, "n", min_value=1), check_int(n_classes, "n_classes", min_value=1)
    dim, spread = check_int(dim, "dim", min_value=2), check_positive(spread, "spread", allow_zero=True)
    g = as_generator(rng)
    y = np.arange(n) % n_classes
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    centres = np.zeros((n_classes, dim))
    centres[:, 0], centres[:, 1] = 3 * np.cos(angles), 3 * np.sin(angles)
    X = centres[y] + spread * g.standard_normal((n, dim))
    return X, y


def spirals(n=300, n_classes=3, noise=0.2, rng=0):
    """The cs231n-style interleaved spirals: not linearly separable; returns (X, y)."""
    n, n_classes = check_int(n, "n", min_value=1), check_int(n_classes, "n_classes", min_value=1)
    noise = check_positive(noise, "noise", allow_zero=True)
    g = as_generator(rng)
    y = np.arange(n) % n_classes
    r = np.linspace(0.05, 1.0, n)[g.permutation(n)]
    t = y * 2 * np.pi / n_classes + 4.0 * r + noise * g.standard_normal(n)
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return X, y


def xor(n=200, noise=0.1, rng=0):
    """Points near the four corners of [-1, 1]^2, labelled by sign(x1 * x2) > 0; returns (X, y)."""
    n, noise = check_int(n, "n", min_value=1), check_positive(noise, "noise", allow_zero=True)
    g = as_generator(rng)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
    idx = np.arange(n) % 4
    X = corners[idx] + noise * g.standard_normal((n, 2))
    y = (corners[idx, 0] * corners[idx, 1] > 0).astype(np.int64)
    return X, y


def toy_segmentation(size=16):
    """Two label maps of shape (2, size, size) with three classes: 0 = background,
    1 = a disk, 2 = a rectangle (drawn after the disk, so it wins where they overlap).
    Deterministic, and imbalanced like real segmentation data (background dominates)."""
    size = check_int(size, "size", min_value=16)  # the shapes need room
    yy, xx = np.mgrid[:size, :size]
    target = np.zeros((2, size, size), dtype=np.int64)
    # per image: disk (centre row, centre column, radius), rectangle (rows r0:r1, columns c0:c1)
    shapes = [((5, 5, 3.5), (9, 15, 8, 14)), ((10, 9, 4.5), (1, 5, 2, 7))]
    for n, ((cy, cx, r), (r0, r1, c0, c1)) in enumerate(shapes):
        target[n][(yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2] = 1
        target[n, r0:r1, c0:c1] = 2
    return target


def minibatches(X, y, batch_size, shuffle=True, rng=None):
    """Yield ``(X_batch, y_batch)`` pairs that cover every example exactly once (one epoch).

    The order is ``rng.permutation(len(X))`` when ``shuffle`` (``rng``: a seed or a
    ``numpy.random.Generator``; ``None`` draws fresh entropy), else ``0, 1, ..., n-1``. Batches
    are consecutive chunks of that order, of ``batch_size`` examples; the last one holds the
    remaining ``n % batch_size`` examples when ``batch_size`` does not divide ``n`` (it is
    kept, as PyTorch's ``DataLoader(drop_last=False)`` does). A ``DataLoader`` whose sampler
    yields the same permutation gives the same batches.

    ``X`` and ``y`` are indexed, never converted, so their dtype is kept and a
    ``numpy.memmap`` is read from disk one batch at a time: only the current batch is in
    memory. Each batch is a fresh in-memory array (a copy, not a view of ``X``).
    The inputs are checked when ``minibatches`` is called, before the first batch: real
    numbers (or bools), finite; a memmap is scanned in chunks of rows, never loaded whole.
    """
    def as_array(a, name):
        arr = a if isinstance(a, np.ndarray) else np.asarray(a)
        if arr.ndim < 1:
            raise ValueError(f"{name}: expected an array with a first (example) axis, "
                             f"got shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
                or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating):
            rows = max(1, (1 << 22) // max(1, arr[:1].nbytes))      # chunks of about 4 MiB
            for start in range(0, arr.shape[0], rows):
                check_all_finite(np.asarray(arr[start:start + rows]), name)
        return arr

    X, y = as_array(X, "X"), as_array(y, "y")
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"X: expected at least one example, got shape {X.shape}")
    if y.shape[0] != n:
        raise ValueError(f"y: expected {n} labels (the length of X), got {y.shape[0]}")
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    order = as_generator(rng).permutation(n) if check_bool(shuffle, "shuffle") else np.arange(n)

    def batches():
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            # fancy indexing copies; np.asarray drops the memmap subclass of the result
            yield np.asarray(X[idx]), np.asarray(y[idx])

    return batches()


def digits(rng=None, images=False):
    """scikit-learn's 8x8 handwritten digits (1797 images, shipped with the package, never
    downloaded), pixels scaled from 0..16 to [0, 1]: ``(X, y)`` with ``X`` of shape (1797, 64),
    or (1797, 8, 8) with ``images=True``, and integer labels ``y``.

    With ``rng`` (a seed or a Generator) the examples come in the order
    ``rng.permutation(1797)``, so ``X[:n]`` is a random training set of size ``n``; without it,
    in the dataset's order. Needs scikit-learn (imported here, not by ``dlcore``)."""
    from sklearn.datasets import load_digits

    images = check_bool(images, "images")
    order = None if rng is None else as_generator(rng)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if order is not None:
        order = order.permutation(len(y))
        X, y = X[order], y[order]
    return (X.reshape(-1, 8, 8) if images else X), y


def shift_images(X, dx, dy=0):
    """Move square images ``dx`` pixels right and ``dy`` pixels down (negative: left, up),
    filling the uncovered pixels with zeros. ``X`` holds flattened images, shape (N, side**2)
    (the digits: side 8); returns a new array of the same shape."""
    from dlcore._validate import as_float_array, check_int

    X = as_float_array(X, "X", ndim=2)
    side = int(round(np.sqrt(X.shape[1])))
    if side * side != X.shape[1]:
        raise ValueError(f"X: expected flattened square images, got {X.shape[1]} pixels per row")
    dx, dy = check_int(dx, "dx"), check_int(dy, "dy")
    img = X.reshape(-1, side, side)
    out = np.zeros_like(img)
    if abs(dx) < side and abs(dy) < side:
        ys, yd = slice(max(dy, 0), side + min(dy, 0)), slice(max(-dy, 0), side + min(-dy, 0))
        xs, xd = slice(max(dx, 0), side + min(dx, 0)), slice(max(-dx, 0), side + min(-dx, 0))
        out[:, ys, xs] = img[:, yd, xd]
    return out.reshape(X.shape)
