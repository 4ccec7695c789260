"""`funnel run` refuses bad input in one line naming its place: configuration, landing entries, the key."""

import os

import pytest

from funnel_assets.cli import main
from funnel_assets_tests.landing import at, write_landing
from funnel_assets_tests.test_known_answers import call, key, user


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("FUNNEL_PSEUDONYM_KEY", raising=False)
    data = tmp_path / "data"
    write_landing(data, {
        "auth_users": [user("u1", 0)],
        "api_keys": [key("k1", "u1", 0, minutes=1)],
        "gateway_requests": [call("k1", at(minutes=4))],
    })
    return tmp_path, data, str(tmp_path / "w.duckdb")


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_real_data_with_the_published_demo_key_is_refused(workspace, capsys):
    tmp_path, data, warehouse = workspace
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 1
    err = _one_line_error(capsys)
    assert "published demo key" in err and "FUNNEL_PSEUDONYM_KEY" in err and "--demo-data" in err
    assert not os.path.exists(warehouse)  # refused before anything was written


def test_demo_data_may_use_the_demo_key_when_said_so(workspace, capsys):
    _, data, warehouse = workspace
    assert main(["run", "--data", str(data), "--warehouse", warehouse, "--demo-data"]) == 0


def test_a_key_of_ones_own_runs(workspace, capsys, monkeypatch):
    _, data, warehouse = workspace
    config = workspace[0] / "funnel.yaml"
    config.write_text("pseudonym_key: a-secret-of-our-own\n")
    # refused up to the run itself: an unknown landing entry stops it after the key was accepted
    (data / "landing" / "gateway_requests" / "2026-13-45.jsonl").write_text("{}\n")
    assert main(["run", "--data", str(data), "--warehouse", warehouse, "--config", str(config)]) == 1
    err = _one_line_error(capsys)
    assert "demo key" not in err
    path = data / "landing" / "gateway_requests" / "2026-13-45.jsonl"
    assert err == f"error: {path}: 2026-13-45 is not a calendar day (expected <YYYY-MM-DD>)"


@pytest.mark.parametrize(("content", "expected"), [
    ("- milestone_event: x\n", "expected a mapping of settings (name: value), not a YAML list"),
    ("milestone_evnt: first_payment\n", "unknown setting 'milestone_evnt'; did you mean 'milestone_event'?"),
    ("session_gap_minutes: soon\n", "session_gap_minutes: Input should be a valid integer"),
    ("milestone_event: [unclosed\n", "not valid YAML"),
])
def test_a_bad_configuration_file_is_named_in_one_line(workspace, capsys, content, expected):
    tmp_path, data, warehouse = workspace
    config = tmp_path / "funnel.yaml"
    config.write_text(content)
    assert main(["run", "--data", str(data), "--warehouse", warehouse, "--config", str(config), "--demo-data"]) == 1
    err = _one_line_error(capsys)
    assert err.startswith(f"error: {config}: ") and expected in err


def test_a_symbolic_link_in_the_landing_folder_stops_the_run_in_one_line(workspace, capsys, tmp_path):
    _, data, warehouse = workspace
    link = data / "landing" / "auth_users" / "2025-03-04.jsonl"
    os.symlink("/etc/passwd", link)
    assert main(["run", "--data", str(data), "--warehouse", warehouse, "--demo-data"]) == 1
    assert _one_line_error(capsys) == (f"error: {link}: a symbolic link (to /etc/passwd); landing files must be "
                                       f"regular files inside the landing folder")


def test_an_unforeseen_error_prints_one_line_and_logs_the_traceback(workspace, capsys):
    tmp_path, data, warehouse = workspace
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert main(["run", "--data", str(data), "--warehouse", warehouse, "--config", str(folder)]) == 1
    err = _one_line_error(capsys)
    log = tmp_path / "dagster_home" / "funnel-errors.log"
    assert err.startswith("error: IsADirectoryError: ") and err.endswith(f"(traceback in {log})")
    assert "Traceback (most recent call last)" in log.read_text()
