"""Regenerate a chapter's .ipynb from its MyST .md twin and execute it.

    python scripts/run_notebook.py notebooks/backprop/chain_rule.md [more.md ...]

(no argument: every notebook; DLBOOK_CELL_TIMEOUT sets the per-cell timeout, default 120 s)

The .md file is the one you edit. This script reads it with Jupytext, runs every
cell in a fresh kernel of the current Python environment (working directory
notebooks/, one thread and the reference numerics of tests/reference_numerics.py, so the
stored numbers match CI's), and writes the paired
.ipynb with its outputs. nbval later re-runs the .ipynb and compares the outputs.
"""
from __future__ import annotations

import os
import pathlib
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(md_path: pathlib.Path, timeout: int = int(os.environ.get("DLBOOK_CELL_TIMEOUT", 120))) -> float:
    md_path = md_path.resolve()
    if md_path.suffix != ".md":
        raise SystemExit(f"{md_path}: expected the .md twin of a notebook")
    nb = jupytext.read(md_path)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,md:myst"
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True,
                            resources={"metadata": {"path": str(md_path.parent)}})
    client.execute()
    elapsed = time.perf_counter() - start
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"  # stable ids: a re-run changes only what the code changed
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)  # timings are noise in a diff
            cell.outputs = _merge_streams(cell.outputs)
    nbformat.validate(nb)
    jupytext.write(nb, md_path.with_suffix(".ipynb"), fmt="ipynb")
    jupytext.write(nb, md_path, fmt="md:myst")  # normalise the text twin the same way
    return elapsed


def _merge_streams(outputs):
    """Join consecutive stream outputs of the same name (the kernel may split one print in two)."""
    merged = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == out["name"]):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def main(argv: list[str]) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    sys.path.insert(0, str(ROOT / "tests"))
    import reference_numerics
    for line in reference_numerics.apply():
        print(line)
    paths = [pathlib.Path(a) for a in argv] or sorted((ROOT / "notebooks").rglob("*.md"))
    for p in paths:
        print(f"{p}: executed in {run(p):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
