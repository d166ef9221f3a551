"""Paste the measured tables (``benchmarks/results/*.md``, written by ``python -m benchmarks``)
into README.md between the ``benchmark-results`` markers: one section per CPU, each with the
machine lines (CPU model, BLAS, threads, load average) the run printed.

Run:  python -m benchmarks.readme [--check]   (--check: fail if the README is out of date)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- benchmark-results:begin -->", "<!-- benchmark-results:end -->"


def rendered() -> str:
    parts = [BEGIN, ""]
    files = sorted(RESULTS.glob("*.md"))
    if not files:
        parts += ["(no results yet: run `python -m benchmarks`)", ""]
    for f in files:
        parts += [f"### `benchmarks/results/{f.name}`", "", f.read_text().rstrip(), ""]
    parts.append(END)
    return "\n".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md is not up to date")
    args = ap.parse_args(argv)
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"README.md: the markers {BEGIN} and {END} are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + rendered() + tail
    if args.check:
        sys.exit(0 if new == text else "README.md: benchmark results out of date (python -m benchmarks.readme)")
    readme.write_text(new)
    print(f"README.md: {len(list(RESULTS.glob('*.md')))} result file(s) pasted")


if __name__ == "__main__":
    main()
