"""Run every benchmark and print its table: ``python -m benchmarks [--quick] [--only NAME ...]``."""
from __future__ import annotations

import argparse
import time

from . import attention, book, scaling, train_step

# scaling (NumPy only) runs before train_step: after PyTorch's parallel regions its OpenMP
# threads keep spinning for a while, and on 2 cores they slowed the NumPy steps timed after
# them by up to 60 %
BENCHMARKS = {"scaling": scaling, "train_step": train_step, "attention": attention, "book": book}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="a fast smoke run (few steps, fewer sizes, notebooks only collected, no book build): not a measurement")
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    for name in args.only or BENCHMARKS:
        BENCHMARKS[name].run(quick=args.quick)
    print(f"benchmarks done in {time.perf_counter() - t0:.1f} s{' (quick mode)' if args.quick else ''}")


if __name__ == "__main__":
    main()
