"""The Dagster UI as users use it: headless Chromium against `dagster dev` (webserver + daemon).

Steps: the asset graph shows every domain's group; turning on the sessions sensor adds
the demo sessions as partitions; one session is materialized from the UI and its run
succeeds; the asset page shows check results and QC metadata. Screenshots of every step
go to test-artifacts/ui/.
"""

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from brainstar.cli.local_dagster import dagster_server
from platform_assets.definitions import defs
from tests.conftest import REPO_ROOT, VENV_BIN, subprocess_env
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, UiDriver

pytestmark = [pytest.mark.slow, pytest.mark.ui]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
DEMO_SESSION = "sub-01_ses-01"


def groups_in_definitions() -> list[str]:
    graph = defs.resolve_asset_graph()
    return sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
    # One good session and the broken one keep the sensor's runs light; DICOM is tested elsewhere.
    shutil.rmtree(root / "landing" / "neuro" / "sub-02")
    command = [str(VENV_BIN / "dagster"), "dev", "-w", "workspace.yaml"]
    with dagster_server(
        command, env=subprocess_env(env), log_path=root / "dagster_dev.log", timeout=180
    ) as url:
        yield url


@pytest.fixture(scope="module")
def ui(dagster_dev: str) -> Iterator[UiDriver]:
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
    def look() -> bool:
        if text in ui.text():
            return True
        ui.page.mouse.move(700, 500)
        ui.page.mouse.wheel(0, 600)
        return False

    return look


def test_1_asset_graph_shows_every_domain_group(ui: UiDriver) -> None:
    ui.open("/assets?view=folder")
    for group in groups_in_definitions():
        # The catalog draws only the rows in view: scroll down until the group's first row shows.
        ui.wait_until(seen_after_scrolling(ui, group), f"group {group!r} in the catalog", timeout=90)
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
