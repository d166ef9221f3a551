"""dlcore.generative: toy ring distribution, mode coverage, Gaussian KL against torch."""
import numpy as np
import pytest
import torch

from dlcore import generative as gen


def test_ring_samples_cover_every_mode():
    x = gen.gaussian_ring(4000, k=8, rng=0)
    assert x.shape == (4000, 2)
    modes, near = gen.mode_coverage(x)
    assert modes == 8 and near > 0.97   # 3 std of a 2-D Gaussian: 1 - exp(-4.5) = 0.989


def test_collapsed_samples_are_detected():
    c = gen.ring_centres()
    x = c[[0, 3]][np.arange(1000) % 2] + 0.01 * np.random.default_rng(0).normal(size=(1000, 2))
    assert gen.mode_coverage(x) == (2, 1.0)
    assert gen.mode_coverage(np.zeros((10, 2)))[0] == 0


def test_gaussian_kl_matches_torch_distributions():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(5, 3, dtype=torch.float64),
                                   torch.ones(5, 3, dtype=torch.float64))
    ref = torch.distributions.kl_divergence(q, p).sum(1).numpy()
    np.testing.assert_allclose(gen.gaussian_kl(mu, logvar), ref, rtol=1e-12)
    assert gen.gaussian_kl(np.zeros((1, 4)), np.zeros((1, 4)))[0] == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda: gen.gaussian_ring(0), "n"), (lambda: gen.gaussian_ring(5, k=0), "k"),
    (lambda: gen.gaussian_ring(5, std=0), "std"), (lambda: gen.ring_centres(radius=-1), "radius"),
    (lambda: gen.mode_coverage(np.zeros((3, 3))), "samples"),
    (lambda: gen.gaussian_kl(np.zeros((2, 2)), np.zeros((2, 3))), "logvar"),
    (lambda: gen.gaussian_ring(5, rng="x"), "rng"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
