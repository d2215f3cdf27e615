"""Neuro session discovery: every landed session becomes a partition and one run.

One decision, :func:`discover_sessions`, says which landed sessions are complete and new; it
reads the landing zone and changes nothing. Two sensors act on it through ``SensorResult``
so that the daemon records every added partition in the tick:

- ``neuro_sessions_sensor`` looks every 30 s and runs each new session once;
- ``neuro_rescan_sensor`` looks hourly, as a safety net: it catches sessions that landed
  while the first sensor was off, and registered sessions whose run was never launched (a
  daemon restart between adding the partition and launching its run). Each partition gets
  at most one rescan run ever (``run_key``), so a session that fails on bad input is not
  relaunched every hour.

``brainstar sessions register`` applies the same decision to an instance without a daemon.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import dagster as dg

from brainstar.core import landing
from platform_assets.neuro.jobs import neuro_session_job
from platform_assets.neuro.partitions import neuro_sessions
from platform_assets.operations.run_tags import DISCOVERY_PRIORITY, priority
from resources import LandingZone

CURSOR_VERSION = 1
PARTITION_TAG = "dagster/partition"
MAX_RUNS_PER_RESCAN = 50
RESCAN_INTERVAL_SECONDS = 3600

LandingScan = tuple[list[landing.LandedSession], list[landing.RejectedEntry]]


@dataclass(frozen=True)
class Discovery:
    """What one look at the landing zone found; applying it is the caller's business."""

    ready: list[str]  # keys of complete sessions not yet partitions, in landing order
    pending: dict[str, landing.Fingerprint]  # new sessions still settling, as this look saw them
    deferred: int  # new sessions not looked at because of the per-look cap
    rejected: list[landing.RejectedEntry]  # names that break the landing contract, entries not read


def discover_sessions(
    scan: LandingScan,
    known_keys: set[str],
    *,
    settle_seconds: float,
    now: float,
    previous: dict[str, landing.Fingerprint] | None,
    limit: int | None = None,
) -> Discovery:
    """Decide which landed sessions are new and complete.

    With ``previous`` (a sensor's cursor), a session is complete once old enough AND unchanged
    since the previous look, which catches copies that preserve old mtimes (``rsync -a``).
    Without it (one look, no history: the command line), old enough is complete.
    """
    sessions, rejected = scan
    step = landing.settle_step(sessions, known_keys, previous, settle_seconds, now, limit)
    ready = [session.partition_key for session in step.ready]
    return Discovery(ready, step.pending, step.deferred, rejected + step.rejected)


def decode_cursor(cursor: str | None) -> dict[str, landing.Fingerprint]:
    """The sessions still settling at the previous tick, with their fingerprints."""
    if not cursor:
        return {}
    payload = json.loads(cursor)
    if payload.get("version") != CURSOR_VERSION:
        return {}  # an older layout: forgetting it only delays settling by one tick
    return {key: landing.Fingerprint.from_list(value) for key, value in payload["pending"].items()}


def encode_cursor(pending: dict[str, landing.Fingerprint]) -> str:
    return json.dumps(
        {"version": CURSOR_VERSION, "pending": {key: fp.as_list() for key, fp in sorted(pending.items())}}
    )


def _look(
    context: dg.SensorEvaluationContext, landing_zone: LandingZone, limit: int
) -> tuple[set[str], Discovery]:
    """The known partitions and this tick's decision; rejected names go to the tick's log."""
    known = set(context.instance.get_dynamic_partitions(neuro_sessions.name))
    found = discover_sessions(
        landing_zone.neuro_sessions(),
        known,
        settle_seconds=landing_zone.settle_time(),
        now=time.time(),
        previous=decode_cursor(context.cursor),
        limit=limit,
    )
    for entry in found.rejected:
        context.log.warning(f"skipped {entry.relative_path}: {entry.reason}")
    return known, found


def _result(found: Discovery, requests: list[dg.RunRequest], skip_reason: str) -> dg.SensorResult:
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[neuro_sessions.build_add_request(found.ready)] if found.ready else [],
        cursor=encode_cursor(found.pending),
        skip_reason=None if requests else skip_reason,
    )


def _run_request(key: str, run_key: str) -> dg.RunRequest:
    return dg.RunRequest(partition_key=key, run_key=run_key, tags=priority(DISCOVERY_PRIORITY))


def build_neuro_sessions_sensor(
    max_new_sessions_per_tick: int = 50, minimum_interval_seconds: int = 30
) -> dg.SensorDefinition:
    @dg.sensor(
        name="neuro_sessions_sensor",
        job=neuro_session_job,
        minimum_interval_seconds=minimum_interval_seconds,
        description="Adds each settled neuro/sub-*/ses-* landing folder as a partition and runs it once.",
    )
    def neuro_sessions_sensor(
        context: dg.SensorEvaluationContext, landing_zone: LandingZone
    ) -> dg.SensorResult:
        known, found = _look(context, landing_zone, max_new_sessions_per_tick)
        requests = [_run_request(key, run_key=key) for key in found.ready]
        return _result(found, requests, _skip_reason(len(known), found))

    return neuro_sessions_sensor


def sessions_never_run(instance: dg.DagsterInstance, known_keys: set[str]) -> list[str]:
    """Registered sessions without any run, in key order (one query for all run partitions)."""
    ran: set[str] = set()
    for _, values in instance.get_run_tags(tag_keys=[PARTITION_TAG]):
        ran |= set(values)
    return sorted(known_keys - ran)


@dg.sensor(
    name="neuro_rescan_sensor",
    job=neuro_session_job,
    minimum_interval_seconds=RESCAN_INTERVAL_SECONDS,
    description="Hourly safety net: registers settled sessions and runs any session that never ran.",
)
def neuro_rescan_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZone) -> dg.SensorResult:
    known, found = _look(context, landing_zone, MAX_RUNS_PER_RESCAN)
    if found.ready:
        context.log.info(f"registering {len(found.ready)} session(s) the sessions sensor had not")
    # Sessions added by this tick have no run either; the daemon adds them before launching.
    missing = sorted(set(sessions_never_run(context.instance, known)) | set(found.ready))
    requests = [_run_request(key, run_key=f"rescan:{key}") for key in missing[:MAX_RUNS_PER_RESCAN]]
    return _result(found, requests, "every registered session has a run")


def _skip_reason(n_known: int, found: Discovery) -> str:
    parts = [f"no new settled session ({n_known} known, {len(found.pending)} settling)"]
    if found.deferred:
        parts.append(f"{found.deferred} deferred to the next tick")
    if found.rejected:
        shown = "; ".join(f"{entry.relative_path}: {entry.reason}" for entry in found.rejected[:5])
        more = f" and {len(found.rejected) - 5} more" if len(found.rejected) > 5 else ""
        parts.append(f"{len(found.rejected)} name(s) break the landing contract: {shown}{more}")
    return ". ".join(parts)


neuro_sessions_sensor = build_neuro_sessions_sensor()
