"""The master workflow's schedule and the daily cleanup."""

import os
import time
from pathlib import Path

import pytest

from brainstar.core.atomic import atomic_path
from brainstar.core.cleanup import remove_stale_temporary_files
from platform_assets.operations.jobs import cleanup_job, workflow_job
from platform_assets.operations.schedules import build_workflow_schedule
from resources import Warehouse


def test_workflow_cron_defaults_to_every_third_day_at_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAINSTAR_WORKFLOW_CRON", raising=False)
    assert build_workflow_schedule().cron_schedule == "0 2 */3 * *"
    monkeypatch.setenv("BRAINSTAR_WORKFLOW_CRON", "15 4 * * 1")
    assert build_workflow_schedule().cron_schedule == "15 4 * * 1"


def test_workflow_job_covers_what_no_sensor_drives() -> None:
    from platform_assets.definitions import defs

    job = defs.resolve_job_def(workflow_job.name)
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert {"neuro/cohort_table", "cortex/promoted_column", "astro/promote_sed_model"} <= keys
    assert not {"neuro/raw_session", "neuro/connectome"} & keys
    assert job.tags["dagster/priority"] == "5" and job.tags["dagster/max_runtime"] == "21600"
    # The schedule launches it without a partition key: nothing partitioned may join it.
    assert job.partitions_def is None


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _killed_write(target: Path) -> Path:
    """What a run killed between write and rename leaves: atomic_path's temporary file."""
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        leftover = tmp.with_name(tmp.name)  # atomic_path removes tmp on error; keep a copy of its name
        raise KeyboardInterrupt
    leftover.write_bytes(b"half a file")
    return leftover


def test_cleanup_removes_only_stale_temporary_files(tmp_path: Path) -> None:
    stale = _killed_write(tmp_path / "neuro" / "dti_maps" / "sub-01_ses-01" / "fa.nii.gz")
    fresh = _killed_write(tmp_path / "neuro" / "dti_maps" / "sub-02_ses-01" / "fa.nii.gz")
    output = tmp_path / "neuro" / "dti_maps" / "sub-01_ses-01" / "md.nii.gz"
    output.write_bytes(b"a real output")
    lookalike = tmp_path / ".notes.tmp-draft.txt"  # a user's file: not atomic_path's pattern
    lookalike.write_text("keep me")
    for path in (stale, output, lookalike):
        _age(path, 3 * 24 * 3600)

    report = remove_stale_temporary_files(tmp_path, older_than_seconds=24 * 3600, now=time.time())

    assert report.removed == [stale] and report.bytes_freed == len(b"half a file")
    assert not stale.exists() and fresh.exists() and output.exists() and lookalike.exists()


def test_cleanup_job_reports_what_it_removed(tmp_path: Path) -> None:
    stale = _killed_write(tmp_path / "astro" / "feature_store" / "spectral.parquet")
    _age(stale, 2 * 24 * 3600)
    result = cleanup_job.execute_in_process(resources={"warehouse": Warehouse(root=str(tmp_path))})
    assert result.success
    assert result.output_for_node("remove_stale_temporary_outputs") == 1
    assert not stale.exists()


def test_the_light_cleanup_job_runs_in_process_while_pipelines_keep_step_processes() -> None:
    import dagster as dg

    from platform_assets.definitions import defs

    assert defs.resolve_job_def("cleanup_job").executor_def is dg.in_process_executor
    for heavy in ("neuro_session_job", "cortex_job", "astro_job"):
        assert defs.resolve_job_def(heavy).executor_def is not dg.in_process_executor
