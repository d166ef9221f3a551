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
    with raises(r"^n_classes: expected an integer >= 1, got 0"):
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
    with raises(r"^in_features: expected an integer >= 1, got 0"):
        L.Linear(0, 2)
    with raises(r"^out_features: expected an integer >= 1, got -1"):
        L.Linear(3, -1)
    with raises(r"^in_features: expected an integer, got float 2.5"):     # no truncation to 2
        L.Linear(2.5, 2)


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
    (lambda: optim.SGD(0.1, momentum=0.9, dampening=NAN), r"^dampening: expected a number in \[0, 1\], got nan"),
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


# ---------------------------------------------------------------- hyperparameters that are not numbers

@pytest.mark.parametrize("make,name", [
    (lambda v: optim.SGD(lr=v), "lr"),
    (lambda v: optim.Adam(eps=v), "eps"),
    (lambda v: optim.RMSProp(alpha=v), "alpha"),
    (lambda v: L.Dropout(p=v), "p"),
    (lambda v: L.LeakyReLU(v), "alpha"),
    (lambda v: F.elu(np.zeros(2), alpha=v), "alpha"),
    (lambda v: gradcheck.numerical_gradient(np.sum, np.zeros(2), h=v), "h"),
], ids=["SGD.lr", "Adam.eps", "RMSProp.alpha", "Dropout.p", "LeakyReLU.alpha", "elu.alpha", "numerical_gradient.h"])
@pytest.mark.parametrize("bad,got", [("0.1", r"str '0.1'"), (None, "NoneType None"), (1j, r"complex 1j"),
                                     (True, "bool True"), (np.ones(2), r"ndarray array\(\[1., 1.\]\)")])
def test_scalar_hyperparameters_must_be_real_numbers(make, name, bad, got):
    with raises(rf"^{name}: expected a real number, got {got}"):
        make(bad)


# ---------------------------------------------------------------- segmentation

from dlcore import segmentation as seg  # noqa: E402

SEG_LOSSES = {
    "soft_dice_loss": lambda z, y: seg.soft_dice_loss(z, y),
    "soft_iou_loss": lambda z, y: seg.soft_iou_loss(z, y),
    "weighted_cross_entropy": lambda z, y: seg.weighted_cross_entropy(z, y, np.ones(3)),
    "bootstrapped_cross_entropy": lambda z, y: seg.bootstrapped_cross_entropy(z, y, 3),
}


@pytest.mark.parametrize("fn", SEG_LOSSES.values(), ids=list(SEG_LOSSES))
@pytest.mark.parametrize("logits,msg", [
    (np.zeros((2, 3, 4), dtype=object), r"^logits: expected a real numeric array, got dtype object"),
    (np.zeros((2, 3, 4), dtype=complex), r"^logits: expected a real array, got complex dtype complex128"),
    (np.full((2, 3, 4), "a"), r"^logits: expected a real numeric array, got dtype <U1"),
    (np.full((2, 3, 4), INF), r"^logits: expected finite values, got inf"),
    (np.full((2, 3, 4), -INF), r"^logits: expected finite values, got inf"),
    (np.zeros((2, 0, 4)), r"^logits: expected shape \(N, C, \*spatial\) with no zero-length axis, got shape \(2, 0, 4\)"),
    (np.zeros((2, 3, 0)), r"^logits: expected shape \(N, C, \*spatial\) with no zero-length axis, got shape \(2, 3, 0\)"),
    (np.zeros(3), r"^logits: expected at least 2 dimension\(s\), got shape \(3,\)"),
], ids=["object", "complex", "str", "inf", "-inf", "C=0", "W=0", "1-D"])
def test_segmentation_bad_logits(fn, logits, msg):
    with raises(msg):
        fn(logits, np.zeros((2, 4), dtype=np.int64))


@pytest.mark.parametrize("fn", SEG_LOSSES.values(), ids=list(SEG_LOSSES))
@pytest.mark.parametrize("target,msg", [
    (np.full((2, 4), 1.5), r"^target: expected integer class indices, got non-integer floats"),   # no silent truncation to 1
    (np.full((2, 4), NAN), r"^target: expected integer class indices, got non-integer floats"),
    (np.full((2, 4), INF), r"^target: expected integer class indices, got non-integer floats"),
    (np.zeros((2, 4), dtype=bool), r"^target: expected integer class indices, got dtype bool"),
    (np.zeros((2, 4), dtype=object), r"^target: expected integer class indices, got dtype object"),
    (np.zeros((2, 4), dtype=complex), r"^target: expected integer class indices, got dtype complex128"),
    (np.full((2, 4), 3), r"^target: expected class indices in \[0, 2\], got 3"),
    (np.full((2, 4), -1), r"^target: expected class indices in \[0, 2\], got -1"),
    (np.zeros((2, 4, 1), dtype=np.int64), r"^target: expected class labels of shape \(2, 4\) .*got shape \(2, 4, 1\)"),
    (np.zeros((4, 2), dtype=np.int64), r"^target: expected class labels of shape \(2, 4\) .*got shape \(4, 2\)"),
], ids=["1.5", "nan", "inf", "bool", "object", "complex", "too-large", "negative", "extra-axis", "transposed"])
def test_segmentation_bad_targets(fn, target, msg):
    with raises(msg):
        fn(np.zeros((2, 3, 4)), target)


def test_segmentation_whole_number_float_targets_are_accepted():
    z, y = np.zeros((2, 3, 4)), np.array([[0, 1, 2, 0], [1, 1, 2, 0]])
    for fn in SEG_LOSSES.values():
        assert fn(z, y.astype(np.float64))[0] == fn(z, y)[0]


@pytest.mark.parametrize("weight,msg", [
    (np.array([NAN, 1.0, 1.0]), r"^weight: expected finite values, got NaN"),
    (np.array([INF, 1.0, 1.0]), r"^weight: expected finite values, got inf"),
    (np.ones(3, dtype=complex), r"^weight: expected a real array, got complex"),
    (np.array([None, 1.0, 1.0]), r"^weight: expected a real numeric array, got dtype object"),
    (np.ones((1, 3)), r"^weight: expected a 1-D array, got shape \(1, 3\)"),
    (np.ones(2), r"^weight: expected shape \(3,\) \(one weight per class\), got shape \(2,\)"),
    (np.array([1.0, -0.5, 1.0]), r"^weight: expected non-negative class weights, got -0.5"),
])
def test_weighted_cross_entropy_bad_weight(weight, msg):
    with raises(msg):
        seg.weighted_cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64), weight)


@pytest.mark.parametrize("k", [0, 9, -1, 2.0, 1.5, True, "2", None])
def test_bootstrapped_k(k):
    int_k = isinstance(k, int) and not isinstance(k, bool)
    msg = rf"integer number of pixels in \[1, 8\], got {k!r}" if int_k else \
        rf"integer, got {type(k).__name__} {k!r}"
    with raises(rf"^k: expected an {msg}"):
        seg.bootstrapped_cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64), k)


@pytest.mark.parametrize("fn", [seg.soft_dice_loss, seg.soft_iou_loss])
@pytest.mark.parametrize("eps,msg", [(-1e-5, r"got -1e-05"), (NAN, "got nan"), (INF, "got inf")])
def test_region_loss_eps(fn, eps, msg):
    with raises(rf"^eps: expected a finite number >= 0, {msg}"):
        fn(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64), eps=eps)
    with raises(r"^eps: expected a real number, got str '0.1'"):
        fn(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64), eps="0.1")


@pytest.mark.parametrize("args,msg", [
    ((np.zeros(3, dtype=int), np.zeros(3, dtype=int), 0), r"^n_classes: expected an integer >= 1, got 0"),
    ((np.zeros(3, dtype=int), np.zeros(3, dtype=int), 2.5), r"^n_classes: expected an integer, got float 2.5"),
    ((np.zeros(3, dtype=int), np.zeros(3, dtype=int), "3"), r"^n_classes: expected an integer, got str '3'"),
    ((np.zeros(3, dtype=int), np.zeros(3, dtype=int), True), r"^n_classes: expected an integer, got bool True"),
    ((np.array([0, 1.5, 1]), np.zeros(3, dtype=int), 3), r"^pred: expected integer class indices, got non-integer floats"),
    ((np.zeros(3, dtype=int), np.array([0, 3, 1]), 3), r"^target: expected class indices in \[0, 2\], got 3"),
    ((np.array([0, -1, 1]), np.zeros(3, dtype=int), 3), r"^pred: expected class indices in \[0, 2\], got -1"),
    ((np.zeros(3, dtype=object), np.zeros(3, dtype=int), 3), r"^pred: expected integer class indices, got dtype object"),
    ((np.zeros(3, dtype=int), np.zeros(4, dtype=int), 3), r"^target: expected shape \(3,\) \(the shape of pred\), got shape \(4,\)"),
])
def test_hard_dice_bad_inputs(args, msg):
    with raises(msg):
        seg.hard_dice(*args)


# ---------------------------------------------------------------- autodiff

from dlcore import autodiff as ad  # noqa: E402


@pytest.mark.parametrize("make", [ad.Value, ad.Dual, lambda v: ad.Dual(1.0, v), lambda v: ad.Value(1.0) + v,
                                  lambda v: ad.Dual(1.0) * v, lambda v: ad.Value(2.0) ** v,
                                  ad.exp, ad.log, ad.tanh, ad.sigmoid, lambda v: ad.grad_forward(ad.exp, [v]),
                                  lambda v: ad.grad_reverse(ad.exp, [v])],
                         ids=["Value", "Dual.val", "Dual.dot", "Value+", "Dual*", "Value**", "exp", "log", "tanh",
                              "sigmoid", "grad_forward", "grad_reverse"])
@pytest.mark.parametrize("bad,msg", [
    (NAN, "expected a finite number, got nan"), (INF, "expected a finite number, got inf"),
    ("1.0", "expected a real number, got str '1.0'"), (1 + 2j, r"expected a real number, got complex \(1\+2j\)"),
    (None, "expected a real number, got NoneType None"), (True, "expected a real number, got bool True"),
    (np.array([1.0, 2.0]), r"expected a real number, got ndarray array\(\[1., 2.\]\)"),
], ids=["nan", "inf", "str", "complex", "None", "bool", "array"])
def test_autodiff_rejects_non_numbers(make, bad, msg):
    with raises(rf"^(data|val|dot|other|exponent|x|xs\[0\]): {msg}"):
        make(bad)


def test_autodiff_accepts_numpy_scalars():
    assert ad.Value(np.int64(3)).data == 3.0 and ad.Dual(np.float32(0.5), np.int32(1)).dot == 1.0


@pytest.mark.parametrize("expr,msg", [
    (lambda: ad.Value(1.0) / 0, r"^other: expected a nonzero divisor, got a Value with data 0.0"),
    (lambda: 1.0 / ad.Value(0.0), r"^other: expected a nonzero divisor, got a Value with data 0.0"),
    (lambda: ad.Dual(1.0) / 0.0, r"^other: expected a nonzero divisor, got a Dual with value 0.0"),
    (lambda: ad.Value(-1.0).log(), r"^log: expected a positive argument, got -1.0"),
    (lambda: ad.log(ad.Dual(0.0)), r"^log: expected a positive argument, got 0.0"),
    (lambda: ad.log(-2.0), r"^log: expected a positive argument, got -2.0"),
    (lambda: ad.exp(1000.0), r"^exp: expected an argument <= 709.783 .* got 1000.0"),
    (lambda: ad.Value(710.0).exp(), r"^exp: expected an argument <= 709.783 .* got 710.0"),
    (lambda: ad.Dual(800.0).exp(), r"^exp: expected an argument <= 709.783 .* got 800.0"),
    (lambda: ad.Value(-2.0) ** 0.5, r"^exponent: expected an integer exponent for a negative base, got base -2.0 and exponent 0.5"),
    (lambda: ad.Dual(-2.0) ** 1.5, r"^exponent: expected an integer exponent for a negative base"),
    (lambda: ad.Value(0.0) ** -1, r"^exponent: expected an exponent >= 0 for a base of 0, got -1.0"),
    (lambda: ad.Value(10.0) ** 400, r"^exponent: 10.0 \*\* 400.0 overflows float64"),
    (lambda: ad.Dual(0.0, 1.0) ** 0.5, r"^exponent: the derivative of x \*\* 0.5 at x = 0 is infinite"),
    (lambda: ad.grad_reverse(lambda x: x ** 0.5, [0.0]), r"^exponent: the derivative of x \*\* 0.5 at x = 0 is infinite"),
    (lambda: ad.grad_forward(lambda x: x, []), r"^xs: expected at least one input"),
    (lambda: ad.grad_forward(lambda x: 1.0, [1.0]), r"^f: expected it to return a Dual for Dual inputs, got float"),
    (lambda: ad.grad_reverse(lambda x: 1.0, [1.0]), r"^f: expected it to return a Value for Value inputs, got float"),
    (lambda: ad.sym_diff(("^", "x", 2), "x"), r"^expression: expected a number, a variable name or \(op, a, b\) .* got \('\^', 'x', 2\)"),
    (lambda: ad.sym_eval(("+", "x", "y"), {"x": 1.0}), r"^env: no value for variable 'y'"),
    (lambda: ad.sym_size(True), r"^expression: booleans are not numbers"),
    (lambda: ad.value_graph(1.0), r"^root: expected a Value, got float"),
])
def test_autodiff_domain_errors(expr, msg):
    with raises(msg):
        expr()


def test_pow_zero_exponent_has_zero_derivative_at_zero():
    # torch.pow's backward special-cases exponent 0: d/dx x^0 = 0, also at x = 0 (no 0 ** -1)
    assert ad.grad_reverse(lambda x: x ** 0, [0.0]) == (1.0, [0.0])
    assert ad.grad_forward(lambda x: x ** 0, [0.0]) == (1.0, [0.0])
    assert (ad.Dual(0.0) ** 0.5).val == 0.0   # a constant (dot = 0) needs no derivative


# ---------------------------------------------------------------- graphs

from dlcore import graphs  # noqa: E402


@pytest.mark.parametrize("nodes,edges,msg", [
    ([], [], r"^nodes: expected a non-empty list of dicts with keys 'id' and 'text'"),
    ("ab", [], r"^nodes: expected a non-empty list"),
    ([{"id": 1}], [], r"^nodes\[0\]: expected a dict with keys 'id' and 'text', got \{'id': 1\}"),
    (["a"], [], r"^nodes\[0\]: expected a dict with keys 'id' and 'text', got 'a'"),
    ([{"id": 1, "text": "a", "kind": "nope"}], [], r"^nodes\[0\]: kind must be one of \[.*\], got 'nope'"),
    ([{"id": 1, "text": "a"}, {"id": 1, "text": "b"}], [], r"^nodes: expected unique ids, got 1 more than once"),
    ([{"id": 1, "text": "a"}], [(1, 2)], r"^edges\[0\]: expected \(source_id, target_id\[, label\]\) of known nodes, got \(1, 2\)"),
    ([{"id": 1, "text": "a"}], [(1,)], r"^edges\[0\]: expected .* got \(1,\)"),
    ([{"id": 1, "text": "a"}, {"id": 2, "text": "b"}], [(1, 2), (2, 1)], r"^edges: the graph has a cycle"),
])
def test_graph_layout_bad_inputs(nodes, edges, msg):
    with raises(msg):
        graphs.layout(nodes, edges)


def test_graph_wrap_and_pos():
    with raises(r"^max_columns: expected an integer >= 1, got 0"):
        graphs.wrap_columns({1: (0, 0)}, 0)
    with raises(r"^pos: no position for nodes \[2\]"):
        graphs.draw_dag([{"id": 1, "text": "a"}, {"id": 2, "text": "b"}], [], pos={1: (0, 0)})


# ---------------------------------------------------------------- gradcheck (additions)

def test_gradcheck_more_bad_inputs():
    with raises(r"^x: expected finite values, got NaN"):
        gradcheck.numerical_gradient(np.sum, np.array([1.0, NAN]))
    with raises(r"^x: expected finite values, got inf"):
        gradcheck.numerical_gradient(np.sum, np.array([1.0, INF]))
    with raises(r"^x: expected a float64 array .* got dtype complex128"):
        gradcheck.numerical_gradient(np.sum, np.array([1j]))
    with raises(r"^a: expected a real array, got complex"):
        gradcheck.relative_error(np.array([1j]), np.zeros(1))
    with raises(r"^b: expected a real numeric array, got dtype object"):
        gradcheck.relative_error(np.zeros(1), np.array([None]))
    with raises(r"^layer: expected a dlcore Layer \(forward, backward, params\), got ufunc"):
        gradcheck.check_layer(np.tanh, np.zeros((1, 2)))
    with raises(r"^x: expected a real array, got complex"):
        gradcheck.check_layer(L.ReLU(), np.ones((2, 2)) + 0j)
    with raises(r"^dout: expected shape \(2, 2\) \(the shape of the layer's output\), got shape \(3,\)"):
        gradcheck.check_layer(L.ReLU(), np.ones((2, 2)), dout=np.ones(3))


# ---------------------------------------------------------------- data and utils

from dlcore import data, utils  # noqa: E402


@pytest.mark.parametrize("call,msg", [
    (lambda: data.blobs(n=0), r"^n: expected an integer >= 1, got 0"),
    (lambda: data.blobs(n=-1), r"^n: expected an integer >= 1, got -1"),
    (lambda: data.blobs(n=2.5), r"^n: expected an integer, got float 2.5"),
    (lambda: data.blobs(n_classes=0), r"^n_classes: expected an integer >= 1, got 0"),
    (lambda: data.blobs(dim=1), r"^dim: expected an integer >= 2, got 1"),
    (lambda: data.blobs(spread=NAN), r"^spread: expected a finite number >= 0, got nan"),
    (lambda: data.spirals(n_classes=0), r"^n_classes: expected an integer >= 1, got 0"),
    (lambda: data.spirals(noise=-1.0), r"^noise: expected a finite number >= 0, got -1.0"),
    (lambda: data.xor(n=-1), r"^n: expected an integer >= 1, got -1"),
    (lambda: data.xor(noise=INF), r"^noise: expected a finite number >= 0, got inf"),
    (lambda: data.toy_segmentation(16.5), r"^size: expected an integer, got float 16.5"),
    (lambda: data.toy_segmentation(15), r"^size: expected an integer >= 16, got 15"),
    (lambda: data.blobs(rng="a"), r"^rng: expected None, a non-negative int seed or a numpy Generator, got str 'a'"),
], ids=["n=0", "n=-1", "n=2.5", "n_classes=0", "dim=1", "spread=nan", "spirals.n_classes=0", "noise<0",
        "xor.n=-1", "xor.noise=inf", "size=16.5", "size=15", "rng=str"])
def test_data_bad_arguments(call, msg):
    with raises(msg):
        call()


@pytest.mark.parametrize("bad,msg", [
    (np.array([1 + 2j]), r"^a: expected a real array, got complex"),          # silently drops the imaginary part
    (np.array([None, 1.0]), r"^a: expected a real numeric array, got dtype object"),   # None silently becomes nan
    ("a", r"^a: expected a real numeric array, got dtype <U1"),
])
def test_to_torch_bad_arguments(bad, msg):
    with raises(msg):
        utils.to_torch(bad)


@pytest.mark.parametrize("call,msg", [
    (lambda: utils.seed(1.5), r"^s: expected an integer, got float 1.5"),
    (lambda: utils.seed(-1), r"^s: expected an integer >= 0, got -1"),
    (lambda: utils.table([[1, 2]], ["a"]), r"^rows\[0\]: expected 1 values \(one per header\), got 2"),
], ids=["seed=1.5", "seed=-1", "table-row-length"])
def test_utils_bad_arguments(call, msg):
    with raises(msg):
        call()


def test_check_int():
    from dlcore._validate import check_int
    assert check_int(3, "n") == 3 and check_int(np.int64(0), "n", min_value=0) == 0
    for bad in (2.0, True, "3", None, np.float64(1.0)):
        with raises(r"^n: expected an integer, got"):
            check_int(bad, "n")
    with raises(r"^n: expected an integer >= 1, got 0"):
        check_int(0, "n", min_value=1)
