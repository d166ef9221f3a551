"""tests/reference_numerics.py: what the notebook kernels get, and that the libraries obey it."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import kernel_fork
import reference_numerics as rn

sys.path.pop(0)

needs_reference = pytest.mark.skipif(not rn.settings(), reason="no reference numerics on this CPU")


def test_every_variable_is_a_load_time_variable_of_the_kernel_server():
    # a launcher whose values differ from the server's must get a cold kernel, not a warm one
    # whose libraries loaded with other code paths
    assert set(rn.NAMES) <= set(kernel_fork.LOAD_TIME_ENV)


@needs_reference
def test_apply_sets_only_what_the_environment_leaves_unset():
    env = {"OPENBLAS_CORETYPE": "SkylakeX"}
    lines = rn.apply(env)
    assert env["OPENBLAS_CORETYPE"] == "SkylakeX"                 # the user's choice stays
    assert "OPENBLAS_CORETYPE=SkylakeX (from the environment)" in lines[0]
    assert env["ATEN_CPU_CAPABILITY"] == "avx2"
    assert set(env) <= set(rn.NAMES)


def test_nothing_is_pinned_off_x86(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    env = {}
    assert rn.settings() == {}
    assert "none for this CPU" in rn.apply(env)[0] and env == {}


@needs_reference
def test_the_libraries_of_a_kernel_run_on_the_reference_path():
    # What a notebook kernel inherits: this process's environment, where the root conftest.py
    # applied the settings (unless the environment set them). A fresh interpreter reports which
    # code paths NumPy, OpenBLAS and PyTorch took.
    probe = (
        "import json, numpy, torch\n"
        "from threadpoolctl import threadpool_info\n"
        "try:\n"
        "    from numpy._core._multiarray_umath import __cpu_features__ as f\n"
        "except ImportError:\n"
        "    from numpy.core._multiarray_umath import __cpu_features__ as f\n"
        "print(json.dumps({'blas': sorted({p.get('architecture') for p in threadpool_info()\n"
        "                                  if p.get('internal_api') == 'openblas'}),\n"
        "                  'numpy_on': sorted(k for k, v in f.items() if v),\n"
        "                  'torch': torch.backends.cpu.get_cpu_capability()}))\n")
    wanted = rn.settings()
    if any(os.environ.get(k) != v for k, v in wanted.items()):
        pytest.skip("the environment sets other values than the reference")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env=os.environ.copy())
    assert out.stderr == ""                                # a warning would fail nbval
    got = json.loads(out.stdout)
    assert got["blas"] == ["Haswell"]                      # NumPy's and SciPy's OpenBLAS
    off = wanted.get("NPY_DISABLE_CPU_FEATURES", "").split()
    assert not set(off) & set(got["numpy_on"]) and "AVX2" in got["numpy_on"]
    assert got["torch"] == "AVX2"
