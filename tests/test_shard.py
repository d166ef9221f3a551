"""The root conftest.py's --shard K/N option (CI splits the browser test over its two streams):
the shares of one N are disjoint and together are the whole collection, in collection order."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collected(*extra):
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         "--collect-only", "tests/test_lock.py", *extra],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode in (0, 4), out.stdout + out.stderr
    return out, [line for line in out.stdout.splitlines() if "::" in line]


def test_shards_partition_the_collection():
    _, every = _collected()
    assert len(every) >= 5
    second = _collected("--shard", "2/3")[1]
    others = _collected("--shard", "1,3/3")[1]
    assert second == every[1::3]
    assert others == [t for i, t in enumerate(every) if i % 3 != 1]


def test_bad_shard_is_a_usage_error():
    out, _ = _collected("--shard", "4/3")
    assert out.returncode == 4 and "1 <= K <= N" in out.stderr
