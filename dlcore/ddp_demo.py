"""Data parallelism on the real engine: ``torch.distributed`` (gloo, CPU) in separate processes.

``run(configs)`` starts one worker process per rank (``python -m dlcore.ddp_demo --worker``),
bound to the loopback interface only (``GLOO_SOCKET_IFNAME=lo``, a file rendezvous in a
temporary directory: no TCP port to choose, nothing leaves the machine), waits for them with
a timeout, kills every worker that is still running when it returns (normally, on a timeout
or on an error), and returns what the workers measured. Every worker builds the same seeded
problem (``make_problem``: a 2-layer tanh MLP in float64 with dlcore's parameter layout, a
regression data set), takes its own shard of the batch, and for each configuration (a tuple
of shard sizes, one per rank) computes:

* ``local``: its gradient on its shard alone, no communication (the mean loss of the shard);
* ``allreduced``: ``dist.all_reduce`` (sum) of its flattened ``local`` gradient;
* ``ddp_mean``: the gradient after ``DistributedDataParallel``'s backward, each rank's loss the
  mean over its own shard (DDP then averages the ranks' gradients);
* ``ddp_global``: the same with each rank's loss ``sum over its shard * world_size / N``,
  which makes DDP's average the full-batch mean for any shard sizes.

``reference_gradient(problem, rows)`` is the single-process gradient of the mean loss over the
given rows, computed with dlcore in NumPy. From the command line,
``python -m dlcore.ddp_demo`` runs the default configurations and prints a summary.

PyTorch is needed only in the workers (and imported there); this module itself imports NumPy.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._validate import as_float_array, check_int, check_positive

__all__ = ["make_problem", "reference_gradient", "flatten", "run"]

PARAM_NAMES = ("0.W", "0.b", "2.W", "2.b")


def make_problem(seed=0, n=16, d_in=4, hidden=8):
    """The seeded problem every worker rebuilds: ``X`` (n, d_in), targets ``y`` (n, 1) and
    the parameters of ``Linear(d_in, hidden) -> Tanh -> Linear(hidden, 1)`` as a dict in
    dlcore's layout (``"0.W"`` of shape (d_in, hidden), ...)."""
    seed = check_int(seed, "seed", min_value=0)
    n = check_int(n, "n", min_value=1)
    d_in = check_int(d_in, "d_in", min_value=1)
    hidden = check_int(hidden, "hidden", min_value=1)
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, d_in))
    y = np.sin(X.sum(axis=1, keepdims=True)) + 0.1 * g.standard_normal((n, 1))
    params = {"0.W": g.standard_normal((d_in, hidden)) / np.sqrt(d_in),
              "0.b": 0.1 * g.standard_normal(hidden),
              "2.W": g.standard_normal((hidden, 1)) / np.sqrt(hidden),
              "2.b": np.zeros(1)}
    return {"X": X, "y": y, "params": params, "seed": seed}


def _check_problem(problem):
    if not isinstance(problem, dict) or not {"X", "y", "params"} <= set(problem):
        raise ValueError("problem: expected the dict returned by make_problem")
    return problem


def reference_gradient(problem, rows=None):
    """Gradient of the mean squared error over ``rows`` (default: all) with respect to the
    parameters, by dlcore's layers in NumPy: a dict with the keys of ``problem["params"]``."""
    from . import layers, losses                   # imported here: layers are not needed above

    problem = _check_problem(problem)
    X, y = problem["X"], problem["y"]
    if rows is not None:
        rows = np.asarray(rows)
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer) or rows.size == 0 \
                or rows.min() < 0 or rows.max() >= len(X):
            raise ValueError(f"rows: expected a non-empty 1-D array of row indices in "
                             f"[0, {len(X) - 1}], got {rows!r}")
        X, y = X[rows], y[rows]
    p = problem["params"]
    net = layers.Sequential(layers.Linear(*p["0.W"].shape), layers.Tanh(),
                            layers.Linear(*p["2.W"].shape))
    for key, value in p.items():
        i, name = key.split(".")
        net.layers[int(i)].params[name] = value.copy()
    _, dout = losses.mse(net.forward(X), y)
    net.backward(dout)
    return {k: v.copy() for k, v in net.grads.items()}


def flatten(grads) -> np.ndarray:
    """The gradients of ``PARAM_NAMES`` concatenated into one vector (what DDP's buckets and
    an all-reduce work on)."""
    if not isinstance(grads, dict) or set(grads) != set(PARAM_NAMES):
        raise ValueError(f"grads: expected a dict with keys {list(PARAM_NAMES)}")
    return np.concatenate([as_float_array(grads[k], f"grads[{k!r}]").ravel() for k in PARAM_NAMES])


# ------------------------------------------------------------------------------ the worker

def _worker(rank, world, init, configs, seed, out):
    import datetime

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=60))
    problem = make_problem(seed)
    X = torch.tensor(problem["X"], dtype=torch.float64)
    y = torch.tensor(problem["y"], dtype=torch.float64)

    def model():
        net = torch.nn.Sequential(torch.nn.Linear(*problem["params"]["0.W"].shape),
                                  torch.nn.Tanh(),
                                  torch.nn.Linear(*problem["params"]["2.W"].shape)).double()
        with torch.no_grad():
            for i in (0, 2):
                net[i].weight.copy_(torch.tensor(problem["params"][f"{i}.W"].T))
                net[i].bias.copy_(torch.tensor(problem["params"][f"{i}.b"]))
        return net

    def grads_of(net):
        return {f"{i}.{k}": (net[i].weight.grad.numpy().T.copy() if k == "W"
                             else net[i].bias.grad.numpy().copy())
                for i in (0, 2) for k in ("W", "b")}

    results = {}
    for c, sizes in enumerate(configs):
        n_used = sum(sizes)
        start = sum(sizes[:rank])
        rows = slice(start, start + sizes[rank])
        xs, ys = X[rows], y[rows]
        net = model()                                       # local gradient, no communication
        torch.nn.functional.mse_loss(net(xs), ys).backward()
        local = grads_of(net)
        flat = torch.tensor(flatten(local))
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        results[f"{c}/local"] = flatten(local)
        results[f"{c}/allreduced"] = flat.numpy().copy()
        for kind in ("mean", "global"):
            inner = model()
            ddp = DDP(inner)
            out_ = ddp(xs)
            if kind == "mean":
                loss = torch.nn.functional.mse_loss(out_, ys)
            else:
                loss = ((out_ - ys) ** 2).sum() * world / (n_used * out_.shape[1])
            loss.backward()
            results[f"{c}/ddp_{kind}"] = flatten(grads_of(inner))
    np.savez(Path(out) / f"rank{rank}.npz", **results)
    dist.barrier()
    dist.destroy_process_group()


# ------------------------------------------------------------------------------ the launcher

def _check_configs(configs):
    if not isinstance(configs, (list, tuple)) or not configs:
        raise ValueError(f"configs: expected a non-empty list of tuples of shard sizes, got {configs!r}")
    out = []
    for c, sizes in enumerate(configs):
        if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
            raise ValueError(f"configs[{c}]: expected a tuple of at least 2 shard sizes "
                             f"(one per rank), got {sizes!r}")
        out.append(tuple(check_int(s, f"configs[{c}][{r}]", min_value=1) for r, s in enumerate(sizes)))
    if len({len(s) for s in out}) != 1:
        raise ValueError(f"configs: expected the same number of ranks in every configuration, got {out}")
    return out


def _kill(procs):
    for p in procs:
        if p.poll() is None:
            try:
                if hasattr(os, "killpg"):
                    os.killpg(p.pid, signal.SIGKILL)
                else:                                   # pragma: no cover - not POSIX
                    p.kill()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:             # pragma: no cover
            pass


def run(configs, *, seed=0, timeout=120.0):
    """Run the workers (one process per rank) on each configuration of shard sizes.

    ``configs``: e.g. ``[(8, 8), (12, 4)]``, the same number of ranks in each, and the sizes
    of a configuration summing to at most ``n`` = 16 (the rows of ``make_problem``). Returns
    ``{"results": [per configuration: {"local", "allreduced", "ddp_mean", "ddp_global"}: a list
    of one vector per rank], "seconds": wall time, "world_size": p}``. Raises ``RuntimeError``
    (with the end of the workers' stderr) if a worker fails and ``TimeoutError`` after
    ``timeout`` seconds; in every case no worker process is left running."""
    configs = _check_configs(configs)
    seed = check_int(seed, "seed", min_value=0)
    timeout = check_positive(timeout, "timeout")
    n = len(make_problem(seed)["X"])
    for c, sizes in enumerate(configs):
        if sum(sizes) > n:
            raise ValueError(f"configs[{c}]: expected shard sizes summing to at most {n}, got {sizes}")
    world = len(configs[0])
    tmp = tempfile.mkdtemp(prefix="dlcore-ddp-")
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    env["MASTER_ADDR"] = "127.0.0.1"
    env["OMP_NUM_THREADS"] = "1"
    spec = ";".join(",".join(map(str, s)) for s in configs)
    init = "file://" + os.path.join(tmp, "rendezvous")
    procs, logs = [], []
    start = time.perf_counter()
    try:
        for r in range(world):
            log = open(os.path.join(tmp, f"rank{r}.log"), "w+b")
            logs.append(log)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dlcore.ddp_demo", "--worker", str(r), str(world), init,
                 spec, str(seed), tmp], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
        deadline = start + timeout
        while any(p.poll() is None for p in procs):
            failed = [r for r, p in enumerate(procs) if p.poll() not in (None, 0)]
            if failed or time.perf_counter() > deadline:
                _kill(procs)
                tails = []
                for r, log in enumerate(logs):
                    log.seek(0)
                    tails.append(f"rank {r}: " + log.read().decode(errors="replace")[-1500:])
                if failed:
                    raise RuntimeError(f"ddp_demo: worker(s) {failed} failed\n" + "\n".join(tails))
                raise TimeoutError(f"ddp_demo: workers still running after {timeout:g} s; killed\n"
                                   + "\n".join(tails))
            time.sleep(0.05)
        bad = [r for r, p in enumerate(procs) if p.returncode != 0]
        if bad:
            logs[bad[0]].seek(0)
            raise RuntimeError(f"ddp_demo: worker(s) {bad} failed\n"
                               + logs[bad[0]].read().decode(errors="replace")[-1500:])
        data = [np.load(os.path.join(tmp, f"rank{r}.npz")) for r in range(world)]
        results = [{k: [data[r][f"{c}/{k}"].copy() for r in range(world)]
                    for k in ("local", "allreduced", "ddp_mean", "ddp_global")}
                   for c in range(len(configs))]
        return {"results": results, "seconds": time.perf_counter() - start, "world_size": world}
    finally:
        _kill(procs)
        for log in logs:
            log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _main(argv):
    if argv and argv[0] == "--worker":
        rank, world, init, spec, seed, out = argv[1:7]
        configs = [tuple(int(s) for s in c.split(",")) for c in spec.split(";")]
        _worker(int(rank), int(world), init, configs, int(seed), out)
        return 0
    problem = make_problem(0)
    res = run([(8, 8), (12, 4)])
    for sizes, r in zip([(8, 8), (12, 4)], res["results"]):
        full = flatten(reference_gradient(problem, np.arange(sum(sizes))))
        for kind in ("ddp_mean", "ddp_global"):
            err = max(float(np.abs(g - full).max()) for g in r[kind])
            print(f"shards {sizes}: {kind:10s} max |DDP - full batch| = {err:.1e}")
    print(f"{res['world_size']} processes, {res['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
