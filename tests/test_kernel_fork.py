"""The forked notebook kernels (tests/kernel_fork.py) behave like ordinary ones where nbval looks.

Each check would fail with a kernel that leaks state from the server or from the previous kernel,
runs in the wrong directory or environment, loses inline figures, ignores an interrupt, or
outlives its launcher.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("forked kernels are used on Linux only (conftest.py)", allow_module_level=True)
jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

FORK = Path(__file__).resolve().parent / "kernel_fork.py"


class _Specs(KernelSpecManager):
    def get_kernel_spec(self, kernel_name):
        return KernelSpec(argv=[sys.executable, str(FORK), "launch", "-f", "{connection_file}"],
                          display_name="forked", language="python")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("forkserver") / "s.sock")
    proc = subprocess.Popen([sys.executable, str(FORK), "serve", path])
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield path
    proc.terminate()
    proc.wait(10)
    assert not os.path.exists(path)


def _start(server, cwd, **env):
    km = jupyter_client.KernelManager(kernel_name="forked", kernel_spec_manager=_Specs())
    km.start_kernel(cwd=str(cwd), env={**os.environ, "DLBOOK_KERNEL_SERVER": server, **env})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def _run(kc, code, timeout=30):
    """(reply content, text/plain results and stream text, MIME types of display_data)."""
    out, mimes = [], []

    def hook(msg):
        c = msg["content"]
        if msg["msg_type"] == "stream":
            out.append(c["text"])
        elif msg["msg_type"] == "execute_result":
            out.append(c["data"]["text/plain"])
        elif msg["msg_type"] == "display_data":
            mimes.extend(c["data"])
    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout)
    return reply["content"], "".join(out), mimes


def _stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _gone(pid, within=5.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:                       # a zombie child of ours would still answer signal 0
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_forked_kernel_is_warm_fresh_and_in_its_directory(server, tmp_path):
    km, kc = _start(server, tmp_path, DLBOOK_MARKER="first")
    try:
        _, text, _ = _run(kc, "import sys, os\n"
                              "print('torch' in sys.modules, os.getcwd(), os.environ['DLBOOK_MARKER'])\n"
                              "leak = 1")
        assert text.split() == ["True", str(tmp_path), "first"]   # preloaded, cwd, environment
        content, _, mimes = _run(kc, "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()")
        assert content["status"] == "ok" and "image/png" in mimes     # the inline backend
    finally:
        _stop(km, kc)
    km, kc = _start(server, tmp_path, DLBOOK_MARKER="second")
    try:
        _, text, _ = _run(kc, "import os\nprint('leak' in globals(), os.environ['DLBOOK_MARKER'])")
        assert text.split() == ["False", "second"]                   # nothing carried over
    finally:
        _stop(km, kc)


def test_interrupt_reaches_the_kernel_and_a_killed_launcher_takes_it_along(server, tmp_path):
    km, kc = _start(server, tmp_path)
    try:
        _, text, _ = _run(kc, "import os\nprint(os.getpid())")
        kernel_pid = int(text)
        assert kernel_pid != km.provisioner.process.pid              # forked, not the launcher
        msg_id = kc.execute("import time\nprint('asleep', flush=True)\ntime.sleep(60)")
        while True:                      # interrupt only once the cell runs (ipykernel ignores
            msg = kc.get_iopub_msg(timeout=30)    # SIGINT between requests)
            if msg["msg_type"] == "stream" and "asleep" in msg["content"]["text"]:
                break
        time.sleep(0.1)
        t0 = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "KeyboardInterrupt" and time.monotonic() - t0 < 5
    finally:
        kc.stop_channels()
        km.provisioner.process.send_signal(signal.SIGKILL)          # what shutdown(now=True) does
        km.shutdown_kernel(now=True)
    assert _gone(kernel_pid)


def test_other_thread_settings_get_a_cold_kernel(server, tmp_path):
    """BLAS reads OMP_NUM_THREADS when NumPy loads: the server cannot serve other values."""
    other = "3" if os.environ.get("OMP_NUM_THREADS") != "3" else "4"
    km, kc = _start(server, tmp_path, OMP_NUM_THREADS=other)
    try:
        _, text, _ = _run(kc, "import sys, os\nprint('torch' in sys.modules, os.environ['OMP_NUM_THREADS'])")
        assert text.split() == ["False", other]
    finally:
        _stop(km, kc)


def test_a_dead_server_means_ordinary_kernels_at_once(tmp_path):
    """A launcher whose server has died (its socket left behind) starts an ordinary kernel
    without waiting; a kernel forked before the death dies with the server."""
    path = str(tmp_path / "s.sock")
    proc = subprocess.Popen([sys.executable, str(FORK), "serve", path])
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    km, kc = _start(path, tmp_path)
    try:
        _, text, _ = _run(kc, "import os\nprint(os.getpid())")
        forked_pid = int(text)
    finally:
        kc.stop_channels()
    proc.kill()
    proc.wait(10)
    assert os.path.exists(path)                     # SIGKILL: the socket file stays behind
    assert _gone(forked_pid)
    km.shutdown_kernel(now=True)
    t0 = time.monotonic()
    km2, kc2 = _start(path, tmp_path)
    try:
        _, text, _ = _run(kc2, "import sys\nprint('torch' in sys.modules)")
        assert text.split() == ["False"] and time.monotonic() - t0 < 15
    finally:
        _stop(km2, kc2)
