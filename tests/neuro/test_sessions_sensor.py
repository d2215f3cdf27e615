"""The sessions sensor through build_sensor_context + evaluate_tick, as the daemon runs it."""

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.definitions import defs
from resources import LandingZone
from sensors.neuro_sessions import build_neuro_sessions_sensor, neuro_sessions_sensor

OLD = time.time() - 3600


def land(root: Path, subject: str, session: str, *, age_seconds: float | None = 3600) -> Path:
    folder = root / "neuro" / subject / session
    folder.mkdir(parents=True)
    for name in ("dwi.nii.gz", "dwi.bval", "dwi.bvec"):
        (folder / name).write_bytes(b"x" * 10)
    if age_seconds is not None:
        stamp = time.time() - age_seconds
        for path in [*folder.iterdir(), folder]:
            os.utime(path, (stamp, stamp))
    return folder


def tick(
    instance: dg.DagsterInstance, landing: Path, cursor: str | None = None, settle: float = 60, sensor=None
) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),
        cursor=cursor,
        resources={"landing_zone": LandingZone(root=str(landing), settle_seconds=settle)},
        definitions=defs,
    )
    result = (sensor or neuro_sessions_sensor).evaluate_tick(context)
    # The daemon applies the partition requests before launching runs; so do we.
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def two_looks(instance: dg.DagsterInstance, landing: Path, **kwargs) -> dg.SensorResult:
    """A first look records fingerprints; the second, finding them unchanged, requests runs."""
    first = tick(instance, landing, **kwargs)
    assert first.run_requests == [], "a session is never complete at its first look"
    return tick(instance, landing, cursor=first.cursor, **{k: v for k, v in kwargs.items() if k != "cursor"})


@pytest.fixture
def instance(tmp_path_factory: pytest.TempPathFactory) -> dg.DagsterInstance:
    # A persistent (temporary-folder) instance: evaluate_tick validates partitioned run
    # requests through the instance's ref, which an ephemeral instance does not have.
    with dg.DagsterInstance.local_temp(str(tmp_path_factory.mktemp("dagster_home"))) as instance:
        yield instance


def test_new_settled_session_becomes_a_partition_and_one_run(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    land(tmp_path, "sub-01", "ses-01")
    result = two_looks(instance, tmp_path)
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [("sub-01_ses-01", "sub-01_ses-01")]
    assert instance.get_dynamic_partitions("neuro_sessions") == ["sub-01_ses-01"]


def test_session_still_being_written_waits(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    land(tmp_path, "sub-01", "ses-01", age_seconds=None)  # written just now
    result = tick(instance, tmp_path)
    assert result.run_requests == []
    assert "1 settling" in result.skip_message
    assert "sub-01_ses-01" in json.loads(result.cursor)["pending"]
    assert instance.get_dynamic_partitions("neuro_sessions") == []


def test_repeated_tick_never_launches_twice(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    land(tmp_path, "sub-01", "ses-01")
    first = two_looks(instance, tmp_path)
    second = tick(instance, tmp_path, cursor=first.cursor)
    assert len(first.run_requests) == 1
    assert second.run_requests == []
    assert "1 known" in second.skip_message


def test_copy_with_preserved_mtimes_needs_two_identical_looks(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    folder = land(tmp_path, "sub-01", "ses-01")  # old mtimes, as rsync -a leaves them
    first = tick(instance, tmp_path)
    assert first.run_requests == []
    (folder / "dwi.bvec").write_bytes(b"x" * 20)  # still copying: the size changes
    os.utime(folder / "dwi.bvec", (OLD, OLD))
    second = tick(instance, tmp_path, cursor=first.cursor)
    assert second.run_requests == []
    third = tick(instance, tmp_path, cursor=second.cursor)
    assert [r.partition_key for r in third.run_requests] == ["sub-01_ses-01"]


def test_cursor_survives_a_restart(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    land(tmp_path, "sub-01", "ses-01")
    saved_cursor = tick(instance, tmp_path).cursor  # first look: pending
    (tmp_path / "restarted_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "restarted_home")) as restarted:
        restarted.add_dynamic_partitions("neuro_sessions", instance.get_dynamic_partitions("neuro_sessions"))
        result = tick(restarted, tmp_path, cursor=saved_cursor, settle=60)
    assert [r.partition_key for r in result.run_requests] == ["sub-01_ses-01"]


def test_bad_names_are_reported_and_never_become_partitions(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    land(tmp_path, "sub-01", "ses-01")
    land(tmp_path, "sub-0_2", "ses-01")
    land(tmp_path, "sub-03", "ses-..x")
    (tmp_path / "neuro" / "notes.txt").write_text("hello")
    first = two_looks(instance, tmp_path)
    assert [r.partition_key for r in first.run_requests] == ["sub-01_ses-01"]
    second = tick(instance, tmp_path, cursor=first.cursor)
    message = second.skip_message
    assert "3 name(s) break the landing contract" in message
    assert "neuro/sub-0_2" in message and "neuro/sub-03/ses-..x" in message and "neuro/notes.txt" in message
    assert instance.get_dynamic_partitions("neuro_sessions") == ["sub-01_ses-01"]


def test_new_keys_per_tick_are_capped(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    for index in range(5):
        land(tmp_path, f"sub-{index:02d}", "ses-01")
    sensor = build_neuro_sessions_sensor(max_new_sessions_per_tick=2)
    seen: list[str] = []
    cursor = None
    for _ in range(6):  # each batch of two needs two looks
        result = tick(instance, tmp_path, cursor=cursor, sensor=sensor)
        assert len(result.run_requests) <= 2
        seen += [r.partition_key for r in result.run_requests]
        cursor = result.cursor
    assert seen == [f"sub-{index:02d}_ses-01" for index in range(5)]
