"""Structure of the GitHub Actions workflows (they cannot run here, so check their shape)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
STRICT_BUILD = "jupyter-book build -W -n --keep-going ."


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job["steps"]


def test_there_is_a_pages_workflow():
    assert ROOT / ".github" / "workflows" / "pages.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_structure(path):
    workflow = load(path)
    # YAML 1.1 (PyYAML) reads the unquoted key `on` as the boolean True.
    triggers = workflow.get("on", workflow.get(True))
    assert triggers, f"{path.name}: no `on:` triggers"
    assert workflow.get("jobs"), f"{path.name}: no jobs"
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"{path.name}: job {name} has no runs-on"
        assert job.get("steps"), f"{path.name}: job {name} has no steps"
        for step in job["steps"]:
            assert "uses" in step or "run" in step, f"{path.name}: {name} has an empty step"


def test_pages_workflow_builds_strictly_and_deploys():
    workflow = load(ROOT / ".github" / "workflows" / "pages.yml")
    triggers = workflow.get("on", workflow.get(True))
    assert "main" in triggers["push"]["branches"] and "workflow_dispatch" in triggers
    perms = workflow["permissions"]
    assert perms == {"contents": "read", "pages": "write", "id-token": "write"}
    all_steps = list(steps(workflow))
    runs = "\n".join(s.get("run", "") for s in all_steps)
    assert STRICT_BUILD in runs
    assert "pip install -r requirements.txt" in runs
    uploads = [s for s in all_steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(uploads) == 1 and uploads[0]["with"]["path"] == "_build/html"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
