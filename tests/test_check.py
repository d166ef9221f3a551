"""dlcore.check: correct implementations pass, typical mistakes fail with the right hint."""
from __future__ import annotations

import numpy as np
import pytest

from dlcore import check


# ---------------------------------------------------------------- Linear backward

def linear_ok(x, W, b, dout):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def linear_einsum(x, W, b, dout):          # another summation order: rounding-level differences
    return np.einsum("no,io->ni", dout, W), np.einsum("ni,no->io", x, dout), np.einsum("no->o", dout)


def linear_lists(x, W, b, dout):           # a list of arrays is accepted as well as a tuple
    dx, dW, db = linear_ok(x, W, b, dout)
    return [dx.tolist(), dW, db]


@pytest.mark.parametrize("fn", [linear_ok, linear_einsum, linear_lists])
def test_linear_correct_passes(fn, capsys):
    assert check.check_linear_backward(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Linear backward: correct.")
    assert "Hint" not in out


LINEAR_MISTAKES = {
    "dW_dout_T_x": (lambda x, W, b, dout: (dout @ W.T, dout.T @ x, dout.sum(axis=0)),
                    "did you compute dout.T @ x instead of x.T @ dout?"),
    "db_not_summed": (lambda x, W, b, dout: (dout @ W.T, x.T @ dout, dout),
                      "dout.sum(axis=0)"),
    "db_summed_all": (lambda x, W, b, dout: (dout @ W.T, x.T @ dout, dout.sum()),
                      "not over every entry"),
    "db_mean": (lambda x, W, b, dout: (dout @ W.T, x.T @ dout, dout.mean(axis=0)),
                "db is a mean over the batch"),
    "db_first_row": (lambda x, W, b, dout: (dout @ W.T, x.T @ dout, dout[0]),
                     "only the first row"),
    "dx_transposed": (lambda x, W, b, dout: (W @ dout.T, x.T @ dout, dout.sum(axis=0)),
                      "W @ dout.T instead of dout @ W.T"),
    "dx_uses_W": (lambda x, W, b, dout: (dout @ W if W.shape[0] == W.shape[1] else dout @ W.T,
                                         x.T @ dout, dout.sum(axis=0)),
                  "dx = dout @ W.T"),
    "dW_transposed_square": (lambda x, W, b, dout: (dout @ W.T,
                                                    (x.T @ dout).T if W.shape[0] == W.shape[1] else x.T @ dout,
                                                    dout.sum(axis=0)),
                             "dW is transposed"),
    "dW_sign": (lambda x, W, b, dout: (dout @ W.T, -(x.T @ dout), dout.sum(axis=0)),
                "wrong sign"),
    "dW_over_N": (lambda x, W, b, dout: (dout @ W.T, x.T @ dout / x.shape[0], dout.sum(axis=0)),
                  "dW is divided by N"),
}


@pytest.mark.parametrize("name", sorted(LINEAR_MISTAKES))
def test_linear_mistakes_fail_with_hint(name, capsys):
    fn, hint = LINEAR_MISTAKES[name]
    assert check.check_linear_backward(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("Linear backward: not yet. Case ")
    assert "Hint: " in out and hint in out, out


def test_linear_square_case_catches_transposes_shapes_cannot(capsys):
    fn, _ = LINEAR_MISTAKES["dW_transposed_square"]
    check.check_linear_backward(fn)
    assert "Case 4 of 4" in capsys.readouterr().out


@pytest.mark.parametrize("fn, text", [
    (lambda x, W, b, dout: (dout @ W.T, x.T @ dout), "expected a tuple (dx, dW, db), got a tuple of length 2"),
    (lambda x, W, b, dout: None, "got a NoneType"),
    (lambda x, W, b, dout: (dout @ W.T, "dW", dout.sum(axis=0)), "dW is not a numeric array"),
    (lambda x, W, b, dout: (dout @ W.T, np.full(W.shape, np.nan), dout.sum(axis=0)), "NaN or inf"),
    (lambda x, W, b, dout: (dout @ W.T, x @ dout, dout.sum(axis=0)), "raised ValueError"),
    (lambda x, W, b, dout: (dout @ W.T, np.zeros((7, 7)), dout.sum(axis=0)), "dW has shape (7, 7)"),
])
def test_linear_malformed_answers_are_verdicts_not_exceptions(fn, text, capsys):
    assert check.check_linear_backward(fn) is False
    out = capsys.readouterr().out
    assert text in out and "Hint: " in out, out


def test_linear_inputs_are_copies(capsys):
    def mutating(x, W, b, dout):
        res = linear_ok(x, W, b, dout)
        x[...] = 0.0
        dout[...] = 0.0
        return res
    assert check.check_linear_backward(mutating) is True


# ------------------------------------------------ softmax cross-entropy gradient

def ce_ok(logits, y):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(n), y] -= 1.0
    return p / n


def ce_one_hot(logits, y):
    from dlcore.functional import softmax
    from dlcore.losses import one_hot
    return (softmax(logits, axis=1) - one_hot(y, logits.shape[1])) / logits.shape[0]


def _naive_p(logits):
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("fn", [ce_ok, ce_one_hot])
def test_ce_correct_passes(fn, capsys):
    assert check.check_softmax_cross_entropy_grad(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Softmax cross-entropy gradient: correct.")
    assert "±1e4" in out and "Hint" not in out


def _onehot(y, c):
    Y = np.zeros((y.shape[0], c))
    Y[np.arange(y.shape[0]), y] = 1.0
    return Y


CE_MISTAKES = {
    "no_1_over_N": (lambda z, y: ce_ok(z, y) * z.shape[0], "forgot the 1/N"),
    "sign": (lambda z, y: -ce_ok(z, y), "sign is flipped"),
    "mean_over_all": (lambda z, y: ce_ok(z, y) / z.shape[1], "N * C"),
    "p_minus_labels": (lambda z, y: (_naive_p(z - z.max(axis=1, keepdims=True)) - y[:, None]) / z.shape[0],
                       "build the one-hot Y"),
    "p_minus_labels_row": (lambda z, y: _naive_p(z - z.max(axis=1, keepdims=True)) - y,
                           "build the one-hot Y"),
    "unstable": (lambda z, y: (_naive_p(z) - _onehot(y, z.shape[1])) / z.shape[0],
                 "subtract each row's max before exp"),
    "only_softmax": (lambda z, y: _naive_p(z - z.max(axis=1, keepdims=True)) / z.shape[0],
                     "subtract the one-hot labels"),
    "loss_per_example": (lambda z, y: -np.log(_naive_p(z - z.max(axis=1, keepdims=True))[np.arange(len(y)), y]),
                         "not the loss per example"),
}


@pytest.mark.parametrize("name", sorted(CE_MISTAKES))
def test_ce_mistakes_fail_with_hint(name, capsys):
    fn, hint = CE_MISTAKES[name]
    assert check.check_softmax_cross_entropy_grad(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("Softmax cross-entropy gradient: not yet. Case ")
    assert "Hint: " in out and hint in out, out


def test_ce_unstable_fails_only_on_the_extreme_case(capsys):
    fn, _ = CE_MISTAKES["unstable"]
    check.check_softmax_cross_entropy_grad(fn)
    out = capsys.readouterr().out
    assert "Case 4 of 4 (logits (3, 4), entries ±1e4)" in out and "NaN or inf" in out


def test_ce_exception_in_reader_code_is_a_verdict(capsys):
    def broken(logits, y):
        raise RuntimeError("oops")
    assert check.check_softmax_cross_entropy_grad(broken) is False
    assert "raised RuntimeError: oops" in capsys.readouterr().out


def test_ce_wrong_shape_is_a_verdict(capsys):
    assert check.check_softmax_cross_entropy_grad(lambda z, y: np.zeros((2, 2, 2))) is False
    assert "expected (4, 3)" in capsys.readouterr().out


# ---------------------------------------------------------------- shared

@pytest.mark.parametrize("checker", [check.check_linear_backward, check.check_softmax_cross_entropy_grad])
@pytest.mark.parametrize("bad", [None, 3, "fn", np.zeros(3)])
def test_non_callable_raises_value_error(checker, bad):
    with pytest.raises(ValueError, match=r"^fn: expected a callable .*, got "):
        checker(bad)


def test_verdicts_are_deterministic(capsys):
    fn, _ = LINEAR_MISTAKES["dW_sign"]
    check.check_linear_backward(fn)
    first = capsys.readouterr().out
    check.check_linear_backward(fn)
    assert capsys.readouterr().out == first


def test_exported_from_package():
    import dlcore
    assert dlcore.check is check and "check" in dlcore.__all__
    assert check.RTOL == 1e-8
