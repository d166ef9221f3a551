"""Self-check exercises: call a checker on your own implementation.

Each checker runs your function on a few seeded random inputs, compares the result with
the ``dlcore`` reference and prints a verdict. It returns True when every case agrees and
False otherwise; a wrong answer (a wrong value, a wrong shape, even an exception inside
your function) never raises, it prints what went wrong and a hint instead. Only a
``fn`` that is not callable raises ``ValueError``.

* ``check_linear_backward(fn)``: ``fn(x, W, b, dout) -> (dx, dW, db)`` for
  ``y = x @ W + b`` with ``W`` of shape (in, out), against ``dlcore.layers.Linear``;
* ``check_softmax_cross_entropy_grad(fn)``: ``fn(logits, y) -> grad``, the gradient of
  the mean softmax cross-entropy with respect to ``logits`` (N, C) for integer labels
  ``y`` (N,), against ``dlcore.losses.softmax_cross_entropy``;
* ``check_mlp_forward(fn)``: ``fn(x, W1, b1, W2, b2) -> logits`` of a one-hidden-layer
  ReLU MLP, W of shape (in, out), against ``Linear -> ReLU -> Linear``;
* ``check_sigmoid(fn)``: ``fn(z) -> sigmoid(z)``, numerically stable: run with NumPy's
  floating-point errors raised (underflow excepted) on entries up to ±1e4, to rtol 1e-12
  including the tails (``SIGMOID_RTOL``), against ``dlcore.functional.sigmoid``;
* ``check_sgd_momentum_step(fn)``: ``fn(param, grad, velocity, lr, momentum) ->
  (new_param, new_velocity)`` in PyTorch's convention, against ``dlcore.optim.SGD``;
* ``check_adam_step(fn)``: ``fn(param, grad, m, v, t, lr, beta1, beta2, eps) ->
  (new_param, m, v)``, ``t`` counted from 1, against ``dlcore.optim.Adam``;
* ``check_clip_grad_norm(fn)``: ``fn(grads, max_norm) -> total_norm`` for a list of
  arrays clipped in place, against ``dlcore.clip.clip_grad_norm``;
* ``check_batchnorm_backward(fn)``: ``fn(x, gamma, dout, eps) -> (dx, dgamma, dbeta)`` in
  training mode, against ``dlcore.normalization.BatchNorm1d``;
* ``check_inverted_dropout(fn)``: ``fn(x, p, rng) -> (out, mask)``: exact 1/(1-p) scaling
  of the survivors, and statistical checks (5 standard deviations, seeded) of the share of
  zeros and of E[out] = x;
* ``check_precision_recall_f1(fn)``: ``fn(y_true, y_pred) -> (precision, recall, f1)``,
  binary, 0.0 for a zero denominator, against ``dlcore.metrics.precision_recall_f1``;
* ``check_conv2d_forward(fn)``: ``fn(x, W, b, stride, padding) -> out`` on NCHW arrays,
  against ``dlcore.conv.Conv2d``;
* ``check_rnn_step_backward(fn)``: ``fn(x, h_prev, W_ih, W_hh, b, h_next, dh_next) ->
  (dx, dh_prev, dW_ih, dW_hh, db)`` for ``h_next = tanh(x W_ih^T + h_prev W_hh^T + b)``,
  against ``dlcore.rnn.RNNCell``;
* ``check_gaussian_kl(fn)``: ``fn(mu, logvar) -> kl``, the VAE's KL term per example,
  against ``dlcore.generative.gaussian_kl``;
* ``check_matmul_shape(fn)``: ``fn(shape_a, shape_b) -> shape or None``, the shape of
  ``a @ b`` with 1-D promotion and broadcast batch axes, against ``np.matmul``;
* ``check_attention(fn)``: ``fn(q, k, v, mask, dout) -> (out, dq, dk, dv)``, scaled
  dot-product attention forward and backward with a boolean mask (True = may attend),
  against ``dlcore.attention``;
* ``check_round_to_bf16(fn)``: ``fn(x) -> y``, a float32 array rounded to bfloat16 with
  round-to-nearest-even (ties, overflow to inf, subnormals), against
  ``dlcore.precision.round_nearest``, exactly;
* ``check_ring_all_reduce(fn)``: ``fn(buffers) -> results``, the sum of one vector per rank
  left on every rank (1 to 5 ranks, uneven chunks), against ``np.sum``.
* ``check_top_p(fn)``: ``fn(probs, p) -> new_probs``, the renormalised distribution of nucleus
  (top-p) sampling, against ``dlcore.decoding.next_token_distribution``;
* ``check_dpo_loss(fn)``: ``fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
  -> (loss, d_chosen, d_rejected)``, the DPO loss and its gradients, against
  ``dlcore.alignment.dpo_loss``.

When an answer is wrong, each checker compares it with the typical wrong variants (a
transposed weight, a missing term, the other convention...) and names the one it matches
in the hint. Parameter updates are compared through the update ``new - old``, so that a
small step cannot hide its own error. The submodules a checker needs are imported inside
it, so ``dlcore.check`` imports only ``layers`` and ``losses``.

Tolerance: ``rtol = 1e-8`` (with ``atol = 1e-12`` for entries that cancel to about zero).
Both sides are exact formulas evaluated in float64, so a correct implementation differs
from the reference only by rounding (another summation order, ``einsum`` instead of ``@``):
about 1e-15 relative. 1e-8 leaves seven orders of magnitude for that, while every real
mistake (a transpose, a missing 1/N, a flipped sign) is off by order 1. This is not a
finite-difference check, whose own error (about 1e-9 to 1e-6) would need a looser bound.

The printed verdicts are fixed text (shapes, case numbers, at most two significant digits),
so a notebook that calls a checker has reproducible output.
The verdicts of the later checkers are wrapped at 88 characters.

Where each checker lives (one module per topic; ``from dlcore.check import check_xxx`` works
for all of them): ``backprop`` (linear backward, softmax cross-entropy gradient, MLP forward),
``activations`` (sigmoid), ``optimizers`` (SGD with momentum, Adam, clip grad norm),
``normalization`` (batch norm backward), ``regularization`` (inverted dropout), ``metrics``
(precision, recall, F1), ``conv`` (conv2d forward), ``rnn`` (one step of BPTT),
``generative`` (Gaussian KL), ``tensors`` (the shape of ``a @ b``), ``attention`` (scaled
dot-product attention, forward and backward), ``precision`` (rounding to bf16), ``parallel``
(ring all-reduce), ``decoding`` (top-p), ``alignment`` (the DPO loss). The helpers they share
(calling the reader's function safely, comparing, printing a verdict) are in ``_common``.
A new checker goes in the module of its topic (a new topic gets a new module), is imported
below and listed in ``__all__``.
"""
from __future__ import annotations

from ._common import RTOL, ATOL
from .backprop import check_linear_backward, check_softmax_cross_entropy_grad, check_mlp_forward
from .activations import check_sigmoid, SIGMOID_RTOL
from .optimizers import check_sgd_momentum_step, check_adam_step, check_clip_grad_norm
from .normalization import check_batchnorm_backward
from .regularization import check_inverted_dropout
from .metrics import check_precision_recall_f1
from .conv import check_conv2d_forward
from .rnn import check_rnn_step_backward
from .generative import check_gaussian_kl
from .tensors import check_matmul_shape
from .attention import check_attention
from .precision import check_round_to_bf16
from .parallel import check_ring_all_reduce
from .decoding import check_top_p
from .alignment import check_dpo_loss

# Importable from the single-file ``dlcore.check`` of version 0.1 (kept so that old imports
# work; not in __all__): two imports, and the private helpers that tests/test_check.py uses.
from ..layers import Linear  # noqa: F401
from ..losses import softmax_cross_entropy  # noqa: F401
from .metrics import _PRF_CASES, _labels_from_counts, _prf_formula, _prf_reference  # noqa: F401
from .regularization import _DROPOUT_CASES  # noqa: F401
from .tensors import _broadcast_left  # noqa: F401

__all__ = ["check_linear_backward", "check_softmax_cross_entropy_grad", "check_mlp_forward",
           "check_sigmoid", "check_sgd_momentum_step", "check_adam_step", "check_clip_grad_norm",
           "check_batchnorm_backward", "check_inverted_dropout", "check_precision_recall_f1",
           "check_conv2d_forward", "check_rnn_step_backward", "check_gaussian_kl",
           "check_matmul_shape", "check_attention", "check_round_to_bf16",
           "check_ring_all_reduce", "check_top_p", "check_dpo_loss", "RTOL", "ATOL", "SIGMOID_RTOL"]
