"""The Dagster UI end to end: `dagster dev` on a small landing set, driven by headless Chromium.

Lineage graph, a raw asset's checks, a mart's metadata, and a backfill of
three signup weeks launched from the asset's Materialize dialog and run by the
daemon. Screenshots go to .funnel/screenshots/ (FUNNEL_SCREENSHOTS to change).

Needs Debian's /usr/bin/chromium (.ci/run installs it) and Playwright, which
never downloads a browser here: it drives that executable. Without them the
test skips with the reason, or fails when FUNNEL_REQUIRE_BROWSER=1 (CI).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from funnel_assets.cli import ensure_instance_config
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.orchestration.launch import run_everything
from funnel_assets_tests.landing import write_landing
from funnel_assets_tests.test_identity_store import _records

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# STACK.md: what makes Debian's Chromium render the UI headless on these machines
# (Playwright gives each launch its own fresh profile directory).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GROUPS = ["ingest", "identity", "stages", "marts"]
BACKFILL_WEEKS = ("2025-03-03", "2025-03-17")  # three signup weeks


def _browser_or_skip():
    required = os.environ.get("FUNNEL_REQUIRE_BROWSER") == "1"
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found (apt-get install chromium)"
        if required:
            pytest.fail(message + "; FUNNEL_REQUIRE_BROWSER=1")
        pytest.skip(message + "; set FUNNEL_REQUIRE_BROWSER=1 to fail instead")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright not installed (pip install -e '.[test]'); set FUNNEL_REQUIRE_BROWSER=1 to fail instead")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DagsterDev:
    """`dagster dev` in its own process group (so one SIGTERM to the group stops webserver, daemon and code server)."""

    def __init__(self, home: Path, env: dict[str, str], log: Path, command: list[str] | None = None):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        dagster = Path(sys.executable).parent / "dagster"
        command = command or [str(dagster), "dev", "-w", str(ROOT / "workspace.yaml")]
        self.process = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=ROOT,
            env={**os.environ, **env, "DAGSTER_HOME": str(home), "FUNNEL_UI_BASE_URL": self.base},
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the `set -m` of STACK.md: a group of its own, which takes SIGTERM
        )

    def wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/server_info", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        raise AssertionError(f"dagster dev did not answer /server_info in {timeout}s:\n{self.log_tail()}")

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base + "/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer
        return answer["data"]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def screenshots() -> Path:
    folder = Path(os.environ.get("FUNNEL_SCREENSHOTS", ROOT / ".funnel" / "screenshots"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def test_the_ui_shows_lineage_checks_metadata_and_runs_a_backfill(tmp_path, definitions, screenshots):
    sync_playwright = _browser_or_skip()
    data_dir, warehouse, home = tmp_path / "data", tmp_path / "warehouse.duckdb", tmp_path / "dagster_home"
    write_landing(data_dir, _records())
    home.mkdir()
    ensure_instance_config(home)  # deploy/dagster.yaml, as funnel and `make ui` write it

    # materialise everything first, into the instance the UI will read (as `funnel run` does)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        resource = FunnelResource(data_dir=str(data_dir), warehouse_path=str(warehouse))
        assert run_everything(definitions, resource, instance).success
    finally:
        instance.dispose()

    env = {
        "FUNNEL_DATA_DIR": str(data_dir),
        "FUNNEL_WAREHOUSE": str(warehouse),
        "FUNNEL_ALERT_LOG": str(tmp_path / "alerts" / "alerts.jsonl"),
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    dev = DagsterDev(home, env, tmp_path / "dagster_dev.log")
    try:
        dev.wait_until_up()
        assert dev.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True  # the welcome pop-up would cover the graph

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 2400, "height": 4200})
            page.set_default_timeout(90_000)  # a loaded machine took over 30 s to draw the launch dialog
            try:
                _lineage(page, dev, screenshots)
                _checks(page, dev, screenshots)
                _mart_metadata(page, dev, screenshots)
                _backfill(page, dev, screenshots)
            except Exception:
                page.screenshot(path=str(screenshots / "failure.png"))
                print(dev.log_tail())
                raise
            finally:
                browser.close()
    finally:
        dev.stop()
    assert dev.process.returncode is not None


def _shown(scope, text: str, exact: bool = False):
    """The first visible element with this text (the UI also keeps hidden copies, to measure truncated names)."""
    return scope.get_by_text(text, exact=exact).filter(visible=True).first


def _lineage(page, dev: DagsterDev, screenshots: Path) -> None:
    expanded = ",".join(f"global@global:{group}" for group in GROUPS)
    page.goto(f"{dev.base}/asset-groups?expanded={urllib.parse.quote(expanded)}")
    for name in ("developer_events", "developer_stages", "raw_api_keys", "raw_email_events", "identity_users", "mart_sdk_usage"):
        _shown(page, name, exact=True).wait_for()
    for group in GROUPS:
        assert page.get_by_text(group, exact=True).count() >= 2, group  # in the sidebar and as a box in the graph
    page.wait_for_timeout(1000)  # let the edges settle before the picture
    page.screenshot(path=str(screenshots / "1_lineage.png"))


def _checks(page, dev: DagsterDev, screenshots: Path) -> None:
    # the list truncates long names; the selected check's full name heads the panel beside it
    check = "raw_gateway_requests_reconciles_input_lines"
    page.goto(f"{dev.base}/assets/raw_gateway_requests?view=checks&checkDetail={check}")
    _shown(page, check, exact=True).wait_for()
    _shown(page, "Passed", exact=True).wait_for()
    for text in ("observed_value", "threshold", "blocking"):
        _shown(page, text).wait_for()
    page.screenshot(path=str(screenshots / "2_checks_raw_gateway_requests.png"))


def _mart_metadata(page, dev: DagsterDev, screenshots: Path) -> None:
    page.goto(f"{dev.base}/assets/mart_production_rate")
    _shown(page, "Latest materialization").wait_for()
    metadata = _shown(page, "Metadata", exact=True)
    metadata.wait_for()
    for text in ("Row count", "rate_30d", "complete_90d", "preview"):
        _shown(page, text).wait_for()
    metadata.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "3_mart_production_rate_metadata.png"), full_page=True)


def _backfill(page, dev: DagsterDev, screenshots: Path) -> None:
    first, last = BACKFILL_WEEKS
    page.goto(f"{dev.base}/assets/mart_production_rate")
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Show all partitions").click()  # the dialog opens on the last 90 days only
    selection = dialog.locator("input[type=text]").first
    selection.fill(f"[{first}...{last}]")
    selection.press("Enter")
    _shown(dialog, "3 partitions").wait_for()
    _shown(dialog, "Backfills all partitions in a single run.").wait_for()
    page.screenshot(path=str(screenshots / "4_backfill_dialog.png"))
    dialog.get_by_role("button", name="Launch backfill").click()

    query = "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id status numPartitions } } } }"
    deadline = time.monotonic() + 150
    backfills = []
    while time.monotonic() < deadline:
        backfills = dev.graphql(query)["partitionBackfillsOrError"]["results"]
        if backfills and backfills[0]["status"] not in ("REQUESTED", "CANCELING"):
            break
        time.sleep(2)
    assert len(backfills) == 1, backfills
    assert backfills[0]["status"] in ("COMPLETED_SUCCESS", "COMPLETED"), f"{backfills}\n{dev.log_tail()}"
    assert backfills[0]["numPartitions"] == 3

    page.goto(f"{dev.base}/runs/b/{backfills[0]['id']}")
    _shown(page, f"{first}...{last}").wait_for()
    _shown(page, "Succeeded", exact=True).wait_for()
    _shown(page, "100% completed").wait_for()
    page.screenshot(path=str(screenshots / "5_backfill_succeeded.png"))
