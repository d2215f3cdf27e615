"""The survey-files sensor: settled new or changed files start one astro run, never twice."""

import os
import time
from pathlib import Path

import dagster as dg

from brainstar.core.landing import survey_listing
from platform_assets.definitions import defs
from resources import LandingZone
from sensors.astro_survey_files import astro_survey_files_sensor


def _write(path: Path, content: bytes, age_seconds: float = 3600.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - age_seconds
    os.utime(path, (then, then))


def _tick(instance: dg.DagsterInstance, landing: Path, cursor: str | None, settle: float = 60.0):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"landing_zone": LandingZone(root=str(landing), settle_seconds=settle)},
        definitions=defs,
    )
    return astro_survey_files_sensor.evaluate_tick(context)


def test_new_files_start_one_run_and_a_repeated_tick_none(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _write(landing / "astro" / "gaia" / "gaia_source_000.csv", b"source_id,parallax\n1,2.5\n")
    _write(landing / "astro" / "sdss" / "spec-0266-51602-0001.fits", b"x" * 2880)
    with dg.DagsterInstance.ephemeral() as instance:
        first = _tick(instance, landing, None)
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        assert request.tags["brainstar/changed_surveys"] == "gaia,sdss"
        assert request.tags["dagster/priority"] == "10"

        again = _tick(instance, landing, first.cursor)
        assert not again.run_requests and "no settled change" in again.skip_message

        _write(landing / "astro" / "kepler" / "kplr000757076-2009166043257_llc.fits", b"y" * 2880)
        third = _tick(instance, landing, again.cursor or first.cursor)
        assert [r.tags["brainstar/changed_surveys"] for r in third.run_requests] == ["kepler"]
        assert third.run_requests[0].run_key != request.run_key


def test_a_file_still_being_copied_waits_for_the_settle_time(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _write(landing / "astro" / "gaia" / "gaia_source_000.csv", b"source_id\n1\n", age_seconds=0)
    with dg.DagsterInstance.ephemeral() as instance:
        waiting = _tick(instance, landing, None, settle=60)
        assert not waiting.run_requests and "still settling: gaia" in waiting.skip_message
        ready = _tick(instance, landing, waiting.cursor, settle=0)
        assert len(ready.run_requests) == 1


def test_a_replaced_file_of_the_same_size_changes_the_listing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    target = landing / "astro" / "gaia" / "gaia_source_000.csv"
    _write(target, b"source_id\n1\n", age_seconds=7200)
    before = survey_listing(landing, "gaia")
    _write(target, b"source_id\n2\n", age_seconds=3600)
    after = survey_listing(landing, "gaia")
    assert before.n_files == after.n_files == 1
    assert before.digest != after.digest
