"""pytest set-up shared by the unit tests and the notebooks (nbval).

``--shard K/N`` keeps one share of the collected tests, ``--shard 1,3/4`` the union of two: CI
splits the browser test of the website into unequal shares for its two parallel streams. Tests
are dealt out by *group*: the tests of a module with ``GROUP_BY_PAGE = True`` that load the same
page (their ``path`` or ``chapter`` parameter) form one group, run one after another (so that the
module's tab can go on to the next page once they are done) and stay in one share (so that no
page is loaded twice); every other test is a group of its own. Group g (counted from 0 in
collection order) is in share K when g % N == K - 1.

When the run collects notebooks, their kernels are forked from one warm process that has already
imported ipykernel, NumPy, PyTorch, matplotlib, scikit-learn and dlcore (tests/kernel_fork.py
explains how and why); each notebook still gets a fresh kernel process with a clean namespace.
Linux only; DLBOOK_FORK_KERNELS=0 switches it off there too, and nbval starts ordinary kernels.

Before anything starts a kernel, the environment gets the reference numerics of
tests/reference_numerics.py (on x86-64 with AVX2: the AVX2 code paths of OpenBLAS, NumPy and
PyTorch, unless the environment sets them): the stored outputs of a few cells depend on them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent / "tests"
_FORK = _TESTS / "kernel_fork.py"
sys.path.insert(0, str(_TESTS))
import reference_numerics  # (tests/ is not a package)

sys.path.remove(str(_TESTS))
_NUMERICS = reference_numerics.apply()    # now: kernels and the kernel server inherit it
_server: subprocess.Popen | None = None
_tmpdir: tempfile.TemporaryDirectory | None = None


def _nbval_items(items) -> bool:
    return any(type(item).__module__.startswith("nbval") for item in items)


def pytest_report_header(config):
    return _NUMERICS


def pytest_addoption(parser):
    parser.addoption("--shard", default=None, metavar="K/N",
                     help="keep share K of N of the collected tests, dealt out by group (the "
                          "tests of one page in a GROUP_BY_PAGE module, else each test alone; "
                          "not for notebooks, whose cells would be split); K may be a list: 1,3/4")


def _page(item):
    """The page a GROUP_BY_PAGE module's test loads, or None."""
    if not getattr(getattr(item, "module", None), "GROUP_BY_PAGE", False):
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "path" in params:
        return params["path"]
    if "chapter" in params:
        return f"notebooks/{params['chapter']}.html"
    return None


def _groups(items) -> list[int]:
    """Each item's group number, by first appearance (see the module docstring)."""
    first: dict = {}
    out = []
    for i, item in enumerate(items):
        page = _page(item)
        key = ("page", item.module.__name__, page) if page is not None else ("item", i)
        out.append(first.setdefault(key, len(first)))
    return out


def _group_by_page(items) -> None:
    """Stable sort: the tests of one page together, at the place of the page's first test."""
    order = _groups(items)
    items[:] = [item for _, item in sorted(zip(order, items), key=lambda pair: pair[0])]


def _shard(config, items) -> None:
    value = config.getoption("--shard")
    if not value:
        return
    try:
        ks, n = value.split("/")
        n = int(n)
        ks = {int(k) - 1 for k in ks.split(",")}
    except ValueError:
        raise pytest.UsageError(f"--shard expects K/N or K,K,.../N with integers, got {value!r}") from None
    if not all(0 <= k < n for k in ks):
        raise pytest.UsageError(f"--shard K/N needs 1 <= K <= N, got {value!r}")
    groups = _groups(items)
    keep = [item for g, item in zip(groups, items) if g % n in ks]
    dropped = [item for g, item in zip(groups, items) if g % n not in ks]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_collection_modifyitems(session, config, items):
    global _server, _tmpdir
    _group_by_page(items)
    _shard(config, items)
    if os.environ.get("DLBOOK_FORK_KERNELS", "1") == "0" or not _nbval_items(items):
        return
    if not sys.platform.startswith("linux"):
        # fork() after importing PyTorch and matplotlib is unsafe on macOS (system frameworks)
        # and absent on Windows: ordinary kernels there
        return
    import nbval.kernel

    _tmpdir = tempfile.TemporaryDirectory(prefix="dlbook-kernels-")
    path = os.path.join(_tmpdir.name, "server.sock")
    # The server starts now and imports in the background while the unit tests (if any) run.
    _server = subprocess.Popen([sys.executable, str(_FORK), "serve", path], stdin=subprocess.DEVNULL)
    os.environ["DLBOOK_KERNEL_SERVER"] = path         # inherited by every kernel launcher

    base = nbval.kernel.NbvalKernelspecManager.get_kernel_spec

    def get_kernel_spec(self, kernel_name):
        spec = base(self, kernel_name)
        if kernel_name == nbval.kernel.CURRENT_ENV_KERNEL_NAME:
            spec.argv = [sys.executable, str(_FORK), "launch", "-f", "{connection_file}"]
        return spec

    nbval.kernel.NbvalKernelspecManager.get_kernel_spec = get_kernel_spec
    nbval.kernel.start_new_kernel = _start_new_kernel


def _start_new_kernel(startup_timeout=60, kernel_name="python", **kwargs):
    """nbval's start_new_kernel without jupyter_client's closing 0.2 s wait for more IOPub messages.

    ``KernelClient.wait_for_ready`` checks that the kernel answers a kernel_info request and that
    IOPub delivers (its first message comes within milliseconds), then reads IOPub until nothing has
    arrived for 0.2 s: a fixed 0.2 s per notebook. The first two are kept here; the last is not
    needed, because nbval reads every later IOPub message by its parent id (RunningKernel checks
    IOPub once more with a kernel_info of its own), so start-up messages cannot leak into a cell.
    """
    import time
    from queue import Empty

    import nbval.kernel
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=kernel_name,
                       kernel_spec_manager=nbval.kernel.NbvalKernelspecManager())
    km.start_kernel(**kwargs)
    kc = km.client()
    kc.start_channels()
    deadline = time.monotonic() + startup_timeout
    try:
        while True:
            msg_id = kc.kernel_info()
            try:
                while kc.get_shell_msg(timeout=1)["parent_header"].get("msg_id") != msg_id:
                    pass
                kc.get_iopub_msg(timeout=0.2)   # IOPub is connected (else ask again), as
                return km, kc                   # jupyter_client checks: a message arrives at once
            except Empty:
                pass
            if not km.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {startup_timeout} seconds")
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel()
        raise


def pytest_unconfigure(config):
    global _server, _tmpdir
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()
            _server.wait()
        _server = None
    os.environ.pop("DLBOOK_KERNEL_SERVER", None)
    if _tmpdir is not None:
        _tmpdir.cleanup()
        _tmpdir = None
