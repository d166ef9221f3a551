"""dlcore.optim against torch.optim, step for step (float64)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from dlcore import optim, layers as L, losses
from conftest import to_torch, to_numpy, torch_linear_from

N_STEPS = 40
RTOL, ATOL = 1e-12, 1e-15
SHAPES = {"W": (3, 4), "b": (4,), "K": (2, 2, 3), "s": ()}

# (dlcore class, torch class, kwargs for both; dlcore name -> torch name for differing keys)
CASES = {
    "sgd": (optim.SGD, torch.optim.SGD, dict(lr=0.05)),
    "sgd_momentum": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_momentum_dampening": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd_nesterov": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True)),
    "sgd_weight_decay": (optim.SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.1)),
    "sgd_momentum_wd": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "sgd_nesterov_wd": (optim.SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.05)),
    "sgd_all_but_nesterov": (optim.SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.5, dampening=0.5, weight_decay=0.05)),
    "adagrad": (optim.AdaGrad, torch.optim.Adagrad, dict()),
    "adagrad_lr_eps": (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, eps=1e-6)),
    "adagrad_wd": (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, weight_decay=0.1)),
    "rmsprop": (optim.RMSProp, torch.optim.RMSprop, dict()),
    "rmsprop_alpha_eps": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, alpha=0.9, eps=1e-6)),
    "rmsprop_momentum": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, momentum=0.9)),
    "rmsprop_centered": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, centered=True)),
    "rmsprop_wd": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, weight_decay=0.1)),
    "rmsprop_centered_momentum_wd": (optim.RMSProp, torch.optim.RMSprop,
                                     dict(lr=0.005, alpha=0.95, momentum=0.7, centered=True, weight_decay=0.05)),
    "adam": (optim.Adam, torch.optim.Adam, dict()),
    "adam_lr_betas_eps": (optim.Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    "adam_wd": (optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    "adamw": (optim.AdamW, torch.optim.AdamW, dict()),
    "adamw_wd": (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "adamw_betas": (optim.AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.5, 0.9), eps=1e-7, weight_decay=0.3)),
    "adamw_no_wd": (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.0)),
}


def make_params(seed=0):
    g = np.random.default_rng(seed)
    return {k: g.standard_normal(s) for k, s in SHAPES.items()}


def random_grads(seed=1, n=N_STEPS):
    g = np.random.default_rng(seed)
    # different scales per step (and a few exact zeros) so eps and bias corrections matter
    out = []
    for t in range(n):
        gr = {k: g.standard_normal(s) * (10.0 ** g.integers(-3, 2)) for k, s in SHAPES.items()}
        if t % 7 == 3:
            gr["b"][0] = 0.0
        out.append(gr)
    return out


def quadratic_grad(params, curv, target):
    """Gradient of sum_k 0.5 * curv_k * (p_k - target_k)^2 (works for arrays and tensors)."""
    return {k: curv[k] * (params[k] - target[k]) for k in params}


def run_pair(case, mode, n=N_STEPS, record=False):
    cls, tcls, kw = CASES[case]
    params = make_params()
    tparams = {k: torch.nn.Parameter(to_torch(v)) for k, v in params.items()}
    opt = cls(**kw, record=record)
    topt = tcls(list(tparams.values()), **kw)
    ids = {k: id(v) for k, v in params.items()}
    g = np.random.default_rng(7)
    curv = {k: g.uniform(0.1, 3.0, s) for k, s in SHAPES.items()}
    target = {k: g.standard_normal(s) for k, s in SHAPES.items()}
    fixed = random_grads()
    tstates = []
    for t in range(n):
        if mode == "random":
            grads, tgrads = fixed[t], {k: to_torch(v) for k, v in fixed[t].items()}
        else:
            grads = quadratic_grad(params, curv, target)
            with torch.no_grad():
                tgrads = quadratic_grad({k: p.detach() for k, p in tparams.items()},
                                        {k: to_torch(v) for k, v in curv.items()},
                                        {k: to_torch(v) for k, v in target.items()})
        for k, p in tparams.items():
            p.grad = tgrads[k].clone()
        topt.step()
        opt.step(params, grads)
        for k in params:
            assert_allclose(params[k], to_numpy(tparams[k]), rtol=RTOL, atol=ATOL, err_msg=f"{case} step {t + 1} {k}")
        tstates.append({k: {sk: (to_numpy(sv) if torch.is_tensor(sv) else sv) for sk, sv in topt.state[tparams[k]].items()}
                        for k in params})
    assert {k: id(v) for k, v in params.items()} == ids, "parameters must be updated in place"
    return opt, params, tparams, tstates


@pytest.mark.parametrize("mode", ["random", "quadratic"])
@pytest.mark.parametrize("case", CASES)
def test_optimizer_matches_torch(case, mode):
    opt, params, tparams, _ = run_pair(case, mode)
    for k in params:
        assert opt.state[k]["step"] == N_STEPS
    if mode == "quadratic" and CASES[case][2].get("weight_decay", 0) == 0 and case not in ("adagrad",):
        # sanity: the optimizer actually made progress on the quadratic (not a trivially-passing no-op)
        assert not np.allclose(params["W"], make_params()["W"])


@pytest.mark.parametrize("case", CASES)
def test_optimizer_state_matches_torch_state(case):
    opt, params, tparams, tstates = run_pair(case, "random", n=12)
    names = {"momentum_buffer": "momentum_buffer", "sum": "sum", "square_avg": "square_avg",
             "grad_avg": "grad_avg", "m": "exp_avg", "v": "exp_avg_sq"}
    for k in params:
        ours, theirs = opt.state[k], tstates[-1][k]
        compared = 0
        for ok, tk in names.items():
            if ok in ours:
                assert tk in theirs, (ok, tk)
                if theirs[tk] is not None:
                    assert_allclose(ours[ok], theirs[tk], rtol=RTOL, atol=ATOL, err_msg=f"{case} {k} {ok}")
                    compared += 1
        if "step" in theirs:
            assert ours["step"] == int(np.asarray(theirs["step"]))
        uses_state = any(s in case for s in ("momentum", "adagrad", "rmsprop", "adam", "nesterov"))
        assert compared > 0 or not uses_state


def test_in_place_update_reaches_a_layer():
    layer = L.Linear(3, 2, rng=0)
    W = layer.params["W"]
    W0 = W.copy()
    x = np.random.default_rng(1).standard_normal((4, 3))
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    optim.SGD(lr=0.1).step(layer.params, layer.grads)
    assert layer.params["W"] is W
    assert_allclose(W, W0 - 0.1 * layer.grads["W"], rtol=1e-15)


def test_state_is_kept_per_parameter_name():
    """Stepping {"a"} and {"b"} in separate calls equals torch stepping both together."""
    p = make_params()
    grads = random_grads(n=10)
    opt = optim.Adam(lr=0.01)
    tparams = {k: torch.nn.Parameter(to_torch(v)) for k, v in p.items()}
    topt = torch.optim.Adam(list(tparams.values()), lr=0.01)
    for g in grads:
        for k in p:  # one call per parameter: the state must be found again by name
            opt.step({k: p[k]}, {k: g[k]})
        for k, tp in tparams.items():
            tp.grad = to_torch(g[k])
        topt.step()
    for k in p:
        assert opt.state[k]["step"] == 10
        assert_allclose(p[k], to_numpy(tparams[k]), rtol=RTOL, atol=ATOL)
    assert set(opt.state) == set(p)


def test_state_not_shared_between_names_or_instances():
    opt = optim.SGD(lr=0.1, momentum=0.9)
    a, b = np.zeros(2), np.zeros(2)
    opt.step({"a": a}, {"a": np.ones(2)})
    opt.step({"a": a}, {"a": np.ones(2)})
    opt.step({"b": b}, {"b": np.ones(2)})
    assert opt.state["a"]["step"] == 2 and opt.state["b"]["step"] == 1
    assert_allclose(opt.state["a"]["momentum_buffer"], 1.9)
    assert_allclose(opt.state["b"]["momentum_buffer"], 1.0)
    assert optim.SGD(lr=0.1, momentum=0.9).state == {}


def test_momentum_buffer_is_not_an_alias_of_the_gradient():
    opt = optim.SGD(lr=0.1, momentum=0.9)
    p, g = np.zeros(3), np.ones(3)
    opt.step({"p": p}, {"p": g})
    g[:] = 100.0  # the caller reuses its gradient array
    assert_array_equal(opt.state["p"]["momentum_buffer"], 1.0)
    opt2 = optim.Adam()
    g2 = np.ones(3)
    opt2.step({"p": np.zeros(3)}, {"p": g2})
    assert_array_equal(g2, 1.0)


def test_gradients_are_not_modified():
    for case, (cls, _, kw) in CASES.items():
        p = make_params()
        g = random_grads(n=3)
        g0 = [{k: v.copy() for k, v in gi.items()} for gi in g]
        opt = cls(**kw)
        for gi in g:
            opt.step(p, gi)
        for gi, gi0 in zip(g, g0):
            for k in gi:
                assert_array_equal(gi[k], gi0[k], err_msg=case)


def test_extra_gradient_keys_are_ignored():
    p = {"w": np.ones(2)}
    optim.SGD(lr=1.0).step(p, {"w": np.ones(2), "unused": np.ones(5)})
    assert_array_equal(p["w"], 0.0)


def test_lr_zero_leaves_parameters_unchanged():
    for cls in (optim.SGD, optim.AdaGrad, optim.RMSProp, optim.Adam, optim.AdamW):
        p = make_params()
        p0 = {k: v.copy() for k, v in p.items()}
        opt = cls(lr=0.0)
        for g in random_grads(n=3):
            opt.step(p, g)
        for k in p:
            assert_array_equal(p[k], p0[k])


def test_defaults_match_torch():
    assert optim.AdaGrad().lr == 0.01 and optim.AdaGrad().eps == 1e-10
    r = optim.RMSProp()
    assert (r.lr, r.alpha, r.eps, r.momentum, r.centered, r.weight_decay) == (0.01, 0.99, 1e-8, 0.0, False, 0.0)
    a = optim.Adam()
    assert (a.lr, a.betas, a.eps, a.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    w = optim.AdamW()
    assert (w.lr, w.betas, w.eps, w.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.01)
    s = optim.SGD(lr=0.1)
    assert (s.momentum, s.nesterov, s.weight_decay, s.dampening) == (0.0, False, 0.0, 0.0)
    td = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert td["weight_decay"] == w.weight_decay and td["lr"] == w.lr and td["eps"] == w.eps


# ---------------------------------------------------------------- record / history

def test_no_history_without_record():
    opt = optim.Adam()
    opt.step(make_params(), random_grads(n=1)[0])
    assert opt.history == []


def test_adam_history_contents():
    opt, params, tparams, tstates = run_pair("adam_wd", "random", n=5, record=True)
    assert len(opt.history) == 5
    fixed = random_grads(n=5)
    p = make_params()
    b1, b2 = opt.betas
    for t, log in enumerate(opt.history, start=1):
        assert set(log) == set(SHAPES)
        for k, rec in log.items():
            assert set(rec) == {"g", "m", "v", "m_hat", "v_hat", "update"}
            assert_allclose(rec["g"], fixed[t - 1][k] + opt.weight_decay * p[k], rtol=1e-14, atol=1e-300)
            assert_allclose(rec["m"], tstates[t - 1][k]["exp_avg"], rtol=RTOL, atol=ATOL)
            assert_allclose(rec["v"], tstates[t - 1][k]["exp_avg_sq"], rtol=RTOL, atol=1e-300)
            assert_allclose(rec["m_hat"], rec["m"] / (1 - b1 ** t), rtol=1e-15)
            assert_allclose(rec["v_hat"], rec["v"] / (1 - b2 ** t), rtol=1e-15)
            assert_allclose(rec["update"], -opt.lr * rec["m_hat"] / (np.sqrt(rec["v_hat"]) + opt.eps), rtol=1e-9, atol=1e-15)
            p[k] = p[k] + rec["update"]
    # the records are snapshots, not views of the live state
    assert not np.array_equal(opt.history[0]["W"]["m"], opt.history[-1]["W"]["m"])
    assert opt.history[-1]["W"]["m"] is not opt.state["W"]["m"]
    for k in p:
        assert_allclose(p[k], params[k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case,keys", [("sgd_momentum", {"direction", "update"}), ("sgd", {"direction", "update"}),
                                       ("adagrad", {"sum", "update"}), ("rmsprop_centered", {"square_avg", "denom", "update"}),
                                       ("adamw", {"g", "m", "v", "m_hat", "v_hat", "update"})])
def test_history_keys_and_updates(case, keys):
    opt, params, tparams, tstates = run_pair(case, "quadratic", n=4, record=True)
    assert len(opt.history) == 4
    p = make_params()
    for log in opt.history:
        for k in SHAPES:
            assert set(log[k]) == keys
            p[k] = p[k] + log[k]["update"]
    for k in p:
        assert_allclose(p[k], params[k], rtol=1e-12, atol=1e-15)
    if case == "sgd_momentum":
        for t, log in enumerate(opt.history):
            assert_allclose(log["W"]["direction"], tstates[t]["W"]["momentum_buffer"], rtol=RTOL, atol=ATOL)
    if case == "adagrad":
        for t, log in enumerate(opt.history):
            assert_allclose(log["b"]["sum"], tstates[t]["b"]["sum"], rtol=RTOL, atol=1e-300)


# ---------------------------------------------------------------- training loop end-to-end

@pytest.mark.parametrize("cls,tcls,kw", [(optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.05)),
                                         (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5))])
def test_mlp_training_loop_matches_torch(cls, tcls, kw):
    rng = np.random.default_rng(0)
    model = L.Sequential(L.Linear(4, 8, rng=rng), L.Tanh(), L.Linear(8, 3, rng=rng))
    tmodel = torch.nn.Sequential(torch_linear_from(model[0]), torch.nn.Tanh(), torch_linear_from(model[2]))
    x, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    opt, topt = cls(**kw), tcls(tmodel.parameters(), **kw)
    xt, yt = to_torch(x), torch.tensor(y)
    for _ in range(30):
        loss, d = losses.softmax_cross_entropy(model.forward(x), y)
        model.backward(d)
        opt.step(model.params, model.grads)
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(xt), yt)
        tloss.backward()
        topt.step()
        assert_allclose(loss, tloss.item(), rtol=1e-9)
    assert_allclose(model[0].params["W"], to_numpy(tmodel[0].weight).T, rtol=1e-9, atol=1e-12)
    assert_allclose(model[2].params["b"], to_numpy(tmodel[2].bias), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- blocked and flat updates

# every optimizer and option whose update formulas differ, for the bit-for-bit comparisons
EVERY_UPDATE = pytest.mark.parametrize("make", [
    lambda: optim.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda: optim.SGD(0.1, momentum=0.5, dampening=0.2),
    lambda: optim.SGD(0.1),
    lambda: optim.AdaGrad(0.1, weight_decay=0.1),
    lambda: optim.RMSProp(0.01, momentum=0.9, centered=True),
    lambda: optim.Adam(0.01, weight_decay=0.1),
    lambda: optim.AdamW(0.01)], ids=["nesterov", "dampening", "plain", "adagrad", "rmsprop", "adam", "adamw"])


@EVERY_UPDATE
def test_blocked_update_equals_the_whole_array_update_bit_for_bit(make, monkeypatch):
    """step() applies the formulas to blocks of a parameter (cache-sized in practice); with
    blocks of 7 entries (so a partial last block too) every parameter and state array is
    bit-for-bit what the update on whole arrays gives."""
    monkeypatch.setattr(optim, "_FLAT_MAX", 0)                   # the per-array path
    rng = np.random.default_rng(3)
    shapes = {"W": (5, 9), "b": (9,), "c": (4, 4, 3)}
    p_whole = {k: rng.standard_normal(s) for k, s in shapes.items()}
    p_block = {k: v.copy() for k, v in p_whole.items()}
    whole, blocked = make(), make()
    for _ in range(4):
        g = {k: rng.standard_normal(s) for k, s in shapes.items()}
        monkeypatch.setattr(optim, "_BLOCK", 1 << 30)
        whole.step(p_whole, g)
        monkeypatch.setattr(optim, "_BLOCK", 7)
        blocked.step(p_block, g)
    for k in shapes:
        assert_array_equal(p_block[k], p_whole[k])
        for name, arr in whole.state[k].items():
            assert_array_equal(blocked.state[k][name], arr)


@EVERY_UPDATE
@pytest.mark.parametrize("flat_block", [7, 1 << 15])
@pytest.mark.parametrize("first_flat_step", [0, 2])
def test_flat_update_equals_the_per_array_update_bit_for_bit(make, first_flat_step, flat_block,
                                                            monkeypatch):
    """Small parameters are updated as one flat array (optim._FLAT_MAX): every parameter and
    state array is bit-for-bit what the per-array update gives, over steps whose gradients come
    as transposed (non-contiguous) arrays and a 0-d one, also when the flat path starts after
    per-array steps (state copied in: first_flat_step 2) and when it stops (a parameter rebound
    to a new shape), in blocks of 7 entries (a partial last block too) or in one block."""
    monkeypatch.setattr(optim, "_FLAT_BLOCK", flat_block)
    rng = np.random.default_rng(4)
    shapes = {"W": (5, 9), "b": (9,), "s": (), "c": (4, 4, 3)}
    p_arr = {k: rng.standard_normal(s) for k, s in shapes.items()}
    p_flat = {k: v.copy() for k, v in p_arr.items()}
    per_array, flat = make(), make()
    for t in range(6):
        g = {k: rng.standard_normal(s[::-1]).T for k, s in shapes.items()}
        monkeypatch.setattr(optim, "_FLAT_MAX", 0)
        per_array.step(p_arr, g)
        monkeypatch.setattr(optim, "_FLAT_MAX", 0 if t < first_flat_step else 1 << 18)
        flat.step(p_flat, g)
        assert (flat._flat is not None) == (t >= first_flat_step)
        for k in shapes:
            assert_array_equal(p_flat[k], p_arr[k])
            assert flat.state[k]["step"] == per_array.state[k]["step"] == t + 1
            for name, arr in per_array.state[k].items():
                assert_array_equal(flat.state[k][name], arr)
    for opt, params in ((per_array, p_arr), (flat, p_flat)):       # a rebound parameter:
        params["b"] = np.zeros(4)                                   # its new shape has no
        opt.state.pop("b")                                          # state yet, the others do
        opt.step(params, {k: np.ones(v.shape) for k, v in params.items()})
    assert flat._flat is None
    for k in shapes:
        assert_array_equal(p_flat[k], p_arr[k])


def test_flat_update_keeps_its_state_as_views_and_checks_before_changing_anything():
    rng = np.random.default_rng(5)
    params = {"W": rng.standard_normal((3, 4)), "b": np.zeros(4)}
    before = {k: v.copy() for k, v in params.items()}
    opt = optim.Adam(0.01)
    bad = {"W": np.ones((3, 4)), "b": np.array([1.0, np.nan, 1.0, 1.0])}
    with pytest.raises(ValueError, match=r"^grads\['b'\]: expected finite values, got NaN"):
        opt.step(params, bad)
    for k in params:
        assert_array_equal(params[k], before[k])
    opt.step(params, {"W": np.ones((3, 4)), "b": np.ones(4)})
    assert opt._flat is not None
    m = opt._flat["arrays"]["m"]
    assert np.shares_memory(opt.state["W"]["m"], m) and np.shares_memory(opt.state["b"]["m"], m)
    assert_allclose(opt.state["b"]["m"], 0.1)                      # (1 - 0.9) * 1
    assert_allclose(params["b"], -0.01)                           # Adam's first step: lr * sign(g)
    # one array under two names is updated twice (the per-array path), not once
    shared = np.zeros(3)
    optim.SGD(0.5).step({"a": shared, "b": shared}, {"a": np.ones(3), "b": np.ones(3)})
    assert_array_equal(shared, -1.0)


def test_flat_update_reports_a_non_finite_parameter_and_writes_back_up_to_it():
    p = {"a": np.zeros(3), "W": np.zeros(4), "b": np.zeros(2)}
    p["W"][1] = np.inf
    opt = optim.SGD(0.5)
    with pytest.raises(ValueError, match=r"^params\['W'\]: expected finite values, got inf after the update"):
        opt.step(p, {k: np.ones(v.shape) for k, v in p.items()})
    assert opt._flat is not None                                  # (the flat path ran)
    assert_array_equal(p["a"], -0.5)                              # before W: written back
    assert_array_equal(p["W"][[0, 2, 3]], -0.5)                   # W itself: written back
    assert_array_equal(p["b"], 0.0)                               # after W: not


def test_flat_layout_follows_the_state_and_falls_back_when_it_must():
    rng = np.random.default_rng(6)
    shapes = {"W": (3, 4), "b": (4,)}

    def grads():
        return {k: rng.standard_normal(s) for k, s in shapes.items()}

    def pair():
        p = {k: np.ones(s) for k, s in shapes.items()}
        return p, {k: v.copy() for k, v in p.items()}

    # state replaced by hand after flat steps: the flat path uses the new arrays, as the
    # per-array path does
    (p1, p2), (o1, o2) = pair(), (optim.Adam(0.1), optim.Adam(0.1))
    with pytest.MonkeyPatch.context() as mp:
        for _ in range(2):
            g = grads()
            mp.setattr(optim, "_FLAT_MAX", 1 << 18)
            o1.step(p1, g)
            mp.setattr(optim, "_FLAT_MAX", 0)
            o2.step(p2, g)
        for o in (o1, o2):
            o.state["b"]["m"] = np.full(4, 5.0)
        g = grads()
        mp.setattr(optim, "_FLAT_MAX", 1 << 18)
        o1.step(p1, g)
        mp.setattr(optim, "_FLAT_MAX", 0)
        o2.step(p2, g)
    assert o1._flat is not None
    for k in shapes:
        assert_array_equal(p1[k], p2[k])
        assert_array_equal(o1.state[k]["m"], o2.state[k]["m"])
    # a deep copy builds its own layout and goes on exactly as the original
    c, pc = copy.deepcopy(o1), {k: v.copy() for k, v in p1.items()}
    assert c._flat is None
    g = grads()
    o1.step(p1, g)
    c.step(pc, g)
    for k in shapes:
        assert_array_equal(pc[k], p1[k])
        assert_array_equal(c.state[k]["v"], o1.state[k]["v"])
    # steps taken apart, state of another shape, overlapping memory: the per-array path
    o1.state["b"]["step"] += 1
    o1.step(p1, grads())
    assert o1._flat is None
    o3 = optim.SGD(0.1, momentum=0.9)
    o3.step(*pair()[:1], grads())
    q = {"W": np.ones((4, 3)), "b": np.ones(4)}                    # W rebound, new shape
    with pytest.raises(ValueError):                                # its (3, 4) buffer: as before
        o3.step(q, {k: np.ones(v.shape) for k, v in q.items()})
    assert o3._flat is None
    base = np.zeros(6)
    a, b = (np.lib.stride_tricks.as_strided(base, (3,), (16,)) for _ in range(2))
    optim.SGD(0.5).step({"a": a, "b": b}, {"a": np.ones(3), "b": np.ones(3)})
    assert_array_equal(base[::2], -1.0)                            # both names updated it


def test_a_non_finite_parameter_is_reported_after_its_update(monkeypatch):
    monkeypatch.setattr(optim, "_FLAT_MAX", 0)                   # the per-array path
    monkeypatch.setattr(optim, "_BLOCK", 4)
    p = {"W": np.zeros(10), "b": np.zeros(3)}
    p["W"][7] = np.inf
    with pytest.raises(ValueError, match=r"^params\['W'\]: expected finite values, got inf after the update"):
        optim.SGD(0.1).step(p, {"W": np.ones(10), "b": np.ones(3)})
    with pytest.raises(ValueError, match=r"^params\['x'\]: expected finite values, got inf after the update "
                                         r"\(the parameter held NaN or inf, or the step overflowed float64\)"), \
            np.errstate(over="ignore"):
        optim.SGD(1e300).step({"x": np.full(3, -1e300)}, {"x": np.full(3, 1e10)})   # overflow
