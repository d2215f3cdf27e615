"""The discovery sensors through build_sensor_context + evaluate_tick, as the daemon runs them."""

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from brainstar.core.landing import scan_neuro_sessions
from platform_assets.definitions import defs
from platform_assets.neuro.partitions import neuro_sessions
from resources import LandingZone
from sensors.neuro_sessions import (
    MAX_RUNS_PER_RESCAN,
    build_neuro_sessions_sensor,
    discover_sessions,
    neuro_rescan_sensor,
    neuro_sessions_sensor,
)

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


def test_discovery_decision_changes_nothing(tmp_path: Path) -> None:
    land(tmp_path, "sub-01", "ses-01")
    land(tmp_path, "sub-02", "ses-01", age_seconds=None)
    scan = scan_neuro_sessions(tmp_path)
    one_look = discover_sessions(scan, set(), settle_seconds=60, now=time.time(), previous=None)
    assert one_look.ready == ["sub-01_ses-01"] and list(one_look.pending) == ["sub-02_ses-01"]
    first = discover_sessions(scan, set(), settle_seconds=60, now=time.time(), previous={})
    assert first.ready == [], "with history, a first look is never enough"
    second = discover_sessions(
        scan, {"sub-02_ses-01"}, settle_seconds=60, now=time.time(), previous=first.pending
    )
    assert second.ready == ["sub-01_ses-01"] and second.pending == {}


@dg.asset(partitions_def=neuro_sessions)
def session_marker() -> None:
    """Stands in for a session's run: any run tagged with the partition counts."""


def test_rescan_registers_sessions_and_runs_only_those_never_run(
    instance: dg.DagsterInstance, landing: Path
) -> None:
    demo_sessions = ["sub-01_ses-01", "sub-02_ses-01", "sub-03_ses-01"]
    first = tick(instance, landing, settle=0, sensor=neuro_rescan_sensor)
    assert instance.get_dynamic_partitions(neuro_sessions.name) == demo_sessions
    assert [r.partition_key for r in first.run_requests] == demo_sessions
    assert {r.run_key for r in first.run_requests} == {f"rescan:{key}" for key in demo_sessions}
    assert all(r.tags["dagster/priority"] == "10" for r in first.run_requests)

    dg.materialize([session_marker], instance=instance, partition_key="sub-01_ses-01")
    second = tick(instance, landing, cursor=first.cursor, settle=0, sensor=neuro_rescan_sensor)
    assert second.dynamic_partitions_requests == []
    assert [r.partition_key for r in second.run_requests] == demo_sessions[1:]


def test_rescan_runs_sessions_registered_without_a_run_and_caps_them(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    keys = [f"sub-{index:03d}_ses-01" for index in range(MAX_RUNS_PER_RESCAN + 5)]
    instance.add_dynamic_partitions(neuro_sessions.name, keys)  # e.g. a restart before the launch
    result = tick(instance, tmp_path, sensor=neuro_rescan_sensor)
    assert [r.partition_key for r in result.run_requests] == keys[:MAX_RUNS_PER_RESCAN]
    assert result.dynamic_partitions_requests == []


def test_rescan_skips_when_every_session_ran(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    result = tick(instance, tmp_path, sensor=neuro_rescan_sensor)
    assert result.run_requests == []
    assert result.skip_message == "every registered session has a run"
    assert neuro_rescan_sensor.minimum_interval_seconds == 3600
