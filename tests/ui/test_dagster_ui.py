"""The Dagster UI as users use it: headless Chromium against `dagster dev` (webserver + daemon).

Steps: the asset graph shows every domain's group; turning on the sessions sensor adds
the demo sessions as partitions; one session is materialized from the UI and its run
succeeds; the asset page shows check results and QC metadata; a session's partition page
shows its key figure; a failed check shows why it failed; an astro model, the cortex
validation report and a brain module's partition show their key figures. Each figure must
have loaded in the browser (natural width above 0), not only be named on the page.
Screenshots of every step go to test-artifacts/ui/, which CI keeps.
"""

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from brainstar.cli.local_dagster import dagster_server
from brainstar.demo.astro.surveys import write_astro_surveys
from platform_assets.definitions import defs
from platform_assets.metadata import KEY_FIGURE_ALT
from tests.astro.conftest import SMALL as SMALL_ASTRO_SURVEYS
from tests.conftest import REPO_ROOT, VENV_BIN, subprocess_env
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, UiDriver

pytestmark = [pytest.mark.slow, pytest.mark.ui]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
DEMO_SESSION = "sub-01_ses-01"
# A copy of the demo session with b-vectors 10 % too long: raw_session materializes and its
# blocking header check fails, so the session stops there (seconds, not a preprocessing run).
FAILING_SESSION = "sub-04_ses-01"
CHECK_REASON = "b-vectors deviate from unit length by up to 0.100"
# The figures three steps open, each materialized with everything upstream of it by
# `dagster asset materialize`: an astro model; the cortex validation report on a short column run
# (one digit seed of ten images: its blocking digit check fails, exit status 1, after the report
# materialized); a brain module's report.
FIGURE_ASSETS = "*astro/sed_model"
CORTEX_REPORT = "*cortex/validation_report"
CORTEX_SETTINGS = {
    "t_sim_ms": 500.0,
    "warmup_ms": 100.0,
    "training_seeds": [0],
    "digit_train_images": 10,
    "digit_test_images": 10,
    "distal_reward_seconds": 20,
}
CORTEX_CONFIG = json.dumps({"ops": {"cortex__biological_config": {"config": CORTEX_SETTINGS}}})
MODULE = "basal_ganglia"
MODULE_STAGES = "group:brain_modules and not key:brain_modules/integrate_brain_modules"


def groups_in_definitions() -> list[str]:
    graph = defs.resolve_asset_graph()
    return sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})


@pytest.fixture(scope="module")
def ui_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The instance and the folders every process of these tests shares, with the data landed."""
    root = tmp_path_factory.mktemp("ui")
    env = {
        "DAGSTER_HOME": str(root / "dagster_home"),
        "BRAINSTAR_LANDING_DIR": str(root / "landing"),
        "BRAINSTAR_WAREHOUSE_DIR": str(root / "warehouse"),
        "BRAINSTAR_SETTLE_SECONDS": "0",
        "BRAINSTAR_DEVICE": "cpu",
    }
    Path(env["DAGSTER_HOME"]).mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "local" / "dagster.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
    subprocess.run(
        [str(VENV_BIN / "brainstar"), "demo-data", "--domain", "neuro"],
        env=subprocess_env(env),
        check=True,
        capture_output=True,
        timeout=300,
    )
    sessions = root / "landing" / "neuro"
    # One good session, the broken one and the one failing its check keep the sensor's runs
    # light; DICOM is tested elsewhere.
    shutil.rmtree(sessions / "sub-02")
    write_session_failing_its_header_check(sessions / "sub-01", sessions / FAILING_SESSION.split("_")[0])
    # The small surveys of the astro tests: the full demo is ~400 MB and a minute to write.
    write_astro_surveys(root / "landing", seed=3, sizes=SMALL_ASTRO_SURVEYS)
    return env


def write_session_failing_its_header_check(good: Path, target: Path) -> None:
    shutil.copytree(good, target)
    for bvec in target.glob("*/dwi.bvec"):
        np.savetxt(bvec, np.loadtxt(bvec) * 1.1, fmt="%.6f")


@dataclass(frozen=True)
class FigureAssets:
    process: subprocess.Popen[bytes]
    log_path: Path

    def wait(self, timeout: float = 900) -> None:
        """Until the materialization ends; fails the test with the log's tail if it failed."""
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the figures' assets still materializing after {timeout:.0f} s; log {self.log_path}")
        if returncode != 0:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            pytest.fail(
                f"materializing the figures' assets failed ({returncode}); log {self.log_path}:\n{tail}"
            )


@pytest.fixture(scope="module")
def figure_assets(ui_env: dict[str, str], dagster_dev: str) -> Iterator[FigureAssets]:
    """``dagster asset materialize`` of the figures' assets and their inputs, as users run it.

    The astro model on the small surveys takes 3.5 minutes alone on two busy cores and about 5
    beside the neuro runs (ingesting the Kepler light curves most of it), the short cortex run
    about one, the module seconds; so it starts with the first test and runs while the neuro
    steps wait on the sensor's runs.

    Not before ``dagster dev`` is up: two processes creating a new instance's SQLite storage
    at once both stamp its schema ("more than one head"), and the server fails to start.
    """
    log_path = Path(ui_env["DAGSTER_HOME"]).parent / "figure_assets.log"
    materialize = f"{VENV_BIN / 'dagster'} asset materialize -m platform_assets.definitions --select"
    script = (
        f"set -e; {materialize} '{FIGURE_ASSETS}'; "
        f"{materialize} '{CORTEX_REPORT}' --config-json '{CORTEX_CONFIG}' || [ $? -eq 1 ]; "
        f"{materialize} '{MODULE_STAGES}' --partition {MODULE}"
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["bash", "-c", script],
            env=subprocess_env(ui_env),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield FigureAssets(process, log_path)
        finally:
            if process.poll() is None:  # the tests stopped early
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:  # Dagster waits for the running step to end
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def dagster_dev(ui_env: dict[str, str]) -> Iterator[str]:
    root = Path(ui_env["DAGSTER_HOME"]).parent
    command = [str(VENV_BIN / "dagster"), "dev", "-w", "workspace.yaml"]
    with dagster_server(
        command, env=subprocess_env(ui_env), log_path=root / "dagster_dev.log", timeout=180
    ) as url:
        yield url


@pytest.fixture(scope="module")
def ui(dagster_dev: str, figure_assets: FigureAssets) -> Iterator[UiDriver]:
    # figure_assets is asked for here only to start it with the first test.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.set_default_timeout(30_000)
        try:
            yield UiDriver(page, dagster_dev, ARTIFACTS)
        finally:
            browser.close()


def seen_after_scrolling(ui: UiDriver, text: str) -> Callable[[], bool]:
    """Scroll the virtualised catalog down a screen at a time, back to the top once at the bottom.

    The catalog sorts rows by asset name and refreshes while runs go on, which can move the list
    under the scroll: going round again rather than only down finds a group wherever it lies.
    """
    last_seen = [""]

    def look() -> bool:
        shown = ui.text()
        if text in shown:
            return True
        ui.page.mouse.move(700, 500)
        at_bottom = shown == last_seen[0]
        ui.page.mouse.wheel(0, -100_000 if at_bottom else 700)
        last_seen[0] = "" if at_bottom else shown
        return False

    return look


def test_1_asset_graph_shows_every_domain_group(ui: UiDriver) -> None:
    ui.open("/assets?view=folder")
    for group in groups_in_definitions():
        # The catalog draws only the rows in view: scroll round until the group's first row shows.
        ui.wait_until(seen_after_scrolling(ui, group), f"group {group!r} in the catalog", timeout=180)
    ui.shot("catalog_groups")
    ui.open("/asset-groups")
    for group in groups_in_definitions():  # the lineage view draws one box per group
        ui.wait_for_text(group, timeout=60)
    ui.shot("asset_graph")


def test_2_sensor_adds_the_demo_sessions_as_partitions(ui: UiDriver) -> None:
    ui.open("/locations/brainstar/sensors/neuro_sessions_sensor")
    ui.wait_for_text("Adds each settled", timeout=60)
    ui.page.locator("label:has(input[type=checkbox])").first.click()
    ui.shot("sensor_turned_on")
    ui.open("/assets/neuro/raw_session?view=partitions")
    for key in (DEMO_SESSION, "sub-03_ses-01"):
        ui.wait_for_text(key, timeout=180, reload_every=10)
    ui.shot("partitions_added")


def test_3_materialize_one_session_from_the_ui(ui: UiDriver) -> None:
    ui.open("/assets/neuro/raw_session?view=partitions")
    ui.page.get_by_role("button", name="Materialize").first.click()
    ui.page.get_by_text("Select a partition or create one").click()
    popover = ui.page.locator(".dagster-popover")
    popover.get_by_text(DEMO_SESSION, exact=True).filter(visible=True).first.click()
    ui.page.get_by_text("Launch runs to materialize").click()  # closes the partition picker only
    launch = ui.page.get_by_role("button", name="Launch 1 run")
    launch.wait_for(state="visible")
    ui.shot("launch_dialog")
    launch.click()
    toast = ui.page.get_by_text("Launched run")
    toast.wait_for(state="visible")
    ui.shot("run_launched")
    run_id = re.search(r"Launched run (\w+)", toast.inner_text()).group(1)
    ui.open("/runs")
    ui.wait_until(
        lambda: "Success" in run_row_text(ui, run_id),
        f"run {run_id} to succeed",
        timeout=420,
        reload_every=30,
    )
    ui.shot("run_succeeded")


def run_row_text(ui: UiDriver, run_id: str) -> str:
    """The run list's row for ``run_id``: from its id to the row's own View button."""
    text = ui.text()
    start = text.find(run_id)
    return text[start : text.find("\nView\n", start)] if start >= 0 else ""


def test_4_asset_page_shows_checks_and_qc_metadata(ui: UiDriver) -> None:
    ui.open("/assets/neuro/preprocessed_dwi?view=partitions")
    ui.wait_for_text("Materialized (1)", timeout=420, reload_every=15)
    ui.open("/assets/neuro/preprocessed_dwi")
    for field in ("fd_max_mm", "snr_b0_in_mask", "mask_fraction"):
        ui.wait_for_text(field, timeout=60)
    ui.shot("asset_metadata")
    ui.open("/assets/neuro/preprocessed_dwi?view=checks")
    for check in ("motion_within_limit", "mask_coverage_plausible"):
        ui.wait_for_text(check, timeout=60)
    ui.page.get_by_text("motion_within_limit").first.click()
    # Each session runs separately, so the latest execution may be the broken session's
    # (its run fails before the check, "Execution failed"); the history holds every one.
    ui.page.get_by_text("Execution history").click()
    ui.wait_for_text("Passed", timeout=120, reload_every=15)
    ui.shot("check_history")
    ui.page.locator("tr", has_text="Passed").first.get_by_role("button").last.click()  # metadata
    ui.wait_for_text("fd_max_mm", timeout=60)  # the check's own numbers
    ui.shot("check_metadata")


def test_5_neuro_lineage_shows_each_stage_and_its_checks(ui: UiDriver) -> None:
    ui.open("/locations/brainstar/asset-groups/neuro/lineage")
    for asset in ("raw_session", "bids_session", "preprocessed_dwi", "dti_maps", "connectome"):
        ui.wait_for_text(asset, timeout=60)
    ui.page.get_by_text("Hide navigation").click()  # the graph gets the whole width
    ui.page.wait_for_timeout(1000)
    ui.shot("neuro_lineage")


def show_key_figure(ui: UiDriver) -> int:
    """Show the current page's ``key_figure`` and wait for it to load; its natural width in pixels.

    Markdown metadata shows as a "[Show Markdown]" link in the metadata table; the figure
    (a PNG data URI in the Markdown) renders in the dialog the link opens.
    """
    ui.wait_for_text("key_figure", timeout=60)
    row = ui.page.locator("tr", has=ui.page.get_by_text("key_figure", exact=True)).first
    row.get_by_text("Show Markdown").click()
    width = ui.wait_for_image(KEY_FIGURE_ALT)
    ui.page.wait_for_timeout(500)  # the dialog fades in: a screenshot at once shows it half clear
    return width


def test_6_neuro_partition_page_shows_the_session_key_figure(ui: UiDriver) -> None:
    ui.open(f"/assets/neuro/preprocessed_dwi?view=partitions&partition={DEMO_SESSION}")
    ui.wait_for_text("Latest materialization", timeout=120, reload_every=15)
    assert show_key_figure(ui) > 0
    ui.shot("neuro_partition_key_figure")


def test_7_failed_check_shows_its_reason(ui: UiDriver) -> None:
    def reason_in_history() -> bool:
        # The URL keeps the check but not the tab; the latest execution may be another
        # session's, and the history has a row per session with the result's description.
        ui.open("/assets/neuro/raw_session?view=checks&checkDetail=headers_consistent")
        ui.page.get_by_text("Execution history").click()
        ui.page.get_by_text(CHECK_REASON).first.wait_for(state="visible", timeout=10_000)
        return True

    ui.wait_until(reason_in_history, f"{FAILING_SESSION}'s failed check in the history", timeout=300)
    row = ui.page.locator("tr", has_text=CHECK_REASON).first
    assert row.get_by_text(CHECK_REASON).is_visible()
    assert "Failed" in row.inner_text() and FAILING_SESSION in row.inner_text()
    ui.shot("failed_check_reason")


def test_8_astro_model_page_shows_its_key_figure(ui: UiDriver, figure_assets: FigureAssets) -> None:
    figure_assets.wait()
    ui.open("/assets/astro/sed_model")
    assert show_key_figure(ui) > 0
    ui.shot("astro_model_key_figure")


def test_9_cortex_report_shows_its_key_figure(ui: UiDriver, figure_assets: FigureAssets) -> None:
    figure_assets.wait()
    ui.open("/assets/cortex/validation_report")
    assert show_key_figure(ui) > 0
    ui.shot("cortex_report_key_figure")


def test_10_brain_module_partition_shows_its_report_figure(ui: UiDriver, figure_assets: FigureAssets) -> None:
    figure_assets.wait()
    ui.open(f"/assets/brain_modules/module_validation?view=partitions&partition={MODULE}")
    ui.wait_for_text("Latest materialization", timeout=120, reload_every=15)
    assert show_key_figure(ui) > 0
    ui.shot("brain_module_key_figure")
