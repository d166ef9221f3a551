"""tests/offline/sitecustomize.py blocks non-loopback network access in a child Python process
(as .ci/run uses it for the notebook kernels) and keeps loopback and UNIX sockets working."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = ROOT / "tests" / "offline"

CHILD = textwrap.dedent(r'''
    import os, socket, sys, tempfile, time
    import sitecustomize
    assert sitecustomize.__file__.endswith(os.path.join("tests", "offline", "sitecustomize.py")), sitecustomize.__file__
    assert getattr(socket, "DLBOOK_OFFLINE", False), "the patch is not active"

    def blocked(call, what):
        t0 = time.monotonic()
        try:
            call()
        except OSError as e:
            assert str(e).startswith("network access blocked"), (what, e)
        else:
            raise AssertionError(f"{what}: not blocked")
        # raised before any packet: a real attempt to a non-routable address would wait for the timeout
        assert time.monotonic() - t0 < 1.0, (what, time.monotonic() - t0)

    def tcp(family=socket.AF_INET):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(3.0)
        return s

    # non-loopback addresses: every way in
    blocked(lambda: tcp().connect(("10.255.255.1", 80)), "connect 10.255.255.1")
    blocked(lambda: tcp().connect(("93.184.216.34", 80)), "connect 93.184.216.34")
    blocked(lambda: tcp().connect_ex(("93.184.216.34", 80)), "connect_ex")
    blocked(lambda: socket.create_connection(("10.255.255.1", 80), timeout=3), "create_connection")
    blocked(lambda: socket.create_connection(("example.com", 80), timeout=3), "create_connection by name")
    blocked(lambda: socket.getaddrinfo("example.com", 80), "DNS lookup")
    blocked(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53)), "UDP sendto")
    blocked(lambda: tcp().connect(("0.0.0.0", 80)), "connect 0.0.0.0")
    if socket.has_ipv6:
        blocked(lambda: tcp(socket.AF_INET6).connect(("2001:db8::1", 80, 0, 0)), "connect IPv6")
    try:
        import urllib.request
        urllib.request.urlopen("http://10.255.255.1/", timeout=3)
    except OSError as e:   # URLError wraps the OSError
        assert "network access blocked" in str(e), e
    else:
        raise AssertionError("urlopen: not blocked")

    # loopback keeps working: a listening socket on 127.0.0.1
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    c = tcp(); c.connect(("127.0.0.1", port)); a, _ = server.accept(); c.sendall(b"ping"); assert a.recv(4) == b"ping"
    c.close(); a.close()
    assert tcp().connect_ex(("127.0.0.1", port)) == 0
    server.accept()[0].close()
    c = socket.create_connection(("localhost", port), timeout=3); server.accept()[0].close(); c.close()
    socket.getaddrinfo("localhost", port)
    server.close()
    # UNIX sockets too
    if hasattr(socket, "AF_UNIX"):
        path = os.path.join(tempfile.mkdtemp(), "s")
        u = socket.socket(socket.AF_UNIX); u.bind(path); u.listen(1)
        v = socket.socket(socket.AF_UNIX); v.connect(path); u.accept()[0].close(); v.close(); u.close()
    print("OK")
''')


def _run(code, offline=True):
    env = {k: v for k, v in os.environ.items() if k not in ("DLBOOK_OFFLINE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(OFFLINE)
    if offline:
        env["DLBOOK_OFFLINE"] = "1"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_offline_blocks_network_but_not_loopback():
    r = _run(CHILD)
    assert r.returncode == 0 and r.stdout.strip() == "OK", r.stdout + r.stderr


def test_inactive_without_the_environment_variable():
    r = _run("import socket, sitecustomize; print(hasattr(socket, 'DLBOOK_OFFLINE'))", offline=False)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stdout + r.stderr


def test_ci_runs_the_notebooks_offline():
    ci = (ROOT / ".ci" / "run").read_text()
    if "DLBOOK_OFFLINE" not in ci:
        pytest.fail(".ci/run does not run the notebooks with DLBOOK_OFFLINE=1")
    for threads in ("1", "2"):
        assert f"OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}" in ci
