"""Run every benchmark and print its table: ``python -m benchmarks [--quick] [--only NAME ...]``.

A full run (not ``--quick``) also writes everything it printed to
``benchmarks/results/<cpu>.md`` (one file per CPU model, replaced by the next full run on that
CPU); ``python -m benchmarks.readme`` pastes those files into the README. Tables are never
copied by hand.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import sys
import time
from pathlib import Path

from . import attention, book, conv, scaling, train_step
from ._common import cpu_slug

# scaling (NumPy only) runs before train_step: after PyTorch's parallel regions its OpenMP
# threads keep spinning for a while, and on 2 cores they slowed the NumPy steps timed after
# them by up to 60 %
BENCHMARKS = {"scaling": scaling, "train_step": train_step, "conv": conv, "attention": attention,
              "book": book}
RESULTS = Path(__file__).resolve().parent / "results"


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, s):
        for st in self.streams:
            st.write(s)
        return len(s)

    def flush(self):
        for st in self.streams:
            st.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a fast smoke run (few steps, fewer sizes, notebooks only collected, no book build): not a measurement")
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    ap.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/<cpu>.md")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    buf = io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"python -m benchmarks {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
              + f"  ({started})")
        print()
        for name in args.only or BENCHMARKS:
            BENCHMARKS[name].run(quick=args.quick)
        print(f"benchmarks done in {time.perf_counter() - t0:.1f} s{' (quick mode)' if args.quick else ''}")
    if not args.quick and not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        suffix = "" if not args.only else "-" + "-".join(args.only)
        path = RESULTS / f"{cpu_slug()}{suffix}.md"
        path.write_text("```text\n" + buf.getvalue() + "```\n")
        print(f"written to {path.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
