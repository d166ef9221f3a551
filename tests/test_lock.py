"""The lock files agree with the ranges (fast, offline; ``python scripts/lock.py`` rewrites them).

* ``requirements.txt`` holds the human ranges and applies ``requirements-lock.txt`` as
  constraints, so the README's ``pip install -r requirements.txt`` installs the lock.
* Both locks (``requirements-lock.txt`` and the minimum-versions lane's ``requirements-min.txt``)
  are exact pins only, record the command that made them, pin every requirement inside its
  range, and hold nothing stale: every pin is there because of a requirement or of another pin.
* The minimum-versions lock holds numpy, matplotlib, scikit-learn, faiss-cpu and torch at
  exactly the lower bounds that requirements.txt declares, and pyproject.toml declares the same.
* Binder pins the lock's versions (CPU torch) and takes the rest of the lock as constraints.
* ``scripts/lock.py --check-installed``, which CI runs after each install, can fail.
"""
from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements-lock.txt"
MIN_LOCK = ROOT / "requirements-min.txt"
BINDER = ROOT / "binder" / "requirements.txt"
LOCKS = [LOCK, MIN_LOCK]
FLOOR_PACKAGES = ["numpy", "matplotlib", "scikit-learn", "faiss-cpu", "torch"]
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def meaningful(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def ranges() -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in meaningful(REQUIREMENTS) if not line.startswith("-")]
    return {canonicalize_name(r.name): r for r in reqs}


def pins(path: Path) -> dict[str, Version]:
    out = {}
    for line in meaningful(path):
        m = PIN.fullmatch(line)
        if m:
            out[canonicalize_name(m.group(1))] = Version(m.group(2))
    return out


def lower_bound(req: Requirement) -> Version:
    (bound,) = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    return bound


def via(path: Path) -> dict[str, list[str]]:
    """uv's ``# via`` annotations (split style): why each pinned package is in the lock."""
    out, current, in_via = {}, None, False
    for line in path.read_text(encoding="utf-8").splitlines():
        m = PIN.fullmatch(line)
        if m:
            current, in_via = canonicalize_name(m.group(1)), False
            out[current] = []
        elif current and line.startswith("    # via"):
            rest = line.split("# via", 1)[1].strip()
            in_via = not rest
            if rest:
                out[current].append(rest)
        elif current and in_via and line.startswith("    #   "):
            out[current].append(line.split("#", 1)[1].strip())
        else:
            current, in_via = None, False
    return out


def test_requirements_apply_the_lock_as_constraints():
    lines = meaningful(REQUIREMENTS)
    constraints = [line for line in lines if line.startswith(("-c", "--constraint"))]
    assert constraints == ["-c requirements-lock.txt"], constraints
    assert lines[-1] == "-c requirements-lock.txt", "the lock line must close requirements.txt"


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: p.name)
def test_lock_is_exact_pins_only(path):
    names = []
    for line in meaningful(path):
        m = PIN.fullmatch(line)
        assert m, f"{path.name}: not an exact pin (no -e, URL, range, marker or hash): {line!r}"
        version = Version(m.group(2))              # a valid version, or InvalidVersion
        assert not version.local, f"{path.name}: {line} has a local label: PyPI cannot match it"
        names.append(canonicalize_name(m.group(1)))
    assert len(names) == len(set(names)), f"{path.name}: a package is pinned twice"
    assert len(names) > 50, f"{path.name}: only {len(names)} pins: not a full environment"


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: p.name)
def test_lock_header_records_command_and_target(path):
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    assert "#    python scripts/lock.py" in text, f"{path.name}: header lacks the refresh command"
    assert "CPython 3.11" in text and "Linux x86-64" in text, f"{path.name}: no target platform"


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: p.name)
def test_every_requirement_is_pinned_inside_its_range(path):
    locked = pins(path)
    for name, req in ranges().items():
        assert name in locked, f"{path.name} has no pin for {req}: run python scripts/lock.py"
        assert req.specifier.contains(locked[name], prereleases=True), \
            f"{path.name}: {name}=={locked[name]} is outside requirements.txt's {req}"


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: p.name)
def test_every_pin_is_needed(path):
    """Each pin names why it is there (uv's ``# via``): a requirement, a floor or another pin."""
    locked, reasons, reqs = pins(path), via(path), ranges()
    assert set(reasons) == set(locked)
    allowed = {"-r requirements.txt", "dlcore"} | set(locked)
    if path == MIN_LOCK:
        allowed.add("-c lower-bounds.txt")
    for name, why in reasons.items():
        assert why, f"{path.name}: {name} has no `# via`"
        for reason in why:
            key = reason if reason.startswith("-") else canonicalize_name(reason)
            assert key in allowed, f"{path.name}: {name} is there via {reason!r}, not in the lock"
        if "-r requirements.txt" in why:
            assert name in reqs, f"{path.name}: {name} is via requirements.txt, which lacks it"
    for name in reqs:
        assert "-r requirements.txt" in reasons.get(name, []), \
            f"{path.name}: {name} is in requirements.txt but the lock does not say so: re-lock"


def test_min_lock_holds_the_declared_lower_bounds():
    reqs, locked, latest = ranges(), pins(MIN_LOCK), pins(LOCK)
    for name in FLOOR_PACKAGES:
        assert locked[name] == lower_bound(reqs[name]), \
            f"requirements-min.txt pins {name}=={locked[name]}, requirements.txt says {reqs[name]}"
    floored = {n for n, why in via(MIN_LOCK).items() if "-c lower-bounds.txt" in why}
    assert floored == set(FLOOR_PACKAGES)
    moved = [n for n in FLOOR_PACKAGES if locked[n] != latest[n]]
    assert moved, "the minimum-versions lane would test the same versions as the main lane"


def test_pyproject_lower_bounds_match_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    reqs = ranges()
    checked = []
    for line in declared:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name in reqs:
            assert lower_bound(req) == lower_bound(reqs[name]), \
                f"pyproject.toml: {req}, requirements.txt: {reqs[name]} (one lower bound, please)"
            checked.append(name)
    assert {"numpy", "matplotlib", "torch"} <= set(checked), checked


def test_torch_is_pinned_as_on_pypi():
    """``torch==2.13.0``: PyPI's wheel and the CPU build ``2.13.0+cpu`` both satisfy it."""
    (spec,) = ranges()["torch"].specifier
    assert spec.operator == "==" and not Version(spec.version).local
    for path in LOCKS:
        assert pins(path)["torch"] == Version(spec.version)


def test_binder_pins_equal_the_lock():
    lines = meaningful(BINDER)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert lines[-1] == "-c ../requirements-lock.txt", "Binder must take the rest of the lock"
    locked = pins(LOCK)
    binder = {}
    for line in lines:
        if line.startswith("-"):
            continue
        m = PIN.fullmatch(line)
        assert m, f"binder/requirements.txt: {line!r} is not a pin"
        binder[canonicalize_name(m.group(1))] = Version(m.group(2))
    assert set(FLOOR_PACKAGES) <= set(binder), "Binder must list what the notebooks import"
    for name, version in binder.items():
        assert Version(version.public) == locked[name], \
            f"binder pins {name}=={version}, the lock {locked[name]}: run python scripts/lock.py"
        assert version.local == ("cpu" if name == "torch" else None), f"{name}=={version}"


def test_ci_installs_and_checks_both_locks():
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    run_min = (ROOT / ".ci" / "run-min").read_text(encoding="utf-8")
    assert "pip install -q -r requirements.txt" in run
    assert "scripts/lock.py --check-installed requirements-lock.txt" in run
    assert "bash .ci/run-min" in run
    assert "-c requirements-min.txt" in run_min
    assert "scripts/lock.py --check-installed requirements-min.txt" in run_min
    assert "--nbval-lax" in run_min and " notebooks" in run_min


# --- the check that CI runs after installing ---------------------------------------------------

def _lock_script():
    spec = importlib.util.spec_from_file_location("lock_script", ROOT / "scripts" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_check_installed_passes_on_exact_pins(tmp_path, capsys):
    lock = tmp_path / "lock.txt"
    lock.write_text("".join(f"{n}=={v}\n" for n, v in _installed().items()) + "absent-pkg==1.0\n")
    assert _lock_script().check_installed(lock) == 0
    assert "1 pins not installed (absent-pkg)" in capsys.readouterr().out


def test_check_installed_fails_on_another_version_or_an_unlocked_package(tmp_path, capsys):
    installed = _installed()
    lock = tmp_path / "lock.txt"
    wrong = dict(installed, pytest="0.0.1")
    lock.write_text("".join(f"{n}=={v}\n" for n, v in wrong.items()))
    assert _lock_script().check_installed(lock) == 1
    assert "pytest" in capsys.readouterr().out
    lock.write_text("".join(f"{n}=={v}\n" for n, v in installed.items() if n != "packaging"))
    assert _lock_script().check_installed(lock) == 1
    assert "not in the lock: packaging" in capsys.readouterr().out
