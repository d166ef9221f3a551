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


# ====================================================================================
# Checkers of the other chapters: each correct implementation passes; each typical
# mistake fails with its hint; a bug that raises is a verdict; the text is deterministic.
# The verdicts are wrapped at 88 characters, so hints are matched on whitespace-joined text.

def flat(text):
    return " ".join(text.split())


def _relu(z):
    return np.maximum(z, 0.0)


def stable_sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


# ---------------------------------------------------------------- correct implementations

def mlp_ok(x, W1, b1, W2, b2):
    return _relu(x @ W1 + b1) @ W2 + b2


def mlp_einsum(x, W1, b1, W2, b2):
    h = np.einsum("ni,ih->nh", x, W1) + b1
    return np.einsum("nh,ho->no", h * (h > 0), W2) + b2


def sigmoid_logaddexp(z):
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_abs(z):                         # one expression, exp(-|z|) <= 1
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sgd_ok(p, g, v, lr, mu):
    v = mu * v + g
    return p - lr * v, v


def sgd_in_place(p, g, v, lr, mu):          # updating the inputs in place is fine: they are copies
    v *= mu
    v += g
    p -= lr * v
    return p, v


def adam_ok(p, g, m, v, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_torch(p, g, m, v, t, lr, b1, b2, eps):
    import torch
    param = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([param], lr=lr, betas=(b1, b2), eps=eps)
    opt.step()                              # creates the state (grad None: no update)
    st = opt.state[param]
    st["step"] = torch.tensor(float(t - 1), dtype=torch.float64)
    st["exp_avg"] = torch.tensor(m, dtype=torch.float64)
    st["exp_avg_sq"] = torch.tensor(v, dtype=torch.float64)
    param.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    return param.detach().numpy().copy(), st["exp_avg"].numpy().copy(), st["exp_avg_sq"].numpy().copy()


def clip_ok(grads, max_norm):
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g *= coef
    return total


def clip_torch(grads, max_norm):
    import torch
    ps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p_, g in zip(ps, grads):
        p_.grad = torch.tensor(g, dtype=torch.float64)
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    for p_, g in zip(ps, grads):
        g[...] = p_.grad.numpy()
    return total.item()


def bn_ok(x, gamma, dout, eps):
    m = x.shape[0]
    s = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / s
    dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    return gamma / (m * s) * (m * dout - dbeta - x_hat * dgamma), dgamma, dbeta


def bn_torch(x, gamma, dout, eps):
    import torch
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros(gamma.shape, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    y.backward(torch.tensor(dout))
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def dropout_ok(x, p, rng):
    mask = rng.random(x.shape) >= p
    return x * mask / (1.0 - p), mask


def dropout_scaled_mask(x, p, rng):        # a mask already scaled by 1/(1-p), as dlcore's Dropout
    mask = rng.binomial(1, 1.0 - p, size=x.shape) / (1.0 - p)
    return x * mask, mask


def prf_ok(t, p):
    tp = np.sum((t == 1) & (p == 1))
    pp, ap = np.sum(p == 1), np.sum(t == 1)
    prec = tp / pp if pp else 0.0
    rec = tp / ap if ap else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def prf_sklearn(t, p):
    from sklearn.metrics import precision_recall_fscore_support
    pr, rc, f1, _ = precision_recall_fscore_support(t, p, average="binary", zero_division=0)
    return pr, rc, f1


def conv_loops(x, W, b, s, pad):
    n, c, h, w = x.shape
    o, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // s + 1, (w + 2 * pad - kw) // s + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * s:i * s + kh, j * s:j * s + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, W) + b
    return out


def conv_torch(x, W, b, s, pad):
    import torch
    return torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(W), torch.tensor(b),
                                      stride=s, padding=pad).numpy()


def rnn_ok(x, h, W_ih, W_hh, b, h_next, dh_next):
    dz = dh_next * (1.0 - h_next ** 2)
    return dz @ W_ih, dz @ W_hh, dz.T @ x, dz.T @ h, dz.sum(axis=0)


def rnn_torch(x, h, W_ih, W_hh, b, h_next, dh_next):
    import torch
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h, W_ih, W_hh, b)]
    out = torch.tanh(ts[0] @ ts[2].T + ts[1] @ ts[3].T + ts[4])
    out.backward(torch.tensor(dh_next))
    return tuple(t_.grad.numpy() for t_ in ts)


CORRECT = [
    ("check_mlp_forward", mlp_ok), ("check_mlp_forward", mlp_einsum),
    ("check_sigmoid", stable_sigmoid), ("check_sigmoid", sigmoid_logaddexp),
    ("check_sigmoid", sigmoid_abs),
    ("check_sgd_momentum_step", sgd_ok), ("check_sgd_momentum_step", sgd_in_place),
    ("check_adam_step", adam_ok), ("check_adam_step", adam_torch),
    ("check_clip_grad_norm", clip_ok), ("check_clip_grad_norm", clip_torch),
    ("check_batchnorm_backward", bn_ok), ("check_batchnorm_backward", bn_torch),
    ("check_inverted_dropout", dropout_ok), ("check_inverted_dropout", dropout_scaled_mask),
    ("check_precision_recall_f1", prf_ok), ("check_precision_recall_f1", prf_sklearn),
    ("check_conv2d_forward", conv_loops), ("check_conv2d_forward", conv_torch),
    ("check_rnn_step_backward", rnn_ok), ("check_rnn_step_backward", rnn_torch),
]
TITLES = {"check_mlp_forward": "MLP forward", "check_sigmoid": "Stable sigmoid",
          "check_sgd_momentum_step": "SGD momentum step", "check_adam_step": "Adam step",
          "check_clip_grad_norm": "Clip grad norm", "check_batchnorm_backward": "Batch norm backward",
          "check_inverted_dropout": "Inverted dropout",
          "check_precision_recall_f1": "Precision, recall, F1",
          "check_conv2d_forward": "Conv2d forward", "check_rnn_step_backward": "RNN step backward"}


@pytest.mark.parametrize("checker, fn", CORRECT, ids=[f"{c}-{f.__name__}" for c, f in CORRECT])
def test_new_checkers_correct_passes(checker, fn, capsys):
    assert getattr(check, checker)(fn) is True
    out = capsys.readouterr().out
    assert out.startswith(f"{TITLES[checker]}: correct.") and "Hint" not in out, out
    assert max(len(line) for line in out.splitlines()) <= 88


# ---------------------------------------------------------------- typical mistakes

def _naive_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _one_minus(z):                          # 1 - sigmoid(-z) on the negative side: cancellation
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    out[~pos] = 1.0 - 1.0 / (1.0 + np.exp(z[~pos]))
    return out


def _adam(p, g, m, v, t, lr, b1, b2, eps, cm=True, cv=True, dt=0, inside=False, sign=1.0,
          ret_hat=False, v_abs=False):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (np.abs(g) if v_abs else g * g)
    mh = m / (1 - b1 ** (t + dt)) if cm else m
    vh = v / (1 - b2 ** (t + dt)) if cv else v
    d = np.sqrt(vh + eps) if inside else np.sqrt(vh) + eps
    new = p - sign * lr * mh / d
    return (new, mh, vh) if ret_hat else (new, m, v)


def _clip_per_array(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    for g in grads:
        g *= min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
    return total


def _clip_always(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    for g in grads:
        g *= max_norm / (total + 1e-6)
    return total


def _clip_no_eps(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    for g in grads:
        g *= min(1.0, max_norm / total)
    return total


def _clip_sum_norms(grads, max_norm):
    total = float(sum(np.linalg.norm(g) for g in grads))
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))
    return total


def _clip_by_value(grads, max_norm):
    for g in grads:
        np.clip(g, -max_norm, max_norm, out=g)
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def _clip_not_in_place(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    grads = [g * min(1.0, max_norm / (total + 1e-6)) for g in grads]
    return total


def _clip_norm_after(grads, max_norm):
    clip_ok(grads, max_norm)
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def _clip_returns_list(grads, max_norm):
    clip_ok(grads, max_norm)
    return grads


def _bn_parts(x, gamma, dout, eps, ddof=0):
    s = np.sqrt(x.var(axis=0, ddof=ddof) + eps)
    x_hat = (x - x.mean(axis=0)) / s
    return s, x_hat, dout * gamma


def _bn_direct(x, gamma, dout, eps):
    s, x_hat, d = _bn_parts(x, gamma, dout, eps)
    return d / s, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _bn_unbiased(x, gamma, dout, eps):
    s, x_hat, d = _bn_parts(x, gamma, dout, eps, ddof=1)
    dx = (d - d.mean(axis=0) - x_hat * (d * x_hat).mean(axis=0)) / s
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _bn_mean_only(x, gamma, dout, eps):
    s, x_hat, d = _bn_parts(x, gamma, dout, eps)
    return (d - d.mean(axis=0)) / s, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _bn_var_only(x, gamma, dout, eps):
    s, x_hat, d = _bn_parts(x, gamma, dout, eps)
    return (d - x_hat * (d * x_hat).mean(axis=0)) / s, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _bn_no_gamma(x, gamma, dout, eps):
    dx, dg, db = bn_ok(x, gamma, dout, eps)
    return dx / gamma, dg, db


def _bn_dgamma_x(x, gamma, dout, eps):
    dx, _, db = bn_ok(x, gamma, dout, eps)
    return dx, (dout * x).sum(axis=0), db


def _conv_ignore_stride(x, W, b, s, pad):
    return conv_loops(x, W, b, 1, pad)


def _conv_ignore_padding(x, W, b, s, pad):
    return conv_loops(x, W, b, s, 0)


def _conv_ceil(x, W, b, s, pad):
    n, c, h, w = x.shape
    o, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad + s), (pad, pad + s)))   # room for a partial window
    oh, ow = -(-(h + 2 * pad - kh) // s) + 1, -(-(w + 2 * pad - kw) // s) + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * s:i * s + kh, j * s:j * s + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, W) + b
    return out


def _rnn_with(dz_fn, **over):
    def fn(x, h, W_ih, W_hh, b, h_next, dh_next):
        dz = dz_fn(dh_next, h_next, h)
        grads = dict(dx=dz @ W_ih, dh=dz @ W_hh, dWih=dz.T @ x, dWhh=dz.T @ h, db=dz.sum(axis=0))
        for k, f in over.items():
            grads[k] = f(dz, x, h, W_ih, W_hh, h_next, dh_next)
        return grads["dx"], grads["dh"], grads["dWih"], grads["dWhh"], grads["db"]
    return fn


_TANH = lambda dh, hn, hp: dh * (1.0 - hn ** 2)


MISTAKES = [
    # -- foundations: MLP forward
    ("check_mlp_forward", "no_relu", lambda x, W1, b1, W2, b2: (x @ W1 + b1) @ W2 + b2,
     "you forgot the ReLU"),
    ("check_mlp_forward", "relu_on_output", lambda x, W1, b1, W2, b2: _relu(mlp_ok(x, W1, b1, W2, b2)),
     "you applied the ReLU to the output too"),
    ("check_mlp_forward", "transposed_W", lambda x, W1, b1, W2, b2: _relu(x @ W1.T + b1) @ W2.T + b2,
     "the weights are stored (in, out) here"),
    ("check_mlp_forward", "transposed_W_square_only",
     lambda x, W1, b1, W2, b2: mlp_ok(x, W1.T if W1.shape[0] == W1.shape[1] else W1, b1, W2, b2),
     "Case 3 of 3"),
    ("check_mlp_forward", "transposed_W_square_hint",
     lambda x, W1, b1, W2, b2: mlp_ok(x, W1.T if W1.shape[0] == W1.shape[1] else W1, b1, W2, b2),
     "a weight is transposed"),
    ("check_mlp_forward", "softmax", lambda x, W1, b1, W2, b2: stable_softmax(mlp_ok(x, W1, b1, W2, b2)),
     "you returned probabilities"),
    ("check_mlp_forward", "no_b2", lambda x, W1, b1, W2, b2: _relu(x @ W1 + b1) @ W2, "you left out b2"),
    ("check_mlp_forward", "tanh", lambda x, W1, b1, W2, b2: np.tanh(x @ W1 + b1) @ W2 + b2, "not tanh"),
    ("check_mlp_forward", "hidden_only", lambda x, W1, b1, W2, b2: _relu(x @ W1 + b1),
     "that is the hidden layer's shape"),
    # -- activations: sigmoid
    ("check_sigmoid", "naive_exp_minus_z", _naive_sigmoid,
     "the naive 1 / (1 + np.exp(-z)) overflows for z < -709"),
    ("check_sigmoid", "naive_exp_z", lambda z: np.exp(z) / (1.0 + np.exp(z)),
     "overflows for z > 709"),
    ("check_sigmoid", "np_where_both_branches",
     lambda z: np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z))),
     "np.where evaluates both branches"),
    ("check_sigmoid", "one_minus_sigmoid", _one_minus, "at z = -40: expected 4.2e-18, got 0.0e+00"),
    ("check_sigmoid", "one_minus_sigmoid_hint", _one_minus, "cancels every significant digit"),
    ("check_sigmoid", "tanh_form", lambda z: 0.5 * (1.0 + np.tanh(z / 2.0)),
     "cancels every significant digit"),
    ("check_sigmoid", "flipped", lambda z: stable_sigmoid(-z), "the sign of z is flipped"),
    ("check_sigmoid", "float32", lambda z: stable_sigmoid(z).astype(np.float32), "keep float64"),
    ("check_sigmoid", "clipped_z", lambda z: _naive_sigmoid(np.clip(z, -500, 500)), "do not clip z"),
    ("check_sigmoid", "clamped_output", lambda z: np.clip(stable_sigmoid(z), 1e-15, 1 - 1e-15),
     "do not clamp the result"),
    ("check_sigmoid", "tanh", np.tanh, "that is tanh(z)"),
    # -- gradient descent: SGD with momentum
    ("check_sgd_momentum_step", "sutskever", lambda p, g, v, lr, mu: (p + (mu * v - lr * g), mu * v - lr * g),
     "that is the other convention"),
    ("check_sgd_momentum_step", "lr_in_velocity", lambda p, g, v, lr, mu: (p - (mu * v + lr * g), mu * v + lr * g),
     "lr belongs in the parameter step"),
    ("check_sgd_momentum_step", "dampened", lambda p, g, v, lr, mu: (p - lr * (mu * v + (1 - mu) * g),
                                                                     mu * v + (1 - mu) * g),
     "you damped the gradient"),
    ("check_sgd_momentum_step", "sign", lambda p, g, v, lr, mu: (p + lr * (mu * v + g), mu * v + g),
     "the parameter moves uphill"),
    ("check_sgd_momentum_step", "old_velocity", lambda p, g, v, lr, mu: (p - lr * v, mu * v + g),
     "you stepped with the old velocity"),
    ("check_sgd_momentum_step", "raw_gradient", lambda p, g, v, lr, mu: (p - lr * g, mu * v + g),
     "you stepped along the raw gradient"),
    ("check_sgd_momentum_step", "nesterov", lambda p, g, v, lr, mu: (p - lr * (g + mu * (mu * v + g)), mu * v + g),
     "that is the Nesterov step"),
    ("check_sgd_momentum_step", "velocity_sign", lambda p, g, v, lr, mu: (p + lr * (mu * v - g), mu * v - g),
     "the velocity has the wrong sign"),
    ("check_sgd_momentum_step", "velocity_not_returned", lambda p, g, v, lr, mu: (p - lr * (mu * v + g), v),
     "new_velocity is the old velocity"),
    # -- optimizers: Adam
    ("check_adam_step", "no_bias_correction", lambda *a: _adam(*a, cm=False, cv=False),
     "no bias correction"),
    ("check_adam_step", "only_m_corrected", lambda *a: _adam(*a, cv=False), "bias-corrected m but not v"),
    ("check_adam_step", "only_v_corrected", lambda *a: _adam(*a, cm=False), "bias-corrected v but not m"),
    ("check_adam_step", "eps_inside_sqrt", lambda *a: _adam(*a, inside=True), "eps goes outside the square root"),
    ("check_adam_step", "eps_inside_sqrt_case", lambda *a: _adam(*a, inside=True), "gradients ~1e-5"),
    ("check_adam_step", "t_plus_one", lambda *a: _adam(*a, dt=1), "do not add 1 to it"),
    ("check_adam_step", "t_from_zero", lambda *a: _adam(*a, dt=-1), "with t counted from 0"),
    ("check_adam_step", "returns_hats", lambda *a: _adam(*a, ret_hat=True), "you returned the bias-corrected m_hat"),
    ("check_adam_step", "v_of_abs", lambda *a: _adam(*a, v_abs=True), "v averages the squared gradient"),
    ("check_adam_step", "sign", lambda *a: _adam(*a, sign=-1.0), "the parameter moves uphill"),
    # -- initialization: clip grad norm
    ("check_clip_grad_norm", "per_array", _clip_per_array, "you clipped each array by its own norm"),
    ("check_clip_grad_norm", "always_clip", _clip_always, "you rescale even below the threshold"),
    ("check_clip_grad_norm", "no_eps", _clip_no_eps, "the 1e-6 guards against a zero norm"),
    ("check_clip_grad_norm", "sum_of_norms", _clip_sum_norms, "not the sum of the arrays' norms"),
    ("check_clip_grad_norm", "by_value", _clip_by_value, "that is clipping by value"),
    ("check_clip_grad_norm", "not_in_place", _clip_not_in_place, "the arrays in grads are unchanged"),
    ("check_clip_grad_norm", "norm_after", _clip_norm_after, "you returned the norm after clipping"),
    ("check_clip_grad_norm", "returns_list", _clip_returns_list, "expected the total norm (a float), got a list"),
    # -- normalization: batch norm backward
    ("check_batchnorm_backward", "direct_path_only", _bn_direct, "is only the direct path"),
    ("check_batchnorm_backward", "unbiased_variance", _bn_unbiased, "unbiased variance (ddof=1)"),
    ("check_batchnorm_backward", "mean_path_only", _bn_mean_only, "but not the one through the variance"),
    ("check_batchnorm_backward", "variance_path_only", _bn_var_only, "but not the one through the mean"),
    ("check_batchnorm_backward", "no_gamma", _bn_no_gamma, "missing the factor gamma"),
    ("check_batchnorm_backward", "dgamma_of_x", _bn_dgamma_x, "not dout * x"),
    ("check_batchnorm_backward", "dgamma_not_summed",
     lambda x, gm, d, e: (bn_ok(x, gm, d, e)[0], d * bn_ok(x, gm, d, e)[0], d.sum(axis=0)),
     "sum over the batch axis, axis=0"),
    ("check_batchnorm_backward", "dbeta_mean",
     lambda x, gm, d, e: (*bn_ok(x, gm, d, e)[:2], d.mean(axis=0)), "dbeta is a mean over the batch"),
    # -- regularization: inverted dropout
    ("check_inverted_dropout", "no_rescaling", lambda x, p, rng: (x * (m := rng.random(x.shape) >= p), m),
     "no rescaling"),
    ("check_inverted_dropout", "keep_prob_confused",
     lambda x, p, rng: (x * (m := rng.random(x.shape) < p) / (1 - p), m), "you keep elements with probability p"),
    ("check_inverted_dropout", "divide_by_p",
     lambda x, p, rng: (x * (m := rng.random(x.shape) >= p) / max(p, 1e-12), m), "you divided by p"),
    ("check_inverted_dropout", "multiply_keep",
     lambda x, p, rng: (x * (m := rng.random(x.shape) >= p) * (1 - p), m), "you multiplied by 1 - p"),
    ("check_inverted_dropout", "mask_per_feature",
     lambda x, p, rng: (x * (m := rng.random(x.shape[1]) >= p) / (1 - p), m), "one mask entry per element"),
    ("check_inverted_dropout", "global_rng", lambda x, p, rng: dropout_ok(x, p, np.random.default_rng()),
     "draw from the rng argument"),
    ("check_inverted_dropout", "drop_indicator",
     lambda x, p, rng: (x * (k := rng.random(x.shape) >= p) / (1 - p), ~k), "out is not 0 where mask is 0"),
    # -- evaluation: precision, recall, F1
    ("check_precision_recall_f1", "swapped", lambda t, p: (prf_ok(t, p)[1], prf_ok(t, p)[0], prf_ok(t, p)[2]),
     "precision and recall are swapped"),
    ("check_precision_recall_f1", "accuracy", lambda t, p: (np.mean(t == p),) * 3, "that is the accuracy"),
    ("check_precision_recall_f1", "arithmetic_f1",
     lambda t, p: (*prf_ok(t, p)[:2], (prf_ok(t, p)[0] + prf_ok(t, p)[1]) / 2), "not the arithmetic mean"),
    ("check_precision_recall_f1", "zero_division_raises",
     lambda t, p: (int(np.sum(t & p)) / int(np.sum(p)),) + prf_ok(t, p)[1:], "0.0 by convention"),
    ("check_precision_recall_f1", "zero_division_nan",
     lambda t, p: (np.sum(t & p) / np.sum(p),) + prf_ok(t, p)[1:], "0.0 by convention"),
    ("check_precision_recall_f1", "class_0_positive", lambda t, p: prf_ok(1 - t, 1 - p),
     "class 1 is the positive class"),
    # -- cnn: conv2d forward
    ("check_conv2d_forward", "flipped_kernel", lambda x, W, b, s, p: conv_loops(x, W[:, :, ::-1, ::-1], b, s, p),
     "you flipped the kernel"),
    ("check_conv2d_forward", "no_bias", lambda x, W, b, s, p: conv_loops(x, W, 0 * b, s, p), "you left out the bias"),
    ("check_conv2d_forward", "ignores_stride", _conv_ignore_stride, "you ignored the stride"),
    ("check_conv2d_forward", "ignores_padding", _conv_ignore_padding, "you ignored the padding"),
    ("check_conv2d_forward", "ceil_size", _conv_ceil, "the output size rounds down"),
    ("check_conv2d_forward", "nhwc", lambda x, W, b, s, p: conv_loops(x, W, b, s, p).transpose(0, 2, 3, 1),
     "the layout is NCHW"),
    ("check_conv2d_forward", "kernel_transposed",
     lambda x, W, b, s, p: conv_loops(x, W.transpose(0, 1, 3, 2), b, s, p), "the kernel is transposed"),
    # -- rnn: one step backward
    ("check_rnn_step_backward", "no_tanh_derivative", _rnn_with(lambda dh, hn, hp: dh),
     "you forgot the derivative of tanh"),
    ("check_rnn_step_backward", "tanh_applied_twice", _rnn_with(lambda dh, hn, hp: dh * (1 - np.tanh(hn) ** 2)),
     "h_next is already tanh(a)"),
    ("check_rnn_step_backward", "tanh_of_h_prev", _rnn_with(lambda dh, hn, hp: dh * (1 - hp ** 2)),
     "not h_prev"),
    ("check_rnn_step_backward", "sigmoid_derivative", _rnn_with(lambda dh, hn, hp: dh * hn * (1 - hn)),
     "that is the sigmoid's derivative"),
    ("check_rnn_step_backward", "dW_ih_transposed", _rnn_with(_TANH, dWih=lambda dz, x, *r: x.T @ dz),
     "dW_ih has W_ih's shape (H, I)"),
    ("check_rnn_step_backward", "dW_hh_transposed", _rnn_with(_TANH, dWhh=lambda dz, x, h, *r: h.T @ dz),
     "dW_hh is transposed"),
    ("check_rnn_step_backward", "dW_hh_of_h_next",
     _rnn_with(_TANH, dWhh=lambda dz, x, h, Wih, Whh, hn, dh: dz.T @ hn), "not h_next"),
    ("check_rnn_step_backward", "dh_prev_W_hh_T",
     _rnn_with(_TANH, dh=lambda dz, x, h, Wih, Whh, *r: dz @ Whh.T), "dh_prev uses W_hh as it is"),
    ("check_rnn_step_backward", "dx_W_ih_T",
     _rnn_with(_TANH, dx=lambda dz, x, h, Wih, *r: dz @ Wih.T), "the weights have torch's layout"),
    ("check_rnn_step_backward", "db_mean", _rnn_with(_TANH, db=lambda dz, *r: dz.mean(axis=0)),
     "db is a mean over the batch"),
]


def stable_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("checker, name, fn, hint", MISTAKES, ids=[f"{c}-{n}" for c, n, _, _ in MISTAKES])
def test_new_checkers_mistakes_fail_with_hint(checker, name, fn, hint, capsys):
    assert getattr(check, checker)(fn) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{TITLES[checker]}: not yet. Case "), out
    assert "Hint: " in out and hint in flat(out), out
    assert max(len(line) for line in out.splitlines()) <= 88


def test_every_new_checker_has_mistake_tests():
    covered = {c for c, *_ in MISTAKES}
    assert covered == set(TITLES) and all(
        sum(c == k for c, *_ in MISTAKES) >= 4 for k in TITLES)


# ---------------------------------------------------------------- shared behaviour

def _raises(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize("checker", sorted(TITLES))
def test_new_checkers_report_exceptions(checker, capsys):
    assert getattr(check, checker)(_raises) is False
    out = flat(capsys.readouterr().out)
    assert out.startswith(f"{TITLES[checker]}: not yet. Case 1 of ")
    assert "your function raised RuntimeError: boom" in out and "Hint: " in out


@pytest.mark.parametrize("checker", sorted(TITLES))
@pytest.mark.parametrize("bad", [None, "fn", np.zeros(2)])
def test_new_checkers_non_callable_raises(checker, bad):
    with pytest.raises(ValueError, match=r"^fn: expected a callable .*, got "):
        getattr(check, checker)(bad)


@pytest.mark.parametrize("checker", sorted(TITLES))
def test_new_checkers_malformed_answers_are_verdicts(checker, capsys):
    assert getattr(check, checker)(lambda *a: None) is False
    assert "Hint: " in capsys.readouterr().out


@pytest.mark.parametrize("checker, name, fn, hint", [m for m in MISTAKES if m[1] in (
    "no_relu", "one_minus_sigmoid", "sutskever", "t_from_zero", "per_array", "direct_path_only",
    "keep_prob_confused", "swapped", "flipped_kernel", "no_tanh_derivative")],
    ids=lambda v: v if isinstance(v, str) else "")
def test_new_checkers_verdicts_are_deterministic(checker, name, fn, hint, capsys):
    getattr(check, checker)(fn)
    first = capsys.readouterr().out
    getattr(check, checker)(fn)
    assert capsys.readouterr().out == first


def test_sigmoid_overflow_is_caught_even_though_the_values_are_right(capsys):
    # the naive form returns 0 for z = -745 (within the subnormal tolerance) but overflows
    assert check.check_sigmoid(_naive_sigmoid) is False
    out = flat(capsys.readouterr().out)
    assert "Case 3 of 3" in out and "FloatingPointError: overflow" in out


def test_sigmoid_checker_leaves_the_global_error_state_alone():
    before = np.geterr()
    check.check_sigmoid(_naive_sigmoid)
    assert np.geterr() == before


def test_clip_inputs_left_to_the_reader_are_fresh_copies(capsys):
    seen = []

    def keeps(grads, max_norm):
        seen.append(grads)
        return clip_ok(grads, max_norm)
    assert check.check_clip_grad_norm(keeps) is True
    assert len({id(g) for grads in seen for g in grads}) == sum(len(g) for g in seen)


def test_precision_recall_f1_reference_falls_back_to_the_formula():
    for tp, fp, fn_, tn, _ in check._PRF_CASES:
        t, p = check._labels_from_counts(tp, fp, fn_, tn, seed=0)
        np.testing.assert_allclose(check._prf_formula(t, p), check._prf_reference(t, p), rtol=1e-15)


def test_dropout_statistical_margins_hold_for_many_seeds():
    # the share of zeros and the mean test use 5 standard deviations: a correct
    # implementation must pass whatever its draws are (here: 200 other seeds)
    for seed in range(200):
        g = np.random.default_rng(seed)
        for shape, p in check._DROPOUT_CASES[:2]:
            x = np.random.default_rng(0).standard_normal(shape) + 1.0
            out, mask = dropout_ok(x, p, g)
            share = np.mean(mask == 0)
            assert abs(share - p) <= 5 * np.sqrt(p * (1 - p) / x.size)
            z = np.sum(out - x) / np.sqrt(np.sum(x * x) * p / (1 - p))
            assert abs(z) <= 5


def test_new_checkers_exported():
    for name in TITLES:
        assert name in check.__all__ and callable(getattr(check, name))
    assert check.SIGMOID_RTOL == 1e-12


# ------------------------------------------------ generative: KL, pytorch essentials: matmul shape

def kl_ok(mu, logvar):
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=1)


def kl_torch(mu, logvar):                   # KL of torch.distributions, summed over the latent axis
    import torch
    from torch.distributions import Normal, kl_divergence
    q = Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = Normal(torch.zeros(mu.shape, dtype=torch.float64), torch.ones(mu.shape, dtype=torch.float64))
    return kl_divergence(q, p).sum(dim=1).numpy()


def matmul_shape_ok(a, b):
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        return None
    try:
        batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    except ValueError:
        return None
    out = batch + (a2[-2], b2[-1])
    if len(b) == 1:
        out = out[:-1]
    if len(a) == 1:
        out = out[:-2] + out[-1:] if len(b) > 1 else out[:-1]
    return out


def matmul_shape_torch(a, b):
    import torch
    try:
        return tuple(torch.matmul(torch.zeros(a), torch.zeros(b)).shape)
    except RuntimeError:
        return None


def _mm_no_promotion(a, b):                 # 1-D operands kept as (1, n) / (n, 1) in the result
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    return matmul_shape_ok(a2, b2)


def _mm_equal_batch(a, b):                  # batch axes must be equal: no broadcasting
    if len(a) > 2 and len(b) > 2 and tuple(a[:-2]) != tuple(b[:-2]):
        return None
    if len(a) > 2 and len(b) == 2 or len(b) > 2 and len(a) == 2:
        return None
    return matmul_shape_ok(a, b)


def _mm_left_aligned(a, b):
    if len(a) < 2 or len(b) < 2:
        return matmul_shape_ok(a, b)
    if a[-1] != b[-2]:
        return None
    batch = check._broadcast_left(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def _mm_no_inner_check(a, b):
    if len(a) < 2 or len(b) < 2:
        return matmul_shape_ok(a, b)
    return tuple(np.broadcast_shapes(a[:-2], b[:-2])) + (a[-2], b[-1])


def _mm_raises(a, b):
    out = matmul_shape_ok(a, b)
    if out is None:
        raise ValueError("shapes do not match")
    return out


CORRECT_2 = [("check_gaussian_kl", kl_ok), ("check_gaussian_kl", kl_torch),
             ("check_matmul_shape", matmul_shape_ok), ("check_matmul_shape", matmul_shape_torch),
             ("check_matmul_shape", lambda a, b: list(matmul_shape_ok(a, b) or []) or
              (None if matmul_shape_ok(a, b) is None else ()))]
TITLES_2 = {"check_gaussian_kl": "Gaussian KL", "check_matmul_shape": "Matmul shape"}

MISTAKES_2 = [
    ("check_gaussian_kl", "no_half", lambda mu, lv: 2 * kl_ok(mu, lv), "you forgot the factor 1/2"),
    ("check_gaussian_kl", "sign", lambda mu, lv: -kl_ok(mu, lv), "the sign is flipped"),
    ("check_gaussian_kl", "mean_over_dims", lambda mu, lv: kl_ok(mu, lv) / mu.shape[1],
     "you averaged over the latent dimensions"),
    ("check_gaussian_kl", "logvar_as_log_sigma",
     lambda mu, lv: 0.5 * np.sum(mu ** 2 + np.exp(2 * lv) - 1 - 2 * lv, axis=1),
     "not of the standard deviation"),
    ("check_gaussian_kl", "logvar_as_variance",
     lambda mu, lv: 0.5 * np.sum(mu ** 2 + lv - 1 - np.log(lv), axis=1), "never np.log(logvar)"),
    ("check_gaussian_kl", "no_mu_term", lambda mu, lv: 0.5 * np.sum(np.exp(lv) - 1 - lv, axis=1),
     "you left out the mean term"),
    ("check_gaussian_kl", "no_minus_one", lambda mu, lv: 0.5 * np.sum(mu ** 2 + np.exp(lv) - lv, axis=1),
     "you left out the -1"),
    ("check_gaussian_kl", "summed_over_batch", lambda mu, lv: kl_ok(mu, lv).sum(), "not over the batch"),
    ("check_gaussian_kl", "not_summed", lambda mu, lv: 0.5 * (mu ** 2 + np.exp(lv) - 1 - lv),
     "sum the d per-dimension terms"),
    ("check_matmul_shape", "no_1d_promotion", _mm_no_promotion, "a 1-D operand gets a 1 prepended"),
    ("check_matmul_shape", "equal_batch_axes", _mm_equal_batch, "the batch axes broadcast"),
    ("check_matmul_shape", "left_aligned", _mm_left_aligned, "align the batch axes on the right"),
    ("check_matmul_shape", "no_inner_check", _mm_no_inner_check, "the inner sizes differ"),
    ("check_matmul_shape", "raises_when_undefined", _mm_raises, "return None for a product that is not defined"),
    ("check_matmul_shape", "outer_axes", lambda a, b: matmul_shape_ok(a, b) if len(a) < 2 or len(b) < 2
     else (a[-1], b[-2]), "rows of a, columns of b"),
]


@pytest.mark.parametrize("checker, fn", CORRECT_2, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CORRECT_2)])
def test_kl_and_matmul_correct_passes(checker, fn, capsys):
    assert getattr(check, checker)(fn) is True
    out = capsys.readouterr().out
    assert out.startswith(f"{TITLES_2[checker]}: correct.") and "Hint" not in out, out


@pytest.mark.parametrize("checker, name, fn, hint", MISTAKES_2, ids=[f"{c}-{n}" for c, n, _, _ in MISTAKES_2])
def test_kl_and_matmul_mistakes_fail_with_hint(checker, name, fn, hint, capsys):
    assert getattr(check, checker)(fn) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{TITLES_2[checker]}: not yet. Case "), out
    assert "Hint: " in out and hint in flat(out), out
    assert max(len(line) for line in out.splitlines()) <= 88


@pytest.mark.parametrize("checker", sorted(TITLES_2))
def test_kl_and_matmul_shared_behaviour(checker, capsys):
    fn = getattr(check, checker)
    assert fn(_raises) is False
    assert "your function raised RuntimeError: boom" in flat(capsys.readouterr().out)
    with pytest.raises(ValueError, match=r"^fn: expected a callable"):
        fn(None)
    wrong = MISTAKES_2[0][2] if checker == "check_gaussian_kl" else _mm_left_aligned
    fn(wrong)
    first = capsys.readouterr().out
    fn(wrong)
    assert capsys.readouterr().out == first and checker in check.__all__


# ------------------------------------------------ attention: forward and backward

def _T(a):
    return np.swapaxes(a, -1, -2)


def _att(q, k, v, mask, dout, *, scale=None, axis=-1, mask_mode="where", shift=True,
         ds_mode="full", dv_mode="PT", dk_mode="dsT", grad_scale=True):
    """Attention forward and backward with switchable mistakes."""
    E = q.shape[-1]
    sc = 1.0 / np.sqrt(E) if scale is None else scale
    s = sc * (q @ _T(k))
    if mask is not None and mask_mode == "where":
        s = np.where(mask, s, -np.inf)
    elif mask is not None and mask_mode == "inverted":
        s = np.where(mask, -np.inf, s)
    elif mask is not None and mask_mode == "multiply":
        s = s * mask
    if shift:
        s = s - s.max(axis=axis, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(axis=axis, keepdims=True)
    if mask is not None and mask_mode == "after":
        p = p * mask
    out = p @ v
    dv = _T(p) @ dout if dv_mode == "PT" else p @ dout
    dp = dout @ _T(v)
    ds = {"full": p * (dp - (dp * p).sum(axis=-1, keepdims=True)),
          "no_rowsum": p * dp, "dp": dp,
          "wrong_axis": p * (dp - (dp * p).sum(axis=-2, keepdims=True))}[ds_mode]
    g = sc if grad_scale else 1.0
    dk = g * (_T(ds) @ q) if dk_mode == "dsT" else g * (ds @ q)
    return out, g * (ds @ k), dk, dv


def att_ok(q, k, v, mask, dout):
    return _att(q, k, v, mask, dout)


def att_einsum(q, k, v, mask, dout):            # another summation order, -1e9 instead of -inf
    E = q.shape[-1]
    s = np.einsum("...le,...se->...ls", q, k) / np.sqrt(E)
    if mask is not None:
        s = np.where(mask, s, -1e9)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    out = np.einsum("...ls,...sv->...lv", p, v)
    dp = np.einsum("...lv,...sv->...ls", dout, v)
    ds = p * (dp - np.sum(dout * out, axis=-1, keepdims=True))     # FlashAttention's D
    return (out, np.einsum("...ls,...se->...le", ds, k) / np.sqrt(E),
            np.einsum("...ls,...le->...se", ds, q) / np.sqrt(E),
            np.einsum("...ls,...lv->...sv", p, dout))


def att_torch(q, k, v, mask, dout):
    import torch
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    m = None if mask is None else torch.tensor(mask)
    out = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=m)
    out.backward(torch.tensor(dout))
    return (out.detach().numpy(),) + tuple(t.grad.numpy() for t in ts)


ATT_MISTAKES = [
    ("no_scale", lambda *a: _att(*a, scale=1.0), "you forgot the scale"),
    ("scale_1_over_E", lambda q, *a: _att(q, *a, scale=1.0 / q.shape[-1]), "not 1 / E"),
    ("softmax_over_queries", lambda *a: _att(*a, axis=-2), "the softmax runs over the keys"),
    ("mask_ignored", lambda *a: _att(*a, mask_mode="none"), "the mask is not applied"),
    ("mask_after_softmax", lambda *a: _att(*a, mask_mode="after"),
     "you zeroed the masked weights after the softmax"),
    ("mask_multiplied", lambda *a: _att(*a, mask_mode="multiply"),
     "multiplying the scores by the mask"),
    ("mask_inverted", lambda *a: _att(*a, mask_mode="inverted"), "the mask is inverted"),
    ("no_max_shift", lambda *a: _att(*a, shift=False), "subtract each row's max"),
    ("dv_not_transposed", lambda *a: _att(*a, dv_mode="P"), "not P @ dout"),
    ("softmax_backward_no_rowsum", lambda *a: _att(*a, ds_mode="no_rowsum"),
     "the softmax backward is missing its second term"),
    ("softmax_skipped", lambda *a: _att(*a, ds_mode="dp"), "you skipped the softmax"),
    ("rowsum_wrong_axis", lambda *a: _att(*a, ds_mode="wrong_axis"),
     "the row sum in the softmax backward runs over the keys"),
    ("dk_not_transposed", lambda *a: _att(*a, dk_mode="ds"), "dk = scale * dS^T @ q"),
    ("grad_no_scale", lambda *a: _att(*a, grad_scale=False), "missing the factor 1/sqrt(E)"),
    ("plain_transpose", lambda q, k, v, m, d: _att(q, k, v, m, d) if q.ndim == 2
     else (q @ k.T), "transpose only the last two axes"),
]


@pytest.mark.parametrize("fn", [att_ok, att_einsum, att_torch])
def test_attention_correct_passes(fn, capsys):
    assert check.check_attention(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Attention forward and backward: correct.") and "Hint" not in out
    assert max(len(line) for line in out.splitlines()) <= 88


@pytest.mark.parametrize("name, fn, hint", ATT_MISTAKES, ids=[m[0] for m in ATT_MISTAKES])
def test_attention_mistakes_fail_with_hint(name, fn, hint, capsys):
    assert check.check_attention(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("Attention forward and backward: not yet. Case "), out
    assert "Hint: " in out and hint in flat(out), out
    assert max(len(line) for line in out.splitlines()) <= 88


def test_attention_shape_hints_and_shared_behaviour(capsys):
    def dk_shape(q, k, v, m, d):            # dS @ q has q's shape: caught on the L != S case
        out, dq, dk, dv = att_ok(q, k, v, m, d)
        return out, dq, dq if q.shape != k.shape else dk, dv
    assert check.check_attention(dk_shape) is False
    out = flat(capsys.readouterr().out)
    assert "Case 2 of 5" in out and "dk has k's shape (S, E)" in out
    assert check.check_attention(_raises) is False
    assert "your function raised RuntimeError: boom" in flat(capsys.readouterr().out)
    assert check.check_attention(lambda *a: None) is False
    assert "expected a tuple (out, dq, dk, dv)" in flat(capsys.readouterr().out)
    with pytest.raises(ValueError, match=r"^fn: expected a callable"):
        check.check_attention("fn")
    check.check_attention(ATT_MISTAKES[0][1])
    first = capsys.readouterr().out
    check.check_attention(ATT_MISTAKES[0][1])
    assert capsys.readouterr().out == first and "check_attention" in check.__all__
