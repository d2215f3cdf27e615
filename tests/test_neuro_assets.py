"""Header gates through Dagster: one run per session, failures stay in their partition."""

from pathlib import Path

import dagster as dg
import pytest

from brainstar.cli.neuro_sessions import register_settled_sessions
from brainstar.demo.landing import DEMO_SESSIONS
from platform_assets.definitions import defs
from tests.conftest import tree_digest

RAW = dg.AssetKey(["neuro", "raw_session"])
BIDS = dg.AssetKey(["neuro", "bids_session"])
ALL_KEYS = [f"sub-{d.subject}_ses-{d.session}" for d in DEMO_SESSIONS]


@pytest.fixture
def instance(brainstar_env: dict[str, str]) -> dg.DagsterInstance:
    with dg.DagsterInstance.get() as instance:
        yield instance


def run_first_stages(instance: dg.DagsterInstance, partition: str) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("neuro_session_job")
    return job.execute_in_process(
        instance=instance, partition_key=partition, asset_selection=[RAW, BIDS], raise_on_error=False
    )


def test_register_adds_each_session_once(instance: dg.DagsterInstance, landing: Path) -> None:
    first = register_settled_sessions(instance, landing)
    assert first.ready == ALL_KEYS
    assert register_settled_sessions(instance, landing).ready == []
    assert instance.get_dynamic_partitions("neuro_sessions") == ALL_KEYS


def test_broken_session_fails_alone_and_landing_zone_is_untouched(
    instance: dg.DagsterInstance, landing: Path, brainstar_env: dict[str, str]
) -> None:
    register_settled_sessions(instance, landing)
    before = tree_digest(landing)
    good, broken = run_first_stages(instance, "sub-01_ses-01"), run_first_stages(instance, "sub-03_ses-01")
    assert good.success
    assert not broken.success
    error = broken.get_step_failure_events()[0].step_failure_data.error
    while error.cause is not None:
        error = error.cause
    assert "sub-03/ses-01/dwi.bvec: 31 b-vectors for 33 volumes" in error.message
    assert not [e for e in broken.all_events if e.is_step_up_for_retry]  # bad input is never retried
    assert tree_digest(landing) == before
    warehouse = Path(brainstar_env["BRAINSTAR_WAREHOUSE_DIR"])
    assert (warehouse / "neuro/bids_session/sub-01/ses-01/dwi/sub-01_ses-01_dwi.nii.gz").is_file()
    assert not (warehouse / "neuro/raw_session/sub-03_ses-01").exists()


def test_failed_header_gate_stops_that_session_downstream_only(
    instance: dg.DagsterInstance, landing: Path
) -> None:
    bval = landing / "neuro" / "sub-01" / "ses-01" / "dwi.bval"
    bval.write_text(" ".join(["0"] * 3 + ["5e6"] * 30) + "\n")
    register_settled_sessions(instance, landing)
    gated, other = run_first_stages(instance, "sub-01_ses-01"), run_first_stages(instance, "sub-02_ses-01")

    evaluation = gated.get_asset_check_evaluations()[0]
    assert not evaluation.passed and "implausible" in evaluation.description
    assert evaluation.metadata["n_volumes"].value == 33
    assert [e.asset_key for e in gated.get_asset_materialization_events()] == [RAW]  # BIDS never ran
    assert other.success
    assert {e.asset_key for e in other.get_asset_materialization_events()} == {RAW, BIDS}


def test_each_asset_declares_the_assets_whose_files_it_reads() -> None:
    graph = defs.resolve_asset_graph()
    upstream = {
        "bids_session": {"raw_session"},
        "preprocessed_dwi": {"bids_session"},
        "dti_maps": {"preprocessed_dwi"},
        "parcellation_stats": {"raw_session", "preprocessed_dwi", "dti_maps"},  # labels, mask, maps
        "connectome": {"preprocessed_dwi", "dti_maps", "parcellation_stats"},
        "cohort_table": {"preprocessed_dwi", "parcellation_stats"},
        "qc_report": {"bids_session", "preprocessed_dwi", "dti_maps"},
    }
    for name, expected in upstream.items():
        parents = graph.get(dg.AssetKey(["neuro", name])).parent_keys
        assert {key.path[-1] for key in parents} == expected, name
