"""Pin the book's environment: regenerate the locks from the ranges in requirements.txt.

    python scripts/lock.py              # after editing requirements.txt: resolve what changed,
                                        # keep every other pin
    python scripts/lock.py --upgrade    # refresh: the newest versions the ranges admit
    python scripts/lock.py --check-installed requirements-lock.txt
                                        # (CI) the active environment holds exactly those pins

It writes, with uv's ``uv pip compile`` (``pip install uv``; it needs PyPI, nothing else),
for CPython 3.11 on Linux x86-64 (manylinux_2_28):

* ``requirements-lock.txt``: every package the book installs, pinned. ``requirements.txt`` keeps
  the human ranges and ends with ``-c requirements-lock.txt``, so the README's
  ``pip install -r requirements.txt`` installs exactly these versions.
* ``requirements-min.txt``: the same ranges with numpy, matplotlib, scikit-learn, faiss-cpu and
  torch held at the lower bounds that ``requirements.txt`` declares (``>=X`` or ``==X`` gives X);
  the rest resolved as usual. The minimum-versions lane of CI (``.ci/run-min``) installs it.
* ``binder/requirements.txt``: its ``name==version`` lines set to the lock's versions (torch
  keeps its ``+cpu`` label: Binder installs the CPU build from PyTorch's own index).

Both locks are constraint files: only names and ``==`` versions, no hashes (the CPU torch wheel
that Binder and the README's hint install is a different file from PyPI's torch, so a hash could
not match both) and no ``-e`` line (dlcore is this checkout).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements-lock.txt"
MIN_LOCK = ROOT / "requirements-min.txt"
BINDER = ROOT / "binder" / "requirements.txt"

COMMAND = "python scripts/lock.py"
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-manylinux_2_28"          # torch 2.13's Linux wheels need glibc 2.28
FLOOR_PACKAGES = ("numpy", "matplotlib", "scikit-learn", "faiss-cpu", "torch")
LOWER_BOUNDS_NAME = "lower-bounds.txt"      # the min lock's constraint file, written to a temp dir
# Present in a venv without being asked for: not part of the lock.
INSTALLER_PACKAGES = {"pip", "setuptools", "wheel", "dlcore"}

LOCK_NOTE = """\
# For CPython {py} on Linux x86-64 ({platform}), resolved by uv {uv} from PyPI.
# {what}
# Do not edit: `python scripts/lock.py` after changing requirements.txt (keeps the other pins),
# `python scripts/lock.py --upgrade` to refresh everything. No hashes: see scripts/lock.py.
# PyPI's torch wheel needs the nvidia-*/cuda-*/triton packages below; the CPU build of torch
# needs none of them, and a constraint alone installs nothing.
"""
WHAT_LOCK = ("Every package that requirements.txt installs, pinned; requirements.txt applies it\n"
             "# as constraints (its last line: -c requirements-lock.txt).")
WHAT_MIN = ("The minimum-versions lane (.ci/run-min): the ranges of requirements.txt with\n"
            "# {floors} held at their lower bounds\n"
            "# (`-c lower-bounds.txt` below, written by scripts/lock.py); the rest resolved as usual.")


# --- reading the files -----------------------------------------------------------------------

def requirement_lines(path: Path = REQUIREMENTS) -> list[str]:
    """The meaningful lines of a requirements file (comments and blank lines dropped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return lines


def ranges(path: Path = REQUIREMENTS) -> dict[str, Requirement]:
    """The named requirements of requirements.txt (not ``-e .``, not options), by canonical name."""
    reqs = {}
    for line in requirement_lines(path):
        if line.startswith("-"):
            continue
        req = Requirement(line)
        reqs[canonicalize_name(req.name)] = req
    return reqs


def pins(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a lock (or any file of ``name==version`` lines)."""
    out = {}
    for line in requirement_lines(path):
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if m:
            out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def lower_bound(req: Requirement) -> str:
    """The version of a requirement's ``>=`` (or ``==``) clause: its declared minimum."""
    bounds = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
    if len(bounds) != 1:
        raise SystemExit(f"requirements.txt: {req} needs exactly one >=, ~= or == clause "
                         f"(its lower bound), found {len(bounds)}")
    return bounds[0]


def floors(path: Path = REQUIREMENTS) -> dict[str, str]:
    """The lower bounds that the minimum-versions lane installs, from requirements.txt."""
    reqs = ranges(path)
    missing = [n for n in FLOOR_PACKAGES if n not in reqs]
    if missing:
        raise SystemExit(f"requirements.txt does not list {missing}")
    return {name: lower_bound(reqs[name]) for name in FLOOR_PACKAGES}


# --- writing the locks -----------------------------------------------------------------------

def uv_command() -> list[str]:
    exe = shutil.which("uv")
    if exe is None:
        try:
            import uv  # the PyPI package ships the binary
            exe = uv.find_uv_bin()
        except ImportError:
            raise SystemExit("scripts/lock.py needs uv: pip install uv") from None
    return [exe]


def compile_lock(out: Path, what: str, constraints: dict[str, str] | None, upgrade: bool) -> None:
    uv = uv_command()
    uv_version = subprocess.run([*uv, "--version"], capture_output=True, text=True,
                                check=True).stdout.split()[1]
    source = [line for line in requirement_lines() if not line.startswith(("-c", "--constraint"))]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "requirements.txt"
        src.write_text("\n".join(source) + "\n", encoding="utf-8")
        cmd = [*uv, "pip", "compile", "--quiet", "--no-config",
               "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
               "--annotation-style", "split", "--no-emit-package", "dlcore",
               "--custom-compile-command", COMMAND, str(src), "-o", str(out)]
        if constraints:
            lb = Path(tmp) / LOWER_BOUNDS_NAME
            lb.write_text("".join(f"{n}=={v}\n" for n, v in constraints.items()), encoding="utf-8")
            cmd += ["-c", str(lb)]
        if upgrade:
            cmd.append("--upgrade")
        # -e . in the source is relative to the working directory: run from the repository root.
        subprocess.run(cmd, cwd=ROOT, check=True)
        text = out.read_text(encoding="utf-8").replace(f"{tmp}/", "")
    # uv's header names the command; the note after it says what the file is for.
    lines = text.splitlines()
    first_pin = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    note = LOCK_NOTE.format(py=PYTHON_VERSION, platform=PLATFORM, uv=uv_version, what=what)
    lines[first_pin:first_pin] = note.splitlines()
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def update_binder(locked: dict[str, str]) -> list[str]:
    """Set binder/requirements.txt's ``name==version`` lines to the lock's versions."""
    changed, lines = [], []
    for line in BINDER.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        if m:
            name = canonicalize_name(m.group(1))
            if name not in locked:
                raise SystemExit(f"binder/requirements.txt pins {name}, which the lock lacks")
            local = Version(m.group(2)).local
            new = locked[name] + (f"+{local}" if local else "")
            if new != m.group(2):
                changed.append(f"binder: {name} {m.group(2)} -> {new}")
            line = f"{m.group(1)}=={new}"
        lines.append(line)
    BINDER.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def diff(old: dict[str, str], new: dict[str, str], label: str) -> list[str]:
    if not old:
        return [f"{label}: new, {len(new)} pins"]
    out = []
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) != new.get(name):
            out.append(f"{label}: {name} {old.get(name, '-')} -> {new.get(name, '-')}")
    return out


def lock(upgrade: bool) -> None:
    fl = floors()
    before = {p: pins(p) if p.exists() else {} for p in (LOCK, MIN_LOCK)}
    compile_lock(LOCK, WHAT_LOCK, None, upgrade)
    floor_text = ", ".join(f"{n} {v}" for n, v in fl.items())
    compile_lock(MIN_LOCK, WHAT_MIN.format(floors=floor_text), fl, upgrade)
    changes = diff(before[LOCK], pins(LOCK), LOCK.name)
    changes += diff(before[MIN_LOCK], pins(MIN_LOCK), MIN_LOCK.name)
    changes += update_binder(pins(LOCK))
    print("\n".join(changes) if changes else "no pin changed")
    print(f"{LOCK.name}: {len(pins(LOCK))} pins; {MIN_LOCK.name}: {len(pins(MIN_LOCK))} pins "
          f"(floors: {floor_text})")


# --- checking an installed environment ---------------------------------------------------------

def check_installed(lock_path: Path) -> int:
    """Compare the running interpreter's distributions with a lock; return an exit status.

    Fails when an installed package has another version than its pin (``==`` semantics, so
    torch 2.13.0+cpu satisfies a pin of 2.13.0), or when something is installed that the lock
    does not pin (it was installed unconstrained). Pins that are not installed are listed only:
    on this platform they are PyPI torch's CUDA packages, which the CPU build does not need.
    """
    locked = pins(lock_path)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = [f"{n} {v} (lock: {locked[n]})" for n, v in sorted(installed.items())
             if n in locked and Version(v).public != Version(locked[n]).public]
    unlocked = [f"{n} {v}" for n, v in sorted(installed.items())
                if n not in locked and n not in INSTALLER_PACKAGES]
    absent = sorted(set(locked) - set(installed))
    same = len(set(locked) & set(installed)) - len(wrong)
    print(f"{lock_path.name}: {same} installed packages at their pinned version; "
          f"{len(absent)} pins not installed ({', '.join(absent) or 'none'})")
    for label, items in (("installed at another version than the lock", wrong),
                         ("installed but not in the lock", unlocked)):
        if items:
            print(f"ERROR {label}: {', '.join(items)}")
    return 1 if wrong or unlocked else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true",
                        help="refresh: newest versions the ranges admit (default: keep pins)")
    parser.add_argument("--check-installed", metavar="LOCK", type=Path,
                        help="compare the active environment with LOCK instead of locking")
    args = parser.parse_args(argv)
    if args.check_installed:
        return check_installed(args.check_installed)
    lock(args.upgrade)
    return 0


if __name__ == "__main__":
    sys.exit(main())
