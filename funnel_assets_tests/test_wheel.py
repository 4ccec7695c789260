"""The package as a user gets it: a built wheel (not an editable install), in a fresh virtual environment.

The source tree is copied to a temporary folder (what a clean clone holds),
built with `pip wheel --no-deps`, installed with its dependencies into a new
virtual environment (no system site-packages; pip's cache makes it quick),
and `funnel demo` runs end to end from a folder outside the repository.
Slow (a minute or two): `pytest -m "not slow"` leaves it out locally; CI runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _source_tree(target: Path) -> Path:
    """The files a clean clone holds (tracked, plus new files not ignored), copied to `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_a_built_wheel_runs_the_demo_in_a_fresh_virtual_environment(tmp_path):
    source = _source_tree(tmp_path / "clone")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), str(source)],
         cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("funnel_assets-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for carried in ["funnel_assets/lib/quality/sql/reconciliation.sql", "funnel_assets/defs/marts/sql/mart_ttfac_by_cohort.sql",
                    "funnel_assets/data_contracts/gateway_requests/v2.yaml", "funnel_assets/deploy/dagster.yaml",
                    "funnel_assets/deploy/dagster_postgres.yaml"]:
        assert carried in names, carried
    contracts = {p.relative_to(REPO).as_posix() for p in (REPO / "data_contracts").rglob("*.yaml")}
    assert {f"funnel_assets/{c}" for c in contracts} <= names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "FUNNEL_", "PYTHON"))}
    where = _run([str(python), "-c", "import funnel_assets; print(funnel_assets.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the installed copy, not the clone

    demo = _run([str(venv / "bin" / "funnel"), "demo", "--developers", "200", "--weeks", "3", "--requests", "8000"],
                cwd=work, env=env)
    assert "Where to look:" in demo.stdout
    shown = _run([str(venv / "bin" / "funnel"), "show", "mart_ttfac_by_cohort", "--format", "json"], cwd=work, env=env)
    rows = json.loads(shown.stdout)
    assert sum(r["developers"] for r in rows) == 200
    home = (work / ".funnel" / "warehouse.dagster").resolve()
    instance = yaml.safe_load((home / "dagster.yaml").read_text())
    assert instance["run_coordinator"] == yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["run_coordinator"]
    assert instance["event_log_storage"]["config"] == {"instance_dir": str(home)}  # the wheel's storage, in this folder
    assert (home / "history" / "runs" / "index.db").exists()
