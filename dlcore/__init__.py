"""dlcore: the small NumPy package behind the book *Deep-Learning Interview Questions, Proven in Code*.

Modules (named by topic):

* ``dlcore.functional``: activations and their derivatives, softmax / log-softmax (stable);
* ``dlcore.losses``: losses returning ``(loss, grad)`` with PyTorch's mean reduction;
* ``dlcore.layers``: layers with ``forward``/``backward``, ``params``/``grads`` dicts;
* ``dlcore.optim``: SGD, AdaGrad, RMSProp, Adam, AdamW reproducing ``torch.optim``;
* ``dlcore.schedules``: learning-rate schedules as functions of the step (step decay, cosine annealing, linear warm-up);
* ``dlcore.init``: Xavier (Glorot) and He initializations; ``dlcore.clip``: gradient clipping by norm and by value (as torch);
* ``dlcore.gradcheck``: central differences and relative error;
* ``dlcore.autodiff``: a scalar reverse-mode ``Value`` and forward-mode ``Dual`` (micrograd-style);
* ``dlcore.graphs``: draw small computational graphs (DAGs) with matplotlib;
* ``dlcore.segmentation``: multi-class soft Dice / IoU, weighted and bootstrapped cross-entropy;
* ``dlcore.check``: self-check exercises, checkers a reader runs on their own implementation;
* ``dlcore.training``: ``mlp`` (build an MLP) and ``fit`` (the mini-batch training loop every chapter uses);
* ``dlcore.conv``: Conv2d (im2col), MaxPool2d, AvgPool2d, Flatten on NCHW arrays (also in ``dlcore.layers``);
* ``dlcore.rnn``: RNN, LSTM and GRU cells with PyTorch's parameter names, and BPTT for the vanilla RNN;
* ``dlcore.geometry``: distances in high dimensions, ball and cube volumes, manifold data, PCA spectrum, k-NN;
* ``dlcore.regularization``: L1 and L2 penalties with gradients, soft thresholding, bias-variance decomposition;
* ``dlcore.normalization``: BatchNorm1d, LayerNorm, Residual (also in ``dlcore.layers``) and group_norm;
* ``dlcore.metrics``: confusion matrix, precision/recall/F1, ROC and PR curves, AUC, average precision (equal to scikit-learn);
* ``dlcore.generative``: a ring-of-Gaussians target, mode coverage of samples, Gaussian KL (VAE);
* ``dlcore.experiment``: ``repeat`` a random experiment over seeds (mean ± sd, 95 % interval, paired comparisons);
* ``dlcore.utils``, ``dlcore.data``, ``dlcore.plotting``: seeds, tables, datasets and ``minibatches``, figure style.

Runtime dependency: NumPy only. Everything is float64.
"""
from . import functional, losses, layers, optim, gradcheck, utils, data, autodiff, segmentation, check, training, conv, rnn, geometry, regularization, normalization, metrics, generative, schedules, init, clip, experiment
from .utils import seed, table

__version__ = "0.1.0"
__all__ = ["functional", "losses", "layers", "optim", "gradcheck", "utils", "data", "autodiff", "segmentation", "check", "training", "conv", "rnn", "geometry", "regularization", "normalization", "metrics", "generative", "schedules", "init", "clip", "experiment", "seed", "table", "__version__"]
