"""Benchmarks of dlcore and of the book: ``python -m benchmarks [--quick]`` runs them all.

* ``benchmarks.train_step``: one training step, dlcore vs PyTorch and vs the BLAS floor;
* ``benchmarks.scaling``: step time against matmul FLOPs as batch and width double;
* ``benchmarks.attention``: attention forward + backward, dlcore vs PyTorch's SDPA + autograd;
* ``benchmarks.book``: wall time of nbval per notebook and of the strict book build.
"""
