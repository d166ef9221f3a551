"""Notebook kernels forked from one warm process, so that nbval does not pay the start-up per notebook.

Each notebook gets a fresh kernel (nbval's rule, kept): a new process with a clean namespace. A cold
kernel spends a good part of a typical 2-4 s notebook before the notebook's own code runs: the
interpreter and ipykernel start (0.41 s until jupyter_client calls it ready; forked, and without
jupyter_client's closing 0.2 s wait that conftest.py drops, 0.17 s), then ``import torch`` (about
0.8 s), matplotlib and NumPy. Measured on a 2-core AMD EPYC, one BLAS
thread, nothing else running: nbval over the book's 119 notebooks took 430 s with ordinary kernels
and 294 s forked.

Here one *server* process imports those modules once; every kernel is a ``fork()`` of it, in its own
session and process group, and starts with them already in memory (copy-on-write). The server never
runs notebook code, seeds nothing, draws no figure and creates no ZeroMQ context, so a notebook's
own state starts empty. What a forked kernel does inherit, unlike an ordinary one: the preloaded
modules themselves (``sys.modules`` holds SciPy, scikit-learn, sqlite3, pdb, ... whether or not the
notebook imports them); any warning those imports raise is printed once, by the server, not in the
cell that imports them, and the warnings filters they add stay (torch._dynamo adds a "once" filter
for SymPy's deprecation warnings); OpenBLAS's worker threads are re-created by OpenBLAS's own
fork handler; and the kernel ends with ``os._exit`` (no ``atexit`` handlers). Jupyter still starts
one process per kernel, the small *launcher* below: it hands its connection file, working directory,
environment and standard streams to the server, which forks the kernel; the launcher then stands in
for it (it forwards signals such as an interrupt to the kernel and exits with the kernel's exit
status). If Jupyter kills the launcher, the server kills the kernel's process group; if the server
dies, the kernels die with it (Linux's parent-death signal) and new launchers start ordinary
kernels.

    python tests/kernel_fork.py serve SOCKET        # the server (the root conftest.py starts it)
    python tests/kernel_fork.py launch -f CONN.json # what the kernel spec runs instead of ipykernel

Thread counts: NumPy's BLAS and PyTorch read OMP_NUM_THREADS when they load, i.e. in the server, so
the server inherits the environment of the pytest run that starts it (the one kernels would inherit
anyway); a launcher whose load-time variables (LOAD_TIME_ENV below) differ from the server's
silently starts an ordinary kernel instead.

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
# torch._dynamo: PyTorch imports it lazily, the first time a notebook builds a torch.optim optimizer
# (Optimizer.__init__ is wrapped by torch._disable_dynamo) or runs autograd on some paths; ~1 s each
# time, with SymPy and torch.fx. A sampling profile of nbval over the book (py-spy, one BLAS thread,
# AMD EPYC) found ~30 s of the kernels' ~270 s in that import alone.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "psutil",
           "jupyter_client.localinterfaces", "sqlite3", "pdb", "tornado.queues",
           "numpy", "scipy", "torch", "torch._dynamo",
           "matplotlib", "matplotlib.figure", "matplotlib.font_manager",
           "matplotlib.backends.backend_agg")
# Imported when installed: scikit-learn's datasets (dlcore.data.digits imports it, and about 25 of
# the 119 notebooks load the digits: 0.64 s per notebook after the modules above, AMD EPYC) and
# dlcore itself (0.1-0.3 s per notebook; importing it draws no random numbers and sets no state).
PRELOAD_IF_INSTALLED = ("sklearn.datasets", "dlcore")

# Environment variables read once, when a preloaded library loads: a kernel asking for other values
# than the server was started with cannot be forked from it.
LOAD_TIME_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY",
                 "PYTHONPATH", "DLBOOK_OFFLINE", "MPLBACKEND", "PYTHONHASHSEED",
                 # read when NumPy, OpenBLAS, PyTorch and MKL load (tests/reference_numerics.py)
                 "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "ATEN_CPU_CAPABILITY", "MKL_CBWR")

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
    parent = os.getppid()                               # before the imports: pytest may die meanwhile
    server_env = _load_time_env(os.environ)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")   # debugpy's warning at import
    if not os.environ.get("MPLBACKEND"):                # what ipykernel sets before any user code,
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # read on import
    for name in PRELOAD:
        __import__(name)
    for name in PRELOAD_IF_INSTALLED:
        try:
            __import__(name)
        except Exception as e:   # dlcore is the code under test: a broken module must not stop
            # the server (every launcher would wait for it, then start an ordinary kernel); the
            # notebooks import it themselves and report the error
            if not isinstance(e, ImportError):
                print(f"kernel_fork: preloading {name} failed: {e!r}", file=sys.stderr)
            for m in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[m]
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
                conn, fds, request = None, [], None
                try:
                    conn, _ = listener.accept()
                    request, fds = _recv(conn, with_fds=True)
                    if request is not None and _load_time_env(request["env"]) != server_env:
                        _send(conn, {"pid": None})       # the launcher starts a cold kernel
                        request = None
                except (OSError, ValueError):            # a launcher that went away mid-request
                    request = None
                if request is None:
                    for fd in fds:
                        os.close(fd)
                    if conn is not None:
                        conn.close()
                    continue
                pid = os.fork()
                if pid == 0:                             # the kernel
                    listener.close()
                    for c in children.values():
                        c.close()
                    conn.close()
                    _become_kernel(request, fds, os.getppid())   # never returns
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                try:
                    _send(conn, {"pid": pid})
                except OSError:                          # its launcher is gone: so is the kernel
                    _kill(pid)
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
    """SIGKILL to the kernel's process group (the kernel and what it started), as Jupyter's
    shutdown does for an ordinary kernel."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _die_with(server_pid: int) -> None:
    """Linux: SIGKILL this process when its parent (the server) dies, whoever reaps it then."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)           # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != server_pid:                       # it died before prctl took effect
        os._exit(1)


def _become_kernel(request: dict, fds: list[int], server_pid: int) -> None:
    code = 1
    try:
        os.setsid()        # its own session and process group, like an ordinary kernel: an
        _die_with(server_pid)  # interrupt or kill reaches its subprocesses, pytest's Ctrl-C does not
        for target, fd in zip((0, 1, 2), fds):           # the launcher's stdin, stdout, stderr
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        del sys.path[0]      # this script's directory; ipykernel_launcher removes the cwd the
                             # same way, and IPython adds '' back (InteractiveShellApp.init_path)
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
    # The socket appears once the server has imported everything (a few seconds); a refused
    # connection means the server is gone: then, or after 20 s (well inside nbval's 60 s
    # start-up limit), an ordinary kernel.
    deadline = time.monotonic() + 20
    while True:
        try:
            sock.connect(path)
            break
        except FileNotFoundError:
            if time.monotonic() > deadline:
                _cold(args)
            time.sleep(0.02)
        except OSError:
            _cold(args)
    try:
        _send(sock, {"cwd": os.getcwd(), "env": dict(os.environ), "args": args,
                     "argv0": sys.argv[0]}, fds=(0, 1, 2))
        reply = _recv(sock)
    except (OSError, ValueError):
        reply = None
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
