"""tests/reference_numerics.py: what the notebook kernels get, and that the warm kernels honour it."""
from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import kernel_fork
import reference_numerics as rn

sys.path.pop(0)


def test_every_variable_is_a_load_time_variable_of_the_kernel_server():
    # a launcher whose values differ from the server's must get a cold kernel, not a warm one
    # whose libraries loaded with other code paths
    assert set(rn.NAMES) <= set(kernel_fork.LOAD_TIME_ENV)


def test_apply_sets_only_what_the_environment_leaves_unset():
    wanted = rn.settings()
    if not wanted:
        pytest.skip(f"no reference numerics on this CPU ({platform.machine()})")
    env = {"OPENBLAS_CORETYPE": "SkylakeX"}
    lines = rn.apply(env)
    assert env["OPENBLAS_CORETYPE"] == "SkylakeX"                 # the user's choice stays
    assert "OPENBLAS_CORETYPE=SkylakeX (from the environment)" in lines[0]
    for name, value in wanted.items():
        if name != "OPENBLAS_CORETYPE":
            assert env[name] == value
    assert set(env) <= set(rn.NAMES)


def test_settings_on_x86_64_with_avx2():
    features, dispatch = rn._numpy_cpu()
    if platform.machine().lower() not in ("x86_64", "amd64") or not features.get("AVX2"):
        pytest.skip("not an x86-64 CPU with AVX2")
    s = rn.settings()
    assert s["OPENBLAS_CORETYPE"] == "Haswell" and s["ATEN_CPU_CAPABILITY"] == "avx2"
    off = s.get("NPY_DISABLE_CPU_FEATURES", "").split()
    # exactly the dispatched targets above AVX2 that this CPU has: never X86_V3 or a baseline one
    assert all(features[t] and t in dispatch for t in off)
    assert "X86_V3" not in off and "AVX2" not in off
    if features.get("AVX512F"):
        assert off, "an AVX-512 CPU: NumPy's AVX-512 loops must be switched off"
