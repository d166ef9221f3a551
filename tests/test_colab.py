"""Colab bootstrap, simulated (Colab itself is not reachable from CI).

Every chapter notebook starts with a hidden (``remove-cell``) code cell that, in Colab only,
pip-installs ``dlcore`` from the book's repository. These tests run that cell's exact source
(a) with a fake ``google.colab`` module and a recording ``subprocess.run``: it must ask pip for
``dlcore @ git+<repository.url of _config.yml>``; (b) outside Colab: it must do and print nothing;
(c) once, end to end: install this checkout the way that pip command would (a wheel built from
the source tree, into an empty target directory) and import every ``dlcore`` module from there.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _module_names():
    """Every module of the package, sub-packages included: "functional", "layers", "layers.base"..."""
    for path in sorted((ROOT / "dlcore").rglob("*.py")):
        parts = path.relative_to(ROOT / "dlcore").with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if parts:
            yield ".".join(parts)


SUBMODULES = list(_module_names())


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def bootstrap_cell(path: Path) -> dict:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next(c for c in cells if c["cell_type"] == "code")


def run_cell(source: str, monkeypatch, in_colab: bool) -> list:
    """Exec the cell with ``subprocess.run`` recorded; optionally pretend to be in Colab."""
    calls = []

    def fake_run(*args, **kwargs):
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args[0] if args else None, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<bootstrap cell>", "exec"), {"__name__": "__main__"})
    return calls


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/<chapter>/*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_bootstrap_cell_installs_dlcore_in_colab(path, monkeypatch, capsys):
    cell = bootstrap_cell(path)
    assert "remove-cell" in cell.get("metadata", {}).get("tags", []), \
        f"{path.name}: the first code cell (Colab bootstrap) must be tagged remove-cell"
    calls = run_cell("".join(cell["source"]), monkeypatch, in_colab=True)
    assert len(calls) == 1, f"{path.name}: expected one subprocess.run call in Colab, got {calls}"
    (args, kwargs), = calls
    cmd = list(args[0] if args else kwargs["args"])
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"], cmd
    specs = [a for a in cmd[4:] if not a.startswith("-")]
    assert specs == [f"dlcore @ git+{repository_url()}"], \
        f"{path.name}: installs {specs}, but _config.yml's repository.url is {repository_url()}"
    assert kwargs.get("check") is True, f"{path.name}: a failed install must raise (check=True)"
    capsys.readouterr()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_bootstrap_cell_does_nothing_outside_colab(path, monkeypatch, capsys):
    calls = run_cell("".join(bootstrap_cell(path)["source"]), monkeypatch, in_colab=False)
    assert calls == [], f"{path.name}: the bootstrap cell ran {calls} outside Colab"
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", f"{path.name}: the bootstrap cell printed {out}"


def _pip_available() -> bool:
    return subprocess.run([sys.executable, "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _pip_available(), reason="pip is not installed")
def test_dlcore_installs_as_a_wheel_with_every_module(tmp_path):
    """What Colab's ``pip install "dlcore @ git+<url>"`` gets, from this checkout instead.

    The source is copied first (the files a git clone would give pip: pyproject.toml, README.md,
    LICENSE, dlcore/), so the build writes nothing into the working tree.
    """
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "dlcore", src / "dlcore",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-input",
           "--disable-pip-version-check", "--no-cache-dir", "--target", str(target)]
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(pip + ["--no-build-isolation", str(src)],
                            capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0:  # e.g. no setuptools>=77 in this environment: let pip fetch it
        result = subprocess.run(pip + [str(src)], capture_output=True, text=True, env=env,
                                timeout=120)
    assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"

    workdir = tmp_path / "elsewhere"  # not the repository: its dlcore/ must not be importable
    workdir.mkdir()
    code = (
        "import importlib, dlcore\n"
        f"for name in {SUBMODULES!r}:\n"
        "    importlib.import_module('dlcore.' + name)\n"
        "assert len(dlcore.corpus.load_text('book')) > 50_000\n"     # package data is in the wheel
        "print(dlcore.__file__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, f"importing the installed dlcore failed:\n{result.stderr}"
    installed = Path(result.stdout.strip().splitlines()[-1]).resolve()
    assert installed.is_relative_to(target.resolve()), \
        f"dlcore was imported from {installed}, not from the installed wheel in {target}"
    assert not installed.is_relative_to(ROOT / "dlcore")
