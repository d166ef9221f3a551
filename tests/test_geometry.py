"""dlcore.geometry against PyTorch / scikit-learn (float64) and closed forms, plus bad inputs."""
import math

import numpy as np
import pytest
import torch

from dlcore import geometry as geo


def test_pairwise_distances_match_torch_cdist(rng):
    X, Y = rng.standard_normal((7, 5)), rng.standard_normal((4, 5))
    ref = torch.cdist(torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64),
                      compute_mode="donot_use_mm_for_euclid_dist").numpy()
    np.testing.assert_allclose(geo.pairwise_distances(X, Y), ref, rtol=1e-12, atol=1e-12)
    D = geo.pairwise_distances(X)
    assert D.shape == (7, 7) and np.all(np.diag(D) == 0) and np.allclose(D, D.T, rtol=0, atol=1e-13)


def test_pairwise_distances_never_nan_for_duplicates():
    X = np.full((3, 4), 1e8)                    # large equal rows: round-off could go negative
    assert np.all(geo.pairwise_distances(X, X.copy()) >= 0)
    assert not np.isnan(geo.pairwise_distances(X, X.copy())).any()


def test_distance_ratio_by_hand():
    pts = np.array([[1.0, 0.0], [0.0, 3.0], [-2.0, 0.0]])
    assert geo.distance_ratio(pts, np.zeros(2)) == pytest.approx(1.0 / 3.0, rel=1e-15)


def test_distance_concentration_rises_with_dimension():
    r = geo.distance_concentration([1, 10, 1000], n_points=300, n_queries=5, rng=0)
    assert r.shape == (3,) and r[0] < 0.05 < r[1] < r[2] and r[2] > 0.7
    np.testing.assert_array_equal(r, geo.distance_concentration([1, 10, 1000], 300, 5, rng=0))


def test_distance_concentration_matches_a_direct_computation():
    """Same generator stream, computed with torch.cdist: per dimension, fresh points then queries."""
    g = np.random.default_rng(4)
    expected = []
    for d in (3, 50):
        pts = torch.tensor(g.random((40, d)), dtype=torch.float64)
        qs = torch.tensor(g.random((6, d)), dtype=torch.float64)
        dist = torch.cdist(qs, pts, compute_mode="donot_use_mm_for_euclid_dist")
        expected.append((dist.min(dim=1).values / dist.max(dim=1).values).mean().item())
    got = geo.distance_concentration([3, 50], n_points=40, n_queries=6, rng=4)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_squared_distance_moments_match_the_closed_form():
    """|x - q|^2 for x, q uniform in [0,1]^d: mean d/6, variance 7d/180 (the chapter's claim)."""
    g = np.random.default_rng(0)
    d = 200
    sq = geo.pairwise_distances(g.random((400, d)), g.random((400, d))).ravel() ** 2
    assert sq.mean() == pytest.approx(d / 6, rel=0.01)
    assert sq.var() == pytest.approx(7 * d / 180, rel=0.1)


@pytest.mark.parametrize("d", [1, 2, 3, 4, 7, 20])
def test_ball_volume_matches_closed_form_and_torch(d):
    ref = math.pi ** (d / 2) / math.gamma(d / 2 + 1)
    assert geo.ball_volume(d) == pytest.approx(ref, rel=1e-12)
    lg = torch.special.gammaln(torch.tensor(d / 2 + 1, dtype=torch.float64)).item()
    assert geo.ball_volume(d, 2.0) == pytest.approx(math.exp(d / 2 * math.log(math.pi) - lg) * 2 ** d,
                                                    rel=1e-12)
    assert geo.inscribed_ball_fraction(d) == pytest.approx(ref / 2 ** d, rel=1e-12)


def test_small_dimensions_by_hand():
    assert geo.ball_volume(1) == pytest.approx(2.0, rel=1e-15)          # the interval [-1, 1]
    assert geo.ball_volume(2, 3.0) == pytest.approx(9 * math.pi, rel=1e-14)
    assert geo.inscribed_ball_fraction(2) == pytest.approx(math.pi / 4, rel=1e-14)
    assert geo.ball_volume(3, 0.0) == 0.0


def test_inscribed_ball_fraction_matches_monte_carlo(rng):
    pts = rng.uniform(-1, 1, size=(200_000, 5))
    mc = np.mean((pts ** 2).sum(axis=1) <= 1)
    assert abs(mc - geo.inscribed_ball_fraction(5)) < 0.005            # about 5 standard errors


def test_shell_fraction():
    assert geo.shell_fraction(1, 0.1) == pytest.approx(0.1, rel=1e-14)
    assert geo.shell_fraction(100, 0.01) == pytest.approx(1 - 0.99 ** 100, rel=1e-13)
    assert geo.shell_fraction(3, 1.0) == 1.0 and geo.shell_fraction(3, 0.0) == 0.0


@pytest.mark.parametrize("kind", ["plane", "swiss_roll"])
def test_embedded_manifold_is_isometric_and_low_rank(kind):
    X, U = geo.embedded_manifold(200, 50, kind=kind, rng=3)
    assert X.shape == (200, 50) and U.shape == (200, 2) and X.dtype == np.float64
    spec = geo.pca_spectrum(X)
    k = 2 if kind == "plane" else 3
    assert spec[:k].sum() > 1 - 1e-12 and spec[k:].max() < 1e-20
    X2, _ = geo.embedded_manifold(200, 50, kind=kind, rng=3)
    np.testing.assert_array_equal(X, X2)
    if kind == "plane":                                               # distances kept exactly
        Z = U
    else:                               # the documented 3-D roll, then an isometric embedding
        t = 1.5 * np.pi * (1.0 + 2.0 * U[:, 0])
        Z = np.stack([t * np.cos(t), 10.0 * U[:, 1], t * np.sin(t)], axis=1) / 10.0
    np.testing.assert_allclose(geo.pairwise_distances(X), geo.pairwise_distances(Z),
                               rtol=0, atol=1e-10)


def test_embedded_manifold_noise_fills_the_ambient_space():
    X, _ = geo.embedded_manifold(500, 20, noise=0.05, rng=0)
    assert geo.pca_spectrum(X)[2:].sum() > 0.1


def test_pca_spectrum_matches_torch_svd(rng):
    X = rng.standard_normal((30, 6)) * np.arange(1, 7)
    Xt = torch.tensor(X, dtype=torch.float64)
    s = torch.linalg.svdvals(Xt - Xt.mean(dim=0)).numpy()
    np.testing.assert_allclose(geo.pca_spectrum(X), s ** 2 / (s ** 2).sum(), rtol=1e-12, atol=1e-15)


def test_knn_matches_sklearn(rng):
    from sklearn.neighbors import KNeighborsClassifier
    X, Xq = rng.standard_normal((120, 3)), rng.standard_normal((40, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    ref = KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(X, y).predict(Xq)
    np.testing.assert_array_equal(geo.knn_predict(X, y, Xq, k=5), ref)
    assert np.array_equal(geo.knn_predict(X, y, X, k=1), y)            # each point is its own neighbour


def test_knn_vote_ties_go_to_the_smallest_label():
    X = np.array([[0.0], [1.0], [3.0]])
    y = np.array([2, 1, 0])
    assert geo.knn_predict(X, y, np.array([[0.4]]), k=2)[0] == 1


@pytest.mark.parametrize("call, match", [
    (lambda: geo.pairwise_distances(np.ones(3)), "X"),
    (lambda: geo.pairwise_distances(np.ones((2, 3)), np.ones((2, 4))), "Y"),
    (lambda: geo.pairwise_distances([[np.nan, 1.0]]), "X"),
    (lambda: geo.distance_ratio(np.ones((3, 2)), np.ones(3)), "query"),
    (lambda: geo.distance_ratio(np.ones((1, 2)), np.zeros(2)), "points"),
    (lambda: geo.distance_ratio(np.zeros((3, 2)), np.zeros(2)), "points"),
    (lambda: geo.distance_concentration([0, 2]), "dims"),
    (lambda: geo.distance_concentration([1.5]), "dims"),
    (lambda: geo.distance_concentration([2], n_points=1), "n_points"),
    (lambda: geo.distance_concentration([2], n_queries=0), "n_queries"),
    (lambda: geo.distance_concentration([2], rng=-1), "rng"),
    (lambda: geo.ball_volume(0), "d"),
    (lambda: geo.ball_volume(2.5), "d"),
    (lambda: geo.ball_volume(2, -1.0), "r"),
    (lambda: geo.inscribed_ball_fraction(True), "d"),
    (lambda: geo.shell_fraction(3, 1.5), "eps"),
    (lambda: geo.embedded_manifold(10, 1), "ambient_dim"),
    (lambda: geo.embedded_manifold(10, 2, kind="swiss_roll"), "ambient_dim"),
    (lambda: geo.embedded_manifold(10, 5, kind="torus"), "kind"),
    (lambda: geo.embedded_manifold(10, 5, noise=-0.1), "noise"),
    (lambda: geo.embedded_manifold(0, 5), "n"),
    (lambda: geo.pca_spectrum(np.ones((1, 3))), "X"),
    (lambda: geo.pca_spectrum(np.ones((4, 3))), "X"),
    (lambda: geo.knn_predict(np.ones((3, 2)), np.array([0, 1]), np.ones((1, 2))), "y_train"),
    (lambda: geo.knn_predict(np.ones((3, 2)), np.array([0.0, 1, 1]), np.ones((1, 2))), "y_train"),
    (lambda: geo.knn_predict(np.ones((3, 2)), np.array([0, 1, 1]), np.ones((1, 2)), k=4), "k"),
    (lambda: geo.knn_predict(np.ones((3, 2)), np.array([0, 1, 1]), np.ones((1, 3)), k=1), "X_test"),
])
def test_bad_inputs_raise_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
