"""Notebook kernels forked from one warm process, so that nbval does not pay the start-up per notebook.

Each notebook gets a fresh kernel (nbval's rule, kept): a new process with a clean namespace. A cold
kernel spends ~1.3 s of a typical 2-4 s notebook before the first line of the notebook's own code
runs: the interpreter and ipykernel start (~0.4 s), then ``import torch`` (~0.7 s), matplotlib and
NumPy. With 119 notebooks and two nbval passes in CI that is ~5 minutes of imports.

Here one *server* process imports those modules once; every kernel is a ``fork()`` of it and starts
with them already in memory (copy-on-write), nothing else carried over: the server never runs a
notebook, never seeds anything, never draws a figure, never creates a ZeroMQ context or a thread pool
of its own. Jupyter still starts one process per kernel, the small *launcher* below: it hands its
connection file, working directory, environment and standard streams to the server, which forks the
kernel; the launcher then stands in for it (it forwards signals such as an interrupt to the kernel
and exits with the kernel's exit status; if Jupyter kills the launcher, the server kills the
kernel).

    python tests/kernel_fork.py serve SOCKET        # the server (the root conftest.py starts it)
    python tests/kernel_fork.py launch -f CONN.json # what the kernel spec runs instead of ipykernel

Thread counts: NumPy's BLAS and PyTorch read OMP_NUM_THREADS when they load, i.e. in the server, so
the server inherits the environment of the pytest run that starts it (the one kernels would inherit
anyway); a launcher whose thread variables differ from the server's starts a cold kernel instead.

Switched off with DLBOOK_FORK_KERNELS=0 (then nbval starts ordinary ``ipykernel_launcher`` kernels).
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
import time

# Modules every kernel would import anyway (ipykernel itself, NumPy, PyTorch, matplotlib's figure
# and font machinery). pyplot is left out on purpose: importing it picks the plotting backend, which
# must happen inside the kernel (where ipykernel selects the inline backend).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "psutil",
           "jupyter_client.localinterfaces", "sqlite3", "pdb", "tornado.queues",
           "numpy", "scipy", "torch",
           "matplotlib", "matplotlib.figure", "matplotlib.font_manager",
           "matplotlib.backends.backend_agg")

# Environment variables read once, when a preloaded library loads: a kernel asking for other values
# than the server was started with cannot be forked from it.
LOAD_TIME_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "PYTHONPATH", "DLBOOK_OFFLINE", "MPLBACKEND", "PYTHONHASHSEED")

_HEADER = struct.Struct("!I")


def _send(sock: socket.socket, obj, fds=()) -> None:
    data = json.dumps(obj).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], list(fds))
    else:
        sock.sendall(payload)


def _recv(sock: socket.socket, with_fds: bool = False):
    """One message (and the file descriptors sent with it); None when the peer closed."""
    fds: list[int] = []
    if with_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 3)
    else:
        data = sock.recv(1 << 20)
    if not data:
        return (None, fds) if with_fds else None
    while len(data) < _HEADER.size or len(data) < _HEADER.size + _HEADER.unpack_from(data)[0]:
        more = sock.recv(1 << 20)
        if not more:
            return (None, fds) if with_fds else None
        data += more
    n = _HEADER.unpack_from(data)[0]
    obj = json.loads(data[_HEADER.size:_HEADER.size + n])
    return (obj, fds) if with_fds else obj


def _load_time_env(env) -> dict:
    return {k: env.get(k) for k in LOAD_TIME_ENV}


# ----------------------------------------------------------------------------------------- server
def serve(path: str) -> None:
    server_env = _load_time_env(os.environ)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")   # debugpy's warning at import
    if not os.environ.get("MPLBACKEND"):                # what ipykernel sets before any user code,
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # read on import
    for name in PRELOAD:
        __import__(name)
    parent = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # pytest's Ctrl-C is pytest's to handle
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(16)
    os.rename(path + ".tmp", path)                      # the socket appears only once we are ready
    children: dict[int, socket.socket] = {}             # kernel pid -> its launcher's connection
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, stop)

    while not stopping and os.getppid() == parent:
        conns = {c.fileno(): (pid, c) for pid, c in children.items()}
        try:
            ready, _, _ = select.select([listener, *[c for _, c in conns.values()]], [], [], 0.2)
        except InterruptedError:
            continue
        for r in ready:
            if r is listener:
                conn, _ = listener.accept()
                request, fds = _recv(conn, with_fds=True)
                if request is None or _load_time_env(request["env"]) != server_env:
                    _send(conn, {"pid": None})           # the launcher starts a cold kernel
                    conn.close()
                    for fd in fds:
                        os.close(fd)
                    continue
                pid = os.fork()
                if pid == 0:                             # the kernel
                    listener.close()
                    for c in children.values():
                        c.close()
                    conn.close()
                    _become_kernel(request, fds)         # never returns
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                _send(conn, {"pid": pid})
            else:                                        # a launcher went away: so does its kernel
                pid, conn = conns[r.fileno()]
                try:
                    gone = not conn.recv(1, socket.MSG_PEEK)
                except OSError:
                    gone = True
                if gone:
                    _kill(pid)
        while children:                                  # reap kernels, report their exit status
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                try:
                    _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass
                conn.close()
    for pid in children:
        _kill(pid)
    listener.close()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _become_kernel(request: dict, fds: list[int]) -> None:
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds):           # the launcher's stdin, stdout, stderr
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]                     # as for `python -m ipykernel_launcher`
        sys.argv = [request["argv0"], *request["args"]]
        args = list(request["args"])
        if os.environ.get("JPY_PARENT_PID"):             # ipykernel read it on import, in the server
            args.insert(0, f"--IPKernelApp.parent_handle={int(os.environ['JPY_PARENT_PID'])}")
        from ipykernel import kernelapp
        kernelapp.launch_new_instance(argv=args)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 -- the forked child must reach os._exit, whatever failed
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# --------------------------------------------------------------------------------------- launcher
def _cold(args: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *args])


def launch(args: list[str]) -> None:
    path = os.environ.get("DLBOOK_KERNEL_SERVER")
    if not path:
        _cold(args)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + 60                     # the server may still be importing
    while True:
        try:
            sock.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                _cold(args)
            time.sleep(0.02)
    _send(sock, {"cwd": os.getcwd(), "env": dict(os.environ), "args": args,
                 "argv0": sys.argv[0]}, fds=(0, 1, 2))
    reply = _recv(sock)
    if not reply or reply.get("pid") is None:
        sock.close()
        _cold(args)
    pid = reply["pid"]

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                signal.SIGUSR2):
        signal.signal(sig, forward)
    while True:
        try:
            msg = _recv(sock)
            break
        except InterruptedError:
            continue
    code = msg.get("exit", 1) if msg else 1
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["launch"]:
        launch(sys.argv[2:])
    else:
        sys.exit(__doc__)
