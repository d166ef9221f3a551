"""The numeric code paths the stored notebook outputs were computed with, pinned for the kernels.

NumPy, OpenBLAS and PyTorch pick their loops at run time from what the CPU offers (AVX2,
AVX-512, ...), and the loops for different instruction sets round differently in the last bits.
Most cells print values that do not notice. A few do not: a training run that diverges, or one
that nearly does, turns a last-bit difference into a different third digit. Measured on the one
CPU this book's outputs come from (an AMD EPYC with AVX-512), with every other setting equal and
nbval at one thread:

* OpenBLAS's own kernel choice on this CPU (SkylakeX, AVX-512) instead of its Haswell (AVX2)
  kernels: 8 cells of 7 notebooks printed different values (for example a lr=1.0 Adam run's
  validation loss, 2.321 ± 0.128 against the 2.296 ± 0.175 stored now);
* NumPy's AVX-512 loops switched off (what an AVX2-only CPU runs), OpenBLAS unchanged: 4 cells.

So, on an x86-64 CPU with AVX2 and FMA, ``apply`` sets the environment of the notebook kernels
to one common code path, AVX2, unless the variable is already set:

=========================  ====================================================================
OPENBLAS_CORETYPE=Haswell  OpenBLAS (NumPy's and SciPy's) uses its AVX2 kernels
NPY_DISABLE_CPU_FEATURES   NumPy's dispatched loops above X86_V3 (AVX2) that this CPU has, off
ATEN_CPU_CAPABILITY=avx2   PyTorch's own vectorised (ATen) kernels at AVX2
=========================  ====================================================================

Not pinned:

* the MKL inside PyTorch (its float64 matrix products). ``MKL_CBWR`` does not choose its
  instruction set on this AMD CPU (MKL_VERBOSE reports CNR:AUTO whichever branch is asked
  for); it only switches on MKL's reproducible mode, whose results depend on the thread count: with
  ``MKL_CBWR=AVX2`` the notebook gradient_descent/convergence printed other values at two
  threads than at one (measured), and outputs must not depend on threads. MKL's default mode
  gave the same values at one and two threads in every CI run; on another CPU (an Intel one, say)
  MKL may take another path, and a cell built on PyTorch matrix products may print other digits;
* oneDNN (PyTorch's float32 convolutions; ``ONEDNN_MAX_CPU_ISA`` would pin it): the book
  computes in float64.

The variables are read when each library loads, so they must be set before a kernel imports
anything: the root ``conftest.py`` calls ``apply`` when pytest starts, before the kernel server
(tests/kernel_fork.py) preloads the libraries, and ``scripts/run_notebook.py`` calls it before it
starts the kernel that writes the outputs. On other CPUs (ARM, such as Apple silicon; x86-64
without AVX2) nothing is pinned: those few cells may print other digits (not tested here), and
pytest's header says so. Reading a notebook in Jupyter or Colab pins nothing either: the printed
values there may differ from the website's in those cells.
"""
from __future__ import annotations

import os
import platform

# The dispatch targets (NumPy 2: X86_V4, AVX512_ICL, AVX512_SPR; NumPy 1: AVX512F, AVX512_SKX,
# ...) above AVX2 start with one of these.
_ABOVE_AVX2 = ("AVX512", "X86_V4", "AVX10", "AMX")


def _numpy_cpu():
    """(features this CPU has, NumPy's dispatch targets), from NumPy's own detection."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:                                           # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return __cpu_features__, list(__cpu_dispatch__)


def settings() -> dict[str, str]:
    """The reference settings for this machine ({} where no common path exists)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    features, dispatch = _numpy_cpu()
    if not (features.get("AVX2") and features.get("FMA3")):
        return {}
    # NumPy reports a feature that NPY_DISABLE_CPU_FEATURES switched off as absent: count those
    # as present (the CPU has them), so the reference is the same whether the variable is set
    disabled = set(os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split())
    above = [t for t in dispatch if t.startswith(_ABOVE_AVX2) and (features.get(t) or t in disabled)]
    out = {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2"}
    if above:
        out["NPY_DISABLE_CPU_FEATURES"] = " ".join(above)
    return out


NAMES = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "ATEN_CPU_CAPABILITY")


def apply(environ=None) -> list[str]:
    """Set each reference variable that ``environ`` (default: os.environ) does not set already;
    return one line per variable saying what the kernels get and where it came from."""
    environ = os.environ if environ is None else environ
    wanted = settings()
    if not wanted:
        return [(f"reference numerics: none for this CPU ({platform.machine()}, no AVX2/FMA or not "
                 "x86-64): a few chaotic cells may print other digits than the stored outputs")]
    lines = []
    for name in NAMES:
        if name in environ:
            source = "from the environment" if environ[name] != wanted.get(name) else "as the reference"
            lines.append(f"{name}={environ[name]} ({source})")
        elif name in wanted:
            environ[name] = wanted[name]
            lines.append(f"{name}={wanted[name]} (set for the reference numerics)")
    return ["reference numerics for notebook kernels: " + "; ".join(lines)]
