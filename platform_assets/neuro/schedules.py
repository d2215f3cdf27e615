"""The hourly rescan: a safety net under the sessions sensor.

It catches what the sensor cannot: sessions that landed while the sensor was off, and
registered sessions whose run was never launched (a daemon restart between adding the
partition and launching its run). Each partition gets at most one rescan run ever
(``run_key``), so a session that fails on bad input is not relaunched every hour.
"""

import dagster as dg

from platform_assets.neuro.discovery import register_settled_sessions
from platform_assets.neuro.jobs import neuro_session_job
from platform_assets.neuro.partitions import neuro_sessions
from platform_assets.operations.run_tags import DISCOVERY_PRIORITY, priority
from resources import LandingZone

PARTITION_TAG = "dagster/partition"
MAX_RUNS_PER_RESCAN = 50


def sessions_never_run(instance: dg.DagsterInstance) -> list[str]:
    """Registered sessions without any run, in key order (one query for all run partitions)."""
    known = instance.get_dynamic_partitions(neuro_sessions.name)
    ran: set[str] = set()
    for _, values in instance.get_run_tags(tag_keys=[PARTITION_TAG]):
        ran |= set(values)
    return sorted(set(known) - ran)


@dg.schedule(
    name="neuro_rescan_schedule",
    cron_schedule="0 * * * *",
    job=neuro_session_job,
    execution_timezone="UTC",
    description="Hourly safety net: registers settled sessions and runs any session that never ran.",
)
def neuro_rescan_schedule(
    context: dg.ScheduleEvaluationContext, landing_zone: LandingZone
) -> list[dg.RunRequest] | dg.SkipReason:
    registration = register_settled_sessions(context.instance, landing_zone.path, landing_zone.settle_time())
    if registration.added:
        context.log.info(f"registered {len(registration.added)} session(s) the sensor had not")
    missing = sessions_never_run(context.instance)[:MAX_RUNS_PER_RESCAN]
    if not missing:
        return dg.SkipReason("every registered session has a run")
    return [
        dg.RunRequest(partition_key=key, run_key=f"rescan:{key}", tags=priority(DISCOVERY_PRIORITY))
        for key in missing
    ]
