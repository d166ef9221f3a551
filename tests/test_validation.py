"""Bad inputs raise ValueError with a message naming the argument, the expectation and what was received."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from dlcore import functional as F, losses, layers as L, optim, gradcheck

NAN, INF = float("nan"), float("inf")


def raises(match):
    return pytest.raises(ValueError, match=match)


# ---------------------------------------------------------------- functional

ELEMENTWISE = [F.sigmoid, F.sigmoid_grad, F.tanh, F.tanh_grad, F.relu, F.relu_grad, F.leaky_relu, F.leaky_relu_grad,
               F.elu, F.elu_grad, F.softmax, F.log_softmax, F.logsumexp, F.softmax_jacobian]


@pytest.mark.parametrize("f", ELEMENTWISE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad,msg", [([1.0, NAN], r"^z: expected finite values, got NaN"),
                                     ([1.0, INF], r"^z: expected finite values, got inf"),
                                     ([-INF, 0.0], r"^z: expected finite values, got inf"),
                                     (["a", "b"], r"^z: expected a real numeric array, got dtype <U1"),
                                     ([1 + 2j], r"^z: expected a real array, got complex"),
                                     ([None, 1.0], r"^z: expected a real numeric array, got dtype object")])
def test_activations_reject_nonfinite_and_non_numeric(f, bad, msg):
    with raises(msg):
        f(np.array(bad))


@pytest.mark.parametrize("f", [F.softmax, F.log_softmax, F.logsumexp])
def test_softmax_axis_and_shape(f):
    with raises(r"^axis: expected an axis in \[-2, 1\] for shape \(2, 3\), got 2"):
        f(np.zeros((2, 3)), axis=2)
    with raises(r"^axis: .* got -3"):
        f(np.zeros((2, 3)), axis=-3)
    with raises(r"^z: expected at least 1 dimension .* got shape \(\)"):
        f(np.float64(1.0))
    with raises(r"^z: expected at least one entry along axis 1, got shape \(2, 0\)"):
        f(np.zeros((2, 0)), axis=1)


@pytest.mark.parametrize("f", [F.softmax, F.log_softmax, F.logsumexp])
@pytest.mark.parametrize("axis", [1.0, "0", None, True])
def test_softmax_axis_must_be_an_integer(f, axis):
    with raises(r"^axis: expected an integer axis"):
        f(np.zeros((2, 3)), axis=axis)


def test_softmax_jacobian_scalar():
    with raises(r"^z: expected at least 1 dimension"):
        F.softmax_jacobian(3.0)


@pytest.mark.parametrize("vjp", [F.softmax_vjp, F.log_softmax_vjp])
def test_vjp_dout_shape_and_values(vjp):
    with raises(r"^dout: expected shape \(2, 3\) \(the shape of z\), got shape \(3, 2\)"):
        vjp(np.zeros((2, 3)), np.zeros((3, 2)))
    with raises(r"^dout: expected shape \(2, 3\).*got shape \(3,\)"):
        vjp(np.zeros((2, 3)), np.zeros(3))  # no silent broadcasting
    with raises(r"^dout: expected finite values, got NaN"):
        vjp(np.zeros((2, 3)), np.full((2, 3), NAN))
    with raises(r"^z: expected finite"):
        vjp(np.full((2, 3), INF), np.zeros((2, 3)))


@pytest.mark.parametrize("f", [F.elu, F.elu_grad])
@pytest.mark.parametrize("alpha", [-1.0, NAN, INF])
def test_elu_alpha(f, alpha):
    with raises(r"^alpha: expected a finite number >= 0, got"):
        f(np.zeros(2), alpha=alpha)


@pytest.mark.parametrize("f", [F.leaky_relu, F.leaky_relu_grad])
@pytest.mark.parametrize("alpha", [NAN, INF, -INF])
def test_leaky_relu_alpha_must_be_finite(f, alpha):
    with raises(r"^alpha: expected a finite number, got"):
        f(np.zeros(2), alpha=alpha)


# ---------------------------------------------------------------- losses

@pytest.mark.parametrize("loss,first", [(losses.mse, "pred"), (losses.binary_cross_entropy, "p"), (losses.bce_with_logits, "z")])
def test_elementwise_losses_shape_mismatch(loss, first):
    second = "target" if loss is losses.mse else "y"
    with raises(rf"^{second}: expected shape \(3,\) \(the shape of {first}\), got shape \(3, 1\)"):
        loss(np.full(3, 0.5), np.full((3, 1), 0.5))
    with raises(rf"^{second}: expected shape \(2, 3\) \(the shape of {first}\), got shape \(3,\)"):
        loss(np.full((2, 3), 0.5), np.full(3, 0.5))  # no silent broadcasting


@pytest.mark.parametrize("loss,first", [(losses.mse, "pred"), (losses.binary_cross_entropy, "p"), (losses.bce_with_logits, "z")])
def test_elementwise_losses_nonfinite_and_empty(loss, first):
    second = "target" if loss is losses.mse else "y"
    with raises(rf"^{first}: expected finite values, got NaN"):
        loss(np.array([NAN, 0.5]), np.array([0.5, 0.5]))
    with raises(rf"^{second}: expected finite values, got inf"):
        loss(np.array([0.5, 0.5]), np.array([INF, 0.5]))
    with raises(rf"^{first}: expected at least one element, got shape \(0,\)"):
        loss(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("bad", [-0.1, 1.5, -1e-12, 1 + 1e-12])
def test_bce_probabilities_outside_unit_interval(bad):
    with raises(rf"^p: expected values in \[0.0, 1.0\], got {bad!r}"):
        losses.binary_cross_entropy(np.array([0.5, bad]), np.array([1.0, 0.0]))


@pytest.mark.parametrize("loss", [losses.binary_cross_entropy, losses.bce_with_logits])
@pytest.mark.parametrize("bad", [-1.0, 2.0])
def test_bce_targets_outside_unit_interval(loss, bad):
    with raises(r"^y: expected values in \[0.0, 1.0\], got"):
        loss(np.array([0.5, 0.5]), np.array([0.0, bad]))


def test_cross_entropy_logits_shape():
    with raises(r"^logits: expected a 2-D array, got shape \(3,\)"):
        losses.softmax_cross_entropy(np.zeros(3), np.array([0]))
    with raises(r"^logits: expected a 2-D array, got shape \(1, 2, 3\)"):
        losses.softmax_cross_entropy(np.zeros((1, 2, 3)), np.array([0]))
    with raises(r"^logits: expected shape \(N, C\) with N, C >= 1, got shape \(0, 3\)"):
        losses.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with raises(r"^logits: expected finite values, got NaN"):
        losses.softmax_cross_entropy(np.array([[0.0, NAN]]), np.array([0]))


def test_cross_entropy_labels():
    z = np.zeros((3, 4))
    with raises(r"^y: expected class indices in \[0, 3\], got 4"):
        losses.softmax_cross_entropy(z, np.array([0, 4, 1]))
    with raises(r"^y: expected class indices in \[0, 3\], got -1"):
        losses.softmax_cross_entropy(z, np.array([0, -1, 1]))
    with raises(r"^y: expected integer class indices, got non-integer floats"):
        losses.softmax_cross_entropy(z, np.array([0.0, 1.5, 1.0]))
    with raises(r"^y: expected integer class indices, got non-integer floats"):
        losses.softmax_cross_entropy(z, np.array([0.0, NAN, 1.0]))
    with raises(r"^y: expected integer class indices, got dtype bool"):
        losses.softmax_cross_entropy(z, np.array([True, False, True]))
    with raises(r"^y: expected integer class indices, got dtype <U1"):
        losses.softmax_cross_entropy(z, np.array(["a", "b", "c"]))
    with raises(r"^y: expected class indices of shape \(3,\), got shape \(2,\)"):
        losses.softmax_cross_entropy(z, np.array([0, 1]))
    with raises(r"^y: expected class indices of shape \(3,\) or a distribution of shape \(3, 4\), got shape \(\)"):
        losses.softmax_cross_entropy(z, 1)
    with raises(r"^y: expected class indices of shape \(3,\) or a distribution of shape \(3, 4\), got shape \(3, 4, 1\)"):
        losses.softmax_cross_entropy(z, np.zeros((3, 4, 1)))


def test_cross_entropy_distribution_targets():
    z = np.zeros((2, 3))
    with raises(r"^y: expected shape \(2, 3\) \(the shape of logits\), got shape \(2, 4\)"):
        losses.softmax_cross_entropy(z, np.full((2, 4), 0.25))
    with raises(r"^y: expected each row of the target distribution to sum to 1, got a row summing to 0.875"):
        losses.softmax_cross_entropy(z, np.array([[0.5, 0.25, 0.125], [1.0, 0.0, 0.0]]))
    with raises(r"^y: expected each row .* sum to 1, got a row summing to 2.0"):
        losses.softmax_cross_entropy(z, np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    with raises(r"^y: expected values in \[0.0, 1.0\], got -0.5"):
        losses.softmax_cross_entropy(z, np.array([[1.5, -0.5, 0.0], [1.0, 0.0, 0.0]]))
    with raises(r"^y: expected finite values, got NaN"):
        losses.softmax_cross_entropy(z, np.array([[NAN, 0.0, 0.0], [1.0, 0.0, 0.0]]))


def test_one_hot_validation():
    with raises(r"^n_classes: expected a positive integer, got 0"):
        losses.one_hot([0], 0)
    with raises(r"^y: expected class indices of shape \(N,\), got shape \(2, 1\)"):
        losses.one_hot([[0], [1]], 3)
    with raises(r"^y: expected class indices in \[0, 2\], got 3"):
        losses.one_hot([0, 3], 3)
    with raises(r"^y: expected integer class indices, got non-integer floats"):
        losses.one_hot([0.5], 3)


# ---------------------------------------------------------------- layers

def _layers():
    return [L.Linear(3, 2, rng=0), L.ReLU(), L.LeakyReLU(), L.Sigmoid(), L.Tanh(), L.ELU(), L.Dropout(0.5, rng=0),
            L.Sequential(L.Linear(3, 2, rng=0), L.ReLU())]


@pytest.mark.parametrize("layer", _layers(), ids=lambda l: type(l).__name__)
def test_backward_before_forward(layer):
    with raises(rf"^{type(layer).__name__}.backward: call forward first"):
        layer.backward(np.zeros((4, 2)))


@pytest.mark.parametrize("layer", _layers(), ids=lambda l: type(l).__name__)
def test_wrong_dout_shape(layer):
    out = layer.forward(np.zeros((4, 3)))
    with raises(rf"^dout: expected shape \({out.shape[0]}, {out.shape[1]}\) \(the shape of the layer's output\), got shape \(4, 5\)"):
        layer.backward(np.zeros((4, 5)))
    with raises(r"^dout: expected shape .* got shape \(1, " ):
        layer.backward(np.zeros((1, out.shape[1])))  # no silent broadcasting
    with raises(r"^dout: expected finite values, got NaN"):
        layer.backward(np.full(out.shape, NAN))


@pytest.mark.parametrize("layer", _layers(), ids=lambda l: type(l).__name__)
def test_layer_rejects_nonfinite_input(layer):
    with raises(r"^x: expected finite values, got inf"):
        layer.forward(np.array([[1.0, INF, 0.0]]))


def test_linear_input_shape():
    layer = L.Linear(3, 2, rng=0)
    with raises(r"^x: expected shape \(N, 3\), got shape \(4, 2\)"):
        layer.forward(np.zeros((4, 2)))
    with raises(r"^x: expected a 2-D array, got shape \(3,\)"):
        layer.forward(np.zeros(3))
    with raises(r"^in_features, out_features: expected positive integers, got 0, 2"):
        L.Linear(0, 2)
    with raises(r"^in_features, out_features: expected positive integers, got 3, -1"):
        L.Linear(3, -1)


def test_failed_backward_leaves_grads_untouched():
    layer = L.Linear(3, 2, rng=0)
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)))
    g = {k: v.copy() for k, v in layer.grads.items()}
    with raises(r"^dout"):
        layer.backward(np.ones((4, 5)))
    for k in g:
        assert_array_equal(layer.grads[k], g[k])


@pytest.mark.parametrize("p", [1.0, 1.5, -0.1, NAN, INF])
def test_dropout_p(p):
    with raises(rf"^p: expected a number in \[0, 1\), got {p!r}"):
        L.Dropout(p)


@pytest.mark.parametrize("alpha", [-1.0, NAN])
def test_elu_layer_alpha(alpha):
    with raises(r"^alpha: expected a finite number >= 0"):
        L.ELU(alpha)


@pytest.mark.parametrize("alpha", [NAN, INF])
def test_leaky_relu_layer_alpha(alpha):
    with raises(r"^alpha: expected a finite number"):
        L.LeakyReLU(alpha)


def test_sequential_rejects_non_layers():
    with raises(r"^layers\[1\]: expected a dlcore Layer, got ufunc"):
        L.Sequential(L.ReLU(), np.tanh)


def test_sequential_shape_error_names_x():
    model = L.Sequential(L.Linear(3, 4, rng=0), L.ReLU(), L.Linear(5, 2, rng=0))
    with raises(r"^x: expected shape \(N, 5\), got shape \(2, 4\)"):
        model.forward(np.zeros((2, 3)))


# ---------------------------------------------------------------- optimizers

ALL_OPTS = [optim.SGD, optim.AdaGrad, optim.RMSProp, optim.Adam, optim.AdamW]


@pytest.mark.parametrize("cls", ALL_OPTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("lr", [-0.1, NAN, INF])
def test_bad_lr(cls, lr):
    with raises(rf"^lr: expected a finite number >= 0, got {lr!r}"):
        cls(lr=lr)


@pytest.mark.parametrize("make,msg", [
    (lambda: optim.SGD(0.1, momentum=-0.5), r"^momentum: expected a finite number >= 0, got -0.5"),
    (lambda: optim.SGD(0.1, weight_decay=-1e-4), r"^weight_decay: expected a finite number >= 0, got -0.0001"),
    (lambda: optim.SGD(0.1, nesterov=True), r"^nesterov: requires momentum > 0 and dampening = 0, got momentum=0.0"),
    (lambda: optim.SGD(0.1, momentum=0.9, dampening=0.1, nesterov=True), r"^nesterov: requires .* dampening=0.1"),
    (lambda: optim.SGD(0.1, momentum=0.9, dampening=NAN), r"^dampening: expected a finite number, got nan"),
    (lambda: optim.AdaGrad(eps=-1.0), r"^eps: expected a finite number >= 0, got -1.0"),
    (lambda: optim.AdaGrad(weight_decay=NAN), r"^weight_decay: expected a finite number >= 0, got nan"),
    (lambda: optim.RMSProp(alpha=1.5), r"^alpha: expected a number in \[0, 1\], got 1.5"),
    (lambda: optim.RMSProp(alpha=-0.1), r"^alpha: expected a number in \[0, 1\], got -0.1"),
    (lambda: optim.RMSProp(momentum=-1), r"^momentum: expected a finite number >= 0, got -1"),
    (lambda: optim.RMSProp(eps=INF), r"^eps: expected a finite number >= 0, got inf"),
    (lambda: optim.RMSProp(weight_decay=-1), r"^weight_decay: expected a finite number >= 0, got -1"),
    (lambda: optim.Adam(betas=(1.0, 0.999)), r"^betas\[0\]: expected a number in \[0, 1\), got 1.0"),
    (lambda: optim.Adam(betas=(0.9, -0.1)), r"^betas\[1\]: expected a number in \[0, 1\), got -0.1"),
    (lambda: optim.Adam(betas=(0.9,)), r"^betas: expected a pair \(beta1, beta2\), got \(0.9,\)"),
    (lambda: optim.Adam(betas=(0.9, 0.99, 0.9)), r"^betas: expected a pair"),
    (lambda: optim.Adam(eps=-1e-8), r"^eps: expected a finite number >= 0, got -1e-08"),
    (lambda: optim.Adam(weight_decay=-0.1), r"^weight_decay: expected a finite number >= 0, got -0.1"),
    (lambda: optim.AdamW(weight_decay=-0.01), r"^weight_decay: expected a finite number >= 0, got -0.01"),
    (lambda: optim.AdamW(betas=(0.9, 1.0)), r"^betas\[1\]: expected a number in \[0, 1\), got 1.0"),
])
def test_bad_hyperparameters(make, msg):
    with raises(msg):
        make()


@pytest.mark.parametrize("cls", ALL_OPTS, ids=lambda c: c.__name__)
def test_step_argument_checks(cls):
    opt = cls(lr=0.1)
    p = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    with raises(r"^grads: expected a gradient for every parameter, missing \['b'\]"):
        opt.step(p, {"W": np.ones((2, 3))})
    with raises(r"^grads\['b'\]: expected shape \(3,\) \(the shape of the parameter\), got shape \(1, 3\)"):
        opt.step(p, {"W": np.ones((2, 3)), "b": np.ones((1, 3))})
    with raises(r"^grads\['W'\]: expected shape \(2, 3\) .* got shape \(3, 2\)"):
        opt.step(p, {"W": np.ones((3, 2)), "b": np.ones(3)})
    with raises(r"^grads\['W'\]: expected finite values, got NaN"):
        opt.step(p, {"W": np.full((2, 3), NAN), "b": np.ones(3)})
    with raises(r"^params\['W'\]: expected a float64 ndarray \(updated in place\), got ndarray float32"):
        opt.step({"W": np.zeros((2, 3), dtype=np.float32)}, {"W": np.ones((2, 3))})
    with raises(r"^params\['W'\]: expected a float64 ndarray .* got list"):
        opt.step({"W": [0.0, 1.0]}, {"W": [1.0, 1.0]})
    with raises(r"^params, grads: expected dicts of arrays, got list, dict"):
        opt.step([np.zeros(2)], {"0": np.zeros(2)})
    ro = np.zeros(3)
    ro.setflags(write=False)
    with raises(r"^params\['r'\]: expected a writeable array"):
        opt.step({"r": ro}, {"r": np.ones(3)})
    # none of the failed calls changed a parameter or created state
    assert_array_equal(p["W"], 0.0)
    assert_array_equal(p["b"], 0.0)
    assert opt.state == {} and opt.history == []


# ---------------------------------------------------------------- gradcheck

def test_gradcheck_validation():
    with raises(r"^x: expected a float64 array \(perturbed in place\), got dtype float32"):
        gradcheck.numerical_gradient(np.sum, np.zeros(3, dtype=np.float32))
    with raises(r"^x: expected a float64 array .* got dtype int64"):
        gradcheck.numerical_gradient(np.sum, np.zeros(3, dtype=np.int64))
    for h in (0.0, -1e-6, NAN):
        with raises(r"^h: expected a finite number > 0, got"):
            gradcheck.numerical_gradient(np.sum, np.zeros(3), h=h)
    with raises(r"^f: expected a callable"):
        gradcheck.numerical_gradient(3.0, np.zeros(3))
    with raises(r"^f: expected a scalar-valued function, got an output of shape \(3,\)"):
        gradcheck.numerical_gradient(lambda v: v * 2, np.zeros(3))
    with raises(r"^b: expected shape \(3,\) \(the shape of a\), got shape \(2,\)"):
        gradcheck.relative_error(np.zeros(3), np.zeros(2))
    with raises(r"^a: expected a real numeric array"):
        gradcheck.relative_error(np.array(["x"]), np.zeros(1))
    with raises(r"^x: expected finite values"):
        gradcheck.check_layer(L.ReLU(), np.array([[NAN]]))
