"""dlcore.segmentation against PyTorch autograd (float64) and its bad-input errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcore import segmentation as seg

RTOL = 1e-9


def _data(shape=(2, 3, 5, 4), seed=0):
    rng = np.random.default_rng(seed)
    n, c, *spatial = shape
    logits = 2.0 * rng.standard_normal(shape)
    y = rng.integers(0, c, size=(n, *spatial))
    return logits, y


def _torch_loss_and_grad(fn, logits, y):
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(y, dtype=torch.int64)
    loss = fn(z, t)
    loss.backward()
    return loss.item(), z.grad.numpy()


def _torch_region(z, t, eps, kind):
    """Reference soft Dice / IoU written directly with torch ops."""
    c = z.shape[1]
    p = torch.softmax(z, dim=1)
    g = F.one_hot(t, c).movedim(-1, 1).to(torch.float64)
    dims = (0,) + tuple(range(2, z.ndim))
    inter = (p * g).sum(dims)
    total = p.sum(dims) + g.sum(dims)
    if kind == "dice":
        score = (2 * inter + eps) / (total + eps)
    else:
        score = (inter + eps) / (total - inter + eps)
    return 1 - score.mean()


def _assert_close(ours, ref):
    (l1, g1), (l2, g2) = ours, ref
    np.testing.assert_allclose(l1, l2, rtol=RTOL, atol=0)
    np.testing.assert_allclose(g1, g2, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 4, 7), (3, 2, 2, 3, 2)])
@pytest.mark.parametrize("eps", [0.0, 1e-5, 1.0])
def test_soft_dice_matches_torch(shape, eps):
    logits, y = _data(shape)
    ref = _torch_loss_and_grad(lambda z, t: _torch_region(z, t, eps, "dice"), logits, y)
    _assert_close(seg.soft_dice_loss(logits, y, eps=eps), ref)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 4, 7)])
@pytest.mark.parametrize("eps", [0.0, 1e-5, 1.0])
def test_soft_iou_matches_torch(shape, eps):
    logits, y = _data(shape, seed=1)
    ref = _torch_loss_and_grad(lambda z, t: _torch_region(z, t, eps, "iou"), logits, y)
    _assert_close(seg.soft_iou_loss(logits, y, eps=eps), ref)


@pytest.mark.parametrize("weight", [[1.0, 1.0, 1.0], [0.2, 1.0, 5.0], [0.0, 2.0, 0.5]])
def test_weighted_cross_entropy_matches_torch(weight):
    logits, y = _data(seed=2)
    w = torch.tensor(weight, dtype=torch.float64)
    ref = _torch_loss_and_grad(lambda z, t: F.cross_entropy(z, t, weight=w), logits, y)
    _assert_close(seg.weighted_cross_entropy(logits, y, np.array(weight)), ref)


def test_weighted_mean_divides_by_target_weights():
    logits, y = _data(seed=3)
    w = np.array([0.5, 2.0, 3.0])
    loss, _ = seg.weighted_cross_entropy(logits, y, w)
    z = torch.tensor(logits, dtype=torch.float64)
    per_pixel = F.cross_entropy(z, torch.tensor(y), weight=torch.tensor(w), reduction="none").numpy()
    np.testing.assert_allclose(loss, per_pixel.sum() / w[y].sum(), rtol=1e-12)
    assert abs(loss - per_pixel.mean()) > 1e-3  # not the plain mean over pixels


@pytest.mark.parametrize("k", [1, 7, 40, 120])
def test_bootstrapped_cross_entropy_matches_torch(k):
    logits, y = _data(seed=4)  # 2 images of 5x4 pixels: 40 pixels in all

    def ref(z, t):
        per_pixel = F.cross_entropy(z, t, reduction="none").reshape(-1)
        return torch.topk(per_pixel, k).values.mean()

    n_pix = y.size
    if k > n_pix:
        with pytest.raises(ValueError, match="k: expected"):
            seg.bootstrapped_cross_entropy(logits, y, k)
        return
    _assert_close(seg.bootstrapped_cross_entropy(logits, y, k), _torch_loss_and_grad(ref, logits, y))


def test_bootstrapped_with_all_pixels_is_cross_entropy():
    logits, y = _data(seed=5)
    ours = seg.bootstrapped_cross_entropy(logits, y, y.size)
    _assert_close(ours, _torch_loss_and_grad(lambda z, t: F.cross_entropy(z, t), logits, y))


def test_stable_at_large_logits():
    logits, y = _data(seed=6)
    logits = 1e4 * np.sign(logits)
    for fn in (seg.soft_dice_loss, seg.soft_iou_loss):
        loss, grad = fn(logits, y)
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
    for loss, grad in (seg.weighted_cross_entropy(logits, y, np.ones(3)), seg.bootstrapped_cross_entropy(logits, y, 5)):
        assert np.isfinite(loss) and np.all(np.isfinite(grad))


def test_perfect_prediction_gives_zero_region_loss():
    _, y = _data(seed=7)
    logits = 50.0 * np.moveaxis(np.eye(3)[y], -1, 1)
    assert seg.soft_dice_loss(logits, y, eps=0.0)[0] < 1e-12
    assert seg.soft_iou_loss(logits, y, eps=0.0)[0] < 1e-12


def test_hard_dice():
    a = np.array([[0, 1, 1], [2, 2, 0]])
    b = np.array([[0, 1, 2], [2, 2, 0]])
    np.testing.assert_allclose(seg.hard_dice(a, b, 4), [1.0, 2 / 3, 0.8, 1.0])


@pytest.mark.parametrize("fn", [seg.soft_dice_loss, seg.soft_iou_loss,
                                lambda z, y: seg.weighted_cross_entropy(z, y, np.ones(3)),
                                lambda z, y: seg.bootstrapped_cross_entropy(z, y, 3)])
def test_bad_inputs(fn):
    logits, y = _data()
    with pytest.raises(ValueError, match=r"target: expected class labels of shape \(2, 5, 4\)"):
        fn(logits, y[:, :4])
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\], got 3"):
        fn(logits, np.full_like(y, 3))
    with pytest.raises(ValueError, match="target: expected integer class indices"):
        fn(logits, y + 0.5)
    with pytest.raises(ValueError, match="logits: expected finite values, got NaN"):
        fn(np.full_like(logits, np.nan), y)
    with pytest.raises(ValueError, match="logits: expected at least 2 dimension"):
        fn(np.zeros(3), y)


def test_bad_arguments():
    logits, y = _data()
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\)"):
        seg.weighted_cross_entropy(logits, y, np.ones(4))
    with pytest.raises(ValueError, match="weight: expected non-negative"):
        seg.weighted_cross_entropy(logits, y, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="weight: expected a positive total weight"):
        seg.weighted_cross_entropy(logits, np.zeros_like(y), np.array([0.0, 1.0, 1.0]))
    for bad in (0, 41, 2.5, True):
        with pytest.raises(ValueError, match="k: expected an integer"):
            seg.bootstrapped_cross_entropy(logits, y, bad)
    with pytest.raises(ValueError, match="eps: expected a finite number >= 0"):
        seg.soft_dice_loss(logits, y, eps=-1.0)
    with pytest.raises(ValueError, match="eps: expected a finite number >= 0"):
        seg.soft_iou_loss(logits, y, eps=float("nan"))
    with pytest.raises(ValueError, match=r"target: expected shape \(2, 3\)"):
        seg.hard_dice(np.zeros((2, 3), dtype=int), np.zeros((3, 2), dtype=int), 2)
