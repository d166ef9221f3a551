"""The root conftest.py's test ordering and ``--shard K/N`` (CI splits the browser test of the
website over its two streams), on a small made-up test module run in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MODULE = """
import pytest
GROUP_BY_PAGE = {group}
PAGES = ["a.html", "notebooks/b.html", "notebooks/c.html", "d.html"]

@pytest.mark.parametrize("path", PAGES)
def test_one(path):
    pass

def test_alone():
    pass

@pytest.mark.parametrize("chapter", ["b", "c"])
def test_two(chapter):
    pass

@pytest.mark.parametrize("path", PAGES)
def test_three(path):
    pass
"""


@pytest.fixture
def module(tmp_path):
    def write(group):
        path = tmp_path / f"test_made_up_{group}.py"
        path.write_text(textwrap.dedent(MODULE.format(group=group)), encoding="utf-8")
        return path
    return write


def _collected(path, *extra):
    """(return code, stderr, collected test names) of ``pytest --collect-only`` with the root
    conftest.py loaded as a plugin (the made-up module lies outside the repository)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         "-p", "no:nbval", "-p", "conftest", "--collect-only", str(path), *extra],
        cwd=path.parent, capture_output=True, text=True, check=False, env=env)
    names = [line.split("::", 1)[1] for line in out.stdout.splitlines() if "::" in line]
    return out.returncode, out.stderr, names


def test_tests_of_one_page_run_together_and_stay_in_one_share(module):
    path = module(True)
    rc, err, every = _collected(path)
    assert rc == 0, err
    assert every == ["test_one[a.html]", "test_three[a.html]",
                     "test_one[notebooks/b.html]", "test_two[b]", "test_three[notebooks/b.html]",
                     "test_one[notebooks/c.html]", "test_two[c]", "test_three[notebooks/c.html]",
                     "test_one[d.html]", "test_three[d.html]", "test_alone"]
    # groups in order: a, b, c, d, test_alone -> share 1 of 2 holds a, c and test_alone
    first = _collected(path, "--shard", "1/2")[2]
    second = _collected(path, "--shard", "2/2")[2]
    assert first == [t for t in every if "a.html" in t or "c" in t.split("[")[-1] or t == "test_alone"]
    assert sorted(first + second) == sorted(every) and not set(first) & set(second)
    assert _collected(path, "--shard", "1,2/2")[2] == every


def test_without_group_by_page_order_is_kept_and_shares_are_every_nth(module):
    path = module(False)
    rc, err, every = _collected(path)
    assert rc == 0, err
    assert every[:2] == ["test_one[a.html]", "test_one[notebooks/b.html]"] and len(every) == 11
    assert _collected(path, "--shard", "2/3")[2] == every[1::3]
    assert _collected(path, "--shard", "1,3/3")[2] == [t for i, t in enumerate(every) if i % 3 != 1]


def test_bad_shard_is_a_usage_error(module):
    rc, err, _ = _collected(module(False), "--shard", "4/3")
    assert rc == 4 and "1 <= K <= N" in err
