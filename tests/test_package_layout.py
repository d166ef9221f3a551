"""The layout of dlcore: imports point one way, no module is giant, old imports keep working.

* **No import cycles.** The test reads every ``dlcore/**/*.py`` with ``ast`` (imports inside
  functions included), resolves relative imports, and builds the graph "module M imports
  module T". Importing ``a.b.c`` runs ``a`` and ``a.b`` first, so it is also an edge to each
  parent package of T, except the parents of M itself: those are already being imported when
  M runs, so naming them executes nothing. So ``from dlcore.layers.base import Layer`` inside
  ``dlcore/conv.py`` is an edge to ``dlcore.layers.base`` and to ``dlcore.layers`` (whose
  ``__init__`` runs first), while ``from .. import functional`` inside
  ``dlcore/layers/activation.py`` is an edge to ``dlcore.functional`` only. Importing a *name*
  (not a submodule) from a parent package is an edge to it: that name exists only once the
  parent's ``__init__`` has run. Each strongly connected component is reported with one
  cycle through it and the lines of its imports. Modules of ``dlcore.layers`` import no
  sibling but ``dlcore.layers.base`` (the rule in CONTRIBUTING.md).
* **No module over 600 lines.**
* **The public surface of version 0.1 still resolves.** ``SURFACE`` was generated once from
  the code before ``dlcore.layers`` and ``dlcore.check`` became packages (commit 746de3b):
  every name without a leading underscore in each module's namespace, except the numpy and
  standard-library modules and functions a module imported for itself (``np``, ``math``,
  ``contextmanager``) and ``annotations``. Each name must still resolve to the same kind of
  object (class, function, module, float, ...), each module's ``__all__`` must still contain
  what it contained, and the names that were one object (``dlcore.conv.Conv2d`` and
  ``dlcore.layers.Conv2d``) must still be one object. A name that goes on purpose is removed
  from ``SURFACE`` in the same commit, where a reviewer sees it.
* **Every public module has an ``__all__``** listing the public classes and functions it
  defines (the API-wide fuzz test enumerates ``__all__``); every layer class that any module
  exports is also exported by ``dlcore.layers``; a topic module (``dlcore.conv``) exports
  everything of the ``dlcore.layers`` module that holds its code; no checker helper is
  defined in two modules of ``dlcore.check``.
"""
from __future__ import annotations

import ast
import collections
import importlib
import inspect
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "dlcore"
MAX_LINES = 600


# ----------------------------------------------------------------------------- import graph

def module_files(pkg_dir: Path) -> dict[str, Path]:
    """{"dlcore": .../__init__.py, "dlcore.layers.base": .../base.py, ...}"""
    files = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        parts = (pkg_dir.name, *path.relative_to(pkg_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(files: dict[str, Path], root: Path) -> dict[str, dict[str, str]]:
    """{module: {imported module: "path:line" of the first such import}}, restricted to the
    modules in ``files`` (paths shown relative to ``root``)."""
    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        edges: dict[str, str] = {}
        own_parents = set(_parents(name)) | {name}

        def add(target, lineno, explicit):
            # explicit: the import needs ``target``'s own code to have run (a name from it);
            # implicit: ``target`` is only a parent package of what is imported
            if target not in files or target == name:
                return
            if not explicit and target in own_parents:
                return
            edges.setdefault(target, f"{path.relative_to(root).as_posix()}:{lineno}")

        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, node.lineno, True)
                    for parent in _parents(alias.name):
                        add(parent, node.lineno, False)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module
                submodules = [f"{module}.{a.name}" for a in node.names
                              if f"{module}.{a.name}" in files]
                for sub in submodules:
                    add(sub, node.lineno, True)
                # ``from X import name`` needs X's code, ``from X import submodule`` only
                # X's parents
                add(module, node.lineno, len(submodules) < len(node.names))
                for parent in _parents(module):
                    add(parent, node.lineno, False)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One cycle (a closed list of modules: [a, b, a]) through each strongly connected
    component of the graph: through each set of modules that import each other."""
    index, low, stack, on_stack, sccs = {}, {}, [], set(), []

    def strongconnect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1 or v in graph[v]:
                sccs.append(set(scc))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    cycles = []
    for scc in sccs:                               # a shortest cycle back to the SCC's first node
        start = min(scc)
        paths, seen = collections.deque([[start]]), {start}
        while paths:
            path = paths.popleft()
            nxt = sorted(w for w in graph[path[-1]] if w in scc)
            if start in nxt:
                cycles.append(path + [start])
                break
            for w in nxt:
                if w not in seen:
                    seen.add(w)
                    paths.append(path + [w])
    return cycles


def describe(cycle, graph) -> str:
    """The cycle as text, ``a -[a.py:3]-> b -[b/__init__.py:7]-> a``: each arrow names the
    first import that makes that edge."""
    return cycle[0] + "".join(f" -[{graph[a][b]}]-> {b}" for a, b in zip(cycle, cycle[1:]))


# Generated once from dlcore at commit 746de3b (before dlcore.layers and dlcore.check became
# packages): per module, its __all__ and its other public names grouped by kind.
SURFACE = {
    'dlcore': {
        '__all__': (
            '__version__ autodiff check clip conv data functional generative '
            'geometry gradcheck init layers losses metrics normalization '
            'optim regularization rnn schedules seed segmentation table '
            'training utils'
        ),
        'function': 'seed table',
        'module': (
            'autodiff check clip conv data functional generative geometry '
            'gradcheck init layers losses metrics normalization optim '
            'regularization rnn schedules segmentation training utils'
        ),
        'str': '__version__',
    },
    'dlcore._validate': {
        'function': (
            'as_class_indices as_float_array as_generator check_finite '
            'check_in_range check_positive check_same_shape '
            'check_unit_interval'
        ),
    },
    'dlcore.autodiff': {
        '__all__': (
            'Dual OpCounter Value counting draw_value_graph exp grad_forward '
            'grad_reverse log sigmoid sym_diff sym_eval sym_size tanh '
            'value_graph'
        ),
        'class': 'Dual OpCounter Value',
        'function': (
            'counting draw_value_graph exp grad_forward grad_reverse log '
            'sigmoid sym_diff sym_eval sym_size tanh value_graph'
        ),
    },
    'dlcore.check': {
        '__all__': (
            'ATOL RTOL SIGMOID_RTOL check_adam_step check_batchnorm_backward '
            'check_clip_grad_norm check_conv2d_forward check_gaussian_kl '
            'check_inverted_dropout check_linear_backward check_matmul_shape '
            'check_mlp_forward check_precision_recall_f1 '
            'check_rnn_step_backward check_sgd_momentum_step check_sigmoid '
            'check_softmax_cross_entropy_grad'
        ),
        'class': 'Linear',
        'float': 'ATOL RTOL SIGMOID_RTOL',
        'function': (
            'check_adam_step check_batchnorm_backward check_clip_grad_norm '
            'check_conv2d_forward check_gaussian_kl check_inverted_dropout '
            'check_linear_backward check_matmul_shape check_mlp_forward '
            'check_precision_recall_f1 check_rnn_step_backward '
            'check_sgd_momentum_step check_sigmoid '
            'check_softmax_cross_entropy_grad softmax_cross_entropy'
        ),
    },
    'dlcore.clip': {
        '__all__': 'clip_grad_norm clip_grad_value',
        'function': 'check_positive clip_grad_norm clip_grad_value',
    },
    'dlcore.conv': {
        '__all__': (
            'AvgPool2d Conv2d Flatten MaxPool2d col2im conv_output_size '
            'im2col'
        ),
        'class': 'AvgPool2d Conv2d Flatten Layer MaxPool2d',
        'function': 'as_float_array col2im conv_output_size im2col',
    },
    'dlcore.data': {
        '__all__': 'blobs digits minibatches spirals toy_segmentation xor',
        'function': (
            'as_generator blobs digits minibatches spirals toy_segmentation '
            'xor'
        ),
    },
    'dlcore.functional': {
        '__all__': (
            'elu elu_grad gelu gelu_grad leaky_relu leaky_relu_grad '
            'log_softmax log_softmax_vjp logsumexp normal_cdf relu relu_grad '
            'sigmoid sigmoid_grad silu silu_grad softmax softmax_jacobian '
            'softmax_vjp softplus softplus_grad tanh tanh_grad'
        ),
        'function': (
            'as_float_array check_finite check_positive elu elu_grad gelu '
            'gelu_grad leaky_relu leaky_relu_grad log_softmax '
            'log_softmax_vjp logsumexp normal_cdf relu relu_grad sigmoid '
            'sigmoid_grad silu silu_grad softmax softmax_jacobian '
            'softmax_vjp softplus softplus_grad tanh tanh_grad'
        ),
    },
    'dlcore.generative': {
        '__all__': 'gaussian_kl gaussian_ring mode_coverage ring_centres',
        'function': (
            'as_float_array as_generator gaussian_kl gaussian_ring '
            'mode_coverage ring_centres'
        ),
    },
    'dlcore.geometry': {
        '__all__': (
            'ball_volume distance_concentration distance_ratio '
            'embedded_manifold inscribed_ball_fraction knn_predict '
            'pairwise_distances pca_spectrum shell_fraction'
        ),
        'function': (
            'as_float_array as_generator ball_volume check_unit_interval '
            'distance_concentration distance_ratio embedded_manifold '
            'inscribed_ball_fraction knn_predict pairwise_distances '
            'pca_spectrum shell_fraction'
        ),
    },
    'dlcore.gradcheck': {
        '__all__': 'check_layer numerical_gradient relative_error',
        'function': (
            'as_float_array check_layer check_positive numerical_gradient '
            'relative_error'
        ),
    },
    'dlcore.graphs': {
        '__all__': 'draw_dag layout wrap_columns',
        'function': 'draw_dag layout wrap_columns',
    },
    'dlcore.init': {
        '__all__': 'he_normal he_uniform xavier_normal xavier_uniform',
        'function': 'as_generator he_normal he_uniform xavier_normal xavier_uniform',
    },
    'dlcore.layers': {
        '__all__': (
            'AvgPool2d BatchNorm1d Conv2d Dropout ELU Flatten GELU Layer '
            'LayerNorm LeakyReLU Linear MaxPool2d ReLU Residual Sequential '
            'SiLU Sigmoid Tanh'
        ),
        'class': (
            'AvgPool2d BatchNorm1d Conv2d Dropout ELU Flatten GELU Layer '
            'LayerNorm LeakyReLU Linear MaxPool2d ReLU Residual Sequential '
            'SiLU Sigmoid Tanh'
        ),
        'function': 'as_float_array check_finite check_positive check_unit_interval',
        'module': 'F',
    },
    'dlcore.losses': {
        '__all__': (
            'bce_with_logits binary_cross_entropy mse one_hot '
            'softmax_cross_entropy'
        ),
        'function': (
            'as_class_indices as_float_array bce_with_logits '
            'binary_cross_entropy check_in_range check_same_shape '
            'log_softmax mse one_hot sigmoid softmax softmax_cross_entropy'
        ),
    },
    'dlcore.metrics': {
        '__all__': (
            'auc average_precision confusion_matrix precision_recall_curve '
            'precision_recall_f1 roc_curve'
        ),
        'function': (
            'as_float_array auc average_precision confusion_matrix '
            'precision_recall_curve precision_recall_f1 roc_curve'
        ),
    },
    'dlcore.normalization': {
        '__all__': 'BatchNorm1d LayerNorm Residual group_norm',
        'class': 'BatchNorm1d Layer LayerNorm Residual',
        'function': 'as_float_array check_positive group_norm',
    },
    'dlcore.optim': {
        '__all__': 'AdaGrad Adam AdamW Optimizer RMSProp SGD',
        'class': 'AdaGrad Adam AdamW Optimizer RMSProp SGD',
        'function': 'as_float_array check_finite check_positive check_unit_interval',
    },
    'dlcore.plotting': {
        '__all__': 'COLORS use_book_style',
        'function': 'use_book_style',
        'list': 'COLORS',
    },
    'dlcore.regularization': {
        '__all__': (
            'bias_variance_decomposition l1_penalty l2_penalty '
            'soft_threshold'
        ),
        'function': (
            'as_float_array bias_variance_decomposition check_positive '
            'l1_penalty l2_penalty soft_threshold'
        ),
    },
    'dlcore.rnn': {
        '__all__': 'GRUCell LSTMCell RNN RNNCell',
        'class': 'GRUCell LSTMCell RNN RNNCell',
        'function': 'as_float_array sigmoid',
    },
    'dlcore.schedules': {
        '__all__': 'cosine_annealing linear_warmup step_decay',
        'function': 'check_positive cosine_annealing linear_warmup step_decay',
    },
    'dlcore.segmentation': {
        '__all__': (
            'bootstrapped_cross_entropy hard_dice soft_dice_loss '
            'soft_iou_loss weighted_cross_entropy'
        ),
        'function': (
            'as_class_indices as_float_array bootstrapped_cross_entropy '
            'check_positive hard_dice log_softmax soft_dice_loss '
            'soft_iou_loss softmax weighted_cross_entropy'
        ),
    },
    'dlcore.training': {
        'function': 'accuracy as_float_array as_generator evaluate fit mlp',
    },
    'dlcore.utils': {
        '__all__': 'fmt seed table to_torch',
        'function': 'as_float_array fmt seed table to_torch',
    },
}
# names that were one object (re-exports)
SAME_OBJECT = [
    ('dlcore._validate.as_class_indices', 'dlcore.losses.as_class_indices',
     'dlcore.segmentation.as_class_indices'),
    ('dlcore._validate.as_float_array', 'dlcore.conv.as_float_array',
     'dlcore.functional.as_float_array', 'dlcore.generative.as_float_array',
     'dlcore.geometry.as_float_array', 'dlcore.gradcheck.as_float_array',
     'dlcore.layers.as_float_array', 'dlcore.losses.as_float_array',
     'dlcore.metrics.as_float_array', 'dlcore.normalization.as_float_array',
     'dlcore.optim.as_float_array', 'dlcore.regularization.as_float_array',
     'dlcore.rnn.as_float_array', 'dlcore.segmentation.as_float_array',
     'dlcore.training.as_float_array', 'dlcore.utils.as_float_array'),
    ('dlcore._validate.as_generator', 'dlcore.data.as_generator',
     'dlcore.generative.as_generator', 'dlcore.geometry.as_generator',
     'dlcore.init.as_generator', 'dlcore.training.as_generator'),
    ('dlcore._validate.check_finite', 'dlcore.functional.check_finite',
     'dlcore.layers.check_finite', 'dlcore.optim.check_finite'),
    ('dlcore._validate.check_in_range', 'dlcore.losses.check_in_range'),
    ('dlcore._validate.check_positive', 'dlcore.clip.check_positive',
     'dlcore.functional.check_positive', 'dlcore.gradcheck.check_positive',
     'dlcore.layers.check_positive', 'dlcore.normalization.check_positive',
     'dlcore.optim.check_positive', 'dlcore.regularization.check_positive',
     'dlcore.schedules.check_positive', 'dlcore.segmentation.check_positive'),
    ('dlcore._validate.check_same_shape', 'dlcore.losses.check_same_shape'),
    ('dlcore._validate.check_unit_interval', 'dlcore.geometry.check_unit_interval',
     'dlcore.layers.check_unit_interval', 'dlcore.optim.check_unit_interval'),
    ('dlcore.check.Linear', 'dlcore.layers.Linear'),
    ('dlcore.check.softmax_cross_entropy', 'dlcore.losses.softmax_cross_entropy'),
    ('dlcore.conv.AvgPool2d', 'dlcore.layers.AvgPool2d'),
    ('dlcore.conv.Conv2d', 'dlcore.layers.Conv2d'),
    ('dlcore.conv.Flatten', 'dlcore.layers.Flatten'),
    ('dlcore.conv.Layer', 'dlcore.layers.Layer', 'dlcore.normalization.Layer'),
    ('dlcore.conv.MaxPool2d', 'dlcore.layers.MaxPool2d'),
    ('dlcore.functional', 'dlcore.layers.F'),
    ('dlcore.functional.log_softmax', 'dlcore.losses.log_softmax',
     'dlcore.segmentation.log_softmax'),
    ('dlcore.functional.sigmoid', 'dlcore.losses.sigmoid', 'dlcore.rnn.sigmoid'),
    ('dlcore.functional.softmax', 'dlcore.losses.softmax',
     'dlcore.segmentation.softmax'),
    ('dlcore.layers.BatchNorm1d', 'dlcore.normalization.BatchNorm1d'),
    ('dlcore.layers.LayerNorm', 'dlcore.normalization.LayerNorm'),
    ('dlcore.layers.Residual', 'dlcore.normalization.Residual'),
    ('dlcore.seed', 'dlcore.utils.seed'),
    ('dlcore.table', 'dlcore.utils.table'),
]


FILES = module_files(PKG)
GRAPH = import_graph(FILES, ROOT)
PUBLIC_MODULES = [m for m in FILES if not any(part.startswith("_") for part in m.split("."))]


def test_dlcore_has_no_import_cycle():
    cycles = find_cycles(GRAPH)
    assert not cycles, "import cycles in dlcore (make the dependencies point one way):\n" + \
        "\n".join(describe(c, GRAPH) for c in cycles)


def _write_package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_cycle_finder_sees_a_cycle_through_a_parent_package(tmp_path):
    # the layout dlcore had before: layers re-exports conv's layer, conv imports the base class
    # from inside layers; importing pkg.layers.base runs pkg/layers/__init__.py first
    files = {
        "pkg/__init__.py": "from . import layers, conv, functional\n",
        "pkg/functional.py": "def relu(x):\n    return x\n",
        "pkg/layers/__init__.py": "from .base import Layer\nfrom ..conv import Conv2d\n",
        "pkg/layers/base.py": "from .. import functional\nclass Layer:\n    pass\n",
        "pkg/conv.py": "def f():\n    from .layers.base import Layer\n",
    }
    _write_package(tmp_path, files)
    graph = import_graph(module_files(tmp_path / "pkg"), tmp_path)
    cycles = find_cycles(graph)
    assert [sorted(c) for c in cycles] == [["pkg.conv", "pkg.conv", "pkg.layers"]]
    text = describe(cycles[0], graph)
    assert text == "pkg.conv -[pkg/conv.py:2]-> pkg.layers -[pkg/layers/__init__.py:2]-> pkg.conv"
    # a module importing its own parent package, or a sibling through it, is no cycle
    assert "pkg" not in graph["pkg.layers.base"] and "pkg.functional" in graph["pkg.layers.base"]

    (tmp_path / "pkg/layers/__init__.py").write_text("from .base import Layer\n", encoding="utf-8")
    assert find_cycles(import_graph(module_files(tmp_path / "pkg"), tmp_path)) == []


def test_cycle_finder_sees_a_name_imported_from_a_parent_package(tmp_path):
    # ``from .. import helper`` (a name, not a submodule) needs pkg/__init__.py to have run
    # to the end, but pkg/__init__.py imports pkg.layers first: a real cycle
    files = {
        "pkg/__init__.py": "from .layers import Layer\ndef helper():\n    pass\n",
        "pkg/layers.py": "from . import helper\nclass Layer:\n    pass\n",
    }
    _write_package(tmp_path, files)
    graph = import_graph(module_files(tmp_path / "pkg"), tmp_path)
    assert [sorted(c) for c in find_cycles(graph)] == [["pkg", "pkg", "pkg.layers"]]


def test_no_dlcore_module_is_over_600_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in FILES.items()}
    big = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them by topic): {big}"


def test_layer_modules_import_no_sibling_but_base():
    # CONTRIBUTING.md: layers import only from dlcore.layers.base and lower-level modules
    bad = {name: sorted(t for t in edges
                        if t.startswith("dlcore.layers") and t != "dlcore.layers.base")
           for name, edges in GRAPH.items() if name.startswith("dlcore.layers.")}
    assert not any(bad.values()), {k: v for k, v in bad.items() if v}


# ------------------------------------------------------------------ the surface of 0.1

def _kind(value) -> str:
    if isinstance(value, types.ModuleType):
        return "module"
    if inspect.isclass(value):
        return "class"
    if callable(value):
        return "function"
    return type(value).__name__


@pytest.mark.parametrize("module_name", sorted(SURFACE))
def test_every_name_of_version_0_1_still_resolves(module_name):
    module = importlib.import_module(module_name)
    problems = []
    for kind, names in SURFACE[module_name].items():
        for name in names.split():
            if kind == "__all__":
                if name not in getattr(module, "__all__", ()):
                    problems.append(f"{name} is no longer in __all__")
            elif not hasattr(module, name):
                problems.append(f"{name} ({kind}) is gone")
            elif _kind(getattr(module, name)) != kind:
                problems.append(f"{name} was a {kind}, is a {_kind(getattr(module, name))}")
    assert not problems, f"{module_name}: " + "; ".join(problems)


def _resolve(dotted: str):
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


@pytest.mark.parametrize("names", SAME_OBJECT, ids=lambda names: names[0])
def test_names_that_were_one_object_still_are(names):
    first = _resolve(names[0])
    assert all(_resolve(n) is first for n in names[1:]), names


# ------------------------------------------------------------------------- __all__

@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_has_an_all_listing_its_api(module_name):
    module = importlib.import_module(module_name)
    assert isinstance(getattr(module, "__all__", None), list), f"{module_name} has no __all__ list"
    names = module.__all__
    assert len(names) == len(set(names)), f"{module_name}.__all__ lists a name twice"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{module_name}.__all__ names what the module lacks: {missing}"
    defined_here = [n for n, v in vars(module).items() if not n.startswith("_")
                    and (inspect.isclass(v) or inspect.isfunction(v))
                    and v.__module__ == module_name]
    unlisted = sorted(set(defined_here) - set(names))
    assert not unlisted, f"{module_name} defines public names not in its __all__: {unlisted}"


def test_every_exported_layer_is_importable_from_dlcore_layers():
    from dlcore import layers
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and issubclass(value, layers.Layer) \
                    and getattr(layers, name, None) is not value:
                missing.append(f"{module_name}.{name}")
    assert not missing, ("layers that dlcore.layers does not export (import them in "
                         f"dlcore/layers/__init__.py and add them to its __all__): {missing}")


# a topic module the book imports -> the module of dlcore.layers that holds its code
TOPIC_MODULES = {"dlcore.conv": "dlcore.layers.convolution",
                 "dlcore.normalization": "dlcore.layers.normalization",
                 "dlcore.attention": "dlcore.layers.attention",
                 "dlcore.lora": "dlcore.layers.lora"}


@pytest.mark.parametrize("topic, home", sorted(TOPIC_MODULES.items()))
def test_topic_modules_re_export_everything_of_their_home(topic, home):
    topic_module, home_module = importlib.import_module(topic), importlib.import_module(home)
    missing = [n for n in home_module.__all__ if n not in topic_module.__all__
               or getattr(topic_module, n) is not getattr(home_module, n)]
    assert not missing, \
        f"{home} exports {missing}: import them in {topic} and list them in its __all__"


def test_checkers_share_their_helpers_instead_of_copying_them():
    where = collections.defaultdict(list)
    for name, path in FILES.items():
        if name.startswith("dlcore.check."):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.FunctionDef):
                    where[node.name].append(name)
    copies = {f: mods for f, mods in where.items() if len(mods) > 1}
    assert not copies, ("defined in several dlcore.check modules (keep one, in "
                        f"dlcore/check/_common.py): {copies}")
