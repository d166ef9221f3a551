"""Draw small directed acyclic graphs (computational graphs) with matplotlib only.

No Graphviz binary is needed. The layout is the classic layered one: a node's column
is the length of the longest path reaching it from a source (a source itself sits just
left of the first node that uses it), and nodes in a column are
ordered by the mean row of their predecessors. It is meant for graphs of up to a few
dozen nodes, such as the ones drawn in the book.
"""
from __future__ import annotations

from ._validate import check_finite, check_int, check_positive

__all__ = ["layout", "wrap_columns", "draw_dag"]

_STYLE = {
    # kind: (face colour, edge colour, box style)
    "leaf": ("#dbe9f6", "#1f77b4", "round,pad=0.25"),
    "param": ("#fde2cf", "#ff7f0e", "round,pad=0.25"),
    "value": ("#f4f4f4", "#555555", "round,pad=0.25"),
    "loss": ("#f9d6d5", "#d62728", "round,pad=0.25"),
    "op": ("#ffffff", "#2ca02c", "circle,pad=0.2"),
}


def _check(nodes, edges):
    if not isinstance(nodes, (list, tuple)) or not nodes:
        raise ValueError("nodes: expected a non-empty list of dicts with keys 'id' and 'text'")
    ids = []
    for i, n in enumerate(nodes):
        if not isinstance(n, dict) or "id" not in n or "text" not in n:
            raise ValueError(f"nodes[{i}]: expected a dict with keys 'id' and 'text', got {n!r}")
        if n.get("kind", "value") not in _STYLE:
            raise ValueError(f"nodes[{i}]: kind must be one of {sorted(_STYLE)}, got {n.get('kind')!r}")
        ids.append(n["id"])
    if len(set(ids)) != len(ids):
        dup = next(i for k, i in enumerate(ids) if i in ids[:k])
        raise ValueError(f"nodes: expected unique ids, got {dup!r} more than once")
    known = set(ids)
    if not isinstance(edges, (list, tuple)):
        raise ValueError(f"edges: expected a list of (source_id, target_id[, label]), "
                         f"got {type(edges).__name__}")
    for j, e in enumerate(edges):
        if not isinstance(e, (list, tuple)) or len(e) not in (2, 3) or e[0] not in known \
                or e[1] not in known:
            raise ValueError(f"edges[{j}]: expected (source_id, target_id[, label]) of known nodes, got {e!r}")


def _check_pos(pos):
    """{id: (x, y)} with finite real coordinates."""
    if not isinstance(pos, dict) or not pos:
        raise ValueError(f"pos: expected a non-empty dict {{id: (x, y)}}, got {pos!r}")
    out = {}
    for i, p in pos.items():
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ValueError(f"pos[{i!r}]: expected a pair (x, y), got {p!r}")
        out[i] = (check_finite(p[0], f"pos[{i!r}][0]"), check_finite(p[1], f"pos[{i!r}][1]"))
    return out


def layout(nodes, edges):
    """Column and row of each node: ``{id: (column, row)}`` (rows centred on 0).

    Raises ``ValueError`` if the graph has a cycle.
    """
    _check(nodes, edges)
    ids = [n["id"] for n in nodes]
    preds = {i: [] for i in ids}
    for e in edges:
        preds[e[1]].append(e[0])
    col, visiting = {}, set()

    def depth(i):
        if i in col:
            return col[i]
        if i in visiting:
            raise ValueError("edges: the graph has a cycle")
        visiting.add(i)
        col[i] = max((depth(p) + 1 for p in preds[i]), default=0)
        visiting.discard(i)
        return col[i]

    for i in ids:
        depth(i)
    succs = {i: [] for i in ids}
    for e in edges:
        succs[e[0]].append(e[1])
    for i in ids:   # pull each source (e.g. a constant) next to the first node that uses it
        if not preds[i] and succs[i]:
            col[i] = min(col[s] for s in succs[i]) - 1
    pos = {}
    for c in range(max(col.values()) + 1):
        members = [i for i in ids if col[i] == c]
        if c > 0:   # barycentre ordering: keep nodes near the nodes that feed them
            order = {i: k for k, i in enumerate(members)}
            members.sort(key=lambda i: (sum(pos[p][1] for p in preds[i]) / len(preds[i])
                                        if preds[i] else float(len(ids)), order[i]))
        for k, i in enumerate(members):
            pos[i] = (c, k - (len(members) - 1) / 2)
    return pos


def wrap_columns(pos, max_columns):
    """Fold a wide layout into bands of at most ``max_columns`` columns, one below the other.

    Bands alternate direction (left to right, then right to left, like a snake), so the edge
    from the end of one band to the start of the next is short and crosses nothing. A long
    chain, such as an expression's trace, then fits a page column at a readable font size.
    """
    pos = _check_pos(pos)
    max_columns = check_int(max_columns, "max_columns", min_value=1)
    rows = [y for _, y in pos.values()]
    band = (max(rows) - min(rows)) + 1.6

    def fold(x, y):
        k, r = divmod(x, max_columns)
        return (r if k % 2 == 0 else max_columns - 1 - r), y + k * band

    return {i: fold(x, y) for i, (x, y) in pos.items()}


def _check_scale(value, name):
    """Inches per layout unit: positive, and small enough for a figure (at most 100)."""
    v = check_positive(value, name)
    if v > 100:
        raise ValueError(f"{name}: expected at most 100 (inches per layout unit), got {value!r}")
    return v


def draw_dag(nodes, edges, ax=None, pos=None, xscale=2.2, yscale=1.3, fontsize=9, title=None,
             max_columns=None):
    """Draw a DAG with boxes, circles and arrows; returns the matplotlib Axes.

    ``nodes``: list of dicts ``{"id", "text", "kind"}``, kind one of ``leaf`` (input),
    ``param`` (parameter), ``value`` (intermediate), ``loss`` and ``op`` (operation,
    drawn as a circle). ``edges``: list of ``(source, target)`` or
    ``(source, target, label)``; a repeated edge (a value used twice by one
    operation) is drawn as a second, curved arrow. ``pos`` overrides the automatic
    :func:`layout` with ``{id: (x, y)}``; ``max_columns`` folds a wide layout into
    bands (see :func:`wrap_columns`).
    """
    import matplotlib.pyplot as plt

    if ax is not None and not all(callable(getattr(ax, a, None)) for a in ("text", "annotate")):
        raise ValueError(f"ax: expected None or a matplotlib Axes, got {type(ax).__name__}")
    xscale, yscale = _check_scale(xscale, "xscale"), _check_scale(yscale, "yscale")
    fontsize = check_positive(fontsize, "fontsize")
    if not 1 <= fontsize <= 100:
        raise ValueError(f"fontsize: expected a size in points between 1 and 100, got {fontsize!r}")
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title: expected None or a string, got {type(title).__name__} {title!r}")
    if pos is None:
        pos = layout(nodes, edges)
    else:
        _check(nodes, edges)
        pos = _check_pos(pos)
        missing = [n["id"] for n in nodes if n["id"] not in pos]
        if missing:
            raise ValueError(f"pos: no position for nodes {missing}")
    if max_columns is not None:
        pos = wrap_columns(pos, max_columns)
    xy = {i: (x * xscale, -y * yscale) for i, (x, y) in pos.items()}
    if ax is None:
        xs = [p[0] for p in xy.values()]
        ys = [p[1] for p in xy.values()]
        w = max(4.0, 1.1 * (max(xs) - min(xs)) + 2.0)
        h = max(2.0, 0.75 * (max(ys) - min(ys)) + 1.4)
        _, ax = plt.subplots(figsize=(min(w, 12.0), min(h, 8.0)))
    ax.set_axis_off()
    ax.grid(False)
    texts = {}
    for n in nodes:
        face, edge, box = _STYLE[n.get("kind", "value")]
        x, y = xy[n["id"]]
        texts[n["id"]] = ax.text(
            x, y, n["text"], ha="center", va="center", fontsize=fontsize, zorder=3,
            bbox=dict(boxstyle=box, facecolor=face, edgecolor=edge, linewidth=1.2))
    ax.set_xlim(min(p[0] for p in xy.values()) - 1.0, max(p[0] for p in xy.values()) + 1.0)
    ax.set_ylim(min(p[1] for p in xy.values()) - 0.8, max(p[1] for p in xy.values()) + 0.8)
    ax.figure.canvas.draw()   # size the boxes once, so that arrows can stop at their borders
    seen = {}
    for e in edges:
        s, t = e[0], e[1]
        k = seen.get((s, t), 0)
        seen[(s, t)] = k + 1
        rad = 0.0 if k == 0 else 0.35 * (1 if k % 2 else -1) * ((k + 1) // 2)
        ax.annotate("", xy=xy[t], xytext=xy[s], zorder=4,
                    arrowprops=dict(arrowstyle="-|>", color="#444444", lw=1.0,
                                    connectionstyle=f"arc3,rad={rad}",
                                    patchA=texts[s].get_bbox_patch(), patchB=texts[t].get_bbox_patch(),
                                    shrinkA=2, shrinkB=2))
        if len(e) > 2 and e[2]:
            mx, my = (xy[s][0] + xy[t][0]) / 2, (xy[s][1] + xy[t][1]) / 2
            ax.text(mx, my + 0.12, e[2], ha="center", va="bottom", fontsize=fontsize - 1,
                    color="#444444", zorder=4)
    if title:
        ax.set_title(title)
    return ax
