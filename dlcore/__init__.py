"""dlcore: the small NumPy package behind the book *Deep-Learning Interview Questions, Proven in Code*.

Modules (named by topic):

* ``dlcore.functional``: activations and their derivatives, softmax / log-softmax (stable);
* ``dlcore.losses``: losses returning ``(loss, grad)`` with PyTorch's mean reduction;
* ``dlcore.layers``: layers with ``forward``/``backward``, ``params``/``grads`` dicts, all importable from
  ``dlcore.layers``; a package, one module per kind of layer: ``base`` (``Layer``), ``dense`` (``Linear``,
  ``Sequential``), ``activation``, ``dropout``, ``residual``, ``normalization``, ``convolution``, ``attention``;
* ``dlcore.optim``: SGD, AdaGrad, RMSProp, Adam, AdamW reproducing ``torch.optim``;
* ``dlcore.schedules``: learning-rate schedules as functions of the step (step decay, cosine annealing, linear warm-up);
* ``dlcore.init``: Xavier (Glorot) and He initializations; ``dlcore.clip``: gradient clipping by norm and by value (as torch);
* ``dlcore.gradcheck``: central differences and relative error;
* ``dlcore.autodiff``: a scalar reverse-mode ``Value`` and forward-mode ``Dual`` (micrograd-style);
* ``dlcore.graphs``: draw small computational graphs (DAGs) with matplotlib;
* ``dlcore.segmentation``: multi-class soft Dice / IoU, weighted and bootstrapped cross-entropy;
* ``dlcore.check``: self-check exercises, checkers a reader runs on their own implementation, all importable
  from ``dlcore.check``; a package, one module per topic: ``backprop``, ``activations``, ``optimizers``,
  ``normalization``, ``regularization``, ``metrics``, ``conv``, ``rnn``, ``generative``, ``tensors``, ``attention``;
* ``dlcore.training``: ``mlp`` (build an MLP) and ``fit`` (the mini-batch training loop every chapter uses);
* ``dlcore.conv``: Conv2d (im2col), MaxPool2d, AvgPool2d, Flatten on NCHW arrays (also in ``dlcore.layers``;
  the code is in ``dlcore.layers.convolution``);
* ``dlcore.rnn``: RNN, LSTM and GRU cells with PyTorch's parameter names, and BPTT for the vanilla RNN;
* ``dlcore.geometry``: distances in high dimensions, ball and cube volumes, manifold data, PCA spectrum, k-NN;
* ``dlcore.regularization``: L1 and L2 penalties with gradients, soft thresholding, bias-variance decomposition;
* ``dlcore.normalization``: BatchNorm1d, LayerNorm, RMSNorm, Residual (also in ``dlcore.layers``) and group_norm (the
  code is in ``dlcore.layers.normalization`` and ``dlcore.layers.residual``);
* ``dlcore.metrics``: confusion matrix, precision/recall/F1, ROC and PR curves, AUC, average precision (equal to scikit-learn);
* ``dlcore.generative``: a ring-of-Gaussians target, mode coverage of samples, Gaussian KL (VAE);
* ``dlcore.attention``: scaled dot-product attention (forward, backward, masks as in PyTorch), MultiheadAttention
  with torch's parameter names (the code is in ``dlcore.layers.attention``), and positions (``dlcore.positions``:
  sinusoidal, RoPE, ALiBi);
* ``dlcore.transformer``: the Transformer block (pre-LN / post-LN, as ``nn.TransformerEncoderLayer``) and a KV cache;
  ``dlcore.language_model``: a tiny decoder-only language model built from them, greedy decoding with and without the
  cache, its loss and the toy reversal task;
* ``dlcore.efficient_attention``: the online softmax, block-by-block (FlashAttention-style) attention, sliding-window
  masks and linear attention;
* ``dlcore.curves``: per-epoch training and validation curves of the regularization experiments (digits split, ``train_curves``);
* ``dlcore.propagation``: signal and gradient propagation through deep stacks (per-layer norms by activation and initialization);
* ``dlcore.descent``: the least-squares running example of the optimization chapters (trajectories, sharpness, best stopping time);
* ``dlcore.experiment``: ``repeat`` a random experiment over seeds (mean ± sd, 95 % interval, paired comparisons);
* ``dlcore.precision``: fp32 / fp16 / bf16 simulated exactly in float64 (format constants from the bit layout,
  round-to-nearest-even and stochastic rounding, bit fields, low-precision sums, a loss scaler with
  ``torch.amp.GradScaler``'s rule);
* ``dlcore.memory``: bytes of model state (mixed-precision Adam, ZeRO stages), activation checkpointing measured on
  dlcore layers; ``dlcore.parallel``: ring all-reduce, tensor-parallel linear layers, pipeline schedules in NumPy;
  ``dlcore.ddp_demo``: ``torch.distributed`` (gloo, loopback) in worker processes, for the data-parallelism page;
* ``dlcore.tokenize``: a byte-level BPE tokenizer (train, encode, decode); ``dlcore.corpus``: the small bilingual
  text it is trained on (the book's own prose, package data); ``dlcore.ngram``: a count-based n-gram language model;
  ``dlcore.decoding``: temperature, top-k, top-p, sampling, greedy and beam search, perplexity;
* ``dlcore.lora``: a LoRA linear layer (the code is in ``dlcore.layers.lora``) and its parameter count;
  ``dlcore.quantize``: absmax int8 per tensor / per channel, block-wise int4 and NF4, LLM.int8()'s matmul;
  ``dlcore.alignment``: Bradley-Terry reward loss, the KL-regularized optimum, the DPO loss and its gradients;
* ``dlcore.utils``, ``dlcore.data``, ``dlcore.plotting``: seeds, tables, datasets and ``minibatches``, figure style.

Dependencies point one way. At the bottom are ``_validate``, ``functional`` and ``init``; above them
``dlcore.layers``, whose modules import only ``dlcore.layers.base`` and those; above that the modules built
on layers (``conv`` and ``normalization``, which re-export code of ``dlcore.layers``; ``rnn``; ``training``),
and ``check`` on top. ``tests/test_package_layout.py`` fails on an import cycle and on a module over 600
lines. A new topic gets a new module (``dlcore.attention``); its layers go in ``dlcore/layers/<topic>.py``
with the functions they are built on, re-exported by the topic module as ``dlcore.conv`` does.

Runtime dependency: NumPy only. Everything is float64.

Input contract (checked for every public name by ``tests/test_api_fuzz.py``):

* **Bad input raises ``ValueError``** naming the argument, what was expected and what was
  received; never ``TypeError``, ``AttributeError`` or ``OverflowError``. The checks are the
  shared helpers of ``dlcore._validate`` (one way to check an int, a real, a probability, a
  bool, a generator); backward before forward raises too.
* **Arrays**: anything ``np.asarray`` turns into a real numeric array is accepted (lists,
  tuples, scalars where the rank allows, bool and integer arrays, float32), promoted to
  float64. Complex, string and object arrays, and None, are rejected; so are NaN and ±inf,
  except where they are data: ``gradcheck.relative_error`` (NaN gives NaN, an unmatched inf
  gives inf), ``utils.to_torch``, the gradients of ``clip`` (as in PyTorch; pass
  ``error_if_nonfinite=True`` to raise), float attention masks (``-inf`` blocks a key),
  decoding logits (``-inf`` is a removed token; a row of only ``-inf`` raises), log-probabilities
  for ``decoding.perplexity`` (``-inf``, a token of probability 0, gives inf), masked scores
  in ``efficient_attention`` (``-inf`` in ``softmax_state``; the running maximum ``-inf`` of a
  fully masked block in ``merge_softmax_states``), the
  ``precision`` rounding functions (inf and NaN pass through, as in hardware) and
  ``LossScaler.unscale`` (it reports non-finite gradients as ``found_inf``).
* **Empty batches** are accepted where the result is defined (a layer's forward on (0, D)
  returns (0, out)); a mean over nothing (a loss, a metric, batch statistics) raises.
* **Numbers**: an int is a Python or NumPy integer, never a bool, float or string
  (``Linear(2.5, 2)`` raises instead of truncating to 2); a real is a finite Python or NumPy
  number (not a bool); a flag is ``True``/``False`` (or a NumPy bool), not ``"yes"`` or 1;
  ``rng`` is None (fresh entropy), a non-negative int seed or a ``numpy.random.Generator``
  (``descent.least_squares`` continues the caller's stream and takes a Generator only).
* **Arguments are not modified**, except where that is the point: ``optimizer.step`` updates
  ``params``, ``clip`` scales ``grads``, ``training.fit`` trains its model,
  ``gradcheck.numerical_gradient`` perturbs ``x`` and restores it.
* **Finite input never gives NaN, and inf only honestly**: where the exact result exceeds
  float64's range (about 1.8e308) it is inf, with NumPy's overflow warning: ``losses.mse``,
  ``regularization.l2_penalty`` and ``bias_variance_decomposition``, ``generative.gaussian_kl``
  (for values beyond about 1e154), ``geometry.ball_volume``, ``decoding.perplexity`` and the
  ``precision`` rounding functions (beyond the format's largest number, IEEE rounding gives
  ±inf). Where the result is finite,
  dlcore computes it (distances, the PCA spectrum and ``clip_grad_norm``'s norm are scaled by a
  power of two when squares would overflow); where no meaningful result exists it raises
  (normalizing |x| > 1e154, squaring gradients > 1.3e154 in AdaGrad/RMSProp/Adam, a
  ``step_decay`` rate beyond float64, a function ``numerical_gradient`` cannot evaluate, a
  ``descent.LeastSquares`` loss or gradient beyond float64).
* **Records** (``ngram.ToyLanguageModel``, a NamedTuple that a function returns) hold what
  they are given; ``ddp_demo.run`` checks its arguments before it starts any process.
* Python's operators keep Python's protocol: ``Summary + "a"`` is a ``TypeError`` (the
  operand is unsupported), while ``Value``/``Dual`` arithmetic checks its operand and raises
  ``ValueError``.
"""
from . import functional, losses, layers, optim, gradcheck, utils, data, autodiff, segmentation, check, training, conv, rnn, geometry, regularization, normalization, metrics, generative, schedules, init, clip, experiment, positions, attention, curves, propagation, transformer, language_model, efficient_attention, descent, precision, memory, parallel, ddp_demo, tokenize, corpus, ngram, decoding, lora, quantize, alignment
from .utils import seed, table

__version__ = "0.1.0"
__all__ = ["functional", "losses", "layers", "optim", "gradcheck", "utils", "data", "autodiff", "segmentation", "check", "training", "conv", "rnn", "geometry", "regularization", "normalization", "metrics", "generative", "schedules", "init", "clip", "experiment", "positions", "attention", "curves", "propagation", "transformer", "language_model", "efficient_attention", "descent", "precision", "memory", "parallel", "ddp_demo", "tokenize", "corpus", "ngram", "decoding", "lora", "quantize", "alignment", "seed", "table", "__version__"]
