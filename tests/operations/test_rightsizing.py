"""Right-sizing: usage recorded by real steps, recommendations from a recorded history, applied."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from brainstar.cli.main import cli
from brainstar.core import rightsizing
from brainstar.core.rightsizing import Requests, StepUsage
from platform_assets.definitions import defs
from platform_assets.operations import executors
from platform_assets.operations import rightsizing as wiring
from platform_assets.operations.resource_usage import CPU_SECONDS_KEY, PEAK_RSS_KEY, WALL_SECONDS_KEY
from tests.operations.usage_probe import allocate_and_report


@pytest.mark.parametrize(("quantity", "cores"), [("2", 2.0), ("500m", 0.5), ("1.5", 1.5)])
def test_cpu_quantities(quantity: str, cores: float) -> None:
    assert rightsizing.parse_cpu(quantity) == cores
    assert rightsizing.parse_cpu(rightsizing.format_cpu(cores)) == cores


@pytest.mark.parametrize(("quantity", "mib"), [("2Gi", 2048), ("512Mi", 512), ("1G", 1e9 / 2**20)])
def test_memory_quantities(quantity: str, mib: float) -> None:
    assert rightsizing.parse_memory_mib(quantity) == pytest.approx(mib)


def test_recommendation_is_p95_plus_headroom_rounded_up_and_weighs_long_steps() -> None:
    # 20 runs of one hour: peaks 1000..1950 MiB (p95 1902.5), one core busy half the time.
    runs = [StepUsage("neuro__preprocessed_dwi", 1000 + 50 * i, 1800, 3600) for i in range(20)]
    [rec] = rightsizing.recommend(runs, {}, Requests(cpu=2, memory_mib=8192))
    assert rec.p95_peak_rss_mib == pytest.approx(1902.5)
    assert rec.recommended == Requests(cpu=0.75, memory_mib=2560)  # 0.625 -> 0.75; 2378 -> 2560
    assert rec.core_hours_saved == pytest.approx((2 - 0.75) * 20)
    assert rec.gib_hours_saved == pytest.approx((8192 - 2560) / 1024 * 20)
    assert not rec.under_requested


def test_a_step_that_uses_more_than_it_asks_is_flagged_and_grows() -> None:
    runs = [StepUsage("astro__spectral_model", 3000, 7000, 3600)] * 5
    [rec] = rightsizing.recommend(
        runs, {"astro__spectral_model": Requests(2, 2048, gpus=1)}, Requests(1, 2048)
    )
    assert rec.under_requested
    assert rec.recommended == Requests(cpu=2.5, memory_mib=3840, gpus=1)
    assert rec.gib_hours_saved < 0


def test_too_few_runs_give_no_recommendation() -> None:
    [rec] = rightsizing.recommend([StepUsage("x", 100, 1, 1)] * 2, {}, Requests(1, 2048))
    assert rec.recommended is None
    assert rightsizing.per_step_k8s_config([rec]) == {}


def test_a_step_records_its_own_peak_memory() -> None:
    """In a fresh process, as each step runs under the multiprocess and k8s executors, started by
    a parent that once held more: ru_maxrss keeps the parent's peak across fork and exec and
    reported 1.6 GB for this step in the full suite; the step's own peak is what is recorded."""
    import numpy as np

    parent_peak = np.ones(900 * 2**20 // 8)  # this process's peak is now at least 900 MiB
    del parent_peak
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=allocate_and_report, args=(400, results))
    process.start()
    metadata = results.get(timeout=120)
    process.join(timeout=30)
    assert metadata["n"] == 400 * 2**20 // 8
    # The block on top of what the process held before the step (its interpreter and imports);
    # the allocator may keep more around it, which a pod must hold too.
    assert 399 <= metadata[PEAK_RSS_KEY] - metadata["before"] < 400 + 300  # 1 MiB: page rounding
    assert metadata[WALL_SECONDS_KEY] >= 0 and metadata[CPU_SECONDS_KEY] > 0


def _record(instance: dg.DagsterInstance, key: str, peak: float, cpu: float, wall: float) -> None:
    metadata = {PEAK_RSS_KEY: peak, CPU_SECONDS_KEY: cpu, WALL_SECONDS_KEY: wall}
    instance.report_runless_asset_event(dg.AssetMaterialization(key.split("/"), metadata=metadata))


def test_recommendations_from_a_recorded_history_are_applied_to_the_k8s_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for peak in (900, 950, 1000, 1100):
            _record(instance, "neuro/dti_maps", peak, cpu=120, wall=100)
        _record(instance, "neuro/raw_session", 300, cpu=1, wall=2)  # one run: not enough to say
        instance.report_runless_asset_event(dg.AssetMaterialization(["neuro", "bids_session"]))  # no usage
    monkeypatch.setattr(wiring, "STEP_REQUESTS_FILE", tmp_path / "step_requests.yaml")

    result = CliRunner().invoke(cli, ["rightsize", "--apply"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    dti = next(line for line in lines if line.startswith("neuro__dti_maps"))
    # p95: 1085 MiB and 1.2 cores; x 1.25 -> 1356 MiB (rounded up to 1536) and 1.5 cores
    assert "1 / 2Gi" in dti and "1500m / 1536Mi" in dti
    assert "(asks for less than it uses)" in dti
    assert next(line for line in lines if line.startswith("neuro__raw_session")).split()[-1] == "0.00"
    assert "wrote requests for 1 step(s)" in result.output

    config = executors.k8s_executor_config({})["per_step_k8s_config"]
    requests = config["neuro__dti_maps"]["container_config"]["resources"]["requests"]
    assert requests == {"cpu": "1500m", "memory": "1536Mi"}
    assert set(config) == {"neuro__dti_maps"}
    own, _ = wiring.current_requests(defs.resolve_asset_graph().assets_defs)
    assert own["neuro__dti_maps"] == Requests(1.5, 1536)


def test_the_recommendations_asset_reads_the_same_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINSTAR_WAREHOUSE_DIR", str(tmp_path / "warehouse"))  # the bound Warehouse reads it

    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for peak in (900, 950, 1000, 1100):
            _record(instance, "neuro/dti_maps", peak, cpu=120, wall=100)
        # Among every asset of the code location, as the asset reads their keys and requests from it.
        result = dg.materialize(
            list(defs.resolve_asset_graph().assets_defs),
            selection=["operations/resource_recommendations"],
            instance=instance,
        )
    [materialization] = result.asset_materializations_for_node("operations__resource_recommendations")
    metadata = materialization.metadata
    assert metadata["n_steps_sized"].value == 1 and metadata["n_under_requested"].value == 1
    assert (
        "| neuro__dti_maps | 4 | 1085.0 | 1.2 | 1 / 2Gi | 1500m / 1536Mi |"
        in metadata["recommendations"].value
    )
