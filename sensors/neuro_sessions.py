"""The sessions sensor: each settled landed session becomes a partition and one run."""

import json
import time

import dagster as dg

from brainstar.core import landing
from platform_assets.neuro.jobs import neuro_session_job
from platform_assets.neuro.partitions import neuro_sessions
from platform_assets.operations.run_tags import DISCOVERY_PRIORITY, priority
from resources import LandingZone

CURSOR_VERSION = 1


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
        sessions, rejected = landing_zone.neuro_sessions()
        for entry in rejected:
            context.log.warning(f"skipped {entry.relative_path}: {entry.reason}")
        known = set(context.instance.get_dynamic_partitions(neuro_sessions.name))
        decision = landing.settle_step(
            sessions,
            known,
            decode_cursor(context.cursor),
            landing_zone.settle_time(),
            time.time(),
            max_new_sessions_per_tick,
        )
        keys = [session.partition_key for session in decision.ready]
        requests = [
            dg.RunRequest(partition_key=key, run_key=key, tags=priority(DISCOVERY_PRIORITY)) for key in keys
        ]
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[neuro_sessions.build_add_request(keys)] if keys else [],
            cursor=encode_cursor(decision.pending),
            skip_reason=None if requests else _skip_reason(len(known), decision, rejected),
        )

    return neuro_sessions_sensor


def _skip_reason(
    n_known: int, decision: landing.SettleDecision, rejected: list[landing.RejectedEntry]
) -> str:
    parts = [f"no new settled session ({n_known} known, {len(decision.pending)} settling)"]
    if decision.deferred:
        parts.append(f"{decision.deferred} deferred to the next tick")
    if rejected:
        shown = "; ".join(f"{entry.relative_path}: {entry.reason}" for entry in rejected[:5])
        more = f" and {len(rejected) - 5} more" if len(rejected) > 5 else ""
        parts.append(f"{len(rejected)} name(s) break the landing contract: {shown}{more}")
    return ". ".join(parts)


neuro_sessions_sensor = build_neuro_sessions_sensor()
